//! CKKS parameters: the RLWE set plus the default scale and the chain of scales it implies.
//!
//! Rescaling divides the scale by the prime it removes, so a ciphertext at level `l` that
//! went through multiplications and rescalings from the top has the scale
//!
//! ```text
//! S_(L-1) = default scale,   S_(l-1) = S_l^2 / q_l,
//! ```
//!
//! the *canonical scale* of level `l`. The evaluator keeps every result on this chain (plaintext
//! and constant factors are encoded at the scale that lands the rescaled product on it), so two
//! ciphertexts at one level always have equal scales and add exactly, whatever their history.
//! Deviations double at each rescaling, so the scaling primes are picked from the top down, each
//! the NTT prime of its size closest to `S_l^2 / default scale`: the chain then stays within one
//! prime gap (about `2N ln q`, 2^-18 relative at N = 2^16 and 40 bits) of the default scale at
//! every level. The default scale sits a few prime gaps below `2^log_scale`, so that primes of
//! the asked size exist above it too.
//!
//! # Runs of prime sizes
//!
//! A set may mix scaling primes of several sizes, as bootstrapping does (60-bit primes for its
//! precise top levels above 45-bit primes for the work below). Each maximal run of scaling
//! primes of one size keeps its own chain: the lowest run (`q_1` up) at the default scale
//! `2^log_default_scale`, every higher run at `2^b` for its size `b` (less the margin). Where
//! the size changes, between `q_l` and `q_(l+1)`, the chain restarts: `S_l` is the lower run's
//! scale, not `S_(l+1)^2 / q_(l+1)`, so a product rescaled across the boundary is off the chain
//! and only plaintext and constant factors (encoded for the scale below) cross it. With one
//! size of scaling primes this is the single chain above.
use std::fmt;

use blindtuner_ring::{ntt_prime_near, ntt_primes, rotation_galois_element};
use blindtuner_rlwe as rlwe;
use blindtuner_rlwe::{Moduli, ParameterError, SecretDistribution, Security};

use crate::CkksError;

/// What a user writes; validated by [`Parameters::new`] or [`Parameters::new_toy`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParametersLiteral {
    pub log_n: u32,
    /// Bit sizes of the ciphertext primes, `q_0` first. Scaling primes are the primes of their
    /// size nearest the scale chain (see the module documentation); `q_0` is the largest prime
    /// of its size.
    pub log_q: Vec<u32>,
    /// Bit sizes of the special primes of key switching (`#P` is the digit size).
    pub log_p: Vec<u32>,
    pub secret: SecretDistribution,
    pub error_std: f64,
    /// Key-switching digits (`None`: digits of `#P` primes), as in [`rlwe::ParametersLiteral`].
    pub digits: Option<usize>,
    /// log2 of the scale of fresh encryptions.
    pub log_default_scale: u32,
}

/// A validated CKKS parameter set; cheap to clone (the rings are shared).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    rlwe: rlwe::Parameters,
    log_default_scale: u32,
    /// `scales[l]`: the canonical scale of level `l`.
    scales: Vec<f64>,
    fingerprint: u64,
}

impl Parameters {
    /// Validates `lit`, refusing anything below 128-bit security by the HomomorphicEncryption.org
    /// table.
    pub fn new(lit: &ParametersLiteral) -> Result<Parameters, CkksError> {
        Self::from_rlwe(rlwe::Parameters::new(&Self::rlwe_literal(lit)?)?, lit.log_default_scale)
    }

    /// Validates `lit` without a security requirement: toy parameters for tests and examples.
    pub fn new_toy(lit: &ParametersLiteral) -> Result<Parameters, CkksError> {
        Self::from_rlwe(
            rlwe::Parameters::new_toy(&Self::rlwe_literal(lit)?)?,
            lit.log_default_scale,
        )
    }

    /// CKKS parameters over an existing RLWE set (explicit primes, say, as read from a file).
    pub fn from_rlwe(rlwe: rlwe::Parameters, log_default_scale: u32) -> Result<Parameters, CkksError> {
        check_log_scale(log_default_scale)?;
        let q = rlwe.q();
        let mut scales = vec![0.0; q.len()];
        let bits = bit_sizes(q);
        let run_scale = run_scales(rlwe.n(), log_default_scale, &bits);
        let mut scale = run_scale[q.len() - 1];
        for l in (0..q.len()).rev() {
            scales[l] = scale;
            scale = if restarts_below(&bits, l) {
                run_scale[l - 1]
            } else {
                scale * scale / q[l] as f64
            };
        }
        let fingerprint = (rlwe.fingerprint() ^ u64::from(log_default_scale)).wrapping_mul(0x0000_0100_0000_01b3);
        Ok(Parameters {
            rlwe,
            log_default_scale,
            scales,
            fingerprint,
        })
    }

    fn rlwe_literal(lit: &ParametersLiteral) -> Result<rlwe::ParametersLiteral, CkksError> {
        check_log_scale(lit.log_default_scale)?;
        if lit.log_q.is_empty() {
            return Err(ParameterError::Invalid("at least one ciphertext prime is needed".into()).into());
        }
        let n = 1usize
            .checked_shl(lit.log_n)
            .filter(|_| lit.log_n < 32)
            .ok_or_else(|| ParameterError::Invalid(format!("log N = {} is out of range", lit.log_n)))?;
        let to_err = |e| CkksError::Parameters(ParameterError::Ring(e));
        let mut q = vec![ntt_primes(lit.log_q[0], n, 1, &[]).map_err(to_err)?[0]];
        let run_scale = run_scales(n, lit.log_default_scale, &lit.log_q);
        let top = lit.log_q.len() - 1;
        let mut scale = run_scale[top];
        let mut scaling = Vec::with_capacity(top);
        for l in (1..=top).rev() {
            let target = (scale * scale / run_scale[l]).min(u64::MAX as f64) as u64;
            let prime = ntt_prime_near(target, lit.log_q[l], n, &q).map_err(to_err)?;
            q.push(prime);
            scaling.push(prime);
            scale = if restarts_below(&lit.log_q, l) {
                run_scale[l - 1]
            } else {
                scale * scale / prime as f64
            };
        }
        q.truncate(1);
        q.extend(scaling.iter().rev());
        Ok(rlwe::ParametersLiteral {
            log_n: lit.log_n,
            q: Moduli::Primes(q),
            p: Moduli::Bits(lit.log_p.clone()),
            secret: lit.secret,
            error_std: lit.error_std,
            digits: lit.digits,
        })
    }

    /// The RLWE parameter set.
    pub fn rlwe(&self) -> &rlwe::Parameters {
        &self.rlwe
    }

    pub fn n(&self) -> usize {
        self.rlwe.n()
    }

    /// Most slots: `N / 2`.
    pub fn max_slots(&self) -> usize {
        self.n() / 2
    }

    /// The level of fresh ciphertexts (`#Q - 1`).
    pub fn max_level(&self) -> usize {
        self.rlwe.max_level()
    }

    pub fn log_default_scale(&self) -> u32 {
        self.log_default_scale
    }

    /// The scale of fresh encryptions: `2^log_default_scale` less a small margin (see
    /// `default_scale` in the source: it keeps every scaling prime at its asked size).
    pub fn default_scale(&self) -> f64 {
        self.scales[self.max_level()]
    }

    /// The canonical scale of `level` (see the module documentation).
    pub fn scale_at(&self, level: usize) -> f64 {
        self.scales[level]
    }

    /// The ciphertext primes.
    pub fn q(&self) -> &[u64] {
        self.rlwe.q()
    }

    pub fn security(&self) -> Security {
        self.rlwe.security()
    }

    /// Identity of the set including the default scale; ciphertexts carry it.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The Galois element rotating `slots` slots left by `step` (any sign; taken mod `slots`).
    pub fn rotation_galois_element(&self, step: i64, slots: usize) -> u64 {
        rotation_galois_element(self.n(), step.rem_euclid(slots as i64))
    }
}

impl fmt::Display for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "N = 2^{}, {} + {} primes, log2(QP) = {:.1}, scale 2^{}, {}",
            self.rlwe.log_n(),
            self.q().len(),
            self.rlwe.p().len(),
            self.rlwe.log_qp(),
            self.log_default_scale,
            self.security()
        )
    }
}

/// The scale of fresh encryptions: `2^log_scale` less a margin of about `(#Q + 1) / ln 2` prime
/// gaps, so that NTT primes of exactly `log_scale` bits exist on both sides of every scale of the
/// chain and none has to be a bit longer (a 51-bit prime would leave the IFMA path of 50-bit
/// scales). The margin is `2N log_scale (#Q + 1)`, a relative `2^-13` or less at the sizes used.
fn default_scale(n: usize, log_scale: u32, primes: usize) -> f64 {
    let margin = 2.0 * n as f64 * f64::from(log_scale) * (primes + 1) as f64;
    2f64.powi(log_scale as i32) - margin
}

/// Bit sizes of primes.
fn bit_sizes(q: &[u64]) -> Vec<u32> {
    q.iter().map(|x| 64 - x.leading_zeros()).collect()
}

/// Whether the scale chain restarts below `q_l`: `q_(l-1)` is a scaling prime of another size.
fn restarts_below(log_q: &[u32], l: usize) -> bool {
    l >= 2 && log_q[l - 1] != log_q[l]
}

/// `out[l]`: the scale of the run of scaling primes `q_l` belongs to (see the module
/// documentation), from the bit sizes `log_q` of all primes; `q_0` belongs to the lowest run.
fn run_scales(n: usize, log_default_scale: u32, log_q: &[u32]) -> Vec<f64> {
    let mut lowest = true;
    (0..log_q.len())
        .map(|l| {
            lowest &= !restarts_below(log_q, l);
            let log = if lowest { log_default_scale } else { log_q[l] };
            default_scale(n, log, log_q.len())
        })
        .collect()
}

fn check_log_scale(log_scale: u32) -> Result<(), CkksError> {
    if !(1..=100).contains(&log_scale) {
        return Err(
            ParameterError::Invalid(format!("log2 of the default scale ({log_scale}) must be in 1..=100")).into(),
        );
    }
    Ok(())
}

/// Parameter presets. Each returns a literal; the `toy` ones must be built with
/// [`Parameters::new_toy`] and are for tests only.
pub mod presets {
    use super::ParametersLiteral;
    use crate::BootstrapParametersLiteral;
    use blindtuner_rlwe::{DEFAULT_ERROR_STD, SecretDistribution};

    /// Tests: N = 2^12, 6 levels at scale 2^40, two special primes. Not secure (log QP = 305
    /// exceeds the 109 bits N = 2^12 allows).
    pub fn toy_n12() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 12,
            log_q: vec![55, 40, 40, 40, 40, 40, 40],
            log_p: vec![55, 55],
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: None,
            log_default_scale: 40,
        }
    }

    /// 128-bit, N = 2^14: 7 levels at scale 2^40 (log QP = 430 of 438 allowed).
    pub fn n14() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 14,
            log_q: vec![50, 40, 40, 40, 40, 40, 40, 40],
            log_p: vec![50, 50],
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: None,
            log_default_scale: 40,
        }
    }

    /// 128-bit, N = 2^14, the `n14` shape of the peer comparison (`benches/peers/`): 6 limbs (a
    /// 60-bit base prime and 5 scaling primes of 40 bits) in 3 key-switching digits, 3 special
    /// primes of 50 bits covering the largest digit (100 bits), scale 2^40 (log QP = 410 of 438
    /// allowed).
    pub fn peer_n14() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 14,
            log_q: [60].into_iter().chain([40; 5]).collect(),
            log_p: vec![50; 3],
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: Some(3),
            log_default_scale: 40,
        }
    }

    /// 128-bit, N = 2^16, the `n16` shape of the peer comparison: 13 limbs (a 60-bit base prime
    /// and 12 scaling primes of 50 bits) in 3 key-switching digits, 6 special primes of 50 bits
    /// covering the largest digit (260 bits), scale 2^50 (log QP = 960 of 1747 allowed).
    pub fn peer_n16() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 16,
            log_q: [60].into_iter().chain([50; 12]).collect(),
            log_p: vec![50; 6],
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: Some(3),
            log_default_scale: 50,
        }
    }

    /// Tests of bootstrapping: the shape of [`bootstrap_n16`] at N = 2^12 with 2 work levels.
    /// Not secure.
    pub fn bootstrap_toy_n12() -> BootstrapParametersLiteral {
        BootstrapParametersLiteral {
            log_n: 12,
            log_slots: 11,
            work_levels: 2,
            log_p: vec![61; 3],
            digits: None,
            ..bootstrap_n16()
        }
    }

    /// 128-bit, N = 2^16, bootstrappable with 9 levels left at scale 2^50. From the top:
    /// CoeffsToSlots in 3 levels and EvalMod in 8 (a degree-63 interpolant, depth 6, and 2
    /// double angles) on 61-bit primes, where the precision is made, SlotsToCoeffs in 3 (the
    /// first on a 61-bit prime), 9 work levels on 50-bit primes, and a 60-bit `q_0` (2^10 above
    /// the scale): 24 primes, 1342 bits, in 4 key-switching digits under 6 special primes of 61
    /// bits (log QP = 1708 of 1747 allowed). The ephemeral secret has weight 32, so
    /// `|I| <= 16.5` deterministically.
    pub fn bootstrap_n16() -> BootstrapParametersLiteral {
        BootstrapParametersLiteral {
            log_n: 16,
            log_slots: 15,
            log_q0: 60,
            work_levels: 9,
            log_scale: 50,
            log_boot_scale: 61,
            cts_levels: 3,
            stc_levels: 3,
            ephemeral_weight: 32,
            sine_degree: 63,
            double_angles: 2,
            log_p: vec![61; 6],
            digits: Some(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_chain_stays_near_the_default_scale() {
        let p = Parameters::new_toy(&ParametersLiteral {
            log_q: [55].into_iter().chain([40; 20]).collect(),
            ..presets::toy_n12()
        })
        .unwrap();
        let default = p.default_scale();
        assert!((default.log2() - 40.0).abs() < 2f64.powi(-12));
        for &q in &p.q()[1..] {
            assert_eq!(64 - q.leading_zeros(), 40, "scaling prime {q} is not of 40 bits");
        }
        for l in 0..=p.max_level() {
            let drift = (p.scale_at(l) / default).log2().abs();
            // One prime gap at N = 2^12 and 40 bits is about 2^-22 relative.
            assert!(drift < 2f64.powi(-16), "level {l}: drift 2^{:.1}", drift.log2());
        }
        for l in 1..=p.max_level() {
            let want = p.scale_at(l) * p.scale_at(l) / p.q()[l] as f64;
            assert_eq!(p.scale_at(l - 1), want);
        }
    }

    #[test]
    fn each_run_of_prime_sizes_keeps_its_own_chain() {
        let p = Parameters::new_toy(&ParametersLiteral {
            log_q: [58].into_iter().chain([40; 3]).chain([55; 4]).collect(),
            ..presets::toy_n12()
        })
        .unwrap();
        let sizes: Vec<u32> = p.q().iter().map(|q| 64 - q.leading_zeros()).collect();
        assert_eq!(sizes, [58, 40, 40, 40, 55, 55, 55, 55]);
        for l in 0..=p.max_level() {
            let want = if l >= 4 { 55.0 } else { 40.0 };
            let drift = (p.scale_at(l).log2() - want).abs();
            assert!(drift < 2f64.powi(-10), "level {l}: scale 2^{}", p.scale_at(l).log2());
        }
        for l in 1..=p.max_level() {
            let chained = p.scale_at(l) * p.scale_at(l) / p.q()[l] as f64;
            // Level 3 starts the 40-bit run: 2^110 / 2^55 would be far off it.
            assert_eq!(p.scale_at(l - 1) == chained, l != 4, "level {l}");
        }
        let rebuilt = Parameters::from_rlwe(p.rlwe().clone(), p.log_default_scale()).unwrap();
        assert_eq!(rebuilt, p);
    }

    #[test]
    fn presets_validate_at_their_security() {
        for lit in [presets::n14(), presets::peer_n14(), presets::peer_n16()] {
            let p = Parameters::new(&lit).unwrap();
            assert!(matches!(p.security(), Security::Standard(_)), "{p}");
        }
        assert!(Parameters::new(&presets::toy_n12()).is_err());
        let toy = Parameters::new_toy(&presets::toy_n12()).unwrap();
        assert_eq!(toy.security(), Security::Toy);
        assert_eq!(toy.max_level(), 6);
    }

    #[test]
    fn bad_scales_are_refused() {
        for log in [0, 101] {
            let lit = ParametersLiteral {
                log_default_scale: log,
                ..presets::toy_n12()
            };
            assert!(Parameters::new_toy(&lit).is_err());
        }
        let lit = ParametersLiteral {
            log_q: vec![],
            ..presets::toy_n12()
        };
        assert!(Parameters::new_toy(&lit).is_err());
    }
}
