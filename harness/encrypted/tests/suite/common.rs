//! Shared helpers: random matrices, plain backends.

use blindtuner_backend::Backend;
use blindtuner_backend::plain::{PlainBackend, PlainClient, PlainCloud};
use blindtuner_features::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A `rows x cols` matrix uniform in `[-range, range]`.
pub fn random_matrix(rows: usize, cols: usize, range: f64, seed: u64) -> Matrix {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Matrix::from_rows(
        rows,
        cols,
        (0..rows * cols).map(|_| rng.random_range(-range..=range)).collect(),
    )
}

/// A plain backend of `slots` slots and `levels` levels with keys for `rotations`.
pub fn plain(slots: usize, levels: usize, rotations: &[i64]) -> (PlainClient, PlainCloud) {
    PlainBackend::new(slots, levels).unwrap().keygen(rotations).unwrap()
}
