//! RLWE parameters: a plain literal validated into an immutable value.
//!
//! [`ParametersLiteral`] is what a user writes: ring degree, the sizes (or
//! the values) of the ciphertext primes `Q = q_0 ... q_L` and of the special
//! primes `P = p_0 ... p_(k-1)` used by hybrid key switching, the secret
//! distribution and the error width. [`Parameters::new`] generates the
//! primes, builds the rings and refuses anything below 128-bit security by
//! the HomomorphicEncryption.org table; [`Parameters::new_toy`] accepts any
//! security and marks the result as toy, for tests and examples only.

use crate::keyswitch::MAX_DIGITS;
use crate::security::{SecurityLevel, level_of, max_log_qp};
use blindtuner_ring::{RingError, RnsBasis, ntt_primes};
use std::fmt;
use std::sync::Arc;

/// Standard deviation of the RLWE error, as the standard assumes.
pub const DEFAULT_ERROR_STD: f64 = 3.2;

/// How the secret key's coefficients are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretDistribution {
    /// Uniform in {-1, 0, 1}: the distribution the security table assumes.
    Ternary,
    /// Exactly `hamming_weight` nonzero coefficients, each +-1 (toy sets only).
    SparseTernary { hamming_weight: usize },
}

/// A list of primes given by bit size (generated deterministically: the
/// largest NTT-friendly primes of each size) or by value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Moduli {
    Bits(Vec<u32>),
    Primes(Vec<u64>),
}

/// What a user writes; nothing is checked until [`Parameters::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParametersLiteral {
    pub log_n: u32,
    /// Ciphertext primes, `q_0` first (rescaling removes the last one).
    pub q: Moduli,
    /// Special primes of hybrid key switching.
    pub p: Moduli,
    pub secret: SecretDistribution,
    pub error_std: f64,
    /// Key-switching digits (`dnum`): `Q` is split into `digits` groups of
    /// `ceil(#Q / digits)` consecutive primes. `None` makes each digit `#P`
    /// primes, so `digits = ceil(#Q / #P)`. Either way `P` must cover the
    /// largest digit (see [`Parameters::new`]).
    pub digits: Option<usize>,
}

/// The security a validated parameter set reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Meets this level of the HomomorphicEncryption.org table.
    Standard(SecurityLevel),
    /// Built with [`Parameters::new_toy`]: not secure, for tests only.
    Toy,
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Standard(l) => write!(f, "{l}"),
            Security::Toy => write!(f, "toy (insecure)"),
        }
    }
}

/// Why a literal does not make a parameter set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParameterError {
    #[error(transparent)]
    Ring(#[from] RingError),
    #[error(
        "log2(QP) = {log_qp:.1} bits exceeds {max} bits, the 128-bit bound of the HomomorphicEncryption.org table for N = 2^{log_n}; use fewer or smaller primes, or Parameters::new_toy for tests"
    )]
    Insecure { log_n: u32, log_qp: f64, max: u32 },
    #[error(
        "N = 2^{0} has no 128-bit bound in the HomomorphicEncryption.org table; only Parameters::new_toy accepts it"
    )]
    NoStandardBound(u32),
    #[error(
        "a sparse secret (Hamming weight {0}) is outside the assumptions of the security table; only Parameters::new_toy accepts it"
    )]
    SparseSecret(usize),
    #[error("{0}")]
    Invalid(String),
}

/// A validated, immutable RLWE parameter set with its rings.
#[derive(Debug, Clone)]
pub struct Parameters {
    log_n: u32,
    q: Vec<u64>,
    p: Vec<u64>,
    secret: SecretDistribution,
    error_std: f64,
    /// Primes per key-switching digit.
    digit_size: usize,
    security: Security,
    ring_q: Arc<RnsBasis>,
    ring_p: Arc<RnsBasis>,
    fingerprint: u64,
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
            && self.log_n == other.log_n
            && self.q == other.q
            && self.p == other.p
            && self.secret == other.secret
            && self.error_std == other.error_std
            && self.digit_size == other.digit_size
    }
}

impl Parameters {
    /// Validates `lit` and refuses it below 128-bit security.
    pub fn new(lit: &ParametersLiteral) -> Result<Parameters, ParameterError> {
        if let SecretDistribution::SparseTernary { hamming_weight } = lit.secret {
            return Err(ParameterError::SparseSecret(hamming_weight));
        }
        let mut params = Self::build(lit)?;
        let log_qp = params.log_qp();
        let max = max_log_qp(lit.log_n, SecurityLevel::Bits128).ok_or(ParameterError::NoStandardBound(lit.log_n))?;
        let level = level_of(lit.log_n, log_qp).ok_or(ParameterError::Insecure {
            log_n: lit.log_n,
            log_qp,
            max,
        })?;
        params.security = Security::Standard(level);
        Ok(params)
    }

    /// Validates `lit` without any security requirement. The result reports
    /// [`Security::Toy`]: for tests and examples, never for data.
    pub fn new_toy(lit: &ParametersLiteral) -> Result<Parameters, ParameterError> {
        Self::build(lit)
    }

    /// The set over the first `q_primes` primes of `Q` and the first `p_primes` of `P`, with
    /// secrets of distribution `secret` and one key-switching digit per `p_primes` primes: the
    /// small ring where bootstrapping switches to its sparse ephemeral secret. The table does
    /// not cover sparse secrets, so the result reports [`Security::Toy`]; its user states the
    /// security argument.
    pub fn restricted(
        &self,
        q_primes: usize,
        p_primes: usize,
        secret: SecretDistribution,
    ) -> Result<Parameters, ParameterError> {
        if !(1..=self.q.len()).contains(&q_primes) || !(1..=self.p.len()).contains(&p_primes) {
            return Err(ParameterError::Invalid(format!(
                "a restriction to {q_primes} + {p_primes} primes of a set with {} + {}",
                self.q.len(),
                self.p.len()
            )));
        }
        Self::build(&ParametersLiteral {
            log_n: self.log_n,
            q: Moduli::Primes(self.q[..q_primes].to_vec()),
            p: Moduli::Primes(self.p[..p_primes].to_vec()),
            secret,
            error_std: self.error_std,
            digits: None,
        })
    }

    fn build(lit: &ParametersLiteral) -> Result<Parameters, ParameterError> {
        let n = 1usize
            .checked_shl(lit.log_n)
            .filter(|_| lit.log_n < 32)
            .ok_or_else(|| ParameterError::Invalid(format!("log N = {} is out of range", lit.log_n)))?;
        if !(lit.error_std.is_finite() && lit.error_std > 0.0) {
            return Err(ParameterError::Invalid(format!(
                "error standard deviation {} must be positive",
                lit.error_std
            )));
        }
        if let SecretDistribution::SparseTernary { hamming_weight } = lit.secret
            && (hamming_weight == 0 || hamming_weight > n)
        {
            return Err(ParameterError::Invalid(format!(
                "Hamming weight {hamming_weight} must be between 1 and N = {n}"
            )));
        }
        let q = resolve(&lit.q, n, &[])?;
        let p = resolve(&lit.p, n, &q)?;
        if q.is_empty() || p.is_empty() {
            return Err(ParameterError::Invalid(
                "at least one ciphertext prime and one special prime are needed".into(),
            ));
        }
        if let Some(dup) = p.iter().find(|x| q.contains(x)) {
            return Err(RingError::DuplicatePrime(*dup).into());
        }
        let digit_size = match lit.digits {
            None => p.len(),
            Some(d) if (1..=q.len()).contains(&d) => q.len().div_ceil(d),
            Some(d) => {
                return Err(ParameterError::Invalid(format!(
                    "{d} key-switching digits for {} ciphertext primes: between 1 and {} are possible",
                    q.len(),
                    q.len()
                )));
            }
        };
        let digits = q.len().div_ceil(digit_size);
        if digits > MAX_DIGITS {
            return Err(ParameterError::Invalid(format!(
                "{} ciphertext primes in digits of {digit_size} make {digits} key-switching digits; at most {MAX_DIGITS} are supported, use larger digits",
                q.len(),
            )));
        }
        // Switching divides by P what the digits bring in: a P smaller than a digit multiplies
        // the key-switching noise by their ratio (one bit of slack for primes of one size).
        let bits = |x: &[u64]| x.iter().map(|&v| (v as f64).log2()).sum::<f64>();
        let log_p = bits(&p);
        let largest = q.chunks(digit_size).map(bits).fold(0.0, f64::max);
        if log_p + 1.0 < largest {
            return Err(ParameterError::Invalid(format!(
                "the special primes ({log_p:.1} bits) do not cover the largest key-switching digit ({largest:.1} bits): key switching would add about 2^{:.0} times its noise; add special primes or digits",
                largest - log_p
            )));
        }
        let ring_q = Arc::new(RnsBasis::new(n, &q)?);
        let ring_p = Arc::new(RnsBasis::new(n, &p)?);
        let fingerprint = fingerprint(lit.log_n, &q, &p, lit.secret, lit.error_std, digit_size);
        Ok(Parameters {
            log_n: lit.log_n,
            q,
            p,
            secret: lit.secret,
            error_std: lit.error_std,
            digit_size,
            security: Security::Toy,
            ring_q,
            ring_p,
            fingerprint,
        })
    }

    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    pub fn n(&self) -> usize {
        1 << self.log_n
    }

    /// Ciphertext primes, `q_0` first.
    pub fn q(&self) -> &[u64] {
        &self.q
    }

    /// Special primes.
    pub fn p(&self) -> &[u64] {
        &self.p
    }

    /// The highest level: a fresh ciphertext has `max_level() + 1` limbs.
    pub fn max_level(&self) -> usize {
        self.q.len() - 1
    }

    /// Key-switching digits: `ceil(#Q / digit_size)`.
    pub fn digits(&self) -> usize {
        self.q.len().div_ceil(self.digit_size)
    }

    /// Primes of `Q` per key-switching digit (the last digit may have fewer).
    pub fn digit_size(&self) -> usize {
        self.digit_size
    }

    pub fn secret(&self) -> SecretDistribution {
        self.secret
    }

    pub fn error_std(&self) -> f64 {
        self.error_std
    }

    pub fn security(&self) -> Security {
        self.security
    }

    /// `log2(Q P)`, the figure the security table bounds.
    pub fn log_qp(&self) -> f64 {
        self.q.iter().chain(&self.p).map(|&x| (x as f64).log2()).sum()
    }

    pub fn ring_q(&self) -> &Arc<RnsBasis> {
        &self.ring_q
    }

    pub fn ring_p(&self) -> &Arc<RnsBasis> {
        &self.ring_p
    }

    /// A 64-bit digest of everything that defines the set (FNV-1a over a
    /// canonical encoding): serialised keys and ciphertexts carry it, so data
    /// from another parameter set is refused on load. An identity check, not
    /// a cryptographic commitment.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

fn resolve(moduli: &Moduli, n: usize, exclude: &[u64]) -> Result<Vec<u64>, ParameterError> {
    match moduli {
        Moduli::Primes(p) => Ok(p.clone()),
        Moduli::Bits(bits) => {
            // One prime at a time, excluding every prime already chosen, so
            // Q and P are distinct and keep the order the sizes were listed in.
            let mut out = Vec::with_capacity(bits.len());
            let mut used: Vec<u64> = exclude.to_vec();
            for &b in bits {
                let p = ntt_primes(b, n, 1, &used)?[0];
                used.push(p);
                out.push(p);
            }
            Ok(out)
        }
    }
}

fn fingerprint(log_n: u32, q: &[u64], p: &[u64], secret: SecretDistribution, error_std: f64, digit_size: usize) -> u64 {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"blindtuner-rlwe-params-v1");
    bytes.extend_from_slice(&log_n.to_le_bytes());
    for list in [q, p] {
        bytes.extend_from_slice(&(list.len() as u64).to_le_bytes());
        list.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    }
    let h = match secret {
        SecretDistribution::Ternary => u64::MAX,
        SecretDistribution::SparseTernary { hamming_weight } => hamming_weight as u64,
    };
    bytes.extend_from_slice(&h.to_le_bytes());
    bytes.extend_from_slice(&error_std.to_bits().to_le_bytes());
    bytes.extend_from_slice(&(digit_size as u64).to_le_bytes());
    fnv1a(&bytes)
}

/// FNV-1a, 64 bits: the digest of fingerprints and of the wire format's checksum. Public so
/// that other backends framing their data the same way fingerprint their parameter sets with it.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(log_n: u32, q: Vec<u32>, p: Vec<u32>) -> ParametersLiteral {
        ParametersLiteral {
            log_n,
            q: Moduli::Bits(q),
            p: Moduli::Bits(p),
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: None,
        }
    }

    #[test]
    fn a_128_bit_set_validates_with_distinct_ntt_friendly_primes() {
        // N = 2^14: 438 bits allowed.
        let p = Parameters::new(&lit(14, vec![60, 40, 40, 40, 40, 40], vec![60, 60])).unwrap();
        assert_eq!(p.security(), Security::Standard(SecurityLevel::Bits128));
        assert_eq!((p.q().len(), p.p().len(), p.max_level(), p.digits()), (6, 2, 5, 3));
        let all: Vec<u64> = p.q().iter().chain(p.p()).copied().collect();
        for (i, x) in all.iter().enumerate() {
            assert_eq!(x % (2 << 14), 1);
            assert!(!all[..i].contains(x));
        }
        assert_eq!(p.q()[1] >> 39, 1, "40-bit prime");
        assert!(p.log_qp() < 438.0);
    }

    #[test]
    fn insecure_sets_are_refused_unless_toy() {
        let l = lit(12, vec![60, 40, 40], vec![60]);
        let e = Parameters::new(&l).unwrap_err();
        assert!(matches!(e, ParameterError::Insecure { max: 109, .. }), "{e}");
        assert_eq!(Parameters::new_toy(&l).unwrap().security(), Security::Toy);

        let mut sparse = lit(14, vec![50], vec![50]);
        sparse.secret = SecretDistribution::SparseTernary { hamming_weight: 64 };
        assert_eq!(Parameters::new(&sparse).unwrap_err(), ParameterError::SparseSecret(64));
        assert!(Parameters::new_toy(&sparse).is_ok());

        assert_eq!(
            Parameters::new(&lit(17, vec![50], vec![50])).unwrap_err(),
            ParameterError::NoStandardBound(17)
        );
    }

    #[test]
    fn higher_levels_are_reported() {
        let p = Parameters::new(&lit(14, vec![50, 50, 50], vec![50])).unwrap();
        assert_eq!(p.security(), Security::Standard(SecurityLevel::Bits256));
    }

    #[test]
    fn malformed_literals_are_errors_not_panics() {
        assert!(matches!(
            Parameters::new_toy(&lit(3, vec![30], vec![30])),
            Err(ParameterError::Ring(RingError::InvalidDegree { .. }))
        ));
        assert!(Parameters::new_toy(&lit(64, vec![30], vec![30])).is_err());
        assert!(Parameters::new_toy(&lit(12, vec![], vec![30])).is_err());
        assert!(Parameters::new_toy(&lit(12, vec![30], vec![])).is_err());
        assert!(Parameters::new_toy(&lit(12, vec![70], vec![30])).is_err());
        let mut l = lit(12, vec![30], vec![30]);
        l.error_std = -1.0;
        assert!(Parameters::new_toy(&l).is_err());
        l = lit(12, vec![30], vec![30]);
        l.secret = SecretDistribution::SparseTernary { hamming_weight: 0 };
        assert!(Parameters::new_toy(&l).is_err());
        // Explicit primes: not prime, not NTT-friendly, shared between Q and P.
        let good = Parameters::new_toy(&lit(12, vec![40], vec![40])).unwrap();
        for (q, p) in [
            (vec![good.q()[0] + 2], vec![good.p()[0]]),
            (vec![1_000_003], vec![good.p()[0]]),
            (vec![good.q()[0]], vec![good.q()[0]]),
        ] {
            let l = ParametersLiteral {
                q: Moduli::Primes(q),
                p: Moduli::Primes(p),
                ..lit(12, vec![], vec![])
            };
            assert!(Parameters::new_toy(&l).is_err(), "{l:?}");
        }
    }

    #[test]
    fn digits_are_configurable_and_must_be_covered_by_p() {
        let mut l = lit(14, vec![60, 40, 40, 40, 40, 40], vec![50, 50, 50]);
        assert_eq!(Parameters::new(&l).unwrap().digits(), 2);
        l.digits = Some(3);
        let p = Parameters::new(&l).unwrap();
        assert_eq!((p.digits(), p.digit_size()), (3, 2));
        for bad in [0, 7] {
            l.digits = Some(bad);
            assert!(Parameters::new_toy(&l).is_err());
        }
        // Two 50-bit special primes for a 140-bit digit: 40 bits of extra noise.
        let uncovered = lit(14, vec![60, 40, 40, 40, 40, 40], vec![50, 50]);
        let e = Parameters::new_toy(&ParametersLiteral {
            digits: Some(2),
            ..uncovered
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("do not cover the largest key-switching digit"),
            "{e}"
        );
    }

    #[test]
    fn fingerprints_identify_sets() {
        let a = Parameters::new_toy(&lit(12, vec![40, 30], vec![40])).unwrap();
        let b = Parameters::new_toy(&lit(12, vec![40, 30], vec![40])).unwrap();
        let c = Parameters::new_toy(&lit(12, vec![40, 31], vec![40])).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a, b);
        assert_ne!(a.fingerprint(), c.fingerprint());
        let mut sparse = lit(12, vec![40, 30], vec![40]);
        sparse.secret = SecretDistribution::SparseTernary { hamming_weight: 32 };
        assert_ne!(Parameters::new_toy(&sparse).unwrap().fingerprint(), a.fingerprint());
    }
}
