//! Why a vision model could not be loaded: one line naming the file, the tensor or the setting.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("{}: no such file", .0.display())]
    MissingFile(PathBuf),
    #[error("{}: {message}", path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("{}: unsupported config: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{}: missing tensor `{name}`", path.display())]
    MissingTensor { path: PathBuf, name: String },
    #[error("{}: tensor `{name}` has shape {found:?}, expected {expected:?}", path.display())]
    WrongShape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(
        "unknown vision extractor `{0}`: expected deit-tiny, deit-small, deit-base (each optionally -distilled), vit-base, or deit, deit-distilled, vit (any size)"
    )]
    UnknownKind(String),
    #[error("`{0}`: a hub model is hf:owner/name, e.g. hf:facebook/deit-small-patch16-224")]
    BadHubModel(String),
    #[error("`{0}`: downloading from the Hugging Face hub needs a build with `--features hub`")]
    HubDisabled(String),
    #[error("{url}: {message}")]
    Download { url: String, message: String },
    #[error("cannot start the extraction threads: {0}")]
    Threads(String),
}
