//! Linear transforms of the slots by diagonals, with baby-step giant-step and hoisting.
//!
//! A matrix `M` on `n` slots is given by its nonzero generalised diagonals
//! `d_k[i] = M[i][(i + k) mod n]`, so that `M v = sum_k d_k (.) rot(v, k)` (`(.)` slot-wise,
//! `rot(v, k)[i] = v[i + k]`). Writing `k = n1 j + i` with `0 <= i < n1` (Halevi and Shoup 2018):
//!
//! ```text
//! M v = sum_j rot( sum_i rot(d_(n1 j + i), -n1 j) (.) rot(v, i),  n1 j ),
//! ```
//!
//! so the baby rotations `rot(v, i)` are computed once, all from one key-switching decomposition
//! of `v` (hoisting), the inner sums are plaintext products accumulated with one reduction per
//! slot (no key switching), and each giant step costs one rotation. The diagonals are
//! pre-rotated and encoded once, at the level and scale of the input, by
//! [`LinearTransform::encode`]. `n1` is the power of two that minimises the number of
//! rotations, `#babies + #giants`.

use std::collections::BTreeMap;

use blindtuner_ring::RnsPoly;
use num_complex::Complex64;

use crate::evaluator::same_scale;
use crate::{Ciphertext, CkksError, Encoder, EncoderScratch, Evaluator, EvaluatorScratch, Plaintext};

/// A linear map of `slots` slots by its nonzero diagonals.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearTransform {
    slots: usize,
    diagonals: BTreeMap<usize, Vec<Complex64>>,
}

impl LinearTransform {
    /// An empty map (the zero matrix) on `slots` slots.
    pub fn new(slots: usize) -> LinearTransform {
        LinearTransform {
            slots,
            diagonals: BTreeMap::new(),
        }
    }

    /// The map of a dense `slots x slots` matrix given by rows; all-zero diagonals are skipped.
    pub fn from_matrix(rows: &[Vec<Complex64>]) -> Result<LinearTransform, CkksError> {
        let n = rows.len();
        if let Some(row) = rows.iter().find(|r| r.len() != n) {
            return Err(CkksError::Length {
                what: "a matrix row",
                given: row.len(),
                expected: n,
            });
        }
        let mut lt = LinearTransform::new(n);
        for k in 0..n {
            let d: Vec<Complex64> = (0..n).map(|i| rows[i][(i + k) % n]).collect();
            if d.iter().any(|z| *z != Complex64::default()) {
                lt.set_diagonal(k as i64, d)?;
            }
        }
        Ok(lt)
    }

    /// Sets diagonal `k` (any sign, taken mod the slot count): `d[i] = M[i][(i + k) mod n]`.
    pub fn set_diagonal(&mut self, k: i64, d: Vec<Complex64>) -> Result<(), CkksError> {
        if d.len() != self.slots {
            return Err(CkksError::Length {
                what: "a diagonal",
                given: d.len(),
                expected: self.slots,
            });
        }
        if d.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
            return Err(CkksError::NotFinite("a diagonal"));
        }
        self.diagonals.insert(k.rem_euclid(self.slots as i64) as usize, d);
        Ok(())
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// `M v` in f64, the reference the encrypted result is checked against.
    pub fn apply(&self, v: &[Complex64]) -> Vec<Complex64> {
        let n = self.slots;
        (0..n)
            .map(|i| self.diagonals.iter().map(|(&k, d)| d[i] * v[(i + k) % n]).sum())
            .collect()
    }

    /// The baby-step size minimising `#babies + #giants` over powers of two.
    fn baby_step(&self) -> usize {
        let cost = |n1: usize| {
            let babies: std::collections::BTreeSet<usize> = self.diagonals.keys().map(|k| k % n1).collect();
            let giants: std::collections::BTreeSet<usize> = self.diagonals.keys().map(|k| k / n1).collect();
            babies.len() + giants.len()
        };
        (0..=self.slots.ilog2())
            .map(|e| 1usize << e)
            .min_by_key(|&n1| (cost(n1), n1))
            .unwrap_or(1)
    }

    /// Encodes the pre-rotated diagonals for inputs at `level` with scale `input_scale`, each at
    /// the factor scale that lands the rescaled result on the canonical scale of `level - 1`
    /// ([`Evaluator::factor_scale`]).
    pub fn encode(
        &self,
        eval: &Evaluator,
        encoder: &Encoder,
        level: usize,
        input_scale: f64,
    ) -> Result<EncodedLinearTransform, CkksError> {
        if encoder.slots() != self.slots {
            return Err(CkksError::SlotMismatch(encoder.slots(), self.slots));
        }
        let params = eval.params();
        let scale = eval.factor_scale_at(level, input_scale)?;
        let (n, n1) = (self.slots, self.baby_step());
        let mut giants: BTreeMap<usize, Vec<(usize, Plaintext)>> = BTreeMap::new();
        let mut scratch = EncoderScratch::default();
        let mut rotated = vec![Complex64::default(); n];
        for (&k, d) in &self.diagonals {
            let (j, i) = (k / n1, k % n1);
            // rot(d, -n1 j)[t] = d[t - n1 j].
            for (t, r) in rotated.iter_mut().enumerate() {
                *r = d[(t + n - (n1 * j) % n) % n];
            }
            let mut pt = Plaintext::new(params, level, scale, n);
            encoder.encode(&rotated, scale, &mut pt, &mut scratch)?;
            giants.entry(j).or_default().push((i, pt));
        }
        let mut babies: Vec<usize> = giants.values().flatten().map(|(i, _)| *i).collect();
        babies.sort_unstable();
        babies.dedup();
        Ok(EncodedLinearTransform {
            slots: n,
            level,
            input_scale,
            n1,
            babies,
            giants,
        })
    }
}

/// A [`LinearTransform`] encoded for one input level and scale.
#[derive(Debug, Clone)]
pub struct EncodedLinearTransform {
    slots: usize,
    level: usize,
    input_scale: f64,
    n1: usize,
    /// Distinct baby steps `i`, increasing.
    babies: Vec<usize>,
    /// Per giant step `j`: the baby steps and plaintexts `rot(d_(n1 j + i), -n1 j)`.
    giants: BTreeMap<usize, Vec<(usize, Plaintext)>>,
}

impl EncodedLinearTransform {
    /// The rotation steps whose keys the evaluation needs: babies, then giants.
    pub fn rotations(&self) -> Vec<i64> {
        let babies = self.babies.iter().filter(|&&i| i != 0).map(|&i| i as i64);
        let giants = self.giants.keys().filter(|&&j| j != 0).map(|&j| (j * self.n1) as i64);
        babies.chain(giants).collect()
    }

    /// Key switchings of one evaluation: one decomposition for the babies plus one per nonzero
    /// baby and per nonzero giant.
    pub fn rotation_count(&self) -> usize {
        self.rotations().len()
    }

    /// The input level.
    pub fn level(&self) -> usize {
        self.level
    }
}

/// Buffers of [`Evaluator::linear_transform`]: the baby rotations and the inner sums.
#[derive(Debug, Default)]
pub struct LinearTransformScratch {
    babies: Vec<Ciphertext>,
    inner: Option<Ciphertext>,
    rotated: Option<Ciphertext>,
}

impl Evaluator {
    /// `out = M v` for the encoded map `lt` and the encryption `ct` of `v`, rescaled: one level
    /// below `ct`, on the canonical scale of that level.
    pub fn linear_transform(
        &self,
        ct: &Ciphertext,
        lt: &EncodedLinearTransform,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
        buffers: &mut LinearTransformScratch,
    ) -> Result<(), CkksError> {
        if ct.slots != lt.slots {
            return Err(CkksError::SlotMismatch(ct.slots, lt.slots));
        }
        if ct.level() != lt.level || !same_scale(ct.scale, lt.input_scale) {
            return Err(CkksError::EncodedFor {
                level: lt.level,
                log_scale: lt.input_scale.log2(),
                found_level: ct.level(),
                found_log_scale: ct.scale.log2(),
            });
        }
        let steps: Vec<i64> = lt.babies.iter().map(|&i| i as i64).collect();
        buffers.babies.resize_with(steps.len(), || ct.clone());
        self.rotate_hoisted(ct, &steps, &mut buffers.babies, scratch)?;
        let ring = self.params().rlwe().ring_q();
        let inner = buffers.inner.get_or_insert_with(|| ct.clone());
        let rotated = buffers.rotated.get_or_insert_with(|| ct.clone());
        let mut first = true;
        for (&j, terms) in &lt.giants {
            // The inner sum: one multiply-accumulate pass per part, reduced once per slot.
            let pts: Vec<&RnsPoly> = terms.iter().map(|(_, pt)| &pt.poly).collect();
            let baby = |i: usize| &buffers.babies[lt.babies.binary_search(&i).expect("baby steps cover the terms")];
            let c0: Vec<&RnsPoly> = terms.iter().map(|(i, _)| &baby(*i).inner.c0).collect();
            let c1: Vec<&RnsPoly> = terms.iter().map(|(i, _)| &baby(*i).inner.c1).collect();
            ring.inner_product(&c0, &pts, &mut inner.inner.c0);
            ring.inner_product(&c1, &pts, &mut inner.inner.c1);
            inner.inherit(ct, ct.scale * terms[0].1.scale);
            let term = if j == 0 {
                &*inner
            } else {
                self.rotate(inner, (j * lt.n1) as i64, rotated, scratch)?;
                &*rotated
            };
            if first {
                out.copy_from(term);
                first = false;
            } else {
                self.add_assign(out, term, scratch)?;
            }
        }
        if first {
            return Err(CkksError::EmptyTransform);
        }
        self.rescale_assign(out, scratch)
    }
}
