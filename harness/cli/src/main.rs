//! `blindtuner`: the command-line harness. Every command prints a short
//! human summary and, with `--json`, a machine-readable record; any failure
//! is one line on stderr and a non-zero exit.

mod bench_cmd;
mod bench_step;
mod bench_trait;
mod calibration;
mod datasets_cmd;
mod encrypted_train;
mod exchange;
mod features_cmd;
mod glyph_cmd;
mod output;
mod regress_cmd;
mod report_cmd;
mod roles;
mod suite_cmd;
mod train_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "blindtuner",
    version,
    about = "Fine-tune a classifier head on features that stay encrypted under CKKS, and benchmark it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a softmax classifier head on a data set and report accuracy and time.
    Train(Box<train_cmd::TrainArgs>),
    /// List the data sets this build can load, where they come from and whether they are found.
    Datasets(datasets_cmd::DatasetsArgs),
    /// Extract a data set's features with a frozen vision transformer (DeiT, ViT) once, into the
    /// feature cache that `train --features <extractor>` reads.
    Features(features_cmd::FeaturesArgs),
    /// Benchmark a backend's CKKS primitives (`bench ops`, in the peer benchmarks' JSON schema),
    /// encrypted training steps at a shape (`bench step`), or project a Glyph-style step from
    /// measured costs (`bench glyph`).
    Bench(bench_cmd::BenchArgs),
    /// The data owner's side of a training across machines: encrypt, judge, decrypt.
    Client(roles::ClientArgs),
    /// The untrusted server's side: train on an upload with evaluation keys alone.
    Cloud(roles::CloudArgs),
    /// Write the comparison report (Markdown, self-contained HTML, PNG and SVG plots) of a
    /// folder of result files.
    Report(report_cmd::ReportArgs),
    /// Compare the times of two result files, normalised by their calibration kernels; fail on a
    /// slowdown past the tolerance.
    Regress(regress_cmd::RegressArgs),
    /// Run the benchmark suite: a preset's matrix of train and bench cells, each a child process
    /// writing its result into one folder, skipping the cells already finished there.
    Suite(suite_cmd::SuiteArgs),
}

fn main() -> ExitCode {
    // A bug must still end in one readable line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {msg} (please report this)");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train_cmd::run(*args),
        Command::Datasets(args) => datasets_cmd::run(args),
        Command::Features(args) => features_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Client(args) => roles::run_client(args),
        Command::Cloud(args) => roles::run_cloud(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Regress(args) => regress_cmd::run(args),
        Command::Suite(args) => suite_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
