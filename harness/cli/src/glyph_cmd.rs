//! The Glyph-style baseline ([`blindtuner_glyph`]) on the command line:
//!
//! * `blindtuner train --method glyph`: the real run, the products on native CKKS, the softmax
//!   on tfhe-rs, the switches through the client (labelled `client-aided`); `--backend plain`
//!   runs the same code with plain standing in for both schemes. Reported beside the same
//!   algorithm in f64 (the circuit's softmax formulas, and the exact softmax);
//! * `blindtuner bench glyph`: one step at a shape (HETAL's MNIST shape by default) projected
//!   from exact operation counts and per-operation costs measured here by `bench ops`'
//!   machinery, every projected figure labelled `projected`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use blindtuner_backend::plain::PlainBackend;
use blindtuner_backend::{Backend, Capabilities};
use blindtuner_encrypted::refresh::RefreshStats;
use blindtuner_features::{FeatureSplits, Matrix};
use blindtuner_glyph::compare::Comparisons;
use blindtuner_glyph::model::{Shape, StepCounts};
use blindtuner_glyph::softmax::TfheSoftmax;
use blindtuner_glyph::train::{Hyper, Run, exact_softmax, reference, train};
use blindtuner_native::NativeBackend;
use blindtuner_reports::{EncryptedRun, EpochLoss, LossCurve};
use blindtuner_train::{Hyperparams, SoftmaxRegression};
use clap::Args;

use crate::encrypted_train::{ops, precision_bits};
use crate::train_cmd::{Backend as BackendName, TrainArgs, Trained, accuracy, progress_bar};

/// The native set of the real run unless `--params` names another: 128-bit, 8,192 slots, 7
/// levels (the run needs 4: the switches refresh every value).
const DEFAULT_CKKS: &str = "n14";
/// The Q16.16 tfhe sets by slots: the real run takes the largest whose slots do not exceed the
/// batch, so that no slot computes padding.
const TFHE_SETS: [(usize, &str); 4] = [
    (8, "tfhe-q16-s8"),
    (4, "tfhe-q16-s4"),
    (2, "tfhe-q16-s2"),
    (1, "tfhe-q16-s1"),
];

/// The slots and the name of the tfhe set for a batch.
fn tfhe_set(batch: usize) -> (usize, &'static str) {
    TFHE_SETS
        .into_iter()
        .find(|&(slots, _)| slots <= batch)
        .unwrap_or(TFHE_SETS[3])
}

/// `train --method glyph`: the run on the backends `--backend` names.
pub fn run(
    args: &TrainArgs,
    features: &FeatureSplits,
    hyper: &Hyperparams,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    let ckks_set = args.engine.params.as_deref().unwrap_or(DEFAULT_CKKS);
    let native = NativeBackend::named(ckks_set)?;
    match args.engine.backend {
        BackendName::Plain => {
            let ckks = PlainBackend::new(
                native.capabilities().slots,
                native.capabilities().max_level.unwrap_or(0),
            )?;
            let tfhe = PlainBackend::with_level_budget(tfhe_set(hyper.batch).0, None)?;
            run_on(&ckks, &tfhe, "plain", args, features, hyper, phases)
        }
        BackendName::Native => on_tfhe(&native, args, features, hyper, phases),
        BackendName::Seal => bail!("--method glyph runs on --backend native (with tfhe) or plain, not seal"),
    }
}

#[cfg(feature = "tfhe")]
fn on_tfhe(
    native: &NativeBackend,
    args: &TrainArgs,
    features: &FeatureSplits,
    hyper: &Hyperparams,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    let tfhe = blindtuner_tfhe::TfheBackend::named(tfhe_set(hyper.batch).1)?;
    run_on(native, &tfhe, "native+tfhe", args, features, hyper, phases)
}

#[cfg(not(feature = "tfhe"))]
fn on_tfhe(
    _: &NativeBackend,
    _: &TrainArgs,
    _: &FeatureSplits,
    _: &Hyperparams,
    _: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    bail!(
        "--method glyph needs the tfhe backend for its softmax: rebuild with `--features tfhe` (tfhe-rs, about five minutes to compile), or run it on `--backend plain`"
    )
}

/// The run on `ckks` and `tfhe`, the two f64 references, and the report's figures.
fn run_on<B, T>(
    ckks: &B,
    tfhe: &T,
    label: &'static str,
    args: &TrainArgs,
    features: &FeatureSplits,
    hyper: &Hyperparams,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained>
where
    B: Backend,
    T: Backend,
    T::Cloud: Comparisons,
{
    let train_set = &features.train;
    let steps = hyper.epochs * train_set.len().div_ceil(hyper.batch);
    let h = Hyper {
        batch: hyper.batch,
        lr: hyper.lr,
        steps,
    };
    let classes = train_set.classes;
    let softmax = TfheSoftmax::new(classes)?;
    let plain_w = reference(&train_set.x, &train_set.labels, classes, h, |z| softmax.reference(z))?;
    let exact_w = reference(&train_set.x, &train_set.labels, classes, h, exact_softmax)?;

    let bar = progress_bar(args.quiet, "glyph", steps as u64);
    let start = Instant::now();
    let run: Run = train(ckks, tfhe, &train_set.x, &train_set.labels, classes, h, &mut |s| {
        bar.set_position(s as u64 + 1)
    })?;
    let wall_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let sum = |f: fn(&blindtuner_glyph::train::StepReport) -> f64| run.steps.iter().map(f).sum::<f64>();
    let train_s = sum(|s| s.total_s);
    phases.insert("keygen".into(), run.keygen_s);
    phases.insert("encrypt".into(), run.upload_s);
    phases.insert("train".into(), wall_s - run.keygen_s - run.upload_s);
    phases.insert("train.matmul".into(), sum(|s| s.matmul_s));
    phases.insert("train.softmax".into(), sum(|s| s.softmax_s));
    phases.insert("train.update".into(), sum(|s| s.update_s));
    phases.insert("train.switch".into(), sum(|s| s.switch_s));

    let total = run
        .steps
        .iter()
        .fold(blindtuner_encrypted::counting::OpCounts::default(), |acc, s| {
            acc + s.ckks
        });
    // The switches refresh every value: no bootstrap or refresh round to count.
    let per_step = |per: f64| ops(total, &RefreshStats::default(), per);
    let model_of = |weights: Matrix| SoftmaxRegression { weights };
    let ckks_caps: Capabilities = ckks.capabilities();
    let tfhe_caps = tfhe.capabilities();
    let encrypted = EncryptedRun {
        parameters: format!(
            "{} + {} (client-aided switches)",
            ckks_caps.parameters, tfhe_caps.parameters
        ),
        security: format!("CKKS {}, TFHE {}", ckks_caps.security, tfhe_caps.security),
        slots: ckks_caps.slots,
        levels: ckks_caps.max_level,
        refresh: "client-aided scheme switches (every step: the logits CKKS -> TFHE, the probabilities TFHE -> CKKS, through the client); no bootstrapping".into(),
        block: run.block.to_string(),
        weight_scale: 1.0,
        rotation_keys: run.rotation_keys,
        cloud_key_bytes: None,
        upload_ciphertexts: run.upload_ciphertexts,
        upload_bytes: run.upload_bytes,
        ops_per_step: per_step(steps as f64),
        ops_total: per_step(1.0),
        client_rounds: 2 * steps as u64,
        client_bytes: run.steps.iter().map(|s| s.switch_bytes).sum(),
        approximate_plain: accuracy(&model_of(plain_w.clone()), features),
        exact: accuracy(&model_of(exact_w), features),
        weight_bits_vs_plain: vec![precision_bits(&run.weights, &plain_w)],
    };
    Ok(Trained {
        model: model_of(run.weights),
        backend: label,
        epochs_run: hyper.epochs,
        best_epoch: hyper.epochs,
        stopped_early: false,
        steps,
        loss_curve: LossCurve {
            val_loss: "none (the Glyph-style run trains without early stopping)".into(),
            epochs: (1..=hyper.epochs)
                .map(|epoch| EpochLoss {
                    epoch,
                    train_loss: None,
                    val_loss: None,
                    val_accuracy: None,
                })
                .collect(),
            measured: true,
        },
        train_s,
        encrypted: Some(encrypted),
    })
}

/// `bench glyph`: one Glyph-style step at a shape, projected.
#[derive(Args)]
pub struct GlyphArgs {
    /// Samples per batch.
    #[arg(long, default_value_t = Shape::HETAL_MNIST.batch)]
    rows: usize,
    /// Feature columns, the bias included.
    #[arg(long, default_value_t = Shape::HETAL_MNIST.cols)]
    cols: usize,
    #[arg(long, default_value_t = Shape::HETAL_MNIST.classes)]
    classes: usize,
    /// Training examples of the projected training (HETAL's MNIST split: 52,500).
    #[arg(long, default_value_t = 52_500)]
    train: usize,
    /// Epochs of the projected training (HETAL's MNIST: 7).
    #[arg(long, default_value_t = 7)]
    epochs: usize,
    /// The tfhe set whose per-slot costs are measured.
    #[arg(long, default_value = "tfhe-q16-s2")]
    tfhe_set: String,
    /// Threads of both backends.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// Timed repetitions per operation (the median is used).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
    /// Write the projected step record as JSON to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// The operation counts of `args`' shape at 2^15 CKKS slots (`bench ops --config n16`), checked
/// before anything is measured.
fn counts(args: &GlyphArgs) -> Result<StepCounts> {
    if args.train == 0 || args.epochs == 0 {
        bail!("--train and --epochs must be positive");
    }
    let shape = Shape {
        batch: args.rows,
        cols: args.cols,
        classes: args.classes,
    };
    Ok(StepCounts::new(shape, 1 << 15)?)
}

#[cfg(feature = "tfhe")]
pub fn bench(args: GlyphArgs) -> Result<()> {
    use anyhow::Context;
    use blindtuner_backend::Client;
    use blindtuner_glyph::model::{CkksCosts, TfheCosts, UNITS_TO_CKKS, UNITS_TO_TFHE};
    use blindtuner_glyph::tfhe_costs::BlockBootstrap;
    use blindtuner_reports::records::ProjectionRecord;
    use blindtuner_reports::utc_now_rfc3339;
    use blindtuner_tfhe::TfheBackend;
    use rayon::prelude::*;

    use crate::bench_cmd::{Config, native_ops, time};
    use crate::output::finish;

    let counts = counts(&args)?;
    let backend = TfheBackend::named(&args.tfhe_set)?;
    let native = native_ops(Config::N16, args.reps, args.threads, args.quiet)?;
    let tfhe_ops = crate::bench_trait::tfhe(Some(&args.tfhe_set), Config::N16, args.reps, args.threads, args.quiet)?;
    let op = |name: &str| -> Result<f64> {
        native
            .ops
            .get(name)
            .map(|o| o.median_ms)
            .with_context(|| format!("bench ops measured no native `{name}`"))
    };
    let per_slot = |name: &str| -> Result<f64> {
        tfhe_ops
            .projected
            .as_ref()
            .and_then(|p| p.ops.get(name))
            .map(|o| o.per_slot_ms)
            .with_context(|| format!("bench ops measured no tfhe `{name}`"))
    };

    // The comparisons and the block bootstrap, which `bench ops` does not time, on a pool of
    // the same threads.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads as usize)
        .build()
        .context("starting the thread pool")?;
    let slots = backend.capabilities().slots;
    let (max_ms, max_scalar_ms, unit_ms) = pool.install(|| -> Result<(f64, f64, f64)> {
        let (mut client, cloud) = backend.keygen(&[])?;
        let a = client.encrypt(&(0..slots).map(|i| 0.75 - i as f64).collect::<Vec<_>>())?;
        let b = client.encrypt(&(0..slots).map(|i| 1.5 * i as f64 - 0.25).collect::<Vec<_>>())?;
        let (max, _, _) = time(args.reps, || Ok(cloud.max(&a, &b)?))?;
        let (max_scalar, _, _) = time(args.reps, || Ok(cloud.max_scalar(&a, -16.0)?))?;
        let unit = BlockBootstrap::new();
        let threads = args.threads as usize;
        let (batch, _, ()) = time(args.reps, || {
            (0..threads).into_par_iter().try_for_each(|_| unit.run())?;
            Ok(())
        })?;
        Ok((max / slots as f64, max_scalar / slots as f64, batch / threads as f64))
    })?;
    let ckks = CkksCosts {
        mul_relin_rescale_ms: op("mul_relin_rescale")?,
        mul_plain_ms: op("mul_plain")?,
        rescale_ms: op("rescale")?,
        rotate_ms: op("rotate_1")?,
        hoisted_rotate_8_ms: op("hoisted_rotate_8")?,
        add_ms: op("add")?,
    };
    let tfhe = TfheCosts {
        add_ms: per_slot("add")?,
        mul_ms: per_slot("mul_relin_rescale")?,
        mul_scalar_ms: per_slot("mul_plain_rescale")?,
        max_ms,
        max_scalar_ms,
        key_switch_bootstrap_ms: unit_ms,
    };
    let step = counts.project(&ckks, &tfhe);
    let steps_per_epoch = args.train.div_ceil(args.rows);
    let model = format!(
        "projected, not measured: exact counts of one step x per-operation costs measured on this machine on {} threads. \
         CKKS (native, bench ops n16): a relinearisation at mul_relin_rescale, a further product of a sum at 2 x mul_plain, a plaintext product at mul_plain + rescale, a rotation at rotate_1, a hoisted one at hoisted_rotate_8 / 8, an addition at add. \
         TFHE ({}, per slot): products at mul_relin_rescale, by constants at mul_plain_rescale, additions, negations and constants at add, max and max_scalar timed here. \
         Switches modelled: {UNITS_TO_TFHE} tfhe-rs key-switch-and-bootstrap units per value into TFHE (one into the TFHE key, one per 2-bit block of an FheInt32), {UNITS_TO_CKKS} per value back; the CKKS-side transforms left out, so a lower bound. \
         Total: the step x {steps_per_epoch} steps x {} epochs.",
        args.threads, args.tfhe_set, args.epochs
    );
    let record = ProjectionRecord {
        kind: "projected".into(),
        method: "glyph".into(),
        rows: args.rows,
        cols: args.cols,
        classes: args.classes,
        block: format!("{} x {}", counts.block.0, counts.block.1),
        projected_step_s: step.total_s,
        projected_parts_s: BTreeMap::from([
            ("ckks".to_string(), step.ckks_s),
            ("switch".to_string(), step.switch_s),
            ("tfhe".to_string(), step.tfhe_s),
        ]),
        steps_per_epoch,
        epochs: args.epochs,
        projected_total_s: step.total_s * (steps_per_epoch * args.epochs) as f64,
        model,
        counts: serde_json::to_value(counts)?,
        measured_costs_ms: serde_json::json!({
            "kind": "measured",
            "ckks": ckks,
            "ckks_parameters": native.notes.first(),
            "tfhe": tfhe,
            "tfhe_set": args.tfhe_set,
        }),
        threads: args.threads,
        machine: crate::calibration::machine()?,
        date: utc_now_rfc3339(),
        version: format!(
            "blindtuner {} ({})",
            env!("CARGO_PKG_VERSION"),
            env!("BLINDTUNER_GIT_COMMIT")
        ),
    };
    finish(args.json.as_deref(), &summary(&record, &counts), &record)
}

#[cfg(not(feature = "tfhe"))]
pub fn bench(args: GlyphArgs) -> Result<()> {
    counts(&args)?;
    bail!(
        "bench glyph measures the tfhe backend's costs: rebuild with `--features tfhe` (tfhe-rs, about five minutes to compile)"
    )
}

/// The projected step as a table.
#[cfg(feature = "tfhe")]
fn summary(r: &blindtuner_reports::records::ProjectionRecord, c: &StepCounts) -> String {
    use blindtuner_reports::format_seconds;
    let mut b = tabled::builder::Builder::default();
    b.push_record(["part", "exact counts per step", "PROJECTED time"]);
    b.push_record([
        "CKKS products (native)".to_string(),
        c.ckks.to_string(),
        format_seconds(r.projected_parts_s["ckks"]),
    ]);
    b.push_record([
        "scheme switches (modelled)".to_string(),
        format!("{} values to TFHE, {} back", c.to_tfhe, c.to_ckks),
        format_seconds(r.projected_parts_s["switch"]),
    ]);
    let t = &c.tfhe;
    b.push_record([
        "softmax on TFHE".to_string(),
        format!(
            "{} max, {} max with a constant, {} additions, {} negations, {} constants added, {} products, {} products by constants",
            t.max, t.max_scalar, t.add, t.neg, t.add_scalar, t.mul, t.mul_scalar
        ),
        format_seconds(r.projected_parts_s["tfhe"]),
    ]);
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp()).modify(
        tabled::settings::object::Columns::new(1..2),
        tabled::settings::Width::wrap(70).keep_words(true),
    );
    format!(
        "Glyph-style step at {} x {}, {} classes (block {}), PROJECTED, not measured\n{table}\n\
         step: {} PROJECTED; training ({} steps x {} epochs): {} PROJECTED\n{}\n",
        r.rows,
        r.cols,
        r.classes,
        r.block,
        format_seconds(r.projected_step_s),
        r.steps_per_epoch,
        r.epochs,
        format_seconds(r.projected_total_s),
        r.model
    )
}
