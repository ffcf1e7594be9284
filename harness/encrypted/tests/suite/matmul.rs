//! DiagABT and DiagATB against f64 products: exactly on plain, within CKKS precision on native.

use blindtuner_backend::{Backend, Client, Cloud};
use blindtuner_encrypted::matmul::{
    DIAG_ABT_DEPTH, DIAG_ATB_DEPTH, diag_abt, diag_abt_rotations, diag_atb, diag_atb_rotations,
};
use blindtuner_encrypted::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights};
use blindtuner_native::NativeBackend;

use crate::common::{abt, atb, plain, precision, random_matrix, union};

/// Runs both products on one backend's client and cloud, checks the levels they consumed, and
/// returns the precision of each against f64 (`-log2` of the largest error, largest entry):
/// with every input fresh, then with the weights and the errors a level below the features, as
/// a step gives them (the products then run at the lower level). The features are random with
/// a bias column; `b` counts it.
fn run<K: Client, C: Cloud<Ciphertext = K::Ciphertext>>(
    client: &mut K,
    cloud: &C,
    (a, b, classes): (usize, usize, usize),
    shape: BlockShape,
    seed: u64,
) -> [(f64, f64); 4]
where
    K::Ciphertext: Clone,
{
    let x = random_matrix(a, b - 1, 1.0, seed).with_bias_column();
    let w = random_matrix(classes, b, 1.0, seed + 1);
    let e = random_matrix(a, classes, 1.0, seed + 2);
    let top = cloud.capabilities().max_level.expect("a level budget");

    let px = PackedMatrix::encrypt_features(client, &x, shape).unwrap();
    let pw = PackedWeights::encrypt(client, &w, shape).unwrap();
    let logits = diag_abt(cloud, &px, &pw).unwrap();
    assert!(logits.blocks().iter().all(|ct| cloud.level(ct) == top - DIAG_ABT_DEPTH));
    let abt_precision = precision(&abt(&x, &w), &logits.decrypt(client).unwrap());

    let scale = -0.75 / a as f64;
    let pe = PackedScores::encrypt(client, &e, shape).unwrap();
    let grad = diag_atb(cloud, &pe, &px, scale).unwrap();
    assert!(grad.blocks().iter().all(|ct| cloud.level(ct) == top - DIAG_ATB_DEPTH));
    let atb_precision = precision(&atb(&e, &x, scale), &grad.decrypt(client).unwrap());

    let lower = |cts: &[K::Ciphertext]| -> Vec<K::Ciphertext> {
        cts.iter().map(|ct| cloud.lower(ct, top - 1).unwrap()).collect()
    };
    let low_w = pw.with_blocks(lower(pw.blocks())).unwrap();
    let logits = diag_abt(cloud, &px, &low_w).unwrap();
    assert!(
        logits
            .blocks()
            .iter()
            .all(|ct| cloud.level(ct) == top - 1 - DIAG_ABT_DEPTH)
    );
    let low_e = pe.with_blocks(lower(pe.blocks())).unwrap();
    let grad = diag_atb(cloud, &low_e, &px, scale).unwrap();
    assert!(
        grad.blocks()
            .iter()
            .all(|ct| cloud.level(ct) == top - 1 - DIAG_ATB_DEPTH)
    );
    [
        abt_precision,
        atb_precision,
        precision(&abt(&x, &w), &logits.decrypt(client).unwrap()),
        precision(&atb(&e, &x, scale), &grad.decrypt(client).unwrap()),
    ]
}

fn keys(shape: BlockShape, classes: usize) -> Vec<i64> {
    union(
        diag_abt_rotations(shape, classes).unwrap(),
        diag_atb_rotations(shape, classes).unwrap(),
    )
}

#[test]
fn products_are_exact_on_plain() {
    // (a, b, classes), block shape: one block; several row and column blocks with padding;
    // two classes (no giant step); 16 classes filling a row (one period, 4 x 4 diagonals).
    let cases = [
        ((8, 10, 3), (8, 8)),
        ((20, 37, 5), (8, 16)),
        ((5, 9, 2), (4, 4)),
        ((40, 50, 16), (16, 16)),
        ((33, 20, 10), (16, 32)),
    ];
    for (seed, (dims, (s0, s1))) in cases.into_iter().enumerate() {
        let shape = BlockShape::new(s0, s1).unwrap();
        let (mut client, cloud) = plain(shape.slots(), 3, &keys(shape, dims.2));
        for (bits, _) in run(&mut client, &cloud, dims, shape, seed as u64) {
            assert!(bits > 40.0, "{dims:?} in {shape}: {bits:.1} bits");
        }
    }
}

#[test]
fn products_meet_ckks_precision_on_native() {
    let backend = NativeBackend::named("toy-n12").unwrap();
    let slots = backend.capabilities().slots;
    // A batch of 100 in one row block, and of 200 in two; 40 features and the bias; a product
    // at each of the toy set's top levels.
    for (seed, (a, s0)) in [(100, None), (200, Some(128))].into_iter().enumerate() {
        let (b, classes) = (41, 3);
        let shape = match s0 {
            None => BlockShape::hetal(a, classes, slots).unwrap(),
            Some(rows) => BlockShape::new(rows, slots / rows).unwrap(),
        };
        let (mut client, cloud) = backend.keygen(&keys(shape, classes)).unwrap();
        let [(abt_bits, abt_max), (atb_bits, atb_max), (abt_low, _), (atb_low, _)] =
            run(&mut client, &cloud, (a, b, classes), shape, 10 + seed as u64);
        eprintln!(
            "native toy-n12, a = {a}, b = {b}, c = {classes}, blocks {shape}: DiagABT error 2^-{abt_bits:.1} \
             on entries up to {abt_max:.2}, DiagATB error 2^-{atb_bits:.1} on entries up to {atb_max:.3}; \
             weights and errors a level lower: 2^-{abt_low:.1}, 2^-{atb_low:.1}"
        );
        for bits in [abt_bits, atb_bits, abt_low, atb_low] {
            assert!(bits > 20.0, "{bits:.1} bits");
        }
    }
}
