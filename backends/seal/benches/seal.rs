//! The SEAL backend's hot operations through the backend trait, at `seal-n14` (128-bit, 9
//! limbs) and at the peers' N = 2^16 shape (`seal-peer-n16`, 13 limbs), on fresh encryptions at
//! the top level: what the training pays per call, relinearisation and rescaling included.
//! Groups are named like the peer script's operations (`benches/peers/`); SEAL has no hoisted
//! rotations, so `hoisted_rotate_8` is the trait's `rotate_many` (eight rotations). The
//! operations are those of `backends/bench_ops.rs`, shared with the other backends' benches.
//!
//! Run with `cargo bench -p blindtuner-seal --features seal` (SEAL is single-threaded).

#[path = "../../bench_ops.rs"]
mod bench_ops;

use blindtuner_seal::SealBackend;
use criterion::{Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    for name in ["seal-n14", "seal-peer-n16"] {
        let backend = SealBackend::named(name).unwrap();
        let mut g = c.benchmark_group(format!("seal_{name}"));
        g.sample_size(10);
        let limbs = format!("{} limbs", backend.literal().levels + 1);
        bench_ops::trait_operations(&mut g, &backend, &limbs);
        g.finish();
    }
}

criterion_group!(benches, operations);
criterion_main!(benches);
