//! Proof values: a [`Verified<T>`] exists only if this crate checked its signatures
//! (and, where it applies, version, expiry, length and hashes). Code that acts on
//! trusted metadata takes one as its argument.

use core::ops::Deref;

use metadata_schemas::RoleMetadata;

/// Metadata that passed verification. Only this crate constructs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<T> {
    value: T,
}

impl<T> Verified<T> {
    pub(crate) fn new(value: T) -> Self {
        Verified { value }
    }

    /// The verified value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The verified value, leaving the proof behind.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: RoleMetadata> Verified<T> {
    /// The document's version.
    pub fn version(&self) -> metadata_schemas::Version {
        self.value.common().version
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
