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
//! of `v`, and kept over `Q P` without their division by `P` (double hoisting, as in Bossuat,
//! Mouchet, Troncoso-Pastoriza and Hubaux 2021): the inner sums are plaintext products over
//! `Q P` accumulated with one reduction per slot, each giant step divides its inner sum by `P`
//! and rotates it with a key switching that is again left over `Q P`, and one final division by
//! `P` closes the whole sum. The diagonals are pre-rotated and encoded once, over `Q` and `P`, at
//! the level and scale of the input, by [`LinearTransform::encode`]. A baby rotation then costs
//! inner products and a permutation, a giant one a full key switching: `n1` is the power of
//! two minimising `#babies + GIANT_COST * #giants`.

use std::collections::{BTreeMap, BTreeSet};

use blindtuner_ring::{Form, RnsPoly};
use blindtuner_rlwe::{self as rlwe, Decomposition, QpPoly};
use num_complex::Complex64;

use crate::evaluator::same_scale;
use crate::{Ciphertext, CkksError, Encoder, EncoderScratch, Evaluator, EvaluatorScratch, Plaintext};

/// What a giant step costs in baby steps: a full key switching (decomposition, two divisions by
/// `P`) against inner products and a permutation.
const GIANT_COST: usize = 3;

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

    /// The number of nonzero diagonals set.
    pub fn diagonal_count(&self) -> usize {
        self.diagonals.len()
    }

    /// The rotation steps whose keys the evaluation needs, without encoding: the same as
    /// [`EncodedLinearTransform::rotations`] of [`Self::encode`] at any level.
    pub fn rotations(&self) -> Vec<i64> {
        let n1 = self.baby_step();
        let babies: BTreeSet<usize> = self.diagonals.keys().map(|k| k % n1).collect();
        let giants: BTreeSet<usize> = self.diagonals.keys().map(|k| k / n1).collect();
        bsgs_steps(n1, babies, giants)
    }

    /// `M v` in f64, the reference the encrypted result is checked against.
    pub fn apply(&self, v: &[Complex64]) -> Vec<Complex64> {
        let n = self.slots;
        (0..n)
            .map(|i| self.diagonals.iter().map(|(&k, d)| d[i] * v[(i + k) % n]).sum())
            .collect()
    }

    /// The baby-step size minimising `#babies + GIANT_COST * #giants` over powers of two.
    fn baby_step(&self) -> usize {
        let cost = |n1: usize| {
            let babies: std::collections::BTreeSet<usize> = self.diagonals.keys().map(|k| k % n1).collect();
            let giants: std::collections::BTreeSet<usize> = self.diagonals.keys().map(|k| k / n1).collect();
            babies.len() + GIANT_COST * giants.len()
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
        let mut giants: BTreeMap<usize, Vec<Diagonal>> = BTreeMap::new();
        let mut scratch = EncoderScratch::default();
        let ring_p = params.rlwe().ring_p();
        let encoder_p = Encoder::new(ring_p.clone(), n)?;
        let mut rotated = vec![Complex64::default(); n];
        for (&k, d) in &self.diagonals {
            let (j, i) = (k / n1, k % n1);
            // rot(d, -n1 j)[t] = d[t - n1 j].
            for (t, r) in rotated.iter_mut().enumerate() {
                *r = d[(t + n - (n1 * j) % n) % n];
            }
            let mut pt = Plaintext::new(params, level, scale, n);
            encoder.encode(&rotated, scale, &mut pt, &mut scratch)?;
            // The same integers modulo P, for the products over Q P.
            let mut p = RnsPoly::zero(ring_p, ring_p.moduli().len(), Form::Evaluation);
            encoder_p.encode_poly(&rotated, scale, &mut p, &mut scratch)?;
            giants.entry(j).or_default().push(Diagonal { baby: i, q: pt, p });
        }
        let mut babies: Vec<usize> = giants.values().flatten().map(|d| d.baby).collect();
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
    /// Per giant step `j`: the diagonals `rot(d_(n1 j + i), -n1 j)` by baby step.
    giants: BTreeMap<usize, Vec<Diagonal>>,
}

/// One pre-rotated diagonal, encoded over `Q` (a plaintext) and over `P`.
#[derive(Debug, Clone)]
struct Diagonal {
    baby: usize,
    q: Plaintext,
    p: RnsPoly,
}

impl EncodedLinearTransform {
    /// The rotation steps whose keys the evaluation needs: babies, then giants.
    pub fn rotations(&self) -> Vec<i64> {
        bsgs_steps(self.n1, self.babies.iter().copied(), self.giants.keys().copied())
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

/// The nonzero rotation steps of baby steps `i` and giant steps `j` (increasing): babies, then
/// giants `n1 j`.
fn bsgs_steps(n1: usize, babies: impl IntoIterator<Item = usize>, giants: impl IntoIterator<Item = usize>) -> Vec<i64> {
    let babies = babies.into_iter().filter(|&i| i != 0).map(|i| i as i64);
    let giants = giants.into_iter().filter(|&j| j != 0).map(|j| (j * n1) as i64);
    babies.chain(giants).collect()
}

/// Buffers of [`Evaluator::linear_transform`]: the baby rotations over `Q P`, the inner sums and
/// the accumulator, grown on first use.
#[derive(Debug, Default)]
pub struct LinearTransformScratch {
    babies: Vec<[QpPoly; 2]>,
    /// Inner sum, lazy key-switching output, rotated term, accumulator.
    work: Vec<[QpPoly; 2]>,
    decomposition: Option<Decomposition>,
}

/// `acc = x` when `first`, else `acc += x`, over `Q_l` and `P`.
fn accumulate(params: &rlwe::Parameters, acc: &mut [QpPoly; 2], x: &[QpPoly; 2], first: bool) {
    for (a, b) in acc.iter_mut().zip(x) {
        if first {
            a.q.assign(&b.q);
            a.p.assign(&b.p);
        } else {
            params.ring_q().add_assign(&mut a.q, &b.q);
            params.ring_p().add_assign(&mut a.p, &b.p);
        }
    }
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
        if lt.giants.is_empty() {
            return Err(CkksError::EmptyTransform);
        }
        // Every key first: a missing one fails before any work.
        let key = |step: usize| (step != 0).then(|| self.galois_key(step as i64, lt.slots)).transpose();
        let baby_keys = lt.babies.iter().map(|&i| key(i)).collect::<Result<Vec<_>, _>>()?;
        let giant_keys = lt
            .giants
            .keys()
            .map(|&j| key(j * lt.n1))
            .collect::<Result<Vec<_>, _>>()?;

        let params = self.params().rlwe();
        let (ring_q, ring_p, sw) = (params.ring_q(), params.ring_p(), &self.switcher);
        let limbs = ct.inner.limbs();
        let zero = || [QpPoly::zero(params, limbs), QpPoly::zero(params, limbs)];
        buffers.babies.resize_with(lt.babies.len(), zero);
        buffers.work.resize_with(4, zero);
        let decomposition = buffers.decomposition.get_or_insert_with(|| Decomposition::new(params));
        let [inner, lazy, rotated, acc] = &mut buffers.work[..] else {
            unreachable!("four work buffers")
        };
        let ks = &mut scratch.key_switch;

        // Baby steps over Q P: (P c0, P c1) for step 0, sigma_i(P c0 + u0, u1) for the others,
        // where (u0, u1) is the lazy key switching of c1 (P c0 is zero modulo P).
        let p_c0 = &mut rotated[0].q;
        p_c0.assign(&ct.inner.c0);
        ring_q.mul_scalar_assign(p_c0, sw.p_mod_q());
        sw.decompose(&ct.inner.c1, decomposition);
        for (baby, key) in buffers.babies.iter_mut().zip(&baby_keys) {
            match key {
                None => {
                    baby[0].q.assign(p_c0);
                    baby[1].q.assign(&ct.inner.c1);
                    ring_q.mul_scalar_assign(&mut baby[1].q, sw.p_mod_q());
                    baby.iter_mut().for_each(|x| x.p.data_mut().fill(0));
                }
                Some(key) => {
                    sw.switch_decomposed_lazy(decomposition, key.key(), lazy)?;
                    ring_q.add_assign(&mut lazy[0].q, p_c0);
                    sw.automorphism_qp(key, &lazy[0], &mut baby[0]);
                    sw.automorphism_qp(key, &lazy[1], &mut baby[1]);
                }
            }
        }

        let mut first = true;
        for (terms, key) in lt.giants.values().zip(&giant_keys) {
            let index = |d: &Diagonal| lt.babies.binary_search(&d.baby).expect("baby steps cover the terms");
            for (part, sum) in inner.iter_mut().enumerate() {
                let q: Vec<&RnsPoly> = terms.iter().map(|d| &buffers.babies[index(d)][part].q).collect();
                let p: Vec<&RnsPoly> = terms.iter().map(|d| &buffers.babies[index(d)][part].p).collect();
                let pt_q: Vec<&RnsPoly> = terms.iter().map(|d| &d.q.poly).collect();
                let pt_p: Vec<&RnsPoly> = terms.iter().map(|d| &d.p).collect();
                ring_q.inner_product(&q, &pt_q, &mut sum.q);
                ring_p.inner_product(&p, &pt_p, &mut sum.p);
            }
            let Some(key) = key else {
                accumulate(params, acc, inner, first);
                first = false;
                continue;
            };
            // Giant step: the inner sum back to Q_l, rotated by n1 j, left over Q P again.
            sw.mod_down(&mut inner[0], ks);
            sw.mod_down(&mut inner[1], ks);
            sw.decompose(&inner[1].q, decomposition);
            sw.switch_decomposed_lazy(decomposition, key.key(), lazy)?;
            ring_q.mul_scalar_assign(&mut inner[0].q, sw.p_mod_q());
            ring_q.add_assign(&mut lazy[0].q, &inner[0].q);
            sw.automorphism_qp(key, &lazy[0], &mut rotated[0]);
            sw.automorphism_qp(key, &lazy[1], &mut rotated[1]);
            accumulate(params, acc, rotated, first);
            first = false;
        }
        sw.mod_down(&mut acc[0], ks);
        sw.mod_down(&mut acc[1], ks);
        out.inner.c0.assign(&acc[0].q);
        out.inner.c1.assign(&acc[1].q);
        let pt_scale = lt.giants.values().next().map_or(1.0, |t| t[0].q.scale);
        out.inherit(ct, ct.scale * pt_scale);
        self.rescale_assign(out, scratch)
    }
}
