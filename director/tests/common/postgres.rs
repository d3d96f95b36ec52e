//! A real PostgreSQL server for the tests: initdb in a temporary directory, listening on
//! 127.0.0.1 only, stopped when dropped. Debian's binaries under
//! /usr/lib/postgresql/<version>/bin; initdb refuses root, so a root caller runs them as
//! the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

fn bin_dir() -> PathBuf {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is not installed ({}: {e}); .ci/run installs Debian's postgresql", base.display())
        })
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version with initdb")
}

fn as_owner(command: &str) -> Command {
    let root = is_root();
    let mut c = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", command]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", command]);
        c
    };
    c.env_remove("PGDATA");
    c
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Postgres {
    /// Starts a fresh server.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(format!("director-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            assert!(
                Command::new("chown").args(["postgres:postgres", dir.to_str().unwrap()]).status().unwrap().success()
            );
        }
        let data = dir.join("data");
        let init = format!(
            "{}/initdb -D {} -A trust -U postgres --no-sync >{}/initdb.log 2>&1",
            bin.display(),
            data.display(),
            dir.display()
        );
        assert!(as_owner(&init).status().unwrap().success(), "initdb failed: see {}/initdb.log", dir.display());
        let port = free_port();
        let start = format!(
            "{}/pg_ctl -D {} -w -l {}/server.log -o '-k {} -p {port} -h 127.0.0.1 -c fsync=on' start >/dev/null",
            bin.display(),
            data.display(),
            dir.display(),
            dir.display()
        );
        assert!(as_owner(&start).status().unwrap().success(), "pg_ctl start failed: see {}/server.log", dir.display());
        Postgres { dir, bin, url: format!("postgres://postgres@127.0.0.1:{port}/postgres") }
    }

    /// A new, empty database on this server: its URL.
    pub fn database(&self, name: &str) -> String {
        let port = self.url.rsplit(':').next().unwrap().split('/').next().unwrap();
        let create = format!("{}/createdb -h 127.0.0.1 -p {port} -U postgres {name}", self.bin.display());
        assert!(as_owner(&create).status().unwrap().success(), "createdb {name}");
        format!("postgres://postgres@127.0.0.1:{port}/{name}")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stop =
            format!("{}/pg_ctl -D {}/data -m immediate stop >/dev/null 2>&1", self.bin.display(), self.dir.display());
        let _ = as_owner(&stop).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
