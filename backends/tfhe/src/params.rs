//! The tfhe backend's named parameter sets and its fixed-point format.
//!
//! A slot holds a real number `x` as the signed integer `round(x * 2^f)` in an encrypted
//! `FheInt32` (two's complement, 32 bits), `f` the set's fraction bits: Q16.16 (`f = 16`,
//! resolution 2^-16, range |x| < 2^15) or Q20.12 (`f = 12`, resolution 2^-12, range
//! |x| < 2^19). Every set uses tfhe-rs's default block parameters,
//! `PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128` (what `ConfigBuilder::default()` gives in
//! tfhe-rs 1.8.2: 2-bit message and carry blocks, keyswitch then programmable bootstrap,
//! TUniform noise, 128-bit security with a failure probability of at most 2^-128), so an
//! `FheInt32` is 16 blocks.
//!
//! [`FixedPoint`] is the plain reference of the arithmetic the cloud runs: additions are exact
//! integer additions, products `(a * b) >> f` in 64 bits (arithmetic shift, so the rounding is
//! towards minus infinity, at most 2^-f), then truncated to 32 bits. Nothing saturates: a result
//! outside the range wraps around (two's complement), exactly as in the reference, so the client
//! must keep every intermediate value in range.

use blindtuner_backend::BackendError;
use blindtuner_rlwe::fnv1a;
use tfhe::shortint::parameters::{ClassicPBSParameters, PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128};

/// The tfhe-rs block parameters of every set (see the module documentation).
pub const BLOCK_PARAMETERS: ClassicPBSParameters = PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128;
/// Their name, as tfhe-rs spells it.
pub const BLOCK_PARAMETERS_NAME: &str = "PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128";

/// A named parameter set: slots per ciphertext and the fixed-point format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TfheParams {
    /// As `--tfhe-set` takes it.
    pub name: &'static str,
    /// Encrypted integers per ciphertext, one per slot.
    pub slots: usize,
    /// Fraction bits `f` of the fixed-point format (Q(32 - f).f in an `FheInt32`).
    pub frac_bits: u32,
}

/// The named sets. The two-slot sets keep the conformance tests short and `tfhe-q16-s1` (one
/// slot) the CLI's test of `bench ops`; the per-slot costs they measure are those of every set.
pub const PARAMETER_SETS: [TfheParams; 5] = [
    TfheParams {
        name: "tfhe-q16-s8",
        slots: 8,
        frac_bits: 16,
    },
    TfheParams {
        name: "tfhe-q16-s4",
        slots: 4,
        frac_bits: 16,
    },
    TfheParams {
        name: "tfhe-q16-s2",
        slots: 2,
        frac_bits: 16,
    },
    TfheParams {
        name: "tfhe-q12-s2",
        slots: 2,
        frac_bits: 12,
    },
    TfheParams {
        name: "tfhe-q16-s1",
        slots: 1,
        frac_bits: 16,
    },
];

impl TfheParams {
    /// The named set, or an error listing the names.
    pub fn named(name: &str) -> Result<TfheParams, BackendError> {
        PARAMETER_SETS
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| BackendError::Unsupported {
                backend: "tfhe",
                operation: "use this parameter set",
                reason: format!(
                    "no set named `{name}`; the sets are {}",
                    PARAMETER_SETS.map(|p| p.name).join(", ")
                ),
            })
    }

    /// The fixed-point format of the set.
    pub fn fixed_point(&self) -> FixedPoint {
        FixedPoint {
            frac_bits: self.frac_bits,
        }
    }

    /// Labels the set's serialised data: name, slots, fraction bits and tfhe-rs's parameters.
    pub fn fingerprint(&self) -> u64 {
        let mut id = b"blindtuner-tfhe\0".to_vec();
        id.extend_from_slice(self.name.as_bytes());
        id.push(0);
        id.extend_from_slice(&(self.slots as u64).to_le_bytes());
        id.extend_from_slice(&self.frac_bits.to_le_bytes());
        id.extend_from_slice(BLOCK_PARAMETERS_NAME.as_bytes());
        fnv1a(&id)
    }

    /// The set a fingerprint belongs to, in words: its name, or "an unknown parameter set".
    pub fn describe_fingerprint(fingerprint: u64) -> String {
        PARAMETER_SETS
            .iter()
            .find(|p| p.fingerprint() == fingerprint)
            .map_or(format!("an unknown parameter set ({fingerprint:#018x})"), |p| {
                p.name.to_string()
            })
    }

    /// The set in words.
    pub fn describe(&self) -> String {
        let f = self.frac_bits;
        format!(
            "{} (Q{}.{f} fixed point in FheInt32, {} slots, range |x| < 2^{}, tfhe-rs {BLOCK_PARAMETERS_NAME})",
            self.name,
            32 - f,
            self.slots,
            31 - f
        )
    }
}

/// Q(32 - f).f fixed point in 32-bit two's complement: the plain reference of the cloud's
/// arithmetic (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    pub frac_bits: u32,
}

impl FixedPoint {
    /// One unit in the last place, `2^-f`.
    pub fn resolution(&self) -> f64 {
        (-(self.frac_bits as f64)).exp2()
    }

    /// The largest magnitude the format holds, `2^(31 - f)` (exclusive).
    pub fn bound(&self) -> f64 {
        ((31 - self.frac_bits) as f64).exp2()
    }

    /// `round(x * 2^f)`, refused if `x` is not finite or outside the range.
    pub fn encode(&self, x: f64) -> Result<i32, BackendError> {
        let q = (x * (self.frac_bits as f64).exp2()).round();
        if !q.is_finite() || q.abs() > i32::MAX as f64 {
            return Err(BackendError::Engine(format!(
                "{x} does not fit Q{}.{} fixed point (|x| < {})",
                32 - self.frac_bits,
                self.frac_bits,
                self.bound()
            )));
        }
        Ok(q as i32)
    }

    /// The real number an integer stands for.
    pub fn decode(&self, q: i32) -> f64 {
        q as f64 * self.resolution()
    }

    /// The product the cloud computes: `(a * b) >> f` in 64 bits, truncated to 32.
    pub fn mul(&self, a: i32, b: i32) -> i32 {
        ((a as i64 * b as i64) >> self.frac_bits) as i32
    }
}
