//! End-to-end tests of the `blindtuner` binary: real runs on the embedded
//! data, IDX directories written by the tests (synthetic data, named so),
//! and every kind of bad input, which must end in one line naming the file.

mod common;

use common::{assert_one_line_error, blindtuner, run_json, stderr};
use flate2::{Compression, write::GzEncoder};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

#[test]
fn default_run_reaches_ninety_percent_on_mnist10k() {
    let r = run_json(&["train", "--method", "exact", "--dataset", "mnist10k"]);
    let test = r["accuracy"]["test"].as_f64().unwrap();
    assert!(test >= 0.90, "test accuracy {test}");
}

#[test]
fn json_result_carries_every_field() {
    let r = run_json(&[
        "train",
        "--method",
        "exact",
        "--dataset",
        "digits",
        "--epochs",
        "3",
        "--patience",
        "0",
    ]);
    for key in [
        "dataset",
        "backend",
        "method",
        "features",
        "n_train",
        "n_val",
        "n_test",
        "classes",
        "epochs_run",
        "steps",
        "accuracy",
        "loss_curve",
        "time",
        "machine",
        "git_commit",
        "date",
        "hyperparameters",
    ] {
        assert!(!r[key].is_null(), "missing {key}");
    }
    assert_eq!(r["dataset"], "digits");
    assert_eq!(r["method"], "exact");
    assert_eq!(r["backend"], "plain");
    assert_eq!(r["features"]["extractor"], "pixels");
    assert_eq!(r["features"]["dim"], 64);
    assert_eq!(
        (r["n_train"].as_u64(), r["n_val"].as_u64(), r["n_test"].as_u64()),
        (Some(1257), Some(180), Some(360))
    );
    assert_eq!(r["classes"], 10);
    assert_eq!(r["epochs_run"], 3);
    // 1,257 examples in batches of 128: 10 steps per epoch.
    assert_eq!(r["steps"], 30);
    assert_eq!(r["loss_curve"]["epochs"].as_array().unwrap().len(), 3);
    for group in ["accuracy", "loss_curve", "time"] {
        assert_eq!(r[group]["measured"], true, "{group}");
    }
    for split in ["train", "val", "test"] {
        let a = r["accuracy"][split].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&a), "{split} accuracy {a}");
    }
    let t = &r["time"];
    assert!(t["total_s"].as_f64().unwrap() > 0.0 && t["per_step_s"].as_f64().unwrap() > 0.0);
    for phase in ["load", "features", "train", "evaluate"] {
        assert!(t["phases"][phase].as_f64().is_some(), "phase {phase}");
    }
    assert!(r["machine"]["threads"].as_u64().unwrap() >= 1);
    assert!(!r["machine"]["cpu"].as_str().unwrap().is_empty());
    // The commit the binary was built from, or "unknown" outside a git checkout.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let want = head.map_or("unknown".to_string(), |o| {
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    });
    assert_eq!(r["git_commit"], want.as_str());
}

#[test]
fn json_to_stdout_is_parseable() {
    let o = blindtuner(&[
        "train",
        "--method",
        "exact",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--quiet",
        "--json",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).expect("stdout is pure JSON");
    assert_eq!(r["epochs_run"], 1);
}

#[test]
fn pca_features_train() {
    let r = run_json(&[
        "train",
        "--method",
        "exact",
        "--dataset",
        "digits",
        "--features",
        "pixels-pca16-std",
        "--epochs",
        "5",
    ]);
    assert_eq!(r["features"]["extractor"], "pixels-pca16-std");
    assert_eq!(r["features"]["dim"], 16);
    assert_eq!(r["features"]["dim_with_bias"], 17);
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A synthetic two-class IDX data set: class 1 images are bright in the top
/// half, class 0 in the bottom half, so any working trainer separates them.
fn write_synthetic_idx(dir: &Path, n_train: u32, n_test: u32, gzip: bool) {
    let make = |n: u32| {
        let mut px = Vec::new();
        let mut lb = Vec::new();
        for i in 0..n {
            let y = (i % 2) as u8;
            for r in 0..4 {
                for c in 0..4 {
                    let top = r < 2;
                    px.push(if top == (y == 1) {
                        200 + ((i + c) % 50) as u8
                    } else {
                        ((i * 7 + c) % 40) as u8
                    });
                }
            }
            lb.push(y);
        }
        (idx(&[n, 4, 4], &px), idx(&[n], &lb))
    };
    let (tri, trl) = make(n_train);
    let (tei, tel) = make(n_test);
    for (name, bytes) in [
        ("train-images-idx3-ubyte", tri),
        ("train-labels-idx1-ubyte", trl),
        ("t10k-images-idx3-ubyte", tei),
        ("t10k-labels-idx1-ubyte", tel),
    ] {
        if gzip {
            std::fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn trains_on_an_idx_directory_gzip_or_plain() {
    for gzip in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        write_synthetic_idx(dir.path(), 160, 40, gzip);
        let d = dir.path().to_str().unwrap();
        let r = run_json(&[
            "train",
            "--method",
            "exact",
            "--dataset",
            "idx",
            "--data-dir",
            d,
            "--batch",
            "32",
            "--lr",
            "0.5",
        ]);
        assert_eq!(
            (r["n_train"].as_u64(), r["n_val"].as_u64(), r["n_test"].as_u64()),
            (Some(140), Some(20), Some(40))
        );
        assert_eq!(r["classes"], 2);
        assert_eq!(r["data_origin"], d);
        assert_eq!(r["accuracy"]["test"], 1.0);
    }
}

#[test]
fn corrupt_idx_files_give_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut a = vec![
            "train",
            "--method",
            "exact",
            "--dataset",
            "idx",
            "--data-dir",
            d,
            "--quiet",
        ];
        a.extend(extra);
        blindtuner(&a)
    };
    // Missing files.
    assert_one_line_error(&train(&[]), &[d, "missing file", "train-images-idx3-ubyte"]);

    let images = dir.path().join("train-images-idx3-ubyte");
    let labels = dir.path().join("train-labels-idx1-ubyte");
    write_synthetic_idx(dir.path(), 16, 4, false);
    let good = std::fs::read(&images).unwrap();

    // Truncated payload, truncated header, corrupt gzip, bad magic.
    std::fs::write(&images, &good[..good.len() - 5]).unwrap();
    assert_one_line_error(&train(&[]), &["train-images-idx3-ubyte", "truncated"]);
    std::fs::write(&images, &good[..6]).unwrap();
    assert_one_line_error(&train(&[]), &["train-images-idx3-ubyte", "truncated"]);
    std::fs::remove_file(&images).unwrap();
    let gz_path = dir.path().join("train-images-idx3-ubyte.gz");
    let z = gz(&good);
    std::fs::write(&gz_path, &z[..z.len() / 2]).unwrap();
    assert_one_line_error(&train(&[]), &["train-images-idx3-ubyte.gz"]);
    std::fs::remove_file(&gz_path).unwrap();
    std::fs::write(&images, b"PK\x03\x04 this is a zip").unwrap();
    assert_one_line_error(&train(&[]), &["train-images-idx3-ubyte", "not an IDX file"]);

    // Count mismatch and label out of range.
    std::fs::write(&images, &good).unwrap();
    std::fs::write(&labels, idx(&[15], &[0; 15])).unwrap();
    assert_one_line_error(&train(&[]), &["train-labels-idx1-ubyte", "16 images but 15 labels"]);
    // A stray label of 200 would invent 199 empty classes.
    let mut bad: Vec<u8> = (0..16).map(|i| i % 2).collect();
    bad[3] = 200;
    std::fs::write(&labels, idx(&[16], &bad)).unwrap();
    assert_one_line_error(&train(&[]), &["train-labels-idx1-ubyte", "class 2 has no examples"]);
    std::fs::write(&labels, idx(&[4, 4], &[0; 16])).unwrap();
    assert_one_line_error(
        &train(&[]),
        &["train-labels-idx1-ubyte", "expected 1 dimensions, found 2"],
    );
}

#[test]
fn bad_parameters_are_clear_errors() {
    assert_one_line_error(
        &blindtuner(&["train", "--dataset", "idx", "--quiet"]),
        &["idx", "--data-dir"],
    );
    assert_one_line_error(
        &blindtuner(&["train", "--dataset", "digits", "--lr=-1", "--quiet"]),
        &["--lr"],
    );
    assert_one_line_error(
        &blindtuner(&[
            "train",
            "--method",
            "exact",
            "--dataset",
            "digits",
            "--features",
            "pixels-pca5000",
            "--quiet",
        ]),
        &["PCA to 5000 dimensions"],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/dir/r.json");
    assert_one_line_error(
        &blindtuner(&[
            "train",
            "--method",
            "exact",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--quiet",
            "--json",
            out.to_str().unwrap(),
        ]),
        &["r.json", "cannot write"],
    );
    // Unknown values are refused by the argument parser, with a non-zero exit.
    for args in [
        ["train", "--dataset", "nope"],
        ["train", "--features", "pixelz"],
        ["train", "--method", "magic"],
    ] {
        let o = blindtuner(&args);
        assert!(!o.status.success());
        assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    }
}

fn names_and_availability(list: &Value) -> Vec<(&str, bool)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["available"].as_bool().unwrap()))
        .collect()
}

#[test]
fn datasets_lists_the_catalogue() {
    let o = blindtuner(&["datasets", "--json", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<(&str, bool)> = names_and_availability(&list);
    assert_eq!(
        names,
        [
            ("mnist10k", true),
            ("digits", true),
            ("mnist", false),
            ("cifar10", false),
            ("dermamnist", false),
            ("dermamnist-64", false),
            ("dermamnist-128", false),
            ("dermamnist-224", false),
            ("face-mask", false),
            ("idx", false),
        ]
    );
    assert_eq!(list[3]["needs"][5], "test_batch.bin");
    assert_eq!(list[3]["missing"].as_array().unwrap().len(), 6);

    let o = blindtuner(&["datasets"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("mnist10k") && text.contains("embedded"), "{text}");
}

#[test]
fn datasets_reports_synthetic_file_sets_as_available() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let available = |dir: &str| {
        let o = blindtuner(&["datasets", "--data-dir", dir, "--json", "-"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let list: Value = serde_json::from_slice(&o.stdout).unwrap();
        names_and_availability(&list)
            .into_iter()
            .filter(|(_, a)| *a)
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(available(d), ["mnist10k", "digits"]);

    // Synthetic files in each layout; `datasets` checks that they are there.
    write_synthetic_idx(dir.path(), 8, 2, true);
    let batches = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&batches).unwrap();
    for f in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        std::fs::write(batches.join(f), [0u8; 3073]).unwrap();
    }
    std::fs::write(dir.path().join("dermamnist_128.npz"), b"synthetic").unwrap();
    std::fs::create_dir(dir.path().join("images")).unwrap();
    assert_eq!(
        available(d),
        ["mnist10k", "digits", "mnist", "cifar10", "dermamnist-128", "idx"]
    );
    std::fs::create_dir(dir.path().join("annotations")).unwrap();
    assert!(available(d).contains(&"face-mask".to_string()));

    let o = blindtuner(&["datasets", "--data-dir", d, "--json", "-"]);
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[4]["status"], format!("missing in {d}: dermamnist.npz"));
}

#[test]
fn bench_ops_writes_the_peer_schema_with_precision() {
    let r = run_json(&["bench", "ops", "--config", "n14", "--reps", "1"]);
    assert_eq!(r["library"], "native");
    assert_eq!(r["config"], "n14");
    assert_eq!(r["params"]["log_n"], 14);
    assert_eq!(r["params"]["limbs"], 6);
    assert_eq!(r["params"]["dnum"], 3);
    for op in [
        "encode_encrypt",
        "decrypt_decode",
        "add",
        "mul_plain",
        "mul_relin",
        "rescale",
        "mul_relin_rescale",
        "rotate_1",
        "rotate_5",
        "hoisted_rotate_8",
        "keygen_sk_pk",
        "keygen_relin",
        "keygen_rot",
        "keygen_total",
    ] {
        let o = &r["ops"][op];
        assert!(o["median_ms"].as_f64().unwrap() > 0.0, "{op}: {o}");
        assert!(
            o["min_ms"].as_f64().unwrap() <= o["median_ms"].as_f64().unwrap(),
            "{op}"
        );
    }
    // rotate_1 against the modelled lower bound of its key switching, labelled as modelled.
    let ks = &r["key_switching"];
    assert!(ks["model"].as_str().unwrap().starts_with("modelled"));
    assert!(ks["ntts"].as_u64().unwrap() > 0 && ks["modelled_lower_bound_ms"].as_f64().unwrap() > 0.0);
    let ratio = ks["ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio.is_finite(), "{ks}");
    // Scale 2^40 at N = 2^14: about 22 bits in the worst of 8,192 slots.
    for op in ["add", "mul_relin_rescale", "rotate_1", "hoisted_rotate_8"] {
        let bits = r["ops"][op]["precision_bits"].as_f64().unwrap();
        assert!(bits > 19.0, "{op}: {bits} bits");
    }
}

#[test]
fn bench_ops_refuses_backends_it_does_not_have() {
    let o = blindtuner(&["bench", "ops", "--backend", "nope", "--quiet"]);
    assert_one_line_error(&o, &["nope", "native", "plain", "seal"]);
}

#[cfg(not(feature = "seal"))]
#[test]
fn bench_ops_on_seal_says_how_to_build_it() {
    let o = blindtuner(&["bench", "ops", "--backend", "seal", "--quiet"]);
    assert_one_line_error(&o, &["seal", "--features seal"]);
}

/// The ops every backend timed through the trait reports, with a precision.
const TRAIT_OPS: [&str; 9] = [
    "encode_encrypt",
    "decrypt_decode",
    "add",
    "mul_plain_rescale",
    "mul_relin_rescale",
    "rotate_1",
    "rotate_5",
    "hoisted_rotate_8",
    "keygen_total",
];

/// Checks a report of `bench ops` through the backend trait; returns its precision per op.
fn check_trait_report(r: &Value, library: &str) -> Vec<(String, f64)> {
    assert_eq!(r["library"], library);
    assert_eq!(r["config"], "n14");
    assert!(r.get("key_switching").is_none(), "{r}");
    for op in [
        "mul_relin",
        "rescale",
        "mul_plain",
        "keygen_sk_pk",
        "keygen_relin",
        "keygen_rot",
    ] {
        assert!(
            r["unavailable"][op].as_str().is_some(),
            "{op} is neither timed nor explained"
        );
    }
    TRAIT_OPS
        .iter()
        .filter_map(|op| {
            let o = &r["ops"][op];
            assert!(o["median_ms"].as_f64().unwrap() >= 0.0, "{op}: {o}");
            assert!(
                o["min_ms"].as_f64().unwrap() <= o["median_ms"].as_f64().unwrap(),
                "{op}"
            );
            o["precision_bits"].as_f64().map(|p| (op.to_string(), p))
        })
        .collect()
}

#[test]
fn bench_ops_on_plain_goes_through_the_trait() {
    let r = run_json(&["bench", "ops", "--backend", "plain", "--config", "n14", "--reps", "1"]);
    let bits = check_trait_report(&r, "blindtuner-plain");
    assert_eq!(bits.len(), TRAIT_OPS.len() - 1);
    assert!(bits.iter().all(|(_, b)| *b == 60.0), "{bits:?}");
    assert_eq!(r["params"]["slots"], 8192);
    assert!(r["params"]["log_n"].is_null());
    // Plain "bootstraps" (restores levels), so it is timed.
    assert_eq!(r["ops"]["bootstrap"]["precision_bits"], 60.0);
}

#[cfg(feature = "seal")]
#[test]
fn bench_ops_on_seal_goes_through_the_trait() {
    let r = run_json(&["bench", "ops", "--backend", "seal", "--config", "n14", "--reps", "1"]);
    let bits = check_trait_report(&r, "blindtuner-seal");
    assert_eq!(r["params"]["log_n"], 14);
    assert_eq!(r["params"]["limbs"], 6);
    assert_eq!(r["params"]["special_primes"], 1);
    assert!(r["unavailable"]["bootstrap"].as_str().unwrap().contains("bootstrap"));
    // Scale 2^40 at N = 2^14. With q_0 and the special prime both of 60 bits (the peers' shape),
    // SEAL's key switching leaves rotations about 18 to 21 bits; everything else keeps 25 or more.
    for (op, b) in &bits {
        let floor = if op.contains("rotate") { 16.0 } else { 23.0 };
        assert!(*b > floor, "{op}: {b} bits");
    }
}

#[cfg(not(feature = "tfhe"))]
#[test]
fn bench_ops_on_tfhe_says_how_to_build_it() {
    let o = blindtuner(&["bench", "ops", "--backend", "tfhe", "--quiet"]);
    assert_one_line_error(&o, &["tfhe", "--features tfhe"]);
}

#[test]
fn bench_ops_takes_a_tfhe_set_only_with_the_tfhe_backend() {
    let o = blindtuner(&[
        "bench",
        "ops",
        "--backend",
        "plain",
        "--tfhe-set",
        "tfhe-q16-s4",
        "--quiet",
    ]);
    assert_one_line_error(&o, &["--tfhe-set", "--backend tfhe"]);
}

#[test]
fn bench_ops_times_sparse_bootstrapping_only_with_bootstrap() {
    let o = blindtuner(&["bench", "ops", "--bootstrap-sparse", "10,12", "--quiet"]);
    assert_one_line_error(&o, &["--bootstrap-sparse", "--bootstrap"]);
    // Full slots (15) are `--bootstrap` itself; a sparse count must be below them.
    let o = blindtuner(&["bench", "ops", "--bootstrap", "--bootstrap-sparse", "15", "--quiet"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--bootstrap-sparse"));
}

#[cfg(feature = "tfhe")]
#[test]
fn bench_ops_on_tfhe_measures_per_slot_and_projects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfhe.json");
    let o = blindtuner(&[
        "bench",
        "ops",
        "--backend",
        "tfhe",
        "--tfhe-set",
        "tfhe-q16-s1",
        "--config",
        "n14",
        "--reps",
        "1",
        "--threads",
        "2",
        "--quiet",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("projected, not measured") && table.contains("PROJECTED"),
        "{table}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bits = check_trait_report(&r, "blindtuner-tfhe");
    assert_eq!(r["params"]["slots"], 1);
    assert_eq!(r["params"]["scale_bits"], 16);
    assert_eq!(r["threads"], 2);
    assert!(r["unavailable"]["bootstrap"].as_str().unwrap().contains("bootstraps"));
    // Q16.16 on [-1, 1]: 2^-17 per encoding (two in a sum), 2^-16 per product's rounding.
    for (op, b) in &bits {
        let floor = if op.starts_with("mul") { 14.5 } else { 15.9 };
        assert!(*b > floor, "{op}: {b} bits");
    }
    let p = &r["projected"];
    assert_eq!(p["kind"], "projected");
    assert_eq!(p["slots"], 8192);
    let mul = &p["ops"]["mul_relin_rescale"];
    let per_slot = r["ops"]["mul_relin_rescale"]["median_ms"].as_f64().unwrap();
    assert!((mul["per_slot_ms"].as_f64().unwrap() - per_slot).abs() < 1e-9 * per_slot.max(1.0));
    assert!((mul["projected_ms"].as_f64().unwrap() - per_slot * 8192.0).abs() < 1e-6 * per_slot * 8192.0);
}

#[test]
fn bench_step_times_steps_at_hetals_mnist_shape_on_plain() {
    let r = run_json(&["bench", "step", "--backend", "plain", "--steps", "3"]);
    assert_eq!(
        (r["kind"].as_str(), r["method"].as_str(), r["backend"].as_str()),
        (Some("measured"), Some("blindtuner"), Some("plain"))
    );
    assert_eq!(
        (r["rows"].as_u64(), r["cols"].as_u64(), r["classes"].as_u64()),
        (Some(1024), Some(769), Some(10))
    );
    assert_eq!(r["block"], "1024 x 32");
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for s in steps {
        // HETAL's MNIST step: the bar its table sets is what these counts are compared with.
        assert_eq!(s["ops"]["mul"].as_f64(), Some(906.0), "{s}");
        assert_eq!(s["ops"]["relinearizations"].as_f64(), Some(222.0), "{s}");
        assert_eq!(s["ops"]["rotations"].as_f64(), Some(837.0), "{s}");
        // 7 with 9 levels between bootstraps: 6 in the softmax, each round of the max, the exp
        // and the inverse filling one refresh, and `P - Y`, which the weights join (paired)
        // when they run short.
        let refreshes = s["ops"]["refreshes"].as_f64().unwrap();
        assert_eq!(refreshes, 7.0, "{refreshes} bootstraps in a step");
        let refreshed = s["ops"]["refreshed_ciphertexts"].as_f64().unwrap();
        assert!(
            (7.0..=8.0).contains(&refreshed),
            "{refreshed} ciphertexts refreshed in a step"
        );
        let phases: f64 = ["matmul_s", "softmax_s", "update_s", "refresh_s"]
            .iter()
            .map(|k| s[k].as_f64().unwrap())
            .sum();
        assert!(phases <= s["total_s"].as_f64().unwrap() + 1e-3, "{s}");
    }
    assert!(r["median_step_s"].as_f64().unwrap() > 0.0);
    assert!(r["rotation_keys"].as_u64().unwrap() > 0);
}

#[test]
fn bench_step_times_the_hetal_baseline_on_plain() {
    let r = run_json(&[
        "bench",
        "step",
        "--backend",
        "plain",
        "--steps",
        "3",
        "--method",
        "hetal",
    ]);
    assert_eq!(
        (r["method"].as_str(), r["block"].as_str()),
        (Some("hetal"), Some("1024 x 32"))
    );
    let steps = r["steps"].as_array().unwrap();
    let refreshes: Vec<f64> = steps.iter().map(|s| s["ops"]["refreshes"].as_f64().unwrap()).collect();
    for s in steps {
        // BlindTuner's products without packing the weights: two more products (the momentum
        // on 25 blocks instead of 1 is scalar), 198 fewer rotations than BlindTuner's 837.
        assert_eq!(s["ops"]["mul"].as_f64(), Some(916.0), "{s}");
        assert_eq!(s["ops"]["rotations"].as_f64(), Some(639.0), "{s}");
        // HETAL's policy: one ciphertext per refresh.
        assert_eq!(s["ops"]["refreshes"], s["ops"]["refreshed_ciphertexts"], "{s}");
    }
    // 11 for HETAL's softmax (76 levels, its max rounds 10 levels each) and `P - Y`, and the 25
    // tiled weight blocks when they run short: against BlindTuner's 8.
    assert_eq!(refreshes[0], 36.0, "{refreshes:?}");
    assert!(refreshes.iter().all(|&r| r >= 11.0), "{refreshes:?}");
}

#[test]
fn bench_step_refuses_what_it_cannot_time() {
    let o = blindtuner(&["bench", "step", "--params", "toy-n12", "--quiet"]);
    assert_one_line_error(&o, &["cannot bootstrap"]);
    let o = blindtuner(&["bench", "step", "--backend", "plain", "--classes", "1", "--quiet"]);
    assert_one_line_error(&o, &["two classes"]);
    let o = blindtuner(&["bench", "step", "--backend", "plain", "--rows", "5000", "--quiet"]);
    assert_one_line_error(&o, &["batch of 5000"]);
}

#[test]
fn bench_ops_bootstraps_only_where_a_bootstrappable_set_exists() {
    let o = blindtuner(&["bench", "ops", "--config", "n14", "--bootstrap", "--quiet"]);
    assert_one_line_error(&o, &["bootstrappable", "n16"]);
}

#[test]
fn blindtuner_on_plain_reports_the_gaps_to_exact() {
    let r = run_json(&[
        "train",
        "--method",
        "blindtuner",
        "--backend",
        "plain",
        "--dataset",
        "digits",
        "--epochs",
        "4",
    ]);
    assert_eq!(r["method"], "blindtuner");
    assert_eq!(r["backend"], "plain");
    let e = &r["encrypted"];
    assert_eq!(e["slots"], 32768);
    assert_eq!(e["levels"], 9);
    assert_eq!(e["refresh"], "bootstrap");
    assert_eq!(e["block"], "128 x 256");
    assert_eq!(e["security"], "none (not encrypted)");
    // On plain, the run is the approximate-plain run itself.
    assert_eq!(r["accuracy"]["test"], e["approximate_plain"]["test"]);
    let (approx, exact) = (
        e["approximate_plain"]["test"].as_f64().unwrap(),
        e["exact"]["test"].as_f64().unwrap(),
    );
    assert!(
        approx > 0.85 && (approx - exact).abs() < 0.03,
        "{approx} against {exact}"
    );
    let per_step = &e["ops_per_step"];
    assert!(per_step["mul"].as_f64().unwrap() > 100.0);
    // 6 in the softmax (55 levels at 9 a refresh), `P - Y`, the weights now and then.
    let refreshes = per_step["refreshes"].as_f64().unwrap();
    assert!((6.0..=8.5).contains(&refreshes), "{per_step}");
    let curve = r["loss_curve"]["epochs"].as_array().unwrap();
    assert_eq!(curve.len(), 4);
    assert!(curve[3]["val_loss"].as_f64().unwrap() < curve[0]["val_loss"].as_f64().unwrap());
    assert!(curve[0]["train_loss"].is_null());
    for phase in [
        "keygen",
        "encrypt",
        "train.softmax",
        "train.matmul",
        "train.refresh",
        "train.validation",
        "exact_run",
    ] {
        assert!(r["time"]["phases"][phase].is_number(), "missing phase {phase}");
    }
}

#[test]
fn the_hetal_baseline_on_plain_reports_the_gaps_to_exact() {
    let r = run_json(&[
        "train",
        "--method",
        "hetal",
        "--backend",
        "plain",
        "--dataset",
        "digits",
        "--epochs",
        "2",
    ]);
    assert_eq!(
        (r["method"].as_str(), r["backend"].as_str()),
        (Some("hetal"), Some("plain"))
    );
    let e = &r["encrypted"];
    let (approx, exact) = (
        e["approximate_plain"]["test"].as_f64().unwrap(),
        e["exact"]["test"].as_f64().unwrap(),
    );
    assert!(
        approx > 0.8 && (approx - exact).abs() < 0.05,
        "{approx} against {exact}"
    );
    // HETAL's softmax alone takes more refreshes than BlindTuner's whole step (7 to 9.5).
    let per_step = &e["ops_per_step"];
    let refreshes = per_step["refreshes"].as_f64().unwrap();
    assert!(refreshes >= 10.0, "{per_step}");
    assert_eq!(per_step["refreshes"], per_step["refreshed_ciphertexts"], "{per_step}");
}

#[test]
fn bad_encrypted_settings_are_one_line_errors() {
    let base = ["train", "--method", "blindtuner", "--dataset", "digits", "--quiet"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        blindtuner(&args)
    };
    assert_one_line_error(&with(&["--backend", "native", "--params", "n99"]), &["n99"]);
    // The toy bootstrapping set has two work levels: too few for the forward pass.
    assert_one_line_error(
        &with(&["--backend", "plain", "--params", "boot-toy-n12", "--batch", "32"]),
        &["levels"],
    );
    // Without bootstrapping, --refresh bootstrap is refused and names the alternative.
    assert_one_line_error(
        &with(&[
            "--backend",
            "native",
            "--params",
            "toy-n12",
            "--batch",
            "32",
            "--refresh",
            "bootstrap",
        ]),
        &["--refresh client"],
    );
    assert_one_line_error(&with(&["--backend", "plain", "--weight-scale", "0"]), &["weight scale"]);
    assert_one_line_error(&with(&["--backend", "plain", "--batch", "4096"]), &["batch"]);
    // Ten classes need rows of two periods of 16.
    assert_one_line_error(
        &with(&["--backend", "plain", "--params", "boot-toy-n12"]),
        &["two periods"],
    );
}

/// A synthetic MNIST of 80 training and 20 test 28x28 digits (HETAL's split: 70 / 10 / 20):
/// digit `d` is a bright bar on rows `2d..2d + 3`.
fn write_synthetic_mnist(dir: &Path) {
    use blindtuner_datasets::idx::encode_idx;
    let write = |prefix: &str, n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let bar = |d: u8, p: usize| (2 * d as usize..2 * d as usize + 3).contains(&(p / 28));
        let pixels: Vec<u8> = labels
            .iter()
            .flat_map(|&d| (0..28 * 28).map(move |p| if bar(d, p) { 250 } else { (p % 7) as u8 }))
            .collect();
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            encode_idx(&[n, 28, 28], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            encode_idx(&[n], &labels),
        )
        .unwrap();
    };
    write("train", 80);
    write("t10k", 20);
}

/// A synthetic MNIST directory and an empty feature cache.
fn synthetic_mnist_and_cache() -> (tempfile::TempDir, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    write_synthetic_mnist(data.path());
    (data, tempfile::tempdir().unwrap())
}

/// The committed tiny random DeiT (hidden size 32): `deit` takes a DeiT checkpoint of any size.
fn tiny_deit() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vision/fixtures/deit")
        .display()
        .to_string()
}

#[test]
fn features_are_extracted_once_and_train_reads_them_from_the_cache() {
    let (data, cache) = synthetic_mnist_and_cache();
    let (d, c, weights) = (
        data.path().to_str().unwrap(),
        cache.path().to_str().unwrap(),
        tiny_deit(),
    );
    let features = |extra: &[&str]| {
        let mut args = vec![
            "features",
            "--dataset",
            "mnist",
            "--data-dir",
            d,
            "--extractor",
            "deit",
            "--weights",
            &weights,
            "--cache",
            c,
        ];
        args.extend(extra);
        run_json(&args)
    };
    let splits = |r: &Value| -> Vec<(String, u64, bool)> {
        r["splits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let path = s["cache_path"].as_str().unwrap();
                assert!(Path::new(path).is_file() && path.starts_with(c), "{path}");
                let fresh_rate = s["images_per_second"].as_f64().is_some_and(|v| v > 0.0);
                assert_eq!(fresh_rate, s["from_cache"] == false, "{s}");
                (
                    s["split"].as_str().unwrap().into(),
                    s["count"].as_u64().unwrap(),
                    s["from_cache"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let first = features(&["--batch", "8", "--threads", "2"]);
    assert_eq!(
        (first["dataset"].as_str(), first["extractor"].as_str()),
        (Some("mnist"), Some("deit"))
    );
    assert_eq!((first["dim"].as_u64(), first["classes"].as_u64()), (Some(32), Some(10)));
    assert_eq!((first["batch"].as_u64(), first["threads"].as_u64()), (Some(8), Some(2)));
    assert_eq!(first["measured"], true);
    assert!(first["machine"]["cpu"].is_string() && first["git_commit"].is_string());
    let hash = first["weights_hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16);
    let expected = |from_cache| {
        [("train", 70), ("val", 10), ("test", 20)]
            .map(|(s, n)| (s.to_string(), n, from_cache))
            .to_vec()
    };
    assert_eq!(splits(&first), expected(false));

    let train = |cache: &str, method: &[&str]| {
        let mut args = vec![
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            d,
            "--features",
            "deit",
            "--weights",
            &weights,
            "--cache",
            cache,
            "--epochs",
            "1",
        ];
        args.extend(method);
        run_json(&args)
    };
    let plain = [
        "--method",
        "blindtuner",
        "--backend",
        "plain",
        "--batch",
        "32",
        "--patience",
        "0",
        "--train-limit",
        "64",
    ];
    let r = train(c, &plain);
    assert_eq!(r["features"]["extractor"], format!("deit@{hash}"));
    assert_eq!(
        (r["features"]["dim"].as_u64(), r["features"]["from_cache"].as_bool()),
        (Some(32), Some(true))
    );
    assert_eq!(
        (r["n_train"].as_u64(), r["n_val"].as_u64(), r["n_test"].as_u64()),
        (Some(64), Some(10), Some(20))
    );
    for split in ["train", "val", "test"] {
        assert!(r["accuracy"][split].is_number(), "{split}");
        assert!(r["encrypted"]["exact"][split].is_number(), "{split}");
    }
    assert_eq!(splits(&features(&[])), expected(true));

    // With the cache emptied, train extracts and stores the splits itself.
    let fresh = tempfile::tempdir().unwrap();
    let r = train(fresh.path().to_str().unwrap(), &["--method", "exact"]);
    assert_eq!(r["features"]["from_cache"], false);
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 3);
}

#[test]
fn bad_feature_settings_are_one_line_errors() {
    let (data, cache) = synthetic_mnist_and_cache();
    let (d, c, weights) = (
        data.path().to_str().unwrap(),
        cache.path().to_str().unwrap(),
        tiny_deit(),
    );
    let features = |extractor: &str, weights: &str, data_dir: &str, cache: &str| {
        blindtuner(&[
            "features",
            "--dataset",
            "mnist",
            "--data-dir",
            data_dir,
            "--extractor",
            extractor,
            "--weights",
            weights,
            "--cache",
            cache,
            "--quiet",
        ])
    };
    // The named sizes check the checkpoint.
    assert_one_line_error(
        &features("deit-small", &weights, d, c),
        &["config.json", "hidden_size 32 but deit-small has 384"],
    );
    assert_one_line_error(
        &features("deit", "no/such/model", d, c),
        &["no/such/model", "no such file"],
    );
    let empty = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &features("deit", &weights, empty.path().to_str().unwrap(), c),
        &["train-images-idx3-ubyte"],
    );
    let not_a_dir = cache.path().join("file");
    std::fs::write(&not_a_dir, b"").unwrap();
    assert_one_line_error(
        &features("deit", &weights, d, not_a_dir.to_str().unwrap()),
        &["file", "cannot write the feature cache"],
    );
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        1,
        "nothing cached after errors"
    );
    // The argument parser refuses a malformed hub name, in its own words.
    let o = features("deit", "hf:facebook", d, c);
    assert!(!o.status.success() && stderr(&o).starts_with("error: ") && stderr(&o).contains("hf:owner/name"));
    if !cfg!(feature = "hub") {
        assert_one_line_error(
            &features("deit", "hf:facebook/deit-small-patch16-224", d, c),
            &["hf:facebook/deit-small-patch16-224", "--features hub"],
        );
    }
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--method",
            "exact",
            "--dataset",
            "mnist",
            "--data-dir",
            d,
            "--quiet",
        ];
        args.extend(extra);
        blindtuner(&args)
    };
    assert_one_line_error(
        &train(&["--features", "deit-tiny"]),
        &["--features deit-tiny", "--weights"],
    );
    assert_one_line_error(&train(&["--weights", &weights]), &["--weights", "pixels"]);
    let o = train(&["--features", "deit-huge"]);
    assert!(
        !o.status.success() && stderr(&o).contains("deit-tiny, deit-small"),
        "{}",
        stderr(&o)
    );
}
