//! DiagABT and DiagATB: HETAL's diagonal matrix products on packed matrices, in real slots.
//!
//! Notation: blocks of `s0 x s1` (see [`crate::packing`]), `c` the padded classes, `rb x nb`
//! the grid of the features `X` (`a x b`), `rot(v, k)[p] = v[p + k]`. A product `A ⊙ B` is
//! slot-wise. Both algorithms cut the `c` diagonals as `k = k1 + c1 k2` with
//! `c1 = 2^ceil(log2(c) / 2)` baby steps and `c2 = c / c1` giant steps, hoisting the rotations
//! of each block that share one source.
//!
//! **DiagABT** (`C = X W^T`, the logits). With the weights tiled (`W̃[i, t] = W[i mod c, t]`),
//! rotating `W̃` by `k` rows pairs sample `i` with class `i + k`:
//!
//! ```text
//! M_k = Σ_j X_j ⊙ rot(W̃_j, k s1)        row i of M_k sums to C[i, (i + k) mod c]
//!     = rot(Σ_j rot(X_j, -c1 k2 s1) ⊙ rot(W̃_j, k1 s1), c1 k2 s1)
//! ```
//!
//! so each block `j` needs `c1 - 1` hoisted rotations of `W̃_j` and `c2 - 1` of `X_j` (not
//! `c - 1`), the outer rotation being folded into the placement below. Each row of `M_k` is
//! summed over windows of `c` columns (`log2 c` rotations), a mask keeps the `s1 / c` window
//! sums (columns `≡ 0 mod c`), one rotation by `c1 k2 s1 - k` moves them to columns `≡ k`, the
//! `c` diagonals are added, and `log2(s1 / c)` rotations add the windows: column `k` of row `i`
//! then holds `C[i, (i + k) mod c]`, the class-scores layout. Cost per call:
//! `mul = rb nb c` in `rb c` sums of products (one relinearisation each, see
//! [`Cloud::mul_sum`]), `rot = nb (c1 - 1) + rb nb (c2 - 1) + rb (c log2 c + c - 1 + log2(s1 / c))`,
//! `mul_plain = rb c`; depth 2 (the product and the mask).
//!
//! **DiagATB** (`G = s E^T X` for errors `E = P - Y`, the gradient, `s` a free scale). Let
//! `U_δ[i, t] = E[i + δ, i mod c]` (one error broadcast along row `i`). Then
//!
//! ```text
//! M = Σ_δ U_δ ⊙ rot(X, δ s1)            M[i, t] = Σ_δ E[i + δ, i mod c] X[i + δ, t]
//! Σ_g M[i + g c, t] = Σ_rows E[row, i mod c] X[row, t] = G[i mod c, t]
//! ```
//!
//! the second sum being `log2(s0 / c)` rotations by `c s1, 2 c s1, ...` (cyclic over the rows),
//! whose result is the gradient already tiled like the weights, with no mask at the end. With
//! `δ = δ1 + c1 δ2`, `U_δ ⊙ rot(X, δ s1) = rot(rot(U_δ, -c1 δ2 s1) ⊙ rot(X, δ1 s1), c1 δ2 s1)`:
//! `c1 - 1` hoisted rotations of each `X` block, `c2 - 1` rotations per column block. The
//! `c` broadcasts `rot(U_δ, -c1 δ2 s1)` are made once per row block from the scores layout
//! (the error of class `i - δ` sits in column `-δ mod c` of row `i`): a mask keeps that column
//! (and zeroes padded classes, and applies `s`), one rotation brings it to column 0 of row
//! `i - δ1`, `log2 s1` rotations spread it along the row. Cost per call: `mul = rb nb c` in
//! `nb c2` sums of products,
//! `rot = rb (c - 1 + c log2 s1) + rb nb (c1 - 1) + nb (c2 - 1) + nb log2(s0 / c)`,
//! `mul_plain = rb c`; depth 1 from `X` and 2 from `E` (the mask, the product).
//!
//! HETAL's table counts `(c / 2) rb nb` products for each: it packs two diagonals into the real
//! and imaginary parts of its complex slots. The backend trait has real slots, where one product
//! yields `s0 s1` real products and `a b c` are needed, so `c rb nb` (for full blocks) is the
//! floor for any method that forms every product `X[i, t] W[q, t]`; the rotations above are
//! below HETAL's for both (DiagATB's by 1.6x to 6x at the shapes of its table).

use std::iter::once;

use blindtuner_backend::{BackendError, Cloud};
use rayon::prelude::*;

use crate::EncryptedError;
use crate::counting::OpCounts;
use crate::ops::{accumulate, doubling_steps, lowered, lowest_level, require_levels, rotate_and_add, rotation_keys};
use crate::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights, log2, padded_classes};

/// Levels DiagABT consumes: the product and the mask.
pub const DIAG_ABT_DEPTH: usize = 2;
/// Levels DiagATB consumes from the errors (the mask, the product); from the features, one.
pub const DIAG_ATB_DEPTH: usize = 2;

/// The baby-step / giant-step split of the `c` diagonals at one block shape: `k = k1 + baby k2`.
#[derive(Debug, Clone, Copy)]
struct Diagonals {
    c: usize,
    baby: usize,
    giant: usize,
    s1: usize,
}

impl Diagonals {
    /// Checks that `classes` fit the layouts of `shape` (`c_pad` divides both sides).
    fn new(classes: usize, shape: BlockShape) -> Result<Diagonals, EncryptedError> {
        let c = padded_classes(classes)?;
        if c > shape.rows() || c > shape.cols() {
            return Err(EncryptedError::mismatch(
                "padded classes and the block shape (both sides must hold them)",
                c,
                shape,
            ));
        }
        let baby = 1 << log2(c).div_ceil(2);
        Ok(Diagonals {
            c,
            baby,
            giant: c / baby,
            s1: shape.cols(),
        })
    }

    fn baby_steps(&self, unit: i64) -> Vec<i64> {
        (1..self.baby).map(|k1| k1 as i64 * unit).collect()
    }

    fn giant_steps(&self, unit: i64) -> Vec<i64> {
        (1..self.giant).map(|k2| (self.baby * k2) as i64 * unit).collect()
    }

    /// DiagABT: the shift that moves the window sums of diagonal `k` (columns `≡ 0 mod c`) to
    /// columns `≡ k` while undoing the giant step of its product.
    fn placement(&self, k: usize) -> i64 {
        (self.baby * (k / self.baby) * self.s1) as i64 - k as i64
    }

    /// DiagATB: the column of the class-scores layout where row `i` holds class `i - δ`.
    fn error_column(&self, delta: usize) -> usize {
        (self.c - delta) % self.c
    }

    /// DiagATB: the shift that brings that column of row `i + δ1` to column 0 of row `i`.
    fn error_shift(&self, delta: usize) -> i64 {
        ((delta % self.baby) * self.s1 + self.error_column(delta)) as i64
    }
}

/// The rotations of `ct` by `steps`, hoisted; none for no steps.
fn hoisted<C: Cloud>(cloud: &C, ct: &C::Ciphertext, steps: &[i64]) -> Result<Vec<C::Ciphertext>, BackendError> {
    if steps.is_empty() {
        Ok(Vec::new())
    } else {
        cloud.rotate_many(ct, steps)
    }
}

/// `C = X W^T` in the class-scores layout (DiagABT, see the module docs).
pub fn diag_abt<C: Cloud>(
    cloud: &C,
    x: &PackedMatrix<C::Ciphertext>,
    w: &PackedWeights<C::Ciphertext>,
) -> Result<PackedScores<C::Ciphertext>, EncryptedError>
where
    C::Ciphertext: Clone,
{
    let shape = x.shape();
    if w.shape() != shape {
        return Err(EncryptedError::mismatch("block shapes of X and W", shape, w.shape()));
    }
    if w.cols() != x.cols() {
        return Err(EncryptedError::mismatch("columns of X and W", x.cols(), w.cols()));
    }
    shape.check_cloud(cloud)?;
    let d = Diagonals::new(w.classes(), shape)?;
    require_levels(cloud, "DiagABT", DIAG_ABT_DEPTH, x.blocks().iter().chain(w.blocks()))?;
    let (rb, nb, s1) = (x.row_blocks(), x.col_blocks(), shape.cols());
    // The products run at the lowest input level: the others are lowered first, once each, and
    // rotated there.
    let level = lowest_level(cloud, x.blocks().iter().chain(w.blocks()));
    let (xs, ws) = (lowered(cloud, x.blocks(), level)?, lowered(cloud, w.blocks(), level)?);

    // acc[r][k] = Σ_j rot(X_rj, -c1 k2 s1) ⊙ rot(W̃_j, k1 s1), one sum of products each.
    // Blocks and diagonals side by side, as in DiagATB.
    let w_rot = ws
        .par_iter()
        .map(|wj| hoisted(cloud, wj, &d.baby_steps(s1 as i64)))
        .collect::<Result<Vec<_>, BackendError>>()?;
    let wb: Vec<Vec<&C::Ciphertext>> = ws
        .iter()
        .zip(&w_rot)
        .map(|(wj, rot)| once(wj.as_ref()).chain(rot).collect())
        .collect();
    let mut acc = Vec::with_capacity(rb);
    for r in 0..rb {
        let xr = &xs[r * nb..(r + 1) * nb];
        let x_rot = xr
            .par_iter()
            .map(|xj| hoisted(cloud, xj, &d.giant_steps(-(s1 as i64))))
            .collect::<Result<Vec<_>, BackendError>>()?;
        let xg: Vec<Vec<&C::Ciphertext>> = xr
            .iter()
            .zip(&x_rot)
            .map(|(xj, rot)| once(xj.as_ref()).chain(rot).collect())
            .collect();
        let diagonals = (0..d.c)
            .into_par_iter()
            .map(|k| {
                let pairs: Vec<_> = (0..nb).map(|j| (xg[j][k / d.baby], wb[j][k % d.baby])).collect();
                cloud.mul_sum(&pairs)
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        acc.push(diagonals);
    }

    let windows = shape.slots_from(|_, t| f64::from(u8::from(t % d.c == 0)));
    let blocks = acc
        .into_iter()
        .map(|diagonals| {
            let placed = diagonals
                .into_par_iter()
                .enumerate()
                .map(|(k, m)| {
                    let m = cloud.mul_plain(&rotate_and_add(cloud, m, doubling_steps(1, d.c))?, &windows)?;
                    match d.placement(k) {
                        0 => Ok(m),
                        shift => cloud.rotate(&m, shift),
                    }
                })
                .collect::<Result<Vec<_>, BackendError>>()?;
            let z = placed
                .into_iter()
                .try_fold(None, |z, m| accumulate(cloud, z, m).map(Some))?
                .expect("at least two classes");
            rotate_and_add(cloud, z, doubling_steps(d.c as i64, s1 / d.c))
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    Ok(PackedScores::from_blocks(x.rows(), w.classes(), shape, blocks))
}

/// `G = scale E^T X` in the weights layout (DiagATB, see the module docs); `E` in the
/// class-scores layout, its padded classes ignored.
pub fn diag_atb<C: Cloud>(
    cloud: &C,
    e: &PackedScores<C::Ciphertext>,
    x: &PackedMatrix<C::Ciphertext>,
    scale: f64,
) -> Result<PackedWeights<C::Ciphertext>, EncryptedError>
where
    C::Ciphertext: Clone,
{
    let shape = x.shape();
    if e.shape() != shape {
        return Err(EncryptedError::mismatch("block shapes of E and X", e.shape(), shape));
    }
    if e.rows() != x.rows() {
        return Err(EncryptedError::mismatch("rows of E and X", e.rows(), x.rows()));
    }
    shape.check_cloud(cloud)?;
    let d = Diagonals::new(e.classes(), shape)?;
    require_levels(cloud, "DiagATB", DIAG_ATB_DEPTH, e.blocks())?;
    require_levels(cloud, "DiagATB", 1, x.blocks())?;
    let (s0, s1, classes) = (shape.rows(), shape.cols(), e.classes());

    // u[r][δ] = rot(U_δ, -c1 δ2 s1): row i holds scale E[i + δ1, (i - c1 δ2) mod c].
    let masks: Vec<Vec<f64>> = (0..d.c)
        .map(|delta| {
            let column = d.error_column(delta);
            shape.slots_from(|i, t| {
                if t == column && (i + d.c - delta) % d.c < classes {
                    scale
                } else {
                    0.0
                }
            })
        })
        .collect();
    let u = e
        .blocks()
        .iter()
        .map(|er| {
            masks
                .iter()
                .enumerate()
                .map(|(delta, mask)| {
                    let b = cloud.mul_plain(er, mask)?;
                    let shift = d.error_shift(delta);
                    let b = if shift == 0 { b } else { cloud.rotate(&b, shift)? };
                    rotate_and_add(cloud, b, doubling_steps(-1, s1))
                })
                .collect::<Result<Vec<_>, BackendError>>()
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    // The products run at the lowest input level: the others are lowered first, once each.
    let nb = x.col_blocks();
    let level = lowest_level(cloud, u.iter().flatten().chain(x.blocks()));
    let xs = lowered(cloud, x.blocks(), level)?;
    let u = u
        .iter()
        .map(|ur| lowered(cloud, ur, level))
        .collect::<Result<Vec<_>, BackendError>>()?;

    // Column blocks side by side: independent chains of products keep the threads busier
    // than splitting each product's limbs.
    let blocks = (0..nb)
        .into_par_iter()
        .map(|j| {
            // inner[δ2] = Σ_r Σ_δ1 u[r][δ] ⊙ rot(X_rj, δ1 s1), one sum of products each.
            let x_rot = (0..x.row_blocks())
                .map(|r| hoisted(cloud, &xs[r * nb + j], &d.baby_steps(s1 as i64)))
                .collect::<Result<Vec<_>, BackendError>>()?;
            let mut m = None;
            for d2 in 0..d.giant {
                let pairs: Vec<_> = u
                    .iter()
                    .enumerate()
                    .flat_map(|(r, ur)| {
                        let xb: Vec<&C::Ciphertext> = once(xs[r * nb + j].as_ref()).chain(&x_rot[r]).collect();
                        (0..d.baby).map(move |d1| (ur[d1 + d.baby * d2].as_ref(), xb[d1]))
                    })
                    .collect();
                let part = cloud.mul_sum(&pairs)?;
                let part = if d2 == 0 {
                    part
                } else {
                    cloud.rotate(&part, (d.baby * d2 * s1) as i64)?
                };
                m = Some(accumulate(cloud, m, part)?);
            }
            let m = m.expect("at least one giant step");
            rotate_and_add(cloud, m, doubling_steps((d.c * s1) as i64, s0 / d.c))
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    Ok(PackedWeights::from_blocks(classes, x.cols(), shape, blocks))
}

/// The rotation keys DiagABT needs at `shape` for `classes` classes.
pub fn diag_abt_rotations(shape: BlockShape, classes: usize) -> Result<Vec<i64>, EncryptedError> {
    let d = Diagonals::new(classes, shape)?;
    let s1 = shape.cols() as i64;
    let steps = d
        .baby_steps(s1)
        .into_iter()
        .chain(d.giant_steps(-s1))
        .chain(doubling_steps(1, d.c));
    let steps = steps.chain((0..d.c).map(|k| d.placement(k)));
    Ok(rotation_keys(
        shape,
        steps.chain(doubling_steps(d.c as i64, shape.cols() / d.c)),
    ))
}

/// The rotation keys DiagATB needs at `shape` for `classes` classes.
pub fn diag_atb_rotations(shape: BlockShape, classes: usize) -> Result<Vec<i64>, EncryptedError> {
    let d = Diagonals::new(classes, shape)?;
    let (s0, s1) = (shape.rows(), shape.cols());
    let steps = (0..d.c)
        .map(|delta| d.error_shift(delta))
        .chain(doubling_steps(-1, s1))
        .chain(d.baby_steps(s1 as i64));
    let steps = steps.chain(d.giant_steps(s1 as i64));
    Ok(rotation_keys(
        shape,
        steps.chain(doubling_steps((d.c * s1) as i64, s0 / d.c)),
    ))
}

/// What [`diag_abt`] costs for `rows x cols` features and `classes` classes (the closed form of
/// the module docs).
pub fn diag_abt_counts(
    shape: BlockShape,
    rows: usize,
    cols: usize,
    classes: usize,
) -> Result<OpCounts, EncryptedError> {
    let d = Diagonals::new(classes, shape)?;
    let (rb, nb) = shape.grid(rows, cols);
    let (rb, nb, c) = (rb as u64, nb as u64, d.c as u64);
    let (baby, giant) = (d.baby as u64 - 1, d.giant as u64 - 1);
    let hoisted = nb * baby + rb * nb * giant;
    let per_row_block = c * log2(d.c) as u64 + c - 1 + log2(shape.cols() / d.c) as u64;
    Ok(OpCounts {
        mul: rb * nb * c,
        relinearizations: rb * c,
        mul_plain: rb * c,
        rotations: hoisted + rb * per_row_block,
        hoisted_batches: nb * u64::from(baby > 0) + rb * nb * u64::from(giant > 0),
        hoisted_rotations: hoisted,
        additions: rb * c * (nb - 1) + rb * per_row_block,
        ..OpCounts::default()
    })
}

/// What [`diag_atb`] costs for `rows x cols` features and `classes` classes (the closed form of
/// the module docs).
pub fn diag_atb_counts(
    shape: BlockShape,
    rows: usize,
    cols: usize,
    classes: usize,
) -> Result<OpCounts, EncryptedError> {
    let d = Diagonals::new(classes, shape)?;
    let (rb, nb) = shape.grid(rows, cols);
    let (rb, nb, c) = (rb as u64, nb as u64, d.c as u64);
    let (baby, giant) = (d.baby as u64 - 1, d.giant as u64 - 1);
    let (log_s1, log_rows) = (log2(shape.cols()) as u64, log2(shape.rows() / d.c) as u64);
    Ok(OpCounts {
        mul: rb * nb * c,
        relinearizations: nb * (giant + 1),
        mul_plain: rb * c,
        rotations: rb * (c - 1 + c * log_s1) + rb * nb * baby + nb * giant + nb * log_rows,
        hoisted_batches: rb * nb * u64::from(baby > 0),
        hoisted_rotations: rb * nb * baby,
        additions: rb * c * log_s1 + nb * (rb * c - 1 + log_rows),
        ..OpCounts::default()
    })
}
