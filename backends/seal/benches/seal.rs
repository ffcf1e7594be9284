//! The SEAL backend's hot operations through the backend trait, at `seal-n14` (128-bit, 9
//! limbs) and at the peers' N = 2^16 shape (`seal-peer-n16`, 13 limbs), on fresh encryptions at
//! the top level: what the training pays per call, relinearisation and rescaling included.
//! Groups are named like the peer script's operations (`benches/peers/`); SEAL has no hoisted
//! rotations, so `hoisted_rotate_8` is the trait's `rotate_many` (eight rotations).
//!
//! Run with `cargo bench -p blindtuner-seal --features seal` (SEAL is single-threaded).

use std::hint::black_box;

use blindtuner_backend::{Backend, Client, Cloud};
use blindtuner_seal::SealBackend;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Rotation steps keyed for the benchmark, those of `hoisted_rotate_8`.
const STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn operations(c: &mut Criterion) {
    for name in ["seal-n14", "seal-peer-n16"] {
        let backend = SealBackend::named(name).unwrap();
        let caps = backend.capabilities();
        let (mut client, cloud) = backend.keygen(&STEPS).unwrap();
        let values = |seed: f64| -> Vec<f64> { (0..caps.slots).map(|i| (i as f64 * seed).sin()).collect() };
        let (x, y) = (values(0.1), values(0.7));
        let (a, b) = (client.encrypt(&x).unwrap(), client.encrypt(&y).unwrap());
        let mut g = c.benchmark_group(format!("seal_{name}"));
        g.sample_size(10);
        let id = |op: &str| BenchmarkId::new(op, format!("{} limbs", backend.literal().levels + 1));
        g.bench_function(id("encode_encrypt"), |bench| {
            bench.iter(|| client.encrypt(black_box(&x)).unwrap())
        });
        g.bench_function(id("decrypt_decode"), |bench| {
            bench.iter(|| client.decrypt(black_box(&a)).unwrap())
        });
        g.bench_function(id("add"), |bench| bench.iter(|| cloud.add(black_box(&a), &b).unwrap()));
        g.bench_function(id("mul_plain_rescale"), |bench| {
            bench.iter(|| cloud.mul_plain(black_box(&a), &y).unwrap())
        });
        g.bench_function(id("mul_relin_rescale"), |bench| {
            bench.iter(|| cloud.mul(black_box(&a), &b).unwrap())
        });
        g.bench_function(id("rotate_1"), |bench| {
            bench.iter(|| cloud.rotate(black_box(&a), 1).unwrap())
        });
        g.bench_function(id("hoisted_rotate_8"), |bench| {
            bench.iter(|| cloud.rotate_many(black_box(&a), &STEPS).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, operations);
criterion_main!(benches);
