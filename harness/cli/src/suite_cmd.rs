//! `blindtuner suite`: the benchmark suite. A matrix of result-producing cells (train, bench step,
//! bench ops), each run as a child process of this binary that writes its JSON result into one
//! folder; resumable, since a cell whose result file is already there and readable is skipped.

use crate::datasets_cmd::availability;
use crate::output::{print_stdout, write_json};
use anyhow::{Context, Result, bail};
use blindtuner_datasets::CATALOGUE;
use blindtuner_reports::records;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Args)]
pub struct SuiteArgs {
    /// Which matrix: `quick` (the embedded data sets and cheap benchmarks) or `full` (the quick
    /// cells and the full-size runs: hours on a small machine).
    #[arg(long, value_enum)]
    preset: Preset,
    /// The results folder: one JSON file per cell, named after the cell (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Only the cells of these data sets (and the benchmarks, which read no data set).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    datasets: Vec<String>,
    /// Only the cells on these backends (and the exact trainer's, which has none).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    backends: Vec<String>,
    /// Only the cells of these methods (the benchmarks belong to `blindtuner`).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    methods: Vec<String>,
    /// Where the file-based data sets live; their cells run only when it holds them.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Write the summary (every cell, its command, status and seconds) as JSON to PATH (`-` for
    /// stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// No line per cell while the suite runs; the table at the end stays.
    #[arg(long)]
    quiet: bool,
}

/// A suite preset: `full` holds every `quick` cell.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Preset {
    Quick,
    Full,
}

/// The data sets the suite knows: the embedded two, then the paper's file-based ones.
const DATASETS: [&str; 6] = ["mnist10k", "digits", "mnist", "cifar10", "dermamnist", "face-mask"];
/// The backends a cell may run on.
const BACKENDS: [&str; 4] = ["plain", "native", "seal", "tfhe"];
/// The methods a cell may belong to.
const METHODS: [&str; 4] = ["blindtuner", "exact", "hetal", "glyph"];

/// One cell of the matrix: the smallest preset that holds it, its name (its result file's stem),
/// what `--datasets`, `--backends` and `--methods` filter it by (`None`: no data set or no
/// backend), and the arguments of the command it runs (without `--json` and `--quiet`).
struct Cell {
    preset: Preset,
    name: &'static str,
    dataset: Option<&'static str>,
    backend: Option<&'static str>,
    method: &'static str,
    args: &'static [&'static str],
}

const fn cell(
    preset: Preset,
    name: &'static str,
    dataset: Option<&'static str>,
    backend: Option<&'static str>,
    method: &'static str,
    args: &'static [&'static str],
) -> Cell {
    Cell {
        preset,
        name,
        dataset,
        backend,
        method,
        args,
    }
}

use Preset::{Full, Quick};

/// The matrix, every preset's cells in one place. A file-based data set's cells get
/// `--data-dir DIR` appended when they run.
#[rustfmt::skip]
const MATRIX: &[Cell] = &[
    cell(Quick, "train-mnist10k-exact", Some("mnist10k"), None, "exact",
        &["train", "--method", "exact", "--dataset", "mnist10k"]),
    cell(Quick, "train-digits-exact", Some("digits"), None, "exact",
        &["train", "--method", "exact", "--dataset", "digits"]),
    cell(Quick, "train-mnist10k-blindtuner-plain", Some("mnist10k"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "mnist10k",
          "--features", "pixels-pca64-std", "--train-limit", "1024", "--epochs", "3", "--lr", "1", "--patience", "0"]),
    cell(Quick, "train-digits-blindtuner-plain", Some("digits"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "digits",
          "--features", "pixels-std", "--batch", "1024", "--train-limit", "1024", "--epochs", "4", "--lr", "1", "--patience", "0"]),
    cell(Quick, "train-mnist10k-blindtuner-native", Some("mnist10k"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "mnist10k",
          "--features", "pixels-pca64-std", "--train-limit", "1024", "--epochs", "3", "--lr", "1", "--patience", "0"]),
    cell(Quick, "train-digits-blindtuner-native", Some("digits"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "digits",
          "--features", "pixels-std", "--batch", "1024", "--train-limit", "1024", "--epochs", "4", "--lr", "1", "--patience", "0"]),
    // The HETAL baseline on the same data, shape and machine as BlindTuner's cells above.
    cell(Quick, "train-mnist10k-hetal-plain", Some("mnist10k"), Some("plain"), "hetal",
        &["train", "--method", "hetal", "--backend", "plain", "--dataset", "mnist10k",
          "--features", "pixels-pca64-std", "--train-limit", "1024", "--epochs", "3", "--lr", "1", "--patience", "0"]),
    cell(Quick, "train-mnist10k-hetal-native", Some("mnist10k"), Some("native"), "hetal",
        &["train", "--method", "hetal", "--backend", "native", "--dataset", "mnist10k",
          "--features", "pixels-pca64-std", "--train-limit", "1024", "--epochs", "3", "--lr", "1", "--patience", "0"]),
    cell(Quick, "bench-ops-plain", None, Some("plain"), "blindtuner",
        &["bench", "ops", "--backend", "plain"]),
    cell(Quick, "bench-ops-native-n14", None, Some("native"), "blindtuner",
        &["bench", "ops", "--backend", "native", "--config", "n14"]),
    cell(Quick, "bench-ops-seal-n14", None, Some("seal"), "blindtuner",
        &["bench", "ops", "--backend", "seal", "--config", "n14"]),
    // One repetition: a product of two slots takes over a minute.
    cell(Quick, "bench-ops-tfhe-q16-s2", None, Some("tfhe"), "blindtuner",
        &["bench", "ops", "--backend", "tfhe", "--tfhe-set", "tfhe-q16-s2", "--reps", "1"]),
    cell(Quick, "bench-step-plain", None, Some("plain"), "blindtuner",
        &["bench", "step", "--backend", "plain", "--steps", "3"]),
    cell(Quick, "bench-step-plain-hetal", None, Some("plain"), "hetal",
        &["bench", "step", "--backend", "plain", "--steps", "3", "--method", "hetal"]),
    // Glyph-style training is real at two samples and still takes most of an hour (a TFHE
    // product of 32-bit values costs tens of seconds a value): the full preset's.
    cell(Full, "train-digits-glyph", Some("digits"), Some("tfhe"), "glyph",
        &["train", "--method", "glyph", "--backend", "native", "--dataset", "digits", "--features", "pixels-pca4-std",
          "--classes", "2", "--train-limit", "2", "--batch", "2", "--epochs", "1", "--lr", "1", "--patience", "0"]),
    // The Glyph-style step projected at the shape of the mnist10k cells above (a batch of 1024,
    // 64 features and the bias, 10 classes), so the report sets it against their measured step;
    // the full preset projects HETAL's MNIST shape too, against `bench step`.
    cell(Quick, "bench-glyph", None, Some("tfhe"), "glyph",
        &["bench", "glyph", "--rows", "1024", "--cols", "65", "--classes", "10"]),
    cell(Full, "bench-glyph-hetal-mnist", None, Some("tfhe"), "glyph",
        &["bench", "glyph"]),
    cell(Full, "train-mnist-exact", Some("mnist"), None, "exact",
        &["train", "--method", "exact", "--dataset", "mnist"]),
    cell(Full, "train-cifar10-exact", Some("cifar10"), None, "exact",
        &["train", "--method", "exact", "--dataset", "cifar10"]),
    cell(Full, "train-dermamnist-exact", Some("dermamnist"), None, "exact",
        &["train", "--method", "exact", "--dataset", "dermamnist"]),
    cell(Full, "train-face-mask-exact", Some("face-mask"), None, "exact",
        &["train", "--method", "exact", "--dataset", "face-mask"]),
    cell(Full, "train-mnist10k-blindtuner-plain-full", Some("mnist10k"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "mnist10k"]),
    cell(Full, "train-digits-blindtuner-plain-full", Some("digits"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "digits"]),
    cell(Full, "train-mnist-blindtuner-plain", Some("mnist"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "mnist"]),
    cell(Full, "train-cifar10-blindtuner-plain", Some("cifar10"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "cifar10"]),
    cell(Full, "train-dermamnist-blindtuner-plain", Some("dermamnist"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "dermamnist"]),
    cell(Full, "train-face-mask-blindtuner-plain", Some("face-mask"), Some("plain"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "plain", "--dataset", "face-mask"]),
    cell(Full, "train-mnist10k-blindtuner-native-full", Some("mnist10k"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "mnist10k"]),
    cell(Full, "train-digits-blindtuner-native-full", Some("digits"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "digits"]),
    cell(Full, "train-mnist-blindtuner-native", Some("mnist"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "mnist"]),
    cell(Full, "train-cifar10-blindtuner-native", Some("cifar10"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "cifar10"]),
    cell(Full, "train-dermamnist-blindtuner-native", Some("dermamnist"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "dermamnist"]),
    cell(Full, "train-face-mask-blindtuner-native", Some("face-mask"), Some("native"), "blindtuner",
        &["train", "--method", "blindtuner", "--backend", "native", "--dataset", "face-mask"]),
    cell(Full, "train-mnist-hetal-plain", Some("mnist"), Some("plain"), "hetal",
        &["train", "--method", "hetal", "--backend", "plain", "--dataset", "mnist"]),
    cell(Full, "train-cifar10-hetal-plain", Some("cifar10"), Some("plain"), "hetal",
        &["train", "--method", "hetal", "--backend", "plain", "--dataset", "cifar10"]),
    cell(Full, "train-dermamnist-hetal-plain", Some("dermamnist"), Some("plain"), "hetal",
        &["train", "--method", "hetal", "--backend", "plain", "--dataset", "dermamnist"]),
    cell(Full, "train-face-mask-hetal-plain", Some("face-mask"), Some("plain"), "hetal",
        &["train", "--method", "hetal", "--backend", "plain", "--dataset", "face-mask"]),
    cell(Full, "train-mnist-hetal-native", Some("mnist"), Some("native"), "hetal",
        &["train", "--method", "hetal", "--backend", "native", "--dataset", "mnist"]),
    cell(Full, "train-cifar10-hetal-native", Some("cifar10"), Some("native"), "hetal",
        &["train", "--method", "hetal", "--backend", "native", "--dataset", "cifar10"]),
    cell(Full, "train-dermamnist-hetal-native", Some("dermamnist"), Some("native"), "hetal",
        &["train", "--method", "hetal", "--backend", "native", "--dataset", "dermamnist"]),
    cell(Full, "train-face-mask-hetal-native", Some("face-mask"), Some("native"), "hetal",
        &["train", "--method", "hetal", "--backend", "native", "--dataset", "face-mask"]),
    cell(Full, "bench-step-native", None, Some("native"), "blindtuner",
        &["bench", "step", "--backend", "native"]),
    cell(Full, "bench-step-native-hetal", None, Some("native"), "hetal",
        &["bench", "step", "--backend", "native", "--method", "hetal"]),
    cell(Full, "bench-ops-native-n16-bootstrap", None, Some("native"), "blindtuner",
        &["bench", "ops", "--backend", "native", "--config", "n16", "--bootstrap"]),
];

/// What became of a cell.
#[derive(serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Ran,
    Skipped,
    Failed,
    NotAvailable,
}

/// One row of the summary.
#[derive(serde::Serialize)]
struct Outcome {
    cell: String,
    status: Status,
    /// Why a cell failed or is not available; `null` otherwise.
    reason: Option<String>,
    /// Wall-clock seconds of a cell that ran or failed; `null` otherwise.
    seconds: Option<f64>,
    /// The command line the cell runs (this binary's path first).
    command: Vec<String>,
    /// The cell's result file.
    file: Option<PathBuf>,
}

/// The JSON summary `--json` writes.
#[derive(serde::Serialize)]
struct Summary<'a> {
    preset: Preset,
    out: &'a Path,
    cells: &'a [Outcome],
}

pub fn run(args: SuiteArgs) -> Result<()> {
    check_names("--datasets", "data set", &args.datasets, &DATASETS)?;
    check_names("--backends", "backend", &args.backends, &BACKENDS)?;
    check_names("--methods", "method", &args.methods, &METHODS)?;
    let keeps = |filter: &[String], value: Option<&str>| {
        filter.is_empty() || value.is_none_or(|v| filter.iter().any(|f| f == v))
    };
    let cells: Vec<&Cell> = MATRIX
        .iter()
        .filter(|c| c.preset <= args.preset)
        .filter(|c| keeps(&args.datasets, c.dataset) && keeps(&args.backends, c.backend))
        .filter(|c| keeps(&args.methods, Some(c.method)))
        .collect();
    if cells.is_empty() {
        bail!(
            "the filters leave no cell of the {} preset",
            args.preset
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string())
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the results folder", args.out.display()))?;
    let exe = std::env::current_exe().context("cannot find this binary to run the cells")?;
    let mut outcomes = Vec::new();
    for c in cells {
        let outcome = run_cell(c, &args, &exe);
        if !args.quiet || matches!(outcome.status, Status::Failed) {
            eprintln!("{}", progress_line(&outcome));
        }
        outcomes.push(outcome);
    }
    if let Some(path) = &args.json {
        write_json(
            path,
            &Summary {
                preset: args.preset,
                out: &args.out,
                cells: &outcomes,
            },
        )?;
    }
    let table = table(&outcomes);
    let next = format!(
        "next: blindtuner report --results {} --out REPORT_DIR",
        args.out.display()
    );
    if args.json.as_deref() == Some(Path::new("-")) {
        eprintln!("{table}\n{next}");
    } else {
        print_stdout(&format!("{table}\n{next}\n"))?;
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Failed))
        .map(|o| o.cell.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} cells failed: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Fails in one line on a name of `given` not among `valid`, listing the valid ones.
fn check_names(option: &str, what: &str, given: &[String], valid: &[&str]) -> Result<()> {
    match given.iter().find(|g| !valid.contains(&g.as_str())) {
        Some(bad) => bail!("{option}: unknown {what} '{bad}'; valid: {}", valid.join(", ")),
        None => Ok(()),
    }
}

/// Whether this build and `--data-dir` can run the cell: `Err` says why not.
fn available(c: &Cell, data_dir: &Option<PathBuf>) -> Result<(), String> {
    match c.backend {
        Some("seal") if !cfg!(feature = "seal") => return Err("needs a binary built with --features seal".into()),
        Some("tfhe") if !cfg!(feature = "tfhe") => return Err("needs a binary built with --features tfhe".into()),
        _ => {}
    }
    match c.dataset.and_then(|d| availability(d, data_dir)) {
        Some((false, status)) => Err(status),
        _ => Ok(()),
    }
}

/// Runs one cell, unless its result file is there and readable or it cannot run here.
fn run_cell(c: &Cell, args: &SuiteArgs, exe: &Path) -> Outcome {
    let file = args.out.join(format!("{}.json", c.name));
    let mut cell_args: Vec<String> = c.args.iter().map(|a| a.to_string()).collect();
    let file_based = c
        .dataset
        .and_then(|d| CATALOGUE.iter().find(|info| info.name == d))
        .is_some_and(|info| !info.embedded);
    if let (true, Some(dir)) = (file_based, &args.data_dir) {
        cell_args.extend(["--data-dir".to_string(), dir.display().to_string()]);
    }
    let mut command = vec![exe.display().to_string()];
    command.extend(cell_args.iter().cloned());
    command.extend(["--json".to_string(), file.display().to_string(), "--quiet".to_string()]);
    let outcome = |status, reason: Option<String>, seconds| Outcome {
        cell: c.name.to_string(),
        status,
        reason,
        seconds,
        command: command.clone(),
        file: Some(file.clone()),
    };
    if let Err(why) = available(c, &args.data_dir) {
        return outcome(Status::NotAvailable, Some(why), None);
    }
    if file.exists() {
        match records::read(&file) {
            Ok(Some(_)) => return outcome(Status::Skipped, None, None),
            Ok(None) => eprintln!(
                "warning: {}: not a result of train, bench step or bench ops; running the cell again",
                file.display()
            ),
            Err(e) => eprintln!("warning: {e:#}; running the cell again"),
        }
    }
    if !args.quiet {
        eprintln!("running {}: {}", c.name, command.join(" "));
    }
    let tmp = args.out.join(format!(".{}.json.tmp", c.name));
    let start = Instant::now();
    let result = run_child(exe, &cell_args, &tmp).and_then(|()| {
        std::fs::rename(&tmp, &file).with_context(|| format!("{}: cannot move the result into place", file.display()))
    });
    let seconds = Some(start.elapsed().as_secs_f64());
    match result {
        Ok(()) => outcome(Status::Ran, None, seconds),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            outcome(Status::Failed, Some(crate::one_line(&format!("{e:#}"))), seconds)
        }
    }
}

/// Runs this binary with `cell_args`, writing its JSON result to `tmp`; a failure is its last
/// error line.
fn run_child(exe: &Path, cell_args: &[String], tmp: &Path) -> Result<()> {
    let out = Command::new(exe)
        .args(cell_args)
        .arg("--json")
        .arg(tmp)
        .arg("--quiet")
        .output()
        .context("cannot start the cell's process")?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no error message");
    bail!("{} ({})", last.trim_start_matches("error: "), out.status)
}

fn progress_line(o: &Outcome) -> String {
    let status = status_text(o);
    match o.seconds {
        Some(s) => format!("{}: {status} ({s:.1} s)", o.cell),
        None => format!("{}: {status}", o.cell),
    }
}

fn status_text(o: &Outcome) -> String {
    let reason = o.reason.as_deref().unwrap_or("");
    match o.status {
        Status::Ran => "ran".to_string(),
        Status::Skipped => "skipped (finished)".to_string(),
        Status::Failed => format!("failed: {reason}"),
        Status::NotAvailable => format!("not available ({reason})"),
    }
}

fn table(outcomes: &[Outcome]) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["cell", "status", "seconds"]);
    for o in outcomes {
        let seconds = o.seconds.map(|s| format!("{s:.1}")).unwrap_or_default();
        b.push_record([o.cell.clone(), status_text(o), seconds]);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp()).modify(
        tabled::settings::object::Columns::new(1..2),
        tabled::settings::Width::wrap(60).keep_words(true),
    );
    table.to_string()
}
