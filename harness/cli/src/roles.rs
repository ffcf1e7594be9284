//! The client and the cloud as separate commands that communicate through files
//! ([`crate::exchange`]), so that they can run on different machines:
//!
//! ```text
//! client encrypt   features    -> plan.json, cloud.keys, upload.cts   (secret.key stays home)
//! cloud train      the upload  -> model.cts; with early stopping, after each epoch,
//!                                 loss-epoch-K.cts and a checkpoint, then it exits
//! client judge     loss-epoch-K.cts -> verdict-epoch-K.json           (improved / stop)
//! client decrypt   model.cts   -> weights and accuracy
//! ```
//!
//! With early stopping the two alternate (`cloud train`, `client judge`, `cloud train`, ...),
//! HETAL's protocol: the client decrypts one number per epoch and answers with one bit pair.
//! The cloud only ever reads the exchange directory: the secret is in the client directory,
//! and `cloud train` has no way to be given it. It checks everything it reads (the plan, the
//! keys' and the upload's checksums against the plan, every ciphertext's parameter set, the
//! layout) before any training, and writes only its own files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use blindtuner_backend::{Backend, Cloud};
use blindtuner_encrypted::counting::CountingCloud;
use blindtuner_encrypted::refresh::Bootstrap;
use blindtuner_encrypted::step::EncryptedModel;
use blindtuner_encrypted::training::{
    EncryptedData, Method, TrainingEvent, TrainingPlan, TrainingState, TrainingStats, read_loss,
};
use blindtuner_features::FeatureSplits;
use blindtuner_reports::{Accuracy, OpsPerStep};
use blindtuner_train::{EarlyStopping, Hyperparams, SoftmaxRegression, Verdict};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::encrypted_train::{OnBackend, ops, plan, with_backend};
use crate::exchange::{
    CHECKPOINT, CLIENT, Digest, FileKind, KEYS, MODEL, PLAN, SECRET, UPLOAD, container, loss_file, parse, read,
    read_checked, read_json_file, verdict_file, write_atomic, write_json_file, write_private,
};
use crate::output::{finish, write_weights};
use crate::train_cmd::{
    Backend as BackendName, DataArgs, EngineArgs, HyperArgs, Method as MethodName, Refresh, accuracy, progress_bar,
    spinner,
};

/// The identifier of `plan.json`'s format.
const FORMAT: &str = "blindtuner exchange 1";

#[derive(Args)]
pub struct ClientArgs {
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Generate keys, encrypt the training and validation features, and write what the cloud
    /// needs to the exchange directory (the secret key goes to the client directory).
    Encrypt(Box<EncryptArgs>),
    /// Decrypt the cloud's newest encrypted validation loss and answer with the early-stopping
    /// verdict (improved, stop): nothing else reaches the cloud.
    Judge(JudgeArgs),
    /// Decrypt the trained model, measure its accuracy, and write its weights.
    Decrypt(DecryptArgs),
}

#[derive(Args)]
pub struct CloudArgs {
    #[command(subcommand)]
    command: CloudCommand,
}

#[derive(Subcommand)]
enum CloudCommand {
    /// Train on the upload of an exchange directory with its evaluation keys alone; with early
    /// stopping, stop after each epoch for the client's verdict and resume from a checkpoint.
    Train(CloudTrainArgs),
}

/// The two directories of the protocol.
#[derive(Args)]
struct ClientDirs {
    /// The exchange directory, which travels between client and cloud.
    #[arg(long, value_name = "DIR")]
    exchange: PathBuf,
    /// The client's own directory (its secret key): it never leaves the data owner.
    #[arg(long, value_name = "DIR")]
    client_dir: PathBuf,
}

#[derive(Args)]
struct Output {
    /// Write the JSON result to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    dirs: ClientDirs,
    #[command(flatten)]
    data: DataArgs,
    /// The circuits the cloud will train with: BlindTuner's or the HETAL baseline's (the plan
    /// carries the choice to the cloud).
    #[arg(long, value_enum, default_value_t = MethodName::Blindtuner)]
    method: MethodName,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    hyper: HyperArgs,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct JudgeArgs {
    #[command(flatten)]
    dirs: ClientDirs,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct DecryptArgs {
    #[command(flatten)]
    dirs: ClientDirs,
    /// Write the decrypted weights as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    save_weights: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
}

#[derive(Args)]
pub struct CloudTrainArgs {
    /// The exchange directory the client wrote.
    #[arg(long, value_name = "DIR")]
    exchange: PathBuf,
    #[command(flatten)]
    output: Output,
}

/// `plan.json`: everything public that both sides agree on.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExchangePlan {
    format: String,
    /// A random identifier of this upload, which the client's secret records too.
    session: String,
    backend: String,
    parameters: String,
    security: String,
    classes: usize,
    /// Feature columns, the bias included.
    cols: usize,
    batch: usize,
    lr: f64,
    epochs: usize,
    patience: Option<usize>,
    weight_scale: f64,
    /// The circuits the cloud trains with (BlindTuner's before the baseline existed).
    #[serde(default)]
    method: Method,
    /// Samples per training batch, in the order the cloud visits them.
    train_rows: Vec<usize>,
    /// Samples per validation block.
    val_rows: Vec<usize>,
    rotation_keys: usize,
    keys: Digest,
    upload: Digest,
    upload_ciphertexts: usize,
}

impl ExchangePlan {
    fn read(exchange: &Path) -> Result<ExchangePlan> {
        let path = exchange.join(PLAN);
        if !path.exists() {
            bail!(
                "{}: no {PLAN}; `blindtuner client encrypt --exchange {}` writes one",
                exchange.display(),
                exchange.display()
            );
        }
        let plan: ExchangePlan = read_json_file(&path)?;
        if plan.format != FORMAT {
            bail!(
                "{}: format `{}`, this build reads `{FORMAT}`",
                path.display(),
                plan.format
            );
        }
        Ok(plan)
    }

    fn backend(&self) -> Result<BackendName> {
        BackendName::from_str(&self.backend, false)
            .map_err(|_| anyhow::anyhow!("{PLAN}: unknown backend `{}`", self.backend))
    }

    /// The training plan at `slots` slots, checked as `client encrypt` checked it.
    fn training_plan(&self, slots: usize) -> Result<TrainingPlan> {
        TrainingPlan::new(
            self.classes,
            self.cols,
            self.batch,
            slots,
            self.lr,
            self.epochs,
            self.patience,
            self.weight_scale,
        )
        .and_then(|plan| plan.with_method(self.method))
        .with_context(|| format!("{PLAN}: the plan"))
    }
}

/// `secret.key`'s header: which backend, parameter set and keys the secret belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct SecretHeader {
    session: String,
    backend: String,
    parameters: String,
    keys: Digest,
}

/// `client.json`: how the client made its features, for `client decrypt`'s accuracy.
#[derive(Debug, Serialize, Deserialize)]
struct ClientState {
    data: DataArgs,
    hyper: HyperArgs,
}

/// The header of the cloud's ciphertext files: the upload they continue, and the run.
#[derive(Debug, Serialize, Deserialize)]
struct RunHeader {
    upload: Digest,
    stats: TrainingStats,
    /// Steps taken by the model stored first (the one under training, or the model kept).
    steps: usize,
    /// Steps taken by the best epoch's model (stored second, in checkpoints).
    best_steps: usize,
    /// The epoch whose verdict the cloud waits for.
    awaiting_verdict: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LossHeader {
    upload: Digest,
    epoch: usize,
}

/// `verdict-epoch-K.json`.
#[derive(Debug, Serialize, Deserialize)]
struct VerdictFile {
    epoch: usize,
    improved: bool,
    stop: bool,
}

pub fn run_client(args: ClientArgs) -> Result<()> {
    match args.command {
        ClientCommand::Encrypt(args) => encrypt(*args),
        ClientCommand::Judge(args) => judge(args),
        ClientCommand::Decrypt(args) => decrypt(args),
    }
}

pub fn run_cloud(args: CloudArgs) -> Result<()> {
    match args.command {
        CloudCommand::Train(args) => cloud_train(args),
    }
}

/// Refuses a directory that already holds `marker`.
fn refuse_used(dir: &Path, marker: &str, what: &str) -> Result<()> {
    if dir.join(marker).exists() {
        bail!(
            "{}: already holds {what} ({marker}); use an empty directory",
            dir.display()
        );
    }
    Ok(())
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the directory", dir.display()))
}

// ---------------------------------------------------------------------------------------------
// client encrypt

#[derive(Serialize)]
struct EncryptReport {
    role: &'static str,
    /// `blindtuner` or `hetal`: whose circuits the cloud will run.
    method: &'static str,
    backend: &'static str,
    parameters: String,
    security: String,
    slots: usize,
    block: String,
    rotation_keys: usize,
    cloud_key_bytes: u64,
    upload_ciphertexts: usize,
    upload_bytes: u64,
    train_batches: usize,
    val_blocks: usize,
    keygen_s: f64,
    encrypt_s: f64,
}

fn encrypt(args: EncryptArgs) -> Result<()> {
    if args.engine.refresh == Some(Refresh::Client) {
        bail!(
            "--refresh client needs the client at every refresh: the role commands run only where \
             the cloud refreshes alone (bootstrapping); use `blindtuner train --refresh client`"
        );
    }
    refuse_used(&args.dirs.exchange, PLAN, "an upload")?;
    refuse_used(&args.dirs.client_dir, SECRET, "a client secret")?;
    let method = args
        .method
        .circuits()
        .context("--method exact trains without encryption: there is nothing to upload")?;
    let (_, hyper) = args.hyper.resolve(&args.data.dataset)?;
    let features = args.data.load(args.output.quiet, &mut Default::default())?.features;
    with_backend(
        args.engine.backend,
        args.engine.params.as_deref(),
        EncryptOn {
            args: &args,
            method,
            hyper: &hyper,
            features: &features,
        },
    )
}

struct EncryptOn<'a> {
    args: &'a EncryptArgs,
    method: Method,
    hyper: &'a Hyperparams,
    features: &'a FeatureSplits,
}

impl OnBackend for EncryptOn<'_> {
    type Output = ();

    fn run<B>(self, backend: &B, label: &'static str) -> Result<()>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let EncryptOn {
            args,
            method,
            hyper,
            features,
        } = self;
        let caps = backend.capabilities();
        if !caps.bootstrap {
            bail!(
                "{} cannot bootstrap, so the cloud cannot train alone; the role commands need a \
                 bootstrappable set (native boot-n16), or use `blindtuner train --refresh client`",
                caps.parameters
            );
        }
        let plan = plan(features, hyper, args.engine.weight_scale, &caps, method)?;
        crate::encrypted_train::check_plan(&caps, Some(Refresh::Bootstrap))?;
        let crate::encrypted_train::Keys {
            mut client,
            cloud,
            rotations,
            seconds: keygen_s,
        } = crate::encrypted_train::keygen(backend, &plan, "", args.output.quiet)?;
        let keys = cloud.keys_to_bytes()?;
        drop(cloud);

        let t = Instant::now();
        let wait = spinner(args.output.quiet, "encrypting the upload".into());
        let upload = EncryptedData::encrypt(&mut client, &plan, &features.train, &features.val, args.hyper.seed)?;
        let blobs = upload
            .ciphertexts()
            .map(|ct| backend.ciphertext_to_bytes(ct))
            .collect::<Result<Vec<_>, _>>()?;
        let upload_bytes = container(FileKind::Upload, &serde_json::json!({}), &blobs)?;
        wait.finish_and_clear();
        let encrypt_s = t.elapsed().as_secs_f64();

        let params = args
            .engine
            .params
            .clone()
            .unwrap_or_else(|| default_params(args.engine.backend));
        let exchange_plan = ExchangePlan {
            format: FORMAT.into(),
            session: format!("{:032x}", rand::random::<u128>()),
            backend: label.into(),
            parameters: params.clone(),
            security: caps.security.to_string(),
            classes: plan.classes,
            cols: plan.cols,
            batch: plan.batch,
            lr: plan.lr,
            epochs: plan.epochs,
            patience: plan.patience,
            weight_scale: plan.weight_scale,
            method: plan.method,
            train_rows: upload.train_rows(),
            val_rows: upload.val_rows(),
            rotation_keys: rotations,
            keys: Digest::of(&keys),
            upload: Digest::of(&upload_bytes),
            upload_ciphertexts: blobs.len(),
        };
        let secret = container(
            FileKind::Secret,
            &SecretHeader {
                session: exchange_plan.session.clone(),
                backend: label.into(),
                parameters: params,
                keys: exchange_plan.keys.clone(),
            },
            &[backend.client_to_bytes(&client)?],
        )?;
        let (home, exchange) = (&args.dirs.client_dir, &args.dirs.exchange);
        create_dir(home)?;
        create_dir(exchange)?;
        write_private(&home.join(SECRET), &secret)?;
        write_json_file(
            &home.join(CLIENT),
            &ClientState {
                data: args.data.clone(),
                hyper: args.hyper.clone(),
            },
        )?;
        write_atomic(&exchange.join(KEYS), &keys)?;
        write_atomic(&exchange.join(UPLOAD), &upload_bytes)?;
        // Last: a plan marks a complete exchange.
        write_json_file(&exchange.join(PLAN), &exchange_plan)?;

        let report = EncryptReport {
            role: "client encrypt",
            method: plan.method.name(),
            backend: label,
            parameters: caps.parameters.clone(),
            security: caps.security.to_string(),
            slots: caps.slots,
            block: plan.shape.to_string(),
            rotation_keys: rotations,
            cloud_key_bytes: keys.len() as u64,
            upload_ciphertexts: blobs.len(),
            upload_bytes: upload_bytes.len() as u64,
            train_batches: upload.train.len(),
            val_blocks: upload.val.len(),
            keygen_s,
            encrypt_s,
        };
        let summary = format!(
            "client encrypt: {label} {} ({}), {} training batches and {} validation blocks in {} \
             ciphertexts ({:.1} MB), evaluation keys {:.1} MB ({} rotations); keys {keygen_s:.1} s, \
             encryption {encrypt_s:.1} s\nsend {} to the cloud; keep {} private",
            caps.parameters,
            caps.security,
            upload.train.len(),
            upload.val.len(),
            blobs.len(),
            mb(upload_bytes.len()),
            mb(keys.len()),
            rotations,
            exchange.display(),
            home.display()
        );
        finish(args.output.json.as_deref(), &summary, &report)
    }
}

fn default_params(backend: BackendName) -> String {
    match backend {
        BackendName::Seal => "seal-n14".into(),
        BackendName::Plain | BackendName::Native => crate::encrypted_train::DEFAULT_NATIVE.into(),
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

// ---------------------------------------------------------------------------------------------
// cloud train

#[derive(Serialize)]
struct CloudReport {
    role: &'static str,
    /// `awaiting_verdict` (run `client judge`, then `cloud train` again) or `finished`.
    status: &'static str,
    method: &'static str,
    backend: &'static str,
    parameters: String,
    security: String,
    epochs_run: usize,
    best_epoch: usize,
    awaiting_verdict: Option<usize>,
    stopped_early: bool,
    steps: usize,
    /// Steps run by this call.
    steps_this_call: usize,
    ops_per_step: OpsPerStep,
    ops_total: OpsPerStep,
    /// Seconds of this call; the phases and the per-step time cover the whole run.
    call_s: f64,
    per_step_s: f64,
    phases: std::collections::BTreeMap<String, f64>,
}

fn cloud_train(args: CloudTrainArgs) -> Result<()> {
    let plan = ExchangePlan::read(&args.exchange)?;
    with_backend(
        plan.backend()?,
        Some(&plan.parameters),
        CloudTrainOn {
            args: &args,
            exchange_plan: &plan,
        },
    )
}

struct CloudTrainOn<'a> {
    args: &'a CloudTrainArgs,
    exchange_plan: &'a ExchangePlan,
}

/// Reads the ciphertexts of a container, each checked by the backend.
fn ciphertexts<B: Backend>(backend: &B, path: &Path, blobs: &[&[u8]]) -> Result<Vec<B::Ciphertext>> {
    blobs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            backend
                .ciphertext_from_bytes(b)
                .with_context(|| format!("{}: ciphertext {}", path.display(), i + 1))
        })
        .collect()
}

/// A model of `plan`'s shape after `steps` steps from the next ciphertexts of `cts`.
fn model_from<Ct: Clone>(
    plan: &TrainingPlan,
    steps: usize,
    cts: &mut impl Iterator<Item = Ct>,
) -> Result<EncryptedModel<Ct>> {
    Ok(plan.take_model(steps, cts)?)
}

/// Serialises the ciphertexts of `models`, in order.
fn model_blobs<B: Backend>(backend: &B, models: &[&EncryptedModel<B::Ciphertext>]) -> Result<Vec<Vec<u8>>> {
    Ok(models
        .iter()
        .flat_map(|m| m.ciphertexts())
        .map(|ct| backend.ciphertext_to_bytes(ct))
        .collect::<Result<Vec<_>, _>>()?)
}

impl OnBackend for CloudTrainOn<'_> {
    type Output = ();

    fn run<B>(self, backend: &B, label: &'static str) -> Result<()>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let started = Instant::now();
        let (args, xp) = (self.args, self.exchange_plan);
        let dir = &args.exchange;
        let caps = backend.capabilities();
        let plan = xp.training_plan(caps.slots)?;
        if !caps.bootstrap {
            bail!(
                "{}: {} cannot bootstrap; the cloud cannot train alone",
                PLAN,
                caps.parameters
            );
        }

        // Everything is read and checked before any training.
        let model_path = dir.join(MODEL);
        let keys = read_checked(&dir.join(KEYS), &xp.keys, "not the keys this upload was encrypted for")?;
        let upload_path = dir.join(UPLOAD);
        let upload_bytes = read_checked(&upload_path, &xp.upload, "not the upload the plan describes")?;
        let upload = parse::<serde_json::Value>(&upload_path, &upload_bytes, FileKind::Upload)?;
        let data = EncryptedData::take_from(
            &plan,
            &xp.train_rows,
            &xp.val_rows,
            ciphertexts(backend, &upload_path, &upload.blobs)?,
        )
        .with_context(|| format!("{}: its layout", upload_path.display()))?;
        drop(upload_bytes);
        let cloud = backend
            .cloud_from_bytes(&keys)
            .with_context(|| format!("{}", dir.join(KEYS).display()))?;
        drop(keys);
        let cloud = CountingCloud::new(cloud);

        let checkpoint_path = dir.join(CHECKPOINT);
        let (mut state, awaiting) = if checkpoint_path.exists() {
            let bytes = read(&checkpoint_path)?;
            let c = parse::<RunHeader>(&checkpoint_path, &bytes, FileKind::Checkpoint)?;
            if c.header.upload != xp.upload {
                bail!("{}: the checkpoint of another upload", checkpoint_path.display());
            }
            let mut cts = ciphertexts(backend, &checkpoint_path, &c.blobs)?.into_iter();
            let model = model_from(&plan, c.header.steps, &mut cts)?;
            let best = model_from(&plan, c.header.best_steps, &mut cts)?;
            if cts.next().is_some() {
                bail!("{}: more ciphertexts than two models", checkpoint_path.display());
            }
            let state = TrainingState {
                model,
                best,
                stats: c.header.stats,
            };
            (state, c.header.awaiting_verdict)
        } else {
            (TrainingState::start(&data), None)
        };
        if let Some(epoch) = awaiting {
            let path = dir.join(verdict_file(epoch));
            if !path.exists() {
                bail!(
                    "waiting for the client's verdict on epoch {epoch}: run `blindtuner client judge \
                     --exchange {}` (it writes {})",
                    dir.display(),
                    verdict_file(epoch)
                );
            }
            let v: VerdictFile = read_json_file(&path)?;
            if v.epoch != epoch {
                bail!("{}: a verdict on epoch {}, not {epoch}", path.display(), v.epoch);
            }
            state.conclude(Verdict {
                improved: v.improved,
                stop: v.stop,
            });
        }

        let levels_refresh = Bootstrap::new(&cloud)?;
        let levels = plan.levels(&levels_refresh);
        let steps_before = state.stats.steps;
        let bar = progress_bar(
            args.output.quiet,
            &format!("cloud ({label})"),
            (plan.epochs * data.train.len()) as u64,
        );
        bar.set_position(steps_before as u64);
        let mut awaiting = None;
        while !state.finished(&plan) && awaiting.is_none() {
            state.run_epoch(&cloud, &levels, &plan, &data, &mut |event| {
                if let TrainingEvent::Step { step, counts, .. } = event {
                    bar.set_position(step as u64);
                    bar.set_message(format!("{} bootstraps last step", counts.bootstraps));
                }
            })?;
            let epoch = state.stats.epochs_run;
            if plan.patience.is_some() {
                let loss = state.validation_loss(&cloud, &levels, &plan, &data)?;
                let file = container(
                    FileKind::Loss,
                    &LossHeader {
                        upload: xp.upload.clone(),
                        epoch,
                    },
                    &[backend.ciphertext_to_bytes(&loss)?],
                )?;
                write_atomic(&dir.join(loss_file(epoch)), &file)?;
                awaiting = Some(epoch);
            } else {
                state.conclude(Verdict::KEEP_GOING);
            }
            let header = RunHeader {
                upload: xp.upload.clone(),
                stats: state.stats.clone(),
                steps: state.model.steps(),
                best_steps: state.best.steps(),
                awaiting_verdict: awaiting,
            };
            let blobs = model_blobs(backend, &[&state.model, &state.best])?;
            write_atomic(&checkpoint_path, &container(FileKind::Checkpoint, &header, &blobs)?)?;
            bar.println(format!("cloud: epoch {epoch} done ({} steps)", state.stats.steps));
        }
        bar.finish_and_clear();

        let run = &state.stats;
        if awaiting.is_none() {
            let header = RunHeader {
                upload: xp.upload.clone(),
                stats: run.clone(),
                steps: state.best.steps(),
                best_steps: state.best.steps(),
                awaiting_verdict: None,
            };
            let blobs = model_blobs(backend, &[&state.best])?;
            write_atomic(&model_path, &container(FileKind::Model, &header, &blobs)?)?;
        }
        let steps = run.steps.max(1) as f64;
        let train_s = run.times.matmul + run.times.softmax + run.times.update + run.times.refresh;
        let phases = [
            ("train.matmul", run.times.matmul),
            ("train.softmax", run.times.softmax),
            ("train.update", run.times.update),
            ("train.refresh", run.times.refresh),
            ("train.validation", run.validation),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.as_secs_f64()))
        .collect();
        let report = CloudReport {
            role: "cloud train",
            method: plan.method.name(),
            status: if awaiting.is_some() {
                "awaiting_verdict"
            } else {
                "finished"
            },
            backend: label,
            parameters: caps.parameters.clone(),
            security: caps.security.to_string(),
            epochs_run: run.epochs_run,
            best_epoch: run.best_epoch,
            awaiting_verdict: awaiting,
            stopped_early: run.stopped_early,
            steps: run.steps,
            steps_this_call: run.steps - steps_before,
            ops_per_step: ops(run.step_counts, &run.step_refresh, steps),
            ops_total: ops(run.counts, &run.refresh, 1.0),
            call_s: started.elapsed().as_secs_f64(),
            per_step_s: train_s.as_secs_f64() / steps,
            phases,
        };
        let summary = match awaiting {
            Some(epoch) => format!(
                "cloud train: epoch {epoch} of at most {} done, {} steps, {:.1} bootstraps per step; \
                 waiting for the client's verdict: `blindtuner client judge`, then `blindtuner cloud \
                 train` again",
                plan.epochs, run.steps, report.ops_per_step.refreshes
            ),
            None => format!(
                "cloud train: finished after {} epochs ({} steps{}), keeping epoch {}; {:.1} \
                 bootstraps and {:.1} s per step; the encrypted model is {}",
                run.epochs_run,
                run.steps,
                if run.stopped_early { ", stopped early" } else { "" },
                run.best_epoch,
                report.ops_per_step.refreshes,
                report.per_step_s,
                model_path.display()
            ),
        };
        finish(args.output.json.as_deref(), &summary, &report)
    }
}

// ---------------------------------------------------------------------------------------------
// client judge and client decrypt

/// The client's secret for the exchange of `dirs`: it must belong to the plan's keys.
fn secret_for(dirs: &ClientDirs, plan: &ExchangePlan) -> Result<Vec<u8>> {
    let path = dirs.client_dir.join(SECRET);
    let bytes = read(&path)?;
    let secret = parse::<SecretHeader>(&path, &bytes, FileKind::Secret)?;
    let header = &secret.header;
    if header.session != plan.session || header.keys != plan.keys || header.backend != plan.backend {
        bail!(
            "{}: the secret of other keys than {}'s (session {} of {} {}, against session {} of {} {})",
            path.display(),
            dirs.exchange.join(PLAN).display(),
            header.session,
            header.backend,
            header.parameters,
            plan.session,
            plan.backend,
            plan.parameters
        );
    }
    match secret.blobs[..] {
        [blob] => Ok(blob.to_vec()),
        _ => bail!("{}: not one secret", path.display()),
    }
}

#[derive(Serialize)]
struct JudgeReport {
    role: &'static str,
    epoch: usize,
    /// The decrypted Brier score of each epoch so far (kept by the client).
    losses: Vec<f64>,
    improved: bool,
    stop: bool,
}

fn judge(args: JudgeArgs) -> Result<()> {
    let plan = ExchangePlan::read(&args.dirs.exchange)?;
    if plan.patience.is_none() {
        bail!("this plan has no early stopping: the cloud asks for no verdict");
    }
    let secret = secret_for(&args.dirs, &plan)?;
    with_backend(
        plan.backend()?,
        Some(&plan.parameters),
        JudgeOn {
            args: &args,
            plan: &plan,
            secret: &secret,
        },
    )
}

struct JudgeOn<'a> {
    args: &'a JudgeArgs,
    plan: &'a ExchangePlan,
    secret: &'a [u8],
}

impl OnBackend for JudgeOn<'_> {
    type Output = ();

    fn run<B>(self, backend: &B, _: &'static str) -> Result<()>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let JudgeOn { args, plan, secret } = self;
        let dir = &args.dirs.exchange;
        let client = backend.client_from_bytes(secret)?;
        // The verdict depends on every loss so far: the client replays them.
        let mut losses = Vec::new();
        while dir.join(loss_file(losses.len() + 1)).exists() {
            let epoch = losses.len() + 1;
            let path = dir.join(loss_file(epoch));
            let bytes = read(&path)?;
            let file = parse::<LossHeader>(&path, &bytes, FileKind::Loss)?;
            if file.header.upload != plan.upload || file.header.epoch != epoch {
                bail!("{}: not this upload's loss of epoch {epoch}", path.display());
            }
            let [ct] = &ciphertexts(backend, &path, &file.blobs)?[..] else {
                bail!("{}: not one ciphertext", path.display());
            };
            losses.push(read_loss(&client, ct)?);
        }
        let epoch = losses.len();
        if epoch == 0 {
            bail!(
                "{}: no encrypted validation loss yet; run `blindtuner cloud train --exchange {}` first",
                dir.display(),
                dir.display()
            );
        }
        let mut stopping = EarlyStopping::new(plan.patience);
        let mut verdict = Verdict::KEEP_GOING;
        for (k, &loss) in losses.iter().enumerate() {
            verdict = stopping.observe(k + 1, loss);
        }
        write_json_file(
            &dir.join(verdict_file(epoch)),
            &VerdictFile {
                epoch,
                improved: verdict.improved,
                stop: verdict.stop,
            },
        )?;
        let summary = format!(
            "client judge: epoch {epoch}, validation Brier score {:.5}: {}{}",
            losses[epoch - 1],
            if verdict.improved { "improved" } else { "no better" },
            if verdict.stop { ", stop" } else { ", go on" }
        );
        let report = JudgeReport {
            role: "client judge",
            epoch,
            losses,
            improved: verdict.improved,
            stop: verdict.stop,
        };
        finish(args.output.json.as_deref(), &summary, &report)
    }
}

#[derive(Serialize)]
struct DecryptReport {
    role: &'static str,
    backend: String,
    parameters: String,
    epochs_run: usize,
    best_epoch: usize,
    stopped_early: bool,
    steps: usize,
    accuracy: Accuracy,
    decrypt_s: f64,
}

fn decrypt(args: DecryptArgs) -> Result<()> {
    let plan = ExchangePlan::read(&args.dirs.exchange)?;
    let secret = secret_for(&args.dirs, &plan)?;
    let model_path = args.dirs.exchange.join(MODEL);
    if !model_path.exists() {
        bail!(
            "{}: no model yet; `blindtuner cloud train` writes it when it finishes (with early \
             stopping, after `blindtuner client judge` has answered each epoch)",
            model_path.display()
        );
    }
    let state: ClientState = read_json_file(&args.dirs.client_dir.join(CLIENT))?;
    let features = state.data.load(args.output.quiet, &mut Default::default())?.features;
    if features.train.x.cols != plan.cols || features.train.classes != plan.classes {
        bail!(
            "{}: features of {} columns and {} classes, the plan has {} and {}",
            args.dirs.client_dir.join(CLIENT).display(),
            features.train.x.cols,
            features.train.classes,
            plan.cols,
            plan.classes
        );
    }
    with_backend(
        plan.backend()?,
        Some(&plan.parameters),
        DecryptOn {
            args: &args,
            plan: &plan,
            secret: &secret,
            features: &features,
        },
    )
}

struct DecryptOn<'a> {
    args: &'a DecryptArgs,
    plan: &'a ExchangePlan,
    secret: &'a [u8],
    features: &'a FeatureSplits,
}

impl OnBackend for DecryptOn<'_> {
    type Output = ();

    fn run<B>(self, backend: &B, _: &'static str) -> Result<()>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let DecryptOn {
            args,
            plan,
            secret,
            features,
        } = self;
        let t = Instant::now();
        let client = backend.client_from_bytes(secret)?;
        let path = args.dirs.exchange.join(MODEL);
        let bytes = read(&path)?;
        let file = parse::<RunHeader>(&path, &bytes, FileKind::Model)?;
        if file.header.upload != plan.upload {
            bail!("{}: the model of another upload", path.display());
        }
        let training = plan.training_plan(backend.capabilities().slots)?;
        let mut cts = ciphertexts(backend, &path, &file.blobs)?.into_iter();
        let model = model_from(&training, file.header.steps, &mut cts)?;
        let weights = model.decrypt(&client)?;
        let decrypt_s = t.elapsed().as_secs_f64();
        if let Some(p) = &args.save_weights {
            write_weights(p, &weights)?;
        }
        let accuracy = accuracy(&SoftmaxRegression { weights }, features);
        let run = &file.header.stats;
        let summary = format!(
            "client decrypt: epoch {} of {} kept ({} steps); test accuracy {:.2} %, validation {:.2} %",
            run.best_epoch,
            run.epochs_run,
            run.steps,
            100.0 * accuracy.test,
            100.0 * accuracy.val
        );
        let report = DecryptReport {
            role: "client decrypt",
            backend: plan.backend.clone(),
            parameters: plan.parameters.clone(),
            epochs_run: run.epochs_run,
            best_epoch: run.best_epoch,
            stopped_early: run.stopped_early,
            steps: run.steps,
            accuracy,
            decrypt_s,
        };
        finish(args.output.json.as_deref(), &summary, &report)
    }
}
