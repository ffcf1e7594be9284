//! Every evaluator operation against an f64 / complex reference on fresh random inputs, with the
//! precision it must reach at the toy N = 2^12 set (scale 2^40, 6 levels).

mod common;

use blindtuner_ckks::{
    Ciphertext, CkksError, Complex64, Encoder, EncoderScratch, Encryptor, ParametersLiteral, Plaintext,
    SCALE_TOLERANCE, presets,
};
use blindtuner_rlwe::KeyGenerator;
use common::{Setup, setup, setup_with, zip};

#[test]
fn additions_subtractions_negation_and_constants() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let (x, y) = (s.random(), s.random());
    let (a, b) = (s.encrypt(&x, top), s.encrypt(&y, top));
    let mut out = s.out();

    s.eval.add(&a, &b, &mut out, &mut s.scratch).unwrap();
    s.check("a + b", &out, &zip(&x, &y, |p, q| p + q), 22.0);
    s.eval.sub(&a, &b, &mut out, &mut s.scratch).unwrap();
    s.check("a - b", &out, &zip(&x, &y, |p, q| p - q), 22.0);
    s.eval.neg(&a, &mut out).unwrap();
    s.check("-a", &out, &zip(&x, &y, |p, _| -p), 22.0);

    let mut acc = a.clone();
    s.eval.add_assign(&mut acc, &b, &mut s.scratch).unwrap();
    s.eval.sub_assign(&mut acc, &a, &mut s.scratch).unwrap();
    s.check("a + b - a", &acc, &y, 22.0);

    let pt = s.encode(&y, top, a.scale());
    s.eval.add_plain(&a, &pt, &mut out).unwrap();
    s.check("a + pt", &out, &zip(&x, &y, |p, q| p + q), 22.0);
    s.eval.sub_plain(&a, &pt, &mut out).unwrap();
    s.check("a - pt", &out, &zip(&x, &y, |p, q| p - q), 22.0);

    for c in [Complex64::new(0.25, 0.0), Complex64::new(-1.5, 0.75)] {
        s.eval.add_const(&a, c, &mut out, &mut s.scratch).unwrap();
        s.check("a + c", &out, &zip(&x, &y, |p, _| p + c), 22.0);
    }
    s.eval.mul_int(&a, -3, &mut out, &mut s.scratch).unwrap();
    s.check("-3 a", &out, &zip(&x, &y, |p, _| -3.0 * p), 20.0);
}

#[test]
fn products_relinearise_and_rescale_onto_the_canonical_chain() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let (x, y) = (s.random(), s.random());
    let (a, b) = (s.encrypt(&x, top), s.encrypt(&y, top));
    let mut out = s.out();
    s.eval.mul_relin(&a, &b, &mut out, &mut s.scratch).unwrap();
    s.eval.rescale_assign(&mut out, &mut s.scratch).unwrap();
    assert_eq!(out.level(), top - 1);
    s.assert_canonical(&out);
    s.check("a b", &out, &zip(&x, &y, |p, q| p * q), 21.0);

    // Lazy relinearisation: a b + a a from two tensors and one key switch.
    let mut product = blindtuner_ckks::Product::new(&s.params, top, s.slots());
    let mut square = product.clone();
    s.eval.tensor(&a, &b, &mut product, &mut s.scratch).unwrap();
    s.eval.tensor(&a, &a, &mut square, &mut s.scratch).unwrap();
    s.eval.add_product(&mut product, &square).unwrap();
    s.eval.relinearize(&product, &mut out, &mut s.scratch).unwrap();
    s.eval.rescale_assign(&mut out, &mut s.scratch).unwrap();
    s.check("a b + a a", &out, &zip(&x, &y, |p, q| p * q + p * p), 20.0);

    // Squaring down the whole chain on the unit circle, where powers stay of size one.
    let z: Vec<Complex64> = x.iter().map(|v| Complex64::from_polar(1.0, v.re * 3.0)).collect();
    let mut ct = s.encrypt(&z, top);
    let mut want = z.clone();
    for level in (0..top).rev() {
        s.eval.mul_relin(&ct, &ct.clone(), &mut out, &mut s.scratch).unwrap();
        s.eval.rescale(&out, &mut ct, &mut s.scratch).unwrap();
        want.iter_mut().for_each(|w| *w = *w * *w);
        assert_eq!(ct.level(), level);
        s.assert_canonical(&ct);
    }
    // Each squaring doubles the relative error: about one bit per level.
    s.check("z^64", &ct, &want, 16.0);
}

#[test]
fn plaintext_and_constant_factors_land_on_the_canonical_chain() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let (x, y) = (s.random(), s.random());
    let a = s.encrypt(&x, top);
    let mut out = s.out();

    let pt = s.encode(&y, top, s.eval.factor_scale(&a).unwrap());
    s.eval.mul_plain(&a, &pt, &mut out).unwrap();
    s.eval.rescale_assign(&mut out, &mut s.scratch).unwrap();
    s.assert_canonical(&out);
    s.check("a pt", &out, &zip(&x, &y, |p, q| p * q), 21.0);

    for c in [
        Complex64::new(0.3, 0.0),
        Complex64::new(-1.25, 0.0),
        Complex64::new(0.3, -1.7),
    ] {
        s.eval.mul_const(&a, c, &mut out, &mut s.scratch).unwrap();
        s.eval.rescale_assign(&mut out, &mut s.scratch).unwrap();
        s.assert_canonical(&out);
        s.check("c a", &out, &zip(&x, &y, |p, _| p * c), 21.0);
    }
}

#[test]
fn ciphertexts_of_different_histories_combine_exactly() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let (x, y) = (s.random(), s.random());
    let (a, b) = (s.encrypt(&x, top), s.encrypt(&y, top));
    // b^2 c: two levels below a, on the canonical scale of its level.
    let mut low = s.out();
    s.eval.mul_relin(&b, &b, &mut low, &mut s.scratch).unwrap();
    s.eval.rescale_assign(&mut low, &mut s.scratch).unwrap();
    let mut tmp = s.out();
    s.eval
        .mul_const(&low, Complex64::new(0.5, 0.0), &mut tmp, &mut s.scratch)
        .unwrap();
    s.eval.rescale(&tmp, &mut low, &mut s.scratch).unwrap();
    assert_eq!(low.level(), top - 2);
    let low_want: Vec<Complex64> = y.iter().map(|v| v * v * 0.5).collect();
    // The top-level operand has another scale: it is lowered exactly, in either position.
    assert!(((a.scale() - low.scale()) / low.scale()).abs() > SCALE_TOLERANCE);
    let mut out = s.out();
    s.eval.add(&a, &low, &mut out, &mut s.scratch).unwrap();
    assert_eq!(out.level(), top - 2);
    s.check("a + low", &out, &zip(&x, &low_want, |p, q| p + q), 21.0);
    s.eval.sub(&low, &a, &mut out, &mut s.scratch).unwrap();
    s.check("low - a", &out, &zip(&x, &low_want, |p, q| q - p), 21.0);

    let mut acc = a.clone();
    s.eval.add_assign(&mut acc, &low, &mut s.scratch).unwrap();
    s.check("acc(a) += low", &acc, &zip(&x, &low_want, |p, q| p + q), 21.0);
    let mut acc = low.clone();
    s.eval.add_assign(&mut acc, &a, &mut s.scratch).unwrap();
    s.check("acc(low) += a", &acc, &zip(&x, &low_want, |p, q| p + q), 21.0);

    s.eval.mul_relin(&a, &low, &mut out, &mut s.scratch).unwrap();
    s.eval.rescale_assign(&mut out, &mut s.scratch).unwrap();
    s.assert_canonical(&out);
    s.check("a low", &out, &zip(&x, &low_want, |p, q| p * q), 21.0);

    // lower_to brings a ciphertext to any level on its canonical scale.
    s.eval
        .lower_to(&a, 1, s.params.scale_at(1), &mut out, &mut s.scratch)
        .unwrap();
    assert_eq!(out.level(), 1);
    s.assert_canonical(&out);
    s.check("a lowered", &out, &x, 21.0);
}

#[test]
fn rotations_conjugation_and_sums_permute_the_slots() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let x = s.random();
    let a = s.encrypt(&x, top);
    let n = s.slots();
    let rotated = |k: i64| -> Vec<Complex64> {
        (0..n)
            .map(|i| x[(i as i64 + k).rem_euclid(n as i64) as usize])
            .collect()
    };
    let ks: Vec<i64> = vec![1, -1, 3, 5, -7, 0, n as i64 + 1];
    let mut outs: Vec<Ciphertext> = ks.iter().map(|_| s.out()).collect();
    s.eval.rotate_hoisted(&a, &ks, &mut outs, &mut s.scratch).unwrap();
    let mut one = s.out();
    for (&k, hoisted) in ks.iter().zip(&outs) {
        s.eval.rotate(&a, k, &mut one, &mut s.scratch).unwrap();
        s.check(&format!("rotate {k}"), &one, &rotated(k), 22.0);
        assert_eq!(&one, hoisted, "hoisted rotation by {k} differs");
    }
    s.eval.conjugate(&a, &mut one, &mut s.scratch).unwrap();
    s.check("conjugate", &one, &x.iter().map(|v| v.conj()).collect::<Vec<_>>(), 22.0);

    for len in [8, n] {
        s.eval.rotate_and_sum(&a, len, &mut one, &mut s.scratch).unwrap();
        let want: Vec<Complex64> = (0..n).map(|i| (0..len).map(|j| x[(i + j) % n]).sum()).collect();
        // Sums of up to 2048 values: the absolute error grows with the magnitude.
        s.check(
            &format!("sum of {len}"),
            &one,
            &want,
            if len == 8 { 21.0 } else { 19.0 },
        );
    }
}

#[test]
fn sparse_slots_rotate_within_their_count() {
    let mut s = setup(64);
    let x = s.random();
    let a = s.encrypt(&x, 3);
    let mut out = s.out();
    for k in [1i64, -1, 5] {
        s.eval.rotate(&a, k, &mut out, &mut s.scratch).unwrap();
        let want: Vec<Complex64> = (0..64).map(|i| x[(i as i64 + k).rem_euclid(64) as usize]).collect();
        s.check(&format!("sparse rotate {k}"), &out, &want, 22.0);
    }
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let mut s = setup(2048);
    let top = s.params.max_level();
    let x = s.random();
    let a = s.encrypt(&x, top);
    let mut out = s.out();
    assert!(matches!(
        s.eval.rotate(&a, 11, &mut out, &mut s.scratch),
        Err(CkksError::MissingRotationKey { step: 11, .. })
    ));
    let mut bottom = s.encrypt(&x, 0);
    assert!(matches!(
        s.eval.rescale_assign(&mut bottom, &mut s.scratch),
        Err(CkksError::LevelTooLow { .. })
    ));
    assert!(matches!(
        s.eval
            .mul_const(&bottom, Complex64::new(2.0, 0.0), &mut out, &mut s.scratch),
        Err(CkksError::LevelTooLow { .. })
    ));
    // An unrescaled product at the level of a canonical ciphertext: different scales, one level.
    let mut product = s.out();
    s.eval.mul_relin(&a, &a, &mut product, &mut s.scratch).unwrap();
    assert!(matches!(
        s.eval.add(&a, &product, &mut out, &mut s.scratch),
        Err(CkksError::ScaleMismatch { .. })
    ));
    assert!(matches!(
        s.eval.factor_scale(&product),
        Err(CkksError::ScaleTooLarge { .. })
    ));

    // Another parameter set's ciphertext, another slot count.
    let mut other = setup_with(
        &ParametersLiteral {
            log_default_scale: 39,
            ..presets::toy_n12()
        },
        2048,
        &[],
        false,
    );
    let foreign = other.encrypt(&x, top);
    assert!(matches!(
        s.eval.add(&a, &foreign, &mut out, &mut s.scratch),
        Err(CkksError::ForeignCiphertext { .. })
    ));
    assert!(matches!(
        s.decryptor.decrypt_new(&foreign),
        Err(CkksError::ForeignCiphertext { .. })
    ));
    assert!(matches!(
        other.eval.mul_relin(&foreign, &foreign, &mut out, &mut other.scratch),
        Err(CkksError::MissingRelinearizationKey)
    ));
    let e = s.eval.add(&a, &sparse_in(&s, &x[..64]), &mut out, &mut s.scratch);
    assert!(matches!(e, Err(CkksError::SlotMismatch(2048, 64))), "{e:?}");
    assert!(matches!(
        s.eval.rotate_and_sum(&a, 3, &mut out, &mut s.scratch),
        Err(CkksError::SumLength { n: 3, .. })
    ));
}

/// An encryption of `values` in 64 slots under `s`'s parameters (with a fresh secret key: only
/// the slot count matters here).
fn sparse_in(s: &Setup, values: &[Complex64]) -> Ciphertext {
    let encoder = Encoder::new(s.params.rlwe().ring_q().clone(), 64).unwrap();
    let (level, scale) = (s.params.max_level(), s.params.default_scale());
    let mut pt = Plaintext::new(&s.params, level, scale, 64);
    encoder
        .encode(values, scale, &mut pt, &mut EncoderScratch::default())
        .unwrap();
    let sk = KeyGenerator::new(s.params.rlwe()).unwrap().secret_key();
    let mut ct = Ciphertext::new(&s.params, level, 64);
    Encryptor::with_secret_key(&s.params, sk)
        .unwrap()
        .encrypt(&pt, &mut ct)
        .unwrap();
    ct
}

#[test]
fn one_evaluator_serves_many_threads() {
    use rayon::prelude::*;
    fn shareable<T: Send + Sync>(_: &T) {}
    let mut s = setup(2048);
    shareable(&s.eval);
    let top = s.params.max_level();
    let inputs: Vec<Vec<Complex64>> = (0..4).map(|_| s.random()).collect();
    let cts: Vec<Ciphertext> = inputs.iter().map(|x| s.encrypt(x, top)).collect();
    let eval = &s.eval;
    let square = |ct: &Ciphertext, scratch: &mut blindtuner_ckks::EvaluatorScratch| {
        let mut out = ct.clone();
        eval.mul_relin(ct, ct, &mut out, scratch).unwrap();
        eval.rescale_assign(&mut out, scratch).unwrap();
        out
    };
    // Across ciphertexts, one scratch per worker: the same results as one thread.
    let parallel: Vec<Ciphertext> = cts
        .par_iter()
        .map_init(
            || blindtuner_ckks::EvaluatorScratch::new(&s.params),
            |scratch, ct| square(ct, scratch),
        )
        .collect();
    let mut scratch = blindtuner_ckks::EvaluatorScratch::new(&s.params);
    let sequential: Vec<Ciphertext> = cts.iter().map(|ct| square(ct, &mut scratch)).collect();
    assert_eq!(sequential, parallel);
    for (got, x) in parallel.iter().zip(&inputs) {
        let want: Vec<Complex64> = x.iter().map(|v| v * v).collect();
        s.check("x^2 in parallel", got, &want, 21.0);
    }
}
