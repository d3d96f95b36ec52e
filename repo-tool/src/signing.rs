//! Signing a role's new version and rendering its file. A large targets role costs
//! one encoding: its canonical bytes are signed on this thread while the same value
//! tree is written as indented JSON on another.

use metadata_schemas::json::{self, Value};
use metadata_schemas::{Encode, RoleName, Signature, Signed};
use threshold_keys::{RoleAuthority, check_threshold};

use crate::Error;
use crate::keys::KeyRing;

/// Signs `value` with every reachable key of `authority`, enforcing its threshold.
pub fn sign_with<T: Encode>(
    role: &RoleName,
    value: T,
    authority: RoleAuthority<'_>,
    keys: &mut KeyRing,
) -> Result<Signed<T>, Error> {
    sign_with_message(role, value, authority, keys).map(|(signed, _)| signed)
}

/// [`sign_with`], also returning the canonical bytes signed.
pub fn sign_with_message<T: Encode>(
    role: &RoleName,
    value: T,
    authority: RoleAuthority<'_>,
    keys: &mut KeyRing,
) -> Result<(Signed<T>, Vec<u8>), Error> {
    let mut signed = Signed::unsigned(value);
    let message = signed.canonical_signed();
    signed.signatures = signatures(role, &message, authority, keys)?;
    Ok((signed, message))
}

/// A document signed to its threshold, with the canonical bytes signed and the file.
pub struct Rendered<T> {
    /// The signed document.
    pub signed: Signed<T>,
    /// Its canonical `signed` part, as the signatures cover it.
    pub message: Vec<u8>,
    /// The file: exactly what [`pretty`] writes for `signed`.
    pub file: Vec<u8>,
}

/// [`sign_with_message`] and [`pretty`] from one encoding of `value`, the file
/// rendered on a second thread while this one signs.
pub fn sign_and_render<T: Encode>(
    role: &RoleName,
    value: T,
    authority: RoleAuthority<'_>,
    keys: &mut KeyRing,
) -> Result<Rendered<T>, Error> {
    let (message, signatures, signed_part) = {
        let tree = value.encode();
        std::thread::scope(|scope| {
            let rendering = scope.spawn(|| {
                let mut out = Vec::new();
                json::write_pretty(&tree, 1, &mut out);
                out
            });
            let message = json::to_canonical(&tree);
            let signatures = signatures(role, &message, authority, keys);
            let signed_part =
                rendering.join().map_err(|_| Error::Corrupt("the thread rendering metadata panicked".into()))?;
            Ok::<_, Error>((message, signatures?, signed_part))
        })?
    };
    let file = assemble(&signatures, &signed_part);
    let signed = Signed { signatures, ..Signed::unsigned(value) };
    Ok(Rendered { signed, message, file })
}

/// Signs `message` with every reachable key of `authority`; fails, naming the missing
/// keys, unless the threshold is met.
fn signatures(
    role: &RoleName,
    message: &[u8],
    authority: RoleAuthority<'_>,
    keys: &mut KeyRing,
) -> Result<Vec<Signature>, Error> {
    let mut signatures = Vec::new();
    for signer in keys.signers_for(authority.keyids)? {
        signatures.push(signer.sign(message).map_err(|e| Error::Key(format!("{}: {e}", signer.key_id().short())))?);
    }
    let report = check_threshold(authority, &signatures, message);
    if !report.is_met() {
        return Err(Error::Threshold { role: role.to_string(), report: Box::new(report) });
    }
    Ok(signatures)
}

/// The file of a document without unknown fields, from its `signed` part written at
/// nesting level 1: the envelope [`pretty`] writes around it (members in key order).
fn assemble(signatures: &[Signature], signed_part: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(signed_part.len() + 256 * (signatures.len() + 1));
    out.extend_from_slice(b"{\n \"signatures\": ");
    json::write_pretty(&Value::Array(signatures.iter().map(|s| s.encode()).collect()), 1, &mut out);
    out.extend_from_slice(b",\n \"signed\": ");
    out.extend_from_slice(signed_part);
    out.extend_from_slice(b"\n}\n");
    out
}

/// How metadata files are written: indented JSON and a final newline.
pub fn pretty<T: Encode>(signed: &Signed<T>) -> Vec<u8> {
    let mut bytes = signed.to_pretty_json();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_schemas::{CommonFields, Hashes, TargetFile, TargetPath, Targets, UtcTime, Version};
    use threshold_keys::{KeyAlgorithm, KeyFileSigner, Signer};

    fn targets(count: usize) -> Targets {
        let expires = UtcTime::parse("2030-01-01T00:00:00Z").expect("a time");
        let mut targets = Targets::new(CommonFields::new(Version::ONE, expires));
        for i in 0..count {
            let digest = threshold_keys::digest::sha256(format!("target {i}").as_bytes());
            let mut file = TargetFile::new(
                i as u64,
                Hashes::new(vec![metadata_schemas::Digest::Sha256(digest)]).expect("one hash"),
            );
            if i % 2 == 0 {
                let custom =
                    json::parse(b"{\"hardware_identifiers\": [\"a\\nb\"], \"release_counter\": 3, \"q\": \"\\\"\"}");
                file.custom = Some(custom.expect("json").to_owned_value());
            }
            targets.targets.insert(TargetPath::new(format!("dir {i}/f\u{e9}\t{i}.bin")), file);
        }
        targets
    }

    #[test]
    fn one_encoding_renders_exactly_the_file_and_message_pretty_and_canonical_write() {
        for (count, signers) in [(0, 1), (1, 1), (7, 2)] {
            let keys: Vec<KeyFileSigner> =
                (0..signers).map(|_| KeyFileSigner::generate(KeyAlgorithm::Ed25519).expect("key")).collect();
            let mut ring = KeyRing::default();
            let mut root_keys = std::collections::BTreeMap::new();
            for key in &keys {
                root_keys.insert(key.key_id().clone(), key.public_key().clone());
            }
            let keyids: Vec<_> = root_keys.keys().cloned().collect();
            for key in keys {
                ring.insert(Box::new(key));
            }
            let authority = RoleAuthority {
                keys: &root_keys,
                keyids: &keyids,
                threshold: metadata_schemas::Threshold::new(1).expect("1"),
            };
            let rendered = sign_and_render(&RoleName::targets(), targets(count), authority, &mut ring).expect("signed");
            assert_eq!(rendered.signed.signatures.len(), signers);
            assert_eq!(rendered.file, pretty(&rendered.signed), "{count} targets");
            assert_eq!(rendered.message, rendered.signed.canonical_signed(), "{count} targets");
        }
    }
}
