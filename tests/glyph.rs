//! End-to-end tests of the Glyph-style baseline: `train --method glyph` on plain (standing in
//! for both schemes), its one-line errors without the tfhe feature, and its projected record in
//! the report beside a measured `bench step` record.

mod common;

use common::{assert_one_line_error, blindtuner, run_json, stderr};
use serde_json::{Value, json};
use std::path::Path;

/// Two digits (0 and 1), 16 training examples, two epochs of two steps: the circuit on plain
/// equals the f64 run of the same algorithm, and the record says what ran.
#[test]
fn glyph_on_plain_trains_and_matches_its_reference() {
    let r = run_json(&[
        "train",
        "--method",
        "glyph",
        "--backend",
        "plain",
        "--dataset",
        "digits",
        "--features",
        "pixels-pca4-std",
        "--classes",
        "2",
        "--train-limit",
        "16",
        "--batch",
        "8",
        "--epochs",
        "2",
        "--lr",
        "1",
        "--patience",
        "0",
    ]);
    assert_eq!(r["method"], "glyph");
    assert_eq!(r["backend"], "plain");
    assert_eq!(r["classes"], 2);
    assert_eq!(r["steps"], 4);
    assert_eq!(r["time"]["measured"], true);
    assert!(r["hyperparameters"]["optimizer"].as_str().unwrap().starts_with("sgd"));
    let e = &r["encrypted"];
    assert!(e["weight_bits_vs_plain"][0].as_f64().unwrap() > 40.0, "{e}");
    assert_eq!(e["client_rounds"], 8);
    assert!(e["refresh"].as_str().unwrap().contains("scheme switches"));
    assert_eq!(r["accuracy"]["test"], e["approximate_plain"]["test"]);
    assert!(r["accuracy"]["test"].as_f64().unwrap() > 0.9, "{}", r["accuracy"]);
    assert!(r["time"]["phases"]["train.switch"].as_f64().unwrap() >= 0.0);
}

#[test]
fn classes_must_be_between_two_and_the_data_sets() {
    for k in ["1", "11"] {
        let o = blindtuner(&[
            "train",
            "--method",
            "exact",
            "--dataset",
            "digits",
            "--classes",
            k,
            "--quiet",
        ]);
        assert_one_line_error(&o, &["--classes", "10 classes"]);
    }
}

#[cfg(not(feature = "tfhe"))]
#[test]
fn glyph_on_native_and_bench_glyph_say_how_to_build_them() {
    let o = blindtuner(&[
        "train",
        "--method",
        "glyph",
        "--backend",
        "native",
        "--dataset",
        "digits",
        "--classes",
        "2",
        "--quiet",
    ]);
    assert_one_line_error(&o, &["--method glyph", "--features tfhe"]);
    let o = blindtuner(&["bench", "glyph", "--quiet"]);
    assert_one_line_error(&o, &["bench glyph", "--features tfhe"]);
}

fn write(dir: &Path, name: &str, value: &Value) {
    std::fs::write(dir.join(name), serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// A projected Glyph record, a measured BlindTuner step and a BlindTuner train record of the same
/// shape and machine: the report shows the projection apart, each speedup row says which figure
/// is which, and a run on plain (not encrypted) gets no row.
#[test]
fn report_compares_a_measured_step_with_a_projected_rival() {
    let machine = json!({"cpu": "synthetic", "threads": 2, "os": "linux", "arch": "x86_64", "vector": "avx2"});
    let dir = tempfile::tempdir().unwrap();
    let step = json!({
        "total_s": 60.0, "matmul_s": 20.0, "softmax_s": 2.0, "update_s": 1.0, "refresh_s": 37.0,
        "ops": {"mul": 914.0, "mul_plain": 47.0, "mul_scalar": 40.0, "rotations": 837.0,
                "hoisted_rotations": 225.0, "additions": 1200.0, "refreshes": 8.0},
    });
    write(
        dir.path(),
        "step.json",
        &json!({
            "kind": "measured", "backend": "native", "parameters": "boot-n16", "rows": 1024, "cols": 769,
            "classes": 10, "threads": 2, "keygen_s": 23.0, "encrypt_s": 10.0, "steps": [step],
            "median_step_s": 60.0, "machine": machine, "date": "2026-12-07T00:00:00Z", "version": "0.1.0",
        }),
    );
    write(
        dir.path(),
        "glyph.json",
        &json!({
            "kind": "projected", "method": "glyph", "rows": 1024, "cols": 769, "classes": 10,
            "block": "1024 x 32", "projected_step_s": 6000.0,
            "projected_parts_s": {"ckks": 100.0, "switch": 2900.0, "tfhe": 3000.0},
            "steps_per_epoch": 52, "epochs": 7, "projected_total_s": 2_184_000.0, "model": "synthetic",
            "counts": {}, "measured_costs_ms": {}, "threads": 2, "machine": machine,
            "date": "2026-12-07T00:00:00Z", "version": "0.1.0",
        }),
    );
    // A BlindTuner train record of the same shape and machine, 30 s per step.
    let mut bt = run_json(&["train", "--backend", "plain", "--dataset", "digits", "--epochs", "1"]);
    bt["hyperparameters"]["batch"] = json!(1024);
    bt["features"]["dim_with_bias"] = json!(769);
    bt["classes"] = json!(10);
    bt["time"]["per_step_s"] = json!(30.0);
    bt["machine"] = machine.clone();
    // The same record on plain, 10 s per step: not encrypted, so not set against the projection.
    let mut unencrypted = bt.clone();
    unencrypted["time"]["per_step_s"] = json!(10.0);
    write(dir.path(), "train-plain.json", &unencrypted);
    bt["backend"] = json!("native");
    write(dir.path(), "train.json", &bt);
    let out = tempfile::tempdir().unwrap();
    let o = blindtuner(&[
        "report",
        "--results",
        dir.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for needle in [
        "1 projected step record",
        "Projected steps (bench glyph)",
        "100.0x",
        "BlindTuner measured, glyph projected",
        "200.0x",
        "BlindTuner measured (train, per step), glyph projected",
        "Speedups the papers claim (reported, not measured here)",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
    assert!(!md.contains("600.0x"), "a plain run set against the projection");
}
