//! Uptane 2.1 additions: what the director and the image repository put in `custom`,
//! and the manifests that vehicles send.

mod decommission;
mod director;
mod encryption;
mod image;
mod lifecycle;
mod manifest;
mod offline;
mod status;
mod time;

pub use decommission::{
    ACK_FIELD, DECOMMISSION, DecommissionCommand, EraseItem, ack_nonce, ack_object, acknowledged_nonce,
    acknowledgement, command_path,
};
pub use director::{DirectorTargetCustom, VehicleCustom};
pub use encryption::{
    ChunkIndex, ContentAlgorithm, ENCRYPTION_VERSION, EncryptedContent, EncryptionBlock, IndexFile, KeyAlgorithm,
    WrappedContentKey,
};
pub use image::ImageTargetCustom;
pub use lifecycle::{ENDING_DAYS, LifecycleRecord, LifecycleRef, SupportState, moved_earlier, support_state};
pub use manifest::{AttackCode, EcuVersionReport, InstalledImage, VehicleVersionManifest};
pub use offline::{
    OFFLINE_INSTALLS_FIELD, OFFLINE_ROLE_FIELD, OfflineCustom, OfflineInstall, bundle_paths, offline_role,
};
pub use status::{BootState, InstallResult, InstallStatus};
pub use time::{TIME_KEY_FIELD, TimeAttestation};

use crate::TargetPath;
use crate::error::DecodeError;
use crate::string_id;

string_id!(
    /// An ECU's unique serial (Uptane's ECU identifier).
    EcuSerial
);
string_id!(
    /// A hardware identifier: which images an ECU can run.
    HardwareId
);
string_id!(
    /// A vehicle identifier (VIN).
    Vin
);

/// Decodes the `custom` of a target, naming the target path in errors.
pub(crate) fn in_target(path: &TargetPath, e: DecodeError) -> DecodeError {
    e.in_field("custom").in_field(path.as_str()).in_field("targets")
}
