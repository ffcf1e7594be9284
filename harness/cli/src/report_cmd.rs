//! `blindtuner report`: the comparison report of a folder of result files (see
//! [`blindtuner_reports::report`]).

use anyhow::Result;
use blindtuner_reports::{records, report};
use clap::Args;
use std::path::PathBuf;

use crate::output::print_stdout;

#[derive(Args)]
pub struct ReportArgs {
    /// Folder of JSON result files (`train --json`, `bench step --json`, `bench ops --json`);
    /// other JSON files are skipped with a warning.
    #[arg(long, value_name = "DIR")]
    results: PathBuf,
    /// Folder to write `report.md`, `report.html` and the plots (PNG and SVG) into; created if
    /// missing.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let (files, skipped) = records::read_dir(&args.results)?;
    for warning in &skipped {
        eprintln!("{warning}");
    }
    let built = report::build(&args.results, &files, &skipped)?;
    let written = report::write(&built, &args.out)?;
    print_stdout(&format!(
        "report of {} result files: {} files written to {} (report.md, report.html, {} plots)\n",
        files.len(),
        written.len(),
        args.out.display(),
        built.plots.len()
    ))
}
