//! The agent's side: a socket in a private directory, one thread per connection (a
//! bounded number), each request bounded in size and time, every signature logged.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use metadata_schemas::json::{self, Value};
use metadata_schemas::{Encode, hex};
use threshold_keys::{KeyFileSigner, Signer, digest};

use super::protocol::{self, Request, Response};
use super::{AgentError, HeldKey};

/// How long the agent waits on a client's half-sent request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 8;

/// A key the agent holds, with where it came from.
pub struct Held {
    /// The opened key.
    pub signer: KeyFileSigner,
    /// The key file (absolute, links resolved).
    pub path: PathBuf,
}

/// The listening socket; the socket file is removed when it is dropped.
pub struct Listening {
    listener: UnixListener,
    socket: PathBuf,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Binds `socket`, creating its directory private to this user (an existing one must
/// already be); a stale socket left by a killed agent is replaced, a live one refused.
pub fn listen(socket: &Path) -> Result<Listening, AgentError> {
    let dir = socket.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    private_directory(dir)?;
    if UnixStream::connect(socket).is_ok() {
        return Err(AgentError::AlreadyRunning(socket.to_path_buf()));
    }
    let unreachable = |source| AgentError::Unreachable { socket: socket.to_path_buf(), source };
    match std::fs::remove_file(socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(unreachable(e)),
        _ => {}
    }
    let listener = UnixListener::bind(socket).map_err(unreachable)?;
    let listening = Listening { listener, socket: socket.to_path_buf() };
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(unreachable)?;
    Ok(listening)
}

fn private_directory(dir: &Path) -> Result<(), AgentError> {
    let io = |source| AgentError::Unreachable { socket: dir.to_path_buf(), source };
    if !dir.exists() {
        std::fs::DirBuilder::new().recursive(true).create(dir).map_err(io)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    let own = std::os::unix::fs::MetadataExt::uid(&meta) == rustix::process::geteuid().as_raw();
    if !own || mode & 0o077 != 0 {
        return Err(AgentError::UnsafeDirectory { dir: dir.to_path_buf(), mode });
    }
    Ok(())
}

/// The key list a `List` request answers.
pub fn key_list(keys: &[Held]) -> Vec<u8> {
    let held: Vec<HeldKey> = keys
        .iter()
        .map(|k| HeldKey {
            key_id: k.signer.key_id().clone(),
            key: k.signer.public_key().clone(),
            path: k.path.clone(),
        })
        .collect();
    json::to_canonical(&Value::Array(held.iter().map(Encode::encode).collect()))
}

/// What the agent answers `request` with.
pub fn answer(keys: &[Held], request: &Request) -> Response {
    match request {
        Request::List => Response::Ok(key_list(keys)),
        Request::Sign { key_id, message } => match keys.iter().find(|k| k.signer.key_id() == key_id) {
            None => Response::Refused(format!("the agent holds no key {}", key_id.short())),
            Some(held) => match held.signer.sign(message) {
                Ok(signature) => Response::Ok(json::to_canonical(&signature.encode())),
                Err(e) => Response::Refused(format!("{}: {e}", key_id.short())),
            },
        },
    }
}

/// Serves until the process ends (the caller arranges the lifetime).
pub fn serve(listening: &Listening, keys: Arc<Vec<Held>>) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listening.listener.incoming() {
        let Ok(stream) = stream else { continue };
        if !same_user(&stream) {
            log("refused a connection from another user");
            continue;
        }
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = protocol::write_response(&mut &stream, &Response::Refused("the agent is busy".into()));
            continue;
        }
        let (keys, active) = (Arc::clone(&keys), Arc::clone(&active));
        std::thread::spawn(move || {
            serve_connection(stream, &keys);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn same_user(stream: &UnixStream) -> bool {
    rustix::net::sockopt::socket_peercred(stream).is_ok_and(|cred| cred.uid == rustix::process::geteuid())
}

fn serve_connection(mut stream: UnixStream, keys: &[Held]) {
    if stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .is_err()
    {
        return;
    }
    let peer = rustix::net::sockopt::socket_peercred(&stream).map(|c| c.pid.as_raw_nonzero().get()).unwrap_or(0);
    loop {
        let request = match protocol::read_request(&mut stream) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                let _ = protocol::write_response(&mut stream, &Response::Refused(e.to_string()));
                // Unread input would reset the connection before the peer reads why.
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = std::io::copy(&mut (&stream).take(1 << 16), &mut std::io::sink());
                return;
            }
        };
        let response = answer(keys, &request);
        if let (Request::Sign { key_id, message }, Response::Ok(_)) = (&request, &response) {
            let hash = hex::encode(&digest::sha256(message));
            log(&format!(
                "signed {} bytes (sha256 {}..) with {} for pid {peer}",
                message.len(),
                &hash[..16],
                key_id.short()
            ));
        }
        if protocol::write_response(&mut stream, &response).is_err() {
            return;
        }
    }
}

/// One line of the agent's log, on standard error, with the time.
pub fn log(line: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let _ = writeln!(std::io::stderr().lock(), "{now} repo-tool agent: {line}");
}
