//! One error type for every loader: it always names the file (or embedded
//! resource) and the problem, so the CLI can print it on one line.

use std::fmt;

/// What went wrong while reading a data set file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be opened or read.
    Io(String),
    /// The gzip stream is corrupt.
    Gzip(String),
    /// The file ends before its header says it should.
    Truncated { expected: usize, found: usize },
    /// The file holds more bytes than its header announces.
    TrailingBytes { expected: usize, found: usize },
    /// The first four bytes are not a valid IDX magic number.
    BadMagic(u32),
    /// The IDX element type is not unsigned byte.
    UnsupportedType(u8),
    /// The array has the wrong number of dimensions for its role.
    WrongRank { expected: usize, found: usize },
    /// A dimension is zero or out of the supported range.
    BadDimension(String),
    /// Images and labels disagree on the number of examples.
    CountMismatch { images: usize, labels: usize },
    /// A label does not name one of the data set's classes.
    LabelOutOfRange { index: usize, label: i64, classes: usize },
    /// A class between 0 and the largest label has no example.
    EmptyClass { class: usize, classes: usize },
    /// A text record could not be parsed.
    Parse { line: usize, message: String },
    /// A required file is not in the data directory.
    Missing(String),
    /// The file size is not a whole number of fixed-size records.
    NotRecords { size: usize, record: usize },
    /// An archive lacks a required array.
    MissingArray(String),
    /// An array has an element type the loader does not accept.
    WrongDtype { found: String, expected: &'static str },
    /// An array has the wrong shape for its role.
    WrongShape { found: Vec<u64>, expected: String },
    /// An XML document is not well formed or lacks a required element.
    Xml(String),
    /// A bounding box is empty or leaves its image.
    BadBox(String),
    /// A class name the data set does not know.
    UnknownLabel { name: String, known: &'static str },
    /// An image file could not be decoded.
    Image(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Io(e) => write!(f, "cannot read: {e}"),
            Problem::Gzip(e) => write!(f, "corrupt gzip stream: {e}"),
            Problem::Truncated { expected, found } => {
                write!(f, "truncated: expected {expected} bytes, found {found}")
            }
            Problem::TrailingBytes { expected, found } => write!(
                f,
                "{} unexpected bytes after the {expected} bytes the header announces",
                found - expected
            ),
            Problem::BadMagic(m) => write!(f, "not an IDX file (magic number {m:#010x})"),
            Problem::UnsupportedType(t) => write!(
                f,
                "unsupported IDX element type {t:#04x}; only unsigned byte (0x08) is supported"
            ),
            Problem::WrongRank { expected, found } => {
                write!(f, "expected {expected} dimensions, found {found}")
            }
            Problem::BadDimension(d) => write!(f, "bad dimension: {d}"),
            Problem::CountMismatch { images, labels } => {
                write!(f, "{images} images but {labels} labels")
            }
            Problem::LabelOutOfRange { index, label, classes } => write!(
                f,
                "label {label} of example {index} is out of range (classes 0..{})",
                classes - 1
            ),
            Problem::EmptyClass { class, classes } => write!(
                f,
                "class {class} has no examples, although labels go up to {}",
                classes - 1
            ),
            Problem::Parse { line, message } => write!(f, "line {line}: {message}"),
            Problem::Missing(what) => write!(f, "missing file: {what}"),
            Problem::NotRecords { size, record } => {
                write!(f, "size {size} bytes is not a whole number of {record}-byte records")
            }
            Problem::MissingArray(name) => write!(f, "no array `{name}`"),
            Problem::WrongDtype { found, expected } => {
                write!(f, "element type {found}, expected {expected}")
            }
            Problem::WrongShape { found, expected } => write!(f, "shape {found:?}, expected {expected}"),
            Problem::Xml(e) => write!(f, "bad annotation XML: {e}"),
            Problem::BadBox(b) => write!(f, "bad box: {b}"),
            Problem::UnknownLabel { name, known } => {
                write!(f, "unknown label `{name}` (known: {known})")
            }
            Problem::Image(e) => write!(f, "cannot decode image: {e}"),
        }
    }
}

/// A data set error: which file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {problem}")]
pub struct DataError {
    /// Path of the file, or `embedded:<name>` for data compiled into the binary.
    pub source_name: String,
    pub problem: Problem,
}

impl DataError {
    pub fn new(source_name: impl Into<String>, problem: Problem) -> Self {
        DataError {
            source_name: source_name.into(),
            problem,
        }
    }
}
