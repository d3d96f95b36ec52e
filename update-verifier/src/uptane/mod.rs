//! Uptane 2.1 verification on top of the TUF engine: partial verification (director
//! targets only) and full verification (director and image repository must agree).

mod decommission;
mod director;
mod full;
mod offline;
mod partial;
mod provided;
mod recovery;
mod time;

pub use decommission::{DecommissionRefusal, check_decommission};
pub use director::{DirectorImage, EcuIdentity, check_director_targets, image_for_ecu};
pub use full::check_against_image_repository;
pub use offline::{OfflineBundle, OfflineFloor, offline_image_for_ecu, verify_offline_metadata};
pub use partial::PartialVerifier;
pub use provided::{ProvidedRoles, find_target};
pub use recovery::{RECOVERY_ROLE, verify_factory_image};
pub use time::{TIME_ATTESTATION_MAX_LENGTH, time_key, verify_time_attestation};
