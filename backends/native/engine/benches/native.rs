//! The native engine's hot operations through the backend trait (those of
//! `backends/bench_ops.rs`, shared with the other backends' benches), at `n14` (128-bit, 8
//! limbs) and at the peers' N = 2^16 shape (`peer-n16`): what the training pays per call,
//! relinearisation and rescaling included, beside SEAL's and tfhe's groups of the same names.
//! The engine's own primitives, one at a time, are `blindtuner-ckks`'s bench.
//!
//! Run with `cargo bench -p blindtuner-native`.

#[path = "../../../bench_ops.rs"]
mod bench_ops;

use blindtuner_backend::Backend;
use blindtuner_native::NativeBackend;
use criterion::{Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    for name in ["n14", "peer-n16"] {
        let backend = NativeBackend::named(name).unwrap();
        let mut g = c.benchmark_group(format!("native_{name}"));
        g.sample_size(10);
        let label = format!("{} slots", backend.capabilities().slots);
        bench_ops::trait_operations(&mut g, &backend, &label);
        g.finish();
    }
}

criterion_group!(benches, operations);
criterion_main!(benches);
