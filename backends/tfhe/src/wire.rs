//! The tfhe backend's wire format: tfhe-rs's safe serialisation inside the project's frame
//! (`blindtuner_rlwe`'s `frame` / `unframe`: magic "BTFH", version, kind, fingerprint, body
//! length, FNV-1a checksum).
//!
//! ```text
//! kind 12, a ciphertext:   body := #slots u32 | (length u64 | tfhe-rs FheInt32) x #slots
//! kind 13, a server key:   body := tfhe-rs CompressedServerKey
//! kind 14, a client key:   body := tfhe-rs ClientKey (the secret; the client's own storage)
//! ```
//!
//! The fingerprint is [`TfheParams::fingerprint`] (name, slots, fraction bits, tfhe-rs's block
//! parameters): data of another set is refused with both set names before tfhe-rs reads
//! anything. tfhe-rs objects are written with `tfhe::safe_serialization` (versioned, with a type
//! header) and read back under a size limit and tfhe-rs's conformance check against the block
//! parameters, so a well-formed object of other tfhe parameters is refused too.
//!
//! Corrupt or truncated bytes fail the frame's checksum or lengths first. Bytes that pass it
//! (a deliberate forgery: the checksum is not a MAC) reach tfhe-rs's deserialiser, which is not
//! promised to be panic-free on arbitrary input; it runs under `catch_unwind`, so such input is
//! a [`BackendError::Format`] too (the panic message still reaches the panic hook, stderr by
//! default).

use std::panic::{AssertUnwindSafe, catch_unwind};

use blindtuner_backend::BackendError;
use blindtuner_rlwe::{ObjectKind, Reader, WireError, Writer, frame, unframe};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tfhe::named::Named;
use tfhe::prelude::ParameterSetConformant;
use tfhe::safe_serialization::{DeserializationConfig, SerializationConfig};
use tfhe::{Unversionize, Versionize};

use crate::params::TfheParams;

/// Most bytes one serialised `FheInt32` may take: 16 blocks of about 7 KB each, with room.
pub const CIPHERTEXT_LIMIT: u64 = 1 << 20;
/// Most bytes a serialised compressed server key may take (about 30 MB at the default
/// parameters), with room.
pub const SERVER_KEY_LIMIT: u64 = 1 << 28;
/// Most bytes a serialised client key may take (tens of KB at the default parameters), with
/// room.
pub const CLIENT_KEY_LIMIT: u64 = 1 << 22;

/// A malformed frame or field is corrupt data.
pub fn wire_error(e: WireError) -> BackendError {
    BackendError::Format(e.to_string())
}

/// `body` framed as `kind` of the set `params`.
pub fn framed(params: &TfheParams, kind: ObjectKind, body: &[u8]) -> Vec<u8> {
    frame(kind, params.fingerprint(), body)
}

/// The body of a frame of `kind`, refusing corrupt data and data of another set (naming both).
pub fn body<'a>(params: &TfheParams, kind: ObjectKind, bytes: &'a [u8]) -> Result<&'a [u8], BackendError> {
    let frame =
        unframe(bytes, kind).map_err(|e| BackendError::Format(format!("not {kind} of the tfhe backend: {e}")))?;
    if frame.fingerprint != params.fingerprint() {
        return Err(BackendError::Format(format!(
            "{kind} of {}, not of {}",
            TfheParams::describe_fingerprint(frame.fingerprint),
            params.name
        )));
    }
    Ok(frame.body)
}

/// tfhe-rs's safe serialisation of `object`, at most `limit` bytes.
pub fn serialize<T: Serialize + Versionize + Named>(
    object: &T,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, BackendError> {
    let mut out = Vec::new();
    SerializationConfig::new(limit)
        .serialize_into(object, &mut out)
        .map_err(|e| BackendError::Engine(format!("serialising {what}: {e}")))?;
    Ok(out)
}

/// Reads one tfhe-rs object of exactly `bytes`, at most `limit` bytes, conformant with
/// `conformance`; a panic inside tfhe-rs is caught and reported as corrupt data.
pub fn deserialize<T>(bytes: &[u8], limit: u64, conformance: &T::ParameterSet, what: &str) -> Result<T, BackendError>
where
    T: DeserializeOwned + Unversionize + Named + ParameterSetConformant,
{
    read_whole(bytes, what, |reader| {
        DeserializationConfig::new(limit).deserialize_from::<T>(reader, conformance)
    })
}

/// Reads one tfhe-rs object that has no conformance check (a client key: its caller checks
/// the parameters it carries), otherwise as [`deserialize`].
pub fn deserialize_unchecked<T>(bytes: &[u8], limit: u64, what: &str) -> Result<T, BackendError>
where
    T: DeserializeOwned + Unversionize + Named,
{
    read_whole(bytes, what, |reader| {
        DeserializationConfig::new(limit)
            .disable_conformance()
            .deserialize_from::<T>(reader)
    })
}

/// Runs tfhe-rs's reader `read` on exactly `bytes`, catching its panics.
fn read_whole<T, E: std::fmt::Display>(
    bytes: &[u8],
    what: &str,
    read: impl FnOnce(&mut &[u8]) -> Result<T, E>,
) -> Result<T, BackendError> {
    let mut reader = bytes;
    let read = catch_unwind(AssertUnwindSafe(|| read(&mut reader)));
    match read {
        Ok(Ok(object)) if reader.is_empty() => Ok(object),
        Ok(Ok(_)) => Err(BackendError::Format(format!(
            "{what}: {} bytes after the tfhe-rs object",
            reader.len()
        ))),
        Ok(Err(e)) => Err(BackendError::Format(format!("{what}: tfhe-rs refused it: {e}"))),
        Err(_) => Err(BackendError::Format(format!(
            "{what}: tfhe-rs could not read it (it panicked)"
        ))),
    }
}

/// A ciphertext body: the slots' blobs, each with its length.
pub fn write_slots(blobs: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(blobs.len() as u32);
    for blob in blobs {
        w.u64(blob.len() as u64);
    }
    let mut out = w.into_bytes();
    blobs.iter().for_each(|b| out.extend_from_slice(b));
    out
}

/// The blobs of a ciphertext body of exactly `slots` slots.
pub fn read_slots(body: &[u8], slots: usize) -> Result<Vec<&[u8]>, BackendError> {
    let mut r = Reader::new(body);
    let count = r.u32().map_err(wire_error)? as usize;
    if count != slots {
        return Err(BackendError::Format(format!(
            "a ciphertext of {count} slots, the set has {slots}"
        )));
    }
    let mut lengths = Vec::with_capacity(slots);
    for _ in 0..slots {
        let len = r.u64().map_err(wire_error)?;
        if len > CIPHERTEXT_LIMIT {
            return Err(BackendError::Format(format!("a slot of {len} bytes")));
        }
        lengths.push(len as usize);
    }
    let blobs = lengths
        .into_iter()
        .map(|len| r.take(len).map_err(wire_error))
        .collect::<Result<Vec<_>, _>>()?;
    r.finish().map_err(wire_error)?;
    Ok(blobs)
}
