//! The ring layer of blindtuner's RNS-CKKS engine: arithmetic in
//! `R_Q = Z_Q[X] / (X^N + 1)` with `Q` a product of word-sized NTT-friendly primes, each
//! polynomial stored as one residue polynomial ("limb") per prime.
//!
//! Layering follows Lattigo: this crate (moduli, NTT, basis conversion, sampling,
//! automorphisms) sits below `blindtuner-rlwe` (keys, key switching) and `blindtuner-ckks`
//! (encoding, evaluation), and depends on neither.
//!
//! * [`Modulus`], [`ntt_primes`]: prime moduli with Barrett/Shoup constants, prime generation.
//! * [`RnsBasis`]: the degree, the primes and their NTT plans; polynomial arithmetic, NTTs,
//!   [`RnsBasis::rescale`] and [`RnsBasis::automorphism`] are its methods.
//! * [`RnsPoly`]: limb-major storage with a number of active limbs and a [`Form`].
//! * [`BasisConverter`] (fast base conversion, ModUp) and [`ModDown`] (division by the special
//!   modulus with rounding).
//! * [`Automorphism`]: gather tables of `X -> X^g`.
//! * [`Sampler`], [`DiscreteGaussian`]: uniform, ternary, sparse ternary and Gaussian sampling.
//!
//! Hot loops allocate nothing: outputs and scratch buffers are passed in. Limb loops run on the
//! current rayon thread pool when the input is large enough, and the multiply-heavy kernels use
//! AVX-512 IFMA when the CPU has it and the primes are below 2^50 (also the fast path of the
//! tfhe-ntt NTT).

#![warn(missing_docs)]

mod arith;
mod automorphism;
mod basis;
mod conversion;
mod division;
mod error;
mod ifma;
mod kernels;
mod modulus;
mod ntt;
mod par;
mod poly;
mod primes;
mod sampler;
mod simd;

pub use automorphism::{Automorphism, conjugation_galois_element, rotation_galois_element};
pub use basis::{MAX_LOG_DEGREE, MIN_LOG_DEGREE, RnsBasis};
pub use conversion::{BasisConverter, MAX_CONVERSION_SOURCES, TargetLimbs};
pub use division::ModDown;
pub use error::RingError;
pub use modulus::{MAX_MODULUS_BITS, Modulus};
pub use poly::{Form, RnsPoly};
pub use primes::{is_prime, ntt_prime_near, ntt_primes};
pub use sampler::{DEFAULT_SIGMA, DiscreteGaussian, Sampler};
