//! The backend trait's hot operations as criterion benchmarks, shared by the backends' benches
//! (`#[path]`-included by `seal/benches/seal.rs` and `tfhe/benches/tfhe.rs`): each times the
//! trait's calls on fresh encryptions, what the training pays per call. Names follow the peer
//! script's operations (`benches/peers/`); `hoisted_rotate_8` is the trait's `rotate_many`.

use std::hint::black_box;

use blindtuner_backend::{Backend, Client, Cloud};
use criterion::BenchmarkGroup;
use criterion::BenchmarkId;
use criterion::measurement::WallTime;

/// Rotation steps keyed for the benchmark, those of `hoisted_rotate_8`.
pub const STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

/// Times encryption, decryption, addition, both products and the rotations of `backend` in
/// `group`, each under the benchmark id `(op, label)`.
pub fn trait_operations<B: Backend>(g: &mut BenchmarkGroup<'_, WallTime>, backend: &B, label: &str) {
    let slots = backend.capabilities().slots;
    let (mut client, cloud) = backend.keygen(&STEPS).unwrap();
    let values = |seed: f64| -> Vec<f64> { (0..slots).map(|i| (i as f64 * seed).sin()).collect() };
    let (x, y) = (values(0.1), values(0.7));
    let (a, b) = (client.encrypt(&x).unwrap(), client.encrypt(&y).unwrap());
    let id = |op: &str| BenchmarkId::new(op, label);
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
}
