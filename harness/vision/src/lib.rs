//! Frozen vision-transformer feature extractors: DeiT (tiny / small / base, plain and distilled)
//! and ViT-base, read from Hugging Face checkpoints and run on candle's CPU backend.
//!
//! An extractor preprocesses each image as its model was evaluated ([`Preprocess`]), runs the
//! encoder ([`Encoder`]) and returns the final layer-normed CLS token: the embedding that the
//! models' own classification heads read, and what HETAL-style fine-tuned heads take as input.

mod cache;
mod config;
mod error;
#[cfg(feature = "hub")]
pub mod hub;
mod model;
mod preprocess;
mod weights;

pub use cache::{cache_path, file_hash, load_features, save_features};
pub use config::VitConfig;
pub use error::VisionError;
pub use model::Encoder;
pub use preprocess::{Filter, Preprocess, Resize};
pub use weights::{DEFAULT_HUB_ENDPOINT, WeightsSource, hub_dir};

use blindtuner_datasets::Images;
use blindtuner_features::{FeatureError, FeatureExtractor, Matrix};
use candle_core::{Device, Tensor};
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which checkpoint family: fixes the preprocessing and whether a distillation token is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `facebook/deit-*-patch16-224`.
    Deit,
    /// `facebook/deit-*-distilled-patch16-224`. The features are still the CLS token, not the
    /// distillation token: the latter is trained to match a CNN teacher's predictions, while the
    /// CLS token is trained on the true labels, is what DeiT's own class head reads, and is
    /// the input HETAL-style heads expect.
    DeitDistilled,
    /// `google/vit-base-patch16-224-in21k`, HETAL's encoder.
    Vit,
}

impl Family {
    pub fn preprocess(self) -> Preprocess {
        match self {
            Family::Deit | Family::DeitDistilled => Preprocess::DEIT,
            Family::Vit => Preprocess::VIT,
        }
    }
}

/// A named extractor: a family and, for a sized name such as `deit-small`, the hidden size its
/// checkpoints must have. The bare family names (`deit`, `deit-distilled`, `vit`) take a
/// checkpoint of any size, read from its `config.json`: the tiny random test fixtures, or a
/// fine-tuned model of a size without a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub family: Family,
    pub hidden_size: Option<usize>,
}

impl Kind {
    /// Every named extractor, in the order the CLI lists them.
    pub const ALL: [&'static str; 10] = [
        "deit-tiny",
        "deit-small",
        "deit-base",
        "deit-tiny-distilled",
        "deit-small-distilled",
        "deit-base-distilled",
        "vit-base",
        "deit",
        "deit-distilled",
        "vit",
    ];
}

impl FromStr for Kind {
    type Err = VisionError;

    fn from_str(s: &str) -> Result<Kind, VisionError> {
        let bad = || VisionError::UnknownKind(s.to_string());
        let (family, size) = match s {
            "vit" => (Family::Vit, None),
            "vit-base" => (Family::Vit, Some("base")),
            "deit" => (Family::Deit, None),
            "deit-distilled" => (Family::DeitDistilled, None),
            _ => {
                let rest = s.strip_prefix("deit-").ok_or_else(bad)?;
                match rest.strip_suffix("-distilled") {
                    Some(size) => (Family::DeitDistilled, Some(size)),
                    None => (Family::Deit, Some(rest)),
                }
            }
        };
        let hidden_size = match size {
            None => None,
            Some("tiny") if family != Family::Vit => Some(192),
            Some("small") if family != Family::Vit => Some(384),
            Some("base") => Some(768),
            Some(_) => return Err(bad()),
        };
        Ok(Kind { family, hidden_size })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Vit => "vit",
            Family::Deit | Family::DeitDistilled => "deit",
        };
        write!(f, "{family}")?;
        match self.hidden_size {
            None => {}
            Some(192) => write!(f, "-tiny")?,
            Some(384) => write!(f, "-small")?,
            Some(_) => write!(f, "-base")?,
        }
        if self.family == Family::DeitDistilled {
            write!(f, "-distilled")?;
        }
        Ok(())
    }
}

/// `(model.safetensors, config.json)` for a checkpoint directory, or for a `.safetensors` file
/// with its `config.json` beside it.
pub fn checkpoint_files(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        (path.join("model.safetensors"), path.join("config.json"))
    } else {
        let dir = path.parent().unwrap_or(Path::new("."));
        (path.to_path_buf(), dir.join("config.json"))
    }
}

/// Images in, final layer-normed CLS tokens out.
pub struct VitExtractor {
    name: String,
    preprocess: Preprocess,
    encoder: Encoder,
    /// Images per forward pass.
    pub batch: usize,
    /// The threads extraction runs on; `None`: rayon's global pool (one thread per core).
    pool: Option<rayon::ThreadPool>,
}

impl VitExtractor {
    /// Loads the named extractor `kind` from `path`, checking the checkpoint's hidden size where
    /// the name fixes one.
    pub fn load(kind: Kind, path: &Path) -> Result<VitExtractor, VisionError> {
        let (_, config_path) = checkpoint_files(path);
        let extractor = VitExtractor::load_family(kind.family, &kind.to_string(), path)?;
        match kind.hidden_size {
            Some(hidden) if hidden != extractor.encoder.hidden => Err(VisionError::Config {
                path: config_path,
                message: format!("hidden_size {} but {kind} has {hidden}", extractor.encoder.hidden),
            }),
            _ => Ok(extractor),
        }
    }

    /// Loads a checkpoint of any size of `family` from `path` (a directory or a
    /// `.safetensors` file), reporting itself as `name`.
    pub fn load_family(family: Family, name: &str, path: &Path) -> Result<VitExtractor, VisionError> {
        if !path.exists() {
            return Err(VisionError::MissingFile(path.to_path_buf()));
        }
        let (weights, config_path) = checkpoint_files(path);
        let config = VitConfig::read(&config_path)?;
        let encoder = Encoder::load(&weights, &config, family == Family::DeitDistilled)?;
        Ok(VitExtractor {
            name: name.to_string(),
            preprocess: family.preprocess(),
            encoder,
            batch: 16,
            pool: None,
        })
    }

    /// Runs extraction on `threads` threads of its own. candle's CPU kernels (the convolution,
    /// gemm's matrix products) and the preprocessing run on the rayon pool they are called in,
    /// so a dedicated pool bounds them all.
    pub fn with_threads(mut self, threads: usize) -> Result<VitExtractor, VisionError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| VisionError::Threads(e.to_string()))?;
        self.pool = Some(pool);
        Ok(self)
    }

    pub fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// CLS features of every image, `batch` images per forward pass, calling `progress(done)`
    /// after each batch.
    pub fn extract_with_progress(
        &self,
        images: &Images,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Matrix, FeatureError> {
        let fail = |message: String| FeatureError::Extraction {
            extractor: self.name.clone(),
            message,
        };
        if images.channels != 1 && images.channels != 3 {
            return Err(fail(format!("needs 1 or 3 channels, got {}", images.channels)));
        }
        let n = self.preprocess.crop;
        let forward = |start: usize, end: usize| {
            let pixels: Vec<f32> = (start..end)
                .into_par_iter()
                .map(|i| self.preprocess.apply(images, i))
                .collect::<Vec<_>>()
                .concat();
            Tensor::from_vec(pixels, (end - start, 3, n, n), &Device::Cpu)
                .and_then(|x| self.encoder.cls(&x))
                .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
        };
        let mut data = Vec::with_capacity(images.count * self.encoder.hidden);
        for start in (0..images.count).step_by(self.batch.max(1)) {
            let end = (start + self.batch.max(1)).min(images.count);
            let cls = match &self.pool {
                Some(pool) => pool.install(|| forward(start, end)),
                None => forward(start, end),
            }
            .map_err(|e| fail(model::one_line(&e)))?;
            data.extend(cls.into_iter().map(f64::from));
            progress(end);
        }
        Ok(Matrix::from_rows(images.count, self.encoder.hidden, data))
    }
}

impl FeatureExtractor for VitExtractor {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn dim(&self) -> usize {
        self.encoder.hidden
    }

    fn extract(&self, images: &Images) -> Result<Matrix, FeatureError> {
        self.extract_with_progress(images, &mut |_| {})
    }
}
