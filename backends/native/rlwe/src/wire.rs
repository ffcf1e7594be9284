//! A versioned, validated binary format for parameters, keys and ciphertexts.
//!
//! Every object is one self-delimiting frame; all integers are little-endian:
//!
//! ```text
//! frame     := header body checksum
//! header    := magic "BTFH" (4 bytes) | version u16 (= 1) | kind u16 | fingerprint u64 | body length u64
//! checksum  := u64, FNV-1a 64 of header and body
//! ```
//!
//! `kind` is an [`ObjectKind`] tag and `fingerprint` the [`Parameters::fingerprint`] of the set the
//! object belongs to (for a parameter set, its own). The checksum detects accidental corruption;
//! it is not a MAC and proves nothing against a deliberate forgery. Bodies:
//!
//! ```text
//! poly        := limbs u32 | form u8 (0 coefficient, 1 evaluation) | limbs x N residues u64, limb-major
//! Parameters  := log_n u32 | #q u32 | q_i u64 x #q | #p u32 | p_i u64 x #p
//!                | secret u8 (0 ternary, 1 sparse ternary) | [hamming weight u64, if sparse]
//!                | error_std f64 (IEEE 754 bits) | digits u32 | security u8 (0 toy, 1 standard)
//! Ciphertext  := c0 poly | c1 poly   (evaluation form, the same 1..=#q limbs)
//! PublicKey   := b poly | a poly     (evaluation form, #q limbs)
//! SecretKey   := s over Q poly | s over P poly   (evaluation form, #q and #p limbs)
//! qp          := poly over Q (#q limbs) | poly over P (#p limbs)     (evaluation form)
//! SwitchingKey := digits u32 (= ceil(#q / #p)) | (b_j qp | a_j qp) x digits
//! RelinearizationKey := SwitchingKey body
//! EvaluationKeys := has relinearization u8 (0 or 1) | [SwitchingKey body]
//!                 | #galois u32 | (galois element u64 | SwitchingKey body) x #galois, elements increasing
//! ```
//!
//! `N` is not repeated in polynomials: it is fixed by the parameter set, which the fingerprint
//! identifies. Loading checks, in order: magic, version, lengths, checksum, kind, fingerprint,
//! then the body itself (limb counts, forms, every residue below its prime, parameter validation).
//! Malformed input of any kind is a [`WireError`], never a panic, and no buffer is allocated from
//! a length before that length is checked against the bytes actually present.
//!
//! [`Writer`], [`Reader`], [`write_poly`], [`read_poly`] and [`WireFormat`] are public so the
//! layers above (ckks) frame their own objects the same way.

use crate::keys::{Ciphertext, PublicKey, SecretKey};
use crate::keyswitch::{EvaluationKeys, GaloisKey, QpPoly, RelinearizationKey, SwitchingKey};
use crate::parameters::{Moduli, ParameterError, Parameters, ParametersLiteral, SecretDistribution, Security, fnv1a};
use blindtuner_ring::Automorphism;
use blindtuner_ring::{Form, RnsBasis, RnsPoly};
use std::collections::BTreeMap;
use std::fmt;

/// The first four bytes of every object.
pub const MAGIC: [u8; 4] = *b"BTFH";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes before the body: magic, version, kind, fingerprint, body length.
pub const HEADER_LEN: usize = 24;
/// Bytes after the body: the checksum.
pub const CHECKSUM_LEN: usize = 8;
/// Most primes (`Q` and `P` together) a serialised parameter set may list: building a basis
/// costs an NTT plan per prime, so a short forged file must not make the reader build thousands.
/// Standard sets stay far below it (N = 2^16 allows 1,772 bits, under 100 primes); a toy set
/// with more primes can be written but is refused on reading.
pub const MAX_PRIMES: usize = 128;

/// What a frame holds. The tag values are part of the format and never change meaning; a tag
/// this build does not know is [`WireError::UnknownKind`]. This crate reads and writes
/// parameters, ciphertexts and keys; the ckks layer writes its parameters, ciphertexts and
/// plaintexts (with their scales and slot counts), and its bootstrapping keys, under tags 8 to
/// 11; the tfhe backend (`blindtuner-tfhe`) frames its ciphertexts, server keys and client keys
/// (tfhe-rs's own serialisation inside) under tags 12 to 14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ObjectKind {
    Parameters = 1,
    Ciphertext = 2,
    PublicKey = 3,
    SwitchingKey = 4,
    RelinearizationKey = 5,
    EvaluationKeys = 6,
    SecretKey = 7,
    Plaintext = 8,
    CkksParameters = 9,
    CkksCiphertext = 10,
    BootstrapKeys = 11,
    TfheCiphertext = 12,
    TfheServerKey = 13,
    TfheClientKey = 14,
}

impl ObjectKind {
    const ALL: [ObjectKind; 14] = [
        ObjectKind::Parameters,
        ObjectKind::Ciphertext,
        ObjectKind::PublicKey,
        ObjectKind::SwitchingKey,
        ObjectKind::RelinearizationKey,
        ObjectKind::EvaluationKeys,
        ObjectKind::SecretKey,
        ObjectKind::Plaintext,
        ObjectKind::CkksParameters,
        ObjectKind::CkksCiphertext,
        ObjectKind::BootstrapKeys,
        ObjectKind::TfheCiphertext,
        ObjectKind::TfheServerKey,
        ObjectKind::TfheClientKey,
    ];

    fn from_tag(tag: u16) -> Option<ObjectKind> {
        Self::ALL.into_iter().find(|&k| k as u16 == tag)
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Parameters => "parameters",
            ObjectKind::Ciphertext => "a ciphertext",
            ObjectKind::PublicKey => "a public key",
            ObjectKind::SwitchingKey => "a switching key",
            ObjectKind::RelinearizationKey => "a relinearization key",
            ObjectKind::EvaluationKeys => "evaluation keys",
            ObjectKind::SecretKey => "a secret key",
            ObjectKind::Plaintext => "a plaintext",
            ObjectKind::CkksParameters => "CKKS parameters",
            ObjectKind::CkksCiphertext => "a CKKS ciphertext",
            ObjectKind::BootstrapKeys => "bootstrapping keys",
            ObjectKind::TfheCiphertext => "a tfhe ciphertext",
            ObjectKind::TfheServerKey => "a tfhe server key",
            ObjectKind::TfheClientKey => "a tfhe client key",
        })
    }
}

/// Why bytes do not decode into an object (or, for a few variants, why an object cannot be
/// written under the parameters given).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("not blindtuner data: the magic number is not \"BTFH\"")]
    BadMagic,
    #[error("format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("unknown object kind tag {0}")]
    UnknownKind(u16),
    #[error("expected {expected}, found {found}")]
    WrongKind { expected: ObjectKind, found: ObjectKind },
    #[error("the data belongs to another parameter set ({found:#018x}, expected {expected:#018x})")]
    ForeignParameters { expected: u64, found: u64 },
    #[error("truncated data: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("{0} unexpected bytes after the end of the object")]
    TrailingBytes(usize),
    #[error("checksum mismatch: the data is corrupted")]
    Checksum,
    #[error("invalid data: {0}")]
    Invalid(String),
    #[error("invalid parameter set: {0}")]
    Parameters(#[from] ParameterError),
}

/// Appends little-endian values to a byte buffer; writing cannot fail.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }

    pub fn u16(&mut self, x: u16) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    pub fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    pub fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// The IEEE 754 bits, so every value (NaN included) round-trips exactly.
    pub fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }

    /// The values one after the other, without a length (write it first if the reader needs it).
    pub fn u64s(&mut self, xs: &[u64]) {
        self.buf.reserve(xs.len() * 8);
        xs.iter().for_each(|x| self.u64(*x));
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// A writer holding a header whose body length [`Writer::seal`] fills in.
    pub fn framed(kind: ObjectKind, fingerprint: u64) -> Writer {
        let mut w = Writer::new();
        w.buf.extend_from_slice(&MAGIC);
        w.u16(FORMAT_VERSION);
        w.u16(kind as u16);
        w.u64(fingerprint);
        w.u64(0);
        w
    }

    /// Completes a frame begun by [`Writer::framed`]: body length, then checksum.
    pub fn seal(mut self) -> Vec<u8> {
        let body_len = (self.buf.len() - HEADER_LEN) as u64;
        self.buf[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&body_len.to_le_bytes());
        let checksum = fnv1a(&self.buf);
        self.u64(checksum);
        self.buf
    }
}

/// Reads little-endian values from untrusted bytes. Every read is bounds-checked and fails with
/// [`WireError::Truncated`] rather than panicking; nothing is consumed by a failed read.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes. Check a length read from the data with this before allocating for it.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let available = self.remaining();
        if n > available {
            return Err(WireError::Truncated { needed: n, available });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const K: usize>(&mut self) -> Result<[u8; K], WireError> {
        let mut a = [0; K];
        a.copy_from_slice(self.take(K)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn f64(&mut self) -> Result<f64, WireError> {
        self.u64().map(f64::from_bits)
    }

    /// `len` values written by [`Writer::u64s`]; the bytes are checked before the vector is
    /// allocated, so a forged length cannot make it allocate more than the input holds.
    pub fn u64_vec(&mut self, len: usize) -> Result<Vec<u64>, WireError> {
        let needed = len.checked_mul(8).ok_or(WireError::Truncated {
            needed: usize::MAX,
            available: self.remaining(),
        })?;
        Ok(u64_chunks(self.take(needed)?).collect())
    }

    /// Succeeds if every byte was read: a body longer than its object is malformed.
    pub fn finish(self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(WireError::TrailingBytes(n)),
        }
    }
}

fn u64_chunks(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes.chunks_exact(8).map(|c| {
        let mut a = [0; 8];
        a.copy_from_slice(c);
        u64::from_le_bytes(a)
    })
}

/// Frames `body` as an object of `kind` belonging to the parameter set `fingerprint`.
pub fn frame(kind: ObjectKind, fingerprint: u64, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::framed(kind, fingerprint);
    w.buf.extend_from_slice(body);
    w.seal()
}

/// A checked frame: the body lies within its bounds and the checksum matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The fingerprint in the header, for the caller to compare with its parameters.
    pub fingerprint: u64,
    /// The body, without header and checksum.
    pub body: &'a [u8],
}

/// Checks the framing of `bytes` (magic, version, lengths, checksum) and that it holds `kind`.
/// The fingerprint is returned, not checked: [`WireFormat::from_bytes`] compares it with its
/// parameters, [`read_parameters`] with the parameters it rebuilds.
pub fn unframe(bytes: &[u8], kind: ObjectKind) -> Result<Frame<'_>, WireError> {
    // Magic first, on as much of it as there is, so foreign data is not reported as truncated.
    let prefix = &bytes[..bytes.len().min(MAGIC.len())];
    if prefix != &MAGIC[..prefix.len()] {
        return Err(WireError::BadMagic);
    }
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(WireError::Truncated {
            needed: HEADER_LEN + CHECKSUM_LEN,
            available: bytes.len(),
        });
    }
    let mut r = Reader::new(&bytes[MAGIC.len()..HEADER_LEN]);
    // The version before the lengths and checksum: another version may lay them out differently.
    let version = r.u16()?;
    if version != FORMAT_VERSION {
        return Err(WireError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let tag = r.u16()?;
    let fingerprint = r.u64()?;
    let body_len = r.u64()?;
    let total = usize::try_from(body_len)
        .ok()
        .and_then(|b| b.checked_add(HEADER_LEN + CHECKSUM_LEN))
        .unwrap_or(usize::MAX);
    if bytes.len() < total {
        return Err(WireError::Truncated {
            needed: total,
            available: bytes.len(),
        });
    }
    if bytes.len() > total {
        return Err(WireError::TrailingBytes(bytes.len() - total));
    }
    let (sealed, checksum) = bytes.split_at(total - CHECKSUM_LEN);
    if u64_chunks(checksum).next() != Some(fnv1a(sealed)) {
        return Err(WireError::Checksum);
    }
    let found = ObjectKind::from_tag(tag).ok_or(WireError::UnknownKind(tag))?;
    if found != kind {
        return Err(WireError::WrongKind { expected: kind, found });
    }
    Ok(Frame {
        fingerprint,
        body: &sealed[HEADER_LEN..],
    })
}

/// Writes `poly` as `limbs u32 | form u8 | residues`. Fails if it does not fit `basis` (another
/// degree, more limbs than primes), so data is never labelled with a set it does not belong to.
pub fn write_poly(w: &mut Writer, basis: &RnsBasis, poly: &RnsPoly) -> Result<(), WireError> {
    if poly.n() != basis.n() || poly.limbs() > basis.moduli().len() {
        return Err(WireError::Invalid(format!(
            "a polynomial of degree {} over {} limbs does not fit a basis of degree {} with {} primes",
            poly.n(),
            poly.limbs(),
            basis.n(),
            basis.moduli().len()
        )));
    }
    w.u32(poly.limbs() as u32);
    w.u8(match poly.form() {
        Form::Coefficient => 0,
        Form::Evaluation => 1,
    });
    w.u64s(poly.data());
    Ok(())
}

/// Reads a polynomial written by [`write_poly`] over the first primes of `basis`: exactly
/// `limbs` limbs if given, otherwise any count from 1 to the number of primes. Every residue is
/// checked to be below its prime, and the residue bytes are checked present before allocating.
pub fn read_poly(r: &mut Reader<'_>, basis: &RnsBasis, limbs: Option<usize>) -> Result<RnsPoly, WireError> {
    let max = basis.moduli().len();
    let found = r.u32()? as usize;
    if !(1..=max).contains(&found) || limbs.is_some_and(|l| l != found) {
        let expected = limbs.map_or(format!("1 to {max}"), |l| l.to_string());
        return Err(WireError::Invalid(format!(
            "a polynomial has {found} limbs, expected {expected}"
        )));
    }
    let form = match r.u8()? {
        0 => Form::Coefficient,
        1 => Form::Evaluation,
        t => return Err(WireError::Invalid(format!("unknown polynomial form tag {t}"))),
    };
    let n = basis.n();
    // found <= max primes and n <= 2^17: the product cannot overflow.
    let bytes = r.take(found * n * 8)?;
    let mut poly = RnsPoly::zero(basis, found, form);
    let limbs = poly.data_mut().chunks_exact_mut(n).zip(bytes.chunks_exact(n * 8));
    for (i, ((limb, limb_bytes), q)) in limbs.zip(basis.moduli()).enumerate() {
        let q = q.value();
        for (x, v) in limb.iter_mut().zip(u64_chunks(limb_bytes)) {
            if v >= q {
                return Err(WireError::Invalid(format!(
                    "residue {v} in limb {i} is not reduced modulo {q}"
                )));
            }
            *x = v;
        }
    }
    Ok(poly)
}

/// An object with a body in this format; the provided methods add the frame around it.
///
/// Implement `write_body` and `read_body`; call `to_bytes` and `from_bytes`. `read_body` gets a
/// reader over exactly the body, after the frame, kind and fingerprint have been checked, and
/// must validate everything it reads; `from_bytes` then refuses unread bytes.
pub trait WireFormat: Sized {
    const KIND: ObjectKind;
    /// The parameter set objects of this type belong to.
    type Context: WireContext;

    /// Writes the body; fails if `self` does not belong to `params`.
    fn write_body(&self, params: &Self::Context, w: &mut Writer) -> Result<(), WireError>;

    /// Reads and validates a body written under `params`.
    fn read_body(params: &Self::Context, r: &mut Reader<'_>) -> Result<Self, WireError>;

    /// The framed object, labelled with `params`' fingerprint.
    fn to_bytes(&self, params: &Self::Context) -> Result<Vec<u8>, WireError> {
        let mut w = Writer::framed(Self::KIND, params.fingerprint());
        self.write_body(params, &mut w)?;
        Ok(w.seal())
    }

    /// Reads an object of this kind written under `params`, refusing any other parameter set.
    fn from_bytes(params: &Self::Context, bytes: &[u8]) -> Result<Self, WireError> {
        let frame = unframe(bytes, Self::KIND)?;
        check_fingerprint(params, frame.fingerprint)?;
        let mut r = Reader::new(frame.body);
        let value = Self::read_body(params, &mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// A parameter set as the wire format sees it: what its objects' headers name.
pub trait WireContext {
    /// The identity written in, and checked against, every frame's header.
    fn fingerprint(&self) -> u64;
}

impl WireContext for Parameters {
    fn fingerprint(&self) -> u64 {
        Parameters::fingerprint(self)
    }
}

/// Refuses data labelled with another parameter set than `params`.
pub fn check_fingerprint(params: &impl WireContext, found: u64) -> Result<(), WireError> {
    if found != params.fingerprint() {
        return Err(WireError::ForeignParameters {
            expected: params.fingerprint(),
            found,
        });
    }
    Ok(())
}

/// Reads a polynomial in evaluation form, the form of every polynomial of this crate's objects.
fn read_eval_poly(r: &mut Reader<'_>, basis: &RnsBasis, limbs: Option<usize>) -> Result<RnsPoly, WireError> {
    let poly = read_poly(r, basis, limbs)?;
    if poly.form() != Form::Evaluation {
        return Err(WireError::Invalid(
            "a polynomial is in coefficient form, expected evaluation form".into(),
        ));
    }
    Ok(poly)
}

/// The framed parameter set: its resolved primes, so reading regenerates nothing.
pub fn write_parameters(params: &Parameters) -> Vec<u8> {
    let mut w = Writer::framed(ObjectKind::Parameters, params.fingerprint());
    w.u32(params.log_n());
    for primes in [params.q(), params.p()] {
        w.u32(primes.len() as u32);
        w.u64s(primes);
    }
    match params.secret() {
        SecretDistribution::Ternary => w.u8(0),
        SecretDistribution::SparseTernary { hamming_weight } => {
            w.u8(1);
            w.u64(hamming_weight as u64);
        }
    }
    w.f64(params.error_std());
    w.u32(params.digits() as u32);
    w.u8(match params.security() {
        Security::Toy => 0,
        Security::Standard(_) => 1,
    });
    w.seal()
}

/// Reads a parameter set written by [`write_parameters`]. It is rebuilt through
/// [`Parameters::new`] or [`Parameters::new_toy`] as recorded, so a set recorded as standard must
/// still pass the security check, and its fingerprint must match the header's.
pub fn read_parameters(bytes: &[u8]) -> Result<Parameters, WireError> {
    let frame = unframe(bytes, ObjectKind::Parameters)?;
    let mut r = Reader::new(frame.body);
    let log_n = r.u32()?;
    let q = read_primes(&mut r, MAX_PRIMES)?;
    let p = read_primes(&mut r, MAX_PRIMES - q.len())?;
    let secret = match r.u8()? {
        0 => SecretDistribution::Ternary,
        1 => SecretDistribution::SparseTernary {
            hamming_weight: usize::try_from(r.u64()?)
                .map_err(|_| WireError::Invalid("the Hamming weight does not fit in memory".into()))?,
        },
        t => return Err(WireError::Invalid(format!("unknown secret distribution tag {t}"))),
    };
    let error_std = r.f64()?;
    let digits = Some(r.u32()? as usize);
    let standard = match r.u8()? {
        0 => false,
        1 => true,
        t => return Err(WireError::Invalid(format!("unknown security tag {t}"))),
    };
    r.finish()?;
    let lit = ParametersLiteral {
        log_n,
        q: Moduli::Primes(q),
        p: Moduli::Primes(p),
        secret,
        error_std,
        digits,
    };
    let params = if standard {
        Parameters::new(&lit)?
    } else {
        Parameters::new_toy(&lit)?
    };
    if params.fingerprint() != frame.fingerprint {
        return Err(WireError::Invalid(format!(
            "the body describes parameters {:#018x} but the header names {:#018x}",
            params.fingerprint(),
            frame.fingerprint
        )));
    }
    Ok(params)
}

/// A count then that many primes, the count capped at `max` before anything is allocated.
fn read_primes(r: &mut Reader<'_>, max: usize) -> Result<Vec<u64>, WireError> {
    let len = r.u32()? as usize;
    if len > max {
        return Err(WireError::Invalid(format!(
            "{len} primes listed, at most {MAX_PRIMES} in all are accepted"
        )));
    }
    r.u64_vec(len)
}

impl WireFormat for Ciphertext {
    const KIND: ObjectKind = ObjectKind::Ciphertext;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        // Refuse what read_body would refuse, so no unreadable file is written.
        if self.c0.limbs() != self.c1.limbs()
            || self.c0.form() != Form::Evaluation
            || self.c1.form() != Form::Evaluation
        {
            return Err(WireError::Invalid(
                "a ciphertext needs c0 and c1 in evaluation form over the same limbs".into(),
            ));
        }
        write_poly(w, params.ring_q(), &self.c0)?;
        write_poly(w, params.ring_q(), &self.c1)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let c0 = read_eval_poly(r, params.ring_q(), None)?;
        let c1 = read_eval_poly(r, params.ring_q(), Some(c0.limbs()))?;
        Ok(Ciphertext { c0, c1 })
    }
}

impl WireFormat for PublicKey {
    const KIND: ObjectKind = ObjectKind::PublicKey;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        check_fingerprint(params, self.fingerprint)?;
        write_poly(w, params.ring_q(), &self.b)?;
        write_poly(w, params.ring_q(), &self.a)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let limbs = Some(params.q().len());
        Ok(PublicKey {
            b: read_eval_poly(r, params.ring_q(), limbs)?,
            a: read_eval_poly(r, params.ring_q(), limbs)?,
            fingerprint: params.fingerprint(),
        })
    }
}

/// A client stores its secret key this way; it must never be sent to the server.
impl WireFormat for SecretKey {
    const KIND: ObjectKind = ObjectKind::SecretKey;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        check_fingerprint(params, self.fingerprint)?;
        write_poly(w, params.ring_q(), &self.q)?;
        write_poly(w, params.ring_p(), &self.p)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(SecretKey {
            q: read_eval_poly(r, params.ring_q(), Some(params.q().len()))?,
            p: read_eval_poly(r, params.ring_p(), Some(params.p().len()))?,
            fingerprint: params.fingerprint(),
        })
    }
}

fn write_qp(w: &mut Writer, params: &Parameters, x: &QpPoly) -> Result<(), WireError> {
    write_poly(w, params.ring_q(), &x.q)?;
    write_poly(w, params.ring_p(), &x.p)
}

fn read_qp(r: &mut Reader<'_>, params: &Parameters) -> Result<QpPoly, WireError> {
    Ok(QpPoly {
        q: read_eval_poly(r, params.ring_q(), Some(params.q().len()))?,
        p: read_eval_poly(r, params.ring_p(), Some(params.p().len()))?,
    })
}

impl WireFormat for SwitchingKey {
    const KIND: ObjectKind = ObjectKind::SwitchingKey;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        check_fingerprint(params, self.fingerprint)?;
        w.u32(self.b.len() as u32);
        for (b, a) in self.b.iter().zip(&self.a) {
            write_qp(w, params, b)?;
            write_qp(w, params, a)?;
        }
        Ok(())
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let digits = r.u32()? as usize;
        if digits != params.digits() {
            return Err(WireError::Invalid(format!(
                "a switching key of {digits} digits, the parameters have {}",
                params.digits()
            )));
        }
        let mut key = SwitchingKey {
            b: Vec::with_capacity(digits),
            a: Vec::with_capacity(digits),
            fingerprint: params.fingerprint(),
        };
        for _ in 0..digits {
            key.b.push(read_qp(r, params)?);
            key.a.push(read_qp(r, params)?);
        }
        Ok(key)
    }
}

impl WireFormat for RelinearizationKey {
    const KIND: ObjectKind = ObjectKind::RelinearizationKey;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        self.0.write_body(params, w)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        SwitchingKey::read_body(params, r).map(RelinearizationKey)
    }
}

/// What a client sends a server: no secret is in it.
impl WireFormat for EvaluationKeys {
    const KIND: ObjectKind = ObjectKind::EvaluationKeys;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        w.u8(self.relinearization.is_some() as u8);
        if let Some(rlk) = &self.relinearization {
            rlk.write_body(params, w)?;
        }
        w.u32(self.galois.len() as u32);
        for (&g, key) in &self.galois {
            w.u64(g);
            key.key.write_body(params, w)?;
        }
        Ok(())
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let relinearization = match r.u8()? {
            0 => None,
            1 => Some(RelinearizationKey::read_body(params, r)?),
            flag => return Err(WireError::Invalid(format!("relinearization flag {flag} is not 0 or 1"))),
        };
        let count = r.u32()?;
        let mut galois = BTreeMap::new();
        let mut last = None;
        for _ in 0..count {
            let g = r.u64()?;
            if last.is_some_and(|prev| prev >= g) {
                return Err(WireError::Invalid("Galois elements are not in increasing order".into()));
            }
            last = Some(g);
            let automorphism = Automorphism::new(params.ring_q(), g)
                .ok()
                .filter(|a| a.galois_element() == g)
                .ok_or_else(|| WireError::Invalid(format!("{g} is not a Galois element of N = {}", params.n())))?;
            let key = SwitchingKey::read_body(params, r)?;
            galois.insert(
                g,
                GaloisKey::new(params, key, automorphism).map_err(|e| WireError::Invalid(e.to_string()))?,
            );
        }
        Ok(EvaluationKeys {
            relinearization,
            galois,
        })
    }
}
