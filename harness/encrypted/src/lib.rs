//! The building blocks of encrypted training, written once against the backend trait
//! ([`blindtuner_backend::Cloud`] for the server's computations, [`blindtuner_backend::Client`]
//! for packing and unpacking), after HETAL (Lee et al., ICML 2023):
//!
//! * [`packing`]: matrices as grids of `(s0, s1)` blocks, one block per ciphertext, and the
//!   three layouts the training uses (features, tiled weights, per-sample class scores);
//! * [`compact`] and [`weights`]: the weights between steps, compact (BlindTuner's) or tiled
//!   (HETAL's);
//! * [`matmul`]: DiagABT (`X W^T`, the forward pass) and DiagATB (`(P - Y)^T X`, the gradient);
//! * [`softmax`]: HETAL's softmax approximation as a polynomial circuit;
//! * [`step`]: one training step (forward pass, softmax, gradient, Nesterov's update) on
//!   encrypted weights;
//! * [`training`]: the training loop, the upload, the encrypted validation loss, and the
//!   [`training::Method`] that picks BlindTuner's circuits or HETAL's (the baseline);
//! * [`refresh`]: level management, refreshing by bootstrapping or through the client;
//! * [`counting`]: a [`Cloud`](blindtuner_backend::Cloud) wrapper that counts every operation.
//!
//! Every circuit runs unchanged on the `plain` backend (f64, no noise, the same level
//! accounting), which isolates the approximation error from CKKS noise.

pub mod compact;
pub mod counting;
pub mod matmul;
mod ops;
pub mod packing;
mod poly;
pub mod refresh;
pub mod softmax;
pub mod step;
pub mod training;
pub mod weights;

use blindtuner_backend::BackendError;

/// Why a packing or a circuit could not run; one line each.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncryptedError {
    #[error("block shape {rows} x {cols}: {reason}")]
    BlockShape { rows: usize, cols: usize, reason: String },
    #[error("{what}: {left} against {right}")]
    Mismatch {
        what: &'static str,
        left: String,
        right: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("label {label} of row {row} is not one of {classes} classes")]
    Label { row: usize, label: usize, classes: usize },
    #[error("the last feature column must be the bias (all ones); row {row} has {value}")]
    MissingBias { row: usize, value: f64 },
    #[error("{circuit} needs {needed} levels, its input has {available}; bootstrap or refresh first")]
    Levels {
        circuit: &'static str,
        needed: usize,
        available: usize,
    },
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl EncryptedError {
    fn mismatch(what: &'static str, left: impl std::fmt::Display, right: impl std::fmt::Display) -> EncryptedError {
        EncryptedError::Mismatch {
            what,
            left: left.to_string(),
            right: right.to_string(),
        }
    }
}
