//! The native engine's hot operations through the backend trait (those of
//! `backends/bench_ops.rs`, shared with the other backends' benches), at `n14` (128-bit, 8
//! limbs) and at the peers' N = 2^16 shape (`peer-n16`): what the training pays per call,
//! relinearisation and rescaling included, beside SEAL's and tfhe's groups of the same names.
//! The engine's own primitives, one at a time, are `blindtuner-ckks`'s bench.
//!
//! `native_bootstrap` times one bootstrapping of a ciphertext at level 0 (all slots real, in
//! [-1, 1]) at the small `boot-toy-n12` (N = 2^12, toy security, for comparing changes) and at
//! the full `boot-n16` (N = 2^16, 128-bit: what training runs; its keys take about half a
//! minute and 6 GB, made only when the benchmark runs).
//!
//! Run with `cargo bench -p blindtuner-native`.

#[path = "../../../bench_ops.rs"]
mod bench_ops;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use blindtuner_backend::{Backend, Client, Cloud};
use blindtuner_native::NativeBackend;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

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

/// A bootstrappable set's cloud and a ciphertext at level 0.
struct Bootstrapping {
    cloud: <NativeBackend as Backend>::Cloud,
    input: <NativeBackend as Backend>::Ciphertext,
}

fn bootstrapping(c: &mut Criterion) {
    let mut g = c.benchmark_group("native_bootstrap");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1));
    for name in ["boot-toy-n12", "boot-n16"] {
        let setup = OnceLock::new();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let s = setup.get_or_init(|| {
                    let backend = NativeBackend::named(name).unwrap();
                    let (mut client, cloud) = backend.keygen(&[]).unwrap();
                    let slots = backend.capabilities().slots;
                    let values: Vec<f64> = (0..slots).map(|i| (i as f64 * 0.37).sin()).collect();
                    let input = cloud.lower(&client.encrypt(&values).unwrap(), 0).unwrap();
                    Bootstrapping { cloud, input }
                });
                let start = Instant::now();
                for _ in 0..iters {
                    s.cloud.bootstrap(&s.input).unwrap();
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, operations, bootstrapping);
criterion_main!(benches);
