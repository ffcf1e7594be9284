//! DeiT-small feature extraction throughput: a batch of 16 images on 2 threads, in images per
//! second (`thrpt`). The weights are random (real ones cannot be downloaded where this runs):
//! the work per image depends on the shapes alone, which are DeiT-small's (hidden 384, 12
//! layers, 6 heads, MLP 1,536, patch 16, 224 x 224). The images are 32 x 32 RGB, as CIFAR-10's,
//! so the time includes the preprocessing (bicubic resize to 256, crop to 224).

use blindtuner_datasets::Images;
use blindtuner_features::FeatureExtractor;
use blindtuner_vision::VitExtractor;
use candle_core::{DType, Device, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const HIDDEN: usize = 384;
const LAYERS: usize = 12;
const HEADS: usize = 6;
const MLP: usize = 4 * HIDDEN;
const PATCH: usize = 16;
const TOKENS: usize = (224 / PATCH) * (224 / PATCH) + 1;
const IMAGES: usize = 16;
const THREADS: usize = 2;

/// Writes a DeiT-small checkpoint with random weights (layer norms the identity) to `dir`.
fn write_random_deit_small(dir: &Path) {
    let dev = Device::Cpu;
    let random = |shape: &[usize]| Tensor::randn(0f32, 0.02, shape, &dev).unwrap();
    let mut tensors = HashMap::new();
    let mut linear = |name: String, out: usize, inp: usize| {
        tensors.insert(format!("{name}.weight"), random(&[out, inp]));
        tensors.insert(format!("{name}.bias"), random(&[out]));
    };
    for i in 0..LAYERS {
        let l = format!("encoder.layer.{i}");
        for part in ["query", "key", "value"] {
            linear(format!("{l}.attention.attention.{part}"), HIDDEN, HIDDEN);
        }
        linear(format!("{l}.attention.output.dense"), HIDDEN, HIDDEN);
        linear(format!("{l}.intermediate.dense"), MLP, HIDDEN);
        linear(format!("{l}.output.dense"), HIDDEN, MLP);
    }
    let norms = (0..LAYERS)
        .flat_map(|i| ["layernorm_before", "layernorm_after"].map(|n| format!("encoder.layer.{i}.{n}")))
        .chain(["layernorm".to_string()]);
    for norm in norms {
        tensors.insert(
            format!("{norm}.weight"),
            Tensor::ones(HIDDEN, DType::F32, &dev).unwrap(),
        );
        tensors.insert(format!("{norm}.bias"), Tensor::zeros(HIDDEN, DType::F32, &dev).unwrap());
    }
    tensors.insert("embeddings.cls_token".into(), random(&[1, 1, HIDDEN]));
    tensors.insert("embeddings.position_embeddings".into(), random(&[1, TOKENS, HIDDEN]));
    tensors.insert(
        "embeddings.patch_embeddings.projection.weight".into(),
        random(&[HIDDEN, 3, PATCH, PATCH]),
    );
    tensors.insert("embeddings.patch_embeddings.projection.bias".into(), random(&[HIDDEN]));
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    let config = serde_json::json!({
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": MLP,
        "image_size": 224,
        "patch_size": PATCH,
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

fn extract(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_random_deit_small(dir.path());
    let mut extractor = VitExtractor::load("deit-small".parse().unwrap(), dir.path())
        .unwrap()
        .with_threads(THREADS)
        .unwrap();
    extractor.batch = IMAGES;
    let images = Images {
        count: IMAGES,
        height: 32,
        width: 32,
        channels: 3,
        max_value: 255,
        pixels: (0..IMAGES * 32 * 32 * 3).map(|i| (i * 131 % 251) as u8).collect(),
    };
    let mut group = c.benchmark_group("extract");
    // About 1.2 s an iteration here: ten samples need more than criterion's default 5 s.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(IMAGES as u64));
    group.bench_function(format!("deit-small, {IMAGES} images, {THREADS} threads"), |b| {
        b.iter(|| extractor.extract(&images).unwrap())
    });
    group.finish();
}

criterion_group!(benches, extract);
criterion_main!(benches);
