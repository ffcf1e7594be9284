//! tfhe-rs behind blindtuner's backend trait ([`blindtuner_backend`]): fixed-point numbers in
//! encrypted integers, one ciphertext per slot.
//!
//! tfhe-rs has no CKKS. This backend keeps every slot as its own encrypted `FheInt32` holding
//! the slot's value in fixed point (Q16.16 or Q20.12, a property of the named set; see the
//! `params` module), so a "ciphertext" is a vector of `slots` tfhe-rs ciphertexts:
//!
//! * additions, subtractions, negations and additions of clear constants are exact integer
//!   operations; a product (by a ciphertext, a clear vector or a clear scalar) widens to
//!   `FheInt64`, multiplies, shifts right by the fraction bits (rounding towards minus
//!   infinity) and truncates back. Results are deterministic and bit-identical to the plain
//!   fixed-point reference [`FixedPoint`]: no noise reaches the values, which is what
//!   [`Capabilities::exact`] `true` means here; the only gap to real arithmetic is the
//!   fixed-point rounding (2^-f per encoding and per product). Values wrap around outside
//!   |x| < 2^(31 - f): the client keeps them in range;
//! * a rotation permutes the slot vector: free, exact, for every step, with no key;
//! * every tfhe-rs operation bootstraps its output, so there are no levels:
//!   [`Capabilities::max_level`] is `None`, [`Cloud::level`] is always `usize::MAX`, and
//!   [`Cloud::bootstrap`] returns the ciphertext unchanged (`bootstrap: true`: the levels are
//!   "restored" trivially; the training never needs a refresh);
//! * security: tfhe-rs's default block parameters,
//!   `PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128` (128-bit), keys from tfhe-rs's own CSPRNG;
//!   the cloud holds the server key only;
//! * tfhe-rs finds its server key in a thread-local: each cloud computes on its own thread pool
//!   whose threads hold its key, so it works from any thread and beside other clouds;
//! * a wire format with the set's fingerprint and a checksum around tfhe-rs's safe
//!   serialisation (see the `wire` module).
//!
//! It is slow by nature (a product is seconds per slot on two cores), so it runs at a few slots
//! and its per-slot costs feed projections (`blindtuner bench ops --backend tfhe`).
//!
//! Everything is behind the cargo feature `tfhe`, off by default (tfhe-rs takes about five
//! minutes and 2.5 GB to compile): `cargo test -p blindtuner-tfhe --features tfhe`, or
//! `--features tfhe` on the `blindtuner` binary.
//!
//! [`Capabilities::exact`]: blindtuner_backend::Capabilities::exact
//! [`Capabilities::max_level`]: blindtuner_backend::Capabilities::max_level
//! [`Cloud::level`]: blindtuner_backend::Cloud::level
//! [`Cloud::bootstrap`]: blindtuner_backend::Cloud::bootstrap

#[cfg(feature = "tfhe")]
mod backend;
#[cfg(feature = "tfhe")]
mod params;
#[cfg(feature = "tfhe")]
mod wire;

#[cfg(feature = "tfhe")]
pub use backend::{TfheBackend, TfheCiphertext, TfheClient, TfheCloud};
#[cfg(feature = "tfhe")]
pub use params::{BLOCK_PARAMETERS, BLOCK_PARAMETERS_NAME, FixedPoint, PARAMETER_SETS, TfheParams};
