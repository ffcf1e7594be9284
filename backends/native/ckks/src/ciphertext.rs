//! CKKS plaintexts and ciphertexts: RNS polynomials with their scale, slot count and level.
//!
//! A plaintext `m` with scale `S` encodes the slot values `z` as `m = round(S z)` (through the
//! special FFT); a ciphertext of it decrypts to `m + e`. The level is the number of limbs minus
//! one: rescaling removes the last limb and divides the scale by its prime.

use blindtuner_ring::{Form, RnsPoly};
use blindtuner_rlwe as rlwe;

use crate::Parameters;

/// An encoded slot vector in NTT form.
#[derive(Debug, Clone, PartialEq)]
pub struct Plaintext {
    pub(crate) poly: RnsPoly,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
}

impl Plaintext {
    /// Zero at `level` with `scale`, for `slots` slots (fill it with an [`crate::Encoder`]).
    pub fn new(params: &Parameters, level: usize, scale: f64, slots: usize) -> Plaintext {
        Plaintext {
            poly: RnsPoly::zero(params.rlwe().ring_q(), level + 1, Form::Evaluation),
            scale,
            slots,
        }
    }

    pub fn level(&self) -> usize {
        self.poly.limbs() - 1
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The polynomial, in NTT form.
    pub fn poly(&self) -> &RnsPoly {
        &self.poly
    }
}

/// A CKKS ciphertext `(c0, c1)` with `c0 + c1 s = m + e` for a plaintext `m` of its scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Ciphertext {
    pub(crate) inner: rlwe::Ciphertext,
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    /// [`Parameters::fingerprint`] of the set it was made under.
    pub(crate) fingerprint: u64,
}

impl Ciphertext {
    /// A zero ciphertext at `level` for `slots` slots, on the canonical scale of the level (an
    /// output buffer: operations resize it as they need).
    pub fn new(params: &Parameters, level: usize, slots: usize) -> Ciphertext {
        Ciphertext {
            inner: rlwe::Ciphertext::zero(params.rlwe(), level + 1),
            scale: params.scale_at(level),
            slots,
            fingerprint: params.fingerprint(),
        }
    }

    pub fn level(&self) -> usize {
        self.inner.limbs() - 1
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The RLWE pair underneath.
    pub fn rlwe(&self) -> &rlwe::Ciphertext {
        &self.inner
    }

    /// Copies `src` into `self`, reusing `self`'s buffers.
    pub fn copy_from(&mut self, src: &Ciphertext) {
        self.inner.c0.assign(&src.inner.c0);
        self.inner.c1.assign(&src.inner.c1);
        self.inherit(src, src.scale);
    }

    /// Takes the slot count and parameter set of `src`, with `scale`: the metadata of a result
    /// computed from `src`.
    pub(crate) fn inherit(&mut self, src: &Ciphertext, scale: f64) {
        self.scale = scale;
        self.slots = src.slots;
        self.fingerprint = src.fingerprint;
    }
}

/// The degree-2 product `(d0, d1, d2)` of two ciphertexts before relinearisation:
/// `d0 + d1 s + d2 s^2 = m m'`. Products of one level and scale can be summed before a single
/// relinearisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub(crate) d: [RnsPoly; 3],
    pub(crate) scale: f64,
    pub(crate) slots: usize,
    pub(crate) fingerprint: u64,
}

impl Product {
    /// A zero product buffer at `level`.
    pub fn new(params: &Parameters, level: usize, slots: usize) -> Product {
        let zero = || RnsPoly::zero(params.rlwe().ring_q(), level + 1, Form::Evaluation);
        Product {
            d: [zero(), zero(), zero()],
            scale: params.scale_at(level),
            slots,
            fingerprint: params.fingerprint(),
        }
    }

    pub fn level(&self) -> usize {
        self.d[0].limbs() - 1
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}
