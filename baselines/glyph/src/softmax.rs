//! The softmax on TFHE, in the fixed-point arithmetic of the `tfhe` backend.
//!
//! The logits of `c` classes arrive as `c` ciphertexts, ciphertext `j` holding class `j` of one
//! sample per slot, so every step below is slot-wise and no rotation is needed. Per sample:
//!
//! 1. `m = max_j z_j`: `c - 1` comparisons (TFHE's native `max`);
//! 2. `d_j = max(z_j - m, -R)` with `R = 16`: `c` subtractions and `c` comparisons with a
//!    constant. `d_j <= 0`, and the clamp keeps the polynomial below in its domain (`e^-16` is
//!    1.1e-7, under the fixed point's resolution of 2^-16 = 1.5e-5, so nothing is lost);
//! 3. `e_j = exp(d_j) = p(d_j / 2^k)^(2^k)`, `k = 4`, `p(u) = 1 + u + u^2 / 2 + u^3 / 6` by
//!    Horner's rule on `u` in `[-1, 0]`: per value 2 products by constants, 2 products, 3
//!    additions of constants, then `k` squarings. `p(0) = 1` exactly, so the maximum's
//!    exponential is 1 and the row sum `s = Σ e_j` lies in `[1, c]`; the worst absolute error
//!    of the exponential, near `d = -3`, is about 5e-5 before rounding;
//! 4. `1 / s` by Newton's iteration `y <- y (2 - s y)` from the best linear start on `[1, c]`,
//!    `y0 = b (1 + c) - b s` with `b = 8 / (c^2 + 6 c + 1)`, whose relative error
//!    `|1 - s y0|` is at most `E = (c - 1)^2 / (c^2 + 6 c + 1)` (the minimax line of `1 / s`:
//!    its error equioscillates at `1`, `(1 + c) / 2` and `c`); each iteration squares the
//!    error, so `n` iterations with `E^(2^n) <= 2^-16` reach the fixed point's resolution
//!    (2 for two classes, 5 for ten). Per iteration 2 products, a negation and an addition of a
//!    constant; the start costs a product by a constant and an addition of a constant;
//! 5. `P_j = e_j y`: `c` products, and `c - 1` additions for the sum before.
//!
//! A look-up table would evaluate the exponential in one programmable bootstrap on a few-bit
//! integer; on 32-bit fixed point (the precision the gradient needs) tfhe-rs has no such table,
//! so the polynomial is the honest choice here. [`TfheSoftmax::ops_per_sample`] is the exact
//! count of the above, and [`TfheSoftmax::apply`] counts what it does, slot by slot.

use std::ops::{Add, Mul};

use blindtuner_backend::BackendError;
use serde::{Deserialize, Serialize};

use crate::GlyphError;
use crate::compare::Comparisons;

/// The clamp `R`: differences to the row maximum below `-R` are raised to `-R`.
pub const CLAMP: f64 = 16.0;
/// `k`: the exponential's argument is divided by `2^k` and the result squared `k` times.
pub const HALVINGS: u32 = 4;
/// The relative error Newton's iteration stops at: Q16.16's resolution.
const NEWTON_TARGET_BITS: f64 = 16.0;

/// TFHE operations on single values (one encrypted integer each), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TfheOps {
    /// Comparisons of two ciphertexts (`max`).
    pub max: u64,
    /// Comparisons with a public constant (`max` against it).
    pub max_scalar: u64,
    /// Additions and subtractions of two ciphertexts.
    pub add: u64,
    pub neg: u64,
    /// Additions of public constants.
    pub add_scalar: u64,
    /// Products of two ciphertexts (fixed point: widen, multiply, shift).
    pub mul: u64,
    /// Products by public constants.
    pub mul_scalar: u64,
}

impl Add for TfheOps {
    type Output = TfheOps;

    fn add(self, o: TfheOps) -> TfheOps {
        TfheOps {
            max: self.max + o.max,
            max_scalar: self.max_scalar + o.max_scalar,
            add: self.add + o.add,
            neg: self.neg + o.neg,
            add_scalar: self.add_scalar + o.add_scalar,
            mul: self.mul + o.mul,
            mul_scalar: self.mul_scalar + o.mul_scalar,
        }
    }
}

impl Mul<u64> for TfheOps {
    type Output = TfheOps;

    /// The operations of `n` times the work.
    fn mul(self, n: u64) -> TfheOps {
        TfheOps {
            max: self.max * n,
            max_scalar: self.max_scalar * n,
            add: self.add * n,
            neg: self.neg * n,
            add_scalar: self.add_scalar * n,
            mul: self.mul * n,
            mul_scalar: self.mul_scalar * n,
        }
    }
}

/// The softmax circuit for a number of classes (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TfheSoftmax {
    classes: usize,
    newton: usize,
    /// `b` of the start `y0 = b (1 + c) - b s`.
    slope: f64,
}

impl TfheSoftmax {
    /// The circuit for `classes` (at least 2) classes.
    pub fn new(classes: usize) -> Result<TfheSoftmax, GlyphError> {
        if classes < 2 {
            return Err(GlyphError::Shape(format!(
                "a softmax needs at least 2 classes, not {classes}"
            )));
        }
        let c = classes as f64;
        let start_error = (c - 1.0).powi(2) / (c * c + 6.0 * c + 1.0);
        // The smallest n with start_error^(2^n) <= 2^-NEWTON_TARGET_BITS.
        let doublings = NEWTON_TARGET_BITS / -start_error.log2();
        let newton = doublings.log2().ceil().max(0.0) as usize;
        Ok(TfheSoftmax {
            classes,
            newton,
            slope: 8.0 / (c * c + 6.0 * c + 1.0),
        })
    }

    /// Newton iterations of the inverse.
    pub fn newton_iterations(&self) -> usize {
        self.newton
    }

    /// The operations of one sample's softmax, in closed form (see the module documentation).
    pub fn ops_per_sample(&self) -> TfheOps {
        let (c, k, n) = (self.classes as u64, HALVINGS as u64, self.newton as u64);
        TfheOps {
            max: c - 1,
            max_scalar: c,
            add: c + (c - 1),
            neg: n,
            add_scalar: 3 * c + 1 + n,
            mul: c * (2 + k) + 2 * n + c,
            mul_scalar: 2 * c + 1,
        }
    }

    /// The softmax of the logits `z` (one ciphertext per class, one sample per slot): the
    /// probabilities in the same layout, and the operations performed, counted per slot (a
    /// ciphertext of `s` slots computes `s` values).
    pub fn apply<T: Comparisons>(
        &self,
        cloud: &T,
        z: &[T::Ciphertext],
    ) -> Result<(Vec<T::Ciphertext>, TfheOps), GlyphError> {
        if z.len() != self.classes {
            return Err(GlyphError::Shape(format!(
                "the softmax of {} classes got {} class ciphertexts",
                self.classes,
                z.len()
            )));
        }
        let mut ops = Counted {
            cloud,
            slots: cloud.capabilities().slots as u64,
            ops: TfheOps::default(),
        };
        // At least two classes (checked by `new`).
        let mut m = ops.max(&z[0], &z[1])?;
        for zj in &z[2..] {
            m = ops.max(&m, zj)?;
        }
        let c = self.classes as f64;
        let inverse_halvings = (-(HALVINGS as f64)).exp2();
        let e = z
            .iter()
            .map(|zj| {
                let d = ops.sub(zj, &m)?;
                let d = ops.max_scalar(&d, -CLAMP)?;
                let u = ops.mul_scalar(&d, inverse_halvings)?;
                let t = ops.mul_scalar(&u, 1.0 / 6.0)?;
                let t = ops.add_scalar(&t, 0.5)?;
                let t = ops.mul(&t, &u)?;
                let t = ops.add_scalar(&t, 1.0)?;
                let t = ops.mul(&t, &u)?;
                let mut t = ops.add_scalar(&t, 1.0)?;
                for _ in 0..HALVINGS {
                    t = ops.mul(&t, &t)?;
                }
                Ok(t)
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        let mut s = ops.add(&e[0], &e[1])?;
        for ej in &e[2..] {
            s = ops.add(&s, ej)?;
        }
        let y = ops.mul_scalar(&s, -self.slope)?;
        let mut y = ops.add_scalar(&y, self.slope * (1.0 + c))?;
        for _ in 0..self.newton {
            let sy = ops.mul(&s, &y)?;
            let t = ops.neg(&sy)?;
            let t = ops.add_scalar(&t, 2.0)?;
            y = ops.mul(&y, &t)?;
        }
        let p = e
            .iter()
            .map(|ej| ops.mul(ej, &y))
            .collect::<Result<Vec<_>, BackendError>>()?;
        Ok((p, ops.ops))
    }

    /// The same circuit on one sample's logits in f64: what [`Self::apply`] computes but for
    /// the fixed point's rounding.
    pub fn reference(&self, z: &[f64]) -> Vec<f64> {
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z
            .iter()
            .map(|zj| {
                let u = (zj - m).max(-CLAMP) * (-(HALVINGS as f64)).exp2();
                let mut t = ((u / 6.0 + 0.5) * u + 1.0) * u + 1.0;
                for _ in 0..HALVINGS {
                    t *= t;
                }
                t
            })
            .collect();
        let s: f64 = e.iter().sum();
        let mut y = self.slope * (1.0 + self.classes as f64) - self.slope * s;
        for _ in 0..self.newton {
            y *= 2.0 - s * y;
        }
        e.iter().map(|ej| ej * y).collect()
    }
}

/// The cloud's operations, each counted once per slot.
struct Counted<'a, T> {
    cloud: &'a T,
    slots: u64,
    ops: TfheOps,
}

impl<T: Comparisons> Counted<'_, T> {
    fn max(&mut self, a: &T::Ciphertext, b: &T::Ciphertext) -> Result<T::Ciphertext, BackendError> {
        self.ops.max += self.slots;
        self.cloud.max(a, b)
    }

    fn max_scalar(&mut self, a: &T::Ciphertext, c: f64) -> Result<T::Ciphertext, BackendError> {
        self.ops.max_scalar += self.slots;
        self.cloud.max_scalar(a, c)
    }

    fn add(&mut self, a: &T::Ciphertext, b: &T::Ciphertext) -> Result<T::Ciphertext, BackendError> {
        self.ops.add += self.slots;
        self.cloud.add(a, b)
    }

    fn sub(&mut self, a: &T::Ciphertext, b: &T::Ciphertext) -> Result<T::Ciphertext, BackendError> {
        self.ops.add += self.slots;
        self.cloud.sub(a, b)
    }

    fn neg(&mut self, a: &T::Ciphertext) -> Result<T::Ciphertext, BackendError> {
        self.ops.neg += self.slots;
        self.cloud.neg(a)
    }

    fn add_scalar(&mut self, a: &T::Ciphertext, c: f64) -> Result<T::Ciphertext, BackendError> {
        self.ops.add_scalar += self.slots;
        self.cloud.add_scalar(a, c)
    }

    fn mul(&mut self, a: &T::Ciphertext, b: &T::Ciphertext) -> Result<T::Ciphertext, BackendError> {
        self.ops.mul += self.slots;
        self.cloud.mul(a, b)
    }

    fn mul_scalar(&mut self, a: &T::Ciphertext, c: f64) -> Result<T::Ciphertext, BackendError> {
        self.ops.mul_scalar += self.slots;
        self.cloud.mul_scalar(a, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blindtuner_backend::plain::PlainBackend;
    use blindtuner_backend::{Backend, Client};

    fn exact(z: &[f64]) -> Vec<f64> {
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }

    /// Newton's iterations by hand: two classes start within 1/17 (4.09 bits; 2 squarings reach
    /// 1/17^4 = 2^-16.3, 1 only 2^-8.2), ten within 81/161 (0.99 bits: 4 squarings reach
    /// 2^-15.9, 5 reach 2^-31.8).
    #[test]
    fn newton_iterations_by_hand() {
        assert_eq!(TfheSoftmax::new(2).unwrap().newton_iterations(), 2);
        assert_eq!(TfheSoftmax::new(10).unwrap().newton_iterations(), 5);
        assert!(TfheSoftmax::new(1).is_err());
    }

    /// The closed form by hand for two classes (k = 4, n = 2): 1 max, 2 clamps, 2 + 1 additions
    /// (differences, sum), 2 negations, 3 * 2 + 1 + 2 = 9 constants added, 2 * 6 + 4 + 2 = 18
    /// products, 2 * 2 + 1 = 5 products by constants.
    #[test]
    fn ops_per_sample_by_hand() {
        let ops = TfheSoftmax::new(2).unwrap().ops_per_sample();
        assert_eq!(
            ops,
            TfheOps {
                max: 1,
                max_scalar: 2,
                add: 3,
                neg: 2,
                add_scalar: 9,
                mul: 18,
                mul_scalar: 5
            }
        );
    }

    /// On plain, the circuit equals its f64 reference, counts what the closed form says per
    /// slot, and stays within 1e-4 of the exact softmax over logits up to 40 apart.
    #[test]
    fn plain_circuit_matches_reference_counts_and_exact() {
        for classes in [2, 3, 10] {
            let sm = TfheSoftmax::new(classes).unwrap();
            let slots = 4;
            let backend = PlainBackend::with_level_budget(slots, None).unwrap();
            let (mut client, cloud) = backend.keygen(&[]).unwrap();
            let rows: Vec<Vec<f64>> = (0..slots)
                .map(|s| {
                    (0..classes)
                        .map(|j| ((s * 7 + j * 13) % 17) as f64 * 2.5 - 20.0)
                        .collect()
                })
                .collect();
            let cts: Vec<_> = (0..classes)
                .map(|j| client.encrypt(&rows.iter().map(|r| r[j]).collect::<Vec<_>>()).unwrap())
                .collect();
            let (p, ops) = sm.apply(&cloud, &cts).unwrap();
            assert_eq!(ops, sm.ops_per_sample() * slots as u64);
            let p: Vec<Vec<f64>> = p.iter().map(|ct| client.decrypt(ct).unwrap()).collect();
            for (s, row) in rows.iter().enumerate() {
                let (want, exact) = (sm.reference(row), exact(row));
                for j in 0..classes {
                    assert!((p[j][s] - want[j]).abs() < 1e-12);
                    assert!((want[j] - exact[j]).abs() < 1e-4, "{classes} classes: {row:?}");
                }
            }
        }
    }
}
