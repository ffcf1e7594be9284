//! Parameter sets of the SEAL backend: the primes, the canonical scale of every level, the
//! security claim and the fingerprint that labels serialised data.
//!
//! # Scales
//!
//! SEAL tracks a ciphertext's scale as an `f64` and adds only ciphertexts (and plaintexts) whose
//! scales are equal to the last bit. After a rescale by a prime `q` the scale is `S^2 / q`, not
//! the default scale again, so operands of different histories would not add. This backend keeps
//! one canonical scale per level instead, as the native engine does:
//!
//! * a fresh ciphertext has `S_L = 2^scale_bits` at the top level `L`;
//! * `S_(l-1) = S_l * S_l / q_l`, computed with the very `f64` operations SEAL performs in
//!   `multiply` then `rescale_to_next`, so a product of two level-`l` ciphertexts lands on
//!   `S_(l-1)` exactly;
//! * plaintext and scalar factors are encoded at `S_l` (the same product), plaintext and scalar
//!   terms at the ciphertext's scale;
//! * an operand above the level of the other is brought down by dropping primes to one level
//!   above the target and multiplying by the constant 1 encoded at `S_t q_(t+1) / S_a`, so the
//!   rescale lands on `S_t` (to `f64` rounding, which [`SealParams::snap`] removes). That costs a
//!   constant product and a rescale, and no precision: the constant is encoded to 2^-40.
//!
//! The scaling primes are chosen by the native engine's rule (`ntt_prime_near`): each close to
//! `S_l^2 / 2^scale_bits`, so the canonical scales stay within a prime gap of `2^scale_bits`
//! instead of drifting.

use std::fmt;

use blindtuner_backend::{BackendError, Security, fnv1a};
use blindtuner_rlwe::security;

use crate::ffi::{self, Context, EncParams, ParmsId};

/// Names of the parameter sets [`crate::SealBackend::named`] knows.
pub const PARAMETER_SETS: [&str; 4] = ["toy-seal-n12", "seal-n14", "seal-peer-n14", "seal-peer-n16"];

/// A parameter set before its primes are chosen: ring degree and prime sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealLiteral {
    /// `N = 2^log_n`; slots are `N / 2`.
    pub log_n: u32,
    /// Bits of `q_0`, the prime left at level 0: its excess over the scale bounds the values
    /// (`|x| < 2^(base_bits - scale_bits - 1)` at level 0). It also sets the noise of key
    /// switching, which SEAL does with one digit per prime and one special prime `P`: the digit
    /// of `q_0` contributes about `q_0 / P` times the key's noise. With `q_0` 10 bits below `P`,
    /// rotations keep the precision of products; with `q_0 = P` (60 bits both) they lose about
    /// four bits at N = 2^12.
    pub base_bits: u32,
    /// `log2` of the default scale, and the bit size of every scaling prime.
    pub scale_bits: u32,
    /// Scaling primes, so multiplicative levels of a fresh ciphertext.
    pub levels: usize,
    /// Bits of SEAL's one special (key-switching) prime; it should be at least the largest
    /// ciphertext prime, or key switching adds noise.
    pub special_bits: u32,
}

impl SealLiteral {
    /// Tests: N = 2^12, 50 + 4 x 40 + 60 bits. 270 bits is far above the 109 that 128-bit
    /// security allows at this degree: insecure.
    pub const TOY_N12: SealLiteral = SealLiteral {
        log_n: 12,
        base_bits: 50,
        scale_bits: 40,
        levels: 4,
        special_bits: 60,
    };
    /// 128-bit: N = 2^14, 50 + 8 x 40 + 60 = 430 of the 438 bits the HomomorphicEncryption.org
    /// table allows at this degree (a ninth level would need 470); 8 levels at 2^40.
    pub const N14: SealLiteral = SealLiteral {
        log_n: 14,
        base_bits: 50,
        scale_bits: 40,
        levels: 8,
        special_bits: 60,
    };
    /// The peer benchmarks' `n14` shape: 60 + 5 x 40 bits and one 60-bit special prime (380).
    pub const PEER_N14: SealLiteral = SealLiteral {
        log_n: 14,
        base_bits: 60,
        scale_bits: 40,
        levels: 5,
        special_bits: 60,
    };
    /// The peer benchmarks' `n16` shape: 60 + 12 x 50 bits and one 60-bit special prime (720 of
    /// the 1,772 bits allowed at N = 2^16).
    pub const PEER_N16: SealLiteral = SealLiteral {
        log_n: 16,
        base_bits: 60,
        scale_bits: 50,
        levels: 12,
        special_bits: 60,
    };

    fn check(&self) -> Result<(), String> {
        if !(10..=16).contains(&self.log_n) {
            return Err(format!("log N = {} is outside 10..=16", self.log_n));
        }
        if !(20..=59).contains(&self.scale_bits) {
            return Err(format!("a scale of 2^{} is outside 2^20..=2^59", self.scale_bits));
        }
        if self.base_bits <= self.scale_bits || self.base_bits > 60 || self.special_bits > 60 {
            return Err(format!(
                "q_0 of {} bits must exceed the scale (2^{}); primes have at most 60 bits (special: {})",
                self.base_bits, self.scale_bits, self.special_bits
            ));
        }
        if self.special_bits < 20 {
            return Err(format!("a special prime of {} bits is too small", self.special_bits));
        }
        if !(1..=64).contains(&self.levels) {
            return Err(format!("{} levels is outside 1..=64", self.levels));
        }
        Ok(())
    }
}

/// A validated parameter set: SEAL's context, the chain's `parms_id`s and canonical scales.
pub struct SealParams {
    pub name: String,
    pub literal: SealLiteral,
    /// Ciphertext primes `q_0 .. q_L`, then the special prime, as SEAL holds them.
    pub primes: Vec<u64>,
    pub security: Security,
    pub context: Context,
    /// `parms_id` of each level (index = levels left).
    pub parms_ids: Vec<ParmsId>,
    /// Canonical scale of each level (index = levels left).
    pub scales: Vec<f64>,
    pub fingerprint: u64,
}

impl fmt::Debug for SealParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealParams")
            .field("name", &self.name)
            .field("primes", &self.primes)
            .field("security", &self.security)
            .field("fingerprint", &format_args!("{:#018x}", self.fingerprint))
            .finish_non_exhaustive()
    }
}

fn invalid(name: &str, reason: impl Into<String>) -> BackendError {
    BackendError::Unsupported {
        backend: "seal",
        operation: "use this parameter set",
        reason: format!("{name}: {}", reason.into()),
    }
}

/// The ciphertext primes `q_0 .. q_L` and the special prime: `q_0` and the special prime the
/// largest NTT primes of their sizes, each scaling prime near `S_l^2 / 2^scale_bits`.
fn choose_primes(lit: &SealLiteral) -> Result<Vec<u64>, String> {
    let n = 1usize << lit.log_n;
    let ring = |e: blindtuner_ring::RingError| e.to_string();
    let q0 = blindtuner_ring::ntt_primes(lit.base_bits, n, 1, &[]).map_err(ring)?[0];
    let default = (lit.scale_bits as f64).exp2();
    let mut used = vec![q0];
    let mut scale = default;
    // From the top level down, as the scales are defined.
    for _ in 0..lit.levels {
        let target = (scale * scale / default) as u64;
        let q = blindtuner_ring::ntt_prime_near(target, lit.scale_bits, n, &used).map_err(ring)?;
        used.push(q);
        scale = scale * scale / q as f64;
    }
    let mut primes = vec![q0];
    primes.extend(used[1..].iter().rev());
    let special = blindtuner_ring::ntt_primes(lit.special_bits, n, 1, &primes).map_err(ring)?[0];
    primes.push(special);
    Ok(primes)
}

impl SealParams {
    /// Builds the set; `toy` skips the 128-bit requirement and labels the set insecure.
    pub fn new(name: &str, lit: &SealLiteral, toy: bool) -> Result<SealParams, BackendError> {
        lit.check().map_err(|e| invalid(name, e))?;
        let primes = choose_primes(lit).map_err(|e| invalid(name, e))?;
        let log_qp: f64 = primes.iter().map(|&p| (p as f64).log2()).sum();
        let level = security::level_of(lit.log_n, log_qp);
        let security = match (toy, level) {
            (true, _) => Security::Toy,
            (false, Some(level)) => Security::Bits(level.bits()),
            (false, None) => {
                return Err(invalid(
                    name,
                    format!(
                        "log2(QP) = {log_qp:.1} bits at N = 2^{} is below 128-bit security \
                         (HomomorphicEncryption.org table); use a toy set for tests",
                        lit.log_n
                    ),
                ));
            }
        };
        // SEAL checks 128-bit sets against its own copy of the table, which stops at N = 2^15.
        let sec_level = if matches!(security, Security::Bits(_)) && lit.log_n <= 15 {
            ffi::SEC_LEVEL_128
        } else {
            ffi::SEC_LEVEL_NONE
        };
        let mut enc = EncParams::ckks()?;
        enc.set_degree(1 << lit.log_n)?;
        enc.set_primes(&primes)?;
        let context = Context::new(&enc, sec_level)?;
        let parms_ids = context.data_parms_ids()?;
        if parms_ids.len() != lit.levels + 1 {
            return Err(BackendError::Engine(format!(
                "SEAL made {} data levels, {} expected",
                parms_ids.len(),
                lit.levels + 1
            )));
        }
        let mut scales = vec![0.0; lit.levels + 1];
        scales[lit.levels] = (lit.scale_bits as f64).exp2();
        for l in (1..=lit.levels).rev() {
            // Exactly SEAL's operations: `multiply` sets s * s, `rescale_to_next` divides by q_l.
            scales[l - 1] = scales[l] * scales[l] / primes[l] as f64;
        }
        let mut id = b"blindtuner seal ckks v1".to_vec();
        id.extend_from_slice(&lit.log_n.to_le_bytes());
        id.extend_from_slice(&lit.scale_bits.to_le_bytes());
        primes.iter().for_each(|p| id.extend_from_slice(&p.to_le_bytes()));
        id.push(toy as u8);
        Ok(SealParams {
            name: name.into(),
            literal: *lit,
            fingerprint: fnv1a(&id),
            primes,
            security,
            context,
            parms_ids,
            scales,
        })
    }

    pub fn slots(&self) -> usize {
        1 << (self.literal.log_n - 1)
    }

    pub fn max_level(&self) -> usize {
        self.literal.levels
    }

    /// The level (levels left) of a `parms_id`, if it is a data level of this set.
    pub fn level_of(&self, id: &ParmsId) -> Option<usize> {
        self.parms_ids.iter().position(|p| p == id)
    }

    /// Whether `scale` is `level`'s canonical scale up to rounding (a relative 2^-40); NaN is not.
    pub fn is_canonical(&self, scale: f64, level: usize) -> bool {
        let want = self.scales[level];
        ((scale - want) / want).abs() <= 2f64.powi(-40)
    }

    /// Sets `ct`'s scale to the canonical scale of `level`, after checking that it differs by
    /// rounding only (a relative 2^-40, far below CKKS noise); anything more is a bug, reported.
    pub fn snap(&self, ct: &mut ffi::Ciphertext, level: usize) -> Result<(), BackendError> {
        let (got, want) = (ct.scale()?, self.scales[level]);
        if got == want {
            return Ok(());
        }
        if !self.is_canonical(got, level) {
            return Err(BackendError::Engine(format!(
                "scale 2^{:.6} at level {level}, canonical 2^{:.6}",
                got.log2(),
                want.log2()
            )));
        }
        ct.set_scale(want)
    }

    /// One line for [`blindtuner_backend::Capabilities::parameters`].
    pub fn describe(&self) -> String {
        let lit = &self.literal;
        format!(
            "{} (SEAL 4.0 CKKS, N = 2^{}, {} slots, primes {} + {} x {} + {} bits, scale 2^{}, {})",
            self.name,
            lit.log_n,
            self.slots(),
            lit.base_bits,
            lit.levels,
            lit.scale_bits,
            lit.special_bits,
            lit.scale_bits,
            self.security
        )
    }
}
