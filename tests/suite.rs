//! End-to-end tests of `blindtuner suite`: the quick preset on `plain` and digits runs its cells
//! into one folder, resumes (finished cells skipped, a missing or corrupt result file run again),
//! feeds `blindtuner report`, and bad filters are one-line errors.

mod common;

use common::{assert_one_line_error, blindtuner, run_json, stderr};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// The cells of `--preset quick --backends plain --datasets digits --methods blindtuner,exact`.
const CELLS: [&str; 4] = [
    "train-digits-exact",
    "train-digits-blindtuner-plain",
    "bench-ops-plain",
    "bench-step-plain",
];

/// Runs the quick suite on plain and digits into `out`; returns each cell's status from the JSON
/// summary, and the run's stdout and stderr together.
fn suite(out: &Path) -> (BTreeMap<String, String>, String) {
    let summary = out.with_extension("summary.json");
    let o = blindtuner(&[
        "suite",
        "--preset",
        "quick",
        "--backends",
        "plain",
        "--datasets",
        "digits",
        "--methods",
        "blindtuner,exact",
        "--out",
        out.to_str().unwrap(),
        "--json",
        summary.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let statuses = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cell"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (statuses, text)
}

fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(c, s)| (c.to_string(), s.to_string())).collect()
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn quick_suite_runs_resumes_and_feeds_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let file = |cell: &str| out.join(format!("{cell}.json"));

    let (first, text) = suite(&out);
    assert_eq!(first, statuses(&CELLS.map(|c| (c, "ran"))), "{text}");
    for cell in CELLS {
        let record = blindtuner_reports::records::read(&file(cell)).unwrap();
        assert!(record.is_some(), "{cell}: not a result record");
    }
    assert!(text.contains("blindtuner report --results"), "{text}");
    // A cell is the documented command: the same run by hand gives the same accuracy.
    let by_hand = run_json(&["train", "--method", "exact", "--dataset", "digits"]);
    let cell: Value = serde_json::from_str(&std::fs::read_to_string(file("train-digits-exact")).unwrap()).unwrap();
    assert_eq!(cell["accuracy"], by_hand["accuracy"]);
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), CELLS.len(), "no temporary file left: {names:?}");

    // Every finished cell is skipped and its file left as it was.
    let before: Vec<_> = CELLS
        .iter()
        .map(|c| (mtime(&file(c)), std::fs::read(file(c)).unwrap()))
        .collect();
    let (second, text) = suite(&out);
    assert_eq!(second, statuses(&CELLS.map(|c| (c, "skipped"))), "{text}");
    assert_eq!(text.matches("skipped (finished)").count(), 2 * CELLS.len(), "{text}");
    let after: Vec<_> = CELLS
        .iter()
        .map(|c| (mtime(&file(c)), std::fs::read(file(c)).unwrap()))
        .collect();
    assert!(before == after, "a skipped cell's file changed");

    // A deleted file reruns its cell alone; a corrupt one is not trusted and reruns too.
    std::fs::remove_file(file("train-digits-exact")).unwrap();
    std::fs::write(file("bench-ops-plain"), "{\"library\": \"plain\", \"ops\": ").unwrap();
    let (third, text) = suite(&out);
    let expected = statuses(&[
        ("train-digits-exact", "ran"),
        ("train-digits-blindtuner-plain", "skipped"),
        ("bench-ops-plain", "ran"),
        ("bench-step-plain", "skipped"),
    ]);
    assert_eq!(third, expected, "{text}");
    assert!(
        text.contains("bench-ops-plain.json: not valid JSON") && text.contains("running the cell again"),
        "{text}"
    );
    assert!(
        blindtuner_reports::records::read(&file("bench-ops-plain"))
            .unwrap()
            .is_some()
    );

    let report = dir.path().join("report");
    let o = blindtuner(&[
        "report",
        "--results",
        out.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("digits"), "{md}");
}

#[test]
fn filters_that_leave_no_cell_say_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    // The Glyph-style cells run on tfhe, not on plain.
    let o = blindtuner(&[
        "suite",
        "--preset",
        "quick",
        "--methods",
        "glyph",
        "--backends",
        "plain",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, &["the filters leave no cell of the quick preset"]);
    assert!(!out.exists(), "nothing written");
}

#[test]
fn unknown_filter_names_are_one_line_errors_listing_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let out = out.to_str().unwrap();
    let o = blindtuner(&["suite", "--preset", "quick", "--datasets", "digits,svhn", "--out", out]);
    assert_one_line_error(&o, &["--datasets", "unknown data set 'svhn'", "mnist10k, digits"]);
    let o = blindtuner(&["suite", "--preset", "quick", "--backends", "openfhe", "--out", out]);
    assert_one_line_error(
        &o,
        &["--backends", "unknown backend 'openfhe'", "plain, native, seal, tfhe"],
    );
    let o = blindtuner(&["suite", "--preset", "quick", "--methods", "sgd", "--out", out]);
    assert_one_line_error(&o, &["--methods", "unknown method 'sgd'", "hetal, glyph"]);
}

#[test]
fn a_failing_cell_is_one_line_and_the_suite_fails_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(data.join(f), b"").unwrap();
    }
    let out = dir.path().join("results");
    let args = [
        "suite",
        "--preset",
        "full",
        "--datasets",
        "mnist,digits",
        "--methods",
        "exact",
    ];
    let mut first = args.to_vec();
    first.extend(["--out", out.to_str().unwrap()]);

    // Without --data-dir the file-based cell is not available; the embedded one runs.
    let o = blindtuner(&first);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("train-mnist-exact") && text.contains("not available (needs --data-dir"),
        "{text}"
    );

    // With empty files the cell fails in one line, the others still count, and the exit is an error.
    let mut second = first.clone();
    second.extend(["--data-dir", data.to_str().unwrap()]);
    let o = blindtuner(&second);
    assert!(!o.status.success());
    let err = stderr(&o);
    let failed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("train-mnist-exact: failed: "))
        .collect();
    assert_eq!(failed.len(), 1, "{err}");
    assert!(err.contains("train-digits-exact: skipped (finished)"), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: 1 of 2 cells failed: train-mnist-exact"),
        "{err}"
    );
    assert!(
        !out.join("train-mnist-exact.json").exists(),
        "no finished-looking file of a failed cell"
    );
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}
