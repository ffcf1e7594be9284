//! Training steps on encrypted weights, on plain, with BlindTuner's circuits (compact weights)
//! and the HETAL baseline's (tiled weights, HETAL's softmax): equal to the same steps in f64
//! (with the approximate softmax), close to the exact trainer, and what a step costs at HETAL's
//! MNIST shape.

use blindtuner_encrypted::compact::{compact_counts, compact_rotations};
use blindtuner_encrypted::counting::{CountingCloud, OpCounts};
use blindtuner_encrypted::matmul::{diag_abt_counts, diag_abt_rotations, diag_atb_counts, diag_atb_rotations};
use blindtuner_encrypted::packing::{BlockShape, PackedMatrix, PackedScores};
use blindtuner_encrypted::refresh::Levels;
use blindtuner_encrypted::softmax::{Softmax, approximate_softmax};
use blindtuner_encrypted::step::{EncryptedModel, step_depth};
use blindtuner_encrypted::weights::{WeightLayout, Weights};
use blindtuner_features::{Features, Matrix};
use blindtuner_train::{Hyperparams, NesterovSchedule, SoftmaxRegression, train};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::common::{Circuit, abt, atb, max_abs_diff, plain, random_matrix, union};

/// Three separable blobs in 2-D with the bias column, classes in turn.
pub fn blobs(n: usize, seed: u64) -> Features {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let centres = [(-4.0, 0.0), (4.0, 0.0), (0.0, 5.0)];
    let mut data = Vec::new();
    for i in 0..n {
        let (cx, cy) = centres[i % 3];
        data.extend_from_slice(&[cx + rng.random_range(-1.0..1.0), cy + rng.random_range(-1.0..1.0), 1.0]);
    }
    Features {
        x: Matrix::from_rows(n, 3, data),
        labels: (0..n).map(|i| i % 3).collect(),
        classes: 3,
    }
}

fn keys(shape: BlockShape, softmax: &Softmax, classes: usize, cols: usize) -> Vec<i64> {
    let products = union(
        diag_abt_rotations(shape, classes).unwrap(),
        diag_atb_rotations(shape, classes).unwrap(),
    );
    let compact = union(products, compact_rotations(shape, classes, cols).unwrap());
    union(compact, softmax.rotations())
}

/// BlindTuner's circuits and the HETAL baseline's.
const METHODS: [(WeightLayout, Circuit); 2] = [
    (WeightLayout::Compact, Softmax::new),
    (WeightLayout::Tiled, Softmax::hetal),
];

#[test]
fn steps_match_f64_and_the_exact_trainer() {
    for (layout, circuit) in METHODS {
        steps_match_f64_and_the_exact_trainer_with(layout, circuit);
    }
}

fn steps_match_f64_and_the_exact_trainer_with(layout: WeightLayout, circuit: Circuit) {
    let (n, classes, steps, lr) = (24, 3, 6, 0.1);
    let data = blobs(n, 1);
    let shape = BlockShape::new(32, 8).unwrap();
    let softmax = circuit(classes, shape).unwrap();
    let (mut client, cloud) = plain(
        shape.slots(),
        steps * step_depth(&softmax, layout),
        &keys(shape, &softmax, classes, data.x.cols),
    );
    let x = PackedMatrix::encrypt_features(&mut client, &data.x, shape).unwrap();
    let y = PackedScores::encrypt_labels(&mut client, &data.labels, classes, shape).unwrap();
    let zeros = Matrix::zeros(classes, data.x.cols);
    let mut model = EncryptedModel::encrypt(&mut client, &zeros, shape, layout, 1.0).unwrap();

    // The same steps in f64: v' = w - (lr / n) (P - Y)^T X, w' = v' + g (v - v').
    let (mut w, mut v, mut schedule) = (zeros.clone(), zeros, NesterovSchedule::default());
    for _ in 0..steps {
        model.step(&cloud, &Levels::fixed(), &softmax, &x, &y, lr).unwrap();
        assert_eq!(model.weights().layout(), layout);
        let mut e = approximate_softmax(&abt(&data.x, &w), circuit).unwrap();
        data.labels
            .iter()
            .enumerate()
            .for_each(|(i, &l)| e.data[i * classes + l] -= 1.0);
        let g = atb(&e, &data.x, -lr / n as f64);
        let gamma = schedule.next_gamma();
        for ((wi, vi), gi) in w.data.iter_mut().zip(&mut v.data).zip(&g.data) {
            let v_next = *wi + gi;
            *wi = v_next + gamma * (*vi - v_next);
            *vi = v_next;
        }
        assert!(max_abs_diff(&model.weights().decrypt(&client).unwrap(), &w) < 1e-9);
    }

    // The exact trainer (exact softmax), full batch: the same schedule, every epoch one step.
    let hyper = Hyperparams {
        batch: n,
        lr,
        epochs: steps,
        patience: None,
    };
    let exact = train(&data, &data, &hyper, 0, &mut |_| {}).unwrap();
    assert_eq!(exact.best_epoch, steps);
    let gap = max_abs_diff(&exact.model.weights, &w);
    eprintln!("{steps} steps on plain, {layout:?} weights: within {gap:.1e} of the exact trainer's");
    assert!(gap < 5e-3, "{gap}");
    let encrypted = SoftmaxRegression { weights: w }.evaluate(&data);
    assert_eq!(encrypted.accuracy, 1.0);
    assert!((encrypted.loss - exact.model.evaluate(&data).loss).abs() < 0.01);
}

#[test]
fn a_step_at_hetal_mnist_shape() {
    for (layout, circuit) in METHODS {
        a_step_at_hetal_mnist_shape_with(layout, circuit);
    }
}

fn a_step_at_hetal_mnist_shape_with(layout: WeightLayout, circuit: Circuit) {
    let (a, b, classes, slots) = (1024, 769, 10, 1 << 15);
    let shape = BlockShape::hetal(a, classes, slots).unwrap();
    let softmax = circuit(classes, shape).unwrap();
    let depth = step_depth(&softmax, layout);
    let (mut client, cloud) = plain(slots, depth, &keys(shape, &softmax, classes, b));
    let cloud = CountingCloud::new(cloud);
    let x = random_matrix(a, b - 1, 1.0, 1).with_bias_column();
    let labels: Vec<usize> = (0..a).map(|i| (i * 7) % classes).collect();
    let px = PackedMatrix::encrypt_features(&mut client, &x, shape).unwrap();
    let py = PackedScores::encrypt_labels(&mut client, &labels, classes, shape).unwrap();
    let logits = PackedScores::encrypt(&mut client, &random_matrix(a, classes, 1.0, 2), shape).unwrap();
    let w = Weights::encrypt(&mut client, &Matrix::zeros(classes, b), shape, layout).unwrap();
    let weight_cts = w.cts().len() as u64;

    softmax.apply(&cloud, &Levels::fixed(), &logits).unwrap();
    let softmax_counts = cloud.counts();
    EncryptedModel::new(w, 1.0)
        .unwrap()
        .step(&cloud, &Levels::fixed(), &softmax, &px, &py, 2.0)
        .unwrap();
    let step = cloud.counts() - softmax_counts;
    eprintln!("one step at ({a}, {b}, {classes}) in {shape}, {layout:?} weights, {depth} levels: {step}");
    // Unpacking, the products, the softmax, P - Y, packing and v' = w + step on the weights
    // (the first step has no momentum): one compact ciphertext, or 25 tiled blocks.
    assert_eq!(weight_cts, if layout == WeightLayout::Compact { 1 } else { 25 });
    let rb = shape.grid(a, b).0;
    let update = OpCounts {
        additions: rb as u64 + weight_cts,
        ..OpCounts::default()
    };
    let products = diag_abt_counts(shape, a, b, classes).unwrap() + diag_atb_counts(shape, a, b, classes).unwrap();
    let layout_counts = match layout {
        WeightLayout::Compact => compact_counts(shape, classes, b).unwrap(),
        WeightLayout::Tiled => OpCounts::default(),
    };
    assert_eq!(step, products + softmax_counts + layout_counts + update);
    assert_eq!(cloud.counts().bootstraps, 0);
    assert_eq!(depth, if layout == WeightLayout::Compact { 62 } else { 81 });
}
