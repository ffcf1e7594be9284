//! The Glyph-style run end to end: on plain standing in for both schemes (equal to the f64
//! reference, counted as the model says), with the products on native CKKS (toy set), and, with
//! the feature `tfhe`, the softmax on tfhe-rs at the smallest shape.

use blindtuner_backend::Backend;
use blindtuner_backend::plain::PlainBackend;
use blindtuner_features::Matrix;
use blindtuner_glyph::model::{Shape, StepCounts};
use blindtuner_glyph::softmax::TfheSoftmax;
use blindtuner_glyph::train::{Hyper, exact_softmax, reference, train};
use blindtuner_native::NativeBackend;

/// `rows` samples of `cols - 1` features in [-1, 1] and the bias, two classes split by the sign
/// of a fixed direction.
fn data(rows: usize, cols: usize) -> (Matrix, Vec<usize>) {
    let mut x = Matrix::zeros(rows, cols);
    let mut labels = Vec::new();
    for i in 0..rows {
        let mut dot = 0.0;
        for t in 0..cols - 1 {
            let v = (((i * 7 + t * 3) % 11) as f64 - 5.0) / 5.0;
            x.data[i * cols + t] = v;
            dot += v * if t % 2 == 0 { 1.0 } else { -0.5 };
        }
        x.data[i * cols + cols - 1] = 1.0;
        labels.push(usize::from(dot > 0.0));
    }
    (x, labels)
}

fn max_diff(a: &Matrix, b: &Matrix) -> f64 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn accuracy(w: &Matrix, x: &Matrix, labels: &[usize]) -> f64 {
    let right = (0..x.rows)
        .filter(|&i| {
            let z: Vec<f64> = (0..w.rows)
                .map(|q| w.row(q).iter().zip(x.row(i)).map(|(a, b)| a * b).sum())
                .collect();
            let best = (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
            best == labels[i]
        })
        .count();
    right as f64 / x.rows as f64
}

const HYPER: Hyper = Hyper {
    batch: 8,
    lr: 1.0,
    steps: 3,
};

/// On plain for both schemes, three steps over two batches equal the f64 reference of the same
/// algorithm to rounding, every step does exactly what the count model says, and the model
/// learns the split (as the exact softmax's run does).
#[test]
fn plain_run_equals_the_reference_and_the_model() {
    let (x, labels) = data(16, 6);
    let ckks = PlainBackend::new(2048, 6).unwrap();
    let tfhe = PlainBackend::with_level_budget(8, None).unwrap();
    let run = train(&ckks, &tfhe, &x, &labels, 2, HYPER, &mut |_| {}).unwrap();
    let softmax = TfheSoftmax::new(2).unwrap();
    let want = reference(&x, &labels, 2, HYPER, |z| softmax.reference(z)).unwrap();
    assert!(max_diff(&run.weights, &want) < 1e-12, "{:?}", run.weights);
    let exact = reference(&x, &labels, 2, HYPER, exact_softmax).unwrap();
    assert!(max_diff(&want, &exact) < 1e-3);
    assert!(accuracy(&run.weights, &x, &labels) >= 0.75);

    let model = StepCounts::new(
        Shape {
            batch: 8,
            cols: 6,
            classes: 2,
        },
        2048,
    )
    .unwrap();
    assert_eq!(run.steps.len(), 3);
    for step in &run.steps {
        assert_eq!(step.ckks, model.ckks);
        assert_eq!(step.tfhe, model.tfhe);
        assert_eq!((step.to_tfhe, step.to_ckks), (model.to_tfhe, model.to_ckks));
    }
}

/// Bad shapes are one-line errors, not panics.
#[test]
fn bad_inputs_are_refused() {
    let (x, labels) = data(8, 4);
    let plain = PlainBackend::new(2048, 6).unwrap();
    let tfhe = PlainBackend::with_level_budget(8, None).unwrap();
    let e = train(&plain, &tfhe, &x, &labels[..4], 2, HYPER, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("4 labels"), "{e}");
    let e = train(&plain, &tfhe, &x, &labels, 1, HYPER, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not one of 1 classes"), "{e}");
}

/// The products on native CKKS (the insecure toy set, 6 levels: the run needs 4, the switches
/// refreshing every value), the softmax on plain: within 2^-20 of the reference.
#[test]
fn native_ckks_run_is_close_to_the_reference() {
    let (x, labels) = data(16, 6);
    let ckks = NativeBackend::named("toy-n12").unwrap();
    assert_eq!(ckks.capabilities().max_level, Some(6));
    let tfhe = PlainBackend::with_level_budget(8, None).unwrap();
    let run = train(&ckks, &tfhe, &x, &labels, 2, HYPER, &mut |_| {}).unwrap();
    let softmax = TfheSoftmax::new(2).unwrap();
    let want = reference(&x, &labels, 2, HYPER, |z| softmax.reference(z)).unwrap();
    let err = max_diff(&run.weights, &want);
    assert!(err < 2f64.powi(-20), "{err}");
}

/// The comparisons on tfhe-rs (Q16.16, 2 slots) equal plain's, exactly (fixed-point values).
/// The whole softmax on tfhe-rs takes minutes even at one sample (its products are seconds per
/// value), so its run is `train --method glyph --backend native`, not a test.
#[cfg(feature = "tfhe")]
#[test]
fn tfhe_comparisons_equal_plain() {
    use blindtuner_backend::Client;
    use blindtuner_glyph::compare::Comparisons;
    let (a, b) = ([0.75, -20.5], [-0.25, -3.0]);
    let plain = PlainBackend::with_level_budget(2, None).unwrap();
    let tfhe = blindtuner_tfhe::TfheBackend::named("tfhe-q16-s2").unwrap();
    let (mut pk, pc) = plain.keygen(&[]).unwrap();
    let (mut tk, tc) = tfhe.keygen(&[]).unwrap();
    let (pa, pb) = (pk.encrypt(&a).unwrap(), pk.encrypt(&b).unwrap());
    let (ta, tb) = (tk.encrypt(&a).unwrap(), tk.encrypt(&b).unwrap());
    assert_eq!(
        tk.decrypt(&Comparisons::max(&tc, &ta, &tb).unwrap()).unwrap(),
        pk.decrypt(&Comparisons::max(&pc, &pa, &pb).unwrap()).unwrap()
    );
    assert_eq!(
        tk.decrypt(&Comparisons::max_scalar(&tc, &ta, -16.0).unwrap()).unwrap(),
        vec![0.75, -16.0]
    );
}
