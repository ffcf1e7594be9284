//! `blindtuner datasets`: what data this build can load and where it is.

use crate::output::{print_stdout, write_json};
use anyhow::Result;
use blindtuner_datasets::{CATALOGUE, DatasetInfo, required_files};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct DatasetsArgs {
    /// Directory to look for file-based data sets in.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Write the list as JSON to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

#[derive(serde::Serialize)]
struct Entry<'a> {
    name: &'a str,
    description: &'a str,
    split: &'a str,
    source: &'a str,
    licence: &'a str,
    embedded: bool,
    available: bool,
    status: String,
    /// The files and folders the data set reads from --data-dir.
    needs: Vec<String>,
    /// Those of them not found (all, without --data-dir).
    missing: Vec<String>,
}

pub fn run(args: DatasetsArgs) -> Result<()> {
    let entries: Vec<Entry> = CATALOGUE.iter().map(|d| entry(d, &args.data_dir)).collect();
    if let Some(path) = &args.json {
        write_json(path, &entries)?;
        if path.as_os_str() == "-" {
            return Ok(());
        }
    }
    let mut b = tabled::builder::Builder::default();
    b.push_record(["name", "status", "description", "split", "source", "licence"]);
    for e in &entries {
        b.push_record([e.name, &e.status, e.description, e.split, e.source, e.licence]);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp()).modify(
        tabled::settings::object::Columns::new(1..),
        tabled::settings::Width::wrap(26).keep_words(true),
    );
    print_stdout(&format!("{table}\n"))
}

/// Whether the data set named `name` can be loaded with `data_dir` (embedded, or its files found
/// there), and the status line `blindtuner datasets` prints for it; `None` for a name not in the
/// catalogue.
pub fn availability(name: &str, data_dir: &Option<PathBuf>) -> Option<(bool, String)> {
    let d = CATALOGUE.iter().find(|d| d.name == name)?;
    let e = entry(d, data_dir);
    Some((e.available, e.status))
}

fn entry<'a>(d: &'a DatasetInfo, data_dir: &Option<PathBuf>) -> Entry<'a> {
    let files = required_files(d.id, data_dir.as_deref().unwrap_or(std::path::Path::new("")));
    let needs: Vec<String> = files.iter().map(|(f, _)| f.clone()).collect();
    let missing: Vec<String> = match data_dir {
        Some(_) => files.into_iter().filter(|(_, found)| !found).map(|(f, _)| f).collect(),
        None => needs.clone(),
    };
    let (available, status) = match (d.embedded, data_dir) {
        (true, _) => (true, "embedded in the binary".to_string()),
        (false, None) => (false, format!("needs --data-dir DIR with {}", needs.join(", "))),
        (false, Some(dir)) if missing.is_empty() => (true, format!("found in {}", dir.display())),
        (false, Some(dir)) => (false, format!("missing in {}: {}", dir.display(), missing.join(", "))),
    };
    Entry {
        name: d.name,
        description: d.description,
        split: d.split,
        source: d.source,
        licence: d.licence,
        embedded: d.embedded,
        available,
        status,
        needs,
        missing,
    }
}
