//! Root trust: the trusted root signs itself, and each next root is signed by a
//! threshold of the previous root's keys and of its own (TUF 5.2, 5.3.4, 5.3.5).
//! Shared by full TUF verification and Uptane partial verification.

use metadata_schemas::{MetadataType, RoleName, Root};

use crate::trusted_set::authority;
use crate::{Authority, Error, Limits, Verified, verify};

/// A root given as the trust anchor: it must be signed by a threshold of its own root
/// keys (its expiry is checked after any rotation, TUF 5.3.10).
pub(crate) fn verify_trusted_root(bytes: &[u8], limits: &Limits) -> Result<Verified<Root>, Error> {
    let role = RoleName::root();
    let parsed = verify::parse(bytes, &role, limits.root_max_length, limits)?;
    // The anchor's keys come from the anchor itself, so it is decoded first.
    let root: Root = parsed.decode(&role)?;
    parsed.check_signatures(&role, Authority::TrustedRoot, authority(&root, MetadataType::Root))?;
    Ok(Verified::new(root))
}

/// Root version N+1 (TUF 5.3.4, 5.3.5): a threshold of the trusted root's root keys and
/// of its own, and exactly the next version.
pub(crate) fn verify_next_root(trusted: &Root, bytes: &[u8], limits: &Limits) -> Result<Verified<Root>, Error> {
    let role = RoleName::root();
    let parsed = verify::parse(bytes, &role, limits.root_max_length, limits)?;
    parsed.check_signatures(&role, Authority::TrustedRoot, authority(trusted, MetadataType::Root))?;
    let new: Root = parsed.decode(&role)?;
    let expected = trusted.common.version.next().ok_or(Error::OutOfOrder("root version overflow"))?;
    if new.common.version != expected {
        return Err(Error::RootVersion { expected, found: new.common.version });
    }
    parsed.check_signatures(&role, Authority::NewRoot, authority(&new, MetadataType::Root))?;
    Ok(Verified::new(new))
}
