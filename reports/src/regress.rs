//! Time regressions between two result files of the same kind and shape, normalised by the
//! calibration kernel each run measured, so that a slower machine is not a regression.
//!
//! For every time both records hold (a train record's total, per-step time and phases; a step
//! record's median step, key generation, encryption and median per-step phases; an ops record's
//! median per operation), the ratio current / baseline is divided by the ratio of the two
//! calibration times. A normalised ratio above `1 + tolerance` is a regression, unless both times
//! are under the noise floor, where timer and scheduler noise dominate.

use anyhow::{Result, bail};
use serde::Serialize;
use std::path::Path;

use crate::format_seconds;
use crate::records::{Record, ResultFile};

/// A normalised slowdown past 25 % fails: a real slowdown of a kernel usually costs more than a
/// quarter. A shared machine can drift by more between runs of one code; compare medians of
/// several steps on a quiet machine, or raise the tolerance.
pub const DEFAULT_TOLERANCE: f64 = 0.25;
/// Times under 50 ms never fail: their run-to-run noise is of the order of the tolerance.
pub const DEFAULT_NOISE_FLOOR_S: f64 = 0.05;

/// How strict the comparison is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Options {
    /// A normalised ratio above `1 + tolerance` fails.
    pub tolerance: f64,
    /// Times where both baseline and current are under this many seconds never fail.
    pub noise_floor_s: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tolerance: DEFAULT_TOLERANCE,
            noise_floor_s: DEFAULT_NOISE_FLOOR_S,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// Both times under the noise floor: reported, never a failure.
    BelowNoiseFloor,
    Regression,
}

/// One time of both records.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Where the time is in the record, as `time.per_step_s` or `ops.rotate_1.median_ms`.
    pub field: String,
    pub baseline_s: f64,
    pub current_s: f64,
    /// `current / baseline`.
    pub ratio: f64,
    /// `ratio` divided by the ratio of the calibration times.
    pub normalised_ratio: f64,
    pub verdict: Verdict,
}

/// The whole comparison, as `regress --json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `regress`.
    pub kind: &'static str,
    /// The kind of both records (`train record`, ...).
    pub records: &'static str,
    pub baseline: String,
    pub current: String,
    pub baseline_calibration_s: f64,
    pub current_calibration_s: f64,
    /// `current / baseline` calibration: above 1 when the current machine is slower.
    pub calibration_ratio: f64,
    pub options: Options,
    pub comparisons: Vec<Comparison>,
    /// Times only one record holds.
    pub not_compared: Vec<String>,
    /// What the reader should know (machines with other thread counts, ...).
    pub notes: Vec<String>,
    pub regressions: usize,
}

/// Compares `current` with `baseline` (see the module's doc). Records of other kinds or shapes,
/// or without a calibration time, are errors naming the file.
pub fn compare(baseline: &ResultFile, current: &ResultFile, options: Options) -> Result<Outcome> {
    if !(options.tolerance.is_finite() && options.tolerance >= 0.0) {
        bail!("the tolerance must be a number >= 0 (got {})", options.tolerance);
    }
    if !(options.noise_floor_s.is_finite() && options.noise_floor_s >= 0.0) {
        bail!("the noise floor must be a number >= 0 (got {})", options.noise_floor_s);
    }
    let (b, c) = (&baseline.record, &current.record);
    if b.kind() != c.kind() {
        bail!(
            "{}: a {}, but the baseline {} is a {}: only records of one kind compare",
            current.path.display(),
            c.kind(),
            baseline.path.display(),
            b.kind()
        );
    }
    for (key, bv, cv) in shape(b).into_iter().zip(shape(c)).map(|((k, bv), (_, cv))| (k, bv, cv)) {
        if bv != cv {
            bail!(
                "{}: not the same run as the baseline {}: {key} {cv} against {bv}",
                current.path.display(),
                baseline.path.display()
            );
        }
    }
    let cal_b = calibration(&baseline.path, b)?;
    let cal_c = calibration(&current.path, c)?;
    let calibration_ratio = cal_c / cal_b;

    let (times_b, times_c) = (times(b), times(c));
    let mut comparisons = Vec::new();
    let mut not_compared = Vec::new();
    for (field, base) in &times_b {
        let Some((_, cur)) = times_c.iter().find(|(f, _)| f == field) else {
            not_compared.push(format!("{field} (baseline only)"));
            continue;
        };
        let (base, cur) = (*base, *cur);
        if !(base > 0.0 && base.is_finite() && cur >= 0.0 && cur.is_finite()) {
            not_compared.push(format!("{field} (baseline {base}, current {cur})"));
            continue;
        }
        let ratio = cur / base;
        let normalised_ratio = ratio / calibration_ratio;
        let verdict = if base < options.noise_floor_s && cur < options.noise_floor_s {
            Verdict::BelowNoiseFloor
        } else if normalised_ratio > 1.0 + options.tolerance {
            Verdict::Regression
        } else {
            Verdict::Ok
        };
        comparisons.push(Comparison {
            field: field.clone(),
            baseline_s: base,
            current_s: cur,
            ratio,
            normalised_ratio,
            verdict,
        });
    }
    for (field, _) in &times_c {
        if !times_b.iter().any(|(f, _)| f == field) {
            not_compared.push(format!("{field} (current only)"));
        }
    }
    let mut notes = Vec::new();
    let (mb, mc) = (b.machine(), c.machine());
    if mb.threads != mc.threads {
        notes.push(format!(
            "the machines have {} and {} hardware threads; the calibration kernel runs on one",
            mb.threads, mc.threads
        ));
    }
    Ok(Outcome {
        kind: "regress",
        records: b.kind(),
        baseline: baseline.path.display().to_string(),
        current: current.path.display().to_string(),
        baseline_calibration_s: cal_b,
        current_calibration_s: cal_c,
        calibration_ratio,
        options,
        regressions: comparisons.iter().filter(|c| c.verdict == Verdict::Regression).count(),
        comparisons,
        not_compared,
        notes,
    })
}

/// What must be equal for two records' times to compare.
fn shape(r: &Record) -> Vec<(&'static str, String)> {
    match r {
        Record::Train(r) => vec![
            ("dataset", r.dataset.clone()),
            ("method", r.method.clone()),
            ("backend", r.backend.clone()),
            ("features", r.features.extractor.clone()),
            (
                "parameters",
                r.encrypted.as_ref().map_or("none".into(), |e| e.parameters.clone()),
            ),
            ("training examples", r.n_train.to_string()),
            ("batch", r.hyperparameters.batch.to_string()),
            ("steps", r.steps.to_string()),
        ],
        Record::Step(r) => vec![
            ("backend", r.backend.clone()),
            ("parameters", r.parameters.clone()),
            ("rows", r.rows.to_string()),
            ("columns", r.cols.to_string()),
            ("classes", r.classes.to_string()),
            ("threads", r.threads.to_string()),
        ],
        Record::Ops(r) => vec![
            ("library", r.library.clone()),
            ("config", r.config.clone()),
            ("threads", r.threads.to_string()),
        ],
        Record::Projection(r) => vec![
            ("method", r.method.clone()),
            ("rows", r.rows.to_string()),
            ("columns", r.cols.to_string()),
            ("classes", r.classes.to_string()),
            ("threads", r.threads.to_string()),
        ],
    }
}

/// Every time of a record that the comparison checks, in seconds.
fn times(r: &Record) -> Vec<(String, f64)> {
    match r {
        Record::Train(r) => {
            let mut t = vec![
                ("time.total_s".to_string(), r.time.total_s),
                ("time.per_step_s".to_string(), r.time.per_step_s),
            ];
            t.extend(r.time.phases.iter().map(|(k, v)| (format!("time.phases.{k}"), *v)));
            t
        }
        Record::Step(r) => {
            let mut t = vec![
                ("median_step_s".to_string(), r.median_step_s),
                ("keygen_s".to_string(), r.keygen_s),
                ("encrypt_s".to_string(), r.encrypt_s),
            ];
            t.extend(r.phases().map(|(k, v)| (format!("median {k}"), v)));
            t
        }
        Record::Ops(r) => r
            .ops
            .iter()
            .map(|(k, v)| (format!("ops.{k}.median_ms"), v.median_ms / 1e3))
            .collect(),
        Record::Projection(r) => {
            let mut t = vec![
                ("projected_step_s".to_string(), r.projected_step_s),
                ("projected_total_s".to_string(), r.projected_total_s),
            ];
            t.extend(
                r.projected_parts_s
                    .iter()
                    .map(|(k, v)| (format!("projected_parts_s.{k}"), *v)),
            );
            t
        }
    }
}

fn calibration(path: &Path, r: &Record) -> Result<f64> {
    match r.machine().calibration_s {
        Some(s) if s > 0.0 && s.is_finite() => Ok(s),
        Some(s) => bail!("{}: machine.calibration_s is {s}, not a positive time", path.display()),
        None => bail!(
            "{}: no machine.calibration_s: write the record again with a blindtuner that measures the calibration kernel",
            path.display()
        ),
    }
}

impl Outcome {
    /// Every comparison as a table.
    pub fn table(&self) -> String {
        let mut b = tabled::builder::Builder::default();
        b.push_record(["time", "baseline", "current", "ratio", "normalised", "verdict"]);
        for c in &self.comparisons {
            b.push_record([
                c.field.clone(),
                format_seconds(c.baseline_s),
                format_seconds(c.current_s),
                format!("{:.3}", c.ratio),
                format!("{:.3}", c.normalised_ratio),
                match c.verdict {
                    Verdict::Ok => "ok".into(),
                    Verdict::BelowNoiseFloor => "below noise floor".into(),
                    Verdict::Regression => "REGRESSION".into(),
                },
            ]);
        }
        b.build().with(tabled::settings::Style::sharp()).to_string()
    }

    /// One line per regression.
    pub fn regression_lines(&self) -> Vec<String> {
        self.comparisons
            .iter()
            .filter(|c| c.verdict == Verdict::Regression)
            .map(|c| {
                format!(
                    "regression: {}: {:.2}x the baseline after calibration (baseline {}, current {}, limit {:.2}x)",
                    c.field,
                    c.normalised_ratio,
                    format_seconds(c.baseline_s),
                    format_seconds(c.current_s),
                    1.0 + self.options.tolerance
                )
            })
            .collect()
    }

    /// The verdict in one line.
    pub fn summary(&self) -> String {
        let floor = self
            .comparisons
            .iter()
            .filter(|c| c.verdict == Verdict::BelowNoiseFloor)
            .count();
        format!(
            "{} of {} times past {:.2}x the baseline after calibration (calibration {} against {}, ratio {:.3}; {floor} under the noise floor of {})",
            self.regressions,
            self.comparisons.len(),
            1.0 + self.options.tolerance,
            format_seconds(self.current_calibration_s),
            format_seconds(self.baseline_calibration_s),
            self.calibration_ratio,
            format_seconds(self.options.noise_floor_s)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{OpTiming, OpsRecord};
    use crate::{Machine, records::Record};
    use std::collections::BTreeMap;

    fn ops_file(name: &str, calibration: Option<f64>, times_ms: &[(&str, f64)]) -> ResultFile {
        let mut machine = Machine::current();
        machine.calibration_s = calibration;
        ResultFile {
            path: name.into(),
            record: Record::Ops(OpsRecord {
                kind: None,
                library: "native".into(),
                version: "test".into(),
                config: "n14".into(),
                threads: 1,
                machine,
                date: "2026-12-07T00:00:00Z".into(),
                ops: times_ms
                    .iter()
                    .map(|(k, ms)| (k.to_string(), OpTiming { median_ms: *ms }))
                    .collect::<BTreeMap<_, _>>(),
                projected: None,
            }),
        }
    }

    #[test]
    fn slowdowns_past_the_tolerance_fail_unless_the_machine_is_as_slow() {
        let base = ops_file("b.json", Some(0.3), &[("rotate_1", 100.0), ("add", 0.1)]);
        let same = compare(&base, &base, Options::default()).unwrap();
        assert_eq!(same.regressions, 0);
        let slow = ops_file("c.json", Some(0.3), &[("rotate_1", 130.0), ("add", 1.0)]);
        let out = compare(&base, &slow, Options::default()).unwrap();
        assert_eq!(out.regressions, 1);
        assert!(out.regression_lines()[0].contains("ops.rotate_1.median_ms"));
        // `add` is 10x slower but far under the noise floor.
        assert_eq!(out.comparisons[0].field, "ops.add.median_ms");
        assert_eq!(out.comparisons[0].verdict, Verdict::BelowNoiseFloor);
        // 30 % slower on a machine 30 % slower: no regression; a wider tolerance passes too.
        let slow_machine = ops_file("c.json", Some(0.39), &[("rotate_1", 130.0), ("add", 0.1)]);
        assert_eq!(
            compare(&base, &slow_machine, Options::default()).unwrap().regressions,
            0
        );
        let lenient = Options {
            tolerance: 0.5,
            ..Options::default()
        };
        assert_eq!(compare(&base, &slow, lenient).unwrap().regressions, 0);
    }

    #[test]
    fn other_shapes_and_missing_calibrations_are_refused() {
        let base = ops_file("b.json", Some(0.3), &[("rotate_1", 100.0)]);
        let uncalibrated = ops_file("c.json", None, &[("rotate_1", 100.0)]);
        let e = compare(&base, &uncalibrated, Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.json") && e.contains("calibration_s"), "{e}");
        let mut other = ops_file("c.json", Some(0.3), &[("rotate_1", 100.0)]);
        if let Record::Ops(r) = &mut other.record {
            r.config = "n16".into();
        }
        let e = compare(&base, &other, Options::default()).unwrap_err().to_string();
        assert!(e.contains("config n16 against n14"), "{e}");
        let bad = Options {
            tolerance: -1.0,
            ..Options::default()
        };
        assert!(compare(&base, &base, bad).is_err());
    }
}
