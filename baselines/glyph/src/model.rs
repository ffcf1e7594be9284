//! The exact operation counts of one Glyph-style training step at a shape, and the projection
//! of its time from measured per-operation costs.
//!
//! **Counts** ([`StepCounts::new`]), for a batch of `n` samples, `b` columns, `c` classes, the
//! features packed in HETAL's blocks (`rb x nb` blocks of `s0 x s1`):
//!
//! * CKKS: DiagABT and DiagATB at the shape (their closed forms,
//!   [`blindtuner_encrypted::matmul::diag_abt_counts`] and `diag_atb_counts`, checked against
//!   the circuits by that crate's tests), plus `rb` subtractions for `P - Y` and `nb` for the
//!   update `W - G`;
//! * switches: `n c` values CKKS -> TFHE (every logit) and `n c` back (every probability);
//!   the padded classes stay behind;
//! * TFHE: `n` times [`TfheSoftmax::ops_per_sample`].
//!
//! **Projection** ([`StepCounts::project`]), every cost measured on this machine:
//!
//! * CKKS: each relinearisation (one per product or per sum of products) at the measured
//!   product-relinearise-rescale; each further product of a sum at two plaintext products (the
//!   tensor product of two ciphertexts is four limb-wise products where a plaintext product is
//!   two); each plaintext or constant product at a plaintext product plus a rescale; each
//!   rotation at the measured rotation, a hoisted one at an eighth of the measured batch of 8
//!   hoisted rotations; each addition at the measured addition;
//! * TFHE: each value operation at the measured per-slot median of the `tfhe` backend (`max`
//!   and `max_scalar` timed on their own; negations and additions of constants at an
//!   addition's cost);
//! * switches, modelled (see the crate documentation): `16 + 1` measured key-switch-and-
//!   bootstrap units of tfhe-rs per value into TFHE, 1 per value back; a lower bound.

use blindtuner_encrypted::counting::OpCounts;
use blindtuner_encrypted::matmul::{diag_abt_counts, diag_atb_counts};
use blindtuner_encrypted::packing::BlockShape;
use serde::{Deserialize, Serialize};

use crate::GlyphError;
use crate::softmax::{TfheOps, TfheSoftmax};

/// Blocks of 2 bits in the `FheInt32` that holds a TFHE value: each needs at least one
/// programmable bootstrap when a value enters TFHE.
pub const BLOCKS_PER_VALUE: u64 = 16;
/// Key-switch-and-bootstrap units per value switched CKKS -> TFHE: one into the TFHE key, one
/// per block.
pub const UNITS_TO_TFHE: u64 = BLOCKS_PER_VALUE + 1;
/// Units per value switched TFHE -> CKKS: the blocks combined linearly, then one.
pub const UNITS_TO_CKKS: u64 = 1;

/// The shape of one training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Samples in the batch.
    pub batch: usize,
    /// Feature columns, the bias included.
    pub cols: usize,
    pub classes: usize,
}

impl Shape {
    /// HETAL's MNIST shape: a batch of 1,024, 768 ViT features and the bias, 10 classes.
    pub const HETAL_MNIST: Shape = Shape {
        batch: 1024,
        cols: 769,
        classes: 10,
    };
}

/// What one step does, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepCounts {
    pub shape: Shape,
    /// The CKKS slots the block shape fills.
    pub slots: usize,
    /// HETAL's block for the batch, `s0 x s1`.
    pub block: (usize, usize),
    pub ckks: OpCounts,
    /// Values switched CKKS -> TFHE and back.
    pub to_tfhe: u64,
    pub to_ckks: u64,
    pub tfhe: TfheOps,
    /// Newton iterations of the softmax's inverse.
    pub newton_iterations: usize,
}

impl StepCounts {
    /// The counts at `shape` with CKKS ciphertexts of `slots` slots.
    pub fn new(shape: Shape, slots: usize) -> Result<StepCounts, GlyphError> {
        let block = BlockShape::hetal(shape.batch, shape.classes, slots)?;
        let (rb, nb) = block.grid(shape.batch, shape.cols);
        let mut ckks = diag_abt_counts(block, shape.batch, shape.cols, shape.classes)?
            + diag_atb_counts(block, shape.batch, shape.cols, shape.classes)?;
        ckks.additions += (rb + nb) as u64;
        let softmax = TfheSoftmax::new(shape.classes)?;
        let values = (shape.batch * shape.classes) as u64;
        Ok(StepCounts {
            shape,
            slots,
            block: (block.rows(), block.cols()),
            ckks,
            to_tfhe: values,
            to_ckks: values,
            tfhe: softmax.ops_per_sample() * shape.batch as u64,
            newton_iterations: softmax.newton_iterations(),
        })
    }

    /// Seconds of one step at the measured costs (see the module documentation).
    pub fn project(&self, ckks: &CkksCosts, tfhe: &TfheCosts) -> Breakdown {
        let o = &self.ckks;
        let ckks_ms = o.relinearizations as f64 * ckks.mul_relin_rescale_ms
            + (o.mul - o.relinearizations) as f64 * 2.0 * ckks.mul_plain_ms
            + (o.mul_plain + o.mul_scalar) as f64 * (ckks.mul_plain_ms + ckks.rescale_ms)
            + (o.rotations - o.hoisted_rotations) as f64 * ckks.rotate_ms
            + o.hoisted_rotations as f64 * ckks.hoisted_rotate_8_ms / 8.0
            + o.additions as f64 * ckks.add_ms;
        let t = &self.tfhe;
        let tfhe_ms = (t.add + t.neg + t.add_scalar) as f64 * tfhe.add_ms
            + t.mul as f64 * tfhe.mul_ms
            + t.mul_scalar as f64 * tfhe.mul_scalar_ms
            + t.max as f64 * tfhe.max_ms
            + t.max_scalar as f64 * tfhe.max_scalar_ms;
        let switch_ms =
            (self.to_tfhe * UNITS_TO_TFHE + self.to_ckks * UNITS_TO_CKKS) as f64 * tfhe.key_switch_bootstrap_ms;
        Breakdown {
            ckks_s: ckks_ms / 1e3,
            switch_s: switch_ms / 1e3,
            tfhe_s: tfhe_ms / 1e3,
            total_s: (ckks_ms + switch_ms + tfhe_ms) / 1e3,
        }
    }
}

/// Measured milliseconds of the CKKS operations (native `bench ops`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CkksCosts {
    pub mul_relin_rescale_ms: f64,
    /// A plaintext product, not rescaled.
    pub mul_plain_ms: f64,
    pub rescale_ms: f64,
    pub rotate_ms: f64,
    pub hoisted_rotate_8_ms: f64,
    pub add_ms: f64,
}

/// Measured milliseconds per value of the TFHE operations, and of one key switch with a
/// programmable bootstrap of one block (the switches' unit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TfheCosts {
    pub add_ms: f64,
    pub mul_ms: f64,
    pub mul_scalar_ms: f64,
    pub max_ms: f64,
    pub max_scalar_ms: f64,
    pub key_switch_bootstrap_ms: f64,
}

/// Seconds of a step by part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub ckks_s: f64,
    pub switch_s: f64,
    pub tfhe_s: f64,
    pub total_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The MNIST shape by hand: blocks of 1024 x 32 in 2^15 slots, one row block and
    /// ceil(769 / 32) = 25 column blocks; DiagABT and DiagATB take 16 products per block pair
    /// each (c_pad = 16), 2 * 16 * 25 = 800; 1 + 25 additions on top of theirs; 10,240 values
    /// each way; 1,024 samples times the softmax of 10 classes with 5 Newton iterations: 9
    /// maxima, 10 clamps, 19 additions, 5 negations, 36 constants added, 10 * 6 + 10 + 10 = 80
    /// products and 21 products by constants per sample.
    #[test]
    fn mnist_shape_by_hand() {
        let c = StepCounts::new(Shape::HETAL_MNIST, 1 << 15).unwrap();
        assert_eq!(c.block, (1024, 32));
        assert_eq!(c.ckks.mul, 800);
        assert_eq!((c.to_tfhe, c.to_ckks), (10_240, 10_240));
        assert_eq!(c.newton_iterations, 5);
        let n = 1024;
        assert_eq!(
            c.tfhe,
            TfheOps {
                max: 9 * n,
                max_scalar: 10 * n,
                add: 19 * n,
                neg: 5 * n,
                add_scalar: 36 * n,
                mul: 80 * n,
                mul_scalar: 21 * n,
            }
        );
        let products = diag_abt_counts(BlockShape::new(1024, 32).unwrap(), 1024, 769, 10).unwrap();
        let gradient = diag_atb_counts(BlockShape::new(1024, 32).unwrap(), 1024, 769, 10).unwrap();
        assert_eq!(c.ckks.additions, products.additions + gradient.additions + 26);
    }

    /// Unit costs make the projection a weighted count: with every cost 1 ms the parts are the
    /// counts themselves.
    #[test]
    fn projection_weights_the_counts() {
        let c = StepCounts::new(
            Shape {
                batch: 8,
                cols: 5,
                classes: 2,
            },
            2048,
        )
        .unwrap();
        let ckks = CkksCosts {
            mul_relin_rescale_ms: 1.0,
            mul_plain_ms: 1.0,
            rescale_ms: 1.0,
            rotate_ms: 1.0,
            hoisted_rotate_8_ms: 8.0,
            add_ms: 1.0,
        };
        let tfhe = TfheCosts {
            add_ms: 1.0,
            mul_ms: 1.0,
            mul_scalar_ms: 1.0,
            max_ms: 1.0,
            max_scalar_ms: 1.0,
            key_switch_bootstrap_ms: 1.0,
        };
        let p = c.project(&ckks, &tfhe);
        let o = c.ckks;
        let ckks_ops = o.relinearizations
            + 2 * (o.mul - o.relinearizations)
            + 2 * (o.mul_plain + o.mul_scalar)
            + o.rotations
            + o.additions;
        assert!((p.ckks_s * 1e3 - ckks_ops as f64).abs() < 1e-9);
        // 16 values each way: 17 units in, 1 out.
        assert!((p.switch_s * 1e3 - (16.0 * 17.0 + 16.0)).abs() < 1e-9);
        let t = c.tfhe;
        let tfhe_ops = t.max + t.max_scalar + t.add + t.neg + t.add_scalar + t.mul + t.mul_scalar;
        assert_eq!(tfhe_ops, 8 * (1 + 2 + 3 + 2 + 9 + 18 + 5));
        assert!((p.tfhe_s * 1e3 - tfhe_ops as f64).abs() < 1e-9);
        assert!((p.total_s - (p.ckks_s + p.switch_s + p.tfhe_s)).abs() < 1e-12);
    }
}
