//! The files through which the client and the cloud work on different machines
//! (`blindtuner client ...`, `blindtuner cloud train`).
//!
//! The **exchange directory** travels between them:
//!
//! | file                   | written by       | read by        | holds                                  |
//! |------------------------|------------------|----------------|----------------------------------------|
//! | `plan.json`            | `client encrypt` | both           | the public plan, backend, parameters, checksums of the next two files |
//! | `cloud.keys`           | `client encrypt` | `cloud train`  | evaluation keys only                   |
//! | `upload.cts`           | `client encrypt` | `cloud train`  | batches, validation blocks, zero weights |
//! | `checkpoint.cts`       | `cloud train`    | `cloud train`  | the run after its last epoch           |
//! | `loss-epoch-K.cts`     | `cloud train`    | `client judge` | the encrypted validation loss of epoch K |
//! | `verdict-epoch-K.json` | `client judge`   | `cloud train`  | improved / stop: nothing else          |
//! | `model.cts`            | `cloud train`    | `client decrypt` | the encrypted weights kept           |
//!
//! The **client directory** never leaves the data owner: `secret.key` and `client.json` (how
//! the features were made, so that `client decrypt` can measure accuracy).
//!
//! Ciphertext files and the secret share one container, checked whole before anything in it is
//! parsed:
//!
//! ```text
//! magic "BTXC" | version u16 | kind u16 | header length u32 | header (JSON) |
//! count u32 | count x (length u64 | the backend's own bytes) | FNV-1a 64 of all before
//! ```
//!
//! The backend's bytes carry its own frame (parameter-set fingerprint, checksum), so a
//! ciphertext of another parameter set is refused by the backend that reads it. Every write
//! goes to a temporary file renamed into place: an interrupted run never leaves half a file.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use blindtuner_backend::fnv1a;
use serde::Serialize;
use serde::de::DeserializeOwned;

const MAGIC: &[u8; 4] = b"BTXC";
const VERSION: u16 = 1;
/// Magic, version, kind, header length.
const PREFIX_LEN: usize = 12;

pub const PLAN: &str = "plan.json";
pub const KEYS: &str = "cloud.keys";
pub const UPLOAD: &str = "upload.cts";
pub const CHECKPOINT: &str = "checkpoint.cts";
pub const MODEL: &str = "model.cts";
pub const SECRET: &str = "secret.key";
pub const CLIENT: &str = "client.json";

/// The encrypted validation loss of epoch `epoch`.
pub fn loss_file(epoch: usize) -> String {
    format!("loss-epoch-{epoch}.cts")
}

/// The client's verdict on epoch `epoch`.
pub fn verdict_file(epoch: usize) -> String {
    format!("verdict-epoch-{epoch}.json")
}

/// What a container holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum FileKind {
    Upload = 1,
    Checkpoint = 2,
    Loss = 3,
    Model = 4,
    Secret = 5,
}

impl FileKind {
    const ALL: [FileKind; 5] = [
        FileKind::Upload,
        FileKind::Checkpoint,
        FileKind::Loss,
        FileKind::Model,
        FileKind::Secret,
    ];
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Upload => "an upload",
            FileKind::Checkpoint => "a checkpoint",
            FileKind::Loss => "an encrypted validation loss",
            FileKind::Model => "an encrypted model",
            FileKind::Secret => "a client secret",
        })
    }
}

/// A file's size and checksum, as `plan.json` records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Digest {
    pub bytes: u64,
    /// FNV-1a 64, hexadecimal.
    pub fnv1a: String,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            bytes: bytes.len() as u64,
            fnv1a: format!("{:016x}", fnv1a(bytes)),
        }
    }
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Reads a file and checks it against the digest `plan.json` recorded for it.
pub fn read_checked(path: &Path, want: &Digest, what: &str) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    let got = Digest::of(&bytes);
    if got != *want {
        bail!(
            "{}: {} bytes with checksum {}, but {PLAN} records {} bytes with checksum {}: {what}",
            path.display(),
            got.bytes,
            got.fnv1a,
            want.bytes,
            want.fnv1a
        );
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with_mode(path, bytes, 0o644)
}

/// [`write_atomic`] for a secret: readable by its owner alone (on Unix).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".partial");
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        std::io::Write::write_all(&mut options.open(&tmp)?, bytes)
    };
    write().with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes a JSON file atomically.
pub fn write_json_file(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("serialising JSON")?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file, naming it in the error.
pub fn read_json_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a valid blindtuner file", path.display()))
}

/// A container's bytes: `kind`, its JSON `header` and its `blobs`.
pub fn container(kind: FileKind, header: &impl Serialize, blobs: &[Vec<u8>]) -> Result<Vec<u8>> {
    let header = serde_json::to_vec(header).context("serialising a container header")?;
    let mut out = Vec::with_capacity(PREFIX_LEN + header.len() + blobs.iter().map(|b| b.len() + 8).sum::<usize>() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(kind as u16).to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(header.len())
            .context("a container header too large")?
            .to_le_bytes(),
    );
    out.extend_from_slice(&header);
    out.extend_from_slice(
        &u32::try_from(blobs.len())
            .context("too many ciphertexts")?
            .to_le_bytes(),
    );
    for blob in blobs {
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        out.extend_from_slice(blob);
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// A container read back: its header and the backend bytes it holds.
pub struct Container<'a, H> {
    pub header: H,
    pub blobs: Vec<&'a [u8]>,
}

/// Parses `bytes` (read from `path`) as a container of `kind`: magic, version, checksum, kind,
/// then the header and the blobs, every length within the file.
pub fn parse<'a, H: DeserializeOwned>(path: &Path, bytes: &'a [u8], kind: FileKind) -> Result<Container<'a, H>> {
    let bad = |why: String| anyhow::anyhow!("{}: {why}", path.display());
    if bytes.len() < PREFIX_LEN + 12 || &bytes[..4] != MAGIC {
        return Err(bad(format!("not a blindtuner exchange file ({kind} expected)")));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(bad(format!(
            "exchange format version {version}; this build reads version {VERSION}"
        )));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if sum != fnv1a(body).to_le_bytes() {
        return Err(bad("corrupt or truncated (checksum mismatch)".into()));
    }
    let tag = u16::from_le_bytes([body[6], body[7]]);
    match FileKind::ALL.into_iter().find(|&k| k as u16 == tag) {
        Some(found) if found == kind => {}
        Some(found) => return Err(bad(format!("holds {found}, not {kind}"))),
        None => return Err(bad(format!("unknown content tag {tag}"))),
    }
    let mut at: usize = 8;
    let mut take = |n: usize| -> Result<&'a [u8]> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= body.len())
            .ok_or_else(|| bad("lengths inside run past its end".into()))?;
        let out = &body[at..end];
        at = end;
        Ok(out)
    };
    let header_len = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
    let header = serde_json::from_slice(take(header_len)?).map_err(|e| bad(format!("its header: {e}")))?;
    let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
    let mut blobs = Vec::with_capacity(count.min(body.len() / 8));
    for _ in 0..count {
        let len = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        blobs.push(take(
            usize::try_from(len).map_err(|_| bad("a length too large".into()))?,
        )?);
    }
    if at != body.len() {
        return Err(bad("bytes after its last ciphertext".into()));
    }
    Ok(Container { header, blobs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_round_trip_and_refuse_damage() {
        let path = Path::new("test.cts");
        let blobs = vec![vec![1u8, 2, 3], vec![], vec![9; 40]];
        let bytes = container(FileKind::Loss, &serde_json::json!({"epoch": 3}), &blobs).unwrap();
        let back: Container<serde_json::Value> = parse(path, &bytes, FileKind::Loss).unwrap();
        assert_eq!(back.header["epoch"], 3);
        assert_eq!(back.blobs, blobs.iter().map(|b| b.as_slice()).collect::<Vec<_>>());

        let wrong = parse::<serde_json::Value>(path, &bytes, FileKind::Model).err().unwrap();
        assert!(
            wrong
                .to_string()
                .contains("holds an encrypted validation loss, not an encrypted model")
        );
        for cut in [0, 5, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                parse::<serde_json::Value>(path, &bytes[..cut], FileKind::Loss).is_err(),
                "cut at {cut}"
            );
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x04;
            let e = parse::<serde_json::Value>(path, &damaged, FileKind::Loss).err();
            assert!(e.is_some(), "byte {at} flipped was accepted");
        }
    }

    #[test]
    fn digests_name_the_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x");
        write_atomic(&file, b"abc").unwrap();
        assert_eq!(read_checked(&file, &Digest::of(b"abc"), "why").unwrap(), b"abc");
        let e = read_checked(&file, &Digest::of(b"abd"), "the keys of another upload").unwrap_err();
        assert!(e.to_string().contains("the keys of another upload"), "{e}");
        assert!(!dir.path().join(".x.partial").exists());
    }
}
