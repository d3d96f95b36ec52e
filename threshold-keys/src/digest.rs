//! SHA-256 and SHA-512 from the build's backend, streaming or in one call.

use metadata_schemas::{Digest, HashAlgorithm};

use crate::backend::default::Context;

/// A running hash of one known algorithm.
#[derive(Clone)]
pub struct Hasher {
    context: Context,
    algorithm: HashAlgorithm,
}

impl Hasher {
    /// A new hash.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        let context = match algorithm {
            HashAlgorithm::Sha256 => Context::sha256(),
            HashAlgorithm::Sha512 => Context::sha512(),
        };
        Hasher { context, algorithm }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        self.context.update(data);
    }

    /// The digest of everything added.
    pub fn finish(self) -> Digest {
        match self.algorithm {
            HashAlgorithm::Sha256 => {
                let mut out = [0u8; 32];
                self.context.finish_into(&mut out);
                Digest::Sha256(out)
            }
            HashAlgorithm::Sha512 => {
                let mut out = [0u8; 64];
                self.context.finish_into(&mut out);
                Digest::Sha512(out)
            }
        }
    }
}

/// The digest of `data`.
pub fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Digest {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(data);
    hasher.finish()
}

/// The SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut context = Context::sha256();
    context.update(data);
    let mut out = [0u8; 32];
    context.finish_into(&mut out);
    out
}
