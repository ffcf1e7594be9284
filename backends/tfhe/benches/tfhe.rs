//! The tfhe backend's operations through the backend trait (those of `backends/bench_ops.rs`,
//! shared with the other backends' benches) at the one- and two-slot sets: a product costs
//! seconds per slot, and the per-slot cost is the same at every set, so the samples are few
//! and long; divide by the set's slots for the per-slot cost that
//! `blindtuner bench ops --backend tfhe` projects to full-size runs.
//!
//! Run with `cargo bench -p blindtuner-tfhe --features tfhe`.

#[path = "../../bench_ops.rs"]
mod bench_ops;

use std::time::Duration;

use blindtuner_tfhe::{PARAMETER_SETS, TfheBackend};
use criterion::{Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    for params in PARAMETER_SETS.into_iter().filter(|p| p.slots <= 2) {
        let backend = TfheBackend::new(params);
        let mut g = c.benchmark_group(format!("tfhe_{}", params.name));
        g.sample_size(10).measurement_time(Duration::from_secs(20));
        bench_ops::trait_operations(&mut g, &backend, &format!("{} slots", params.slots));
        g.finish();
    }
}

criterion_group!(benches, operations);
criterion_main!(benches);
