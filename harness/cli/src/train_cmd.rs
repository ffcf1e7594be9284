//! `blindtuner train`: load a data set, extract features, train, evaluate,
//! report.

use crate::features_cmd::{EXTRACTION_BATCH, Extraction, FeatureSpec, default_cache_dir, vision_features};
use crate::output::{finish, write_weights};
use anyhow::{Context, Result, bail};
use blindtuner_datasets::{CATALOGUE, Dataset, DatasetId};
use blindtuner_features::{FeatureSplits, Features, Matrix, Pixels};
use blindtuner_reports::{
    Accuracy, EncryptedRun, EpochLoss, FeatureInfo, HyperparamInfo, LossCurve, RunReport, SCHEMA_VERSION, Timing,
    utc_now_rfc3339,
};
use blindtuner_train::{Hyperparams, Progress, SoftmaxRegression, default_preset, preset};
use blindtuner_vision::WeightsSource;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The training algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// BlindTuner: HETAL's packing and circuits on the backend's ciphertexts (on `plain`, the
    /// identical circuit without encryption), compared with plain and exact in every result.
    Blindtuner,
    /// The HETAL baseline as published (tiled weights, HETAL's softmax, one refresh per
    /// ciphertext), on any backend, compared with plain and exact as BlindTuner is.
    Hetal,
    /// The f64 reference trainer: exact softmax, no encryption.
    Exact,
    /// The Glyph-style baseline: products on native CKKS, the softmax on TFHE (a binary built
    /// with `--features tfhe`), client-aided switches between them, plain gradient descent;
    /// `--backend plain` stands in for both schemes.
    Glyph,
}

impl Method {
    /// The circuits of BlindTuner or the HETAL baseline; `None` for the exact trainer and the
    /// Glyph-style baseline, which run circuits of their own.
    pub fn circuits(self) -> Option<blindtuner_encrypted::training::Method> {
        match self {
            Method::Blindtuner => Some(blindtuner_encrypted::training::Method::BlindTuner),
            Method::Hetal => Some(blindtuner_encrypted::training::Method::Hetal),
            Method::Exact | Method::Glyph => None,
        }
    }
}

/// The engine the method runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Plain f64 slots, no encryption, the same level accounting as `native`.
    Plain,
    /// The native pure-Rust CKKS engine (bootstrapping at `boot-n16`).
    Native,
    /// Microsoft SEAL 4.0 CKKS (a binary built with `--features seal`; no bootstrapping).
    Seal,
}

/// How an encrypted run restores levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Refresh {
    /// The cloud bootstraps alone.
    Bootstrap,
    /// The client decrypts and re-encrypts (interactive; counted in rounds and bytes).
    Client,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value_t = Method::Blindtuner)]
    pub method: Method,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Write the trained weights as JSON to PATH (`blindtuner client decrypt` writes the same).
    #[arg(long, value_name = "PATH")]
    save_weights: Option<PathBuf>,
    /// Write the JSON result to PATH (`-` for stdout, the table then goes to stderr).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Where the examples come from and which features they become.
#[derive(Args, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataArgs {
    /// Data set to train on (see `blindtuner datasets`).
    #[arg(long, default_value = "mnist10k", value_parser = dataset_names())]
    pub dataset: String,
    /// Directory holding the files of a file-based data set.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Train on the first N training examples only (a quick run).
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Validate on the first N validation examples only.
    #[arg(long, value_name = "N")]
    pub val_limit: Option<usize>,
    /// Keep only the examples of the first K classes (labels 0 .. K-1) in every split, before
    /// the limits (a quick run with fewer classes).
    #[arg(long, value_name = "K")]
    #[serde(default)]
    pub classes: Option<usize>,
    /// Features: pixels, pixels-pcaK, pixels-std or pixels-pcaK-std; or a vision extractor
    /// (deit-tiny, deit-small, deit-base, each optionally -distilled, vit-base; deit,
    /// deit-distilled, vit of any size) with --weights, its features read from the feature cache
    /// (extracted and stored there first if missing, as `blindtuner features` does).
    #[arg(long, default_value = "pixels", value_parser = FeatureSpec::from_str)]
    #[serde(with = "display_fromstr")]
    pub features: FeatureSpec,
    /// The vision extractor's checkpoint (a directory, a .safetensors file, or hf:owner/name).
    #[arg(long, value_name = "PATH")]
    #[serde(default)]
    pub weights: Option<WeightsSource>,
    /// Feature cache directory [default: $XDG_CACHE_HOME/blindtuner/features or
    /// ~/.cache/blindtuner/features].
    #[arg(long, value_name = "DIR")]
    #[serde(default)]
    pub cache: Option<PathBuf>,
}

/// The engine of an encrypted run.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Engine of `--method blindtuner` or `hetal` (`exact` runs on plain f64).
    #[arg(long, value_enum, default_value_t = Backend::Native)]
    pub backend: Backend,
    /// The backend's parameter set (native: boot-n16, boot-toy-n12, boot-toy-n12-w9, toy-n12,
    /// n14, peer-n16; seal: seal-n14, seal-peer-n14, seal-peer-n16, toy-seal-n12); defaults to
    /// boot-n16 on native (plain mimics its slots and levels) and seal-n14 on seal.
    #[arg(long, value_name = "NAME")]
    pub params: Option<String>,
    /// How levels come back: bootstrapping (default where the backend has it) or through the
    /// client.
    #[arg(long, value_enum)]
    pub refresh: Option<Refresh>,
    /// The encrypted weights are kept divided by this public power of two, so that refreshing
    /// them stays precise; their largest magnitude should stay below it.
    #[arg(long, default_value_t = 16.0)]
    pub weight_scale: f64,
}

/// Hyperparameters: a preset and what overrides it.
#[derive(Args, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HyperArgs {
    /// Hyperparameter preset (defaults to the data set's own; hetal-mnist,
    /// hetal-cifar10, hetal-face-mask, hetal-dermamnist, hetal-snips, mnist10k, digits).
    #[arg(long, value_parser = preset_names())]
    pub preset: Option<String>,
    /// Maximum number of epochs (overrides the preset).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size (overrides the preset).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (overrides the preset).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Early-stopping patience in epochs; 0 trains all epochs (overrides the preset).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Seed of the training-set shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Reads and writes a value through its `Display` and `FromStr` forms.
mod display_fromstr {
    pub fn serialize<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: std::str::FromStr<Err: std::fmt::Display>,
        D: serde::Deserializer<'de>,
    {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl HyperArgs {
    /// The preset (the data set's own unless named) with the overrides, checked.
    pub fn resolve(&self, dataset: &str) -> Result<(&'static blindtuner_train::Preset, Hyperparams)> {
        let preset = match &self.preset {
            Some(name) => preset(name).context("unknown preset")?,
            None => default_preset(dataset),
        };
        let hyper = Hyperparams {
            batch: self.batch.unwrap_or(preset.hyper.batch),
            lr: self.lr.unwrap_or(preset.hyper.lr),
            epochs: self.epochs.unwrap_or(preset.hyper.epochs),
            patience: match self.patience {
                Some(0) => None,
                Some(p) => Some(p),
                None => preset.hyper.patience,
            },
        };
        if hyper.batch == 0 || hyper.epochs == 0 || !(hyper.lr.is_finite() && hyper.lr > 0.0) {
            bail!("--batch and --epochs must be positive and --lr a positive number");
        }
        Ok((preset, hyper))
    }
}

impl DataArgs {
    /// Loads the data set and extracts its features (the limits applied), timing both.
    pub fn load(&self, quiet: bool, phases: &mut BTreeMap<String, f64>) -> Result<LoadedData> {
        if self.train_limit == Some(0) || self.val_limit == Some(0) {
            bail!("--train-limit and --val-limit must be positive");
        }
        let t = Instant::now();
        let id = DatasetId::from_name(&self.dataset).context("unknown data set")?;
        let data = blindtuner_datasets::load(id, self.data_dir.as_deref())?;
        phases.insert("load".to_string(), t.elapsed().as_secs_f64());

        let t = Instant::now();
        let (mut features, from_cache) = match (self.features, &self.weights) {
            (FeatureSpec::Pixels(spec), None) => {
                let spinner = spinner(quiet, format!("extracting {spec} features"));
                let extractor = Pixels::fit(spec, &data.train.images)?;
                let features = FeatureSplits::extract(&extractor, &data)?;
                spinner.finish_and_clear();
                (features, None)
            }
            (FeatureSpec::Pixels(spec), Some(_)) => bail!("--weights is for a vision extractor, not {spec}"),
            (FeatureSpec::Vision(kind), None) => {
                bail!("--features {kind} needs the checkpoint: --weights PATH (or hf:owner/name)")
            }
            (FeatureSpec::Vision(kind), Some(weights)) => {
                let cache_dir = match &self.cache {
                    Some(dir) => dir.clone(),
                    None => default_cache_dir()?,
                };
                let how = Extraction {
                    batch: EXTRACTION_BATCH,
                    threads: None,
                    quiet,
                };
                let vision = vision_features(&data, kind, weights, &cache_dir, &how)?;
                (vision.splits, Some(vision.records.iter().all(|r| r.from_cache)))
            }
        };
        if let Some(k) = self.classes {
            if k < 2 || k > features.train.classes {
                bail!(
                    "--classes {k}: keep between 2 and the data set's {} classes",
                    features.train.classes
                );
            }
            for split in [&mut features.train, &mut features.val, &mut features.test] {
                *split = first_classes(split, k);
            }
        }
        if let Some(n) = self.train_limit {
            features.train = features.train.head(n);
        }
        if let Some(n) = self.val_limit {
            features.val = features.val.head(n);
        }
        phases.insert("features".to_string(), t.elapsed().as_secs_f64());
        Ok(LoadedData {
            data,
            features,
            from_cache,
        })
    }
}

/// A data set and its features, as [`DataArgs::load`] made them.
pub struct LoadedData {
    pub data: Dataset,
    pub features: FeatureSplits,
    /// For a vision extractor: whether every split came from the feature cache.
    pub from_cache: Option<bool>,
}

/// The rows of `f` whose label is below `k`, as a split of `k` classes.
fn first_classes(f: &Features, k: usize) -> Features {
    let keep: Vec<usize> = (0..f.len()).filter(|&i| f.labels[i] < k).collect();
    let data = keep.iter().flat_map(|&i| f.x.row(i).iter().copied()).collect();
    Features {
        x: Matrix::from_rows(keep.len(), f.x.cols, data),
        labels: keep.iter().map(|&i| f.labels[i]).collect(),
        classes: k,
    }
}

pub fn dataset_names() -> clap::builder::PossibleValuesParser {
    CATALOGUE.iter().map(|d| d.name).collect::<Vec<_>>().into()
}

fn preset_names() -> clap::builder::PossibleValuesParser {
    blindtuner_train::PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .into()
}

pub fn run(args: TrainArgs) -> Result<()> {
    let start = Instant::now();
    let date = utc_now_rfc3339();
    let mut phases = BTreeMap::new();
    let (preset, hyper) = args.hyper.resolve(&args.data.dataset)?;
    let LoadedData {
        data,
        features,
        from_cache,
    } = args.data.load(args.quiet, &mut phases)?;

    let trained = match args.method {
        Method::Exact => exact(&features, &hyper, args.hyper.seed, args.quiet, &mut phases)?,
        Method::Blindtuner | Method::Hetal => crate::encrypted_train::run(&args, &features, &hyper, &mut phases)?,
        Method::Glyph => crate::glyph_cmd::run(&args, &features, &hyper, &mut phases)?,
    };

    let t = Instant::now();
    let model = &trained.model;
    let accuracy = accuracy(model, &features);
    phases.insert("evaluate".to_string(), t.elapsed().as_secs_f64());

    let report = RunReport {
        schema: SCHEMA_VERSION,
        blindtuner_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: env!("BLINDTUNER_GIT_COMMIT").into(),
        date,
        dataset: data.name.clone(),
        data_origin: data.origin.clone(),
        method: args
            .method
            .to_possible_value()
            .expect("no skipped variants")
            .get_name()
            .into(),
        backend: trained.backend.into(),
        features: FeatureInfo {
            extractor: features.extractor.clone(),
            dim: features.dim,
            dim_with_bias: features.dim + 1,
            from_cache,
        },
        n_train: features.train.len(),
        n_val: features.val.len(),
        n_test: features.test.len(),
        classes: features.train.classes,
        hyperparameters: HyperparamInfo {
            preset: preset.name.into(),
            batch: hyper.batch,
            lr: hyper.lr,
            epochs_max: hyper.epochs,
            patience: hyper.patience,
            seed: args.hyper.seed,
            optimizer: match args.method {
                Method::Glyph => "sgd (plain mini-batch gradient descent)".into(),
                _ => "nesterov (Kim et al. 2018 schedule)".into(),
            },
        },
        epochs_run: trained.epochs_run,
        best_epoch: trained.best_epoch,
        stopped_early: trained.stopped_early,
        steps: trained.steps,
        accuracy,
        loss_curve: trained.loss_curve,
        time: Timing {
            total_s: start.elapsed().as_secs_f64(),
            per_step_s: trained.train_s / trained.steps.max(1) as f64,
            phases,
            measured: true,
        },
        machine: crate::calibration::machine()?,
        encrypted: trained.encrypted,
    };

    if let Some(path) = &args.save_weights {
        write_weights(path, &trained.model.weights)?;
    }
    finish(args.json.as_deref(), &report.summary_table(), &report)
}

/// The accuracy of `model` on each split.
pub fn accuracy(model: &SoftmaxRegression, features: &FeatureSplits) -> Accuracy {
    Accuracy {
        train: model.evaluate(&features.train).accuracy,
        val: model.evaluate(&features.val).accuracy,
        test: model.evaluate(&features.test).accuracy,
        measured: true,
    }
}

/// What any method hands back for the report.
pub struct Trained {
    pub model: SoftmaxRegression,
    pub backend: &'static str,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub steps: usize,
    pub loss_curve: LossCurve,
    /// Seconds of training proper (the per-step time divides it).
    pub train_s: f64,
    pub encrypted: Option<EncryptedRun>,
}

/// The exact f64 trainer, with a progress bar.
pub fn exact(
    features: &FeatureSplits,
    hyper: &Hyperparams,
    seed: u64,
    quiet: bool,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    let t = Instant::now();
    let steps_per_epoch = features.train.len().div_ceil(hyper.batch);
    let bar = progress_bar(quiet, "training", (steps_per_epoch * hyper.epochs) as u64);
    let outcome = blindtuner_train::train(&features.train, &features.val, hyper, seed, &mut |p| match p {
        Progress::Step { step, .. } => bar.set_position(step as u64),
        Progress::Epoch(r) => bar.set_message(format!(
            "epoch {} val loss {:.4} acc {:.2} %",
            r.epoch,
            r.val_loss,
            100.0 * r.val_accuracy
        )),
    })?;
    bar.finish_and_clear();
    let train_s = t.elapsed().as_secs_f64();
    phases.insert("train".to_string(), train_s);
    Ok(Trained {
        model: outcome.model,
        backend: "plain",
        epochs_run: outcome.epochs_run,
        best_epoch: outcome.best_epoch,
        stopped_early: outcome.stopped_early,
        steps: outcome.steps,
        loss_curve: LossCurve {
            val_loss: "cross-entropy".into(),
            epochs: outcome
                .history
                .iter()
                .map(|r| EpochLoss {
                    epoch: r.epoch,
                    train_loss: Some(r.train_loss),
                    val_loss: Some(r.val_loss),
                    val_accuracy: Some(r.val_accuracy),
                })
                .collect(),
            measured: true,
        },
        train_s,
        encrypted: None,
    })
}

/// A bar over `len` steps, labelled `what`.
pub fn progress_bar(quiet: bool, what: &str, len: u64) -> ProgressBar {
    counting_bar(
        quiet,
        len,
        &format!("{what} [{{bar:30}}] {{pos}}/{{len}} steps, ETA {{eta}} {{msg}}"),
    )
}

/// A bar over `len` items drawn by the indicatif `template`, ticking on its own so that its ETA
/// moves during long items.
pub fn counting_bar(quiet: bool, len: u64, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.enable_steady_tick(Duration::from_millis(500));
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

pub fn spinner(quiet: bool, msg: String) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let s = ProgressBar::new_spinner().with_message(msg);
    s.enable_steady_tick(Duration::from_millis(120));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `client.json` keeps the data options through serde: a vision extractor with its
    /// checkpoint and cache comes back as it went in, and records written before these options
    /// existed still read.
    #[test]
    fn data_args_round_trip_through_json() {
        let args = DataArgs {
            dataset: "mnist".into(),
            data_dir: Some("data/mnist".into()),
            train_limit: Some(64),
            val_limit: None,
            classes: Some(3),
            features: "deit-small".parse().unwrap(),
            weights: Some("hf:facebook/deit-small-patch16-224".parse().unwrap()),
            cache: Some("cache".into()),
        };
        let json = serde_json::to_value(&args).unwrap();
        assert_eq!(json["features"], "deit-small");
        assert_eq!(json["weights"], "hf:facebook/deit-small-patch16-224");
        assert_eq!(serde_json::from_value::<DataArgs>(json).unwrap(), args);
        let old = serde_json::json!({
            "dataset": "digits", "data_dir": null, "train_limit": null, "val_limit": null, "features": "pixels-pca8-std",
        });
        let old: DataArgs = serde_json::from_value(old).unwrap();
        assert_eq!(old.features, FeatureSpec::Pixels("pixels-pca8-std".parse().unwrap()));
        assert_eq!((old.weights, old.cache), (None, None));
    }
}
