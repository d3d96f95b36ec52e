//! Uptane 2.1 verification on top of the TUF engine: partial verification (director
//! targets only) and full verification (director and image repository must agree).

mod director;
mod full;
mod partial;

pub use director::{DirectorImage, EcuIdentity, check_director_targets, image_for_ecu};
pub use full::check_against_image_repository;
pub use partial::PartialVerifier;
