//! The encrypted training's circuits at HETAL's MNIST shape (a batch of 1024 samples, 768
//! features and the bias, 10 classes, blocks of 1024 x 32): DiagABT, DiagATB, the softmax and
//! one whole BlindTuner training step, on `plain` (the circuits alone: no encryption, no noise)
//! and on `native` at `boot-n16` (128-bit, bootstrapping), in groups `training_plain` and
//! `training_native` whose benchmarks share names.
//!
//! Inputs arrive at the levels a step gives them: the features as the client uploads them, the
//! tiled weights with the forward pass's levels, the logits with the softmax's input mask left,
//! the errors as a bootstrap leaves them. The step runs on the same batch again and again, its
//! model carried over, with every refresh it needs.
//!
//! Run with `cargo bench -p blindtuner-encrypted --bench training` (add `-- training_plain` for
//! the plain group alone). The native group generates its keys (about 30 s, up to 20 GB of
//! memory with a step's working set) on the first of its benchmarks that runs, and a step
//! takes over a minute on two cores: with criterion's ten samples, the group takes about half
//! an hour.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use blindtuner_backend::plain::PlainBackend;
use blindtuner_backend::{Backend, Cloud};
use blindtuner_encrypted::matmul::{diag_abt, diag_atb};
use blindtuner_encrypted::packing::{PackedMatrix, PackedScores, PackedWeights};
use blindtuner_encrypted::refresh::Bootstrap;
use blindtuner_encrypted::softmax::Softmax;
use blindtuner_encrypted::step::{EncryptedModel, forward_levels};
use blindtuner_encrypted::training::TrainingPlan;
use blindtuner_encrypted::weights::{WeightLayout, Weights};
use blindtuner_features::Matrix;
use blindtuner_native::NativeBackend;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// HETAL's MNIST shape: batch, columns (the bias included), classes.
const SHAPE: (usize, usize, usize) = (1024, 769, 10);
/// The learning rate and weight scale of `train`'s defaults.
const LR: f64 = 1.0;
const WEIGHT_SCALE: f64 = 16.0;

/// Everything the benchmarks of one backend read, made once.
struct Inputs<B: Backend> {
    cloud: B::Cloud,
    plan: TrainingPlan,
    softmax: Softmax,
    x: PackedMatrix<B::Ciphertext>,
    labels: PackedScores<B::Ciphertext>,
    /// Tiled at the forward pass's levels, as a step unpacks them.
    weights: PackedWeights<B::Ciphertext>,
    /// With the one level of the softmax's input mask, as DiagABT leaves them.
    logits: PackedScores<B::Ciphertext>,
    /// As a bootstrap leaves them.
    errors: PackedScores<B::Ciphertext>,
    /// The model the step benchmark carries from one step to the next.
    model: std::sync::Mutex<EncryptedModel<B::Ciphertext>>,
}

fn uniform(rng: &mut ChaCha20Rng, rows: usize, cols: usize, bound: f64) -> Matrix {
    Matrix::from_rows(
        rows,
        cols,
        (0..rows * cols).map(|_| rng.random_range(-bound..bound)).collect(),
    )
}

impl<B: Backend> Inputs<B>
where
    B::Ciphertext: Clone,
{
    fn new(backend: &B) -> Inputs<B> {
        let (rows, cols, classes) = SHAPE;
        let slots = backend.capabilities().slots;
        let plan = TrainingPlan::new(classes, cols, rows, slots, LR, 1, None, WEIGHT_SCALE).expect("plan");
        let softmax = plan.softmax().expect("softmax");
        let (mut client, cloud) = backend.keygen(&plan.rotations().expect("rotations")).expect("keygen");
        let mut rng = ChaCha20Rng::from_os_rng();
        let features = uniform(&mut rng, rows, cols - 1, 1.0).with_bias_column();
        let x = PackedMatrix::encrypt_features(&mut client, &features, plan.shape).expect("features");
        let classes_of: Vec<usize> = (0..rows).map(|_| rng.random_range(0..classes)).collect();
        let labels = PackedScores::encrypt_labels(&mut client, &classes_of, classes, plan.shape).expect("labels");

        let w = uniform(&mut rng, classes, cols, 0.5);
        let compact = Weights::encrypt(&mut client, &w, plan.shape, WeightLayout::Compact).expect("weights");
        let forward = forward_levels(WeightLayout::Compact);
        let lowered = compact
            .cts()
            .iter()
            .map(|ct| cloud.lower(ct, forward))
            .collect::<Result<Vec<_>, _>>()
            .expect("lower");
        let weights = compact
            .with_cts(lowered)
            .expect("weights")
            .tiled(&cloud)
            .expect("tiled");
        let logits =
            PackedScores::encrypt(&mut client, &uniform(&mut rng, rows, classes, 0.5), plan.shape).expect("logits");
        let logits = logits
            .with_blocks(
                logits
                    .blocks()
                    .iter()
                    .map(|ct| cloud.lower(ct, 1))
                    .collect::<Result<_, _>>()
                    .expect("lower"),
            )
            .expect("logits");
        let errors =
            PackedScores::encrypt(&mut client, &uniform(&mut rng, rows, classes, 1.0), plan.shape).expect("errors");
        let model = EncryptedModel::encrypt(
            &mut client,
            &Matrix::zeros(classes, cols),
            plan.shape,
            plan.method.layout(),
            WEIGHT_SCALE,
        )
        .expect("model");
        Inputs {
            cloud,
            plan,
            softmax,
            x,
            labels,
            weights,
            logits,
            errors,
            model: std::sync::Mutex::new(model),
        }
    }
}

/// Times `op` on the inputs, made on first use (so a filtered-out group never makes them).
fn bench<B: Backend>(
    g: &mut BenchmarkGroup<WallTime>,
    name: &str,
    backend: &B,
    inputs: &OnceLock<Inputs<B>>,
    op: impl Fn(&Inputs<B>),
) where
    B::Ciphertext: Clone,
{
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let inputs = inputs.get_or_init(|| Inputs::new(backend));
            let start = Instant::now();
            (0..iters).for_each(|_| op(inputs));
            start.elapsed()
        })
    });
}

fn circuits<B: Backend>(c: &mut Criterion, group: &str, backend: &B, patience: Duration)
where
    B::Ciphertext: Clone,
{
    let inputs = OnceLock::new();
    let mut g = c.benchmark_group(group);
    // Flat sampling: ten samples of as many runs each, not criterion's 1 + 2 + ... + 10 runs.
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(patience);
    bench(&mut g, "diag_abt", backend, &inputs, |i| {
        diag_abt(&i.cloud, &i.x, &i.weights).expect("DiagABT");
    });
    bench(&mut g, "diag_atb", backend, &inputs, |i| {
        diag_atb(&i.cloud, &i.errors, &i.x, -1.0).expect("DiagATB");
    });
    bench(&mut g, "softmax", backend, &inputs, |i| {
        let bootstrap = Bootstrap::new(&i.cloud).expect("bootstrapping");
        i.softmax
            .apply(&i.cloud, &i.plan.levels(&bootstrap), &i.logits)
            .expect("softmax");
    });
    bench(&mut g, "step", backend, &inputs, |i| {
        let bootstrap = Bootstrap::new(&i.cloud).expect("bootstrapping");
        let mut model = i.model.lock().expect("model");
        model
            .step(
                &i.cloud,
                &i.plan.levels(&bootstrap),
                &i.softmax,
                &i.x,
                &i.labels,
                i.plan.lr,
            )
            .expect("step");
    });
    g.finish();
}

fn training(c: &mut Criterion) {
    let plain = PlainBackend::new(1 << 15, 9).expect("plain backend");
    circuits(c, "training_plain", &plain, Duration::from_secs(5));
    let native = NativeBackend::named("boot-n16").expect("boot-n16");
    circuits(c, "training_native", &native, Duration::from_secs(60));
}

criterion_group!(benches, training);
criterion_main!(benches);
