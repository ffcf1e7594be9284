//! The exact plaintext reference trainer: multinomial softmax regression in
//! f64, trained with Nesterov's accelerated gradient on mini-batches, with
//! validation-based early stopping. Every encrypted run is compared with it.
//!
//! Model: `P = softmax(X W^T)` row-wise, with `X` the `n x d` features (bias
//! column included) and `W` the `c x d` weights. Loss: mean cross-entropy
//! `J(W) = -(1/n) sum_i log P[i, y_i]`; gradient `(1/n) (P - Y)^T X`.
//!
//! Optimiser: Nesterov's accelerated gradient in the form encrypted
//! logistic-regression training uses (Kim et al., "Logistic regression model
//! training based on the approximate homomorphic encryption", 2018):
//!
//! ```text
//! v_{t+1} = w_t - lr * grad J(w_t)            (gradient step on the batch)
//! w_{t+1} = (1 - g_t) v_{t+1} + g_t v_t       (look-ahead)
//! l_0 = 1,  l_{t+1} = (1 + sqrt(1 + 4 l_t^2)) / 2,  g_t = (1 - l_t) / l_{t+1}
//! ```
//!
//! so the momentum `-g_t = (l_t - 1) / l_{t+1}` rises from 0 towards 1. The
//! schedule depends on the step count only, so an encrypted trainer applies
//! it with plaintext constants. Batches are contiguous slices of the
//! training set after one seeded shuffle, fixed across epochs, as an
//! encrypted trainer holds them (one set of ciphertexts per batch).

mod presets;

pub use presets::{Hyperparams, PRESETS, Preset, default_preset, preset};

use blindtuner_features::{Features, Matrix};
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// Why training could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("{0}")]
    BadHyperparams(String),
    #[error("the {split} features have {found} columns but the training features have {expected}")]
    DimensionMismatch {
        split: &'static str,
        expected: usize,
        found: usize,
    },
}

/// A softmax-regression classifier: `c x d` weights, bias in the last column.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxRegression {
    pub weights: Matrix,
}

/// Mean loss and accuracy of a model on a split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
}

impl SoftmaxRegression {
    pub fn zeros(classes: usize, dim: usize) -> Self {
        SoftmaxRegression {
            weights: Matrix::zeros(classes, dim),
        }
    }

    pub fn classes(&self) -> usize {
        self.weights.rows
    }

    /// Writes the class probabilities of feature row `x` into `p`.
    fn probabilities(&self, x: &[f64], p: &mut [f64]) {
        for (k, pk) in p.iter_mut().enumerate() {
            *pk = dot(self.weights.row(k), x);
        }
        softmax_in_place(p);
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: &Matrix) -> Vec<usize> {
        let mut p = vec![0.0; self.classes()];
        (0..x.rows)
            .map(|i| {
                self.probabilities(x.row(i), &mut p);
                argmax(&p)
            })
            .collect()
    }

    pub fn evaluate(&self, data: &Features) -> Evaluation {
        let mut p = vec![0.0; self.classes()];
        let (mut loss, mut correct) = (0.0, 0usize);
        for (i, &y) in data.labels.iter().enumerate() {
            self.probabilities(data.x.row(i), &mut p);
            loss -= p[y].max(f64::MIN_POSITIVE).ln();
            correct += usize::from(argmax(&p) == y);
        }
        let n = data.len().max(1) as f64;
        Evaluation {
            loss: loss / n,
            accuracy: correct as f64 / n,
        }
    }
}

/// What happened in one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    /// Mean of the batch losses seen during the epoch (before each step).
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The weights of the epoch with the lowest validation loss.
    pub model: SoftmaxRegression,
    pub epochs_run: usize,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    pub steps: usize,
    pub stopped_early: bool,
    pub history: Vec<EpochRecord>,
}

/// Progress reported to the caller while training.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// A mini-batch step finished (`step` counts from 1 over the whole run).
    Step {
        epoch: usize,
        step: usize,
    },
    Epoch(EpochRecord),
}

/// Nesterov schedule state: `l_t` of the module docs.
#[derive(Debug, Clone, Copy)]
pub struct NesterovSchedule {
    lambda: f64,
}

impl Default for NesterovSchedule {
    fn default() -> Self {
        NesterovSchedule { lambda: 1.0 }
    }
}

impl NesterovSchedule {
    /// The schedule after `steps` steps (a run resumed from a checkpoint).
    pub fn after(steps: usize) -> NesterovSchedule {
        let mut schedule = NesterovSchedule::default();
        for _ in 0..steps {
            schedule.next_gamma();
        }
        schedule
    }

    /// Advances one step and returns `g_t = (1 - l_t) / l_{t+1}`.
    pub fn next_gamma(&mut self) -> f64 {
        let next = (1.0 + (1.0 + 4.0 * self.lambda * self.lambda).sqrt()) / 2.0;
        let gamma = (1.0 - self.lambda) / next;
        self.lambda = next;
        gamma
    }
}

/// The order in which training visits `len` examples: one seeded shuffle, fixed across epochs
/// and shared by every trainer (exact or encrypted), so their batches are the same.
pub fn shuffled_order(len: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed));
    order
}

/// Validation-based early stopping: the epoch of the lowest validation loss is the one kept,
/// and training stops after `patience` epochs without a new lowest (never without patience).
#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping {
    patience: Option<usize>,
    best_loss: f64,
    best_epoch: usize,
}

/// What one epoch's validation loss decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// This epoch's weights are the best so far: keep them.
    pub improved: bool,
    /// Stop training now.
    pub stop: bool,
}

impl Verdict {
    /// Training without early stopping: every epoch's weights replace the last, none stops.
    pub const KEEP_GOING: Verdict = Verdict {
        improved: true,
        stop: false,
    };
}

impl EarlyStopping {
    pub fn new(patience: Option<usize>) -> EarlyStopping {
        EarlyStopping {
            patience,
            best_loss: f64::INFINITY,
            best_epoch: 0,
        }
    }

    /// The verdict on 1-based `epoch` with validation loss `loss`.
    pub fn observe(&mut self, epoch: usize, loss: f64) -> Verdict {
        if loss < self.best_loss {
            (self.best_loss, self.best_epoch) = (loss, epoch);
            return Verdict {
                improved: true,
                stop: false,
            };
        }
        Verdict {
            improved: false,
            stop: self.patience.is_some_and(|p| epoch - self.best_epoch >= p),
        }
    }

    /// The 1-based epoch kept (0 before any).
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
}

/// Trains from zero weights. `seed` fixes the one shuffle of the training set.
pub fn train(
    train: &Features,
    val: &Features,
    hyper: &Hyperparams,
    seed: u64,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<TrainOutcome, TrainError> {
    if hyper.batch == 0 || hyper.epochs == 0 || !(hyper.lr.is_finite() && hyper.lr > 0.0) {
        return Err(TrainError::BadHyperparams(format!(
            "batch and epochs must be positive and the learning rate a positive number (got batch {}, epochs {}, lr {})",
            hyper.batch, hyper.epochs, hyper.lr
        )));
    }
    if train.is_empty() || val.is_empty() {
        return Err(TrainError::BadHyperparams(
            "training and validation splits must not be empty".into(),
        ));
    }
    if val.x.cols != train.x.cols {
        return Err(TrainError::DimensionMismatch {
            split: "validation",
            expected: train.x.cols,
            found: val.x.cols,
        });
    }
    let (c, d) = (train.classes, train.x.cols);
    let order = shuffled_order(train.len(), seed);

    let mut w = SoftmaxRegression::zeros(c, d);
    let mut v_prev = Matrix::zeros(c, d);
    let mut grad = Matrix::zeros(c, d);
    let mut schedule = NesterovSchedule::default();
    let mut stopping = EarlyStopping::new(hyper.patience);
    let mut best = w.clone();
    let mut history = Vec::new();
    let mut steps = 0;
    let mut stopped_early = false;

    for epoch in 1..=hyper.epochs {
        let mut loss_sum = 0.0;
        let batches = order.chunks(hyper.batch);
        let n_batches = batches.len();
        for batch in batches {
            loss_sum += batch_gradient(&w, train, batch, &mut grad);
            // v_{t+1} = w_t - lr grad;  w_{t+1} = (1 - g) v_{t+1} + g v_t.
            let gamma = schedule.next_gamma();
            for ((wi, vp), gi) in w.weights.data.iter_mut().zip(&mut v_prev.data).zip(&grad.data) {
                let v_next = *wi - hyper.lr * gi;
                *wi = (1.0 - gamma) * v_next + gamma * *vp;
                *vp = v_next;
            }
            steps += 1;
            on_progress(Progress::Step { epoch, step: steps });
        }
        let eval = w.evaluate(val);
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / n_batches as f64,
            val_loss: eval.loss,
            val_accuracy: eval.accuracy,
        };
        history.push(record);
        on_progress(Progress::Epoch(record));
        let verdict = stopping.observe(epoch, eval.loss);
        if verdict.improved {
            best = w.clone();
        } else if verdict.stop {
            stopped_early = true;
            break;
        }
    }
    Ok(TrainOutcome {
        model: best,
        best_epoch: stopping.best_epoch(),
        epochs_run: history.len(),
        steps,
        stopped_early,
        history,
    })
}

/// Writes the mean gradient over `batch` into `grad` and returns the mean loss.
fn batch_gradient(w: &SoftmaxRegression, data: &Features, batch: &[usize], grad: &mut Matrix) -> f64 {
    grad.data.fill(0.0);
    let mut p = vec![0.0; w.classes()];
    let mut loss = 0.0;
    for &i in batch {
        let (x, y) = (data.x.row(i), data.labels[i]);
        w.probabilities(x, &mut p);
        loss -= p[y].max(f64::MIN_POSITIVE).ln();
        p[y] -= 1.0;
        for (k, &pk) in p.iter().enumerate() {
            for (g, &xj) in grad.row_mut(k).iter_mut().zip(x) {
                *g += pk * xj;
            }
        }
    }
    let inv = 1.0 / batch.len() as f64;
    grad.data.iter_mut().for_each(|g| *g *= inv);
    loss * inv
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax_in_place(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |best, (k, &v)| if v > best.1 { (k, v) } else { best },
        )
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Three well-separated Gaussian blobs in 2-D, plus the bias column.
    fn blobs(n: usize, seed: u64) -> Features {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let centres = [(-4.0, 0.0), (4.0, 0.0), (0.0, 5.0)];
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let y = i % 3;
            let (cx, cy) = centres[y];
            data.extend_from_slice(&[cx + rng.random_range(-1.0..1.0), cy + rng.random_range(-1.0..1.0), 1.0]);
            labels.push(y);
        }
        Features {
            x: Matrix::from_rows(n, 3, data),
            labels,
            classes: 3,
        }
    }

    fn quiet(_: Progress) {}

    #[test]
    fn nag_converges_on_separable_blobs() {
        let (tr, va) = (blobs(300, 1), blobs(60, 2));
        let hyper = Hyperparams {
            batch: 32,
            lr: 0.1,
            epochs: 30,
            patience: None,
        };
        let out = train(&tr, &va, &hyper, 7, &mut quiet).unwrap();
        assert_eq!(out.epochs_run, 30);
        assert_eq!(out.steps, 30 * 10);
        assert_eq!(out.model.evaluate(&tr).accuracy, 1.0);
        assert_eq!(out.model.evaluate(&va).accuracy, 1.0);
        let first = out.history[0].train_loss;
        let last = out.history.last().unwrap().train_loss;
        assert!(last < 0.05 * first, "loss {first} -> {last}");
    }

    #[test]
    fn nesterov_beats_plain_gradient_descent_on_a_fixed_budget() {
        // On a full-batch convex problem the accelerated schedule must reach
        // a lower loss than the same number of plain gradient steps.
        let (tr, va) = (blobs(90, 3), blobs(30, 4));
        let hyper = Hyperparams {
            batch: 90,
            lr: 0.05,
            epochs: 40,
            patience: None,
        };
        let nag = train(&tr, &va, &hyper, 0, &mut quiet).unwrap().model.evaluate(&tr).loss;
        let mut w = SoftmaxRegression::zeros(3, 3);
        let mut g = Matrix::zeros(3, 3);
        let all: Vec<usize> = (0..90).collect();
        for _ in 0..40 {
            batch_gradient(&w, &tr, &all, &mut g);
            for (wi, gi) in w.weights.data.iter_mut().zip(&g.data) {
                *wi -= hyper.lr * gi;
            }
        }
        let gd = w.evaluate(&tr).loss;
        assert!(nag < gd, "NAG {nag} vs GD {gd}");
    }

    #[test]
    fn schedule_starts_without_momentum_and_approaches_one() {
        let mut s = NesterovSchedule::default();
        assert_eq!(s.next_gamma(), 0.0);
        let later: Vec<f64> = (0..100).map(|_| -s.next_gamma()).collect();
        assert!(later.windows(2).all(|w| w[1] > w[0]));
        assert!(later[99] > 0.95 && later[99] < 1.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let tr = blobs(12, 5);
        let mut w = SoftmaxRegression::zeros(3, 3);
        for (i, v) in w.weights.data.iter_mut().enumerate() {
            *v = 0.1 * i as f64 - 0.4;
        }
        let all: Vec<usize> = (0..12).collect();
        let mut g = Matrix::zeros(3, 3);
        batch_gradient(&w, &tr, &all, &mut g);
        let h = 1e-6;
        for j in 0..9 {
            let mut plus = w.clone();
            plus.weights.data[j] += h;
            let mut minus = w.clone();
            minus.weights.data[j] -= h;
            let fd = (plus.evaluate(&tr).loss - minus.evaluate(&tr).loss) / (2.0 * h);
            assert!((fd - g.data[j]).abs() < 1e-6, "coordinate {j}: {fd} vs {}", g.data[j]);
        }
    }

    #[test]
    fn early_stopping_keeps_the_best_epoch() {
        // A learning rate far too large makes the validation loss rise, so
        // training stops after `patience` epochs past the best one.
        let (tr, va) = (blobs(60, 6), blobs(30, 7));
        let hyper = Hyperparams {
            batch: 60,
            lr: 50.0,
            epochs: 50,
            patience: Some(2),
        };
        let out = train(&tr, &va, &hyper, 0, &mut quiet).unwrap();
        let best_loss = out.history.iter().map(|r| r.val_loss).fold(f64::INFINITY, f64::min);
        assert_eq!(out.history[out.best_epoch - 1].val_loss, best_loss);
        assert_eq!(out.model.evaluate(&va).loss, best_loss);
        assert!(out.stopped_early);
        assert_eq!(out.epochs_run, out.best_epoch + 2);
    }

    #[test]
    fn bad_hyperparameters_are_errors() {
        let (tr, va) = (blobs(10, 8), blobs(5, 9));
        for (batch, lr, epochs) in [(0, 0.1, 1), (4, 0.0, 1), (4, f64::NAN, 1), (4, 0.1, 0)] {
            let h = Hyperparams {
                batch,
                lr,
                epochs,
                patience: None,
            };
            assert!(matches!(
                train(&tr, &va, &h, 0, &mut quiet),
                Err(TrainError::BadHyperparams(_))
            ));
        }
    }
}
