//! Shared helpers: random matrices, f64 references, backends with the keys a circuit needs.

use blindtuner_backend::Backend;
use blindtuner_backend::plain::{PlainBackend, PlainClient, PlainCloud};
use blindtuner_encrypted::EncryptedError;
use blindtuner_encrypted::packing::BlockShape;
use blindtuner_encrypted::softmax::Softmax;
use blindtuner_features::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A softmax circuit's constructor: [`Softmax::new`] (BlindTuner's) or [`Softmax::hetal`].
pub type Circuit = fn(usize, BlockShape) -> Result<Softmax, EncryptedError>;

/// A `rows x cols` matrix uniform in `[-range, range]`.
pub fn random_matrix(rows: usize, cols: usize, range: f64, seed: u64) -> Matrix {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Matrix::from_rows(
        rows,
        cols,
        (0..rows * cols).map(|_| rng.random_range(-range..=range)).collect(),
    )
}

/// `x W^T`.
pub fn abt(x: &Matrix, w: &Matrix) -> Matrix {
    let mut out = Matrix::zeros(x.rows, w.rows);
    for i in 0..x.rows {
        for q in 0..w.rows {
            out.data[i * w.rows + q] = x.row(i).iter().zip(w.row(q)).map(|(a, b)| a * b).sum();
        }
    }
    out
}

/// `scale E^T X`.
pub fn atb(e: &Matrix, x: &Matrix, scale: f64) -> Matrix {
    let mut out = Matrix::zeros(e.cols, x.cols);
    for r in 0..x.rows {
        for q in 0..e.cols {
            let f = scale * e.data[r * e.cols + q];
            for (o, v) in out.row_mut(q).iter_mut().zip(x.row(r)) {
                *o += f * v;
            }
        }
    }
    out
}

/// The exact row-wise softmax.
pub fn softmax(x: &Matrix) -> Matrix {
    let mut out = x.clone();
    for i in 0..x.rows {
        let row = out.row_mut(i);
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        row.iter_mut().for_each(|v| *v = (*v - max).exp());
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    out
}

pub fn max_abs_diff(a: &Matrix, b: &Matrix) -> f64 {
    assert_eq!((a.rows, a.cols), (b.rows, b.cols), "shapes differ");
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// `-log2` of the largest absolute error, and the largest reference entry.
pub fn precision(want: &Matrix, got: &Matrix) -> (f64, f64) {
    let magnitude = want.data.iter().map(|v| v.abs()).fold(0.0, f64::max);
    (-max_abs_diff(want, got).log2(), magnitude)
}

/// A plain backend of `slots` slots and `levels` levels with keys for `rotations`.
pub fn plain(slots: usize, levels: usize, rotations: &[i64]) -> (PlainClient, PlainCloud) {
    PlainBackend::new(slots, levels).unwrap().keygen(rotations).unwrap()
}

/// `a` and `b` joined.
pub fn union(a: Vec<i64>, b: Vec<i64>) -> Vec<i64> {
    let mut all = a;
    all.extend(b);
    all.sort_unstable();
    all.dedup();
    all
}
