//! `blindtuner regress`: time regressions between two result files, normalised by the
//! calibration kernel each run measured (see [`blindtuner_reports::regress`]).

use anyhow::{Result, bail};
use blindtuner_reports::records::{self, ResultFile};
use blindtuner_reports::regress::{self, DEFAULT_NOISE_FLOOR_S, DEFAULT_TOLERANCE, Options};
use clap::Args;
use std::path::{Path, PathBuf};

use crate::output::{print_stdout, write_json};

#[derive(Args)]
pub struct RegressArgs {
    /// The reference result file (train, bench step or bench ops JSON).
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,
    /// The result file to check, of the same kind and shape as the baseline.
    #[arg(long, value_name = "FILE")]
    current: PathBuf,
    /// A time fails when current / baseline, divided by the calibration ratio, exceeds
    /// 1 + tolerance.
    #[arg(long, value_name = "X", default_value_t = DEFAULT_TOLERANCE)]
    tolerance: f64,
    /// Times where baseline and current are both under this many milliseconds never fail.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_NOISE_FLOOR_S * 1e3)]
    noise_floor_ms: f64,
    /// Write the comparison as JSON to this file (`-` for stdout, the table then goes to stderr).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

fn read(path: &Path) -> Result<ResultFile> {
    match records::read(path)? {
        Some(record) => Ok(ResultFile {
            path: path.to_path_buf(),
            record,
        }),
        None => bail!("{}: not a result of train, bench step or bench ops", path.display()),
    }
}

pub fn run(args: RegressArgs) -> Result<()> {
    let baseline = read(&args.baseline)?;
    let current = read(&args.current)?;
    let options = Options {
        tolerance: args.tolerance,
        noise_floor_s: args.noise_floor_ms / 1e3,
    };
    let outcome = regress::compare(&baseline, &current, options)?;
    let mut text = format!(
        "{} against {} ({})\n{}\n",
        outcome.current,
        outcome.baseline,
        outcome.records,
        outcome.table()
    );
    for field in &outcome.not_compared {
        text.push_str(&format!("not compared: {field}\n"));
    }
    for note in &outcome.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    let to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if to_stdout {
        eprint!("{text}");
    } else {
        print_stdout(&text)?;
    }
    if let Some(path) = &args.json {
        write_json(path, &outcome)?;
    }
    if outcome.regressions > 0 {
        for line in outcome.regression_lines() {
            eprintln!("{line}");
        }
        bail!("regress: {}", outcome.summary());
    }
    let summary = format!("regress: passed: {}\n", outcome.summary());
    if to_stdout {
        eprint!("{summary}");
        Ok(())
    } else {
        print_stdout(&summary)
    }
}
