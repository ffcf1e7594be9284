//! End-to-end tests of `blindtuner report` and `blindtuner regress`: reports of real cheap runs
//! and of an empty folder, regressions between synthetic result pairs (named so), and every kind
//! of bad input, which must end in one line naming the file.

mod common;

use common::{assert_one_line_error, blindtuner, run_json, stderr};
use serde_json::{Value, json};
use std::path::Path;

const SECTIONS: [&str; 8] = [
    "## Machines, dates and commits",
    "## Accuracy per data set",
    "## Time per step and in total",
    "## Operations per training step",
    "## Loss curves",
    "## Speedup of BlindTuner over HETAL and Glyph",
    "## Reported by the papers",
    "## Micro-benchmarks per operation",
];

#[test]
fn calibration_is_recorded_by_a_cheap_train_run() {
    let r = run_json(&["train", "--method", "exact", "--dataset", "digits", "--epochs", "2"]);
    let s = r["machine"]["calibration_s"].as_f64().expect("machine.calibration_s");
    assert!(s > 0.001 && s < 5.0, "calibration {s} s");
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `blindtuner report` on the `results` folder into `out`.
fn report(results: &Path, out: &Path) -> std::process::Output {
    blindtuner(&[
        "report",
        "--results",
        results.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

/// Runs the binary with `args` plus `--quiet --json DIR/name`.
fn record(dir: &Path, name: &str, args: &[&str]) {
    let path = dir.join(name);
    let mut all = args.to_vec();
    all.extend(["--quiet", "--json", path.to_str().unwrap()]);
    let o = blindtuner(&all);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn report_of_real_runs_has_every_section_tables_and_plots() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    record(
        r,
        "exact-digits.json",
        &["train", "--method", "exact", "--dataset", "digits", "--epochs", "5"],
    );
    record(
        r,
        "blindtuner-plain-digits.json",
        &["train", "--backend", "plain", "--dataset", "digits", "--epochs", "2"],
    );
    record(
        r,
        "step-plain.json",
        &[
            "bench",
            "step",
            "--backend",
            "plain",
            "--rows",
            "64",
            "--features",
            "15",
            "--steps",
            "2",
        ],
    );
    record(
        r,
        "ops-plain.json",
        &["bench", "ops", "--backend", "plain", "--config", "n14", "--reps", "1"],
    );
    std::fs::write(r.join("notes.json"), r#"{"note": "not a result"}"#).unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = report(r, out.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // The unknown file is skipped with one warning line.
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: ") && stderr(&o).contains("notes.json"));

    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for section in SECTIONS {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    assert!(md.contains("4 result files"), "{md}");
    for file in [
        "exact-digits.json",
        "blindtuner-plain-digits.json",
        "step-plain.json",
        "ops-plain.json",
    ] {
        assert!(md.contains(file), "report.md lacks {file}");
    }
    assert!(md.contains("— (plain: not encrypted)"));
    assert!(md.contains("| measured |") || md.contains("| measured"));
    assert!(md.contains("No measured comparison"));
    for plot in ["phases", "step-phases", "loss-cross-entropy", "loss-brier", "ops"] {
        let png = std::fs::read(out.path().join(format!("{plot}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{plot}.png");
        let svg = std::fs::read_to_string(out.path().join(format!("{plot}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{plot}.svg");
        assert!(
            md.contains(&format!("![{plot}]({plot}.png)")),
            "{plot} not in report.md"
        );
    }

    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    for section in SECTIONS {
        assert!(
            html.contains(&format!("<h2>{}</h2>", &section[3..])),
            "report.html lacks {section}"
        );
    }
    // Self-contained: the plots inline, nothing fetched.
    assert_eq!(html.matches("<svg").count(), 5);
    for external in ["src=", "href=", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "report.html refers to an outside resource: {external}"
        );
    }
}

#[test]
fn report_of_an_empty_folder_says_what_fills_each_section() {
    let results = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("new");
    let o = report(results.path(), &out_dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    for section in SECTIONS {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    for sentence in [
        "No result files",
        "No train records",
        "No bench step records",
        "No encrypted results",
        "No validation losses",
        "No measured comparison",
        "No projected comparison",
        "No projected step records",
        "No bench ops records",
    ] {
        assert!(md.contains(sentence), "report.md lacks {sentence:?}");
    }
    // The papers' figures are embedded: there with no record at all, labelled and sourced.
    for figure in [
        "4.29 to 15.72 s",
        "567 to 3442 s",
        "600 x",
        "no (unverified)",
        "Speedups the papers claim (reported, not measured here)",
        "arXiv 2402.09059",
    ] {
        assert!(md.contains(figure), "report.md lacks {figure:?}");
    }
    assert!(out_dir.join("report.html").is_file());
}

#[test]
fn report_refuses_corrupt_files_and_missing_folders() {
    let results = tempfile::tempdir().unwrap();
    std::fs::write(results.path().join("broken.json"), "{\"library\": ").unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = report(results.path(), out.path());
    assert_one_line_error(&o, &["broken.json", "not valid JSON"]);
    let o = report(Path::new("/nonexistent/results"), out.path());
    assert_one_line_error(&o, &["/nonexistent/results"]);
}

/// A synthetic `bench step` record: three steps of `step_s` seconds (40 % products, 25 % softmax,
/// 5 % update, 30 % bootstraps), key generation and encryption of fixed times scaled by `other`,
/// and the calibration kernel's time.
fn synthetic_step(step_s: f64, other: f64, calibration_s: Option<f64>) -> Value {
    let step = json!({
        "total_s": step_s, "matmul_s": 0.4 * step_s, "softmax_s": 0.25 * step_s,
        "update_s": 0.05 * step_s, "refresh_s": 0.3 * step_s,
        "ops": {"mul": 914.0, "relinearizations": 230.0, "mul_plain": 47.0, "mul_scalar": 40.0,
                "rotations": 837.0, "hoisted_rotations": 9.0, "additions": 1200.0, "refreshes": 8.0},
    });
    let mut machine = json!({"cpu": "synthetic", "threads": 2, "os": "linux", "arch": "x86_64", "vector": "avx2"});
    if let Some(s) = calibration_s {
        machine["calibration_s"] = json!(s);
    }
    json!({
        "kind": "measured", "backend": "native", "parameters": "boot-n16", "security": "128-bit",
        "rows": 1024, "cols": 769, "classes": 10, "block": "1024 x 32", "threads": 1,
        "rotation_keys": 40, "keygen_s": 30.0 * other, "encrypt_s": 12.0 * other,
        "steps": [step.clone(), step.clone(), step], "median_step_s": step_s,
        "peak_rss_bytes": null, "machine": machine, "date": "2026-12-07T00:00:00Z", "version": "0.1.0",
    })
}

fn regress(baseline: &str, current: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["regress", "--baseline", baseline, "--current", current];
    args.extend_from_slice(extra);
    blindtuner(&args)
}

#[test]
fn regress_passes_equal_runs_and_a_slower_machine_and_fails_slower_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = write(d, "base.json", &synthetic_step(60.0, 1.0, Some(0.06)));

    // (a) The same times: passes.
    let same = write(d, "same.json", &synthetic_step(60.0, 1.0, Some(0.06)));
    let o = regress(&base, &same, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("regress: passed: 0 of 7 times"), "{out}");

    // (b) Steps twice as slow on a machine as fast: fails, naming the step's times, not key
    // generation.
    let slow = write(d, "slow.json", &synthetic_step(120.0, 1.0, Some(0.06)));
    let o = regress(&base, &slow, &[]);
    assert!(!o.status.success());
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("regression: median_step_s: 2.00x")),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("regression: median train.refresh")),
        "{err}"
    );
    assert!(!err.contains("regression: keygen_s"), "{err}");
    let last = lines.last().unwrap();
    assert!(last.starts_with("error: regress: 5 of 7 times past 1.25x"), "{err}");
    // A tolerance of 1.5 lets a 2x slowdown through.
    assert!(regress(&base, &slow, &["--tolerance", "1.5"]).status.success());

    // (c) Everything, calibration included, twice as slow: a slower machine, no regression.
    let slower_machine = write(d, "slower-machine.json", &synthetic_step(120.0, 2.0, Some(0.12)));
    let o = regress(&base, &slower_machine, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The JSON record of a failing comparison.
    let report = d.join("regress.json");
    let o = regress(&base, &slow, &["--json", report.to_str().unwrap()]);
    assert!(!o.status.success());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["kind"], "regress");
    assert_eq!(r["regressions"], 5);
    assert_eq!(r["calibration_ratio"], 1.0);
    let step = r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "median_step_s")
        .unwrap();
    assert_eq!(
        (step["normalised_ratio"].as_f64(), step["verdict"].as_str()),
        (Some(2.0), Some("regression"))
    );
}

#[test]
fn regress_never_fails_on_times_under_the_noise_floor() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(dir.path(), "base.json", &synthetic_step(0.01, 0.001, Some(0.06)));
    let slow = write(dir.path(), "slow.json", &synthetic_step(0.04, 0.001, Some(0.06)));
    let o = regress(&base, &slow, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("below noise floor"));
    // With no floor, 4x slower fails.
    assert!(!regress(&base, &slow, &["--noise-floor-ms", "0"]).status.success());
}

#[test]
fn regress_refuses_other_kinds_missing_calibrations_and_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = write(d, "base.json", &synthetic_step(60.0, 1.0, Some(0.06)));
    // (d) A train record against a step record.
    let train = run_json(&["train", "--method", "exact", "--dataset", "digits", "--epochs", "1"]);
    let train = write(d, "train.json", &train);
    let o = regress(&base, &train, &[]);
    assert_one_line_error(&o, &["train.json", "train record", "bench step record"]);
    // Another shape.
    let mut other = synthetic_step(60.0, 1.0, Some(0.06));
    other["rows"] = json!(512);
    let other = write(d, "other-shape.json", &other);
    assert_one_line_error(
        &regress(&base, &other, &[]),
        &["other-shape.json", "rows 512 against 1024"],
    );
    // No calibration (a record written before it was measured).
    let old = write(d, "old.json", &synthetic_step(60.0, 1.0, None));
    assert_one_line_error(&regress(&old, &base, &[]), &["old.json", "calibration_s"]);
    // Corrupt, unknown and missing files.
    std::fs::write(d.join("corrupt.json"), "{\"median_step_s\": 1,").unwrap();
    let corrupt = d.join("corrupt.json");
    assert_one_line_error(
        &regress(&base, corrupt.to_str().unwrap(), &[]),
        &["corrupt.json", "not valid JSON"],
    );
    let unknown = write(d, "unknown.json", &json!({"hello": 1}));
    assert_one_line_error(&regress(&base, &unknown, &[]), &["unknown.json", "not a result"]);
    assert_one_line_error(&regress(&base, "/nonexistent.json", &[]), &["/nonexistent.json"]);
    assert_one_line_error(&regress(&base, &base, &["--tolerance=-1"]), &["tolerance"]);
}

#[test]
fn speedup_is_shown_only_for_runs_of_one_machine_backend_and_data_set() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    let bt = run_json(&["train", "--backend", "plain", "--dataset", "digits", "--epochs", "1"]);
    write(r, "blindtuner.json", &bt);
    // Synthetic rival records, named so, to check the arithmetic: HETAL 3x slower per step and
    // 2x in total on the same machine and backend, Glyph on another backend.
    let mut hetal = bt.clone();
    hetal["method"] = json!("hetal");
    hetal["time"]["per_step_s"] = json!(bt["time"]["per_step_s"].as_f64().unwrap() * 3.0);
    hetal["time"]["total_s"] = json!(bt["time"]["total_s"].as_f64().unwrap() * 2.0);
    write(r, "synthetic-hetal.json", &hetal);
    let mut glyph = bt.clone();
    glyph["method"] = json!("glyph");
    glyph["backend"] = json!("native");
    write(r, "synthetic-glyph.json", &glyph);
    let out = tempfile::tempdir().unwrap();
    let o = report(r, out.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let section = &md[md.find("## Speedup").unwrap()..md.find("### Against projected rivals").unwrap()];
    assert!(section.contains("| hetal "), "{section}");
    assert!(section.contains("3.00x") && section.contains("2.00x"), "{section}");
    assert!(!section.contains("glyph"), "{section}");
    assert!(!section.contains("No measured comparison"), "{section}");
}

#[test]
fn the_speedup_over_hetal_is_explained_by_the_counts_of_real_runs() {
    let results = tempfile::tempdir().unwrap();
    let r = results.path();
    for method in ["blindtuner", "hetal"] {
        let train = [
            "train",
            "--method",
            method,
            "--backend",
            "plain",
            "--dataset",
            "digits",
            "--epochs",
            "1",
        ];
        record(r, &format!("{method}-digits.json"), &train);
        let step = [
            "bench",
            "step",
            "--method",
            method,
            "--backend",
            "plain",
            "--rows",
            "64",
            "--features",
            "63",
            "--steps",
            "2",
        ];
        record(r, &format!("step-{method}.json"), &step);
    }
    let out = tempfile::tempdir().unwrap();
    let o = report(r, out.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    let start = md
        .find("### Where the speedup over HETAL comes from")
        .expect("the section");
    let end = md[start..].find("\n## ").map_or(md.len(), |e| start + e);
    let section = &md[start..end];
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.contains("blindtuner-digits.json") || l.contains("step-blindtuner.json"))
        .collect();
    assert_eq!(rows.len(), 2, "{section}");
    assert!(
        rows[0].starts_with("| digits (train)") && rows[1].starts_with("| 64 x 64, 10 classes (bench step)"),
        "{section}"
    );
    // Both run the same products; the baseline refreshes one ciphertext at a time, more often.
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (ours, theirs) = cells[7].split_once(" / ").unwrap();
        assert!(ours.parse::<f64>().unwrap() < theirs.parse::<f64>().unwrap(), "{row}");
        assert!(cells[4].ends_with('x'), "{row}");
    }
    let ops = &md[md.find("## Operations per training step").unwrap()..];
    assert!(
        ops.contains("hetal (bench step)") && ops.contains("blindtuner (bench step)"),
        "{ops}"
    );
}
