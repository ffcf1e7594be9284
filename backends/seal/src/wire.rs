//! The SEAL backend's wire format: SEAL's own serialisation inside a blindtuner frame.
//!
//! ```text
//! frame   := magic "BTSE" | version u16 (= 1) | kind u16 | fingerprint u64 | body length u64
//!            | body | checksum u64 (FNV-1a 64 of everything before it)
//! kind 1, a ciphertext:      body := SEAL Ciphertext blob
//! kind 2, evaluation keys:   body := #steps u32 | step u32 x #steps (increasing, in 1..slots)
//!                                    | relin blob length u64 | SEAL RelinKeys blob
//!                                    | galois blob length u64 | SEAL GaloisKeys blob (empty if no steps)
//! ```
//!
//! All integers are little-endian. SEAL blobs are written uncompressed, and only uncompressed
//! blobs whose 16-byte SEAL header states their exact length are read, so no decompression runs
//! on received data. The fingerprint names the parameter set (primes, degree, scale): data of
//! another set is refused with that reason before SEAL parses anything, and the checksum refuses
//! accidental corruption (it is not a MAC). SEAL then validates what it loads (metadata against
//! the context, every coefficient below its prime). Key blobs are walked first
//! ([`kswitch_entries`]) so that the counts SEAL reserves memory from are bounded by the
//! parameter set, not taken from the data.

use blindtuner_backend::{BackendError, fnv1a};
use blindtuner_rlwe::{Reader, WireError, Writer};

use crate::params::SealParams;

const MAGIC: [u8; 4] = *b"BTSE";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 24;
const CHECKSUM_LEN: usize = 8;

/// What a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    Ciphertext = 1,
    EvaluationKeys = 2,
    SecretKey = 3,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ciphertext => "a SEAL ciphertext",
            Kind::EvaluationKeys => "SEAL evaluation keys",
            Kind::SecretKey => "a SEAL secret key",
        }
    }
}

/// A malformed field read by [`Reader`] is corrupt data.
pub fn wire_error(e: WireError) -> BackendError {
    BackendError::Format(e.to_string())
}

/// Frames `body` as `kind` of the parameter set `params`.
pub fn frame(params: &SealParams, kind: Kind, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(VERSION);
    w.u16(kind as u16);
    w.u64(params.fingerprint);
    w.u64(body.len() as u64);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&w.into_bytes());
    out.extend_from_slice(body);
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Checks magic, version, length, checksum, kind and parameter set; returns the body.
pub fn unframe<'a>(params: &SealParams, kind: Kind, bytes: &'a [u8]) -> Result<&'a [u8], BackendError> {
    let bad = |why: String| Err(BackendError::Format(format!("not {}: {why}", kind.name())));
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return bad(format!("{} bytes are too short", bytes.len()));
    }
    if bytes[..4] != MAGIC {
        return bad("not the SEAL backend's format (magic number)".into());
    }
    let mut r = Reader::new(&bytes[4..HEADER_LEN]);
    let (version, tag, fingerprint, body_len) = (
        r.u16().map_err(wire_error)?,
        r.u16().map_err(wire_error)?,
        r.u64().map_err(wire_error)?,
        r.u64().map_err(wire_error)?,
    );
    if version != VERSION {
        return bad(format!("format version {version}, this build reads {VERSION}"));
    }
    let expected = usize::try_from(body_len)
        .ok()
        .and_then(|b| b.checked_add(HEADER_LEN + CHECKSUM_LEN));
    if expected != Some(bytes.len()) {
        return bad(format!(
            "{} bytes, the header announces a body of {body_len}",
            bytes.len()
        ));
    }
    let (framed, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if sum != fnv1a(framed).to_le_bytes() {
        return bad("checksum mismatch: the data is corrupted".into());
    }
    if tag != kind as u16 {
        return bad(format!("the frame holds object kind {tag}"));
    }
    if fingerprint != params.fingerprint {
        return Err(BackendError::Format(format!(
            "{} of another parameter set (fingerprint {fingerprint:#018x}; {} is {:#018x})",
            kind.name(),
            params.name,
            params.fingerprint
        )));
    }
    Ok(&framed[HEADER_LEN..])
}

/// SEAL's 16-byte header: magic 0xA15E, header size 16, version 4.x, compression, reserved, size.
const SEAL_HEADER_LEN: usize = 16;

/// Checks that `blob` is one uncompressed SEAL 4 object of exactly its length.
pub fn check_seal_blob(blob: &[u8], what: &str) -> Result<(), BackendError> {
    let bad = |why: &str| Err(BackendError::Format(format!("{what}: {why}")));
    if blob.len() < SEAL_HEADER_LEN {
        return bad("shorter than a SEAL header");
    }
    if blob[..2] != 0xA15Eu16.to_le_bytes() || blob[2] != SEAL_HEADER_LEN as u8 {
        return bad("not a SEAL object (header)");
    }
    if blob[3] != 4 {
        return bad("not written by SEAL 4");
    }
    if blob[5] != crate::ffi::COMPR_NONE {
        return bad("compressed; only uncompressed SEAL objects are read");
    }
    let size = u64::from_le_bytes(blob[8..16].try_into().expect("8 bytes"));
    if usize::try_from(size).ok() != Some(blob.len()) {
        return bad("the SEAL header states another length");
    }
    Ok(())
}

/// Walks a serialised `KSwitchKeys` (SEAL header | parms_id 4 x u64 | dim1 u64 | per entry:
/// dim2 u64 | dim2 SEAL objects) and returns the indices of its non-empty entries. Entries may
/// number at most `max_entries` and each holds zero or `parts` keys (one per ciphertext prime),
/// each an uncompressed SEAL object: SEAL reserves vectors of these sizes before reading them,
/// so a forged count must not reach it.
pub fn kswitch_entries(blob: &[u8], max_entries: usize, parts: usize, what: &str) -> Result<Vec<usize>, BackendError> {
    check_seal_blob(blob, what)?;
    let bad = |why: String| BackendError::Format(format!("{what}: {why}"));
    let mut r = Reader::new(&blob[SEAL_HEADER_LEN..]);
    r.take(32).map_err(wire_error)?;
    let entries = r.u64().map_err(wire_error)?;
    if entries > max_entries as u64 {
        return Err(bad(format!("{entries} key entries, at most {max_entries}")));
    }
    let mut present = Vec::new();
    for index in 0..entries as usize {
        let count = r.u64().map_err(wire_error)?;
        if count != 0 && count != parts as u64 {
            return Err(bad(format!("an entry of {count} keys, {parts} expected")));
        }
        if count > 0 {
            present.push(index);
        }
        for _ in 0..count {
            let mut peek = r.clone();
            let header = peek.take(SEAL_HEADER_LEN).map_err(wire_error)?;
            let size = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
            let size = usize::try_from(size).map_err(|_| bad("a key of impossible length".into()))?;
            check_seal_blob(r.take(size).map_err(wire_error)?, what)?;
        }
    }
    r.finish().map_err(wire_error)?;
    Ok(present)
}
