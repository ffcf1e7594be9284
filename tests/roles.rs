//! The client and cloud roles as separate processes (`client encrypt`, `cloud train`,
//! `client judge`, `client decrypt`): the model they produce is `train`'s, the cloud never holds
//! the secret, and a bad upload stops the cloud with one line before any work, its inputs
//! untouched.

mod common;

use common::{assert_one_line_error, blindtuner, run_json, stderr};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The client's data and hyperparameters of the plain runs: digits, two epochs with early
/// stopping (so the roles alternate), batches of 128.
const PLAIN_RUN: [&str; 10] = [
    "--backend",
    "plain",
    "--dataset",
    "digits",
    "--epochs",
    "2",
    "--patience",
    "1",
    "--train-limit",
    "512",
];

/// The exchange and client directories of one upload.
struct Upload {
    _root: tempfile::TempDir,
    exchange: PathBuf,
    client: PathBuf,
}

impl Upload {
    fn exchange(&self) -> &str {
        self.exchange.to_str().unwrap()
    }

    fn client(&self) -> &str {
        self.client.to_str().unwrap()
    }
}

/// The arguments of `client encrypt` into `exchange` and `client` with `run`'s settings.
fn encrypt_args<'a>(exchange: &'a Path, client: &'a Path, run: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "client",
        "encrypt",
        "--exchange",
        exchange.to_str().unwrap(),
        "--client-dir",
        client.to_str().unwrap(),
    ];
    args.extend_from_slice(run);
    args
}

/// `client encrypt` with `run`'s settings; its JSON report.
fn encrypt(run: &[&str]) -> (Upload, Value) {
    let root = tempfile::tempdir().unwrap();
    let (exchange, client) = (root.path().join("exchange"), root.path().join("client"));
    let report = run_json(&encrypt_args(&exchange, &client, run));
    let upload = Upload {
        _root: root,
        exchange,
        client,
    };
    (upload, report)
}

/// `cloud train` on the exchange alone; its JSON report.
fn cloud_train(u: &Upload) -> Value {
    run_json(&["cloud", "train", "--exchange", u.exchange()])
}

/// Alternates `cloud train` and `client judge` until the cloud finishes; the cloud's reports.
fn train_to_the_end(u: &Upload) -> Vec<Value> {
    let mut reports = vec![cloud_train(u)];
    while reports.last().unwrap()["status"] == "awaiting_verdict" {
        let verdict = run_json(&[
            "client",
            "judge",
            "--exchange",
            u.exchange(),
            "--client-dir",
            u.client(),
        ]);
        assert_eq!(verdict["epoch"], reports.last().unwrap()["epochs_run"]);
        reports.push(cloud_train(u));
        assert!(reports.len() < 10, "the roles never finish");
    }
    reports
}

fn decrypt(u: &Upload, weights: &Path) -> Value {
    run_json(&[
        "client",
        "decrypt",
        "--exchange",
        u.exchange(),
        "--client-dir",
        u.client(),
        "--save-weights",
        weights.to_str().unwrap(),
    ])
}

/// `train --method blindtuner` with `run`'s settings: its report and weights.
fn train_in_one_process(run: &[&str], weights: &Path) -> Value {
    let mut args = vec!["train", "--save-weights", weights.to_str().unwrap()];
    args.extend_from_slice(run);
    run_json(&args)
}

fn weights(path: &Path) -> Vec<f64> {
    let w: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    w["weights"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn roles_alternate_with_early_stopping_and_give_trains_model() {
    let (upload, report) = encrypt(&PLAIN_RUN);
    assert_eq!(report["role"], "client encrypt");
    assert_eq!(report["train_batches"], 4);
    assert!(report["upload_bytes"].as_u64().unwrap() > 0);

    let reports = train_to_the_end(&upload);
    // One call per epoch with a verdict to wait for, then one that applies the last verdict.
    let status: Vec<&str> = reports.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["awaiting_verdict", "awaiting_verdict", "finished"]);
    let last = reports.last().unwrap();
    assert_eq!(last["epochs_run"], 2);
    assert_eq!(last["steps"], 8);
    assert_eq!(last["steps_this_call"], 0);
    assert!(last["ops_per_step"]["refreshes"].as_f64().unwrap() > 5.0, "{last}");

    let dir = tempfile::tempdir().unwrap();
    let (from_roles, from_train) = (dir.path().join("roles.json"), dir.path().join("train.json"));
    let decrypted = decrypt(&upload, &from_roles);
    let trained = train_in_one_process(&PLAIN_RUN, &from_train);
    // Plain is deterministic: the same model, the same accuracy.
    assert_eq!(max_abs_diff(&weights(&from_roles), &weights(&from_train)), 0.0);
    assert_eq!(decrypted["accuracy"], trained["accuracy"]);
    assert_eq!(decrypted["best_epoch"], trained["best_epoch"]);

    // A second call after the end changes nothing.
    let again = cloud_train(&upload);
    assert_eq!(again["status"], "finished");
    assert_eq!(again["steps_this_call"], 0);
}

#[test]
fn the_hetal_baseline_through_the_roles_gives_trains_model() {
    let run: Vec<&str> = PLAIN_RUN.iter().copied().chain(["--method", "hetal"]).collect();
    let (upload, report) = encrypt(&run);
    assert_eq!(report["method"], "hetal");
    let plan: Value = serde_json::from_slice(&std::fs::read(upload.exchange.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["method"], "hetal");
    let reports = train_to_the_end(&upload);
    let last = reports.last().unwrap();
    assert_eq!(
        (last["method"].as_str(), last["steps"].as_u64()),
        (Some("hetal"), Some(8))
    );
    // HETAL's policy: one ciphertext per refresh.
    assert_eq!(
        last["ops_per_step"]["refreshes"],
        last["ops_per_step"]["refreshed_ciphertexts"]
    );

    let dir = tempfile::tempdir().unwrap();
    let (from_roles, from_train) = (dir.path().join("roles.json"), dir.path().join("train.json"));
    let decrypted = decrypt(&upload, &from_roles);
    let trained = train_in_one_process(&run, &from_train);
    assert_eq!(trained["method"], "hetal");
    assert_eq!(max_abs_diff(&weights(&from_roles), &weights(&from_train)), 0.0);
    assert_eq!(decrypted["accuracy"], trained["accuracy"]);
    exact_is_refused_by_client_encrypt(&run);
}

/// `client encrypt` with `--method exact` in place of `run`'s method: one line, nothing written.
fn exact_is_refused_by_client_encrypt(run: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let (exchange, client) = (root.path().join("exchange"), root.path().join("client"));
    let exact: Vec<&str> = run.iter().map(|a| if *a == "hetal" { "exact" } else { a }).collect();
    let o = blindtuner(&encrypt_args(&exchange, &client, &exact));
    assert_one_line_error(&o, &["--method exact", "nothing to upload"]);
    assert!(!exchange.exists());
}

#[test]
fn native_roles_give_trains_model_and_the_cloud_never_sees_the_secret() {
    // Toy bootstrapping with boot-n16's nine work levels, one step of 64 digits.
    let run = [
        "--backend",
        "native",
        "--params",
        "boot-toy-n12-w9",
        "--dataset",
        "digits",
        "--epochs",
        "1",
        "--patience",
        "0",
        "--batch",
        "64",
        "--train-limit",
        "64",
        "--val-limit",
        "64",
        "--features",
        "pixels-pca16-std",
    ];
    let (upload, _) = encrypt(&run);

    // Nothing in the exchange directory carries the secret: no 64-byte window of it appears.
    let secret = std::fs::read(upload.client.join("secret.key")).unwrap();
    let body = &secret[secret.len() / 4..secret.len() * 3 / 4];
    for (name, bytes) in snapshot(&upload.exchange) {
        for window in (0..8).map(|i| &body[i * body.len() / 8..][..64]) {
            assert!(
                !bytes.windows(64).any(|w| w == window),
                "{name} holds part of the secret"
            );
        }
    }
    // The cloud runs with the client directory out of reach.
    let away = upload.client.with_file_name("client-away");
    std::fs::rename(&upload.client, &away).unwrap();
    let reports = train_to_the_end(&upload);
    std::fs::rename(&away, &upload.client).unwrap();
    assert_eq!(reports.len(), 1);
    // 6 in the softmax (55 levels at 9 a refresh), `P - Y`, the weights now and then.
    assert!(reports[0]["ops_per_step"]["refreshes"].as_f64().unwrap() >= 6.0);

    let dir = tempfile::tempdir().unwrap();
    let (from_roles, from_train) = (dir.path().join("roles.json"), dir.path().join("train.json"));
    decrypt(&upload, &from_roles);
    train_in_one_process(&run, &from_train);
    // Independent encryptions: equal within CKKS precision.
    let diff = max_abs_diff(&weights(&from_roles), &weights(&from_train));
    assert!(diff < 2f64.powi(-14), "the models differ by 2^{:.1}", diff.log2());
}

#[test]
fn cloud_train_refuses_bad_uploads_before_any_work_and_leaves_them_alone() {
    let (upload, _) = encrypt(&PLAIN_RUN);
    // Other batches need other rotations: other keys.
    let mut other_run = PLAIN_RUN.to_vec();
    other_run.extend(["--batch", "64"]);
    let (other, _) = encrypt(&other_run);
    let dir = &upload.exchange;
    let pristine = snapshot(dir);
    let cloud = || blindtuner(&["cloud", "train", "--exchange", upload.exchange(), "--quiet"]);
    // Damages `file` with `damage`, checks the one-line error and that nothing else changed or
    // appeared, and restores the file.
    let refused = |file: &str, damage: &dyn Fn(&mut Vec<u8>), needles: &[&str]| {
        let mut bytes = pristine[file].clone();
        damage(&mut bytes);
        std::fs::write(dir.join(file), &bytes).unwrap();
        assert_one_line_error(&cloud(), needles);
        let mut now = snapshot(dir);
        assert_eq!(now.remove(file).unwrap(), bytes, "{file} was altered");
        let mut before = pristine.clone();
        before.remove(file);
        assert_eq!(now, before, "the cloud wrote or altered files");
        std::fs::write(dir.join(file), &pristine[file]).unwrap();
    };

    refused(
        "upload.cts",
        &|b| {
            let mid = b.len() / 2;
            b[mid] ^= 1;
        },
        &["upload.cts", "checksum"],
    );
    refused("upload.cts", &|b| b.truncate(b.len() - 100), &["upload.cts", "bytes"]);
    let other_keys = std::fs::read(other.exchange.join("cloud.keys")).unwrap();
    refused(
        "cloud.keys",
        &|b| *b = other_keys.clone(),
        &["cloud.keys", "not the keys this upload was encrypted for"],
    );
    refused("plan.json", &|b| b.truncate(10), &["plan.json"]);
    // Another parameter set: the keys and upload pass their checksums, their ciphertexts do not.
    let replace = |b: &mut Vec<u8>, from: &str, to: &str| {
        let text = String::from_utf8(std::mem::take(b)).unwrap();
        *b = text.replace(from, to).into_bytes();
    };
    refused(
        "plan.json",
        &|b| replace(b, "\"boot-n16\"", "\"peer-n16\""),
        &["upload.cts", "ciphertext 1", "another slot count or level budget"],
    );
    // A consistent forgery: one flipped byte inside a ciphertext, with the container's checksum
    // and the plan's digest recomputed; the backend's own checksum refuses it.
    let mut forged = pristine["upload.cts"].clone();
    let end = forged.len() - 8;
    forged[end - 100] ^= 1;
    let sum = blindtuner_backend::fnv1a(&forged[..end]).to_le_bytes();
    forged[end..].copy_from_slice(&sum);
    let mut plan: Value = serde_json::from_slice(&pristine["plan.json"]).unwrap();
    plan["upload"]["fnv1a"] = format!("{:016x}", blindtuner_backend::fnv1a(&forged)).into();
    std::fs::write(dir.join("upload.cts"), &forged).unwrap();
    std::fs::write(dir.join("plan.json"), serde_json::to_vec(&plan).unwrap()).unwrap();
    assert_one_line_error(&cloud(), &["upload.cts", "ciphertext", "corrupt or foreign data"]);
    assert_eq!(
        snapshot(dir).keys().collect::<Vec<_>>(),
        pristine.keys().collect::<Vec<_>>(),
        "the cloud wrote files"
    );
    for file in ["upload.cts", "plan.json"] {
        std::fs::write(dir.join(file), &pristine[file]).unwrap();
    }

    std::fs::remove_file(dir.join("cloud.keys")).unwrap();
    assert_one_line_error(&cloud(), &["cloud.keys", "cannot read"]);
    std::fs::write(dir.join("cloud.keys"), &pristine["cloud.keys"]).unwrap();
    assert_one_line_error(
        &blindtuner(&["cloud", "train", "--exchange", "/nonexistent/exchange"]),
        &["no plan.json", "client encrypt"],
    );
    assert_eq!(snapshot(dir), pristine);
}

#[test]
fn each_role_says_what_is_missing_or_mismatched() {
    let (upload, _) = encrypt(&PLAIN_RUN);
    let (other, _) = encrypt(&PLAIN_RUN);
    let (x, c) = (upload.exchange(), upload.client());
    assert_one_line_error(
        &blindtuner(&["client", "judge", "--exchange", x, "--client-dir", c]),
        &["no encrypted validation loss yet", "cloud train"],
    );
    assert_one_line_error(
        &blindtuner(&["client", "decrypt", "--exchange", x, "--client-dir", c]),
        &["model.cts", "no model yet"],
    );
    assert_eq!(cloud_train(&upload)["status"], "awaiting_verdict");
    assert_one_line_error(
        &blindtuner(&["cloud", "train", "--exchange", x]),
        &["waiting for the client's verdict on epoch 1", "client judge"],
    );
    // Another client's secret belongs to other keys.
    assert_one_line_error(
        &blindtuner(&["client", "judge", "--exchange", x, "--client-dir", other.client()]),
        &["secret.key", "other keys"],
    );
    // An exchange or client directory is never overwritten.
    let mut again = vec!["client", "encrypt", "--exchange", x, "--client-dir", other.client()];
    again.extend_from_slice(&PLAIN_RUN);
    assert_one_line_error(&blindtuner(&again), &["already holds an upload"]);
    let fresh = tempfile::tempdir().unwrap();
    let mut client_refresh = vec![
        "client",
        "encrypt",
        "--exchange",
        fresh.path().to_str().unwrap(),
        "--client-dir",
        c,
        "--refresh",
        "client",
    ];
    client_refresh.extend_from_slice(&PLAIN_RUN);
    assert_one_line_error(&blindtuner(&client_refresh), &["--refresh client"]);
    let out = blindtuner(&["client", "judge", "--exchange", x, "--client-dir", c]);
    assert!(out.status.success(), "{}", stderr(&out));
}
