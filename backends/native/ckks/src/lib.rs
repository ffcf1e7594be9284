//! The CKKS layer of blindtuner's native engine, above `rlwe`.
//!
//! * [`Parameters`]: the RLWE set with the default scale and its canonical scale chain
//!   ([`presets`] for tests, N = 2^14 and N = 2^16).
//! * [`Encoder`]: slot vectors to plaintexts and back, through the special FFT ([`SpecialFft`]).
//! * [`Encryptor`], [`Decryptor`]: the client side.
//! * [`Evaluator`]: the server side, with evaluation keys only: additions, products,
//!   relinearisation, rescaling, rotations (hoisted too), conjugation, rotate-and-sum, and
//!   [`LinearTransform`]s by diagonals (baby-step giant-step, hoisted).
//! * [`HomomorphicDft`]: CoeffsToSlots and SlotsToCoeffs of bootstrapping as products of sparse
//!   linear transforms within a level budget ([`Evaluator::homomorphic_dft`]).
//! * [`Bootstrapper`]: bootstrapping (ModRaise with sparse-secret encapsulation, CoeffsToSlots,
//!   EvalMod, SlotsToCoeffs) over a [`BootstrapParameters`] set.
//! * [`Polynomial`]: polynomials in the Chebyshev basis, evaluated on ciphertexts at optimal
//!   depth by [`Evaluator::evaluate_polynomial`].
//! * [`Precision`]: achieved precision in bits against an f64 reference.
//! * The binary format of parameters, ciphertexts and plaintexts
//!   ([`blindtuner_rlwe::WireFormat`], [`Parameters::to_bytes`]).

mod bootstrapping;
mod ciphertext;
mod dft;
mod encoder;
mod encryption;
mod evaluator;
mod fft;
mod linear;
mod params;
mod polynomial;
mod precision;
mod wire;

pub use bootstrapping::{
    BootstrapKeys, BootstrapParameters, BootstrapParametersLiteral, BootstrapPhases, BootstrapScratch, Bootstrapper,
    EncapsulationKeys,
};
pub use ciphertext::{Ciphertext, Plaintext, Product};
pub use dft::{DftDirection, DftScratch, EncodedDft, HomomorphicDft, bit_reversed};
pub use encoder::{Encoder, EncoderScratch};
pub use encryption::{Decryptor, Encryptor};
pub use evaluator::{Evaluator, EvaluatorScratch, SCALE_TOLERANCE};
pub use fft::SpecialFft;
pub use linear::{EncodedLinearTransform, LinearTransform, LinearTransformScratch};
pub use num_complex::Complex64;
pub use params::{Parameters, ParametersLiteral, presets};
pub use polynomial::{MAX_POLYNOMIAL_DEGREE, Polynomial, PolynomialScratch};
pub use precision::Precision;

use blindtuner_rlwe::{KeyError, ParameterError, WireError};

/// Errors of the CKKS layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CkksError {
    #[error("slot count {0} must be a power of two between 1 and N/2")]
    SlotCount(usize),
    #[error("{given} values do not fit in {slots} slots")]
    TooManyValues { given: usize, slots: usize },
    #[error("scale {0} must be a finite number of at least 1")]
    Scale(f64),
    #[error("value {value} times scale {scale} does not fit the encoder's 126-bit range")]
    Overflow { value: f64, scale: f64 },
    #[error(transparent)]
    Parameters(#[from] ParameterError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the ciphertext belongs to another parameter set ({found:#018x}, expected {expected:#018x})")]
    ForeignCiphertext { expected: u64, found: u64 },
    #[error("the operation needs level {needed} or more; the ciphertext is at level {level}")]
    LevelTooLow { needed: usize, level: usize },
    #[error("scales 2^{log_a:.4} and 2^{log_b:.4} differ at level {level}; bring them to one scale first")]
    ScaleMismatch { level: usize, log_a: f64, log_b: f64 },
    #[error("the ciphertext's scale 2^{log_scale:.1} is too large for level {level}; rescale first")]
    ScaleTooLarge { level: usize, log_scale: f64 },
    #[error("slot counts differ: {0} and {1}")]
    SlotMismatch(usize, usize),
    #[error("no rotation key for step {step} (Galois element {g}); the client must generate it")]
    MissingRotationKey { step: i64, g: u64 },
    #[error("no conjugation key; the client must generate it")]
    MissingConjugationKey,
    #[error("no relinearisation key; the client must generate it")]
    MissingRelinearizationKey,
    #[error("rotate-and-sum over {n} slots: n must be a power of two up to the slot count {slots}")]
    SumLength { n: usize, slots: usize },
    #[error("{what} has {given} values, {expected} expected")]
    Length {
        what: &'static str,
        given: usize,
        expected: usize,
    },
    #[error("{0} contains a value that is not finite")]
    NotFinite(&'static str),
    #[error(
        "encoded for inputs at level {level} and scale 2^{log_scale:.4}, given level {found_level} and scale 2^{found_log_scale:.4}"
    )]
    EncodedFor {
        level: usize,
        log_scale: f64,
        found_level: usize,
        found_log_scale: f64,
    },
    #[error("the linear transform has no diagonals")]
    EmptyTransform,
    #[error("a polynomial needs at least one coefficient")]
    EmptyPolynomial,
    #[error("coefficient {index} of the polynomial is not finite")]
    NonFiniteCoefficient { index: usize },
    #[error("the interval [{a}, {b}] must have finite ends with a < b")]
    Interval { a: f64, b: f64 },
    #[error("the interpolated function is not finite at the node x = {x}")]
    NonFiniteSample { x: f64 },
    #[error("polynomial degree {degree} exceeds the supported {max}")]
    PolynomialDegree { degree: usize, max: usize },
    #[error("level budget {budget} must be between 1 and log2(slots) = {stages}")]
    LevelBudget { budget: usize, stages: usize },
}
