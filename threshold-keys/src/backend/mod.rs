//! Crypto backends, chosen by features: ring on hosts (`ring`, the default), pure-Rust
//! RustCrypto for bare metal (`rustcrypto`). With both, ring is the default and the
//! other stays callable, which the differential test uses.
//!
//! Every backend entry point first applies the shared encoding rules
//! ([`crate::PublicKey`] keys are already checked), so backends only ever see
//! canonical keys and signatures.

#[cfg(feature = "ring")]
pub mod ring;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto;

#[cfg(feature = "ring")]
pub(crate) use self::ring as default;
#[cfg(all(feature = "rustcrypto", not(feature = "ring")))]
pub(crate) use self::rustcrypto as default;

#[cfg(not(any(feature = "ring", feature = "rustcrypto")))]
compile_error!("threshold-keys needs a crypto backend: enable the `ring` or the `rustcrypto` feature");
