//! The `director` binary as a process for the tests: `init` a data directory, `serve` it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `director serve` process, killed (SIGKILL) and reaped when dropped.
pub struct Serving(pub Child);

impl Serving {
    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `director` binary serving `data`; its base URL.
pub fn serve(data: &std::path::Path) -> (Serving, String) {
    serve_command(Command::new(env!("CARGO_BIN_EXE_director")), data)
}

/// `command` (the director binary, or a shell that execs it) serving `data`; its base URL.
pub fn serve_command(command: Command, data: &std::path::Path) -> (Serving, String) {
    let (child, url, _) = serve_logging(command, data, Stdio::inherit());
    (child, url)
}

/// [`serve_command`] with its standard error sent to `stderr`; its base URL, and the
/// lines it printed before it (`metrics listening on ...`, say).
pub fn serve_logging(mut command: Command, data: &std::path::Path, stderr: Stdio) -> (Serving, String, Vec<String>) {
    let mut child = Serving(
        command
            .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    let (mut line, mut before) = (String::new(), Vec::new());
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "director exited before listening");
        match line.trim().strip_prefix("director listening on ") {
            Some(url) => return (child, url.to_string(), before),
            None => before.push(line.trim().to_string()),
        }
    }
}

/// `director init` of `data`; the administrator token it printed.
pub fn init(data: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_director")).args(["init", data.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("administrator token (shown once): ")).unwrap().to_string()
}
