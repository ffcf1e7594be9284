//! Samplers of secret, error and uniform polynomials from a ChaCha20 stream.
//!
//! Small distributions are sampled once per coefficient into limb 0 and then copied to the other
//! limbs, a value `v < 0` becoming `q_i - |v|` in limb `i`.

use rand::rngs::OsRng;
use rand::{Rng, RngCore, SeedableRng, TryRngCore};
use rand_chacha::ChaCha20Rng;

use crate::basis::RnsBasis;
use crate::error::RingError;
use crate::modulus::Modulus;
use crate::poly::{Form, RnsPoly};

/// Standard deviation of the RLWE error used by CKKS parameter sets.
pub const DEFAULT_SIGMA: f64 = 3.2;

/// Discrete Gaussian `D_sigma` on the integers, tail-cut at `|x| <= floor(6 sigma)`.
///
/// Sampled by inversion of a cumulative distribution table (CDT) of `|x|`: with
/// `rho(x) = exp(-x^2 / (2 sigma^2))` and `S = rho(0) + 2 sum_(x=1..B) rho(x)`, entry `k` holds
/// `floor(2^64 P(|x| <= k))` for `P(|x| = 0) = rho(0) / S` and `P(|x| = k) = 2 rho(k) / S`. A
/// uniform 64-bit word `u` gives `|x| = #{k : u >= CDT[k]}`, counted over the whole table so that
/// the time does not depend on the sample, and a separate random bit gives the sign. The
/// probabilities are rounded to `f64` precision (about `2^-53`).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteGaussian {
    sigma: f64,
    bound: u32,
    cdt: Vec<u64>,
}

impl DiscreteGaussian {
    /// The table for standard deviation `sigma` (finite, in `(0, 2^20]`).
    pub fn new(sigma: f64) -> Result<Self, RingError> {
        if !(sigma.is_finite() && sigma > 0.0 && sigma <= (1u64 << 20) as f64) {
            return Err(RingError::InvalidSigma(sigma));
        }
        let bound = (6.0 * sigma).floor() as u32;
        let rho = |x: u32| (-(x as f64).powi(2) / (2.0 * sigma * sigma)).exp();
        let total: f64 = 1.0 + 2.0 * (1..=bound).map(rho).sum::<f64>();
        let mut cumulative = 0.0;
        let cdt = (0..bound)
            .map(|k| {
                cumulative += if k == 0 { 1.0 } else { 2.0 * rho(k) } / total;
                // Saturates at u64::MAX for probabilities that round to 1.
                (cumulative * 2f64.powi(64)) as u64
            })
            .collect();
        Ok(Self { sigma, bound, cdt })
    }

    /// The standard deviation.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The tail cut `B`: samples lie in `[-B, B]`.
    pub fn bound(&self) -> u32 {
        self.bound
    }

    fn sample(&self, rng: &mut ChaCha20Rng) -> i64 {
        let u = rng.next_u64();
        let magnitude: i64 = self.cdt.iter().map(|&c| (u >= c) as i64).sum();
        let sign = (rng.next_u32() & 1) as i64;
        magnitude * (1 - 2 * sign)
    }
}

/// Polynomial sampler over a cryptographic RNG (ChaCha20).
#[derive(Debug, Clone)]
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl Sampler {
    /// A sampler seeded from the operating system.
    pub fn from_os() -> Result<Self, RingError> {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| RingError::Entropy(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// A reproducible sampler (for tests and for expanding public seeds).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// Fills every active limb of `a` with independent uniform residues mod `q_i` (by rejection
    /// of `bits(q_i)`-bit words `>= q_i`), i.e. a uniform element of `Z_(Q_l)[X] / (X^N + 1)` by
    /// the CRT. Uniform in either form, so `a`'s form is kept.
    pub fn uniform(&mut self, basis: &RnsBasis, a: &mut RnsPoly) {
        check(basis, a);
        let n = basis.n();
        for (limb, q) in a.data_mut().chunks_exact_mut(n).zip(basis.moduli()) {
            let mask = u64::MAX >> (64 - q.bits());
            for x in limb {
                *x = loop {
                    let v = self.rng.next_u64() & mask;
                    if v < q.value() {
                        break v;
                    }
                };
            }
        }
    }

    /// Uniform ternary coefficients in `{-1, 0, 1}`, each with probability 1/3 (two-bit chunks
    /// of the stream, the value 3 rejected); `a` becomes coefficient form.
    pub fn ternary(&mut self, basis: &RnsBasis, a: &mut RnsPoly) {
        check(basis, a);
        let q0 = basis.moduli()[0].value();
        let mut bits = 0u64;
        let mut left = 0;
        for x in a.limb_mut(0) {
            let t = loop {
                if left == 0 {
                    bits = self.rng.next_u64();
                    left = 32;
                }
                let t = bits & 3;
                bits >>= 2;
                left -= 1;
                if t < 3 {
                    break t;
                }
            };
            // 0, 1, 2 -> 0, 1, -1.
            *x = [0, 1, q0 - 1][t as usize];
        }
        spread_small(basis, a);
    }

    /// Ternary coefficients with exactly `h` nonzero entries (`h <= N`), at uniformly random
    /// positions (Floyd's subset sampling) with uniform signs; `a` becomes coefficient form.
    pub fn sparse_ternary(&mut self, basis: &RnsBasis, h: usize, a: &mut RnsPoly) {
        check(basis, a);
        let n = basis.n();
        assert!(h <= n, "Hamming weight {h} exceeds the degree {n}");
        let q0 = basis.moduli()[0].value();
        let limb = a.limb_mut(0);
        limb.fill(0);
        // Floyd: for j = N-h .. N-1 pick t in [0, j]; take j instead if t is already taken. Every
        // h-subset comes out with the same probability.
        for j in n - h..n {
            let t = self.rng.random_range(0..=j);
            let pos = if limb[t] != 0 { j } else { t };
            limb[pos] = if self.rng.next_u32() & 1 == 0 { 1 } else { q0 - 1 };
        }
        spread_small(basis, a);
    }

    /// Discrete Gaussian coefficients from `dist`; `a` becomes coefficient form.
    pub fn gaussian(&mut self, basis: &RnsBasis, dist: &DiscreteGaussian, a: &mut RnsPoly) {
        check(basis, a);
        let q0 = &basis.moduli()[0];
        for x in a.limb_mut(0) {
            *x = q0.reduce_i64(dist.sample(&mut self.rng));
        }
        spread_small(basis, a);
    }
}

fn check(basis: &RnsBasis, a: &RnsPoly) {
    assert_eq!(a.n(), basis.n(), "polynomial degree differs from the basis degree");
    assert!(a.limbs() <= basis.moduli().len(), "more limbs than primes");
}

/// Copies the small signed values of limb 0 (`v` or `q_0 - |v|`) to the other limbs, and marks
/// `a` as coefficient form.
fn spread_small(basis: &RnsBasis, a: &mut RnsPoly) {
    let n = basis.n();
    let q0 = basis.moduli()[0];
    let (first, rest) = a.data_mut().split_at_mut(n);
    for (limb, q) in rest.chunks_exact_mut(n).zip(&basis.moduli()[1..]) {
        lift_centered_limb(&q0, first, q, limb);
    }
    a.set_form(Form::Coefficient);
}

/// `out[k] = v_k mod q` for the centered values `v_k` of `src` mod `q0`.
fn lift_centered_limb(q0: &Modulus, src: &[u64], q: &Modulus, out: &mut [u64]) {
    let (q0, half) = (q0.value(), q0.value() / 2);
    for (x, &v) in out.iter_mut().zip(src) {
        *x = if v <= half {
            q.reduce(v)
        } else {
            q.neg(q.reduce(q0 - v))
        };
    }
}

impl RnsBasis {
    /// Writes into every limb of `out` (coefficient form) the coefficients of `a`'s limb 0 read
    /// as centered residues mod `a_q0`, the prime of that limb: carries a polynomial with small
    /// coefficients (a secret, an error) from the basis it was sampled in to this one.
    pub fn lift_centered(&self, a: &RnsPoly, a_q0: &Modulus, out: &mut RnsPoly) {
        assert_eq!(a.form(), Form::Coefficient, "lifting needs the coefficient form");
        check(self, out);
        let src = a.limb(0);
        for (limb, q) in out.data_mut().chunks_exact_mut(self.n()).zip(self.moduli()) {
            lift_centered_limb(a_q0, src, q, limb);
        }
        out.set_form(Form::Coefficient);
    }
}
