//! Word-sized prime modulus with precomputed reduction constants.
//!
//! All residues are `u64` values in `[0, q)` unless a function says otherwise. Moduli are odd
//! primes below 2^61, so sums of a few residues and the `[0, 3q)` intermediate values of the
//! reductions below never overflow a `u64`.

use crate::error::RingError;
use crate::primes::is_prime;

/// Largest supported modulus size in bits.
pub const MAX_MODULUS_BITS: u32 = 61;

/// An odd prime modulus `q < 2^61` with the constants of three reductions:
///
/// * sum Barrett (HAC 14.42 with a one-word quotient estimate): for `x < 2^(b+63)` with `b` the
///   bit size of `q`, `t = x >> (b - 1)` fits a word, and with `m = floor(2^(b+63) / q)` (below
///   `2^64` because `q > 2^(b-1)`) the estimate `floor(t m / 2^64)` is short of `floor(x / q)` by
///   at most 2, so `x - estimate * q` lies in `[0, 3q)`. The domain holds every product of two
///   residues and sums of [`Modulus::sum_capacity`] of them: one multiplication for the quotient
///   where a full 128-bit Barrett needs four;
/// * word Barrett: for any `x < 2^128`, `floor(x * floor(2^128 / q) / 2^128)` is short of
///   `floor(x / q)` by at most 1;
/// * Shoup multiplication by a fixed `w`: with `w' = floor(w * 2^64 / q)`,
///   `a * w - floor(a * w' / 2^64) * q` lies in `[0, 2q)` for every `a < 2^64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modulus {
    q: u64,
    bits: u32,
    /// `floor(2^(b+63) / q)`, below `2^64`.
    barrett_sum: u64,
    /// `floor(2^128 / q)`.
    barrett_wide: u128,
}

impl Modulus {
    /// Checks that `q` is an odd prime in `(2, 2^61)` and precomputes its constants.
    pub fn new(q: u64) -> Result<Self, RingError> {
        if !(3..1 << MAX_MODULUS_BITS).contains(&q) || !is_prime(q) {
            return Err(RingError::InvalidModulus(q));
        }
        let bits = 64 - q.leading_zeros();
        Ok(Self {
            q,
            bits,
            barrett_sum: ((1u128 << (bits + 63)) / q as u128) as u64,
            // floor(2^128 / q) == floor((2^128 - 1) / q) because q is odd and > 1.
            barrett_wide: u128::MAX / q as u128,
        })
    }

    /// The modulus `q`.
    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.q
    }

    /// Bit size of `q`.
    #[inline]
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `(a + b) mod q` for `a, b < q`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        let s = a + b;
        // When s < q the subtraction wraps to a huge value and `min` keeps s.
        s.min(s.wrapping_sub(self.q))
    }

    /// `(a - b) mod q` for `a, b < q`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        let d = a.wrapping_sub(b);
        d.min(d.wrapping_add(self.q))
    }

    /// `-a mod q` for `a < q`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        let d = self.q - a;
        d.min(d.wrapping_sub(self.q))
    }

    /// `x mod q` for any `x < 2^(b+63)`, by sum Barrett: a product of residues, or a sum of up
    /// to [`Modulus::sum_capacity`] products and one residue.
    #[inline(always)]
    pub fn reduce_sum(&self, x: u128) -> u64 {
        debug_assert!(x >> (self.bits + 63) == 0, "outside the sum Barrett domain");
        let t = (x >> (self.bits - 1)) as u64;
        let estimate = ((t as u128 * self.barrett_sum as u128) >> 64) as u64;
        let r = (x as u64).wrapping_sub(estimate.wrapping_mul(self.q));
        let r = r.min(r.wrapping_sub(self.q));
        r.min(r.wrapping_sub(self.q))
    }

    /// How many products of two residues, plus one residue, [`Modulus::reduce_sum`] can take in
    /// one sum: `floor((2^(b+63) - q) / (q - 1)^2)`, at least 4 (for 61-bit primes), capped at
    /// `u32::MAX`.
    pub fn sum_capacity(&self) -> usize {
        let square = (self.q as u128 - 1).pow(2);
        let room = (1u128 << (self.bits + 63)) - self.q as u128;
        (room / square).min(u32::MAX as u128) as usize
    }

    /// `a * b mod q` for `a, b < q`.
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_sum(a as u128 * b as u128)
    }

    /// `(a * b + c) mod q` for `a, b, c < q` with a single reduction.
    #[inline(always)]
    pub fn mul_add(&self, a: u64, b: u64, c: u64) -> u64 {
        self.reduce_sum(a as u128 * b as u128 + c as u128)
    }

    /// `x mod q` for any `x < 2^128`, by word Barrett.
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let (x0, x1) = (x as u64, (x >> 64) as u64);
        let (m0, m1) = (self.barrett_wide as u64, (self.barrett_wide >> 64) as u64);
        // Low word of floor(x * m / 2^128), computed from the four partial products.
        let p00_hi = (x0 as u128 * m0 as u128) >> 64;
        let p01 = x0 as u128 * m1 as u128;
        let p10 = x1 as u128 * m0 as u128;
        let carry = (p00_hi + (p01 as u64) as u128 + (p10 as u64) as u128) >> 64;
        let estimate = x1
            .wrapping_mul(m1)
            .wrapping_add((p01 >> 64) as u64)
            .wrapping_add((p10 >> 64) as u64)
            .wrapping_add(carry as u64);
        let r = x0.wrapping_sub(estimate.wrapping_mul(self.q));
        r.min(r.wrapping_sub(self.q))
    }

    /// `x mod q` for any `x < 2^64`.
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        self.reduce_sum(x as u128)
    }

    /// `v mod q` in `[0, q)` for a signed `v`.
    #[inline]
    pub fn reduce_i64(&self, v: i64) -> u64 {
        let r = self.reduce(v.unsigned_abs());
        if v < 0 { self.neg(r) } else { r }
    }

    /// Shoup constant `floor(w * 2^64 / q)` of a residue `w < q`.
    #[inline]
    pub fn shoup(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        (((w as u128) << 64) / self.q as u128) as u64
    }

    /// `a * w mod q` for any `a < 2^64`, given `w < q` and `w_shoup = self.shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let estimate = ((a as u128 * w_shoup as u128) >> 64) as u64;
        let r = a.wrapping_mul(w).wrapping_sub(estimate.wrapping_mul(self.q));
        r.min(r.wrapping_sub(self.q))
    }

    /// `a^e mod q` by square and multiply.
    pub fn pow(&self, a: u64, mut e: u64) -> u64 {
        let mut base = self.reduce(a);
        let mut acc = 1;
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// `a^(-1) mod q` (Fermat: `a^(q-2)`), or `None` when `a = 0 mod q`.
    pub fn inv(&self, a: u64) -> Option<u64> {
        let a = self.reduce(a);
        (a != 0).then(|| self.pow(a, self.q - 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    const PRIMES: [u64; 5] = [
        3,
        65537,
        (1 << 30) - 35,
        1125899906826241,    // 50-bit NTT prime
        2305843009213693951, // 2^61 - 1
    ];

    #[test]
    fn rejects_non_primes_and_oversized() {
        for q in [0, 1, 2, 4, 9, 65535, 1 << 40, (1 << 61) + 1] {
            assert!(Modulus::new(q).is_err(), "{q}");
        }
    }

    #[test]
    fn arithmetic_matches_u128_reference() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for &q in &PRIMES {
            let m = Modulus::new(q).unwrap();
            let big = q as u128;
            for _ in 0..2000 {
                let (a, b, c) = (rng.random_range(0..q), rng.random_range(0..q), rng.random_range(0..q));
                let x: u128 = rng.random();
                assert_eq!(m.add(a, b) as u128, (a as u128 + b as u128) % big);
                assert_eq!(m.sub(a, b) as u128, (a as u128 + big - b as u128) % big);
                assert_eq!(m.neg(a) as u128, (big - a as u128) % big);
                assert_eq!(m.mul(a, b) as u128, a as u128 * b as u128 % big);
                assert_eq!(m.mul_add(a, b, c) as u128, (a as u128 * b as u128 + c as u128) % big);
                assert_eq!(m.reduce_u128(x) as u128, x % big);
                assert_eq!(m.reduce_u128(u128::MAX) as u128, u128::MAX % big);
                let any: u64 = rng.random();
                assert_eq!(m.reduce(any) as u128, any as u128 % big);
                let any: u64 = rng.random();
                assert_eq!(m.mul_shoup(any, b, m.shoup(b)) as u128, any as u128 * b as u128 % big);
                let v: i64 = rng.random();
                assert_eq!(m.reduce_i64(v) as i128, (v as i128).rem_euclid(q as i128));
            }
            // Sums at the edge of the sum Barrett domain: the largest residues, capacity products.
            let cap = m.sum_capacity();
            assert!(cap >= 4, "{q}: capacity {cap}");
            let terms = cap.min(64) as u128;
            let edge = terms * (big - 1) * (big - 1) + big - 1;
            assert_eq!(m.reduce_sum(edge) as u128, edge % big);
            if cap < 64 {
                let full = cap as u128 * (big - 1) * (big - 1) + big - 1;
                assert!(full >> (m.bits() + 63) == 0 && (full + (big - 1) * (big - 1)) >> (m.bits() + 63) != 0);
            }
            for _ in 0..200 {
                let sum = (0..terms).fold(rng.random_range(0..big), |acc, _| {
                    acc + rng.random_range(0..big) * rng.random_range(0..big)
                });
                assert_eq!(m.reduce_sum(sum) as u128, sum % big);
            }
            for a in [1, 2, q - 1] {
                assert_eq!(m.mul(m.inv(a).unwrap(), a), 1);
            }
            assert_eq!(m.inv(0), None);
            assert_eq!(m.pow(5, q - 1), if q == 5 { 0 } else { 1 });
        }
    }
}
