//! Linear transforms by diagonals against the f64 matrix-vector product, with the precision
//! they must reach at the toy N = 2^12 set, and their rotation counts.

mod common;

use blindtuner_ckks::{CkksError, Complex64, Encoder, LinearTransform, LinearTransformScratch, presets};
use common::{Setup, setup_with};

/// Keys for every rotation `lt` needs at the top level.
fn setup_for(lt: &LinearTransform) -> (Setup, Vec<i64>) {
    // The steps depend only on the diagonals, so a keyless evaluator can encode to find them.
    let probe = setup_with(&presets::toy_n12(), lt.slots(), &[], false);
    let top = probe.params.max_level();
    let encoded = lt
        .encode(&probe.eval, &probe.encoder, top, probe.params.scale_at(top))
        .unwrap();
    let steps = encoded.rotations();
    assert_eq!(lt.rotations(), steps, "the steps without encoding");
    (setup_with(&presets::toy_n12(), lt.slots(), &steps, false), steps)
}

fn check_transform(lt: &LinearTransform, bits: f64) -> Vec<i64> {
    let (mut s, steps) = setup_for(lt);
    let top = s.params.max_level();
    let x = s.random();
    let ct = s.encrypt(&x, top);
    let encoded = lt.encode(&s.eval, &s.encoder, top, ct.scale()).unwrap();
    let mut out = s.out();
    let mut buffers = LinearTransformScratch::default();
    s.eval
        .linear_transform(&ct, &encoded, &mut out, &mut s.scratch, &mut buffers)
        .unwrap();
    assert_eq!(out.level(), top - 1);
    s.assert_canonical(&out);
    s.check("M v", &out, &lt.apply(&x), bits);
    // Again with warm buffers: the same result.
    let mut again = s.out();
    s.eval
        .linear_transform(&ct, &encoded, &mut again, &mut s.scratch, &mut buffers)
        .unwrap();
    assert_eq!(again, out);
    steps
}

#[test]
fn a_dense_matrix_takes_few_giant_steps() {
    let n = 256;
    let mut s = setup_with(&presets::toy_n12(), n, &[], false);
    let rows: Vec<Vec<Complex64>> = (0..n).map(|_| s.random()).collect();
    let lt = LinearTransform::from_matrix(&rows).unwrap();
    // 256 diagonals: 31 cheap baby rotations and 7 giant ones (a giant costs three babies),
    // instead of 255 rotations.
    let steps = check_transform(&lt, 20.0);
    assert_eq!(steps.len(), 38, "{steps:?}");
    assert_eq!(steps.iter().filter(|&&k| k % 32 == 0).count(), 7, "{steps:?}");
}

#[test]
fn sparse_diagonals_rotate_only_where_needed() {
    let n = 2048;
    let mut s = setup_with(&presets::toy_n12(), n, &[], false);
    let mut lt = LinearTransform::new(n);
    for k in [0i64, 1, 2, 3, -1, 64, 65, 700] {
        lt.set_diagonal(k, s.random()).unwrap();
    }
    let steps = check_transform(&lt, 21.0);
    assert!(steps.len() <= 7, "{steps:?}");
    // A single diagonal is a slot-wise product with a rotation.
    let mut shift = LinearTransform::new(n);
    shift.set_diagonal(5, vec![Complex64::new(1.0, 0.0); n]).unwrap();
    assert_eq!(check_transform(&shift, 21.0), vec![5]);
}

#[test]
fn misuse_is_an_error() {
    let n = 64;
    let mut s = setup_with(&presets::toy_n12(), n, &[], false);
    let mut lt = LinearTransform::new(n);
    assert!(matches!(
        lt.set_diagonal(1, vec![Complex64::default(); n - 1]),
        Err(CkksError::Length { .. })
    ));
    assert!(matches!(
        lt.set_diagonal(1, vec![Complex64::new(f64::NAN, 0.0); n]),
        Err(CkksError::NotFinite(_))
    ));
    let top = s.params.max_level();
    let x = s.random();
    let ct = s.encrypt(&x, top);
    let mut out = s.out();
    let mut buffers = LinearTransformScratch::default();
    let empty = lt.encode(&s.eval, &s.encoder, top, ct.scale()).unwrap();
    assert!(matches!(
        s.eval
            .linear_transform(&ct, &empty, &mut out, &mut s.scratch, &mut buffers),
        Err(CkksError::EmptyTransform)
    ));
    lt.set_diagonal(0, vec![Complex64::new(2.0, 0.0); n]).unwrap();
    let at_lower = lt
        .encode(&s.eval, &s.encoder, top - 1, s.params.scale_at(top - 1))
        .unwrap();
    assert!(matches!(
        s.eval
            .linear_transform(&ct, &at_lower, &mut out, &mut s.scratch, &mut buffers),
        Err(CkksError::EncodedFor { .. })
    ));
    let wide = Encoder::new(s.params.rlwe().ring_q().clone(), 128).unwrap();
    assert!(matches!(
        lt.encode(&s.eval, &wide, top, ct.scale()),
        Err(CkksError::SlotMismatch(128, 64))
    ));
    // Rotation keys missing: the diagonal 1 needs the rotation by 1.
    lt.set_diagonal(1, vec![Complex64::new(1.0, 0.0); n]).unwrap();
    let needs_key = lt.encode(&s.eval, &s.encoder, top, ct.scale()).unwrap();
    assert!(matches!(
        s.eval
            .linear_transform(&ct, &needs_key, &mut out, &mut s.scratch, &mut buffers),
        Err(CkksError::MissingRotationKey { .. })
    ));
}
