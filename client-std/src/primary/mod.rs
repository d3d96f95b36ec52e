//! The Uptane primary: one update cycle for a vehicle (or an industrial controller):
//! version reports from every ECU, the signed manifest to the director, full
//! verification of the director and the image repository, and each directed image
//! downloaded, verified and handed to its ECU; plus the primary's own A/B image.

mod check;
mod config;
mod cycle;
pub mod daemon;
pub mod decommission;
mod decrypt;
mod delegations;
mod failure;
mod handover;
pub mod link;
pub mod notice;
pub mod offline;
mod own_image;
pub mod plan;
mod reports;
pub mod schedule;
pub mod status;

pub use check::{Problem, check};
pub use config::{OfflineConfig, OwnImageConfig, PrimaryConfig, PrimaryTls, RescueSlot, SecondaryConfig};
pub use cycle::{CycleReport, DecommissionOutcome, EcuOutcome, Observer, Primary, Progress};
pub use decrypt::{DecryptError, OwnDecryption};
pub use failure::{EcuFailure, SecondaryError, SecondaryProblem};
pub use own_image::{OwnImage, SlotImage};
