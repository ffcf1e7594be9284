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
//!
//! A ciphertext `y` may multiply the whole polynomial the same way ([`evaluate_times`]): every
//! coefficient becomes the ciphertext `c_i y`, so `y p(x)` takes the masked depth of `p` from
//! `x` when `y` has a level more than `x`, where multiplying `p(x)` by `y` afterwards would take
//! one more (HETAL's `max(a, b) = b + d t(d)` ends on such a product).

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

/// `c v` slot-wise.
pub(crate) fn scaled(mask: &[f64], c: f64) -> Vec<f64> {
    mask.iter().map(|v| v * c).collect()
}

/// What multiplies every coefficient.
enum Coefficients<'a, Ct> {
    Scalars,
    Masked(&'a [f64]),
    /// A ciphertext, masked or not.
    Times(&'a Ct, Option<&'a [f64]>),
}

struct Evaluator<'a, C: Cloud> {
    cloud: &'a C,
    coefficients: Coefficients<'a, C::Ciphertext>,
    /// `x^(2^m)` at index `m`.
    powers: Vec<C::Ciphertext>,
}

impl<C: Cloud> Evaluator<'_, C>
where
    C::Ciphertext: Clone,
{
    /// `x^(2^m)`, made up front for every `m` up to the polynomial's `log2` degree.
    fn power(&self, m: usize) -> &C::Ciphertext {
        &self.powers[m]
    }

    /// The coefficient `c` as a ciphertext (with a factor `y`: `c y`, masked), or `None` when it
    /// is a constant.
    fn coefficient(&self, c: f64) -> Result<Option<C::Ciphertext>, BackendError> {
        Ok(match self.coefficients {
            Coefficients::Times(y, Some(mask)) => Some(self.cloud.mul_plain(y, &scaled(mask, c))?),
            Coefficients::Times(y, None) if c == 1.0 => Some(y.clone()),
            Coefficients::Times(y, None) => Some(self.cloud.mul_scalar(y, c)?),
            _ => None,
        })
    }

    /// `c x^(2^m)` (times the mask or the factor).
    fn scaled_power(&self, m: usize, c: f64) -> Result<C::Ciphertext, BackendError> {
        let coefficient = self.coefficient(c)?;
        let power = self.power(m);
        match (&self.coefficients, coefficient) {
            (_, Some(y)) => self.cloud.mul(power, &y),
            (Coefficients::Masked(mask), None) => self.cloud.mul_plain(power, &scaled(mask, c)),
            _ if c == 1.0 => Ok(power.clone()),
            _ => self.cloud.mul_scalar(power, c),
        }
    }

    /// `ct + c` (times the mask or the factor).
    fn add_constant(&self, ct: C::Ciphertext, c: f64) -> Result<C::Ciphertext, BackendError> {
        if c == 0.0 {
            return Ok(ct);
        }
        match (&self.coefficients, self.coefficient(c)?) {
            (_, Some(y)) => self.cloud.add(&ct, &y),
            (Coefficients::Masked(mask), None) => self.cloud.add_plain(&ct, &scaled(mask, c)),
            _ => self.cloud.add_scalar(&ct, c),
        }
    }

    /// The two halves side by side: independent products keep the threads busier than
    /// splitting each product's limbs.
    fn eval(&self, coeffs: &[f64]) -> Result<Part<C::Ciphertext>, BackendError> {
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
        let (low, high) = rayon::join(|| self.eval(&coeffs[..1 << m]), || self.eval(&coeffs[1 << m..=d]));
        let (low, high) = (low?, high?);
        let term = match high.ct {
            None => self.scaled_power(m, high.constant)?,
            Some(h) => {
                let h = self.add_constant(h, high.constant)?;
                self.cloud.mul(self.power(m), &h)?
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
    let coefficients = mask.map_or(Coefficients::Scalars, Coefficients::Masked);
    run(cloud, x, coeffs, coefficients)
}

/// `y Σ coeffs[i] x^i`, times `mask` slot-wise if given; the degree must be at least 1. It takes
/// [`depth`]`(coeffs, true)` levels from `x` when `y` has more levels than `x`.
pub(crate) fn evaluate_times<C: Cloud>(
    cloud: &C,
    x: &C::Ciphertext,
    coeffs: &[f64],
    y: &C::Ciphertext,
    mask: Option<&[f64]>,
) -> Result<C::Ciphertext, BackendError>
where
    C::Ciphertext: Clone,
{
    run(cloud, x, coeffs, Coefficients::Times(y, mask))
}

fn run<C: Cloud>(
    cloud: &C,
    x: &C::Ciphertext,
    coeffs: &[f64],
    coefficients: Coefficients<'_, C::Ciphertext>,
) -> Result<C::Ciphertext, BackendError>
where
    C::Ciphertext: Clone,
{
    let mut powers = vec![x.clone()];
    for _ in 0..degree(coeffs).max(1).ilog2() {
        let last = powers.last().expect("x itself is the first power");
        powers.push(cloud.mul(last, last)?);
    }
    let ev = Evaluator {
        cloud,
        coefficients,
        powers,
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

/// The Chebyshev polynomials `T_0 .. T_n` of `ℓ(x) = (2x - a - b) / (b - a)`, which maps
/// `[a, b]` onto `[-1, 1]`, as monomial coefficients in `x`, by `T_(k+1) = 2 ℓ T_k - T_(k-1)`.
pub(crate) fn chebyshev_basis(n: usize, (a, b): (f64, f64)) -> Vec<Vec<f64>> {
    let line = [-(a + b) / (b - a), 2.0 / (b - a)];
    let mut basis = vec![vec![1.0], line.to_vec()];
    while basis.len() <= n {
        let (previous, last) = (&basis[basis.len() - 2], &basis[basis.len() - 1]);
        let mut next = vec![0.0; last.len() + 1];
        for (i, c) in last.iter().enumerate() {
            next[i] += 2.0 * line[0] * c;
            next[i + 1] += 2.0 * line[1] * c;
        }
        next.iter_mut().zip(previous).for_each(|(v, p)| *v -= p);
        basis.push(next);
    }
    basis.truncate(n + 1);
    basis
}

/// The polynomial of degree `n` that interpolates `f` at the `n + 1` Chebyshev nodes of
/// `[a, b]` (within a small factor of the best uniform approximation of that degree for smooth
/// `f`), as monomial coefficients: `Σ_j c_j T_j(ℓ(x))` with
/// `c_j = (2 - [j = 0]) / (n + 1) Σ_k f(x_k) cos(j θ_k)`, `θ_k = π (k + 1/2) / (n + 1)`.
pub(crate) fn chebyshev_interpolant(f: impl Fn(f64) -> f64, n: usize, (a, b): (f64, f64)) -> Vec<f64> {
    let theta = |k: usize| std::f64::consts::PI * (k as f64 + 0.5) / (n + 1) as f64;
    let values: Vec<f64> = (0..=n)
        .map(|k| f((b - a) / 2.0 * theta(k).cos() + (a + b) / 2.0))
        .collect();
    let mut coeffs = vec![0.0; n + 1];
    for (j, t) in chebyshev_basis(n, (a, b)).iter().enumerate() {
        let weight = if j == 0 { 1.0 } else { 2.0 } / (n + 1) as f64;
        let c = weight * (0..=n).map(|k| values[k] * (j as f64 * theta(k)).cos()).sum::<f64>();
        coeffs.iter_mut().zip(t).for_each(|(v, t)| *v += c * t);
    }
    coeffs
}

#[cfg(test)]
mod tests {
    use blindtuner_backend::plain::PlainBackend;
    use blindtuner_backend::{Backend, Client};

    use super::*;

    fn value(coeffs: &[f64], x: f64) -> f64 {
        coeffs.iter().rev().fold(0.0, |acc, c| acc * x + c)
    }

    #[test]
    fn chebyshev_interpolants_match_their_function() {
        let basis = chebyshev_basis(4, (1.0, 3.0));
        // T_2(x - 2) = 2 (x - 2)^2 - 1.
        assert_eq!(basis[2], vec![7.0, -8.0, 2.0]);
        let q = chebyshev_interpolant(|x| (4.0 * x).exp(), 7, (-1.0, 0.0));
        let worst = (0..=1000)
            .map(|i| -(i as f64) / 1000.0)
            .map(|x| (value(&q, x) - (4.0 * x).exp()).abs())
            .fold(0.0, f64::max);
        // The error of the best degree-7 approximation of e^(4x) on [-1, 0] is about 3e-6.
        assert!(worst < 1e-5 && worst > 1e-7, "{worst:e}");
        let cubic = chebyshev_interpolant(|x| x * x * x - x, 3, (-2.0, 5.0));
        cubic
            .iter()
            .zip([0.0, -1.0, 0.0, 1.0])
            .for_each(|(got, want)| assert!((got - want).abs() < 1e-12, "{cubic:?}"));
    }

    #[test]
    fn a_ciphertext_factor_rides_on_the_coefficients_at_the_masked_depth() {
        let (slots, top) = (16, 12);
        let (mut client, cloud) = PlainBackend::new(slots, top).unwrap().keygen(&[]).unwrap();
        let xs: Vec<f64> = (0..slots).map(|i| (i as f64 / slots as f64) * 1.8 - 0.9).collect();
        let ys: Vec<f64> = (0..slots)
            .map(|i| 0.5 - (i * 7 % slots) as f64 / slots as f64)
            .collect();
        let mask: Vec<f64> = (0..slots).map(|i| f64::from(u8::from(i % 3 == 0))).collect();
        // x one level below y, as in the max's rounds.
        let x = cloud.mul_scalar(&client.encrypt(&xs).unwrap(), 1.0).unwrap();
        let y = client.encrypt(&ys).unwrap();
        let half_f = [0.0, 35.0 / 32.0, 0.0, -35.0 / 32.0, 0.0, 21.0 / 32.0, 0.0, -5.0 / 32.0];
        let general = [0.3, -1.2, 0.5, 0.0, 2.0, 0.0, 0.0, 1.0, -0.25];
        for coeffs in [&half_f[..], &general[..]] {
            for m in [None, Some(mask.as_slice())] {
                let got = evaluate_times(&cloud, &x, coeffs, &y, m).unwrap();
                assert_eq!(cloud.level(&x) - cloud.level(&got), depth(coeffs, true), "{coeffs:?}");
                let got = client.decrypt(&got).unwrap();
                for i in 0..slots {
                    let want = ys[i] * value(coeffs, xs[i]) * m.map_or(1.0, |m| m[i]);
                    assert!(
                        (got[i] - want).abs() < 1e-12,
                        "{coeffs:?}, slot {i}: {} vs {want}",
                        got[i]
                    );
                }
            }
        }
        // Multiplying afterwards takes one level more.
        let p = evaluate(&cloud, &x, &half_f, None).unwrap();
        assert_eq!(
            cloud.level(&x) - cloud.level(&cloud.mul(&p, &y).unwrap()),
            depth(&half_f, true) + 1
        );
    }
}
