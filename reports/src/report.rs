//! The comparison report of a folder of result files: `report.md`, a self-contained
//! `report.html` (styles and SVG plots inline) and every plot as PNG and SVG.
//!
//! The report is built once as a list of blocks (headings, paragraphs, tables, figures) and
//! rendered twice, to Markdown (tables by tabled) and to HTML. Every section is present even
//! without data, then saying which result files would fill it, and every table row and figure says
//! whether its figures are measured, projected or something else, as its file labels them.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::plots::{self, Plot, Series};
use crate::records::{ProjectionRecord, Record, ResultFile, StepRecord};
use crate::reported::{self, Reported};
use crate::{OpsPerStep, RunReport, format_seconds};

/// The phases of a train record's `time.phases` that the breakdown stacks.
const PHASES: [&str; 8] = [
    "train.matmul",
    "train.softmax",
    "train.update",
    "train.refresh",
    "train.switch",
    "keygen",
    "encrypt",
    "decrypt",
];
/// The methods BlindTuner's speedup is measured against.
const RIVALS: [&str; 2] = ["hetal", "glyph"];

/// A rendered report.
pub struct Report {
    pub markdown: String,
    pub html: String,
    pub plots: Vec<Plot>,
}

enum Block {
    Heading(usize, String),
    /// A paragraph; `code` spans in backticks.
    Text(String),
    /// The header row first.
    Table(Vec<Vec<String>>),
    Figure {
        plot: usize,
        caption: String,
    },
}

#[derive(Default)]
struct Doc {
    blocks: Vec<Block>,
    plots: Vec<Plot>,
}

impl Doc {
    fn heading(&mut self, level: usize, text: &str) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    fn text(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Text(text.into()));
    }

    /// A table, or `empty` as a paragraph when it has no rows.
    fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>, empty: &str) {
        if rows.is_empty() {
            self.text(empty);
        } else {
            let mut all = vec![header.iter().map(|h| h.to_string()).collect()];
            all.extend(rows);
            self.blocks.push(Block::Table(all));
        }
    }

    fn figure(&mut self, plot: Plot, caption: String) {
        self.plots.push(plot);
        self.blocks.push(Block::Figure {
            plot: self.plots.len() - 1,
            caption,
        });
    }
}

/// How a group of figures is labelled: `measured` where its file says so, else what the file
/// says instead (never assumed measured).
fn label(measured: bool) -> String {
    if measured {
        "measured".into()
    } else {
        "not marked measured by its file".into()
    }
}

/// The distinct labels of a figure's data, as its caption states them.
fn caption_label(labels: impl IntoIterator<Item = String>) -> String {
    let mut all: Vec<String> = labels.into_iter().collect();
    all.sort();
    all.dedup();
    match all.len() {
        0 => "No figures.".into(),
        1 => format!("Figures: {}.", all[0]),
        _ => format!("Figures: {} (each row of the table says which).", all.join(", ")),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}

fn percent(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

fn parameters(r: &RunReport) -> String {
    r.encrypted.as_ref().map_or("—".into(), |e| e.parameters.clone())
}

/// Names of train records for plots and tables, made unique with the file name where two runs
/// share their data set, method, backend and parameters.
fn run_names(runs: &[(&Path, &RunReport)]) -> Vec<String> {
    let base: Vec<String> = runs
        .iter()
        .map(|(_, r)| {
            let params = r
                .encrypted
                .as_ref()
                .map_or(String::new(), |e| format!(" {}", set_name(&e.parameters)));
            format!("{} {} on {}{params}", r.dataset, r.method, r.backend)
        })
        .collect();
    base.iter()
        .zip(runs)
        .map(|(name, (path, _))| {
            if base.iter().filter(|n| *n == name).count() > 1 {
                format!("{name} ({})", file_name(path))
            } else {
                name.clone()
            }
        })
        .collect()
}

/// A parameter set's name: the description in parentheses after it is for tables, too long for
/// the plots' labels.
fn set_name(parameters: &str) -> &str {
    parameters.split(" (").next().unwrap_or(parameters)
}

fn step_name(path: &Path, r: &StepRecord) -> String {
    format!(
        "{} {} {}x{} ({})",
        r.backend,
        set_name(&r.parameters),
        r.rows,
        r.cols,
        file_name(path)
    )
}

/// Builds the report of `files` (read from `source`; `skipped` lists the files left out).
pub fn build(source: &Path, files: &[ResultFile], skipped: &[String]) -> Result<Report> {
    let runs: Vec<(&Path, &RunReport)> = files
        .iter()
        .filter_map(|f| match &f.record {
            Record::Train(r) => Some((f.path.as_path(), r.as_ref())),
            _ => None,
        })
        .collect();
    let steps: Vec<(&Path, &StepRecord)> = files
        .iter()
        .filter_map(|f| match &f.record {
            Record::Step(r) => Some((f.path.as_path(), r)),
            _ => None,
        })
        .collect();
    let projections: Vec<(&Path, &ProjectionRecord)> = files
        .iter()
        .filter_map(|f| match &f.record {
            Record::Projection(r) => Some((f.path.as_path(), r)),
            _ => None,
        })
        .collect();
    let names = run_names(&runs);
    let papers = reported::embedded()?;

    let mut doc = Doc::default();
    doc.heading(1, "blindtuner report");
    doc.text(format!(
        "From {} result files in `{}`: {} train records, {} bench step records, {} projected step records, {} bench ops records{}.",
        files.len(),
        source.display(),
        runs.len(),
        steps.len(),
        projections.len(),
        files.len() - runs.len() - steps.len() - projections.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; {} JSON files of no known kind skipped", skipped.len())
        }
    ));
    provenance(&mut doc, files);
    accuracy(&mut doc, &runs);
    time(&mut doc, &runs, &names, &steps)?;
    projected(&mut doc, &projections);
    operations(&mut doc, &runs, &steps);
    loss_curves(&mut doc, &runs, &names)?;
    speedup(&mut doc, &runs, &steps, &projections, &papers);
    speedup_explained(&mut doc, &runs, &steps);
    reported_by_papers(&mut doc, &papers);
    micro_benchmarks(&mut doc, files)?;
    Ok(Report {
        markdown: markdown(&doc),
        html: html(&doc),
        plots: doc.plots,
    })
}

fn provenance(doc: &mut Doc, files: &[ResultFile]) {
    doc.heading(2, "Machines, dates and commits");
    let rows = files
        .iter()
        .map(|f| {
            let r = &f.record;
            let m = r.machine();
            let vector = if m.vector.is_empty() {
                String::new()
            } else {
                format!(", {}", m.vector)
            };
            vec![
                file_name(&f.path),
                r.kind().into(),
                format!("{}, {} threads{vector}", m.cpu, m.threads),
                m.calibration_s.map_or("not recorded".into(), format_seconds),
                r.date().into(),
                r.version().into(),
                r.git_commit().unwrap_or("not recorded").into(),
            ]
        })
        .collect();
    doc.table(
        &["file", "kind", "machine", "calibration", "date", "version", "git commit"],
        rows,
        "No result files: the JSON files of `blindtuner train --json`, `bench step --json` and `bench ops --json` fill this report.",
    );
}

fn accuracy(doc: &mut Doc, runs: &[(&Path, &RunReport)]) {
    doc.heading(2, "Accuracy per data set");
    doc.text(
        "Test accuracy: the exact f64 trainer, the approximate circuit on plain (no encryption) and the encrypted run.",
    );
    let mut by_dataset: BTreeMap<&str, Vec<&(&Path, &RunReport)>> = BTreeMap::new();
    for run in runs {
        by_dataset.entry(&run.1.dataset).or_default().push(run);
    }
    if by_dataset.is_empty() {
        doc.text("No train records: the JSON results of `blindtuner train --json` fill this section.");
    }
    for (dataset, runs) in by_dataset {
        doc.heading(3, dataset);
        let rows = runs
            .iter()
            .map(|(path, r)| {
                let dash = || "—".to_string();
                let (exact, approx, encrypted, labels) = match &r.encrypted {
                    Some(e) => (
                        percent(e.exact.test),
                        percent(e.approximate_plain.test),
                        if r.backend == "plain" {
                            "— (plain: not encrypted)".into()
                        } else {
                            percent(r.accuracy.test)
                        },
                        [e.exact.measured, e.approximate_plain.measured, r.accuracy.measured],
                    ),
                    None if r.method == "exact" => (percent(r.accuracy.test), dash(), dash(), [r.accuracy.measured; 3]),
                    None if r.backend == "plain" => {
                        (dash(), percent(r.accuracy.test), dash(), [r.accuracy.measured; 3])
                    }
                    None => (dash(), dash(), percent(r.accuracy.test), [r.accuracy.measured; 3]),
                };
                let figures = if labels.iter().all(|m| *m) {
                    label(true)
                } else {
                    label(false)
                };
                vec![
                    r.method.clone(),
                    r.backend.clone(),
                    parameters(r),
                    r.features.extractor.clone(),
                    exact,
                    approx,
                    encrypted,
                    format!("{} (best {})", r.epochs_run, r.best_epoch),
                    figures,
                    file_name(path),
                ]
            })
            .collect();
        doc.table(
            &[
                "method",
                "backend",
                "parameters",
                "features",
                "exact",
                "approximate plain",
                "encrypted",
                "epochs",
                "figures",
                "file",
            ],
            rows,
            "",
        );
    }
}

fn time(doc: &mut Doc, runs: &[(&Path, &RunReport)], names: &[String], steps: &[(&Path, &StepRecord)]) -> Result<()> {
    doc.heading(2, "Time per step and in total");
    let rows = runs
        .iter()
        .map(|(path, r)| {
            vec![
                r.dataset.clone(),
                r.method.clone(),
                r.backend.clone(),
                parameters(r),
                r.steps.to_string(),
                format_seconds(r.time.per_step_s),
                format_seconds(r.time.total_s),
                label(r.time.measured),
                file_name(path),
            ]
        })
        .collect();
    doc.table(
        &[
            "data set",
            "method",
            "backend",
            "parameters",
            "steps",
            "per step",
            "total",
            "figures",
            "file",
        ],
        rows,
        "No train records: the JSON results of `blindtuner train --json` fill this table.",
    );
    doc.heading(3, "Training steps at a shape (bench step)");
    let rows = steps
        .iter()
        .map(|(path, r)| {
            vec![
                r.backend.clone(),
                r.parameters.clone(),
                format!("{} x {}, {} classes", r.rows, r.cols, r.classes),
                r.threads.to_string(),
                r.steps.len().to_string(),
                format_seconds(r.median_step_s),
                format_seconds(r.keygen_s),
                format_seconds(r.encrypt_s),
                r.kind.clone(),
                file_name(path),
            ]
        })
        .collect();
    doc.table(
        &[
            "backend",
            "parameters",
            "batch",
            "threads",
            "steps",
            "median step",
            "key generation",
            "encryption",
            "figures",
            "file",
        ],
        rows,
        "No bench step records: the JSON results of `blindtuner bench step --json` fill this table.",
    );

    doc.heading(3, "Where the time went");
    let phased: Vec<usize> = (0..runs.len())
        .filter(|&i| PHASES.iter().any(|p| runs[i].1.time.phases.contains_key(*p)))
        .collect();
    if phased.is_empty() {
        doc.text("No encrypted train records: the JSON results of `blindtuner train --method blindtuner --json` fill this plot (exact runs time only `train`).");
    } else {
        let segments: Vec<String> = PHASES.iter().map(|p| p.to_string()).collect();
        let bars: Vec<(String, Vec<f64>)> = phased
            .iter()
            .map(|&i| {
                let phases = &runs[i].1.time.phases;
                (
                    names[i].clone(),
                    PHASES.iter().map(|p| phases.get(*p).copied().unwrap_or(0.0)).collect(),
                )
            })
            .collect();
        let rows = bars
            .iter()
            .map(|(name, v)| {
                std::iter::once(name.clone())
                    .chain(v.iter().map(|s| format_seconds(*s)))
                    .collect()
            })
            .collect();
        let mut header = vec!["run"];
        header.extend(PHASES);
        doc.table(&header, rows, "");
        let plot = plots::stacked_bars("phases", "Time of each phase, whole run", "seconds", &segments, &bars)?;
        doc.figure(
            plot,
            format!(
                "Seconds of each phase of the runs' `time.phases`. {}",
                caption_label(phased.iter().map(|&i| label(runs[i].1.time.measured)))
            ),
        );
    }
    if steps.is_empty() {
        doc.text(
            "No bench step records: the JSON results of `blindtuner bench step --json` fill the per-step breakdown.",
        );
    } else {
        let segments: Vec<String> = steps[0].1.phases().iter().map(|(p, _)| p.to_string()).collect();
        let bars: Vec<(String, Vec<f64>)> = steps
            .iter()
            .map(|(path, r)| (step_name(path, r), r.phases().iter().map(|(_, s)| *s).collect()))
            .collect();
        let plot = plots::stacked_bars(
            "step-phases",
            "Time of each phase, median step",
            "seconds",
            &segments,
            &bars,
        )?;
        doc.figure(
            plot,
            format!(
                "Median seconds per phase of the steps `bench step` timed (the first excluded when more than two ran). {}",
                caption_label(steps.iter().map(|(_, r)| r.kind.clone()))
            ),
        );
    }
    Ok(())
}

fn operations(doc: &mut Doc, runs: &[(&Path, &RunReport)], steps: &[(&Path, &StepRecord)]) {
    doc.heading(2, "Operations per training step");
    let row = |source: String, method: &str, backend: &str, params: &str, o: &OpsPerStep, figures: String| {
        vec![
            source,
            method.into(),
            backend.into(),
            params.into(),
            format!("{:.1}", o.mul),
            format!("{:.1}", o.relinearizations),
            format!("{:.1}", o.mul_plain),
            format!("{:.1}", o.rotations),
            format!("{:.1}", o.hoisted_rotations),
            format!("{:.2}", o.refreshes),
            format!("{:.2}", o.refreshed_ciphertexts),
            figures,
        ]
    };
    let mut rows: Vec<Vec<String>> = runs
        .iter()
        .filter_map(|(path, r)| {
            let e = r.encrypted.as_ref()?;
            Some(row(
                file_name(path),
                &r.method,
                &r.backend,
                &e.parameters,
                &e.ops_per_step,
                label(r.time.measured),
            ))
        })
        .collect();
    rows.extend(steps.iter().map(|(path, r)| {
        row(
            file_name(path),
            &format!("{} (bench step)", r.method),
            &r.backend,
            &r.parameters,
            &r.mean_ops(),
            r.kind.clone(),
        )
    }));
    doc.table(
        &[
            "file",
            "method",
            "backend",
            "parameters",
            "products",
            "relinearisations",
            "plaintext products",
            "rotations",
            "of them hoisted",
            "bootstraps / refreshes",
            "refreshed ciphertexts",
            "figures",
        ],
        rows,
        "No encrypted results: `blindtuner train --method blindtuner --json` and `bench step --json` results fill this table.",
    );
    doc.text("Counts are means per training step (validation excluded). A paired bootstrap or a client round carrying two ciphertexts counts once among the refreshes and twice among the refreshed ciphertexts; records written before the pairing carry no ciphertext count (0).");
}

fn loss_curves(doc: &mut Doc, runs: &[(&Path, &RunReport)], names: &[String]) -> Result<()> {
    doc.heading(2, "Loss curves");
    let mut by_loss: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, r)) in runs.iter().enumerate() {
        if r.loss_curve.epochs.iter().any(|e| e.val_loss.is_some()) {
            by_loss.entry(&r.loss_curve.val_loss).or_default().push(i);
        }
    }
    if by_loss.is_empty() {
        doc.text("No validation losses: train records whose `loss_curve` has validation losses (exact runs, encrypted runs with early stopping) fill this plot.");
    }
    for (loss, which) in by_loss {
        let series: Vec<Series> = which
            .iter()
            .map(|&i| Series {
                name: names[i].clone(),
                points: runs[i]
                    .1
                    .loss_curve
                    .epochs
                    .iter()
                    .filter_map(|e| Some((e.epoch as f64, e.val_loss?)))
                    .collect(),
            })
            .collect();
        // `brier (the encrypted validation loss, ...)`: the first word names it on the plot.
        let short = loss
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .next()
            .unwrap_or_default();
        let plot = plots::lines(
            &format!("loss-{short}"),
            &format!("Validation loss per epoch ({short})"),
            "epoch",
            &format!("{short} loss"),
            &series,
        )?;
        doc.figure(
            plot,
            format!(
                "Validation loss after each epoch of each run: {loss}. {}",
                caption_label(which.iter().map(|&i| label(runs[i].1.loss_curve.measured)))
            ),
        );
    }
    Ok(())
}

/// The projected step records, apart from every measured time.
fn projected(doc: &mut Doc, projections: &[(&Path, &ProjectionRecord)]) {
    doc.heading(3, "Projected steps (bench glyph)");
    let rows = projections
        .iter()
        .map(|(path, r)| {
            let parts = r
                .projected_parts_s
                .iter()
                .map(|(k, v)| format!("{k} {}", format_seconds(*v)))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                r.method.clone(),
                format!("{} x {}, {} classes", r.rows, r.cols, r.classes),
                r.block.clone(),
                format_seconds(r.projected_step_s),
                parts,
                format!(
                    "{} ({} steps x {} epochs)",
                    format_seconds(r.projected_total_s),
                    r.steps_per_epoch,
                    r.epochs
                ),
                format!(
                    "{} ({} threads), on {} threads",
                    r.machine.cpu, r.machine.threads, r.threads
                ),
                r.kind.clone(),
                file_name(path),
            ]
        })
        .collect();
    doc.table(
        &[
            "method",
            "batch",
            "block",
            "step (projected)",
            "parts (projected)",
            "training (projected)",
            "costs measured on",
            "figures",
            "file",
        ],
        rows,
        "No projected step records: the JSON results of `blindtuner bench glyph --json` fill this table.",
    );
    if !projections.is_empty() {
        doc.text("Projected, not measured: exact operation counts of one step times per-operation costs measured on the machine named; each record's `model` says how.");
    }
}

fn speedup(
    doc: &mut Doc,
    runs: &[(&Path, &RunReport)],
    steps: &[(&Path, &StepRecord)],
    projections: &[(&Path, &ProjectionRecord)],
    papers: &Reported,
) {
    doc.heading(2, "Speedup of BlindTuner over HETAL and Glyph");
    let same_place = |a: &RunReport, b: &RunReport| {
        a.dataset == b.dataset
            && a.backend == b.backend
            && a.machine.cpu == b.machine.cpu
            && a.machine.threads == b.machine.threads
    };
    let mut rows = Vec::new();
    for (bt_path, bt) in runs.iter().filter(|(_, r)| r.method == "blindtuner") {
        for (rival_path, rival) in runs.iter().filter(|(_, r)| RIVALS.contains(&r.method.as_str())) {
            if !same_place(bt, rival) {
                continue;
            }
            let figures = if bt.time.measured && rival.time.measured {
                label(true)
            } else {
                format!(
                    "BlindTuner {}, {} {}",
                    label(bt.time.measured),
                    rival.method,
                    label(rival.time.measured)
                )
            };
            rows.push(vec![
                bt.dataset.clone(),
                bt.backend.clone(),
                format!("{}, {} threads", bt.machine.cpu, bt.machine.threads),
                rival.method.clone(),
                format_seconds(bt.time.per_step_s),
                format_seconds(rival.time.per_step_s),
                format!("{:.2}x", rival.time.per_step_s / bt.time.per_step_s),
                format!("{:.2}x", rival.time.total_s / bt.time.total_s),
                figures,
                format!("{} / {}", file_name(bt_path), file_name(rival_path)),
            ]);
        }
    }
    doc.table(
        &[
            "data set",
            "backend",
            "machine",
            "rival",
            "BlindTuner per step",
            "rival per step",
            "speedup per step",
            "speedup in total",
            "figures",
            "files",
        ],
        rows,
        "No measured comparison: it needs a BlindTuner train record and a HETAL or Glyph train record (`method` `hetal` or `glyph`) of the same data set, backend and machine.",
    );

    doc.heading(3, "Against projected rivals at the same shape");
    // Only encrypted BlindTuner steps: a plain run against an encrypted projection would
    // measure encryption, not the methods.
    let mut rows = Vec::new();
    for (bt_path, bt) in steps.iter().filter(|(_, r)| r.backend != "plain") {
        for (rival_path, rival) in projections {
            let same = (bt.rows, bt.cols, bt.classes) == (rival.rows, rival.cols, rival.classes)
                && bt.machine.cpu == rival.machine.cpu
                && bt.threads == rival.threads;
            if !same {
                continue;
            }
            rows.push(vec![
                format!("{} x {}, {} classes", bt.rows, bt.cols, bt.classes),
                format!("{}, on {} threads", bt.machine.cpu, bt.threads),
                format!("{} {}", bt.backend, set_name(&bt.parameters)),
                rival.method.clone(),
                format_seconds(bt.median_step_s),
                format_seconds(rival.projected_step_s),
                format!("{:.1}x", rival.projected_step_s / bt.median_step_s),
                format!("BlindTuner {}, {} {}", bt.kind, rival.method, rival.kind),
                format!("{} / {}", file_name(bt_path), file_name(rival_path)),
            ]);
        }
    }
    // Train records run on every hardware thread of their machine.
    for (bt_path, bt) in runs
        .iter()
        .filter(|(_, r)| r.method == "blindtuner" && r.backend != "plain")
    {
        let shape = (bt.hyperparameters.batch, bt.features.dim_with_bias, bt.classes);
        for (rival_path, rival) in projections {
            let same = shape == (rival.rows, rival.cols, rival.classes)
                && bt.machine.cpu == rival.machine.cpu
                && bt.machine.threads == rival.threads as usize;
            if !same {
                continue;
            }
            rows.push(vec![
                format!("{} x {}, {} classes", shape.0, shape.1, shape.2),
                format!("{}, on {} threads", bt.machine.cpu, bt.machine.threads),
                format!("{} {}", bt.backend, set_name(&parameters(bt))),
                rival.method.clone(),
                format_seconds(bt.time.per_step_s),
                format_seconds(rival.projected_step_s),
                format!("{:.1}x", rival.projected_step_s / bt.time.per_step_s),
                format!(
                    "BlindTuner {} (train, per step), {} {}",
                    label(bt.time.measured),
                    rival.method,
                    rival.kind
                ),
                format!("{} / {}", file_name(bt_path), file_name(rival_path)),
            ]);
        }
    }
    doc.table(
        &[
            "batch",
            "machine",
            "BlindTuner backend",
            "rival",
            "BlindTuner step",
            "rival step (projected)",
            "speedup per step",
            "figures",
            "files",
        ],
        rows,
        "No projected comparison: it needs a `bench step` or BlindTuner train record and a `bench glyph` record of the same shape and machine (CPU and threads).",
    );

    doc.heading(3, "Speedups the papers claim (reported, not measured here)");
    let rows = papers
        .figures
        .iter()
        .filter(|f| f.is_speedup() && f.system == "BlindTuner")
        .map(|f| {
            vec![
                f.system.clone(),
                f.over.clone().unwrap_or_default(),
                f.figure(),
                if f.verified { "yes" } else { "no (unverified)" }.into(),
                f.note.clone(),
                f.source.describe(),
                f.label.clone(),
            ]
        })
        .collect();
    doc.table(
        &["system", "over", "speedup", "verified", "note", "source", "figures"],
        rows,
        "No BlindTuner speedup claims in the embedded reported figures.",
    );
}

/// The papers' own figures (`baselines/reported.json`, embedded), in a section of their own.
fn reported_by_papers(doc: &mut Doc, papers: &Reported) {
    doc.heading(2, "Reported by the papers");
    doc.text(format!(
        "Never mixed with the measured or projected tables above. {}",
        papers.about
    ));
    let rows = papers
        .figures
        .iter()
        .map(|f| {
            vec![
                f.system.clone(),
                f.quantity.clone(),
                f.figure(),
                f.over.clone().unwrap_or_else(|| "—".into()),
                f.data_set.clone().unwrap_or_else(|| "—".into()),
                f.hardware.clone().unwrap_or_else(|| "—".into()),
                if f.verified { "yes" } else { "no (unverified)" }.into(),
                f.note.clone(),
                f.source.describe(),
                f.label.clone(),
            ]
        })
        .collect();
    doc.table(
        &[
            "system",
            "quantity",
            "figure",
            "over",
            "data sets",
            "hardware",
            "verified",
            "note",
            "source",
            "figures",
        ],
        rows,
        "No reported figures.",
    );
}

/// What BlindTuner's speedup over HETAL comes from: the operations and refreshes per step of
/// both, from train records of the same data set, backend and machine, and the steps of `bench
/// step` records of both at the same shape and parameter set on the same machine (their mean
/// over all steps: the baseline's refreshes come in cycles of several steps).
fn speedup_explained(doc: &mut Doc, runs: &[(&Path, &RunReport)], steps: &[(&Path, &StepRecord)]) {
    doc.heading(3, "Where the speedup over HETAL comes from");
    /// One side of a row: seconds per step, operations per step, seconds refreshing per step,
    /// the file.
    type Side<'a> = (f64, OpsPerStep, f64, &'a Path);
    let row = |shape: String, backend: String, (t, o, r, file): Side, (th, oh, rh, file_h): Side| {
        vec![
            shape,
            backend,
            format!("{} / {}", format_seconds(t), format_seconds(th)),
            format!("{:.2}x", th / t),
            format!("{:.0} / {:.0}", o.mul, oh.mul),
            format!("{:.0} / {:.0}", o.rotations, oh.rotations),
            format!("{:.2} / {:.2}", o.refreshes, oh.refreshes),
            format!("{:.2} / {:.2}", o.refreshed_ciphertexts, oh.refreshed_ciphertexts),
            format!("{} / {}", format_seconds(r), format_seconds(rh)),
            format!("{} / {}", file_name(file), file_name(file_h)),
        ]
    };
    let mut rows = Vec::new();
    let rivals = |method: &'static str| runs.iter().filter(move |(_, r)| r.method == method);
    for ((bt_path, bt), (h_path, h)) in rivals("blindtuner").flat_map(|b| rivals("hetal").map(move |h| (b, h))) {
        let same = bt.dataset == h.dataset && bt.backend == h.backend && bt.machine.cpu == h.machine.cpu;
        let (Some(be), Some(he)) = (&bt.encrypted, &h.encrypted) else {
            continue;
        };
        if !same || be.parameters != he.parameters || !(bt.time.measured && h.time.measured) {
            continue;
        }
        let side = |r: &RunReport, ops: &OpsPerStep, path| {
            let refresh = r.time.phases.get("train.refresh").copied().unwrap_or(0.0);
            (r.time.per_step_s, *ops, refresh / r.steps.max(1) as f64, path)
        };
        rows.push(row(
            format!("{} (train)", bt.dataset),
            format!("{} {}", bt.backend, set_name(&be.parameters)),
            side(bt, &be.ops_per_step, *bt_path),
            side(h, &he.ops_per_step, *h_path),
        ));
    }
    let step_rivals = |method: &'static str| steps.iter().filter(move |(_, r)| r.method == method);
    for ((bt_path, bt), (h_path, h)) in
        step_rivals("blindtuner").flat_map(|b| step_rivals("hetal").map(move |h| (b, h)))
    {
        let same = (bt.backend == h.backend && bt.parameters == h.parameters)
            && (bt.rows, bt.cols, bt.classes, bt.threads) == (h.rows, h.cols, h.classes, h.threads)
            && bt.machine.cpu == h.machine.cpu
            && bt.kind == "measured"
            && h.kind == "measured";
        if !same {
            continue;
        }
        let side = |r: &StepRecord, path| {
            let refresh = r.steps.iter().map(|s| s.refresh_s).sum::<f64>();
            (r.mean_step(), r.mean_ops(), refresh / r.steps.len().max(1) as f64, path)
        };
        rows.push(row(
            format!("{} x {}, {} classes (bench step)", bt.rows, bt.cols, bt.classes),
            format!("{} {}, {} threads", bt.backend, set_name(&bt.parameters), bt.threads),
            side(bt, *bt_path),
            side(h, *h_path),
        ));
    }
    doc.table(
        &[
            "shape",
            "backend",
            "time per step: BlindTuner / HETAL",
            "speedup",
            "products",
            "rotations",
            "bootstraps / refreshes",
            "refreshed ciphertexts",
            "refreshing per step",
            "files",
        ],
        rows,
        "No pair to explain: it needs BlindTuner and HETAL train records of the same data set, backend and parameter set on one machine (`train --method blindtuner` and `--method hetal`), or `bench step --method blindtuner` and `--method hetal` records of one shape.",
    );
    doc.text("Every figure is measured; each cell gives BlindTuner's then the HETAL baseline's mean per step (a bench step's over all its steps). Both run the same products; HETAL's tiled weights skip the compact layout's packing (fewer rotations) but bootstrap one ciphertext per column block when they run short, and its softmax is 14 levels deeper and refreshes one ciphertext at a time.");
}

fn micro_benchmarks(doc: &mut Doc, files: &[ResultFile]) -> Result<()> {
    doc.heading(2, "Micro-benchmarks per operation");
    // One column per ops record, and one more per projected block, labelled so.
    let mut columns: Vec<(String, String, BTreeMap<&str, f64>)> = Vec::new();
    for f in files {
        let Record::Ops(r) = &f.record else { continue };
        let kind = r.kind.clone().unwrap_or_else(|| "measured (bench ops timings)".into());
        columns.push((
            format!("{} {} ({} thr.)", r.library, r.config, r.threads),
            kind,
            r.ops.iter().map(|(k, v)| (k.as_str(), v.median_ms)).collect(),
        ));
        if let Some(p) = &r.projected {
            columns.push((
                format!("{} {} ({})", r.library, r.config, p.kind),
                format!("{}: per-slot times x {} slots", p.kind, p.slots),
                p.ops.iter().map(|(k, v)| (k.as_str(), v.projected_ms)).collect(),
            ));
        }
    }
    if columns.is_empty() {
        doc.text("No bench ops records: the JSON results of `blindtuner bench ops --json` (and the peer benchmarks' files from `benches/peers`) fill this section.");
        return Ok(());
    }
    let mut ops: Vec<&str> = columns.iter().flat_map(|(_, _, o)| o.keys().copied()).collect();
    ops.sort();
    ops.dedup();
    let rows = ops
        .iter()
        .map(|op| {
            std::iter::once(op.to_string())
                .chain(
                    columns
                        .iter()
                        .map(|(_, _, o)| o.get(op).map_or("—".into(), |ms| format!("{ms:.3}"))),
                )
                .collect()
        })
        .collect();
    let mut header = vec!["median ms"];
    header.extend(columns.iter().map(|(name, _, _)| name.as_str()));
    doc.table(&header, rows, "");
    doc.text(format!(
        "Columns: {}.",
        columns
            .iter()
            .map(|(name, kind, _)| format!("{name}: {kind}"))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    let categories: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    let series: Vec<(String, Vec<Option<f64>>)> = columns
        .iter()
        .map(|(name, _, o)| (name.clone(), ops.iter().map(|op| o.get(op).copied()).collect()))
        .collect();
    let plot = plots::grouped_bars_log(
        "ops",
        "Median time per operation",
        "milliseconds (log scale)",
        &categories,
        &series,
    )?;
    doc.figure(
        plot,
        format!(
            "Median milliseconds per operation and backend. {}",
            caption_label(columns.iter().map(|(_, kind, _)| kind.clone()))
        ),
    );
    Ok(())
}

fn markdown(doc: &Doc) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(*level));
            }
            Block::Text(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Table(rows) => {
                let mut b = tabled::builder::Builder::default();
                for row in rows {
                    b.push_record(row.iter().map(|c| c.replace('|', "\\|")));
                }
                let _ = writeln!(out, "{}\n", b.build().with(tabled::settings::Style::markdown()));
            }
            Block::Figure { plot, caption } => {
                let name = &doc.plots[*plot].name;
                let _ = writeln!(out, "![{name}]({name}.png)\n\n{caption} ([SVG]({name}.svg))\n");
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Escapes `text` and turns its backtick spans into `<code>`.
fn inline(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

fn html(doc: &Doc) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>blindtuner report</title>\n<style>\n\
         body { font-family: 'DejaVu Sans', sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }\n\
         table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }\n\
         th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }\n\
         th { background: #eee; }\n\
         figure { margin: 1.5em 0; }\n\
         figure svg { max-width: 100%; height: auto; }\n\
         figcaption { font-size: 0.9em; color: #444; }\n\
         code { background: #f4f4f4; padding: 0 0.2em; }\n\
         </style>\n</head>\n<body>\n",
    );
    for block in &doc.blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", inline(text));
            }
            Block::Text(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::Table(rows) => {
                out.push_str("<table>\n");
                for (i, row) in rows.iter().enumerate() {
                    let cell = if i == 0 { "th" } else { "td" };
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<{cell}>{}</{cell}>", escape(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            Block::Figure { plot, caption } => {
                let _ = writeln!(
                    out,
                    "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                    doc.plots[*plot].svg,
                    inline(caption)
                );
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Writes `report.md`, `report.html` and every plot as PNG and SVG into `out` (created if
/// missing); returns the files written.
pub fn write(report: &Report, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create the folder", out.display()))?;
    let mut files: Vec<(PathBuf, &[u8])> = vec![
        (out.join("report.md"), report.markdown.as_bytes()),
        (out.join("report.html"), report.html.as_bytes()),
    ];
    for p in &report.plots {
        files.push((out.join(format!("{}.png", p.name)), &p.png));
        files.push((out.join(format!("{}.svg", p.name)), p.svg.as_bytes()));
    }
    for (path, bytes) in &files {
        std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}
