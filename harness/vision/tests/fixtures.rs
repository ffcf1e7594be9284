//! The Rust extractors against Hugging Face `transformers` on the tiny random checkpoints of
//! `fixtures/generate.py`: preprocessing, encoder and the whole extractor separately, so a
//! preprocessing mismatch and a model mismatch can be told apart.

use blindtuner_datasets::Images;
use blindtuner_features::FeatureExtractor;
use blindtuner_vision::{Family, Preprocess, VitExtractor};
use candle_core::{Device, Tensor};
use flate2::read::GzDecoder;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read_u8(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap()
}

const IMAGES: [&str; 3] = ["rgb30x40", "grey28", "rgb260x300"];
const MODELS: [(&str, Family); 3] = [
    ("deit", Family::Deit),
    ("deit-distilled", Family::DeitDistilled),
    ("vit", Family::Vit),
];

fn image(name: &str) -> Images {
    let shape: Vec<usize> = expected()["images"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    Images {
        count: 1,
        height: shape[0],
        width: shape[1],
        channels: shape[2],
        max_value: 255,
        pixels: read_u8(&fixtures().join("images").join(format!("{name}.u8.gz"))),
    }
}

/// The processor's pixel tensor, rebuilt from its stored (delta-coded) u8 image.
fn reference_pixels(family: &str, name: &str, p: &Preprocess) -> Vec<f32> {
    let deltas = read_u8(&fixtures().join("pixels").join(format!("{family}-{name}.u8.gz")));
    let plane = 224 * 224;
    let mut v = 0u8;
    deltas
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            v = v.wrapping_add(d);
            (v as f32 / 255.0 - p.mean[i / plane]) / p.std[i / plane]
        })
        .collect()
}

fn reference_features(model: &str, name: &str) -> Vec<f64> {
    expected()["models"][model]["features"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// `max |a - b| / max |b|`.
fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    diff / b.iter().map(|y| y.abs()).fold(0.0, f64::max)
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Vit => "vit",
        _ => "deit",
    }
}

#[test]
fn preprocessing_matches_the_processors_pixels() {
    for family in [Family::Deit, Family::Vit] {
        let p = family.preprocess();
        for name in IMAGES {
            let ours = p.apply(&image(name), 0);
            let theirs = reference_pixels(family_name(family), name, &p);
            let err = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            // Pillow's fixed-point resampling is reproduced bit for bit: only f32 rounding remains.
            assert!(err < 1e-5, "{family:?} {name}: max pixel difference {err}");
        }
    }
}

#[test]
fn encoder_matches_transformers_on_the_reference_pixels() {
    for (model, family) in MODELS {
        let ex = VitExtractor::load_family(family, model, &fixtures().join(model)).unwrap();
        for name in IMAGES {
            let pixels = reference_pixels(family_name(family), name, ex.preprocess());
            let x = Tensor::from_vec(pixels, (1, 3, 224, 224), &Device::Cpu).unwrap();
            let cls = ex
                .encoder()
                .cls(&x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let cls: Vec<f64> = cls.into_iter().map(f64::from).collect();
            let err = relative_error(&cls, &reference_features(model, name));
            assert!(err < 1e-4, "{model} {name}: relative error {err:e}");
        }
    }
}

#[test]
fn extractors_match_transformers_end_to_end_in_batches() {
    for (model, family) in MODELS {
        let mut ex = VitExtractor::load_family(family, model, &fixtures().join(model)).unwrap();
        ex.batch = 2;
        assert_eq!(ex.dim(), 32);
        // The 30 x 40 image twice plus the grey one: a full batch and a partial one.
        let rgb = image("rgb30x40");
        let mut images = rgb.clone();
        images.count = 2;
        images.pixels.extend_from_slice(&rgb.pixels);
        let mut done = Vec::new();
        let x = ex.extract_with_progress(&images, &mut |n| done.push(n)).unwrap();
        assert_eq!(done, [2]);
        assert_eq!((x.rows, x.cols), (2, 32));
        for i in 0..2 {
            let err = relative_error(x.row(i), &reference_features(model, "rgb30x40"));
            assert!(err < 1e-4, "{model}: relative error {err:e}");
        }
        for name in ["grey28", "rgb260x300"] {
            let x = ex.extract(&image(name)).unwrap();
            let err = relative_error(x.row(0), &reference_features(model, name));
            assert!(err < 1e-4, "{model} {name}: relative error {err:e}");
        }
    }
}
