//! Microsoft SEAL 4.0 CKKS behind blindtuner's backend trait ([`blindtuner_backend`]).
//!
//! Everything is behind the cargo feature `seal`, off by default so that the workspace builds
//! in pure Rust: with it, the `sealy` crate compiles SEAL from the sources it ships (apt
//! `cmake libclang-dev`; about four minutes on two cores) and links it in. Enable it with
//! `cargo test -p blindtuner-seal --features seal`, or `--features seal` on the `blindtuner`
//! binary.
//!
//! sealy's Rust API has no CKKS rescale, no `rotate_vector` and no scale control, so the backend
//! declares the SEAL C API functions it calls itself (`ffi`) and owns every SEAL object it
//! creates. What it provides:
//!
//! * [`SealBackend`] at a named parameter set ([`PARAMETER_SETS`]) or a [`SealLiteral`]:
//!   `N / 2` slots, one level per product (relinearised and rescaled), operands of different
//!   levels aligned exactly (see the `params` module on scales), rotations by the steps keyed
//!   at key generation ([`BackendError::MissingKey`] otherwise, never SEAL's silent composition
//!   of power-of-two rotations);
//! * no bootstrapping: SEAL has none, so [`Cloud::bootstrap`] is the trait's `Unsupported` and
//!   the training refreshes ciphertexts through the client;
//! * a wire format with the parameter set's fingerprint and a checksum around SEAL's own
//!   serialisation, which validates what it loads (see the `wire` module).
//!
//! Exact zeros (`x - x`, a product with an all-zero plaintext) give SEAL's "transparent"
//! ciphertexts, whose second polynomial is zero; sealy's `transparent-ciphertexts` feature lets
//! SEAL return them instead of throwing, since the cloud computed them and knows their value.
//!
//! [`BackendError::MissingKey`]: blindtuner_backend::BackendError::MissingKey
//! [`Cloud::bootstrap`]: blindtuner_backend::Cloud::bootstrap

#[cfg(feature = "seal")]
mod backend;
#[cfg(feature = "seal")]
mod ffi;
#[cfg(feature = "seal")]
mod params;
#[cfg(feature = "seal")]
mod wire;

// SEAL's C API is linked through sealy, whose own Rust API is not used.
#[cfg(feature = "seal")]
use sealy as _;

#[cfg(feature = "seal")]
pub use backend::{SealBackend, SealCiphertext, SealClient, SealCloud};
#[cfg(feature = "seal")]
pub use params::{PARAMETER_SETS, SealLiteral};
