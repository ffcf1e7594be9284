//! `blindtuner train --method blindtuner` (or `hetal`, the baseline): the encrypted training in
//! one process (client and cloud side by side, talking through the same types a deployment
//! uses), reported beside the same training on plain (the identical circuit without encryption)
//! and by the exact trainer.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use blindtuner_backend::plain::PlainBackend;
use blindtuner_backend::{Backend, Capabilities};
use blindtuner_encrypted::EncryptedError;
use blindtuner_encrypted::counting::{CountingCloud, OpCounts};
use blindtuner_encrypted::refresh::{Bootstrap, ClientRefresh, Refresh as RefreshCircuit, RefreshStats};
use blindtuner_encrypted::training::{
    EncryptedData, Method, TrainingEvent, TrainingPlan, TrainingStats, read_loss, train,
};
use blindtuner_features::{FeatureSplits, Matrix};
use blindtuner_native::NativeBackend;
use blindtuner_reports::{EncryptedRun, EpochLoss, LossCurve, OpsPerStep};
use blindtuner_train::{EarlyStopping, Hyperparams, SoftmaxRegression};

use crate::train_cmd::{Backend as BackendName, Refresh, TrainArgs, Trained, accuracy, exact, progress_bar, spinner};

/// The native set whose slots and levels `plain` mimics unless `--params` names another.
pub const DEFAULT_NATIVE: &str = "boot-n16";

/// One run of the loop on one backend, with what the report needs.
struct Outcome {
    /// The best epoch's weights, decrypted by the client.
    weights: Matrix,
    /// Each epoch's weights, decrypted by the client (observability, in process only).
    epoch_weights: Vec<Matrix>,
    /// The decrypted validation losses and the accuracy of each epoch's weights.
    epochs: Vec<EpochLoss>,
    run: TrainingStats,
    caps: Capabilities,
    refresh: &'static str,
    rotation_keys: usize,
    upload_ciphertexts: usize,
    upload_bytes: u64,
    /// Seconds of key generation, encryption of the upload, training, decryption.
    keygen_s: f64,
    encrypt_s: f64,
    train_s: f64,
    decrypt_s: f64,
}

/// `--method blindtuner` or `hetal` on the backend of `args`.
pub fn run(
    args: &TrainArgs,
    features: &FeatureSplits,
    hyper: &Hyperparams,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    with_backend(
        args.engine.backend,
        args.engine.params.as_deref(),
        TrainOn {
            args,
            features,
            hyper,
            phases,
        },
    )
}

/// Something to do with whichever backend `--backend` and `--params` name.
pub trait OnBackend {
    type Output;

    fn run<B>(self, backend: &B, label: &'static str) -> Result<Self::Output>
    where
        B: Backend + Sync,
        B::Client: Send;
}

/// Runs `job` on the backend `name` at the parameter set `params` (its default if none);
/// `plain` mimics the slots and levels of a native set.
pub fn with_backend<J: OnBackend>(name: BackendName, params: Option<&str>, job: J) -> Result<J::Output> {
    match name {
        BackendName::Plain => {
            let native = NativeBackend::named(params.unwrap_or(DEFAULT_NATIVE))?;
            job.run(&plain_like(&native.capabilities())?, "plain")
        }
        BackendName::Native => job.run(&NativeBackend::named(params.unwrap_or(DEFAULT_NATIVE))?, "native"),
        BackendName::Seal => on_seal(params, job),
    }
}

/// Refuses, before any work, a plan the backend cannot run with `refresh`.
pub fn check_plan(caps: &Capabilities, refresh: Option<Refresh>) -> Result<()> {
    let minimum = blindtuner_encrypted::step::MIN_LEVELS;
    if let Some(levels) = caps.max_level.filter(|&l| l < minimum) {
        bail!(
            "{} has {levels} levels; the training needs at least {minimum} between refreshes",
            caps.parameters
        );
    }
    if refresh == Some(Refresh::Bootstrap) && !caps.bootstrap {
        bail!(
            "{} cannot bootstrap: use --refresh client (the client re-encrypts, interactively)",
            caps.parameters
        );
    }
    Ok(())
}

/// The whole run of `train --method blindtuner`: the exact trainer, plain with the backend's
/// slots and levels (unless the backend is plain), the backend, the report.
struct TrainOn<'a> {
    args: &'a TrainArgs,
    features: &'a FeatureSplits,
    hyper: &'a Hyperparams,
    phases: &'a mut BTreeMap<String, f64>,
}

impl OnBackend for TrainOn<'_> {
    type Output = Trained;

    fn run<B>(self, backend: &B, label: &'static str) -> Result<Trained>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let TrainOn {
            args,
            features,
            hyper,
            phases,
        } = self;
        let caps = backend.capabilities();
        let plan = plan(features, hyper, args.engine.weight_scale, &caps, circuits(args)?)?;
        check_plan(&caps, args.engine.refresh)?;

        let mut exact_phases = BTreeMap::new();
        let exact = exact(features, hyper, args.hyper.seed, args.quiet, &mut exact_phases)?;
        phases.insert("exact_run".into(), exact_phases["train"]);

        let refresh = args.engine.refresh;
        let (outcome, plain) = if label == "plain" {
            (run_on(backend, refresh, args, features, hyper, label, None)?, None)
        } else {
            let plain = plain_like(&caps)?;
            let reference = run_on(&plain, None, args, features, hyper, "plain", None)?;
            let outcome = run_on(
                backend,
                refresh,
                args,
                features,
                hyper,
                label,
                Some(&reference.epoch_weights),
            )?;
            (outcome, Some(reference))
        };
        report(args, features, &plan, &exact.model, outcome, plain, label, phases)
    }
}

/// The encrypted run's result with the gaps to plain and exact.
#[allow(clippy::too_many_arguments)]
fn report(
    args: &TrainArgs,
    features: &FeatureSplits,
    plan: &TrainingPlan,
    exact: &SoftmaxRegression,
    outcome: Outcome,
    plain: Option<Outcome>,
    label: &'static str,
    phases: &mut BTreeMap<String, f64>,
) -> Result<Trained> {
    let evaluate = |w: &Matrix| accuracy(&SoftmaxRegression { weights: w.clone() }, features);
    let approximate_plain = evaluate(&plain.as_ref().unwrap_or(&outcome).weights);
    if let Some(plain) = &plain {
        phases.insert("plain_run".into(), plain.train_s);
    }
    let exact_accuracy = evaluate(&exact.weights);

    let run = &outcome.run;
    let steps = run.steps.max(1) as f64;
    for (phase, seconds) in [
        ("keygen", outcome.keygen_s),
        ("encrypt", outcome.encrypt_s),
        ("train", outcome.train_s),
        ("train.matmul", run.times.matmul.as_secs_f64()),
        ("train.softmax", run.times.softmax.as_secs_f64()),
        ("train.update", run.times.update.as_secs_f64()),
        ("train.refresh", run.times.refresh.as_secs_f64()),
        ("train.validation", run.validation.as_secs_f64()),
        ("decrypt", outcome.decrypt_s),
    ] {
        phases.insert(phase.into(), seconds);
    }
    let bits = match &plain {
        Some(plain) => outcome
            .epoch_weights
            .iter()
            .zip(&plain.epoch_weights)
            .map(|(a, b)| precision_bits(a, b))
            .collect(),
        None => Vec::new(),
    };
    let encrypted = EncryptedRun {
        parameters: outcome.caps.parameters.clone(),
        security: outcome.caps.security.to_string(),
        slots: outcome.caps.slots,
        levels: outcome.caps.max_level,
        refresh: outcome.refresh.into(),
        block: plan.shape.to_string(),
        weight_scale: args.engine.weight_scale,
        rotation_keys: outcome.rotation_keys,
        cloud_key_bytes: None,
        upload_ciphertexts: outcome.upload_ciphertexts,
        upload_bytes: outcome.upload_bytes,
        ops_per_step: ops(run.step_counts, &run.step_refresh, steps),
        ops_total: ops(run.counts, &run.refresh, 1.0),
        client_rounds: run.refresh.client_rounds,
        client_bytes: run.refresh.client_bytes,
        approximate_plain,
        exact: exact_accuracy,
        weight_bits_vs_plain: bits,
    };
    Ok(Trained {
        model: SoftmaxRegression {
            weights: outcome.weights,
        },
        backend: label,
        epochs_run: run.epochs_run,
        best_epoch: run.best_epoch,
        stopped_early: run.stopped_early,
        steps: run.steps,
        loss_curve: LossCurve {
            val_loss: "brier (the encrypted validation loss, decrypted by the client)".into(),
            epochs: outcome.epochs,
            measured: true,
        },
        train_s: outcome.train_s,
        encrypted: Some(encrypted),
    })
}

/// The training plan of `method` for `caps`' slots.
pub fn plan(
    features: &FeatureSplits,
    hyper: &Hyperparams,
    weight_scale: f64,
    caps: &Capabilities,
    method: Method,
) -> Result<TrainingPlan> {
    Ok(TrainingPlan::new(
        features.train.classes,
        features.train.x.cols,
        hyper.batch,
        caps.slots,
        hyper.lr,
        hyper.epochs,
        hyper.patience,
        weight_scale,
    )?
    .with_method(method)?)
}

/// The circuits of `args`' encrypted method.
fn circuits(args: &TrainArgs) -> Result<Method> {
    args.method
        .circuits()
        .context("the exact trainer has no encrypted circuits")
}

/// The plain backend with the slots and levels of `caps`.
pub fn plain_like(caps: &Capabilities) -> Result<PlainBackend> {
    Ok(PlainBackend::with_level_budget(caps.slots, caps.max_level)?)
}

/// `-log2` of the largest difference of two weight matrices.
pub fn precision_bits(a: &Matrix, b: &Matrix) -> f64 {
    let err = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    -err.log2()
}

/// Counts over `per`, with the refreshes (bootstraps or client rounds) and the ciphertexts they
/// refreshed.
pub fn ops(c: OpCounts, refresh: &RefreshStats, per: f64) -> OpsPerStep {
    OpsPerStep {
        mul: c.mul as f64 / per,
        relinearizations: c.relinearizations as f64 / per,
        mul_plain: c.mul_plain as f64 / per,
        mul_scalar: c.mul_scalar as f64 / per,
        rotations: c.rotations as f64 / per,
        hoisted_rotations: c.hoisted_rotations as f64 / per,
        additions: c.additions as f64 / per,
        refreshes: refresh.refreshes as f64 / per,
        refreshed_ciphertexts: refresh.ciphertexts as f64 / per,
    }
}

/// `job` on SEAL at `params` (default `seal-n14`).
#[cfg(feature = "seal")]
fn on_seal<J: OnBackend>(params: Option<&str>, job: J) -> Result<J::Output> {
    job.run(
        &blindtuner_seal::SealBackend::named(params.unwrap_or("seal-n14"))?,
        "seal",
    )
}

#[cfg(not(feature = "seal"))]
fn on_seal<J: OnBackend>(_: Option<&str>, _: J) -> Result<J::Output> {
    bail!(
        "backend `seal` is not compiled into this binary: rebuild with `--features seal` \
         (needs apt packages cmake and libclang-dev)"
    )
}

/// A key generation for a training plan.
pub struct Keys<B: Backend> {
    pub client: B::Client,
    pub cloud: B::Cloud,
    /// Rotation keys generated for the plan.
    pub rotations: usize,
    pub seconds: f64,
}

/// Generates keys with every rotation `plan` needs, behind a spinner whose message starts with
/// `prefix`.
pub fn keygen<B: Backend>(backend: &B, plan: &TrainingPlan, prefix: &str, quiet: bool) -> Result<Keys<B>> {
    let rotations = plan.rotations()?;
    let t = Instant::now();
    let wait = spinner(
        quiet,
        format!(
            "{prefix}generating keys ({} rotations, {})",
            rotations.len(),
            backend.capabilities().parameters
        ),
    );
    let (client, cloud) = backend.keygen(&rotations)?;
    wait.finish_and_clear();
    Ok(Keys {
        client,
        cloud,
        rotations: rotations.len(),
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Client and cloud of `backend` in one process: keys, the upload, the loop, the decryption.
/// `reference` holds the plain run's weights per epoch, to show the precision as it goes.
fn run_on<B>(
    backend: &B,
    refresh: Option<Refresh>,
    args: &TrainArgs,
    features: &FeatureSplits,
    hyper: &Hyperparams,
    label: &'static str,
    reference: Option<&[Matrix]>,
) -> Result<Outcome>
where
    B: Backend + Sync,
    B::Client: Send,
{
    let caps = backend.capabilities();
    let plan = plan(features, hyper, args.engine.weight_scale, &caps, circuits(args)?)?;
    let Keys {
        client,
        cloud,
        rotations,
        seconds: keygen_s,
    } = keygen(backend, &plan, &format!("{label}: "), args.quiet)?;
    let cloud = CountingCloud::new(cloud);
    let client = Mutex::new(client);
    let lock = || client.lock().map_err(|_| anyhow::anyhow!("the client failed earlier"));

    let t = Instant::now();
    let wait = spinner(args.quiet, format!("{label}: encrypting the upload"));
    let upload = EncryptedData::encrypt(&mut *lock()?, &plan, &features.train, &features.val, args.hyper.seed)?;
    let mut upload_bytes = 0u64;
    let mut upload_ciphertexts = 0usize;
    for ct in upload.ciphertexts() {
        upload_bytes += backend.ciphertext_to_bytes(ct)?.len() as u64;
        upload_ciphertexts += 1;
    }
    wait.finish_and_clear();
    let encrypt_s = t.elapsed().as_secs_f64();

    let bootstrap;
    let through_client;
    let refresher: &dyn RefreshCircuit<B::Ciphertext> = match refresh.unwrap_or(if caps.bootstrap {
        Refresh::Bootstrap
    } else {
        Refresh::Client
    }) {
        Refresh::Bootstrap => {
            bootstrap = Bootstrap::new(&cloud)
                .context("--refresh bootstrap (use --refresh client for backends without bootstrapping)")?;
            &bootstrap
        }
        Refresh::Client => {
            through_client = ClientRefresh::new(backend, &client);
            &through_client
        }
    };

    let t = Instant::now();
    let bar = progress_bar(
        args.quiet,
        &format!("{label} ({})", refresher.name()),
        (plan.epochs * upload.train.len()) as u64,
    );
    let mut stopping = EarlyStopping::new(plan.patience);
    let last_loss = std::cell::Cell::new(None);
    let poisoned = || EncryptedError::Unsupported("the client failed earlier".into());
    let mut epoch_weights = Vec::new();
    let mut epochs = Vec::new();
    let mut failure = None;
    let run = train(
        &cloud,
        &plan.levels(refresher),
        &plan,
        &upload,
        &mut |epoch, loss| {
            let loss = read_loss(&*client.lock().map_err(|_| poisoned())?, loss)?;
            last_loss.set(Some(loss));
            Ok(stopping.observe(epoch, loss))
        },
        &mut |event| match event {
            TrainingEvent::Step { step, counts, .. } => {
                bar.set_position(step as u64);
                bar.set_message(format!("{} bootstraps last step", counts.bootstraps));
            }
            TrainingEvent::Epoch { epoch, model, .. } => {
                let decrypted = client.lock().map_err(|_| poisoned()).and_then(|c| model.decrypt(&*c));
                match decrypted {
                    Ok(w) => {
                        let accuracy = SoftmaxRegression { weights: w.clone() }
                            .evaluate(&features.val)
                            .accuracy;
                        let bits = reference
                            .and_then(|r| r.get(epoch - 1))
                            .map(|r| format!(", weights to {:.1} bits of plain's", precision_bits(&w, r)))
                            .unwrap_or_default();
                        let loss = last_loss.take();
                        let brier = loss.map(|l| format!("validation Brier {l:.5}, ")).unwrap_or_default();
                        bar.println(format!(
                            "{label} epoch {epoch}: {brier}validation accuracy {:.2} %{bits}",
                            100.0 * accuracy
                        ));
                        epochs.push(EpochLoss {
                            epoch,
                            train_loss: None,
                            val_loss: loss,
                            val_accuracy: Some(accuracy),
                        });
                        epoch_weights.push(w);
                    }
                    Err(e) => failure = Some(e),
                }
            }
        },
    )?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        bail!("decrypting the weights after an epoch: {e}");
    }
    let train_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let weights = run.model.decrypt(&*lock()?)?;
    let decrypt_s = t.elapsed().as_secs_f64();
    Ok(Outcome {
        weights,
        epoch_weights,
        epochs,
        run: run.stats,
        caps,
        refresh: refresher.name(),
        rotation_keys: rotations,
        upload_ciphertexts,
        upload_bytes,
        keygen_s,
        encrypt_s,
        train_s,
        decrypt_s,
    })
}
