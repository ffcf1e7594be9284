//! The backend trait the encrypted training is written against.
//!
//! A backend is an engine over vectors of `slots` real numbers. Key generation splits it into two
//! types that never meet in one process of a deployment:
//!
//! * the [`Client`] holds the secret: it encrypts and decrypts;
//! * the [`Cloud`] holds evaluation keys only: it computes on ciphertexts and has no method that
//!   could reveal a plaintext.
//!
//! Rescaling is the backend's business: every multiplication returns a ciphertext one level
//! lower on the backend's scale, so the algorithm above never sees scales, but levels stay
//! visible ([`Cloud::level`]) because bootstrap scheduling needs them (a backend without a level
//! limit says so with [`Capabilities::max_level`] `None`). Everything fails with a
//! [`BackendError`], never a panic: wrong slot counts, exhausted levels, missing keys, corrupt or
//! foreign serialised data.
//!
//! [`plain`] is the reference backend (f64, no noise, the same level accounting), and
//! [`conformance`] the suite that checks any backend against it.

pub mod conformance;
pub mod plain;

use std::fmt;

/// FNV-1a, 64 bits: the checksum of the backends' wire formats. It detects corruption and
/// truncation; it proves nothing against forgery.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Security of a backend's parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// At least this many bits by the HomomorphicEncryption.org table (or the library's own).
    Bits(u32),
    /// Insecure test parameters.
    Toy,
    /// Nothing is encrypted.
    None,
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Security::Bits(b) => write!(f, "{b}-bit"),
            Security::Toy => f.write_str("toy (insecure)"),
            Security::None => f.write_str("none (not encrypted)"),
        }
    }
}

/// What a backend offers at its parameter set.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    /// The backend's name, as `--backend` takes it.
    pub backend: &'static str,
    /// The parameter set, in words.
    pub parameters: String,
    pub slots: usize,
    /// Multiplicative levels of a fresh ciphertext; `None` when products cost no level (a
    /// backend whose every operation bootstraps itself, such as TFHE): its ciphertexts then
    /// report [`Cloud::level`] `usize::MAX` forever and never need a refresh.
    pub max_level: Option<usize>,
    /// Whether [`Cloud::bootstrap`] works.
    pub bootstrap: bool,
    /// Whether results are exact (no approximation noise).
    pub exact: bool,
    pub security: Security,
}

/// Why a backend operation failed; one line each.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    #[error("the {backend} backend cannot {operation}: {reason}")]
    Unsupported {
        backend: &'static str,
        operation: &'static str,
        reason: String,
    },
    #[error("{given} values do not fit {slots} slots")]
    Length { given: usize, slots: usize },
    #[error("no level left to multiply (level {level}); bootstrap or refresh first")]
    LevelExhausted { level: usize },
    #[error("corrupt or foreign data: {0}")]
    Format(String),
    #[error("no evaluation key for {0}; the client must generate it")]
    MissingKey(String),
    #[error("{0}")]
    Engine(String),
}

impl BackendError {
    /// What [`Cloud::lower`] answers when asked to raise a ciphertext from `current` to `level`.
    pub fn cannot_raise(backend: &'static str, current: usize, level: usize) -> BackendError {
        BackendError::Unsupported {
            backend,
            operation: "lower a ciphertext to a level above its own",
            reason: format!("level {level} is above its level {current}; only a refresh restores levels"),
        }
    }
}

/// `Σ a_i b_i` as the sum of [`Cloud::mul`]'s products: what [`Cloud::mul_sum`] means, and how
/// a backend that cannot defer relinearisation computes it.
pub fn sum_of_products<C: Cloud + ?Sized>(
    cloud: &C,
    pairs: &[(&C::Ciphertext, &C::Ciphertext)],
) -> Result<C::Ciphertext, BackendError> {
    let mut sum: Option<C::Ciphertext> = None;
    for (a, b) in pairs {
        let product = cloud.mul(a, b)?;
        sum = Some(match sum {
            None => product,
            Some(s) => cloud.add(&s, &product)?,
        });
    }
    sum.ok_or_else(|| BackendError::Engine("a sum of products needs at least one product".into()))
}

/// A backend at one parameter set: capabilities, key generation and the wire format shared by
/// both sides.
pub trait Backend {
    type Ciphertext: Clone + Send + Sync;
    type Client: Client<Ciphertext = Self::Ciphertext>;
    type Cloud: Cloud<Ciphertext = Self::Ciphertext>;

    fn capabilities(&self) -> Capabilities;

    /// Fresh keys: the secret stays with the client; the cloud gets what products and the
    /// rotations by `rotations` (any sign) need.
    fn keygen(&self, rotations: &[i64]) -> Result<(Self::Client, Self::Cloud), BackendError>;

    /// The client's secret, for the data owner's own storage between sessions; it is never sent
    /// anywhere.
    fn client_to_bytes(&self, client: &Self::Client) -> Result<Vec<u8>, BackendError>;

    /// A client restored from [`Backend::client_to_bytes`], refusing corrupt data and data of
    /// another parameter set.
    fn client_from_bytes(&self, bytes: &[u8]) -> Result<Self::Client, BackendError>;

    /// A cloud rebuilt from [`Cloud::keys_to_bytes`], as a server receives it.
    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<Self::Cloud, BackendError>;

    fn ciphertext_to_bytes(&self, ct: &Self::Ciphertext) -> Result<Vec<u8>, BackendError>;

    /// Reads a ciphertext, refusing corrupt data and data of another parameter set.
    fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<Self::Ciphertext, BackendError>;
}

/// The data owner's side: the only holder of the secret key.
pub trait Client: Send {
    type Ciphertext;

    /// Encrypts up to `slots` values (the rest are zero) at the top level.
    fn encrypt(&mut self, values: &[f64]) -> Result<Self::Ciphertext, BackendError>;

    /// All `slots` values of a ciphertext.
    fn decrypt(&self, ct: &Self::Ciphertext) -> Result<Vec<f64>, BackendError>;
}

/// The untrusted server's side: evaluation keys only. Every multiplication consumes one level
/// and returns a ciphertext on the backend's scale.
pub trait Cloud: Send + Sync {
    /// Shared across threads: circuits run independent products side by side.
    type Ciphertext: Send + Sync;

    fn capabilities(&self) -> Capabilities;

    /// Levels left in `ct`; `usize::MAX` on a backend without a level limit
    /// ([`Capabilities::max_level`] `None`).
    fn level(&self, ct: &Self::Ciphertext) -> usize;

    /// `a` at `level`, at most its own: the same values with the levels above dropped, as a
    /// binary operation drops them from its higher operand before it starts. Lowering once an
    /// operand that meets many lower ones saves the repeats, and rotations and products cost
    /// less at fewer levels. A backend without a level limit returns `a` unchanged.
    fn lower(&self, a: &Self::Ciphertext, level: usize) -> Result<Self::Ciphertext, BackendError>;

    fn add(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError>;
    fn sub(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError>;
    fn neg(&self, a: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError>;

    /// `a + v` slot-wise (`v` padded with zeros).
    fn add_plain(&self, a: &Self::Ciphertext, v: &[f64]) -> Result<Self::Ciphertext, BackendError>;
    fn add_scalar(&self, a: &Self::Ciphertext, c: f64) -> Result<Self::Ciphertext, BackendError>;

    /// `a * b`, relinearised and rescaled: one level.
    fn mul(&self, a: &Self::Ciphertext, b: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError>;
    /// `Σ a_i b_i` over `pairs` (at least one), one level: a sum of products that a backend which
    /// can defer relinearisation and rescaling (native) pays one of each for, instead of one per
    /// product. Any backend computes it as the products' sum.
    fn mul_sum(&self, pairs: &[(&Self::Ciphertext, &Self::Ciphertext)]) -> Result<Self::Ciphertext, BackendError> {
        sum_of_products(self, pairs)
    }
    /// `a * v` slot-wise: one level.
    fn mul_plain(&self, a: &Self::Ciphertext, v: &[f64]) -> Result<Self::Ciphertext, BackendError>;
    /// `c * a`: one level.
    fn mul_scalar(&self, a: &Self::Ciphertext, c: f64) -> Result<Self::Ciphertext, BackendError>;

    /// Slot `i` of the result is slot `i + step` of `a` (indices mod the slot count).
    fn rotate(&self, a: &Self::Ciphertext, step: i64) -> Result<Self::Ciphertext, BackendError>;

    /// Several rotations of one ciphertext, sharing work where the backend can (hoisting).
    fn rotate_many(&self, a: &Self::Ciphertext, steps: &[i64]) -> Result<Vec<Self::Ciphertext>, BackendError> {
        steps.iter().map(|&k| self.rotate(a, k)).collect()
    }

    /// A ciphertext of the same values with its levels restored, if the backend can.
    fn bootstrap(&self, a: &Self::Ciphertext) -> Result<Self::Ciphertext, BackendError> {
        let _ = a;
        Err(BackendError::Unsupported {
            backend: self.capabilities().backend,
            operation: "bootstrap",
            reason: "no bootstrapping at this parameter set; refresh through the client".into(),
        })
    }

    /// Two ciphertexts with their levels restored, as [`Cloud::bootstrap`] gives them, in one
    /// bootstrapping where the backend can share one between two ciphertexts of real slots
    /// (native: `Re(a) + i Re(b)`); two bootstrappings otherwise. The slots' imaginary parts,
    /// which decryption drops anyway, are dropped first, so that none crosses over from one
    /// ciphertext to the other.
    fn bootstrap_pair(
        &self,
        a: &Self::Ciphertext,
        b: &Self::Ciphertext,
    ) -> Result<(Self::Ciphertext, Self::Ciphertext), BackendError> {
        Ok((self.bootstrap(a)?, self.bootstrap(b)?))
    }

    /// The evaluation keys, as the client sends them.
    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError>;
}
