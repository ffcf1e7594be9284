//! [`Comparisons`]: what the TFHE side needs beyond the backend trait.
//!
//! The backend trait ([`Cloud`]) is the arithmetic CKKS offers: additions, products, rotations.
//! TFHE evaluates comparisons exactly and natively (a comparison of two encrypted integers is a
//! handful of programmable bootstraps), which is the reason Glyph moves its non-linear layers to
//! TFHE; the softmax's row maximum uses them. `tfhe` implements them on tfhe-rs, `plain` in
//! f64, so the same softmax runs on both.

use blindtuner_backend::plain::PlainCloud;
use blindtuner_backend::{BackendError, Cloud};

/// A cloud that compares: slot-wise maxima of two ciphertexts or of a ciphertext and a public
/// constant.
pub trait Comparisons: Cloud {
    /// `max(a_i, b_i)` in every slot.
    fn max(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError>;
    /// `max(a_i, c)` in every slot.
    fn max_scalar(&self, a: &Self::Ciphertext, c: f64) -> Result<Self::Ciphertext, BackendError>;
}

impl Comparisons for PlainCloud {
    fn max(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError> {
        PlainCloud::max(self, a, b)
    }

    fn max_scalar(&self, a: &Self::Ciphertext, c: f64) -> Result<Self::Ciphertext, BackendError> {
        PlainCloud::max_scalar(self, a, c)
    }
}

#[cfg(feature = "tfhe")]
impl Comparisons for blindtuner_tfhe::TfheCloud {
    fn max(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError> {
        blindtuner_tfhe::TfheCloud::max(self, a, b)
    }

    fn max_scalar(&self, a: &Self::Ciphertext, c: f64) -> Result<Self::Ciphertext, BackendError> {
        blindtuner_tfhe::TfheCloud::max_scalar(self, a, c)
    }
}
