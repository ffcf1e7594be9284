//! Reading result files of every kind: `train` records ([`RunReport`]), `bench step` records
//! ([`StepRecord`]), `bench ops` records in the peer benchmarks' schema ([`OpsRecord`]) and
//! projected step records ([`ProjectionRecord`], `bench glyph`).
//!
//! A file's kind is told by its fields: `projected_step_s` makes a projection record,
//! `loss_curve` and `accuracy` a train record, `median_step_s` and `steps` a step record,
//! `library` and `ops` an ops record. The step and projection records are the types `bench
//! step` and `bench glyph` write; the ops types hold the fields the report and the regression
//! check read (`bench ops` and the peers' scripts write more).

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Machine, OpsPerStep, RunReport};

/// One result file's record, by kind.
#[derive(Debug, Clone)]
pub enum Record {
    Train(Box<RunReport>),
    Step(StepRecord),
    Ops(OpsRecord),
    Projection(ProjectionRecord),
}

impl Record {
    /// The kind in words, as error messages and the report name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Train(_) => "train record",
            Record::Step(_) => "bench step record",
            Record::Ops(_) => "bench ops record",
            Record::Projection(_) => "projected step record",
        }
    }

    pub fn machine(&self) -> &Machine {
        match self {
            Record::Train(r) => &r.machine,
            Record::Step(r) => &r.machine,
            Record::Ops(r) => &r.machine,
            Record::Projection(r) => &r.machine,
        }
    }

    pub fn date(&self) -> &str {
        match self {
            Record::Train(r) => &r.date,
            Record::Step(r) => &r.date,
            Record::Ops(r) => &r.date,
            Record::Projection(r) => &r.date,
        }
    }

    /// The version of the program that wrote the record.
    pub fn version(&self) -> &str {
        match self {
            Record::Train(r) => &r.blindtuner_version,
            Record::Step(r) => &r.version,
            Record::Ops(r) => &r.version,
            Record::Projection(r) => &r.version,
        }
    }

    /// The git commit, where the record has one (train records).
    pub fn git_commit(&self) -> Option<&str> {
        match self {
            Record::Train(r) => Some(&r.git_commit),
            Record::Step(_) | Record::Ops(_) | Record::Projection(_) => None,
        }
    }
}

/// A `bench step` record: what `blindtuner bench step --json` writes, and reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// `measured` for every step the command timed.
    pub kind: String,
    /// `blindtuner` or `hetal` (the baseline): whose circuits ran.
    #[serde(default = "blindtuner")]
    pub method: String,
    pub backend: String,
    pub parameters: String,
    #[serde(default)]
    pub security: String,
    /// Rows, feature columns with the bias, classes: the shape of the batch.
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
    /// The block shape in this parameter set's slots.
    #[serde(default)]
    pub block: String,
    pub threads: u32,
    #[serde(default)]
    pub rotation_keys: usize,
    pub keygen_s: f64,
    pub encrypt_s: f64,
    /// Every step in order.
    pub steps: Vec<StepTiming>,
    /// Median over the steps after the first (over all steps when only one or two ran).
    pub median_step_s: f64,
    /// Mean over all the steps: where refreshes come in cycles longer than one step (the HETAL
    /// baseline refreshes its weights in two steps of every six), the mean over whole cycles is
    /// the cost per step of a run and the median is not; the first step is part of the cycle.
    #[serde(default)]
    pub mean_step_s: Option<f64>,
    /// Largest resident memory of the process, from the kernel (`VmHWM`), if it says.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    pub machine: Machine,
    pub date: String,
    pub version: String,
}

/// One timed step of a [`StepRecord`]: its time, where it went (in seconds) and what it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTiming {
    pub total_s: f64,
    pub matmul_s: f64,
    pub softmax_s: f64,
    pub update_s: f64,
    /// Bootstraps (or client refreshes) inside the step.
    pub refresh_s: f64,
    pub ops: OpsPerStep,
}

impl StepRecord {
    /// The steps whose median `median_step_s` is: those after the first (which starts from fresh
    /// weights) when more than two ran, else all.
    pub fn steady_steps(&self) -> &[StepTiming] {
        if self.steps.len() > 2 {
            &self.steps[1..]
        } else {
            &self.steps
        }
    }

    /// The median over the steady steps of `field`, in seconds.
    pub fn median_of(&self, field: impl Fn(&StepTiming) -> f64) -> f64 {
        median(self.steady_steps().iter().map(field).collect())
    }

    /// The mean over all the steps of their total time, in seconds (see `mean_step_s`).
    pub fn mean_step(&self) -> f64 {
        self.steps.iter().map(|s| s.total_s).sum::<f64>() / self.steps.len().max(1) as f64
    }

    /// The per-step phases (name, median seconds over the steady steps), as `train`'s phases
    /// name them.
    pub fn phases(&self) -> [(&'static str, f64); 4] {
        [
            ("train.matmul", self.median_of(|s| s.matmul_s)),
            ("train.softmax", self.median_of(|s| s.softmax_s)),
            ("train.update", self.median_of(|s| s.update_s)),
            ("train.refresh", self.median_of(|s| s.refresh_s)),
        ]
    }

    /// The mean operations per step over all the steps (counts vary from step to step, in cycles
    /// that the first step belongs to, as in `mean_step_s`).
    pub fn mean_ops(&self) -> OpsPerStep {
        let steps = &self.steps;
        let n = steps.len().max(1) as f64;
        let sum = |f: fn(&OpsPerStep) -> f64| steps.iter().map(|s| f(&s.ops)).sum::<f64>() / n;
        OpsPerStep {
            mul: sum(|o| o.mul),
            relinearizations: sum(|o| o.relinearizations),
            mul_plain: sum(|o| o.mul_plain),
            mul_scalar: sum(|o| o.mul_scalar),
            rotations: sum(|o| o.rotations),
            hoisted_rotations: sum(|o| o.hoisted_rotations),
            additions: sum(|o| o.additions),
            refreshes: sum(|o| o.refreshes),
            refreshed_ciphertexts: sum(|o| o.refreshed_ciphertexts),
        }
    }
}

/// A projected step record: what `blindtuner bench glyph --json` writes, and reads back. A
/// method's training step at a shape whose time is **projected**, not measured: exact operation
/// counts times per-operation costs measured on the machine it names. Every time field says
/// `projected` in its name; the measured inputs say `measured`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectionRecord {
    /// `projected`.
    pub kind: String,
    /// The method projected (`glyph`).
    pub method: String,
    /// Rows (the batch), feature columns with the bias, classes.
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
    /// The CKKS block shape, `s0 x s1`.
    pub block: String,
    /// Seconds of one step, projected.
    pub projected_step_s: f64,
    /// The step's seconds by part, projected.
    pub projected_parts_s: BTreeMap<String, f64>,
    /// The training the total assumes.
    pub steps_per_epoch: usize,
    pub epochs: usize,
    /// Seconds of the whole training, projected: the step times the steps.
    pub projected_total_s: f64,
    /// How the projection is obtained, in words.
    pub model: String,
    /// The exact operation counts of one step.
    pub counts: serde_json::Value,
    /// The per-operation costs the projection uses, measured on this machine (milliseconds).
    pub measured_costs_ms: serde_json::Value,
    pub threads: u32,
    pub machine: Machine,
    pub date: String,
    pub version: String,
}

/// A `bench ops` record, written by `blindtuner bench ops` or a peer library's script. Its `ops`
/// are timings taken on the machine it names (the schema has no other kind); per-slot costs
/// extrapolated to a full ciphertext come apart, under `projected`.
#[derive(Debug, Clone, Deserialize)]
pub struct OpsRecord {
    /// What the timings are where a file says (`measured`, `projected`, `reported`); absent from
    /// the files of `bench ops` and the peers' scripts, whose `ops` are timings by their schema.
    #[serde(default)]
    pub kind: Option<String>,
    pub library: String,
    pub version: String,
    pub config: String,
    pub threads: u32,
    pub machine: Machine,
    pub date: String,
    pub ops: BTreeMap<String, OpTiming>,
    #[serde(default)]
    pub projected: Option<ProjectedOps>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpTiming {
    pub median_ms: f64,
}

/// The `projected` block of an ops record.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectedOps {
    /// `projected`.
    pub kind: String,
    pub slots: usize,
    pub ops: BTreeMap<String, ProjectedOp>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProjectedOp {
    pub projected_ms: f64,
}

/// The median of `x` (the mean of the middle two for an even count; 0 for none).
/// The method of records written before the HETAL baseline existed.
fn blindtuner() -> String {
    "blindtuner".into()
}

pub fn median(mut x: Vec<f64>) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.sort_by(f64::total_cmp);
    let m = x.len() / 2;
    if x.len() % 2 == 1 {
        x[m]
    } else {
        (x[m - 1] + x[m]) / 2.0
    }
}

/// Reads one result file: its record, or `None` for JSON of no kind known here. Unreadable files,
/// text that is not JSON and records of a known kind with missing or mistyped fields are errors
/// naming the file.
pub fn read(path: &Path) -> Result<Option<Record>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
    let has = |key: &str| value.get(key).is_some();
    let record = if has("projected_step_s") {
        Record::Projection(parse(path, value, "projected step record")?)
    } else if has("loss_curve") && has("accuracy") {
        Record::Train(Box::new(parse(path, value, "train record")?))
    } else if has("median_step_s") && has("steps") {
        Record::Step(parse(path, value, "bench step record")?)
    } else if has("library") && has("ops") {
        Record::Ops(parse(path, value, "bench ops record")?)
    } else {
        return Ok(None);
    };
    Ok(Some(record))
}

fn parse<T: DeserializeOwned>(path: &Path, value: serde_json::Value, kind: &str) -> Result<T> {
    serde_json::from_value(value).with_context(|| format!("{}: a {kind} with a bad field", path.display()))
}

/// A record and the file it came from.
#[derive(Debug, Clone)]
pub struct ResultFile {
    pub path: PathBuf,
    pub record: Record,
}

/// Every `*.json` file of `dir` (not its subfolders), in name order: the records, and one warning
/// line per JSON file of no known kind.
pub fn read_dir(dir: &Path) -> Result<(Vec<ResultFile>, Vec<String>)> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}: cannot read the folder", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot read the folder", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        match read(&path)? {
            Some(record) => files.push(ResultFile { path, record }),
            None => warnings.push(format!(
                "warning: {}: not a result of train, bench step, bench ops or bench glyph; skipped",
                path.display()
            )),
        }
    }
    Ok((files, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), 0.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn kinds_are_told_apart_and_corrupt_files_named() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = dir.path().join("other.json");
        std::fs::write(&unknown, r#"{"hello": 1}"#).unwrap();
        assert!(read(&unknown).unwrap().is_none());
        let corrupt = dir.path().join("corrupt.json");
        std::fs::write(&corrupt, "{not json").unwrap();
        let e = format!("{:#}", read(&corrupt).unwrap_err());
        assert!(e.contains("corrupt.json") && e.contains("not valid JSON"), "{e}");
        let bad = dir.path().join("bad-ops.json");
        std::fs::write(&bad, r#"{"library": "x", "ops": 3}"#).unwrap();
        let e = format!("{:#}", read(&bad).unwrap_err());
        assert!(e.contains("bad-ops.json") && e.contains("bench ops record"), "{e}");
        // The first bad file in name order stops the whole folder.
        let e = format!("{:#}", read_dir(dir.path()).unwrap_err());
        assert!(e.contains("bad-ops.json"), "{e}");
        std::fs::remove_file(&bad).unwrap();
        std::fs::remove_file(&corrupt).unwrap();
        let (files, warnings) = read_dir(dir.path()).unwrap();
        assert!(files.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("other.json"));
    }
}
