//! The plain reference backend's operations through the backend trait (those of
//! `backends/bench_ops.rs`, shared with the other backends' benches) at 2^13 and 2^15 slots: the
//! floor any encrypted backend is compared with.
//!
//! Run with `cargo bench -p blindtuner-backend`.

#[path = "../../bench_ops.rs"]
mod bench_ops;

use blindtuner_backend::plain::PlainBackend;
use criterion::{Criterion, criterion_group, criterion_main};

fn operations(c: &mut Criterion) {
    for slots in [1 << 13, 1 << 15] {
        let backend = PlainBackend::new(slots, 8).unwrap();
        let mut g = c.benchmark_group(format!("plain_{slots}"));
        bench_ops::trait_operations(&mut g, &backend, &format!("{slots} slots"));
        g.finish();
    }
}

criterion_group!(benches, operations);
criterion_main!(benches);
