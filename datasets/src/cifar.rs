//! CIFAR-10, binary version: `data_batch_1.bin` .. `data_batch_5.bin` and
//! `test_batch.bin`. Each record is one label byte (0..=9) then a 32x32 RGB
//! image stored channel-major (1,024 red, 1,024 green, 1,024 blue bytes, each
//! plane row-major); [`Images`] are channel-last, so records are transposed.

use crate::error::{DataError, Problem};
use crate::images::{Examples, Images};
use std::path::{Path, PathBuf};

/// Side of a CIFAR-10 image.
pub const SIDE: usize = 32;
/// Colour channels of a CIFAR-10 image.
pub const CHANNELS: usize = 3;
/// Bytes of one record: the label, then the image.
pub const RECORD: usize = 1 + SIDE * SIDE * CHANNELS;
const CLASSES: usize = 10;

/// The training batches, in the order they are concatenated.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch.
pub const TEST_FILE: &str = "test_batch.bin";
/// The folder the official archive unpacks to; the files may also lie
/// directly in the data directory.
pub const SUBDIR: &str = "cifar-10-batches-bin";

/// The folder holding the batches: `dir/cifar-10-batches-bin` if it exists,
/// else `dir`.
pub fn batch_dir(dir: &Path) -> PathBuf {
    let sub = dir.join(SUBDIR);
    if sub.is_dir() { sub } else { dir.to_path_buf() }
}

/// Every file the loader reads, in [`batch_dir`].
pub fn files() -> impl Iterator<Item = &'static str> {
    TRAIN_FILES.into_iter().chain([TEST_FILE])
}

/// Reads the five training batches (concatenated) and the test batch.
pub fn load_cifar10_dir(dir: &Path) -> Result<(Examples, Examples), DataError> {
    let dir = batch_dir(dir);
    let mut train = Vec::new();
    for f in TRAIN_FILES {
        train.push(read_batch(&dir.join(f))?);
    }
    let test = read_batch(&dir.join(TEST_FILE))?;
    Ok((concat(train), test))
}

/// Reads one batch file.
pub fn read_batch(path: &Path) -> Result<Examples, DataError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        let p = if e.kind() == std::io::ErrorKind::NotFound {
            Problem::Missing(name.clone())
        } else {
            Problem::Io(e.to_string())
        };
        DataError::new(&name, p)
    })?;
    parse_batch(&bytes, &name)
}

/// Parses the bytes of one batch file; `name` is used in error messages.
pub fn parse_batch(bytes: &[u8], name: &str) -> Result<Examples, DataError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::new(
            name,
            Problem::NotRecords {
                size: bytes.len(),
                record: RECORD,
            },
        ));
    }
    let count = bytes.len() / RECORD;
    let plane = SIDE * SIDE;
    let mut pixels = vec![0u8; count * plane * CHANNELS];
    let mut labels = Vec::with_capacity(count);
    for (index, (record, out)) in bytes
        .chunks_exact(RECORD)
        .zip(pixels.chunks_exact_mut(plane * CHANNELS))
        .enumerate()
    {
        let label = record[0] as usize;
        if label >= CLASSES {
            return Err(DataError::new(
                name,
                Problem::LabelOutOfRange {
                    index,
                    label: label as i64,
                    classes: CLASSES,
                },
            ));
        }
        labels.push(label);
        let image = &record[1..];
        for p in 0..plane {
            for c in 0..CHANNELS {
                out[p * CHANNELS + c] = image[c * plane + p];
            }
        }
    }
    Ok(Examples {
        images: Images {
            count,
            height: SIDE,
            width: SIDE,
            channels: CHANNELS,
            max_value: 255,
            pixels,
        },
        labels,
    })
}

/// Concatenates examples of one image shape.
fn concat(parts: Vec<Examples>) -> Examples {
    let mut all = Examples {
        images: Images {
            count: 0,
            height: SIDE,
            width: SIDE,
            channels: CHANNELS,
            max_value: 255,
            pixels: Vec::new(),
        },
        labels: Vec::new(),
    };
    for p in parts {
        all.images.count += p.images.count;
        all.images.pixels.extend(p.images.pixels);
        all.labels.extend(p.labels);
    }
    all
}
