//! One training step on encrypted weights: the forward pass, the softmax, the gradient and
//! Nesterov's accelerated gradient, in the schedule of the exact trainer
//! ([`blindtuner_train::NesterovSchedule`]), on a batch of `n` samples:
//!
//! ```text
//! P       = softmax(X w_t^T)                    DiagABT, the polynomial softmax
//! v_{t+1} = w_t - (lr / n) (P - Y)^T X          DiagATB, its scale -lr / n folded into its mask
//! w_{t+1} = v_{t+1} + g_t (v_t - v_{t+1})       g_t from the schedule, a plaintext constant
//! ```
//!
//! The ciphertexts hold the weights divided by a public **weight scale** `M` (a power of two by
//! default), so that refreshing them stays precise (bootstrapping keeps about 20 bits for
//! values up to 1): `1 / M` folds into DiagATB's scale and `M` into the softmax's input mask, at
//! no level.
//!
//! The weights travel between steps in either layout of [`crate::weights`] (compact for
//! BlindTuner, tiled for the HETAL baseline); the step unpacks them for DiagABT and packs the
//! gradient, which costs the compact layout a level each way and the tiled one none.
//!
//! Levels: without a refresh, a step takes [`step_depth`] levels from the weights. With one,
//! the softmax refreshes its own values, and the errors `P - Y` are refreshed if DiagATB would
//! run short. The weights must leave the step with the levels the next forward pass needs
//! (`v_{t+1}` feeds the momentum too; `w_{t+1}` derives from `v_t` and `v_{t+1}` in one level).
//! When `w_t` is too short to give `v_{t+1} = w_t + step` those levels and the errors are being
//! refreshed anyway and the levels pair refreshes, `w_t` joins them ([`Levels::ready_many`]),
//! which is where its refresh costs least; otherwise `v_{t+1}` is refreshed when it runs short.
//! Fresh features need [`step_depth`]` - 1` levels without a refresh, two with one (they are
//! never refreshed: a client uploads them once).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use blindtuner_backend::{Client, Cloud};
use blindtuner_features::Matrix;
use blindtuner_train::NesterovSchedule;

use crate::EncryptedError;
use crate::compact::COMPACT_DEPTH;
use crate::matmul::{DIAG_ABT_DEPTH, DIAG_ATB_DEPTH, diag_abt, diag_atb};
use crate::ops::{lowered, lowest_level, require_levels};
use crate::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights};
use crate::refresh::Levels;
use crate::softmax::Softmax;
use crate::weights::{WeightLayout, Weights};

/// The levels one step takes from weights in `layout` with this softmax, without refreshing:
/// unpacking, DiagABT, the softmax, DiagATB, packing, the momentum.
pub fn step_depth(softmax: &Softmax, layout: WeightLayout) -> usize {
    2 * layout.depth() + DIAG_ABT_DEPTH + softmax.depth() + DIAG_ATB_DEPTH + 1
}

/// Levels the weights need at the start of a step with refreshing: unpacking, DiagABT, and the
/// softmax's input mask on its result, so that unrefreshable logits (up to `R / M`) never need
/// a refresh.
pub fn forward_levels(layout: WeightLayout) -> usize {
    layout.depth() + DIAG_ABT_DEPTH + 1
}

/// The fewest levels between refreshes a training step can run with, in either layout: the
/// refreshed weights feed the momentum and then the forward pass.
pub const MIN_LEVELS: usize = COMPACT_DEPTH + DIAG_ABT_DEPTH + 2;

/// Where a step's time went. Each phase counts its own work; the refreshes made inside any of
/// them are counted apart, under `refresh`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepTimes {
    /// DiagABT and DiagATB.
    pub matmul: Duration,
    pub softmax: Duration,
    /// `P - Y` and Nesterov's update.
    pub update: Duration,
    /// Bootstraps or client refreshes.
    pub refresh: Duration,
}

impl std::ops::AddAssign for StepTimes {
    fn add_assign(&mut self, o: StepTimes) {
        self.matmul += o.matmul;
        self.softmax += o.softmax;
        self.update += o.update;
        self.refresh += o.refresh;
    }
}

/// Times one phase net of the refreshes inside it.
struct PhaseClock<'a, Ct> {
    levels: &'a Levels<'a, Ct>,
    start: Instant,
    refreshing: Duration,
}

impl<'a, Ct: Clone> PhaseClock<'a, Ct> {
    fn start(levels: &'a Levels<'a, Ct>) -> PhaseClock<'a, Ct> {
        PhaseClock {
            levels,
            start: Instant::now(),
            refreshing: levels.stats().time,
        }
    }

    /// Adds the phase's own time to `phase` and its refreshes to `times.refresh`; restarts.
    fn lap(&mut self, times: &mut StepTimes, phase: fn(&mut StepTimes) -> &mut Duration) {
        let (now, refreshing) = (Instant::now(), self.levels.stats().time);
        let refresh = refreshing.saturating_sub(self.refreshing);
        times.refresh += refresh;
        *phase(times) += now.duration_since(self.start).saturating_sub(refresh);
        (self.start, self.refreshing) = (now, refreshing);
    }
}

/// Encrypted weights under training ([`crate::weights`]): `w_t / M`, the previous gradient
/// step `v_t / M`, the schedule after `t` steps.
#[derive(Debug, Clone)]
pub struct EncryptedModel<Ct> {
    weights: Weights<Ct>,
    previous: Weights<Ct>,
    scale: f64,
    steps: usize,
    schedule: NesterovSchedule,
}

impl<Ct: Clone> EncryptedModel<Ct> {
    /// Training from `weights` (`w_0 = v_0`, holding the weights divided by `scale`), the
    /// schedule at its start.
    pub fn new(weights: Weights<Ct>, scale: f64) -> Result<EncryptedModel<Ct>, EncryptedError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(EncryptedError::Unsupported(format!(
                "the weight scale must be a positive number, not {scale}"
            )));
        }
        Ok(EncryptedModel {
            previous: weights.clone(),
            weights,
            scale,
            steps: 0,
            schedule: NesterovSchedule::default(),
        })
    }

    /// A model after `steps` steps whose `w_t` and `v_t` blocks (in the order of
    /// [`Self::ciphertexts`]) are the next ones of `cts`: the receiver's side of a model sent
    /// block by block, such as a checkpoint.
    pub fn take_from(
        layout: WeightLayout,
        (classes, cols): (usize, usize),
        shape: BlockShape,
        scale: f64,
        steps: usize,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<EncryptedModel<Ct>, EncryptedError> {
        let weights = Weights::take_from(layout, classes, cols, shape, cts)?;
        let previous = Weights::take_from(layout, classes, cols, shape, cts)?;
        Ok(EncryptedModel {
            previous,
            steps,
            schedule: NesterovSchedule::after(steps),
            ..EncryptedModel::new(weights, scale)?
        })
    }

    /// Every ciphertext of the model: the blocks of `w_t`, then those of `v_t`.
    pub fn ciphertexts(&self) -> impl Iterator<Item = &Ct> {
        self.weights.cts().iter().chain(self.previous.cts())
    }

    /// `t`: the steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The client's side: encrypts `w` (one row per class) divided by `scale`, in `layout`.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        w: &Matrix,
        shape: BlockShape,
        layout: WeightLayout,
        scale: f64,
    ) -> Result<EncryptedModel<Ct>, EncryptedError> {
        let scaled = Matrix::from_rows(w.rows, w.cols, w.data.iter().map(|v| v / scale).collect());
        EncryptedModel::new(Weights::encrypt(client, &scaled, shape, layout)?, scale)
    }

    /// The client's side: the weights `w_t`.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        let mut w = self.weights.decrypt(client)?;
        w.data.iter_mut().for_each(|v| *v *= self.scale);
        Ok(w)
    }

    /// `w_t / M`, the weights the next forward pass uses.
    pub fn weights(&self) -> &Weights<Ct> {
        &self.weights
    }

    /// `M`: what the ciphertexts hold the weights divided by.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// The cloud's side: what runs on ciphertexts, products side by side.
impl<Ct: Clone + Send + Sync> EncryptedModel<Ct> {
    /// The forward pass, `softmax(X w_t^T)`, on the batch `x`: what a step and the validation
    /// loss compute first.
    pub fn probabilities<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        levels: &Levels<Ct>,
        softmax: &Softmax,
        x: &PackedMatrix<Ct>,
    ) -> Result<PackedScores<Ct>, EncryptedError> {
        let w = self.forward_weights(cloud, levels, softmax)?;
        softmax.apply(cloud, levels, &diag_abt(cloud, x, &w)?)
    }

    /// The weights ready for the forward pass with `softmax`: refreshed where they run short.
    fn forward_weights<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        levels: &Levels<Ct>,
        softmax: &Softmax,
    ) -> Result<PackedWeights<Ct>, EncryptedError> {
        if softmax.logit_scale() != self.scale {
            return Err(EncryptedError::mismatch(
                "the softmax's logit scale and the weight scale",
                softmax.logit_scale(),
                self.scale,
            ));
        }
        let layout = self.weights.layout();
        let weights = if levels.refreshes() {
            let needed = forward_levels(layout);
            let cts = levels.ready_all(cloud, "the forward pass", self.weights.cts(), needed)?;
            // The logits keep the weights' levels beyond `needed`: the forward pass runs at the
            // fewest levels the softmax will use, where its rotations and products cost least.
            let spare = lowest_level(cloud, &cts).saturating_sub(needed);
            let used = needed + softmax.logit_levels_used(levels, spare);
            let cts = lowered(cloud, &cts, used)?.into_iter().map(Cow::into_owned).collect();
            self.weights.with_cts(cts)?
        } else {
            self.weights.clone()
        };
        weights.tiled(cloud)
    }

    /// One step on the batch `x` with one-hot `labels` (see the module docs), and where its
    /// time went.
    pub fn step<C: Cloud<Ciphertext = Ct>>(
        &mut self,
        cloud: &C,
        levels: &Levels<Ct>,
        softmax: &Softmax,
        x: &PackedMatrix<Ct>,
        labels: &PackedScores<Ct>,
        lr: f64,
    ) -> Result<StepTimes, EncryptedError> {
        if labels.rows() != x.rows() || labels.classes() != self.weights.classes() || labels.shape() != x.shape() {
            return Err(EncryptedError::mismatch(
                "labels and the batch and weights",
                format!("{} x {} in {}", labels.rows(), labels.classes(), labels.shape()),
                format!("{} x {} in {}", x.rows(), self.weights.classes(), x.shape()),
            ));
        }
        if levels.refreshes() {
            require_levels(cloud, "a training step", DIAG_ABT_DEPTH, x.blocks())?;
        } else {
            // The features feed the products but not the momentum: one level fewer.
            let depth = step_depth(softmax, self.weights.layout());
            require_levels(cloud, "a training step", depth, self.weights.cts())?;
            require_levels(cloud, "a training step", depth - 1, x.blocks())?;
        }

        #[cfg(feature = "slow-step")]
        std::thread::sleep(Duration::from_secs(1));
        let mut times = StepTimes::default();
        let mut clock = PhaseClock::start(levels);
        let w = self.forward_weights(cloud, levels, softmax)?;
        let logits = diag_abt(cloud, x, &w)?;
        clock.lap(&mut times, |t| &mut t.matmul);
        let p = softmax.apply(cloud, levels, &logits)?;
        clock.lap(&mut times, |t| &mut t.softmax);
        let errors = p
            .blocks()
            .iter()
            .zip(labels.blocks())
            .map(|(p, y)| cloud.sub(p, y))
            .collect::<Result<Vec<_>, _>>()?;
        let layout = self.weights.layout();
        let gradient_needs = DIAG_ATB_DEPTH + layout.depth();
        let update_needs = 1 + forward_levels(layout);
        // The gradient's level, once the errors are ready for DiagATB.
        let gradient_level = errors
            .iter()
            .map(|e| levels.level_after(cloud, e, gradient_needs))
            .min()
            .unwrap_or(0)
            .saturating_sub(gradient_needs);
        let errors_refreshed = errors.iter().any(|e| cloud.level(e) < gradient_needs);
        let join = levels.pairs() && errors_refreshed && gradient_level >= update_needs;
        let count = errors.len();
        let mut ready = errors.into_iter().map(|e| (e, gradient_needs)).collect::<Vec<_>>();
        if join {
            ready.extend(self.weights.cts().iter().map(|w| (w.clone(), update_needs)));
        }
        let mut errors = levels.ready_many(cloud, "DiagATB", ready)?;
        let weights = errors.split_off(count);
        if join {
            self.weights = self.weights.with_cts(weights)?;
        }
        // The update keeps the lower of the weights' and the gradient's levels: levels of the
        // errors beyond the weights' would only make DiagATB dearer.
        let useful = lowest_level(cloud, self.weights.cts()).saturating_add(gradient_needs);
        let errors = lowered(cloud, &errors, useful)?
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        clock.lap(&mut times, |t| &mut t.update);
        let step = diag_atb(cloud, &p.with_blocks(errors)?, x, -lr / (x.rows() as f64 * self.scale))?;
        let step = Weights::from_tiled(cloud, step, layout)?;
        clock.lap(&mut times, |t| &mut t.matmul);

        let gamma = self.schedule.next_gamma();
        self.steps += 1;
        let (mut next, mut weights) = (Vec::new(), Vec::new());
        for ((w, v), g) in self.weights.cts().iter().zip(self.previous.cts()).zip(step.cts()) {
            let mut v_next = cloud.add(w, g)?;
            if levels.refreshes() {
                v_next = levels.ready(cloud, "the weight update", v_next, update_needs)?;
            }
            weights.push(if gamma == 0.0 {
                v_next.clone()
            } else {
                cloud.add(&v_next, &cloud.mul_scalar(&cloud.sub(v, &v_next)?, gamma)?)?
            });
            next.push(v_next);
        }
        self.previous = self.weights.with_cts(next)?;
        self.weights = self.weights.with_cts(weights)?;
        clock.lap(&mut times, |t| &mut t.update);
        Ok(times)
    }
}
