//! The encrypted training loop (HETAL's protocol, BlindTuner's circuits): the client encrypts
//! the batches once and uploads them; the cloud runs the epochs on ciphertexts alone; after each
//! epoch it computes the encrypted validation loss, which only the client decrypts, and the
//! client answers with one verdict (keep these weights, stop) from early stopping.
//!
//! **Validation loss.** The cloud computes the Brier score, the mean over validation samples of
//! `Σ_q (p_q - y_q)^2` with the approximate softmax's probabilities: one squaring and a mask
//! after the forward pass, against a logarithm that no shallow polynomial approximates near 0.
//! It is a strictly proper scoring rule, as the exact trainer's cross-entropy is, so both pick
//! the epoch whose probabilities fit best; the sum over every slot comes out in every slot of
//! one ciphertext, and the client reads the first.
//!
//! Batches follow the exact trainer's order ([`blindtuner_train::shuffled_order`]), so the
//! plain run of the same circuit matches it step for step.

use blindtuner_backend::{Client, Cloud};
use blindtuner_features::{Features, Matrix};
use blindtuner_train::{Verdict, shuffled_order};

use crate::EncryptedError;
use crate::counting::{CountingCloud, OpCounts};
use crate::matmul::{diag_abt_rotations, diag_atb_rotations};
use crate::ops::{accumulate, doubling_steps, rotate_and_add, rotation_keys};
use crate::packing::{BlockShape, PackedMatrix, PackedScores, padded_classes};
use crate::refresh::{Levels, Refresh, RefreshStats};
use crate::softmax::Softmax;
use crate::step::{EncryptedModel, StepTimes};
use crate::weights::{WeightLayout, Weights};

/// Which circuits the cloud trains with. Both share the packing, DiagABT and DiagATB, NAG and
/// the protocol; they differ where BlindTuner departs from HETAL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Compact weights ([`WeightLayout::Compact`]), BlindTuner's softmax ([`Softmax::new`]),
    /// short ciphertexts refreshed two at a time ([`Levels::ready_many`]).
    #[default]
    BlindTuner,
    /// HETAL as published: tiled weights, HETAL's softmax with its inverse
    /// ([`Softmax::hetal`]), every short ciphertext refreshed on its own
    /// ([`Levels::unpaired`]). The products are the same as BlindTuner's, which take fewer
    /// rotations than HETAL's table (see [`crate::matmul`]): the baseline is, if anything,
    /// faster than HETAL's algorithm.
    Hetal,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::BlindTuner => "blindtuner",
            Method::Hetal => "hetal",
        }
    }

    /// The layout the weights keep between steps.
    pub fn layout(self) -> WeightLayout {
        match self {
            Method::BlindTuner => WeightLayout::Compact,
            Method::Hetal => WeightLayout::Tiled,
        }
    }
}

/// What both sides agree on before training: shapes and hyperparameters, all public.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPlan {
    pub classes: usize,
    /// Feature columns, the bias included.
    pub cols: usize,
    pub batch: usize,
    pub shape: BlockShape,
    pub lr: f64,
    pub epochs: usize,
    /// Early-stopping patience in epochs; none trains every epoch.
    pub patience: Option<usize>,
    /// `M`: the ciphertexts hold the weights divided by it (see [`crate::step`]).
    pub weight_scale: f64,
    /// BlindTuner's circuits unless [`TrainingPlan::with_method`] says otherwise.
    pub method: Method,
}

impl TrainingPlan {
    /// The softmax's block shape for `batch` rows in `slots` slots ([`Softmax::block_shape`]);
    /// the hyperparameters checked.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        classes: usize,
        cols: usize,
        batch: usize,
        slots: usize,
        lr: f64,
        epochs: usize,
        patience: Option<usize>,
        weight_scale: f64,
    ) -> Result<TrainingPlan, EncryptedError> {
        if batch == 0 || epochs == 0 || cols == 0 || !(lr.is_finite() && lr > 0.0) {
            return Err(EncryptedError::Unsupported(format!(
                "batch, epochs and columns must be positive and the learning rate a positive number \
                 (got batch {batch}, epochs {epochs}, {cols} columns, lr {lr})"
            )));
        }
        if !(weight_scale.is_finite() && weight_scale > 0.0) {
            return Err(EncryptedError::Unsupported(format!(
                "the weight scale must be a positive number, not {weight_scale}"
            )));
        }
        let shape = Softmax::block_shape(batch, classes, slots)?;
        if batch > shape.rows() {
            return Err(EncryptedError::Unsupported(format!(
                "a batch of {batch} does not fit one block of {shape} ({} rows at most for {classes} classes in {slots} slots: \
                 each row holds the softmax's two periods of {} padded classes)",
                shape.rows(),
                padded_classes(classes)?
            )));
        }
        let plan = TrainingPlan {
            classes,
            cols,
            batch,
            shape,
            lr,
            epochs,
            patience,
            weight_scale,
            method: Method::BlindTuner,
        };
        plan.softmax()?;
        Ok(plan)
    }

    /// The same plan trained with `method`'s circuits.
    pub fn with_method(self, method: Method) -> Result<TrainingPlan, EncryptedError> {
        let plan = TrainingPlan { method, ..self };
        plan.softmax()?;
        Ok(plan)
    }

    /// The method's softmax circuit for this plan's classes, shape and weight scale.
    pub fn softmax(&self) -> Result<Softmax, EncryptedError> {
        let circuit = match self.method {
            Method::BlindTuner => Softmax::new(self.classes, self.shape)?,
            Method::Hetal => Softmax::hetal(self.classes, self.shape)?,
        };
        circuit.with_logit_scale(self.weight_scale)
    }

    /// The method's level policy with `refresh`.
    pub fn levels<'a, Ct: Clone>(&self, refresh: &'a dyn Refresh<Ct>) -> Levels<'a, Ct> {
        match self.method {
            Method::BlindTuner => Levels::refreshing(refresh),
            Method::Hetal => Levels::refreshing(refresh).unpaired(),
        }
    }

    /// The model after `steps` steps whose ciphertexts are the next ones of `cts` (see
    /// [`EncryptedModel::take_from`]).
    pub fn take_model<Ct: Clone>(
        &self,
        steps: usize,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<EncryptedModel<Ct>, EncryptedError> {
        EncryptedModel::take_from(
            self.method.layout(),
            (self.classes, self.cols),
            self.shape,
            self.weight_scale,
            steps,
            cts,
        )
    }

    /// Every rotation the cloud needs keys for: both products, the weights' layout, the
    /// softmax, the loss's sum.
    pub fn rotations(&self) -> Result<Vec<i64>, EncryptedError> {
        let steps = diag_abt_rotations(self.shape, self.classes)?
            .into_iter()
            .chain(diag_atb_rotations(self.shape, self.classes)?)
            .chain(self.method.layout().rotations(self.shape, self.classes, self.cols)?)
            .chain(self.softmax()?.rotations())
            .chain(doubling_steps(1, self.shape.slots()));
        Ok(rotation_keys(self.shape, steps))
    }
}

/// One batch as the client uploads it: features and one-hot labels.
#[derive(Debug, Clone)]
pub struct EncryptedBatch<Ct> {
    pub x: PackedMatrix<Ct>,
    pub labels: PackedScores<Ct>,
}

impl<Ct> EncryptedBatch<Ct> {
    /// Encrypts the rows `rows` of `data`.
    fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        data: &Features,
        rows: &[usize],
        shape: BlockShape,
    ) -> Result<EncryptedBatch<Ct>, EncryptedError> {
        let cols = data.x.cols;
        let x = Matrix::from_rows(
            rows.len(),
            cols,
            rows.iter().flat_map(|&i| data.x.row(i).iter().copied()).collect(),
        );
        let labels: Vec<usize> = rows.iter().map(|&i| data.labels[i]).collect();
        Ok(EncryptedBatch {
            x: PackedMatrix::encrypt_features(client, &x, shape)?,
            labels: PackedScores::encrypt_labels(client, &labels, data.classes, shape)?,
        })
    }
}

/// Everything the client uploads: the training batches in the order they are visited, the
/// validation set in blocks of `s0` rows, and the initial (zero) weights.
#[derive(Debug, Clone)]
pub struct EncryptedData<Ct> {
    pub train: Vec<EncryptedBatch<Ct>>,
    pub val: Vec<EncryptedBatch<Ct>>,
    pub initial: EncryptedModel<Ct>,
}

impl<Ct: Clone> EncryptedData<Ct> {
    /// The client's side: encrypts `train` in the order of `seed` (the exact trainer's) and
    /// `val`, both with the bias column last, and zero weights.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        plan: &TrainingPlan,
        train: &Features,
        val: &Features,
        seed: u64,
    ) -> Result<EncryptedData<Ct>, EncryptedError> {
        for (split, data) in [("training", train), ("validation", val)] {
            if data.x.cols != plan.cols || data.classes != plan.classes || data.is_empty() {
                return Err(EncryptedError::mismatch(
                    "the plan's columns and classes and a split's",
                    format!("{} columns, {} classes", plan.cols, plan.classes),
                    format!(
                        "{split}: {} rows of {} columns, {} classes",
                        data.len(),
                        data.x.cols,
                        data.classes
                    ),
                ));
            }
        }
        let order = shuffled_order(train.len(), seed);
        let train_batches = order
            .chunks(plan.batch)
            .map(|rows| EncryptedBatch::encrypt(client, train, rows, plan.shape))
            .collect::<Result<_, _>>()?;
        let val_rows: Vec<usize> = (0..val.len()).collect();
        let val_batches = val_rows
            .chunks(plan.shape.rows())
            .map(|rows| EncryptedBatch::encrypt(client, val, rows, plan.shape))
            .collect::<Result<_, _>>()?;
        let zeros = Matrix::zeros(plan.classes, plan.cols);
        Ok(EncryptedData {
            train: train_batches,
            val: val_batches,
            initial: EncryptedModel::encrypt(client, &zeros, plan.shape, plan.method.layout(), plan.weight_scale)?,
        })
    }

    /// The upload whose ciphertexts (in the order of [`Self::ciphertexts`]) are those of
    /// `cts`, for training batches of `train_rows` samples each and validation blocks of
    /// `val_rows`: the cloud's side of the upload. Every ciphertext must be used.
    pub fn take_from(
        plan: &TrainingPlan,
        train_rows: &[usize],
        val_rows: &[usize],
        cts: impl IntoIterator<Item = Ct>,
    ) -> Result<EncryptedData<Ct>, EncryptedError> {
        let mut cts = cts.into_iter();
        let (classes, cols, shape) = (plan.classes, plan.cols, plan.shape);
        let mut batches = |rows: &[usize], most: usize| {
            rows.iter()
                .map(|&n| {
                    if n > most {
                        return Err(EncryptedError::mismatch(
                            "rows of an uploaded batch",
                            n,
                            format!("{most} at most"),
                        ));
                    }
                    Ok(EncryptedBatch {
                        x: PackedMatrix::take_from(n, cols, shape, &mut cts)?,
                        labels: PackedScores::take_from(n, classes, shape, &mut cts)?,
                    })
                })
                .collect::<Result<Vec<_>, EncryptedError>>()
        };
        let train = batches(train_rows, plan.batch)?;
        let val = batches(val_rows, shape.rows())?;
        if train.is_empty() || val.is_empty() {
            return Err(EncryptedError::Unsupported(
                "an upload needs at least one training batch and one validation block".into(),
            ));
        }
        let weights = Weights::take_from(plan.method.layout(), classes, cols, shape, &mut cts)?;
        let initial = EncryptedModel::new(weights, plan.weight_scale)?;
        let initial = EncryptedData { train, val, initial };
        match cts.count() {
            0 => Ok(initial),
            extra => Err(EncryptedError::mismatch(
                "ciphertexts of an upload",
                format!("{} used", initial.ciphertexts().count()),
                format!("{extra} more sent"),
            )),
        }
    }

    /// Samples per training batch, in the order they are visited.
    pub fn train_rows(&self) -> Vec<usize> {
        self.train.iter().map(|b| b.x.rows()).collect()
    }

    /// Samples per validation block.
    pub fn val_rows(&self) -> Vec<usize> {
        self.val.iter().map(|b| b.x.rows()).collect()
    }

    /// Every ciphertext of the upload: the batches' features and labels, then the initial
    /// weights (`v_0 = w_0`, sent once).
    pub fn ciphertexts(&self) -> impl Iterator<Item = &Ct> {
        self.train
            .iter()
            .chain(&self.val)
            .flat_map(|b| b.x.blocks().iter().chain(b.labels.blocks()))
            .chain(self.initial.weights().cts())
    }
}

/// The encrypted Brier score of `model` on the validation batches (see the module docs), in
/// every slot of one ciphertext.
pub fn validation_loss<C: Cloud>(
    cloud: &C,
    levels: &Levels<C::Ciphertext>,
    softmax: &Softmax,
    model: &EncryptedModel<C::Ciphertext>,
    val: &[EncryptedBatch<C::Ciphertext>],
) -> Result<C::Ciphertext, EncryptedError>
where
    C::Ciphertext: Clone,
{
    let samples: usize = val.iter().map(|b| b.x.rows()).sum();
    let mut total = None;
    for batch in val {
        let p = model.probabilities(cloud, levels, softmax, &batch.x)?;
        let (shape, classes) = (p.shape(), p.classes());
        let c = padded_classes(classes)?;
        let errors = p
            .blocks()
            .iter()
            .zip(batch.labels.blocks())
            .map(|(p, y)| Ok((cloud.sub(p, y)?, 2)))
            .collect::<Result<Vec<_>, EncryptedError>>()?;
        for (r, e) in levels
            .ready_many(cloud, "the validation loss", errors)?
            .iter()
            .enumerate()
        {
            // Real classes of real samples, each term divided by the sample count.
            let mask = shape.slots_from(|i, u| {
                let real = u < c && r * shape.rows() + i < batch.x.rows() && (i + u) % c < classes;
                if real { 1.0 / samples as f64 } else { 0.0 }
            });
            let term = cloud.mul_plain(&cloud.mul(e, e)?, &mask)?;
            total = Some(accumulate(cloud, total, term)?);
        }
    }
    let total = total.ok_or_else(|| EncryptedError::Unsupported("no validation samples".into()))?;
    Ok(rotate_and_add(
        cloud,
        total,
        doubling_steps(1, cloud.capabilities().slots),
    )?)
}

/// The client's side: the loss in the first slot of [`validation_loss`]'s ciphertext.
pub fn read_loss<K: Client>(client: &K, loss: &K::Ciphertext) -> Result<f64, EncryptedError> {
    let values = client.decrypt(loss)?;
    values
        .first()
        .copied()
        .ok_or_else(|| EncryptedError::Unsupported("a decryption without slots".into()))
}

/// What the loop reports as it goes.
#[derive(Debug)]
pub enum TrainingEvent<'a, Ct> {
    /// A step finished (`step` counts from 1 over the run, of `total` at most).
    Step {
        epoch: usize,
        step: usize,
        total: usize,
        times: StepTimes,
        counts: OpCounts,
        refresh: RefreshStats,
    },
    /// An epoch finished with this verdict on its weights.
    Epoch {
        epoch: usize,
        model: &'a EncryptedModel<Ct>,
        verdict: Verdict,
    },
}

/// The result of an encrypted training run.
#[derive(Debug, Clone)]
pub struct TrainingRun<Ct> {
    /// The weights of the best epoch by the client's verdicts.
    pub model: EncryptedModel<Ct>,
    pub stats: TrainingStats,
}

/// What a run did and cost.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingStats {
    pub epochs_run: usize,
    /// 1-based epoch kept (0 before any verdict).
    pub best_epoch: usize,
    pub steps: usize,
    pub stopped_early: bool,
    /// All steps' phases.
    pub times: StepTimes,
    /// The validation losses' computation (refreshes inside it are in `times.refresh`).
    pub validation: std::time::Duration,
    /// All operations, validation included.
    pub counts: OpCounts,
    /// The operations of the steps alone.
    pub step_counts: OpCounts,
    /// The refreshes (bootstraps or client rounds) of the steps alone.
    #[serde(default)]
    pub step_refresh: RefreshStats,
    pub refresh: RefreshStats,
}

/// The client's answer to the encrypted validation loss of an epoch (1-based).
pub type Judge<'a, Ct> = dyn FnMut(usize, &Ct) -> Result<Verdict, EncryptedError> + 'a;

/// A run between two epochs, as a checkpoint holds it: the weights under training, the best
/// epoch's weights by the verdicts so far, and what the run cost.
#[derive(Debug, Clone)]
pub struct TrainingState<Ct> {
    pub model: EncryptedModel<Ct>,
    pub best: EncryptedModel<Ct>,
    pub stats: TrainingStats,
}

impl<Ct: Clone> TrainingState<Ct> {
    /// Before the first epoch: the upload's initial weights.
    pub fn start(data: &EncryptedData<Ct>) -> TrainingState<Ct> {
        TrainingState {
            model: data.initial.clone(),
            best: data.initial.clone(),
            stats: TrainingStats::default(),
        }
    }

    /// Whether the run is over: every epoch run, or stopped early.
    pub fn finished(&self, plan: &TrainingPlan) -> bool {
        self.stats.stopped_early || self.stats.epochs_run >= plan.epochs
    }

    /// Runs the next epoch: one step per training batch. `on_event` sees every step.
    pub fn run_epoch<C: Cloud<Ciphertext = Ct>>(
        &mut self,
        cloud: &CountingCloud<C>,
        levels: &Levels<Ct>,
        plan: &TrainingPlan,
        data: &EncryptedData<Ct>,
        on_event: &mut dyn FnMut(TrainingEvent<'_, Ct>),
    ) -> Result<(), EncryptedError>
    where
        Ct: Send + Sync,
    {
        if self.finished(plan) {
            return Err(EncryptedError::Unsupported(format!(
                "the run is over after {} epochs; there is no epoch left to train",
                self.stats.epochs_run
            )));
        }
        let softmax = plan.softmax()?;
        let (start_counts, start_refresh) = (cloud.counts(), levels.stats());
        let (epoch, total) = (self.stats.epochs_run + 1, plan.epochs * data.train.len());
        let run = &mut self.stats;
        for batch in &data.train {
            let (before, refreshes) = (cloud.counts(), levels.stats());
            let times = self
                .model
                .step(cloud, levels, &softmax, &batch.x, &batch.labels, plan.lr)?;
            let counts = cloud.counts() - before;
            let refresh = levels.stats() - refreshes;
            run.step_refresh += refresh;
            run.steps += 1;
            run.times += times;
            run.step_counts = run.step_counts + counts;
            on_event(TrainingEvent::Step {
                epoch,
                step: run.steps,
                total,
                times,
                counts,
                refresh,
            });
        }
        run.epochs_run = epoch;
        run.counts = run.counts + (cloud.counts() - start_counts);
        run.refresh += levels.stats() - start_refresh;
        Ok(())
    }

    /// The encrypted validation loss of the weights under training ([`validation_loss`]), its
    /// cost added to the run's.
    pub fn validation_loss<C: Cloud<Ciphertext = Ct>>(
        &mut self,
        cloud: &CountingCloud<C>,
        levels: &Levels<Ct>,
        plan: &TrainingPlan,
        data: &EncryptedData<Ct>,
    ) -> Result<Ct, EncryptedError> {
        let (start_counts, start_refresh) = (cloud.counts(), levels.stats());
        let started = std::time::Instant::now();
        let loss = validation_loss(cloud, levels, &plan.softmax()?, &self.model, &data.val)?;
        let refresh = levels.stats() - start_refresh;
        let run = &mut self.stats;
        run.validation += started.elapsed().saturating_sub(refresh.time);
        run.times.refresh += refresh.time;
        run.counts = run.counts + (cloud.counts() - start_counts);
        run.refresh += refresh;
        Ok(loss)
    }

    /// Applies the client's verdict on the epoch just run: its weights become the best if they
    /// improved, and the run ends if it says stop.
    pub fn conclude(&mut self, verdict: Verdict) {
        if verdict.improved {
            self.best = self.model.clone();
            self.stats.best_epoch = self.stats.epochs_run;
        }
        self.stats.stopped_early |= verdict.stop;
    }
}

/// Trains from `data.initial` on the cloud. After each epoch `judge` (the client) receives the
/// encrypted validation loss and answers with its verdict; without patience (no early
/// stopping) no loss is computed and the last epoch is kept. `on_event` sees every step and
/// epoch.
pub fn train<C: Cloud>(
    cloud: &CountingCloud<C>,
    levels: &Levels<C::Ciphertext>,
    plan: &TrainingPlan,
    data: &EncryptedData<C::Ciphertext>,
    judge: &mut Judge<'_, C::Ciphertext>,
    on_event: &mut dyn FnMut(TrainingEvent<'_, C::Ciphertext>),
) -> Result<TrainingRun<C::Ciphertext>, EncryptedError>
where
    C::Ciphertext: Clone,
{
    let mut state = TrainingState::start(data);
    while !state.finished(plan) {
        state.run_epoch(cloud, levels, plan, data, on_event)?;
        // Without early stopping nothing needs the loss: the last epoch's weights are kept.
        let verdict = match plan.patience {
            None => Verdict::KEEP_GOING,
            Some(_) => {
                let loss = state.validation_loss(cloud, levels, plan, data)?;
                judge(state.stats.epochs_run, &loss)?
            }
        };
        state.conclude(verdict);
        on_event(TrainingEvent::Epoch {
            epoch: state.stats.epochs_run,
            model: &state.model,
            verdict,
        });
    }
    Ok(TrainingRun {
        model: state.best,
        stats: state.stats,
    })
}
