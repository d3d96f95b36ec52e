//! Secure time for ECUs: the one check of a director time attestation. It must be signed
//! by the time key the trusted director root names (`x-time-keyid`) and carry the nonce
//! of the ECU's latest version report; the time it yields never goes backwards.

use metadata_schemas::uptane::{TIME_KEY_FIELD, TimeAttestation};
use metadata_schemas::{Envelope, Key, KeyId, RoleName, Root, json::Value};
use threshold_keys::check_signed_by;

use crate::{Authority, DateTime, Error, Utc};

/// The most bytes a time attestation may have (a few hundred nonces).
pub const TIME_ATTESTATION_MAX_LENGTH: usize = 16 * 1024;

/// The time key `root` names for time attestations.
pub fn time_key(root: &Root) -> Result<(KeyId, &Key), Error> {
    let Some(Value::String(id)) = root.unknown.get(TIME_KEY_FIELD) else { return Err(Error::NoTimeKey) };
    let id = KeyId::new(id.as_ref());
    let key = root.keys.get(&id).ok_or(Error::NoTimeKey)?;
    Ok((id, key))
}

/// Checks a time attestation against the trusted director `root` for the ECU whose latest
/// report carried `nonce`: the new trusted time, which is `trusted` or later.
pub fn verify_time_attestation(
    root: &Root,
    bytes: &[u8],
    nonce: u64,
    trusted: DateTime<Utc>,
) -> Result<DateTime<Utc>, Error> {
    let role = RoleName::new("time").expect("a valid role name");
    if bytes.len() > TIME_ATTESTATION_MAX_LENGTH {
        return Err(Error::TooLong { role, limit: TIME_ATTESTATION_MAX_LENGTH as u64 });
    }
    let malformed = |source: metadata_schemas::Error| Error::Malformed { role: role.clone(), source };
    let envelope = Envelope::parse(bytes).map_err(malformed)?;
    let (id, key) = time_key(root)?;
    let report = check_signed_by(&id, key, &envelope.signatures, &envelope.canonical_signed());
    if !report.is_met() {
        return Err(Error::Unsigned {
            role,
            authority: Authority::TrustedRoot,
            report: alloc::boxed::Box::new(report),
        });
    }
    let attestation: TimeAttestation = envelope.decode_signed().map_err(|e| malformed(e.into()))?;
    if !attestation.nonces.contains(&nonce) {
        return Err(Error::StaleTimeAttestation);
    }
    Ok(trusted.max(attestation.time.time()))
}
