//! A Glyph-style baseline: the softmax regression head trained with its linear algebra on a
//! packed CKKS scheme and its non-linear part on TFHE, ciphertexts switching between the two.
//!
//! Glyph (Lou et al., NeurIPS 2020) trains on encrypted data by evaluating the multiply-
//! accumulates in a packed scheme (BGV in the paper) and the activations and the softmax in
//! TFHE, where comparisons and look-ups are cheap and exact, switching every value that crosses
//! between them. This crate builds that design on this project's backends, with CKKS (the
//! `native` backend) as the packed scheme, since CKKS is what the rest of the project trains
//! with, and tfhe-rs (the `tfhe` backend) as TFHE. One training step on a batch of `n` samples,
//! `b` feature columns (the bias included) and `c` classes:
//!
//! 1. CKKS: the logits `Z = X W^T` by DiagABT ([`blindtuner_encrypted::matmul::diag_abt`]);
//! 2. switch CKKS -> TFHE: the `n c` logits leave CKKS, one TFHE value each, laid out one
//!    ciphertext per class over the samples (so the softmax below is slot-wise);
//! 3. TFHE: the softmax of each row ([`softmax::TfheSoftmax`]): the row maximum by comparisons,
//!    the exponential of the differences by a fixed-point polynomial and squarings, the inverse
//!    of the row sum by Newton's iteration, the products;
//! 4. switch TFHE -> CKKS: the `n c` probabilities return into the class-scores layout;
//! 5. CKKS: `E = P - Y`, the gradient `G = (lr / n) E^T X` by DiagATB, and the plain gradient
//!    step `W <- W - G` (Glyph trains with stochastic gradient descent).
//!
//! Every switch also restores the switched values' noise budget, so the weights never run out
//! of levels: with DiagABT's and DiagATB's two levels each, four levels suffice forever and no
//! bootstrapping is needed.
//!
//! **The switches.** A real CKKS <-> TFHE switch (the key switches and bootstraps of Glyph or
//! of later work such as Chimera / Pegasus) is not implemented in this code base. The real run
//! ([`train`]) therefore switches *through the client*: it decrypts the CKKS logits and
//! encrypts them under TFHE, and back, and labels those switches `client-aided` in its results;
//! the cloud computes everything else. The full-size cost of a real switch is *modelled*
//! ([`model`]): a switch of one value from CKKS to TFHE is at least one key switch to the TFHE
//! key plus one programmable bootstrap per block of the TFHE integer (16 blocks of 2 bits for
//! an `FheInt32`), counted as `16 + 1` measured key-switch-and-bootstrap units per value; back
//! to CKKS at least one such unit per value (the blocks are combined linearly, then key
//! switched). The CKKS-side linear transforms (SlotsToCoeffs before extraction, the packing of
//! the returning values) are left out, so the model is a lower bound on the switches' cost.
//!
//! Everything runs on any backend pair: on `plain` standing in for both schemes the same code
//! runs in f64, which is what the default tests check against the f64 reference
//! ([`train::reference`]).

pub mod compare;
pub mod model;
pub mod softmax;
#[cfg(feature = "tfhe")]
pub mod tfhe_costs;
pub mod train;

use blindtuner_backend::BackendError;
use blindtuner_encrypted::EncryptedError;

/// Why a Glyph-style step could not run; one line each.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GlyphError {
    #[error("{0}")]
    Shape(String),
    #[error(transparent)]
    Encrypted(#[from] EncryptedError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}
