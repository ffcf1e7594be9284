//! The record of one run, as JSON and as a summary table.
//!
//! Every group of figures carries `measured: true` when this machine measured
//! it; projected or paper-reported figures (added by later methods) carry
//! `measured: false` and say what they are instead, so they can never be
//! mistaken for measurements.
//!
//! [`records`] reads result files of every command, [`report`] turns a folder of them into the
//! comparison report, [`regress`] compares two of them for time regressions, and [`reported`]
//! holds the figures the papers report (embedded, labelled `reported`).

pub mod plots;
pub mod records;
pub mod regress;
pub mod report;
pub mod reported;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the JSON layout below; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything one `blindtuner train` run reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    pub schema: u32,
    pub blindtuner_version: String,
    pub git_commit: String,
    /// UTC start time, RFC 3339.
    pub date: String,
    pub dataset: String,
    /// `embedded` or the directory the data was read from.
    pub data_origin: String,
    pub method: String,
    pub backend: String,
    pub features: FeatureInfo,
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    pub classes: usize,
    pub hyperparameters: HyperparamInfo,
    pub epochs_run: usize,
    /// 1-based epoch whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub steps: usize,
    pub accuracy: Accuracy,
    pub loss_curve: LossCurve,
    pub time: Timing,
    pub machine: Machine,
    /// What an encrypted run (method `blindtuner`) adds: the backend, costs per step, and the
    /// same training on plain and exact for comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<EncryptedRun>,
}

/// The encrypted side of a run: parameters, costs, and the accuracy gaps to the same training
/// without encryption.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EncryptedRun {
    /// The backend's parameter set, in words.
    pub parameters: String,
    /// `128-bit`, `toy (insecure)` or `none (not encrypted)`.
    pub security: String,
    pub slots: usize,
    /// Levels of a fresh (or refreshed) ciphertext; `None` (null) where the backend has no
    /// level limit (TFHE).
    pub levels: Option<usize>,
    /// `bootstrap` (the cloud alone) or `client` (interactive re-encryption).
    pub refresh: String,
    /// HETAL's block of `s0 x s1` slots.
    pub block: String,
    /// The public scale the weights are kept divided by.
    pub weight_scale: f64,
    /// Rotation keys the training asked for (bootstrapping's own come on top).
    pub rotation_keys: usize,
    /// The serialised cloud keys, where the run wrote them (the role commands do; an
    /// in-process run does not serialise gigabytes of keys just to weigh them).
    pub cloud_key_bytes: Option<u64>,
    /// The client's upload: ciphertexts of features, labels and initial weights.
    pub upload_ciphertexts: usize,
    pub upload_bytes: u64,
    /// Mean operations per training step (validation excluded).
    pub ops_per_step: OpsPerStep,
    /// Operations of the whole run, validation included.
    pub ops_total: OpsPerStep,
    /// Interactive refresh rounds with the client and their bytes, both ways (zero when the
    /// cloud bootstraps).
    pub client_rounds: u64,
    pub client_bytes: u64,
    /// The same training on plain with the identical circuit (approximate softmax, no noise),
    /// and by the exact f64 trainer (exact softmax, cross-entropy early stopping).
    pub approximate_plain: Accuracy,
    pub exact: Accuracy,
    /// `-log2` of the largest difference between the encrypted run's weights and the plain
    /// run's after each epoch (decrypted by the client, in process only).
    pub weight_bits_vs_plain: Vec<f64>,
}

/// Operation counts (means per step, or totals).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct OpsPerStep {
    pub mul: f64,
    /// One per product, or one per sum of products where the backend defers them.
    #[serde(default)]
    pub relinearizations: f64,
    pub mul_plain: f64,
    pub mul_scalar: f64,
    pub rotations: f64,
    /// The rotations done in hoisted batches (a part of `rotations`).
    pub hoisted_rotations: f64,
    pub additions: f64,
    /// Bootstraps, or client rounds where the run refreshes through the client (a paired
    /// bootstrapping or a round of two ciphertexts counts once).
    pub refreshes: f64,
    /// The ciphertexts those refreshes restored: up to twice `refreshes`.
    #[serde(default)]
    pub refreshed_ciphertexts: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeatureInfo {
    pub extractor: String,
    /// Feature dimension without the bias column.
    pub dim: usize,
    /// Columns the trainer sees: `dim + 1`.
    pub dim_with_bias: usize,
    /// For a vision extractor: whether every split was read from the feature cache (`false`:
    /// some were extracted by this run). Absent for pixel features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_cache: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HyperparamInfo {
    pub preset: String,
    pub batch: usize,
    pub lr: f64,
    pub epochs_max: usize,
    pub patience: Option<usize>,
    pub seed: u64,
    pub optimizer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Accuracy {
    pub train: f64,
    pub val: f64,
    pub test: f64,
    pub measured: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochLoss {
    pub epoch: usize,
    /// The mean loss of the epoch's batches (exact trainer); an encrypted run has none.
    pub train_loss: Option<f64>,
    /// The loss early stopping watches (see [`LossCurve::val_loss`]); an encrypted run without
    /// early stopping computes none.
    pub val_loss: Option<f64>,
    /// Accuracy of the epoch's weights on the validation split, where the run can tell.
    pub val_accuracy: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LossCurve {
    /// What `val_loss` is: `cross-entropy`, or `brier` (the encrypted runs' validation loss).
    pub val_loss: String,
    pub epochs: Vec<EpochLoss>,
    pub measured: bool,
}

/// Wall-clock seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub total_s: f64,
    /// Training time divided by the number of steps.
    pub per_step_s: f64,
    /// Seconds per phase (`load`, `features`, `train`, `evaluate`, ...).
    pub phases: BTreeMap<String, f64>,
    pub measured: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub cpu: String,
    /// Hardware threads available to the process.
    pub threads: usize,
    /// Absent from the peer benchmarks' records, which name only the CPU and threads.
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
    /// The widest vector extension the CPU offers of those the native engine uses
    /// (`avx512ifma`, `avx512`), or `avx2` / `baseline`: the same code runs about twice as fast
    /// with AVX-512 IFMA as without, so every timing says which it had.
    #[serde(default)]
    pub vector: String,
    /// Seconds of one round of the calibration kernel (a fixed single-threaded workload of NTTs
    /// and modular products, measured by the command that wrote the record), so that `blindtuner regress`
    /// can tell a slower machine from slower code. Absent where the command does not time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_s: Option<f64>,
}

impl Machine {
    /// Describes the machine this process runs on.
    pub fn current() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            vector: vector_extensions().into(),
            calibration_s: None,
        }
    }
}

/// See [`Machine::vector`].
fn vector_extensions() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512ifma") {
            return "avx512ifma";
        }
        if has!("avx512f") {
            return "avx512";
        }
        if has!("avx2") {
            return "avx2";
        }
    }
    "baseline"
}

impl RunReport {
    /// A short table of the run for the terminal.
    pub fn summary_table(&self) -> String {
        let mut b = tabled::builder::Builder::default();
        b.push_record([
            "dataset",
            "method",
            "backend",
            "features",
            "epochs",
            "steps",
            "train acc",
            "val acc",
            "test acc",
            "total s",
            "per step ms",
        ]);
        b.push_record([
            self.dataset.clone(),
            self.method.clone(),
            self.backend.clone(),
            format!("{} ({}+1)", self.features.extractor, self.features.dim),
            format!("{} (best {})", self.epochs_run, self.best_epoch),
            self.steps.to_string(),
            percent(self.accuracy.train),
            percent(self.accuracy.val),
            percent(self.accuracy.test),
            format!("{:.2}", self.time.total_s),
            format!("{:.2}", self.time.per_step_s * 1e3),
        ]);
        b.build().with(tabled::settings::Style::sharp()).to_string()
    }
}

fn percent(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// Seconds in the unit that reads best: `1.23 s`, `45.6 ms`, `0.012 ms`.
pub fn format_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.01 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.3} ms", s * 1e3)
    }
}

/// The current UTC time in RFC 3339 (`2026-11-25T17:55:00Z`).
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339_from_unix(secs)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_795_629_296), "2026-11-25T17:54:56Z");
    }

    #[test]
    fn machine_is_described() {
        let m = Machine::current();
        assert!(m.threads >= 1);
        assert!(!m.cpu.is_empty() && !m.arch.is_empty());
    }
}
