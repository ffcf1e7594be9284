//! Loading errors are one line naming the file and, where it applies, the tensor or setting.

use blindtuner_vision::{Family, Kind, VisionError, VitExtractor};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(model)
}

/// A copy of the `deit` fixture whose tensors and config `edit` may change.
fn edited(
    edit_tensors: impl FnOnce(&mut HashMap<String, Tensor>),
    edit_config: impl FnOnce(&mut serde_json::Value),
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = candle_core::safetensors::load(fixture("deit").join("model.safetensors"), &Device::Cpu).unwrap();
    edit_tensors(&mut tensors);
    candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("deit").join("config.json")).unwrap()).unwrap();
    edit_config(&mut config);
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

fn load_error(path: &Path) -> String {
    let err = VitExtractor::load_family(Family::Deit, "deit", path)
        .err()
        .expect("loading should fail");
    let msg = err.to_string();
    assert_eq!(msg.lines().count(), 1, "{msg}");
    msg
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let msg = load_error(dir.path());
    assert!(msg.contains("config.json") && msg.contains("no such file"), "{msg}");
    std::fs::copy(fixture("deit").join("config.json"), dir.path().join("config.json")).unwrap();
    let msg = load_error(dir.path());
    assert!(
        msg.contains("model.safetensors") && msg.contains("no such file"),
        "{msg}"
    );
    // A path that does not exist is named as given; a file path finds the config beside it.
    let msg = load_error(&dir.path().join("other.safetensors"));
    assert!(msg.contains("other.safetensors: no such file"), "{msg}");
    std::fs::write(dir.path().join("other.safetensors"), b"").unwrap();
    let msg = load_error(&dir.path().join("other.safetensors"));
    assert!(msg.contains("other.safetensors"), "{msg}");
    std::fs::write(dir.path().join("model.safetensors"), b"not safetensors").unwrap();
    let msg = load_error(dir.path());
    assert!(msg.contains("model.safetensors"), "{msg}");
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let dir = edited(
        |t| drop(t.remove("vit.encoder.layer.1.intermediate.dense.bias")),
        |_| {},
    );
    let msg = load_error(dir.path());
    assert!(
        msg.contains("model.safetensors")
            && msg.contains("missing tensor `vit.encoder.layer.1.intermediate.dense.bias`"),
        "{msg}"
    );
    let dir = edited(
        |t| {
            let w = Tensor::zeros((32, 33), candle_core::DType::F32, &Device::Cpu).unwrap();
            t.insert("vit.encoder.layer.0.attention.attention.key.weight".into(), w);
        },
        |_| {},
    );
    let msg = load_error(dir.path());
    assert!(
        msg.contains("`vit.encoder.layer.0.attention.attention.key.weight` has shape [32, 33], expected [32, 32]"),
        "{msg}"
    );
    let dir = edited(|t| t.retain(|k, _| !k.contains("cls_token")), |_| {});
    assert!(load_error(dir.path()).contains("missing tensor `embeddings.cls_token"));
    // A plain checkpoint is not a distilled one.
    let err = VitExtractor::load_family(Family::DeitDistilled, "d", &fixture("deit"))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("missing tensor `vit.embeddings.distillation_token`"),
        "{err}"
    );
}

#[test]
fn unsupported_configs_are_refused() {
    for (key, value, needle) in [
        ("hidden_act", serde_json::json!("relu"), "hidden_act `relu`"),
        ("image_size", serde_json::json!(384), "image_size 384"),
        ("patch_size", serde_json::json!(15), "patch_size 15"),
        ("num_attention_heads", serde_json::json!(5), "num_attention_heads 5"),
    ] {
        let dir = edited(|_| {}, |c| c[key] = value);
        let msg = load_error(dir.path());
        assert!(
            msg.contains("config.json: unsupported config") && msg.contains(needle),
            "{msg}"
        );
    }
    let dir = edited(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("hidden_size")));
    assert!(load_error(dir.path()).contains("hidden_size"));
    // The named extractors check the hidden size.
    let err = VitExtractor::load("deit-small".parse().unwrap(), &fixture("deit"))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("hidden_size 32 but deit-small has 384"),
        "{err}"
    );
}

#[test]
fn kinds_parse_and_print() {
    for name in Kind::ALL {
        assert_eq!(name.parse::<Kind>().unwrap().to_string(), name);
    }
    let any_deit: Kind = "deit".parse().unwrap();
    assert_eq!((any_deit.family, any_deit.hidden_size), (Family::Deit, None));
    for bad in [
        "deit-huge",
        "vit-small",
        "vit-tiny",
        "vit-distilled",
        "deit-base-distilled-x",
        "deit--distilled",
    ] {
        assert!(matches!(bad.parse::<Kind>(), Err(VisionError::UnknownKind(_))), "{bad}");
    }
}
