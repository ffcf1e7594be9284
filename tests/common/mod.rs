//! What the end-to-end tests share: running the binary and checking its errors.

use serde_json::Value;
use std::process::{Command, Output};

pub fn blindtuner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blindtuner"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a failed run that printed exactly one error line containing all of `needles`.
pub fn assert_one_line_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, got success: {err}");
    assert!(!err.contains("panicked") && !err.contains("internal error"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "{:?} lacks {n:?}", lines[0]);
    }
}

pub fn run_json(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result.json");
    let mut all = args.to_vec();
    all.extend(["--quiet", "--json", path.to_str().unwrap()]);
    let o = blindtuner(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("valid JSON")
}
