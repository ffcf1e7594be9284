//! Achieved precision of approximate results against an exact reference.

use num_complex::Complex64;

/// Precision of a slot vector against its f64 reference: `-log2` of the mean and of the largest
/// absolute error over the slots (the convention of Lattigo's and OpenFHE's reports).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precision {
    /// `-log2(mean |error|)`.
    pub mean_bits: f64,
    /// `-log2(max |error|)`: the worst slot.
    pub min_bits: f64,
    /// The largest absolute error.
    pub max_error: f64,
}

impl Precision {
    /// Compares `got` with `want`, slot by slot (over the shorter length).
    pub fn of(want: &[Complex64], got: &[Complex64]) -> Precision {
        let count = want.len().min(got.len()).max(1) as f64;
        let (sum, max) = want
            .iter()
            .zip(got)
            .map(|(w, g)| (w - g).norm())
            .fold((0.0, 0.0f64), |(s, m), e| (s + e, m.max(e)));
        Precision {
            mean_bits: -(sum / count).log2(),
            min_bits: -max.log2(),
            max_error: max,
        }
    }

    /// The same for real vectors.
    pub fn of_real(want: &[f64], got: &[f64]) -> Precision {
        let c = |v: &[f64]| v.iter().map(|&x| Complex64::new(x, 0.0)).collect::<Vec<_>>();
        Self::of(&c(want), &c(got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_minus_log2_of_the_errors() {
        let want = [1.0, 2.0, 3.0, 4.0];
        let got = [1.0 + 2f64.powi(-10), 2.0 - 2f64.powi(-20), 3.0, 4.0];
        let p = Precision::of_real(&want, &got);
        assert_eq!(p.min_bits, 10.0);
        assert_eq!(p.max_error, 2f64.powi(-10));
        let mean = (2f64.powi(-10) + 2f64.powi(-20)) / 4.0;
        assert!((p.mean_bits + mean.log2()).abs() < 1e-12);
    }
}
