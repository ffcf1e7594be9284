//! `blindtuner features`: a data set's features from a frozen vision transformer, extracted once
//! and kept in the feature cache, where `train --features <extractor>` finds them.
//!
//! Each split is one safetensors file, keyed by data set, split, extractor and a hash of the
//! checkpoint's weights ([`blindtuner_vision::cache_path`]); a file whose rows or labels do not
//! match the split as loaded now (another `--data-dir` with the same data set name) is
//! extracted again and overwritten.

use crate::output::finish;
use crate::train_cmd::{counting_bar, dataset_names};
use anyhow::{Context, Result, bail};
use blindtuner_datasets::{Dataset, DatasetId, Examples};
use blindtuner_features::{FeatureError, FeatureSplits, Features, PixelSpec};
use blindtuner_reports::{Machine, utc_now_rfc3339};
use blindtuner_vision::{Kind, VitExtractor, WeightsSource, cache_path, checkpoint_files, file_hash};
use clap::Args;
use indicatif::ProgressBar;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

#[derive(Args)]
pub struct FeaturesArgs {
    /// Data set to extract (see `blindtuner datasets`).
    #[arg(long, value_parser = dataset_names())]
    dataset: String,
    /// Directory holding the files of a file-based data set.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Vision extractor: deit-tiny, deit-small, deit-base (each optionally -distilled) or
    /// vit-base, which check the checkpoint's size; deit, deit-distilled or vit take any size.
    #[arg(long, value_parser = Kind::from_str)]
    extractor: Kind,
    /// The checkpoint: a directory with model.safetensors and config.json, a .safetensors file
    /// with config.json beside it, or hf:owner/name (a build with `--features hub`).
    #[arg(long, value_name = "PATH")]
    weights: WeightsSource,
    /// Feature cache directory [default: $XDG_CACHE_HOME/blindtuner/features or
    /// ~/.cache/blindtuner/features].
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = EXTRACTION_BATCH, value_name = "N")]
    batch: usize,
    /// Extraction threads [default: one per core].
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// Write the record as JSON to PATH (`-` for stdout, the table then goes to stderr).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// No progress bars or cache messages.
    #[arg(long)]
    quiet: bool,
}

/// What `--features` names: pixel features, or a vision extractor's cached features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSpec {
    Pixels(PixelSpec),
    Vision(Kind),
}

impl FromStr for FeatureSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<FeatureSpec, String> {
        if s.starts_with("pixels") {
            return s
                .parse()
                .map(FeatureSpec::Pixels)
                .map_err(|e: FeatureError| e.to_string());
        }
        s.parse().map(FeatureSpec::Vision).map_err(|_| {
            format!(
                "unknown features `{s}`: expected pixels, pixels-pcaK, pixels-std, pixels-pcaK-std or a vision extractor ({})",
                Kind::ALL.join(", ")
            )
        })
    }
}

impl fmt::Display for FeatureSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureSpec::Pixels(spec) => spec.fmt(f),
            FeatureSpec::Vision(kind) => kind.fmt(f),
        }
    }
}

/// `$XDG_CACHE_HOME/blindtuner/features`, else `$HOME/.cache/blindtuner/features`.
pub fn default_cache_dir() -> Result<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    // The XDG specification ignores a relative XDG_CACHE_HOME.
    let base = set("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|home| home.join(".cache")))
        .context("no cache directory: XDG_CACHE_HOME and HOME are unset; pass --cache DIR")?;
    Ok(base.join("blindtuner").join("features"))
}

/// Images per forward pass unless `--batch` says otherwise.
pub const EXTRACTION_BATCH: usize = 16;

/// How a vision extractor runs.
pub struct Extraction {
    /// Images per forward pass.
    pub batch: usize,
    /// Threads, or one per core.
    pub threads: Option<usize>,
    /// No progress bars or cache messages.
    pub quiet: bool,
}

/// One split's features: where they are kept and how they were obtained.
#[derive(serde::Serialize)]
pub struct SplitRecord {
    pub split: &'static str,
    pub count: usize,
    pub cache_path: PathBuf,
    pub from_cache: bool,
    /// Extracting and storing, or (from the cache) reading.
    pub seconds: f64,
    /// Extraction rate; `null` for a split read from the cache.
    pub images_per_second: Option<f64>,
}

/// A data set's features from a vision extractor, as the trainers take them.
pub struct VisionFeatures {
    /// The extractor named `kind@weights-hash`.
    pub splits: FeatureSplits,
    pub weights_hash: String,
    pub records: Vec<SplitRecord>,
}

/// The features of every split of `data` from `kind` on the checkpoint `weights`: read from the
/// cache in `cache_dir` where they are there, extracted and stored there where not.
pub fn vision_features(
    data: &Dataset,
    kind: Kind,
    weights: &WeightsSource,
    cache_dir: &Path,
    how: &Extraction,
) -> Result<VisionFeatures> {
    let checkpoint = weights.resolve(cache_dir)?;
    if !checkpoint.exists() {
        bail!("{}: no such file or directory (--weights)", checkpoint.display());
    }
    let weights_file = checkpoint_files(&checkpoint).0;
    let weights_hash = file_hash(&weights_file).with_context(|| format!("{}: cannot read", weights_file.display()))?;
    let name = kind.to_string();
    // Loaded when the first split has to be extracted, not for a run served by the cache.
    let mut extractor: Option<VitExtractor> = None;
    let mut records = Vec::new();
    let mut split_features = Vec::new();
    for (split, examples) in [("train", &data.train), ("val", &data.val), ("test", &data.test)] {
        let path = cache_path(cache_dir, &data.name, split, &name, &weights_hash);
        let t = Instant::now();
        let (features, from_cache) = match read_cached(&path, examples, data.classes, how.quiet)? {
            Some(features) => {
                if !how.quiet {
                    eprintln!(
                        "{split}: {} features from the cache ({})",
                        examples.len(),
                        path.display()
                    );
                }
                (features, true)
            }
            None => {
                let extractor = match &mut extractor {
                    Some(extractor) => extractor,
                    None => {
                        check_writable(cache_dir)?;
                        let mut loaded = VitExtractor::load(kind, &checkpoint)?;
                        if let Some(threads) = how.threads {
                            loaded = loaded.with_threads(threads)?;
                        }
                        loaded.batch = how.batch;
                        extractor.insert(loaded)
                    }
                };
                let bar = images_bar(how.quiet, &format!("{name} {split}"), examples.len());
                let x = extractor.extract_with_progress(&examples.images, &mut |done| bar.set_position(done as u64))?;
                bar.finish_and_clear();
                blindtuner_vision::save_features(&path, &x, &examples.labels).map_err(anyhow::Error::msg)?;
                let features = Features {
                    x: x.with_bias_column(),
                    labels: examples.labels.clone(),
                    classes: data.classes,
                };
                (features, false)
            }
        };
        let seconds = t.elapsed().as_secs_f64();
        records.push(SplitRecord {
            split,
            count: examples.len(),
            cache_path: path,
            from_cache,
            seconds,
            images_per_second: (!from_cache).then(|| examples.len() as f64 / seconds.max(1e-9)),
        });
        split_features.push(features);
    }
    let [train, val, test]: [Features; 3] = split_features.try_into().expect("three splits");
    if train.x.cols != val.x.cols || train.x.cols != test.x.cols {
        bail!(
            "{}: cached splits of different widths ({}, {}, {} columns); delete them to extract again",
            cache_dir.display(),
            train.x.cols - 1,
            val.x.cols - 1,
            test.x.cols - 1
        );
    }
    Ok(VisionFeatures {
        splits: FeatureSplits {
            extractor: format!("{kind}@{weights_hash}"),
            dim: train.x.cols - 1,
            train,
            val,
            test,
        },
        weights_hash,
        records,
    })
}

/// The split's features from `path`, if the file is there and holds this split: its rows and
/// labels (a file written for other files of the same data set name is extracted again).
fn read_cached(path: &Path, examples: &Examples, classes: usize, quiet: bool) -> Result<Option<Features>> {
    if !path.is_file() {
        return Ok(None);
    }
    let (x, labels) = blindtuner_vision::load_features(path).map_err(anyhow::Error::msg)?;
    if labels != examples.labels {
        if !quiet {
            eprintln!(
                "{}: cached for other files of this data set ({} rows here, {} now): extracting again",
                path.display(),
                labels.len(),
                examples.len()
            );
        }
        return Ok(None);
    }
    Ok(Some(Features {
        x: x.with_bias_column(),
        labels,
        classes,
    }))
}

/// Creates `dir` and checks that files can be written there, before any long extraction.
fn check_writable(dir: &Path) -> Result<()> {
    let cannot = || format!("{}: cannot write the feature cache (--cache DIR)", dir.display());
    std::fs::create_dir_all(dir).with_context(cannot)?;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(cannot)?;
    std::fs::remove_file(&probe).with_context(cannot)
}

/// A bar over `len` images, with the rate.
fn images_bar(quiet: bool, what: &str, len: usize) -> ProgressBar {
    let template = format!("{what} [{{bar:30}}] {{pos}}/{{len}} images, {{per_sec}}, ETA {{eta}}");
    counting_bar(quiet, len as u64, &template)
}

/// The JSON record of `blindtuner features`.
#[derive(serde::Serialize)]
struct FeaturesReport {
    blindtuner_version: String,
    git_commit: String,
    date: String,
    dataset: String,
    data_origin: String,
    extractor: String,
    /// `--weights` as given.
    weights: String,
    /// 64-bit FNV-1a of the checkpoint's safetensors file, the cache key.
    weights_hash: String,
    /// Feature dimension (the encoder's hidden size).
    dim: usize,
    classes: usize,
    batch: usize,
    threads: usize,
    splits: Vec<SplitRecord>,
    measured: bool,
    machine: Machine,
}

pub fn run(args: FeaturesArgs) -> Result<()> {
    if args.batch == 0 || args.threads == Some(0) {
        bail!("--batch and --threads must be positive");
    }
    let date = utc_now_rfc3339();
    let cache_dir = match &args.cache {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?,
    };
    let id = DatasetId::from_name(&args.dataset).context("unknown data set")?;
    let data = blindtuner_datasets::load(id, args.data_dir.as_deref())?;
    let how = Extraction {
        batch: args.batch,
        threads: args.threads,
        quiet: args.quiet,
    };
    let features = vision_features(&data, args.extractor, &args.weights, &cache_dir, &how)?;
    let report = FeaturesReport {
        blindtuner_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("BLINDTUNER_GIT_COMMIT").into(),
        date,
        dataset: data.name.clone(),
        data_origin: data.origin.clone(),
        extractor: args.extractor.to_string(),
        weights: args.weights.to_string(),
        weights_hash: features.weights_hash,
        dim: features.splits.dim,
        classes: data.classes,
        batch: args.batch,
        threads: args.threads.unwrap_or_else(rayon::current_num_threads),
        splits: features.records,
        measured: true,
        machine: Machine::current(),
    };

    finish(args.json.as_deref(), &summary_table(&report), &report)
}

fn summary_table(r: &FeaturesReport) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["split", "images", "source", "seconds", "images/s", "file"]);
    for s in &r.splits {
        b.push_record([
            s.split.to_string(),
            s.count.to_string(),
            if s.from_cache { "cache" } else { "extracted" }.to_string(),
            format!("{:.2}", s.seconds),
            s.images_per_second.map_or("-".into(), |v| format!("{v:.1}")),
            s.cache_path.display().to_string(),
        ]);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp());
    format!(
        "{} on {}: {} features per image (weights {})\n{table}",
        r.extractor, r.dataset, r.dim, r.weights_hash
    )
}
