//! Homomorphic polynomial evaluation against the f64 Clenshaw evaluation and the approximated
//! functions, on fresh random inputs: the precision reached and the levels consumed.

use std::f64::consts::PI;

mod common;

use blindtuner_ckks::{
    Ciphertext, CkksError, Complex64, Evaluator, Parameters, ParametersLiteral, Polynomial, PolynomialScratch,
    Precision, presets,
};
use blindtuner_rlwe::EvaluationKeys;
use rand::Rng;

const SLOTS: usize = 2048;

/// The shared set-up (relinearisation key only) with a polynomial scratch, on real slots.
struct Setup {
    keys: common::Setup,
    params: Parameters,
    scratch: PolynomialScratch,
}

fn setup(lit: &ParametersLiteral) -> Setup {
    let keys = common::setup_with(lit, SLOTS, &[], true);
    Setup {
        params: keys.params.clone(),
        scratch: PolynomialScratch::new(&keys.params),
        keys,
    }
}

/// N = 2^12 with 9 levels at scale 2^40: room for degree 127 (depth 7) and two levels to spare.
fn deep() -> ParametersLiteral {
    ParametersLiteral {
        log_q: [55].into_iter().chain([40; 9]).collect(),
        ..presets::toy_n12()
    }
}

impl Setup {
    fn uniform(&mut self, a: f64, b: f64) -> Vec<f64> {
        (0..SLOTS).map(|_| self.keys.rng.random_range(a..b)).collect()
    }

    /// Random coefficients in [-1, 1].
    fn coefficients(&mut self, degree: usize) -> Vec<f64> {
        (0..=degree).map(|_| self.keys.rng.random_range(-1.0..1.0)).collect()
    }

    fn encrypt(&mut self, values: &[f64], level: usize) -> Ciphertext {
        let z: Vec<Complex64> = values.iter().map(|&v| Complex64::new(v, 0.0)).collect();
        self.keys.encrypt_secret(&z, level)
    }

    /// Evaluates `p` on an encryption of `x` at `level`; checks the level consumed and the
    /// canonical scale of the result, and returns the decrypted slots.
    fn evaluate(&mut self, p: &Polynomial, x: &[f64], level: usize) -> Vec<f64> {
        let ct = self.encrypt(x, level);
        let mut out = Ciphertext::new(&self.params, level, SLOTS);
        self.keys
            .eval
            .evaluate_polynomial(&ct, p, &mut out, &mut self.scratch)
            .unwrap();
        assert_eq!(
            level - out.level(),
            p.depth(),
            "levels consumed at degree {}",
            p.degree()
        );
        self.keys.assert_canonical(&out);
        self.keys.decrypt(&out).iter().map(|z| z.re).collect()
    }
}

/// Asserts `got` matches `want` to `bits` bits in the worst slot.
fn check(what: &str, want: &[f64], got: &[f64], bits: f64) {
    let p = Precision::of_real(want, got);
    assert!(
        p.min_bits >= bits,
        "{what}: {:.1} bits in the worst slot (mean {:.1}), wanted {bits}",
        p.min_bits,
        p.mean_bits
    );
}

#[test]
fn random_polynomials_match_their_f64_evaluation() {
    let mut s = setup(&presets::toy_n12());
    let top = s.params.max_level();
    // Degree 16 has a constant quotient by T_16, folded into a leaf.
    for (degree, bits) in [(7, 21.0), (16, 18.0), (31, 17.0)] {
        let coeffs = s.coefficients(degree);
        let p = Polynomial::chebyshev(coeffs, -1.0, 1.0).unwrap();
        let x = s.uniform(-1.0, 1.0);
        let got = s.evaluate(&p, &x, top);
        let want: Vec<f64> = x.iter().map(|&v| p.evaluate(v)).collect();
        check(&format!("degree {degree}"), &want, &got, bits);
    }
}

#[test]
fn odd_and_even_functions_pay_for_their_parity_only() {
    let mut s = setup(&presets::toy_n12());
    let sine = |x: f64| (2.0 * PI * x).sin();
    let p = Polynomial::interpolate(sine, 31, -1.0, 1.0).unwrap();
    assert!(p.coefficients().iter().step_by(2).all(|&c| c == 0.0));
    let dense = Polynomial::chebyshev(s.coefficients(31), -1.0, 1.0).unwrap();
    assert_eq!(p.depth(), dense.depth());
    assert!(
        p.products() < dense.products(),
        "{} products, {} for a dense polynomial",
        p.products(),
        dense.products()
    );
    let x = s.uniform(-1.0, 1.0);
    let got = s.evaluate(&p, &x, s.params.max_level());
    let want: Vec<f64> = x.iter().map(|&v| sine(v)).collect();
    check("sin(2 pi x)", &want, &got, 23.0);

    let cosine = |x: f64| (2.0 * PI * x).cos();
    let p = Polynomial::interpolate(cosine, 30, -1.0, 1.0).unwrap();
    assert!(p.coefficients().iter().skip(1).step_by(2).all(|&c| c == 0.0));
    assert!(p.products() < Polynomial::chebyshev(s.coefficients(30), -1.0, 1.0).unwrap().products());
    let got = s.evaluate(&p, &x, s.params.max_level());
    let want: Vec<f64> = x.iter().map(|&v| cosine(v)).collect();
    check("cos(2 pi x)", &want, &got, 21.0);
}

#[test]
fn exponential_on_a_shifted_interval() {
    let mut s = setup(&presets::toy_n12());
    let p = Polynomial::interpolate(f64::exp, 15, -8.0, 0.0).unwrap();
    // 2 / (b - a) = 1/4 is not an integer: the affine map takes a level.
    assert_eq!(p.depth(), 5);
    let x = s.uniform(-8.0, 0.0);
    let got = s.evaluate(&p, &x, s.params.max_level());
    let want: Vec<f64> = x.iter().map(|&v| p.evaluate(v)).collect();
    check("exp, against the polynomial", &want, &got, 24.0);
    let want: Vec<f64> = x.iter().map(|&v| v.exp()).collect();
    check("exp, against the function", &want, &got, 24.0);

    // On [0, 1] the map is t = 2x - 1, exact: no level beyond ceil(log2(d + 1)).
    let inverse = |x: f64| 1.0 / (1.0 + x);
    let p = Polynomial::interpolate(inverse, 15, 0.0, 1.0).unwrap();
    assert_eq!(p.depth(), 4);
    let x = s.uniform(0.0, 1.0);
    let got = s.evaluate(&p, &x, s.params.max_level());
    let want: Vec<f64> = x.iter().map(|&v| inverse(v)).collect();
    check("1 / (1 + x) on [0, 1]", &want, &got, 25.0);
}

#[test]
fn deep_polynomials_consume_exactly_their_depth() {
    let mut s = setup(&deep());
    let top = s.params.max_level();
    for (degree, depth, bits) in [(63, 6, 15.0), (127, 7, 12.0)] {
        let p = Polynomial::chebyshev(s.coefficients(degree), -1.0, 1.0).unwrap();
        assert_eq!(p.depth(), depth);
        let x = s.uniform(-1.0, 1.0);
        let want: Vec<f64> = x.iter().map(|&v| p.evaluate(v)).collect();
        // From the top and from the lowest level that can hold it (the result lands on level 0).
        for level in [top, depth] {
            let got = s.evaluate(&p, &x, level);
            check(&format!("degree {degree} from level {level}"), &want, &got, bits);
        }
    }
}

#[test]
fn constants_and_misuse() {
    let mut s = setup(&presets::toy_n12());
    let x = s.uniform(-1.0, 1.0);
    let constant = Polynomial::chebyshev([0.75, 0.0, 0.0], -1.0, 1.0).unwrap();
    assert_eq!((constant.degree(), constant.depth()), (0, 0));
    let got = s.evaluate(&constant, &x, 2);
    check("a constant", &[0.75; SLOTS], &got, 30.0);

    let p = Polynomial::chebyshev(s.coefficients(15), -1.0, 1.0).unwrap();
    let ct = s.encrypt(&x, 3);
    let mut out = ct.clone();
    assert_eq!(
        s.keys.eval.evaluate_polynomial(&ct, &p, &mut out, &mut s.scratch),
        Err(CkksError::LevelTooLow { needed: 4, level: 3 })
    );
    // An unrescaled product leaves the leaf constants no precision: refused.
    let top = s.params.max_level();
    let ct = s.encrypt(&x, top);
    let mut squared = ct.clone();
    s.keys
        .eval
        .mul_relin(
            &ct,
            &ct,
            &mut squared,
            &mut blindtuner_ckks::EvaluatorScratch::new(&s.params),
        )
        .unwrap();
    assert!(matches!(
        s.keys.eval.evaluate_polynomial(&squared, &p, &mut out, &mut s.scratch),
        Err(CkksError::ScaleTooLarge { .. })
    ));
    // Without the relinearisation key.
    let other = Evaluator::new(&s.params, EvaluationKeys::default()).unwrap();
    assert_eq!(
        other.evaluate_polynomial(&ct, &p, &mut out, &mut s.scratch),
        Err(CkksError::MissingRelinearizationKey)
    );
}
