//! Encoding slot vectors into RNS plaintext polynomials and back.
//!
//! Encode: the special FFT gives the real coefficients `m'` of the slots;
//! each is scaled and rounded, `v_k = round(scale * m'_k)`, and reduced into
//! every limb, spread to `m(X) = m'(X^g)`, then transformed to NTT form.
//!
//! Decode: the inverse NTT gives the residues of each coefficient; the
//! centred integer `v` with `|v| < Q/2` is rebuilt exactly by Garner's
//! mixed-radix CRT, `v = x_0 + x_1 q_0 + x_2 q_0 q_1 + ...` with digits
//! `x_i in [0, q_i)`, and only then converted to f64. A negative `v` is
//! rebuilt from the residues of `-v`, so the f64 sum never cancels: the
//! result has full double precision whatever the size of `Q`.

use crate::{CkksError, Plaintext, SpecialFft};
use blindtuner_ring::{Form, Modulus, RnsBasis, RnsPoly};
use num_complex::Complex64;
use std::sync::Arc;

/// Encoder for a fixed basis and slot count.
#[derive(Debug)]
pub struct Encoder {
    basis: Arc<RnsBasis>,
    fft: SpecialFft,
    /// `g = N / (2 n)`: the stride of `m'` inside `m`.
    gap: usize,
    /// `garner_inv[i] = (q_0 ... q_(i-1))^(-1) mod q_i`.
    garner_inv: Vec<u64>,
    /// `garner_prefix[i][j] = (q_0 ... q_(j-1)) mod q_i` for `j < i`.
    garner_prefix: Vec<Vec<u64>>,
    /// `radix[j] = q_0 ... q_(j-1)` as f64.
    radix: Vec<f64>,
}

/// Reusable buffers for [`Encoder`], so repeated calls do not allocate.
#[derive(Debug, Default)]
pub struct EncoderScratch {
    fft: Vec<Complex64>,
    coeffs: Vec<f64>,
    poly: Option<RnsPoly>,
    digits: Vec<u64>,
}

impl Encoder {
    /// An encoder for `slots` slots (a power of two, at most `N / 2`).
    pub fn new(basis: Arc<RnsBasis>, slots: usize) -> Result<Encoder, CkksError> {
        let n = basis.n();
        if slots == 0 || slots > n / 2 {
            return Err(CkksError::SlotCount(slots));
        }
        let fft = SpecialFft::new(slots)?;
        let q: Vec<&Modulus> = basis.moduli().iter().collect();
        let mut garner_inv = vec![0; q.len()];
        let mut garner_prefix = vec![Vec::new(); q.len()];
        for i in 1..q.len() {
            let mut prod = 1u64;
            for qj in &q[..i] {
                garner_prefix[i].push(prod);
                prod = q[i].mul(prod, q[i].reduce(qj.value()));
            }
            garner_inv[i] = q[i].inv(prod).expect("distinct primes are coprime");
        }
        let mut radix = Vec::with_capacity(q.len());
        let mut r = 1.0;
        for qj in &q {
            radix.push(r);
            r *= qj.value() as f64;
        }
        Ok(Encoder {
            gap: n / (2 * slots),
            basis,
            fft,
            garner_inv,
            garner_prefix,
            radix,
        })
    }

    pub fn slots(&self) -> usize {
        self.fft.slots()
    }

    /// Encodes `round(scale * m)` for the slots `values` (missing slots are
    /// zero) into `out`, in NTT form over `out.limbs()` limbs.
    pub fn encode_poly(
        &self,
        values: &[Complex64],
        scale: f64,
        out: &mut RnsPoly,
        scratch: &mut EncoderScratch,
    ) -> Result<(), CkksError> {
        self.encode_with(values.len(), scale, out, scratch, |slots| slots.copy_from_slice(values))
    }

    /// Encodes real values (imaginary parts zero).
    pub fn encode_real_poly(
        &self,
        values: &[f64],
        scale: f64,
        out: &mut RnsPoly,
        scratch: &mut EncoderScratch,
    ) -> Result<(), CkksError> {
        self.encode_with(values.len(), scale, out, scratch, |slots| {
            for (z, &v) in slots.iter_mut().zip(values) {
                *z = Complex64::new(v, 0.0);
            }
        })
    }

    /// Encodes the slots `values` at `scale` into `pt`, at `pt`'s level.
    pub fn encode(
        &self,
        values: &[Complex64],
        scale: f64,
        pt: &mut Plaintext,
        scratch: &mut EncoderScratch,
    ) -> Result<(), CkksError> {
        self.encode_poly(values, scale, &mut pt.poly, scratch)?;
        (pt.scale, pt.slots) = (scale, self.slots());
        Ok(())
    }

    /// Encodes real slot values at `scale` into `pt`, at `pt`'s level.
    pub fn encode_real(
        &self,
        values: &[f64],
        scale: f64,
        pt: &mut Plaintext,
        scratch: &mut EncoderScratch,
    ) -> Result<(), CkksError> {
        self.encode_real_poly(values, scale, &mut pt.poly, scratch)?;
        (pt.scale, pt.slots) = (scale, self.slots());
        Ok(())
    }

    /// Decodes `pt` (one value per slot) into `out`.
    pub fn decode(&self, pt: &Plaintext, out: &mut [Complex64], scratch: &mut EncoderScratch) -> Result<(), CkksError> {
        if pt.slots != self.slots() {
            return Err(CkksError::SlotMismatch(pt.slots, self.slots()));
        }
        self.decode_poly(&pt.poly, pt.scale, out, scratch);
        Ok(())
    }

    /// Encodes the first `count` slots as written by `fill` into the
    /// scratch buffer (the rest are zero), without allocating once warm.
    fn encode_with(
        &self,
        count: usize,
        scale: f64,
        out: &mut RnsPoly,
        scratch: &mut EncoderScratch,
        fill: impl FnOnce(&mut [Complex64]),
    ) -> Result<(), CkksError> {
        let n = self.slots();
        if count > n {
            return Err(CkksError::TooManyValues { given: count, slots: n });
        }
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(CkksError::Scale(scale));
        }
        scratch.fft.resize(self.fft.scratch_len() + n, Complex64::default());
        let (slots, fft_scratch) = scratch.fft.split_at_mut(n);
        fill(&mut slots[..count]);
        slots[count..].fill(Complex64::default());
        scratch.coeffs.resize(2 * n, 0.0);
        self.fft.encode(slots, &mut scratch.coeffs, fft_scratch);

        out.data_mut().fill(0);
        out.set_form(Form::Coefficient);
        for (k, &c) in scratch.coeffs.iter().enumerate() {
            let v = (c * scale).round();
            // |v| < 2^126 fits an i128; beyond that (or NaN) the scale is
            // wrong for the data.
            if v.is_nan() || v.abs() >= 2f64.powi(126) {
                return Err(CkksError::Overflow { value: c, scale });
            }
            let v = v as i128;
            for (i, q) in self.basis.moduli()[..out.limbs()].iter().enumerate() {
                let r = q.reduce_u128(v.unsigned_abs());
                out.limb_mut(i)[k * self.gap] = if v < 0 { q.neg(r) } else { r };
            }
        }
        self.basis.ntt(out);
        Ok(())
    }

    /// Decodes a plaintext in NTT form, dividing by `scale`, into `out`
    /// (one value per slot).
    pub fn decode_poly(&self, pt: &RnsPoly, scale: f64, out: &mut [Complex64], scratch: &mut EncoderScratch) {
        let n = self.slots();
        assert_eq!(out.len(), n, "decode output must hold one value per slot");
        let poly = scratch
            .poly
            .get_or_insert_with(|| RnsPoly::zero(&self.basis, pt.limbs(), pt.form()));
        poly.resize(pt.limbs());
        poly.copy_from(pt);
        if poly.form() == Form::Evaluation {
            self.basis.intt(poly);
        }
        scratch.coeffs.resize(2 * n, 0.0);
        scratch.digits.resize(pt.limbs(), 0);
        for k in 0..2 * n {
            scratch.coeffs[k] = self.centred(poly, k * self.gap, &mut scratch.digits) / scale;
        }
        scratch.fft.resize(self.fft.scratch_len(), Complex64::default());
        self.fft.decode(&scratch.coeffs, out, &mut scratch.fft);
    }

    /// The centred value of coefficient `k` of `poly` as f64 (Garner).
    fn centred(&self, poly: &RnsPoly, k: usize, digits: &mut [u64]) -> f64 {
        let moduli = &self.basis.moduli()[..poly.limbs()];
        let last = moduli.len() - 1;
        self.mixed_radix(poly, k, false, digits);
        // v >= Q/2 exactly when the top digit is in the upper half (the
        // tie, x_top = (q_top - 1) / 2 with a large remainder, cannot occur
        // for values far below Q, which is all CKKS ever decodes).
        let negative = digits[last] > moduli[last].value() / 2;
        if negative {
            self.mixed_radix(poly, k, true, digits);
        }
        let magnitude: f64 = digits.iter().zip(&self.radix).map(|(&x, &r)| x as f64 * r).sum();
        if negative { -magnitude } else { magnitude }
    }

    /// Mixed-radix digits of coefficient `k` (of its negation if `negate`).
    fn mixed_radix(&self, poly: &RnsPoly, k: usize, negate: bool, digits: &mut [u64]) {
        let moduli = &self.basis.moduli()[..poly.limbs()];
        for (i, q) in moduli.iter().enumerate() {
            let a = poly.limb(i)[k];
            let a = if negate { q.neg(a) } else { a };
            // x_i = (a_i - sum_(j<i) x_j (q_0 ... q_(j-1))) / (q_0 ... q_(i-1)) mod q_i.
            let partial = digits[..i]
                .iter()
                .zip(&self.garner_prefix[i])
                .fold(0, |acc, (&x, &p)| q.mul_add(q.reduce(x), p, acc));
            digits[i] = if i == 0 {
                a
            } else {
                q.mul(q.sub(a, partial), self.garner_inv[i])
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blindtuner_ring::ntt_primes;
    use rand::{Rng, SeedableRng};

    fn basis(log_n: u32, bits: &[u32]) -> Arc<RnsBasis> {
        let n = 1 << log_n;
        let mut primes = Vec::new();
        for &b in bits {
            let p = ntt_primes(b, n, 1, &primes).unwrap()[0];
            primes.push(p);
        }
        Arc::new(RnsBasis::new(n, &primes).unwrap())
    }

    fn random(n: usize, seed: u64, bound: f64) -> Vec<Complex64> {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| Complex64::new(rng.random_range(-bound..bound), rng.random_range(-bound..bound)))
            .collect()
    }

    fn precision_bits(a: &[Complex64], b: &[Complex64]) -> f64 {
        -a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max).log2()
    }

    #[test]
    fn round_trip_precision_follows_the_scale() {
        // Error of rounding: about sqrt(N) / scale in each slot, so the
        // precision is roughly log2(scale) - log_n / 2 - a few bits.
        let b = basis(12, &[60, 50, 50, 50]);
        for (slots, log_scale) in [(2048, 30), (2048, 50), (256, 40), (1, 40)] {
            let enc = Encoder::new(b.clone(), slots).unwrap();
            let mut scratch = EncoderScratch::default();
            let z = random(slots, log_scale as u64 + slots as u64, 1.0);
            let scale = 2f64.powi(log_scale);
            let mut pt = RnsPoly::zero(&b, 4, Form::Evaluation);
            enc.encode_poly(&z, scale, &mut pt, &mut scratch).unwrap();
            let mut back = vec![Complex64::default(); slots];
            enc.decode_poly(&pt, scale, &mut back, &mut scratch);
            let bits = precision_bits(&z, &back);
            let want = (log_scale as f64 - 12.0 / 2.0 - 3.0).min(40.0);
            assert!(
                bits > want,
                "{slots} slots at 2^{log_scale}: {bits:.1} bits, wanted {want}"
            );
        }
    }

    #[test]
    fn decoding_is_exact_for_values_far_beyond_one_limb() {
        // Scale 2^100 on a 4-limb basis (210 bits): coefficients need the
        // full CRT, and negative ones the negated path.
        let b = basis(10, &[60, 50, 50, 50]);
        let enc = Encoder::new(b.clone(), 512).unwrap();
        let mut scratch = EncoderScratch::default();
        let z = random(512, 9, 100.0);
        let scale = 2f64.powi(100);
        let mut pt = RnsPoly::zero(&b, 4, Form::Evaluation);
        enc.encode_poly(&z, scale, &mut pt, &mut scratch).unwrap();
        let mut back = vec![Complex64::default(); 512];
        enc.decode_poly(&pt, scale, &mut back, &mut scratch);
        assert!(precision_bits(&z, &back) > 38.0, "{}", precision_bits(&z, &back));
    }

    #[test]
    fn real_values_encode_like_complex_ones_with_zero_imaginary_parts() {
        let b = basis(10, &[50, 40]);
        let enc = Encoder::new(b.clone(), 128).unwrap();
        let mut scratch = EncoderScratch::default();
        let re: Vec<f64> = random(100, 5, 1.0).iter().map(|z| z.re).collect();
        let as_complex: Vec<Complex64> = re.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        let (mut a, mut c) = (
            RnsPoly::zero(&b, 2, Form::Evaluation),
            RnsPoly::zero(&b, 2, Form::Evaluation),
        );
        enc.encode_real_poly(&re, 2f64.powi(30), &mut a, &mut scratch).unwrap();
        enc.encode_poly(&as_complex, 2f64.powi(30), &mut c, &mut scratch)
            .unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn fewer_limbs_and_sparse_slots_decode_too() {
        let b = basis(11, &[60, 45, 45]);
        let enc = Encoder::new(b.clone(), 64).unwrap();
        let mut scratch = EncoderScratch::default();
        let z = random(64, 3, 1.0);
        let mut pt = RnsPoly::zero(&b, 1, Form::Evaluation);
        enc.encode_poly(&z, 2f64.powi(40), &mut pt, &mut scratch).unwrap();
        let mut back = vec![Complex64::default(); 64];
        enc.decode_poly(&pt, 2f64.powi(40), &mut back, &mut scratch);
        assert!(precision_bits(&z, &back) > 30.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let b = basis(10, &[50]);
        assert!(Encoder::new(b.clone(), 1024).is_err());
        assert!(Encoder::new(b.clone(), 0).is_err());
        let enc = Encoder::new(b.clone(), 8).unwrap();
        let mut s = EncoderScratch::default();
        let mut pt = RnsPoly::zero(&b, 1, Form::Evaluation);
        assert!(matches!(
            enc.encode_poly(&random(9, 1, 1.0), 2f64.powi(30), &mut pt, &mut s),
            Err(CkksError::TooManyValues { .. })
        ));
        assert!(matches!(
            enc.encode_poly(&random(8, 1, 1.0), f64::NAN, &mut pt, &mut s),
            Err(CkksError::Scale(_))
        ));
        assert!(matches!(
            enc.encode_poly(&[Complex64::new(f64::INFINITY, 0.0)], 2f64.powi(30), &mut pt, &mut s),
            Err(CkksError::Overflow { .. })
        ));
    }
}
