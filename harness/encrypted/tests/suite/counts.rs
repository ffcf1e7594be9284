//! Operation counts of DiagABT and DiagATB: measured through `CountingCloud`, equal to the
//! closed forms `diag_*_counts` state, and compared with HETAL's table (PAPERS.md) at its shapes.

use blindtuner_backend::Cloud;
use blindtuner_encrypted::counting::{CountingCloud, OpCounts};
use blindtuner_encrypted::matmul::{
    diag_abt, diag_abt_counts, diag_abt_rotations, diag_atb, diag_atb_counts, diag_atb_rotations,
};
use blindtuner_encrypted::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights};

use crate::common::{abt, atb, max_abs_diff, plain, random_matrix, union};

/// HEaaN's FGb preset, which HETAL's table was measured with.
const HETAL_SLOTS: usize = 1 << 15;

/// HETAL's (products, rotations) for DiagABT and DiagATB by its closed forms, which reproduce
/// its corrected table (checked below).
fn hetal(shape: BlockShape, a: usize, b: usize, c: usize) -> [(u64, u64); 2] {
    let (s0, s1) = (shape.rows() as u64, shape.cols() as u64);
    let (ra, rb, half) = ((a as u64).div_ceil(s0), (b as u64).div_ceil(s1), c as u64 / 2);
    let mul = half * ra * rb;
    let abt_rot = half * (rb + 2 * s1.ilog2() as u64);
    let atb_rot = 2 + half * (2 * ra + s0.ilog2() as u64 * rb) - 2 * ra;
    [(mul, abt_rot), (mul, atb_rot)]
}

/// Runs both products at `(a, b, c)` through a counting plain cloud; checks their values and
/// returns what each cost.
fn measure(a: usize, b: usize, c: usize) -> (BlockShape, OpCounts, OpCounts) {
    let shape = BlockShape::hetal(a, c, HETAL_SLOTS).unwrap();
    let keys = union(
        diag_abt_rotations(shape, c).unwrap(),
        diag_atb_rotations(shape, c).unwrap(),
    );
    let (mut client, cloud) = plain(HETAL_SLOTS, 3, &keys);
    let cloud = CountingCloud::new(cloud);
    let x = random_matrix(a, b, 1.0, 1);
    let w = random_matrix(c, b, 1.0, 2);
    let e = random_matrix(a, c, 1.0, 3);
    let px = PackedMatrix::encrypt(&mut client, &x, shape).unwrap();
    let pw = PackedWeights::encrypt(&mut client, &w, shape).unwrap();
    let pe = PackedScores::encrypt(&mut client, &e, shape).unwrap();

    let logits = diag_abt(&cloud, &px, &pw).unwrap();
    let abt_counts = cloud.counts();
    let grad = diag_atb(&cloud, &pe, &px, 1.0).unwrap();
    let atb_counts = cloud.counts() - abt_counts;
    assert!(max_abs_diff(&logits.decrypt(&client).unwrap(), &abt(&x, &w)) < 1e-9);
    assert!(max_abs_diff(&grad.decrypt(&client).unwrap(), &atb(&e, &x, 1.0)) < 1e-9);
    assert_eq!(cloud.capabilities().slots, HETAL_SLOTS);
    (shape, abt_counts, atb_counts)
}

#[test]
fn hetal_closed_forms_reproduce_its_table() {
    let table = [
        ((512, 769, 4), [(26, 50), (26, 238)]),
        ((1024, 769, 8), [(100, 140), (100, 1008)]),
        ((2048, 769, 16), [(392, 456), (392, 4328)]),
    ];
    for ((a, b, c), want) in table {
        let shape = BlockShape::hetal(a, c, HETAL_SLOTS).unwrap();
        assert_eq!(hetal(shape, a, b, c), want, "({a}, {b}, {c})");
    }
}

#[test]
fn counts_equal_the_closed_forms_and_beat_hetal_on_rotations() {
    // HETAL's three table shapes and its MNIST shape (batch 1024, 769 features, 10 -> 16 classes).
    for (a, b, c) in [(512, 769, 4), (1024, 769, 8), (2048, 769, 16), (1024, 769, 16)] {
        let (shape, abt_counts, atb_counts) = measure(a, b, c);
        assert_eq!(
            abt_counts,
            diag_abt_counts(shape, a, b, c).unwrap(),
            "DiagABT at ({a}, {b}, {c})"
        );
        assert_eq!(
            atb_counts,
            diag_atb_counts(shape, a, b, c).unwrap(),
            "DiagATB at ({a}, {b}, {c})"
        );
        let [(h_mul, h_abt), (_, h_atb)] = hetal(shape, a, b, c);
        eprintln!(
            "({a}, {b}, {c}) in {shape}: DiagABT {} mul / {} rot ({} hoisted in {} batches) vs HETAL {h_mul} / {h_abt}; \
             DiagATB {} mul / {} rot ({} hoisted in {} batches) vs HETAL {h_mul} / {h_atb}",
            abt_counts.mul,
            abt_counts.rotations,
            abt_counts.hoisted_rotations,
            abt_counts.hoisted_batches,
            atb_counts.mul,
            atb_counts.rotations,
            atb_counts.hoisted_rotations,
            atb_counts.hoisted_batches,
        );
        // Real slots: c products per block pair where HETAL's complex slots take c / 2.
        assert_eq!(abt_counts.mul, 2 * h_mul);
        assert_eq!(atb_counts.mul, 2 * h_mul);
        assert!(abt_counts.rotations <= h_abt, "DiagABT rotations at ({a}, {b}, {c})");
        assert!(atb_counts.rotations <= h_atb, "DiagATB rotations at ({a}, {b}, {c})");
        assert_eq!(abt_counts.bootstraps + atb_counts.bootstraps, 0);
    }
}
