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
//! The weights lose `2 + depth(softmax) + 2 + 1` levels per step ([`step_depth`]; the last one
//! only where `g_t != 0`, i.e. after the first step). Keeping them alive across steps (bootstraps
//! or client refreshes) is the caller's business.

use blindtuner_backend::{BackendError, Cloud};
use blindtuner_train::NesterovSchedule;

use crate::EncryptedError;
use crate::matmul::{DIAG_ABT_DEPTH, DIAG_ATB_DEPTH, diag_abt, diag_atb};
use crate::ops::require_levels;
use crate::packing::{PackedMatrix, PackedScores, PackedWeights};
use crate::softmax::Softmax;

/// The levels one step takes from the weights with this softmax.
pub fn step_depth(softmax: &Softmax) -> usize {
    DIAG_ABT_DEPTH + softmax.depth() + DIAG_ATB_DEPTH + 1
}

/// Encrypted weights under training: `w_t`, the previous gradient step `v_t`, the schedule.
#[derive(Debug, Clone)]
pub struct EncryptedModel<Ct> {
    weights: PackedWeights<Ct>,
    previous: PackedWeights<Ct>,
    schedule: NesterovSchedule,
}

impl<Ct: Clone> EncryptedModel<Ct> {
    /// Training from `weights` (`w_0 = v_0`), the schedule at its start.
    pub fn new(weights: PackedWeights<Ct>) -> EncryptedModel<Ct> {
        EncryptedModel {
            previous: weights.clone(),
            weights,
            schedule: NesterovSchedule::default(),
        }
    }

    /// `w_t`, the weights the next forward pass uses.
    pub fn weights(&self) -> &PackedWeights<Ct> {
        &self.weights
    }

    /// One step on the batch `x` with one-hot `labels` (see the module docs).
    pub fn step<C: Cloud<Ciphertext = Ct>>(
        &mut self,
        cloud: &C,
        softmax: &Softmax,
        x: &PackedMatrix<Ct>,
        labels: &PackedScores<Ct>,
        lr: f64,
    ) -> Result<(), EncryptedError> {
        if labels.rows() != x.rows() || labels.classes() != self.weights.classes() || labels.shape() != x.shape() {
            return Err(EncryptedError::mismatch(
                "labels and the batch and weights",
                format!("{} x {} in {}", labels.rows(), labels.classes(), labels.shape()),
                format!("{} x {} in {}", x.rows(), self.weights.classes(), x.shape()),
            ));
        }
        // The features feed the products but not the momentum: one level fewer.
        require_levels(cloud, "a training step", step_depth(softmax), self.weights.blocks())?;
        require_levels(cloud, "a training step", step_depth(softmax) - 1, x.blocks())?;

        let p = softmax.apply(cloud, &diag_abt(cloud, x, &self.weights)?)?;
        let errors = p
            .blocks()
            .iter()
            .zip(labels.blocks())
            .map(|(p, y)| cloud.sub(p, y))
            .collect::<Result<Vec<_>, BackendError>>()?;
        let step = diag_atb(cloud, &p.with_blocks(errors)?, x, -lr / x.rows() as f64)?;

        let gamma = self.schedule.next_gamma();
        let (mut next, mut weights) = (Vec::new(), Vec::new());
        for ((w, v), g) in self
            .weights
            .blocks()
            .iter()
            .zip(self.previous.blocks())
            .zip(step.blocks())
        {
            let v_next = cloud.add(w, g)?;
            weights.push(if gamma == 0.0 {
                v_next.clone()
            } else {
                cloud.add(&v_next, &cloud.mul_scalar(&cloud.sub(v, &v_next)?, gamma)?)?
            });
            next.push(v_next);
        }
        self.previous = self.weights.with_blocks(next)?;
        self.weights = self.weights.with_blocks(weights)?;
        Ok(())
    }
}
