//! `blindtuner bench step`: the time of one encrypted training step at a chosen shape (HETAL's
//! MNIST shape by default: a batch of 1,024 rows, 768 features and the bias, 10 classes), on any
//! backend, of BlindTuner or of the HETAL baseline (`--method hetal`), with where the time went
//! and the operations it took.
//!
//! The features are synthetic (uniform in [-1, 1], the bias column 1, random labels): a step's
//! time and operation counts depend on the shape and the parameter set alone, not on the values,
//! so the figures are those of a real run at that shape. Every step starts from the weights the
//! previous one left, so the steps after the first show the steady state of the level schedule.

use std::time::Instant;

use anyhow::{Result, bail};
use blindtuner_backend::Backend;
use blindtuner_encrypted::counting::CountingCloud;
use blindtuner_encrypted::refresh::Bootstrap;
use blindtuner_encrypted::step::StepTimes;
use blindtuner_encrypted::training::{EncryptedData, TrainingEvent, TrainingPlan, TrainingState};
use blindtuner_features::{Features, Matrix};
use blindtuner_reports::records::{StepRecord, StepTiming};
use blindtuner_reports::utc_now_rfc3339;
use clap::Args;
use rand::{Rng, SeedableRng};

use crate::encrypted_train::{Keys, OnBackend, check_plan, keygen, ops, with_backend};
use crate::output::{peak_rss, print_stdout, write_json};
use crate::train_cmd::{Backend as BackendName, Method, progress_bar, spinner};

#[derive(Args)]
pub struct StepArgs {
    /// The circuits: BlindTuner's or the HETAL baseline's (`exact` has no encrypted step).
    #[arg(long, value_enum, default_value_t = Method::Blindtuner)]
    method: Method,
    /// Engine: native (default) or plain; a step needs a bootstrappable set, so seal is
    /// refused in one line.
    #[arg(long, value_enum, default_value_t = BackendName::Native)]
    backend: BackendName,
    /// The backend's parameter set (defaults as in `train`: boot-n16 on native).
    #[arg(long, value_name = "NAME")]
    params: Option<String>,
    /// Rows of the batch.
    #[arg(long, default_value_t = 1024)]
    rows: usize,
    /// Feature columns without the bias (HETAL's ViT features: 768).
    #[arg(long, default_value_t = 768)]
    features: usize,
    #[arg(long, default_value_t = 10)]
    classes: usize,
    /// Training steps to time (each on its own batch).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    steps: u32,
    #[arg(long, default_value_t = 1.0)]
    lr: f64,
    /// The public power of two the encrypted weights are divided by (as in `train`).
    #[arg(long, default_value_t = 16.0)]
    weight_scale: f64,
    /// Threads the engine may use.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// Write the result as JSON to this file (`-` for stdout).
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: StepArgs) -> Result<()> {
    if args.method.circuits().is_none() {
        bail!("--method exact trains without encryption: there is no encrypted step to time");
    }
    if args.rows == 0 || args.features == 0 || args.classes < 2 {
        bail!(
            "a step needs rows, features and at least two classes (got {} rows, {} features, {} classes)",
            args.rows,
            args.features,
            args.classes
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads as usize)
        .build()?;
    let report = pool.install(|| with_backend(args.backend, args.params.as_deref(), TimeSteps { args: &args }))?;
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if args.json.as_deref() != Some(std::path::Path::new("-")) {
        print_stdout(&summary(&report))?;
    }
    Ok(())
}

/// `rows` synthetic samples: features uniform in [-1, 1], the bias last, random labels.
fn synthetic(rows: usize, features: usize, classes: usize, rng: &mut impl Rng) -> Features {
    let cols = features + 1;
    let mut data = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        data.extend((0..features).map(|_| rng.random_range(-1.0..=1.0)));
        data.push(1.0);
    }
    Features {
        x: Matrix::from_rows(rows, cols, data),
        labels: (0..rows).map(|_| rng.random_range(0..classes)).collect(),
        classes,
    }
}

struct TimeSteps<'a> {
    args: &'a StepArgs,
}

impl OnBackend for TimeSteps<'_> {
    type Output = StepRecord;

    fn run<B>(self, backend: &B, label: &'static str) -> Result<StepRecord>
    where
        B: Backend + Sync,
        B::Client: Send,
    {
        let args = self.args;
        let caps = backend.capabilities();
        if !caps.bootstrap {
            bail!(
                "{} cannot bootstrap: a step benchmark needs a bootstrappable set (native boot-n16 or boot-toy-n12-w9, or plain)",
                caps.parameters
            );
        }
        check_plan(&caps, None)?;
        let steps = args.steps as usize;
        let plan = TrainingPlan::new(
            args.classes,
            args.features + 1,
            args.rows,
            caps.slots,
            args.lr,
            1,
            None,
            args.weight_scale,
        )?
        .with_method(args.method.circuits().expect("checked in run"))?;
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let train = synthetic(args.rows * steps, args.features, args.classes, &mut rng);
        let val = synthetic(1, args.features, args.classes, &mut rng);
        let Keys {
            mut client,
            cloud,
            rotations,
            seconds: keygen_s,
        } = keygen(backend, &plan, &format!("{label}: "), args.quiet)?;

        let t = Instant::now();
        let wait = spinner(args.quiet, format!("{label}: encrypting {steps} batches"));
        let data = EncryptedData::encrypt(&mut client, &plan, &train, &val, 0)?;
        wait.finish_and_clear();
        let encrypt_s = t.elapsed().as_secs_f64();

        let cloud = CountingCloud::new(cloud);
        let bootstrap = Bootstrap::new(&cloud)?;
        let levels = plan.levels(&bootstrap);
        let bar = progress_bar(args.quiet, &format!("{label}: training steps"), steps as u64);
        let mut state = TrainingState::start(&data);
        let mut results = Vec::with_capacity(steps);
        let mut started = Instant::now();
        state.run_epoch(&cloud, &levels, &plan, &data, &mut |event| {
            if let TrainingEvent::Step {
                step,
                times,
                counts,
                refresh: refreshed,
                ..
            } = event
            {
                let StepTimes {
                    matmul,
                    softmax,
                    update,
                    refresh,
                } = times;
                results.push(StepTiming {
                    total_s: started.elapsed().as_secs_f64(),
                    matmul_s: matmul.as_secs_f64(),
                    softmax_s: softmax.as_secs_f64(),
                    update_s: update.as_secs_f64(),
                    refresh_s: refresh.as_secs_f64(),
                    ops: ops(counts, &refreshed, 1.0),
                });
                bar.set_position(step as u64);
                bar.set_message(format!("{} bootstraps last step", counts.bootstraps));
                started = Instant::now();
            }
        })?;
        bar.finish_and_clear();

        let mut record = StepRecord {
            kind: "measured".into(),
            method: plan.method.name().into(),
            backend: label.into(),
            parameters: caps.parameters.clone(),
            security: caps.security.to_string(),
            rows: args.rows,
            cols: plan.cols,
            classes: args.classes,
            block: plan.shape.to_string(),
            threads: args.threads,
            rotation_keys: rotations,
            keygen_s,
            encrypt_s,
            steps: results,
            median_step_s: 0.0,
            mean_step_s: None,
            peak_rss_bytes: peak_rss(),
            machine: crate::calibration::machine()?,
            date: utc_now_rfc3339(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        record.median_step_s = record.median_of(|s| s.total_s);
        record.mean_step_s = Some(record.mean_step());
        Ok(record)
    }
}

fn summary(r: &StepRecord) -> String {
    let mut out = format!(
        "one {} training step on {} ({}), batch {} x {} columns, {} classes, blocks {}, {} thread(s)\n\
         keys: {} rotations in {:.1} s; {} batches encrypted in {:.1} s\n",
        r.method,
        r.backend,
        r.parameters,
        r.rows,
        r.cols,
        r.classes,
        r.block,
        r.threads,
        r.rotation_keys,
        r.keygen_s,
        r.steps.len(),
        r.encrypt_s
    );
    out.push_str("step   total s  matmul  softmax  update  refresh  bootstraps  products  rotations\n");
    for (i, s) in r.steps.iter().enumerate() {
        out.push_str(&format!(
            "{:>4} {:>9.2} {:>7.2} {:>8.2} {:>7.2} {:>8.2} {:>11} {:>9} {:>10}\n",
            i + 1,
            s.total_s,
            s.matmul_s,
            s.softmax_s,
            s.update_s,
            s.refresh_s,
            s.ops.refreshes,
            s.ops.mul,
            s.ops.rotations
        ));
    }
    let which = if r.steps.len() > 2 { " (after the first)" } else { "" };
    out.push_str(&format!(
        "median step{which}: {:.2} s, mean {:.2} s",
        r.median_step_s,
        r.mean_step()
    ));
    if let Some(bytes) = r.peak_rss_bytes {
        out.push_str(&format!(", peak memory {:.1} GB", bytes as f64 / 1e9));
    }
    out.push('\n');
    out
}
