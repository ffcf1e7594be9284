//! CoeffsToSlots and SlotsToCoeffs: the factor products against the special FFT in f64, the
//! sparsity of the factors, their rotation counts at N = 2^16, and the encrypted transforms at
//! the toy N = 2^12 set, full and sparse.

mod common;

use blindtuner_ckks::{
    CkksError, Complex64, DftDirection, DftScratch, HomomorphicDft, Precision, SpecialFft, bit_reversed, presets,
};
use common::setup_with;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use DftDirection::{CoeffsToSlots, SlotsToCoeffs};

fn random(n: usize, seed: u64) -> Vec<Complex64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
        .collect()
}

fn max_error(a: &[Complex64], b: &[Complex64]) -> f64 {
    Precision::of(a, b).max_error
}

/// `E z` by the special FFT: `c_k = m'_k + i m'_(k+n)`, in natural order.
fn encode_reference(z: &[Complex64]) -> Vec<Complex64> {
    let n = z.len();
    let fft = SpecialFft::new(n).unwrap();
    let mut scratch = vec![Complex64::default(); fft.scratch_len()];
    let mut coeffs = vec![0.0; 2 * n];
    fft.encode(z, &mut coeffs, &mut scratch);
    (0..n).map(|k| Complex64::new(coeffs[k], coeffs[k + n])).collect()
}

/// `D c` by the special FFT.
fn decode_reference(c: &[Complex64]) -> Vec<Complex64> {
    let n = c.len();
    let fft = SpecialFft::new(n).unwrap();
    let mut scratch = vec![Complex64::default(); fft.scratch_len()];
    let coeffs: Vec<f64> = c.iter().map(|x| x.re).chain(c.iter().map(|x| x.im)).collect();
    let mut z = vec![Complex64::default(); n];
    fft.decode(&coeffs, &mut z, &mut scratch);
    z
}

#[test]
fn the_factors_multiply_to_the_special_fft_in_bit_reversed_coefficient_order() {
    for n in [4usize, 16, 64, 1024, 2048] {
        let depth = n.ilog2() as usize;
        let mut budgets = vec![1, 2, 3, depth];
        budgets.retain(|&b| b <= depth);
        budgets.dedup();
        for b in budgets {
            let seed = (n + b) as u64;
            let cts = HomomorphicDft::new(n, CoeffsToSlots, b, 1.0).unwrap();
            let z = random(n, seed);
            let want = bit_reversed(&encode_reference(&z)).unwrap();
            let err = max_error(&want, &cts.apply(&z));
            assert!(err < 1e-9, "CtS, {n} slots, budget {b}: error {err:e}");

            let stc = HomomorphicDft::new(n, SlotsToCoeffs, b, 1.0).unwrap();
            let c = random(n, seed + 1000);
            let err = max_error(&decode_reference(&c), &stc.apply(&bit_reversed(&c).unwrap()));
            assert!(err < 1e-9, "StC, {n} slots, budget {b}: error {err:e}");

            for dft in [&cts, &stc] {
                assert_eq!(dft.depth(), b);
                assert_eq!(dft.stages().iter().sum::<usize>(), depth);
                let (lo, hi) = (depth / b, depth.div_ceil(b));
                assert!(dft.stages().iter().all(|&r| r == lo || r == hi), "{:?}", dft.stages());
                for (f, &r) in dft.factors().iter().zip(dft.stages()) {
                    assert!(
                        f.diagonal_count() < 1 << (r + 1),
                        "{r} stages, {} diagonals",
                        f.diagonal_count()
                    );
                }
                // The factor with the largest blocks wraps around mod n: 2^r diagonals at most.
                let slot_side = match dft.direction() {
                    CoeffsToSlots => 0,
                    SlotsToCoeffs => b - 1,
                };
                assert!(dft.factors()[slot_side].diagonal_count() <= 1 << dft.stages()[slot_side]);
            }
        }
    }
}

#[test]
fn the_scaling_sits_on_the_coefficient_side_and_the_directions_invert_each_other() {
    let (n, a) = (256, 2f64.powi(-7));
    let z = random(n, 7);
    for b in [2, 4] {
        let cts = HomomorphicDft::new(n, CoeffsToSlots, b, a).unwrap();
        let plain = HomomorphicDft::new(n, CoeffsToSlots, b, 1.0).unwrap();
        assert_eq!(cts.factors()[..b - 1], plain.factors()[..b - 1]);
        let scaled: Vec<Complex64> = plain.apply(&z).iter().map(|x| x * a).collect();
        assert!(max_error(&scaled, &cts.apply(&z)) < 1e-12);

        let stc = HomomorphicDft::new(n, SlotsToCoeffs, b, 1.0 / a).unwrap();
        let plain = HomomorphicDft::new(n, SlotsToCoeffs, b, 1.0).unwrap();
        assert_eq!(stc.factors()[1..], plain.factors()[1..]);
        assert!(max_error(&z, &stc.apply(&cts.apply(&z))) < 1e-12);
    }
}

#[test]
fn rotation_keys_at_n_2_16_full_slots() {
    // Computed from the diagonals alone: no encoding at N = 2^16. Double hoisting makes a baby
    // rotation cheaper than a giant one, so the split favours baby steps (46 keys at budget 3,
    // 36 at budget 4).
    let n = 1 << 15;
    for (b, want) in [(3, vec![10, 18, 18]), (4, vec![8, 10, 10, 8])] {
        let cts = HomomorphicDft::new(n, CoeffsToSlots, b, 1.0).unwrap();
        let stc = HomomorphicDft::new(n, SlotsToCoeffs, b, 1.0).unwrap();
        let counts: Vec<usize> = cts.factors().iter().map(|f| f.rotations().len()).collect();
        let mut mirrored: Vec<usize> = stc.factors().iter().map(|f| f.rotations().len()).collect();
        mirrored.reverse();
        assert_eq!(counts, want, "budget {b}");
        assert_eq!(mirrored, want, "budget {b}");
        // Mirrored factors have the same diagonal offsets: one key set serves both directions.
        assert_eq!(cts.rotations(), stc.rotations());
        assert_eq!(
            cts.rotations().len(),
            want.iter().sum::<usize>(),
            "budget {b}: shared steps"
        );
    }
}

/// CtS then StC on an encryption of random slots at the top level of the toy set, with the
/// precision (absolute, worst slot) of CtS against `E z` and of the round trip against `z`.
fn check_encrypted(slots: usize, budget: usize, cts_bits: f64, round_trip_bits: f64) {
    let cts = HomomorphicDft::new(slots, CoeffsToSlots, budget, 1.0).unwrap();
    let stc = HomomorphicDft::new(slots, SlotsToCoeffs, budget, 1.0).unwrap();
    let mut steps = cts.rotations();
    steps.extend(stc.rotations());
    let mut s = setup_with(&presets::toy_n12(), slots, &steps, false);
    let top = s.params.max_level();
    let z = s.random();
    let ct = s.encrypt(&z, top);
    let mut buffers = DftScratch::default();

    let encoded = cts.encode(&s.eval, &s.encoder, top, ct.scale()).unwrap();
    assert_eq!((encoded.level(), encoded.depth()), (top, budget));
    let mut coeffs = s.out();
    s.eval
        .homomorphic_dft(&ct, &encoded, &mut coeffs, &mut s.scratch, &mut buffers)
        .unwrap();
    assert_eq!(coeffs.level(), top - budget);
    s.assert_canonical(&coeffs);
    let want = bit_reversed(&encode_reference(&z)).unwrap();
    s.check("CtS", &coeffs, &want, cts_bits);

    let level = coeffs.level();
    let encoded = stc.encode(&s.eval, &s.encoder, level, coeffs.scale()).unwrap();
    let mut back = s.out();
    s.eval
        .homomorphic_dft(&coeffs, &encoded, &mut back, &mut s.scratch, &mut buffers)
        .unwrap();
    assert_eq!(back.level(), level - budget);
    s.assert_canonical(&back);
    s.check("StC(CtS)", &back, &z, round_trip_bits);
}

// Measured at scale 2^40: CtS 27.4 to 28.0 bits, round trip 22.2 to 22.6 with 2048 slots (StC
// multiplies the CtS error by up to |D| = sqrt(n)); 29.8 to 30.6 and 27.0 to 27.5 with 64.

#[test]
fn encrypted_full_slots_budget_2() {
    check_encrypted(2048, 2, 25.0, 20.0);
}

#[test]
fn encrypted_full_slots_budget_3() {
    check_encrypted(2048, 3, 25.0, 20.0);
}

#[test]
fn encrypted_sparse_slots() {
    check_encrypted(64, 2, 28.0, 25.0);
    check_encrypted(64, 3, 28.0, 25.0);
}

#[test]
fn misuse_is_an_error() {
    assert_eq!(
        HomomorphicDft::new(12, CoeffsToSlots, 1, 1.0).unwrap_err(),
        CkksError::SlotCount(12)
    );
    assert_eq!(
        HomomorphicDft::new(1, CoeffsToSlots, 1, 1.0).unwrap_err(),
        CkksError::LevelBudget { budget: 1, stages: 0 }
    );
    assert_eq!(
        HomomorphicDft::new(64, SlotsToCoeffs, 0, 1.0).unwrap_err(),
        CkksError::LevelBudget { budget: 0, stages: 6 }
    );
    assert_eq!(
        HomomorphicDft::new(64, SlotsToCoeffs, 7, 1.0).unwrap_err(),
        CkksError::LevelBudget { budget: 7, stages: 6 }
    );
    assert!(matches!(
        HomomorphicDft::new(64, SlotsToCoeffs, 2, f64::NAN),
        Err(CkksError::NotFinite(_))
    ));
    assert_eq!(bit_reversed(&[1, 2, 3]).unwrap_err(), CkksError::SlotCount(3));
    assert_eq!(
        bit_reversed(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap(),
        [1, 5, 3, 7, 2, 6, 4, 8]
    );

    let s = setup_with(&presets::toy_n12(), 64, &[], false);
    let dft = HomomorphicDft::new(64, CoeffsToSlots, 3, 1.0).unwrap();
    assert_eq!(
        dft.encode(&s.eval, &s.encoder, 2, s.params.scale_at(2)).unwrap_err(),
        CkksError::LevelTooLow { needed: 3, level: 2 }
    );
    // Without the rotation keys.
    let mut s = s;
    let x = s.random();
    let ct = s.encrypt(&x, 6);
    let encoded = dft.encode(&s.eval, &s.encoder, 6, ct.scale()).unwrap();
    let mut out = s.out();
    assert!(matches!(
        s.eval
            .homomorphic_dft(&ct, &encoded, &mut out, &mut s.scratch, &mut DftScratch::default()),
        Err(CkksError::MissingRotationKey { .. })
    ));
}
