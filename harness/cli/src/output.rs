//! Writing results: JSON to a file or stdout, text to stdout.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `value` as pretty JSON to `path`, or to stdout when `path` is `-`.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("serialising the result")?;
    text.push('\n');
    if path == Path::new("-") {
        print_stdout(&text)
    } else {
        std::fs::write(path, text).with_context(|| format!("{}: cannot write the JSON result", path.display()))
    }
}

/// Prints `summary`, and writes `record` as JSON where `--json` asks: to a file (the summary then
/// on stdout) or to stdout (`-`, the summary then on stderr).
pub fn finish(json: Option<&Path>, summary: &str, record: &impl serde::Serialize) -> Result<()> {
    match json {
        Some(path) if path.as_os_str() == "-" => {
            eprintln!("{summary}");
            write_json(path, record)
        }
        Some(path) => {
            write_json(path, record)?;
            print_stdout(&format!("{summary}\n"))
        }
        None => print_stdout(&format!("{summary}\n")),
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

/// Trained weights as JSON: one row per class, the bias last.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct WeightsFile {
    pub classes: usize,
    /// Feature columns, the bias included.
    pub cols: usize,
    pub weights: Vec<Vec<f64>>,
}

/// Writes `w` (one row per class) to `path` as a [`WeightsFile`].
pub fn write_weights(path: &Path, w: &blindtuner_features::Matrix) -> Result<()> {
    let file = WeightsFile {
        classes: w.rows,
        cols: w.cols,
        weights: (0..w.rows).map(|r| w.row(r).to_vec()).collect(),
    };
    write_json(path, &file)
}

/// The process's peak resident memory (`VmHWM` of `/proc/self/status`), where the kernel has it.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
