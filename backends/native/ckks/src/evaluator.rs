//! The server side of CKKS: arithmetic on ciphertexts with evaluation keys only.
//!
//! Every operation writes into an explicit output and takes an [`EvaluatorScratch`], so loops
//! allocate nothing once their buffers have grown; the evaluator itself is immutable and `Sync`
//! (one scratch per thread).
//!
//! Scales follow the canonical chain of [`Parameters`]: factors (plaintexts and constants) are
//! encoded at [`Evaluator::factor_scale`], which lands the rescaled product on the canonical
//! scale of the next level, so ciphertexts at one level share one scale. When two operands sit
//! at different levels with different scales, the higher one is brought down exactly: dropped to
//! one level above the other, multiplied by the integer `round(S_low q / S_high)` and rescaled,
//! which leaves its scale within `2^-40` of the other's (see [`Evaluator::lower_to`]).

use std::cmp::Ordering;

use blindtuner_ring::{Form, RnsPoly, conjugation_galois_element};
use blindtuner_rlwe::{EvaluationKeys, GaloisKey, KeySwitchScratch, KeySwitcher};
use num_complex::Complex64;

use crate::encryption::check_fingerprint;
use crate::{Ciphertext, CkksError, Parameters, Plaintext, Product};

/// Relative difference below which two scales count as equal: errors of this size are far
/// below the precision CKKS reaches.
pub const SCALE_TOLERANCE: f64 = 1.0 / (1u64 << 40) as f64;

/// Smallest factor scale a constant or plaintext may be encoded at: below it the rounding of the
/// factor itself would dominate the error.
const MIN_FACTOR_SCALE: f64 = (1u64 << 20) as f64;

/// Reusable buffers of the evaluator's operations, for any level of one parameter set.
#[derive(Debug, Clone)]
pub struct EvaluatorScratch {
    pub(crate) key_switch: KeySwitchScratch,
    product: Product,
    lowered: Ciphertext,
    pub(crate) rotated: Ciphertext,
    constant: RnsPoly,
    /// Residues of integer constants: the real part's, then the imaginary part's.
    residues: Vec<u64>,
    words: Vec<u64>,
}

impl EvaluatorScratch {
    pub fn new(params: &Parameters) -> EvaluatorScratch {
        let (top, n) = (params.max_level(), params.n());
        EvaluatorScratch {
            key_switch: KeySwitchScratch::new(params.rlwe()),
            product: Product::new(params, top, 1),
            lowered: Ciphertext::new(params, top, 1),
            rotated: Ciphertext::new(params, top, 1),
            constant: RnsPoly::zero(params.rlwe().ring_q(), top + 1, Form::Evaluation),
            residues: vec![0; 2 * (top + 1)],
            words: vec![0; (top + 1) * n],
        }
    }
}

/// Evaluates on ciphertexts of one parameter set with its evaluation keys.
#[derive(Debug)]
pub struct Evaluator {
    params: Parameters,
    keys: EvaluationKeys,
    pub(crate) switcher: KeySwitcher,
    /// `X^(N/2)` in NTT form: multiplying by it multiplies every slot by `i`.
    imaginary_unit: RnsPoly,
}

/// What [`Evaluator::alignment`] decides.
enum Alignment {
    Ready,
    LowerFirst,
    LowerSecond,
}

/// Two scales are equal up to [`SCALE_TOLERANCE`].
pub(crate) fn same_scale(a: f64, b: f64) -> bool {
    ((a - b) / b).abs() <= SCALE_TOLERANCE
}

/// Residues of the integer `v` (|v| < 2^126) mod each prime.
pub(crate) fn residues(params: &Parameters, v: i128, limbs: usize, out: &mut [u64]) {
    for (o, q) in out.iter_mut().zip(params.rlwe().ring_q().moduli()).take(limbs) {
        let r = q.reduce_u128(v.unsigned_abs());
        *o = if v < 0 { q.neg(r) } else { r };
    }
}

/// `round(x)` as an integer, refusing what does not fit 126 bits.
pub(crate) fn round_integer(x: f64, scale: f64) -> Result<i128, CkksError> {
    let v = x.round();
    if !v.is_finite() || v.abs() >= 2f64.powi(126) {
        return Err(CkksError::Overflow {
            value: x / scale,
            scale,
        });
    }
    Ok(v as i128)
}

impl Evaluator {
    /// An evaluator with `keys` (relinearisation and Galois keys, as the operations need).
    pub fn new(params: &Parameters, keys: EvaluationKeys) -> Result<Evaluator, CkksError> {
        let ring = params.rlwe().ring_q();
        let mut imaginary_unit = RnsPoly::zero(ring, ring.moduli().len(), Form::Coefficient);
        for i in 0..ring.moduli().len() {
            imaginary_unit.limb_mut(i)[params.n() / 2] = 1;
        }
        ring.ntt(&mut imaginary_unit);
        Ok(Evaluator {
            switcher: KeySwitcher::new(params.rlwe())?,
            params: params.clone(),
            keys,
            imaginary_unit,
        })
    }

    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// The evaluation keys.
    pub fn keys(&self) -> &EvaluationKeys {
        &self.keys
    }

    fn check(&self, ct: &Ciphertext) -> Result<(), CkksError> {
        check_fingerprint(&self.params, ct.fingerprint)
    }

    fn check_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(), CkksError> {
        self.check(a)?;
        self.check(b)?;
        if a.slots != b.slots {
            return Err(CkksError::SlotMismatch(a.slots, b.slots));
        }
        Ok(())
    }

    /// The scale at which to encode a plaintext or constant factor of `ct` so that the product,
    /// once rescaled, has the canonical scale of the level below: `S_(l-1) q_l / scale(ct)`.
    pub fn factor_scale(&self, ct: &Ciphertext) -> Result<f64, CkksError> {
        self.factor_scale_at(ct.level(), ct.scale)
    }

    /// [`Self::factor_scale`] of a ciphertext at `level` with `scale`.
    pub fn factor_scale_at(&self, level: usize, scale: f64) -> Result<f64, CkksError> {
        if level == 0 {
            return Err(CkksError::LevelTooLow { needed: 1, level: 0 });
        }
        let factor = self.params.scale_at(level - 1) * self.params.q()[level] as f64 / scale;
        if factor < MIN_FACTOR_SCALE {
            return Err(CkksError::ScaleTooLarge {
                level,
                log_scale: scale.log2(),
            });
        }
        Ok(factor)
    }

    /// Brings `ct` down to `level` with scale `scale` (within [`SCALE_TOLERANCE`]): drops it to
    /// `level + 1`, multiplies by the integer `round(scale q / S)` and rescales. Costs the one
    /// level between; with `scale` the canonical scale of `level`, the result is canonical.
    pub fn lower_to(
        &self,
        ct: &Ciphertext,
        level: usize,
        scale: f64,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(ct)?;
        self.lower(ct, level, scale, out, &mut scratch.residues, &mut scratch.words)
    }

    fn lower(
        &self,
        ct: &Ciphertext,
        level: usize,
        scale: f64,
        out: &mut Ciphertext,
        residue: &mut [u64],
        words: &mut [u64],
    ) -> Result<(), CkksError> {
        if ct.level() <= level {
            return Err(CkksError::LevelTooLow {
                needed: level + 1,
                level: ct.level(),
            });
        }
        let q = self.params.q()[level + 1] as f64;
        let c = round_integer(scale * q / ct.scale, 1.0)?;
        let new_scale = ct.scale * c as f64 / q;
        if c == 0 || !same_scale(new_scale, scale) {
            return Err(CkksError::ScaleMismatch {
                level,
                log_a: ct.scale.log2(),
                log_b: scale.log2(),
            });
        }
        let ring = self.params.rlwe().ring_q();
        let limbs = level + 2;
        residues(&self.params, c, limbs, residue);
        for (dst, src) in [(&mut out.inner.c0, &ct.inner.c0), (&mut out.inner.c1, &ct.inner.c1)] {
            dst.reshape_for_overwrite(limbs, Form::Evaluation);
            dst.copy_from(src);
            ring.mul_scalar_assign(dst, residue);
            ring.rescale(dst, words);
        }
        out.inherit(ct, new_scale);
        Ok(())
    }

    /// Which operand, if any, must be lowered to bring two ciphertexts to one level and scale:
    /// none when their scales agree (the operations then use the limbs they share), otherwise
    /// the higher one. Different scales at one level cannot be reconciled.
    fn alignment(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Alignment, CkksError> {
        self.check_pair(a, b)?;
        match a.level().cmp(&b.level()) {
            _ if same_scale(a.scale, b.scale) => Ok(Alignment::Ready),
            Ordering::Greater => Ok(Alignment::LowerFirst),
            Ordering::Less => Ok(Alignment::LowerSecond),
            Ordering::Equal => Err(CkksError::ScaleMismatch {
                level: a.level(),
                log_a: a.scale.log2(),
                log_b: b.scale.log2(),
            }),
        }
    }

    /// The operands at one level and scale, the higher one lowered into `lowered` if needed.
    fn align<'a>(
        &self,
        a: &'a Ciphertext,
        b: &'a Ciphertext,
        lowered: &'a mut Ciphertext,
        residue: &mut [u64],
        words: &mut [u64],
    ) -> Result<(&'a Ciphertext, &'a Ciphertext), CkksError> {
        match self.alignment(a, b)? {
            Alignment::Ready => Ok((a, b)),
            Alignment::LowerFirst => {
                self.lower(a, b.level(), b.scale, lowered, residue, words)?;
                Ok((lowered, b))
            }
            Alignment::LowerSecond => {
                self.lower(b, a.level(), a.scale, lowered, residue, words)?;
                Ok((a, lowered))
            }
        }
    }

    /// Applies `op` limb-wise to the aligned operands' `(c0, c1)`.
    fn binary(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
        op: impl Fn(&RnsPoly, &RnsPoly, &mut RnsPoly),
    ) -> Result<(), CkksError> {
        let EvaluatorScratch {
            lowered,
            residues,
            words,
            ..
        } = scratch;
        let (a, b) = self.align(a, b, lowered, residues, words)?;
        op(&a.inner.c0, &b.inner.c0, &mut out.inner.c0);
        op(&a.inner.c1, &b.inner.c1, &mut out.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    /// `out = a + b`, at the lower of the two levels.
    pub fn add(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let ring = self.params.rlwe().ring_q();
        self.binary(a, b, out, scratch, |x, y, o| ring.add(x, y, o))
    }

    /// `out = a - b`, at the lower of the two levels.
    pub fn sub(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let ring = self.params.rlwe().ring_q();
        self.binary(a, b, out, scratch, |x, y, o| ring.sub(x, y, o))
    }

    /// `acc += b`; `acc` drops to `b`'s level if that is lower.
    pub fn add_assign(
        &self,
        acc: &mut Ciphertext,
        b: &Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.accumulate(acc, b, scratch, false)
    }

    /// `acc -= b`; `acc` drops to `b`'s level if that is lower.
    pub fn sub_assign(
        &self,
        acc: &mut Ciphertext,
        b: &Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.accumulate(acc, b, scratch, true)
    }

    fn accumulate(
        &self,
        acc: &mut Ciphertext,
        b: &Ciphertext,
        scratch: &mut EvaluatorScratch,
        subtract: bool,
    ) -> Result<(), CkksError> {
        let ring = self.params.rlwe().ring_q();
        let EvaluatorScratch {
            lowered,
            residues,
            words,
            ..
        } = scratch;
        let b = match self.alignment(acc, b)? {
            Alignment::Ready => b,
            Alignment::LowerFirst => {
                self.lower(acc, b.level(), b.scale, lowered, residues, words)?;
                std::mem::swap(acc, lowered);
                b
            }
            Alignment::LowerSecond => {
                self.lower(b, acc.level(), acc.scale, lowered, residues, words)?;
                lowered
            }
        };
        let limbs = acc.inner.limbs().min(b.inner.limbs());
        for (x, y) in [(&mut acc.inner.c0, &b.inner.c0), (&mut acc.inner.c1, &b.inner.c1)] {
            x.truncate(limbs);
            if subtract {
                ring.sub_assign(x, y);
            } else {
                ring.add_assign(x, y);
            }
        }
        Ok(())
    }

    /// `out = -a`.
    pub fn neg(&self, a: &Ciphertext, out: &mut Ciphertext) -> Result<(), CkksError> {
        self.check(a)?;
        let ring = self.params.rlwe().ring_q();
        ring.neg(&a.inner.c0, &mut out.inner.c0);
        ring.neg(&a.inner.c1, &mut out.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    fn check_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<(), CkksError> {
        self.check(a)?;
        if a.slots != pt.slots {
            return Err(CkksError::SlotMismatch(a.slots, pt.slots));
        }
        Ok(())
    }

    /// `out = a + pt`; `pt` must have `a`'s scale.
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext, out: &mut Ciphertext) -> Result<(), CkksError> {
        self.plain_term(a, pt, out, false)
    }

    /// `out = a - pt`; `pt` must have `a`'s scale.
    pub fn sub_plain(&self, a: &Ciphertext, pt: &Plaintext, out: &mut Ciphertext) -> Result<(), CkksError> {
        self.plain_term(a, pt, out, true)
    }

    fn plain_term(
        &self,
        a: &Ciphertext,
        pt: &Plaintext,
        out: &mut Ciphertext,
        subtract: bool,
    ) -> Result<(), CkksError> {
        self.check_plain(a, pt)?;
        if !same_scale(a.scale, pt.scale) {
            return Err(CkksError::ScaleMismatch {
                level: a.level().min(pt.level()),
                log_a: a.scale.log2(),
                log_b: pt.scale.log2(),
            });
        }
        let ring = self.params.rlwe().ring_q();
        if subtract {
            ring.sub(&a.inner.c0, &pt.poly, &mut out.inner.c0);
        } else {
            ring.add(&a.inner.c0, &pt.poly, &mut out.inner.c0);
        }
        out.inner
            .c1
            .reshape_for_overwrite(out.inner.c0.limbs(), Form::Evaluation);
        out.inner.c1.copy_from(&a.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    /// `out = a * pt` (not rescaled: the scale is the product of the scales). Encode `pt` at
    /// [`Self::factor_scale`] to land on the canonical chain after [`Self::rescale`].
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext, out: &mut Ciphertext) -> Result<(), CkksError> {
        self.check_plain(a, pt)?;
        let ring = self.params.rlwe().ring_q();
        ring.mul(&a.inner.c0, &pt.poly, &mut out.inner.c0);
        ring.mul(&a.inner.c1, &pt.poly, &mut out.inner.c1);
        out.inherit(a, a.scale * pt.scale);
        Ok(())
    }

    /// The factor `round(c scale)` over `limbs` limbs: its real part's residues in
    /// `scratch.residues[..limbs]` and, when `c` is not real, the constant polynomial
    /// `re + im X^(N/2)` (NTT form) in `scratch.constant`. Returns whether `c` is real.
    fn constant(
        &self,
        c: Complex64,
        scale: f64,
        limbs: usize,
        scratch: &mut EvaluatorScratch,
    ) -> Result<bool, CkksError> {
        let re = round_integer(c.re * scale, scale)?;
        let im = round_integer(c.im * scale, scale)?;
        let (re_res, im_res) = scratch.residues.split_at_mut(limbs);
        residues(&self.params, re, limbs, re_res);
        if im == 0 {
            return Ok(true);
        }
        residues(&self.params, im, limbs, im_res);
        let ring = self.params.rlwe().ring_q();
        let out = &mut scratch.constant;
        out.reshape_for_overwrite(limbs, Form::Evaluation);
        for (i, q) in ring.moduli()[..limbs].iter().enumerate() {
            let unit = self.imaginary_unit.limb(i);
            for (o, &u) in out.limb_mut(i).iter_mut().zip(unit) {
                *o = q.mul_add(u, im_res[i], re_res[i]);
            }
        }
        Ok(false)
    }

    /// `out = c a` for a complex constant `c`, encoded at [`Self::factor_scale`]: not rescaled;
    /// after [`Self::rescale`] the result sits on the canonical scale of the level below.
    pub fn mul_const(
        &self,
        a: &Ciphertext,
        c: Complex64,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let scale = self.factor_scale(a)?;
        let limbs = a.inner.limbs();
        let ring = self.params.rlwe().ring_q();
        if self.constant(c, scale, limbs, scratch)? {
            let residues = &scratch.residues[..limbs];
            ring.mul_scalar(&a.inner.c0, residues, &mut out.inner.c0);
            ring.mul_scalar(&a.inner.c1, residues, &mut out.inner.c1);
        } else {
            ring.mul(&a.inner.c0, &scratch.constant, &mut out.inner.c0);
            ring.mul(&a.inner.c1, &scratch.constant, &mut out.inner.c1);
        }
        out.inherit(a, a.scale * scale);
        Ok(())
    }

    /// `out = i a`: every slot times the imaginary unit, as the product by the monomial
    /// `X^(N/2)` (`zeta^(5^j N/2) = i` at every slot's root): exact, no level or scale change.
    pub fn mul_by_i(&self, a: &Ciphertext, out: &mut Ciphertext) -> Result<(), CkksError> {
        self.check(a)?;
        let ring = self.params.rlwe().ring_q();
        ring.mul(&a.inner.c0, &self.imaginary_unit, &mut out.inner.c0);
        ring.mul(&a.inner.c1, &self.imaginary_unit, &mut out.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    /// `out = k a` for an integer `k`: exact, no level or scale change.
    pub fn mul_int(
        &self,
        a: &Ciphertext,
        k: i64,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        let limbs = a.inner.limbs();
        let residues = &mut scratch.residues[..limbs];
        self::residues(&self.params, k as i128, limbs, residues);
        let ring = self.params.rlwe().ring_q();
        ring.mul_scalar(&a.inner.c0, residues, &mut out.inner.c0);
        ring.mul_scalar(&a.inner.c1, residues, &mut out.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    /// `out = a + c` for a complex constant `c` (added at `a`'s scale).
    pub fn add_const(
        &self,
        a: &Ciphertext,
        c: Complex64,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        let limbs = a.inner.limbs();
        let ring = self.params.rlwe().ring_q();
        if self.constant(c, a.scale, limbs, scratch)? {
            out.inner.c0.assign(&a.inner.c0);
            for (i, q) in ring.moduli()[..limbs].iter().enumerate() {
                let r = scratch.residues[i];
                out.inner.c0.limb_mut(i).iter_mut().for_each(|x| *x = q.add(*x, r));
            }
        } else {
            ring.add(&a.inner.c0, &scratch.constant, &mut out.inner.c0);
        }
        out.inner.c1.assign(&a.inner.c1);
        out.inherit(a, a.scale);
        Ok(())
    }

    /// The degree-2 product `out = a b` (not relinearised, not rescaled). Operands at different
    /// levels are aligned first, as for [`Self::add`].
    pub fn tensor(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Product,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let EvaluatorScratch {
            lowered,
            residues,
            words,
            ..
        } = scratch;
        self.tensor_into(a, b, out, lowered, residues, words)
    }

    fn tensor_into(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Product,
        lowered: &mut Ciphertext,
        residues: &mut [u64],
        words: &mut [u64],
    ) -> Result<(), CkksError> {
        self.check_pair(a, b)?;
        let (a, b) = if a.level() == b.level() {
            (a, b)
        } else {
            self.align(a, b, lowered, residues, words)?
        };
        let ring = self.params.rlwe().ring_q();
        let ([a0, a1], [b0, b1]) = ([&a.inner.c0, &a.inner.c1], [&b.inner.c0, &b.inner.c1]);
        let [d0, d1, d2] = &mut out.d;
        ring.mul(a0, b0, d0);
        ring.inner_product(&[a0, a1], &[b1, b0], d1);
        ring.mul(a1, b1, d2);
        (out.scale, out.slots, out.fingerprint) = (a.scale * b.scale, a.slots, a.fingerprint);
        Ok(())
    }

    /// `acc += p` for products of one level and scale.
    pub fn add_product(&self, acc: &mut Product, p: &Product) -> Result<(), CkksError> {
        check_fingerprint(&self.params, p.fingerprint)?;
        check_fingerprint(&self.params, acc.fingerprint)?;
        if acc.slots != p.slots {
            return Err(CkksError::SlotMismatch(acc.slots, p.slots));
        }
        if acc.level() != p.level() || !same_scale(acc.scale, p.scale) {
            return Err(CkksError::ScaleMismatch {
                level: acc.level().min(p.level()),
                log_a: acc.scale.log2(),
                log_b: p.scale.log2(),
            });
        }
        let ring = self.params.rlwe().ring_q();
        for (x, y) in acc.d.iter_mut().zip(&p.d) {
            ring.add_assign(x, y);
        }
        Ok(())
    }

    /// `out` = the product `p` as a ciphertext: `d2 s^2` switched to `s` with the
    /// relinearisation key.
    pub fn relinearize(
        &self,
        p: &Product,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        check_fingerprint(&self.params, p.fingerprint)?;
        self.relinearize_into(p, out, &mut scratch.key_switch)
    }

    fn relinearize_into(
        &self,
        p: &Product,
        out: &mut Ciphertext,
        key_switch: &mut KeySwitchScratch,
    ) -> Result<(), CkksError> {
        let rlk = self
            .keys
            .relinearization
            .as_ref()
            .ok_or(CkksError::MissingRelinearizationKey)?;
        let [d0, d1, d2] = &p.d;
        let ring = self.params.rlwe().ring_q();
        self.switcher
            .switch(d2, rlk.key(), &mut out.inner.c0, &mut out.inner.c1, key_switch)?;
        ring.add_assign(&mut out.inner.c0, d0);
        ring.add_assign(&mut out.inner.c1, d1);
        (out.scale, out.slots, out.fingerprint) = (p.scale, p.slots, p.fingerprint);
        Ok(())
    }

    /// `out = a b`, relinearised (not rescaled).
    pub fn mul_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let EvaluatorScratch {
            key_switch,
            product,
            lowered,
            residues,
            words,
            ..
        } = scratch;
        self.tensor_into(a, b, product, lowered, residues, words)?;
        self.relinearize_into(product, out, key_switch)
    }

    /// `out = a / q_l` with the last prime removed: one level less, scale divided by `q_l`.
    pub fn rescale(
        &self,
        a: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        out.copy_from(a);
        self.rescale_assign(out, scratch)
    }

    /// [`Self::rescale`] in place.
    pub fn rescale_assign(&self, a: &mut Ciphertext, scratch: &mut EvaluatorScratch) -> Result<(), CkksError> {
        self.check(a)?;
        let l = a.level();
        if l == 0 {
            return Err(CkksError::LevelTooLow { needed: 1, level: 0 });
        }
        let ring = self.params.rlwe().ring_q();
        ring.rescale(&mut a.inner.c0, &mut scratch.words);
        ring.rescale(&mut a.inner.c1, &mut scratch.words);
        a.scale /= self.params.q()[l] as f64;
        Ok(())
    }

    /// Drops `levels` levels of `a` in place, keeping its scale (which is then not the canonical
    /// scale of the new level; [`Self::lower_to`] keeps it canonical).
    pub fn drop_levels(&self, a: &mut Ciphertext, levels: usize) -> Result<(), CkksError> {
        self.check(a)?;
        if levels > a.level() {
            return Err(CkksError::LevelTooLow {
                needed: levels,
                level: a.level(),
            });
        }
        let limbs = a.inner.limbs() - levels;
        a.inner.c0.truncate(limbs);
        a.inner.c1.truncate(limbs);
        Ok(())
    }

    pub(crate) fn galois_key(&self, step: i64, slots: usize) -> Result<&GaloisKey, CkksError> {
        let g = self.params.rotation_galois_element(step, slots);
        self.keys.galois(g).ok_or(CkksError::MissingRotationKey { step, g })
    }

    /// `out` = `a` with its slots rotated left by `step` (slot `i` receives slot `i + step` mod
    /// the slot count); any sign.
    pub fn rotate(
        &self,
        a: &Ciphertext,
        step: i64,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        self.rotate_into(a, step, out, &mut scratch.key_switch)
    }

    fn rotate_into(
        &self,
        a: &Ciphertext,
        step: i64,
        out: &mut Ciphertext,
        key_switch: &mut KeySwitchScratch,
    ) -> Result<(), CkksError> {
        if step.rem_euclid(a.slots as i64) == 0 {
            out.copy_from(a);
            return Ok(());
        }
        let key = self.galois_key(step, a.slots)?;
        self.switcher.automorphism(&a.inner, key, &mut out.inner, key_switch)?;
        out.inherit(a, a.scale);
        Ok(())
    }

    /// Rotations of one ciphertext by several steps, sharing one key-switching decomposition
    /// (hoisting): `outs[i]` = `a` rotated by `steps[i]`.
    pub fn rotate_hoisted(
        &self,
        a: &Ciphertext,
        steps: &[i64],
        outs: &mut [Ciphertext],
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        if steps.len() != outs.len() {
            return Err(CkksError::Length {
                what: "the list of outputs",
                given: outs.len(),
                expected: steps.len(),
            });
        }
        let nonzero = |k: &i64| k.rem_euclid(a.slots as i64) != 0;
        for &step in steps.iter().filter(|k| nonzero(k)) {
            self.galois_key(step, a.slots)?;
        }
        let targets = steps
            .iter()
            .zip(outs.iter_mut())
            .filter(|(k, _)| nonzero(k))
            .map(|(&k, out)| {
                out.inherit(a, a.scale);
                let key = self.galois_key(k, a.slots).expect("keys checked above");
                (key, &mut out.inner)
            });
        self.switcher
            .automorphisms_hoisted(&a.inner, targets, &mut scratch.key_switch)?;
        for (_, out) in steps.iter().zip(outs.iter_mut()).filter(|(k, _)| !nonzero(k)) {
            out.copy_from(a);
        }
        Ok(())
    }

    /// `out` = `a` with every slot conjugated.
    pub fn conjugate(
        &self,
        a: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        let key = self
            .keys
            .galois(conjugation_galois_element(self.params.n()))
            .ok_or(CkksError::MissingConjugationKey)?;
        self.switcher
            .automorphism(&a.inner, key, &mut out.inner, &mut scratch.key_switch)?;
        out.inherit(a, a.scale);
        Ok(())
    }

    /// `out` slot `i` = `sum_(j < n) a_(i + j)` (indices mod the slot count), for `n` a power of
    /// two up to the slot count: `log2 n` rotations by `1, 2, 4, ...` and additions.
    pub fn rotate_and_sum(
        &self,
        a: &Ciphertext,
        n: usize,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        self.check(a)?;
        if !n.is_power_of_two() || n > a.slots {
            return Err(CkksError::SumLength { n, slots: a.slots });
        }
        out.copy_from(a);
        let EvaluatorScratch {
            rotated, key_switch, ..
        } = scratch;
        let ring = self.params.rlwe().ring_q();
        let mut step = 1;
        while step < n {
            self.rotate_into(out, step as i64, rotated, key_switch)?;
            ring.add_assign(&mut out.inner.c0, &rotated.inner.c0);
            ring.add_assign(&mut out.inner.c1, &rotated.inner.c1);
            step *= 2;
        }
        Ok(())
    }
}
