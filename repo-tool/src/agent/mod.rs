//! `repo-tool agent`: key files opened once and held in memory, as ssh-agent holds
//! ssh keys, so that a signing server's commands do not each pay a key file's scrypt
//! derivation (about 80 ms and 128 MiB per key). Commands that find `REPO_TOOL_AGENT`
//! set sign through the agent with any key file it holds; every other key is opened
//! as before. The socket lives in a directory only its owner can enter, and the agent
//! answers only peers running as its own user.

pub mod protocol;
pub mod server;

use std::cell::RefCell;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use metadata_schemas::decode::{Decode, as_object, required};
use metadata_schemas::json::{self, Value};
use metadata_schemas::{Encode, Key, KeyId, Signature};
use threshold_keys::{SignError, Signer};

use protocol::{ProtocolError, Response};

/// A request as the client sends it, borrowing the message.
enum Request<'a> {
    List,
    Sign { key_id: &'a KeyId, message: &'a [u8] },
}

/// The environment variable naming the agent's socket.
pub const AGENT_ENV: &str = "REPO_TOOL_AGENT";
/// How long a command waits for the agent to answer one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the agent cannot be used.
#[derive(Debug)]
pub enum AgentError {
    /// Connecting or talking to the socket failed.
    Unreachable {
        /// The socket.
        socket: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The peer broke the protocol.
    Protocol {
        /// The socket.
        socket: PathBuf,
        /// What was wrong.
        source: ProtocolError,
    },
    /// The agent refused the request.
    Refused(String),
    /// The socket's directory is not private to this user.
    UnsafeDirectory {
        /// The directory.
        dir: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// Another agent already listens on the socket.
    AlreadyRunning(PathBuf),
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentError::Unreachable { socket, source } => write!(
                f,
                "agent at {} ({AGENT_ENV}): {source}; start it with `repo-tool agent KEYFILE...`, or unset {AGENT_ENV}",
                socket.display()
            ),
            AgentError::Protocol { socket, source } => write!(f, "agent at {}: {source}", socket.display()),
            AgentError::Refused(why) => write!(f, "the agent refused: {why}"),
            AgentError::UnsafeDirectory { dir, mode } => write!(
                f,
                "{}: the agent's socket directory must be its owner's alone (mode {mode:04o}); \
                 run `chmod 700 {}` or choose another --socket",
                dir.display(),
                dir.display()
            ),
            AgentError::AlreadyRunning(socket) => {
                write!(f, "an agent already listens at {}: use it, or stop it first", socket.display())
            }
        }
    }
}

/// One key the agent holds, as it lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldKey {
    /// The key id.
    pub key_id: KeyId,
    /// The public key.
    pub key: Key,
    /// The key file it was opened from (absolute, symbolic links resolved).
    pub path: PathBuf,
}

impl Encode for HeldKey {
    fn encode(&self) -> Value<'_> {
        let mut o = json::Object::new();
        o.insert("keyid", self.key_id.encode());
        o.insert("key", self.key.encode());
        o.insert("path", Value::string(self.path.display().to_string()));
        Value::Object(o)
    }
}

impl Decode for HeldKey {
    fn decode(value: &Value<'_>) -> Result<Self, metadata_schemas::DecodeError> {
        let o = as_object(value)?;
        let path: String = required(o, "path")?;
        Ok(HeldKey { key_id: required(o, "keyid")?, key: required(o, "key")?, path: PathBuf::from(path) })
    }
}

/// A connection to a running agent and the keys it holds.
pub struct AgentClient {
    socket: PathBuf,
    keys: Vec<HeldKey>,
}

impl AgentClient {
    /// The agent `REPO_TOOL_AGENT` names, if it is set (an unreachable one is an error:
    /// the operator asked for it).
    pub fn from_env() -> Result<Option<Self>, AgentError> {
        match std::env::var_os(AGENT_ENV) {
            Some(socket) if !socket.is_empty() => Self::connect(Path::new(&socket)).map(Some),
            _ => Ok(None),
        }
    }

    /// Connects to the agent at `socket` and lists its keys.
    pub fn connect(socket: &Path) -> Result<Self, AgentError> {
        let mut connection = Connection::open(socket)?;
        let listed = connection.call(Request::List)?;
        let value = json::parse(&listed).map_err(|e| connection.protocol(ProtocolError::KeyListJson(e)))?;
        let keys = Vec::<HeldKey>::decode(&value).map_err(|e| connection.protocol(ProtocolError::KeyList(e)))?;
        Ok(AgentClient { socket: socket.to_path_buf(), keys })
    }

    /// The keys held.
    pub fn keys(&self) -> &[HeldKey] {
        &self.keys
    }

    /// A signer for the key file at `path`, if the agent holds it.
    pub fn signer_for_file(&self, path: &Path) -> Result<Option<AgentSigner>, AgentError> {
        let Ok(real) = std::fs::canonicalize(path) else { return Ok(None) };
        let Some(held) = self.keys.iter().find(|k| k.path == real) else { return Ok(None) };
        let connection = Connection::open(&self.socket)?;
        Ok(Some(AgentSigner { held: held.clone(), connection: RefCell::new(connection) }))
    }
}

/// One open connection to the agent.
struct Connection {
    socket: PathBuf,
    stream: UnixStream,
}

impl Connection {
    fn open(socket: &Path) -> Result<Self, AgentError> {
        let unreachable = |source| AgentError::Unreachable { socket: socket.to_path_buf(), source };
        let stream = UnixStream::connect(socket).map_err(unreachable)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).map_err(unreachable)?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT)).map_err(unreachable)?;
        Ok(Connection { socket: socket.to_path_buf(), stream })
    }

    fn call(&mut self, request: Request<'_>) -> Result<Vec<u8>, AgentError> {
        let sent = match request {
            Request::List => protocol::write_list(&mut self.stream),
            Request::Sign { key_id, message } => protocol::write_sign(&mut self.stream, key_id, message),
        };
        sent.map_err(|source| AgentError::Unreachable { socket: self.socket.clone(), source })?;
        match protocol::read_response(&mut self.stream) {
            Ok(Response::Ok(payload)) => Ok(payload),
            Ok(Response::Refused(why)) => Err(AgentError::Refused(why)),
            Err(source) => Err(AgentError::Protocol { socket: self.socket.clone(), source }),
        }
    }

    fn protocol(&self, source: ProtocolError) -> AgentError {
        AgentError::Protocol { socket: self.socket.clone(), source }
    }
}

/// A key held by the agent, signing through it.
pub struct AgentSigner {
    held: HeldKey,
    connection: RefCell<Connection>,
}

impl Signer for AgentSigner {
    fn key_id(&self) -> &KeyId {
        &self.held.key_id
    }

    fn public_key(&self) -> &Key {
        &self.held.key
    }

    fn sign(&self, message: &[u8]) -> Result<Signature, SignError> {
        let request = Request::Sign { key_id: &self.held.key_id, message };
        let payload = self.connection.borrow_mut().call(request).map_err(|e| SignError::Device(e.to_string()))?;
        let value = json::parse(&payload).map_err(|e| SignError::Device(format!("agent's signature: {e}")))?;
        let signature = Signature::decode(&value).map_err(|e| SignError::Device(format!("agent's signature: {e}")))?;
        if signature.keyid != self.held.key_id {
            return Err(SignError::Device(format!("the agent signed with {} instead", signature.keyid)));
        }
        Ok(signature)
    }
}

/// Where the agent listens by default: `$XDG_RUNTIME_DIR/repo-tool/agent.sock`, else
/// `/tmp/repo-tool-UID/agent.sock`.
pub fn default_socket() -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("repo-tool"),
        _ => std::env::temp_dir().join(format!("repo-tool-{}", rustix::process::geteuid().as_raw())),
    };
    dir.join("agent.sock")
}
