//! Polynomials on ciphertexts at minimal depth in the trait's cost model: every product (by a
//! ciphertext, a plaintext or a constant) costs a level, adding a constant is free.
//!
//! `p(x) = Σ c_i x^i` of degree `d >= 2` splits at the largest power of two `2^m <= d` into
//! `p = low + x^(2^m) high` with `deg low < 2^m` and `deg high = d - 2^m`, recursively; the powers
//! `x^(2^m)` come from repeated squaring and are shared. A term `c x` costs a level unless
//! `c = 1`, so `depth(p) = max(depth(low), 1 + max(m, depth(high)))`: `ceil(log2(d + 1))` for
//! monic polynomials and for odd ones of degree `2^m - 1` (degree 7 in 3 levels and 5 products).
//! A slot mask may multiply the whole polynomial: it is folded into the coefficients, so every
//! term pays its coefficient product (free of extra depth when no coefficient is 1).

use blindtuner_backend::{BackendError, Cloud};

/// The index of the highest nonzero coefficient (0 for a constant).
fn degree(coeffs: &[f64]) -> usize {
    coeffs.iter().rposition(|&c| c != 0.0).unwrap_or(0)
}

/// A polynomial's value: the non-constant part (none for a constant) and the constant, added
/// where it costs nothing.
struct Part<Ct> {
    ct: Option<Ct>,
    constant: f64,
}

struct Evaluator<'a, C: Cloud> {
    cloud: &'a C,
    mask: Option<&'a [f64]>,
    /// `x^(2^m)` at index `m`.
    powers: Vec<C::Ciphertext>,
}

impl<C: Cloud> Evaluator<'_, C>
where
    C::Ciphertext: Clone,
{
    /// `x^(2^m)`, squaring as far as needed.
    fn power(&mut self, m: usize) -> Result<&C::Ciphertext, BackendError> {
        while self.powers.len() <= m {
            let last = self.powers.last().expect("x itself is the first power");
            let square = self.cloud.mul(last, last)?;
            self.powers.push(square);
        }
        Ok(&self.powers[m])
    }

    /// `c x^(2^m)` (times the mask).
    fn scaled_power(&mut self, m: usize, c: f64) -> Result<C::Ciphertext, BackendError> {
        self.power(m)?;
        let power = &self.powers[m];
        match self.mask {
            Some(mask) => self
                .cloud
                .mul_plain(power, &mask.iter().map(|v| v * c).collect::<Vec<_>>()),
            None if c == 1.0 => Ok(power.clone()),
            None => self.cloud.mul_scalar(power, c),
        }
    }

    /// `ct + c` (times the mask).
    fn add_constant(&self, ct: C::Ciphertext, c: f64) -> Result<C::Ciphertext, BackendError> {
        match self.mask {
            _ if c == 0.0 => Ok(ct),
            Some(mask) => self
                .cloud
                .add_plain(&ct, &mask.iter().map(|v| v * c).collect::<Vec<_>>()),
            None => self.cloud.add_scalar(&ct, c),
        }
    }

    fn eval(&mut self, coeffs: &[f64]) -> Result<Part<C::Ciphertext>, BackendError> {
        let constant = coeffs.first().copied().unwrap_or(0.0);
        let d = degree(coeffs);
        if d == 0 {
            return Ok(Part { ct: None, constant });
        }
        if d == 1 {
            return Ok(Part {
                ct: Some(self.scaled_power(0, coeffs[1])?),
                constant,
            });
        }
        let m = d.ilog2() as usize;
        let low = self.eval(&coeffs[..1 << m])?;
        let high = self.eval(&coeffs[1 << m..=d])?;
        let term = match high.ct {
            None => self.scaled_power(m, high.constant)?,
            Some(h) => {
                let h = self.add_constant(h, high.constant)?;
                self.cloud.mul(self.power(m)?, &h)?
            }
        };
        let ct = match low.ct {
            None => term,
            Some(l) => self.cloud.add(&l, &term)?,
        };
        Ok(Part {
            ct: Some(ct),
            constant: low.constant,
        })
    }
}

/// `Σ coeffs[i] x^i`, times `mask` slot-wise if given; the degree must be at least 1.
pub(crate) fn evaluate<C: Cloud>(
    cloud: &C,
    x: &C::Ciphertext,
    coeffs: &[f64],
    mask: Option<&[f64]>,
) -> Result<C::Ciphertext, BackendError>
where
    C::Ciphertext: Clone,
{
    let mut ev = Evaluator {
        cloud,
        mask,
        powers: vec![x.clone()],
    };
    let part = ev.eval(coeffs)?;
    let ct = part.ct.expect("polynomials of degree at least 1");
    ev.add_constant(ct, part.constant)
}

/// The levels [`evaluate`] consumes for `coeffs` (masked or not).
pub(crate) fn depth(coeffs: &[f64], masked: bool) -> usize {
    fn scaled(base: usize, c: f64, masked: bool) -> usize {
        base + usize::from(masked || c != 1.0)
    }
    fn rec(coeffs: &[f64], masked: bool) -> Option<usize> {
        match degree(coeffs) {
            0 => None,
            1 => Some(scaled(0, coeffs[1], masked)),
            d => {
                let m = d.ilog2() as usize;
                let low = rec(&coeffs[..1 << m], masked).unwrap_or(0);
                let term = match rec(&coeffs[1 << m..=d], masked) {
                    None => scaled(m, coeffs[1 << m], masked),
                    Some(high) => 1 + m.max(high),
                };
                Some(low.max(term))
            }
        }
    }
    rec(coeffs, masked).unwrap_or(0)
}
