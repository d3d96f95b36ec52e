//! Partial verification (Uptane partial_verification): a secondary that trusts the
//! director root and checks the director's targets metadata alone.

use chrono::{DateTime, Utc};
use metadata_schemas::{MetadataType, RoleName, Root, Targets};

use super::{DirectorImage, EcuIdentity, check_director_targets, image_for_ecu};
use crate::trusted_set::{authority, check_expiry};
use crate::{Authority, Error, Limits, Verified, root_chain, verify};

/// The trusted director metadata of a partial-verification ECU.
#[derive(Clone, Debug)]
pub struct PartialVerifier {
    now: DateTime<Utc>,
    limits: Limits,
    ecu: EcuIdentity,
    root: Verified<Root>,
    targets: Option<Verified<Targets>>,
    targets_current: bool,
}

impl PartialVerifier {
    /// Starts from the director root the ECU trusts, at the latest trusted time `now`.
    pub fn new(director_root: &[u8], ecu: EcuIdentity, now: DateTime<Utc>, limits: Limits) -> Result<Self, Error> {
        let root = root_chain::verify_trusted_root(director_root, &limits)?;
        Ok(PartialVerifier { now, limits, ecu, root, targets: None, targets_current: false })
    }

    /// Reloads the targets metadata trusted in an earlier cycle, as the reference
    /// for rollback checks. Its signature is checked again; its expiry is not.
    pub fn restore_targets(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let targets = self.verify_targets(bytes)?;
        check_director_targets(&targets, &self.ecu.vin)?;
        self.targets = Some(targets);
        self.targets_current = false;
        Ok(())
    }

    /// Director root version N+1 (Uptane check_root 2.3, 2.4).
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Verified<Root>, Error> {
        self.root = root_chain::verify_next_root(&self.root, bytes, &self.limits)?;
        Ok(&self.root)
    }

    /// New director targets (Uptane check_targets 3, 4, 6, 7, 8): signed by a threshold
    /// of the root's targets keys, no older than the trusted version, not expired,
    /// no delegations, each ECU once, and for this vehicle.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<&Verified<Targets>, Error> {
        check_expiry(&RoleName::root(), &*self.root, self.now)?;
        let new = self.verify_targets(bytes)?;
        if let Some(trusted) = &self.targets {
            if new.version() < trusted.version() {
                return Err(Error::Rollback {
                    role: RoleName::targets(),
                    trusted: trusted.version(),
                    found: new.version(),
                });
            }
        }
        check_expiry(&RoleName::targets(), &*new, self.now)?;
        check_director_targets(&new, &self.ecu.vin)?;
        self.targets_current = true;
        Ok(self.targets.insert(new))
    }

    /// This ECU's image in the current director targets, if one is assigned.
    pub fn image(&self, installed_release_counter: u64) -> Result<Option<DirectorImage>, Error> {
        match (&self.targets, self.targets_current) {
            (Some(targets), true) => image_for_ecu(targets, &self.ecu, installed_release_counter),
            _ => Err(Error::OutOfOrder("no current director targets: call update_targets first")),
        }
    }

    /// The trusted director root.
    pub fn root(&self) -> &Verified<Root> {
        &self.root
    }

    /// The trusted director targets, if any.
    pub fn targets(&self) -> Option<&Verified<Targets>> {
        self.targets.as_ref()
    }

    fn verify_targets(&self, bytes: &[u8]) -> Result<Verified<Targets>, Error> {
        let role = RoleName::targets();
        let parsed = verify::parse(bytes, &role, self.limits.targets_max_length, &self.limits)?;
        parsed.check_signatures(&role, Authority::TrustedRoot, authority(&self.root, MetadataType::Targets))?;
        Ok(Verified::new(parsed.into_decoded(&role)?))
    }
}
