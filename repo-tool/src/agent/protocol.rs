//! The agent's wire format over its Unix socket. A request is `RTA1`, an operation
//! byte, a big-endian u64 length and that many bytes; a response is a status byte, a
//! length and the payload. Lengths are bounded before anything is allocated.

use std::io::{Read, Write};

use metadata_schemas::KeyId;

/// The first bytes of every request: a peer speaking something else is refused at once.
pub const MAGIC: &[u8; 4] = b"RTA1";
/// The largest message the agent signs (the largest metadata a client accepts, 1 GiB).
pub const MAX_MESSAGE: u64 = 1 << 30;
/// The largest response a client reads (a key list or a signature is far smaller).
pub const MAX_RESPONSE: u64 = 1 << 20;

const LIST: u8 = 1;
const SIGN: u8 = 2;
const OK: u8 = 0;
const REFUSED: u8 = 1;
const KEY_ID_LEN: usize = 64;

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The keys the agent holds.
    List,
    /// A signature over `message` by the key `key_id`.
    Sign {
        /// Which key.
        key_id: KeyId,
        /// The canonical bytes to sign.
        message: Vec<u8>,
    },
}

/// What the agent answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The request's result: the key list or the signature, as JSON.
    Ok(Vec<u8>),
    /// Why the agent did not do it.
    Refused(String),
}

/// A frame that is not the agent's protocol.
#[derive(Debug)]
pub enum ProtocolError {
    /// The stream failed or ended inside a frame.
    Io(std::io::Error),
    /// Not `RTA1`: another program's socket, or not the agent.
    NotTheAgent,
    /// An operation this version does not know.
    UnknownOperation(u8),
    /// A status byte this version does not know.
    UnknownStatus(u8),
    /// A length over the bound.
    TooLong {
        /// As sent.
        length: u64,
        /// The bound.
        max: u64,
    },
    /// A sign request without a 64-hex key id.
    BadKeyId,
    /// The agent's key list is not JSON.
    KeyListJson(metadata_schemas::JsonError),
    /// The agent's key list is not a list of held keys.
    KeyList(metadata_schemas::DecodeError),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolError::Io(e) => write!(f, "{e}"),
            ProtocolError::NotTheAgent => f.write_str("the peer does not speak the repo-tool agent protocol"),
            ProtocolError::UnknownOperation(op) => write!(f, "unknown operation {op}"),
            ProtocolError::UnknownStatus(status) => write!(f, "unknown response status {status}"),
            ProtocolError::TooLong { length, max } => write!(f, "a frame of {length} bytes (at most {max})"),
            ProtocolError::BadKeyId => f.write_str("a sign request without a full key id"),
            ProtocolError::KeyListJson(e) => write!(f, "its key list: {e}"),
            ProtocolError::KeyList(e) => write!(f, "its key list: {e}"),
        }
    }
}

impl From<std::io::Error> for ProtocolError {
    fn from(e: std::io::Error) -> Self {
        ProtocolError::Io(e)
    }
}

/// The bytes of `request` on the wire.
pub fn encode_request(request: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    match request {
        Request::List => write_list(&mut out),
        Request::Sign { key_id, message } => write_sign(&mut out, key_id, message),
    }
    .expect("writing to memory");
    out
}

fn write_head(output: &mut impl Write, op: u8, payload_len: usize) -> std::io::Result<()> {
    output.write_all(MAGIC)?;
    output.write_all(&[op])?;
    output.write_all(&(payload_len as u64).to_be_bytes())
}

/// Writes a `List` request.
pub fn write_list(output: &mut impl Write) -> std::io::Result<()> {
    write_head(output, LIST, 0)?;
    output.flush()
}

/// Writes a `Sign` request for `message` without copying it.
pub fn write_sign(output: &mut impl Write, key_id: &KeyId, message: &[u8]) -> std::io::Result<()> {
    write_head(output, SIGN, KEY_ID_LEN + message.len())?;
    output.write_all(key_id.as_str().as_bytes())?;
    output.write_all(message)?;
    output.flush()
}

/// Reads one request; `Ok(None)` when the client closed the connection between requests.
pub fn read_request(input: &mut impl Read) -> Result<Option<Request>, ProtocolError> {
    let mut head = [0u8; 13];
    match input.read(&mut head[..1])? {
        0 => return Ok(None),
        _ => input.read_exact(&mut head[1..])?,
    }
    if &head[..4] != MAGIC {
        return Err(ProtocolError::NotTheAgent);
    }
    let length = u64::from_be_bytes(head[5..13].try_into().expect("8 bytes"));
    match head[4] {
        LIST if length == 0 => Ok(Some(Request::List)),
        LIST => Err(ProtocolError::TooLong { length, max: 0 }),
        SIGN => {
            let max = MAX_MESSAGE + KEY_ID_LEN as u64;
            if length > max {
                return Err(ProtocolError::TooLong { length, max });
            }
            if length < KEY_ID_LEN as u64 {
                return Err(ProtocolError::BadKeyId);
            }
            let mut id = [0u8; KEY_ID_LEN];
            input.read_exact(&mut id)?;
            let key_id = std::str::from_utf8(&id)
                .ok()
                .filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
                .map(KeyId::new)
                .ok_or(ProtocolError::BadKeyId)?;
            let mut message = vec![0; (length - KEY_ID_LEN as u64) as usize];
            input.read_exact(&mut message)?;
            Ok(Some(Request::Sign { key_id, message }))
        }
        op => Err(ProtocolError::UnknownOperation(op)),
    }
}

/// Writes one response.
pub fn write_response(output: &mut impl Write, response: &Response) -> std::io::Result<()> {
    let (status, payload) = match response {
        Response::Ok(bytes) => (OK, bytes.as_slice()),
        Response::Refused(why) => (REFUSED, why.as_bytes()),
    };
    let mut head = [0u8; 9];
    head[0] = status;
    head[1..].copy_from_slice(&(payload.len() as u64).to_be_bytes());
    output.write_all(&head)?;
    output.write_all(payload)?;
    output.flush()
}

/// Reads one response.
pub fn read_response(input: &mut impl Read) -> Result<Response, ProtocolError> {
    let mut head = [0u8; 9];
    input.read_exact(&mut head)?;
    let length = u64::from_be_bytes(head[1..].try_into().expect("8 bytes"));
    if length > MAX_RESPONSE {
        return Err(ProtocolError::TooLong { length, max: MAX_RESPONSE });
    }
    let mut payload = vec![0; length as usize];
    input.read_exact(&mut payload)?;
    match head[0] {
        OK => Ok(Response::Ok(payload)),
        REFUSED => Ok(Response::Refused(String::from_utf8_lossy(&payload).into_owned())),
        status => Err(ProtocolError::UnknownStatus(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_id() -> KeyId {
        KeyId::new("ab".repeat(32))
    }

    #[test]
    fn requests_and_responses_round_trip() {
        for request in [Request::List, Request::Sign { key_id: key_id(), message: b"{\"a\":1}".to_vec() }] {
            let bytes = encode_request(&request);
            assert_eq!(read_request(&mut bytes.as_slice()).expect("parses"), Some(request));
        }
        for response in [Response::Ok(b"[]".to_vec()), Response::Refused("no such key".into())] {
            let mut bytes = Vec::new();
            write_response(&mut bytes, &response).expect("written");
            assert_eq!(read_response(&mut bytes.as_slice()).expect("parses"), response);
        }
        assert_eq!(read_request(&mut [].as_slice()).expect("closed"), None);
    }

    #[test]
    fn a_frame_that_is_not_the_protocol_is_refused_before_anything_is_allocated() {
        let mut wrong_magic = encode_request(&Request::List);
        wrong_magic[0] = b'X';
        assert!(matches!(read_request(&mut wrong_magic.as_slice()), Err(ProtocolError::NotTheAgent)));
        let mut huge = encode_request(&Request::Sign { key_id: key_id(), message: vec![] });
        huge[5..13].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(read_request(&mut huge.as_slice()), Err(ProtocolError::TooLong { .. })));
        let mut short = encode_request(&Request::Sign { key_id: key_id(), message: vec![] });
        short[5..13].copy_from_slice(&3u64.to_be_bytes());
        assert!(matches!(read_request(&mut short.as_slice()), Err(ProtocolError::BadKeyId)));
        let bad_id = encode_request(&Request::Sign { key_id: KeyId::new("Z".repeat(64)), message: vec![1] });
        assert!(matches!(read_request(&mut bad_id.as_slice()), Err(ProtocolError::BadKeyId)));
        let mut unknown = encode_request(&Request::List);
        unknown[4] = 9;
        assert!(matches!(read_request(&mut unknown.as_slice()), Err(ProtocolError::UnknownOperation(9))));
        let truncated = &encode_request(&Request::Sign { key_id: key_id(), message: vec![7; 10] })[..30];
        assert!(matches!(read_request(&mut &truncated[..]), Err(ProtocolError::Io(_))));
        let mut big_response = vec![0u8; 9];
        big_response[1..].copy_from_slice(&(MAX_RESPONSE + 1).to_be_bytes());
        assert!(matches!(read_response(&mut big_response.as_slice()), Err(ProtocolError::TooLong { .. })));
    }
}
