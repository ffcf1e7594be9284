//! Compact weights: the weights' distinct rows, many blocks to a ciphertext, for what the
//! training does to the weights between two forward passes (the update, refreshing).
//!
//! The tiled layout ([`PackedWeights`]) repeats the `c` class rows of each column block
//! `s0 / c` times, because DiagABT rotates the weights by rows. Only the first `c` rows
//! (`c s1` slots) are distinct, so `per = s0 / c` column blocks fit in one ciphertext: block
//! `j` goes to row group `-(j mod per) mod per` of ciphertext `j / per`. Refreshing the
//! weights then bootstraps `ceil(nb / per)` ciphertexts instead of `nb` (one instead of 25 at
//! HETAL's MNIST shape, 769 features in blocks of `1024 x 32`).
//!
//! ```text
//! pack:   C_q = Σ_{j in q} rot(T_j ⊙ G0, (j mod per) c s1)       T_j tiled, G0 the first c rows
//! unpack: T_j = Σ_{g < per} rot(rot(C_q, -(j mod per) c s1) ⊙ G0, g c s1)
//! ```
//!
//! Packing takes one level (the mask `G0`) and `nb - ceil(nb / per)` rotations, a binary tree
//! over steps `2^m c s1`; unpacking takes one level and `nb - ceil(nb / per)` rotations by
//! `-2^m c s1` (each block shifted from one already shifted), plus `log2(per)` rotations per
//! block to tile it again, with the steps DiagATB's final sum already has keys for.

use blindtuner_backend::{BackendError, Client, Cloud};
use blindtuner_features::Matrix;
use rayon::prelude::*;

use crate::EncryptedError;
use crate::counting::OpCounts;
use crate::ops::{doubling_steps, require_levels, rotate_and_add};
use crate::packing::{BlockShape, PackedWeights, log2, padded_classes};

/// Levels [`CompactWeights::pack`] and [`CompactWeights::unpack`] each take: one mask.
pub const COMPACT_DEPTH: usize = 1;

/// `classes x cols` weights, the distinct rows of `nb` column blocks packed `per` to a
/// ciphertext (see the module docs).
#[derive(Debug, Clone)]
pub struct CompactWeights<Ct> {
    classes: usize,
    cols: usize,
    shape: BlockShape,
    cts: Vec<Ct>,
}

/// The geometry of the compact layout at `shape` for `classes` classes.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    /// Blocks per ciphertext.
    per: usize,
    /// Slots of one block's distinct part (`c s1`).
    group: usize,
}

impl Geometry {
    fn new(classes: usize, shape: BlockShape) -> Result<Geometry, EncryptedError> {
        let c = padded_classes(classes)?;
        if c > shape.rows() {
            return Err(EncryptedError::mismatch(
                "padded classes and block rows (weights are tiled down a block)",
                c,
                shape.rows(),
            ));
        }
        Ok(Geometry {
            per: shape.rows() / c,
            group: c * shape.cols(),
        })
    }

    /// The ciphertext and the first slot of block `j`'s distinct rows.
    fn place(&self, j: usize) -> (usize, usize) {
        let g = (self.per - j % self.per) % self.per;
        (j / self.per, g * self.group)
    }

    /// The mask keeping the first `c` rows of a block.
    fn first_rows(&self, shape: BlockShape) -> Vec<f64> {
        (0..shape.slots())
            .map(|p| f64::from(u8::from(p < self.group)))
            .collect()
    }
}

impl<Ct> CompactWeights<Ct> {
    /// Encrypts `w` (one row per class) in the compact layout of `shape`.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        w: &Matrix,
        shape: BlockShape,
    ) -> Result<CompactWeights<Ct>, EncryptedError> {
        let geo = Geometry::new(w.rows, shape)?;
        let nb = w.cols.div_ceil(shape.cols());
        let mut values = vec![vec![0.0; shape.slots()]; nb.div_ceil(geo.per)];
        for j in 0..nb {
            let (q, start) = geo.place(j);
            for class in 0..w.rows {
                for t in 0..shape.cols().min(w.cols - j * shape.cols()) {
                    values[q][start + class * shape.cols() + t] = w.data[class * w.cols + j * shape.cols() + t];
                }
            }
        }
        let cts = values.iter().map(|v| client.encrypt(v)).collect::<Result<_, _>>()?;
        Ok(CompactWeights {
            classes: w.rows,
            cols: w.cols,
            shape,
            cts,
        })
    }

    /// Decrypts the `classes x cols` matrix.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        let (geo, s1) = (Geometry::new(self.classes, self.shape)?, self.shape.cols());
        let values = self
            .cts
            .iter()
            .map(|ct| client.decrypt(ct))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(v) = values.iter().find(|v| v.len() < self.shape.slots()) {
            return Err(EncryptedError::mismatch(
                "slots of a decryption and of the block shape",
                v.len(),
                self.shape.slots(),
            ));
        }
        let mut w = Matrix::zeros(self.classes, self.cols);
        for j in 0..self.col_blocks() {
            let (q, start) = geo.place(j);
            for class in 0..self.classes {
                for t in 0..s1.min(self.cols - j * s1) {
                    w.data[class * self.cols + j * s1 + t] = values[q][start + class * s1 + t];
                }
            }
        }
        Ok(w)
    }

    /// `classes x cols` compact weights in `shape` whose ciphertexts are the next ones of `cts`:
    /// the receiver's side of weights sent ciphertext by ciphertext.
    pub fn take_from(
        classes: usize,
        cols: usize,
        shape: BlockShape,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<CompactWeights<Ct>, EncryptedError> {
        let geo = Geometry::new(classes, shape)?;
        let count = cols.div_ceil(shape.cols()).div_ceil(geo.per);
        let taken: Vec<Ct> = cts.take(count).collect();
        if taken.len() != count {
            return Err(EncryptedError::mismatch(
                "ciphertexts of compact weights",
                format!("{count} needed"),
                format!("{} left", taken.len()),
            ));
        }
        Ok(CompactWeights {
            classes,
            cols,
            shape,
            cts: taken,
        })
    }

    /// The same weights with other ciphertexts (an update of these).
    pub fn with_cts<T>(&self, cts: Vec<T>) -> Result<CompactWeights<T>, EncryptedError> {
        if cts.len() != self.cts.len() {
            return Err(EncryptedError::mismatch(
                "ciphertexts of compact weights",
                self.cts.len(),
                cts.len(),
            ));
        }
        Ok(CompactWeights {
            classes: self.classes,
            cols: self.cols,
            shape: self.shape,
            cts,
        })
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn shape(&self) -> BlockShape {
        self.shape
    }

    /// Column blocks of the tiled layout.
    pub fn col_blocks(&self) -> usize {
        self.cols.div_ceil(self.shape.cols())
    }

    /// The ciphertexts, `per` column blocks each.
    pub fn cts(&self) -> &[Ct] {
        &self.cts
    }
}

impl<Ct: Clone> CompactWeights<Ct> {
    /// Packs tiled weights (such as DiagATB's gradient): one level.
    pub fn pack<C: Cloud<Ciphertext = Ct>>(
        cloud: &C,
        tiled: &PackedWeights<Ct>,
    ) -> Result<CompactWeights<Ct>, EncryptedError>
    where
        Ct: Send + Sync,
    {
        let shape = tiled.shape();
        shape.check_cloud(cloud)?;
        let geo = Geometry::new(tiled.classes(), shape)?;
        require_levels(cloud, "packing weights", COMPACT_DEPTH, tiled.blocks())?;
        let mask = geo.first_rows(shape);
        let cts = tiled
            .blocks()
            .chunks(geo.per)
            .map(|chunk| {
                // A binary tree: level m adds pairs of partial sums 2^m blocks apart.
                // Independent products and rotations side by side (see `crate::matmul`).
                let mut level = chunk
                    .par_iter()
                    .map(|b| cloud.mul_plain(b, &mask))
                    .collect::<Result<Vec<_>, BackendError>>()?;
                let mut step = geo.group as i64;
                while level.len() > 1 {
                    level = level
                        .par_chunks(2)
                        .map(|pair| match pair {
                            [a, b] => cloud.add(a, &cloud.rotate(b, step)?),
                            [a] => Ok(a.clone()),
                            _ => unreachable!("chunks of two"),
                        })
                        .collect::<Result<_, _>>()?;
                    step *= 2;
                }
                Ok(level.pop().expect("chunks are not empty"))
            })
            .collect::<Result<Vec<_>, BackendError>>()?;
        Ok(CompactWeights {
            classes: tiled.classes(),
            cols: tiled.cols(),
            shape,
            cts,
        })
    }

    /// The tiled weights DiagABT multiplies with: one level.
    pub fn unpack<C: Cloud<Ciphertext = Ct>>(&self, cloud: &C) -> Result<PackedWeights<Ct>, EncryptedError>
    where
        Ct: Send + Sync,
    {
        self.shape.check_cloud(cloud)?;
        let geo = Geometry::new(self.classes, self.shape)?;
        require_levels(cloud, "unpacking weights", COMPACT_DEPTH, &self.cts)?;
        let mask = geo.first_rows(self.shape);
        let nb = self.col_blocks();
        let mut blocks = Vec::with_capacity(nb);
        for (q, ct) in self.cts.iter().enumerate() {
            // shifted[k] = rot(C_q, -k c s1), each from the one without k's lowest bit.
            let count = geo.per.min(nb - q * geo.per);
            let mut shifted = vec![ct.clone()];
            for k in 1..count {
                let low = k & k.wrapping_neg();
                let from = &shifted[k - low];
                shifted.push(cloud.rotate(from, -((low * geo.group) as i64))?);
            }
            let tiled = shifted
                .par_iter()
                .map(|s| {
                    let first = cloud.mul_plain(s, &mask)?;
                    rotate_and_add(cloud, first, doubling_steps(geo.group as i64, geo.per))
                })
                .collect::<Result<Vec<_>, BackendError>>()?;
            blocks.extend(tiled);
        }
        Ok(PackedWeights::from_blocks(self.classes, self.cols, self.shape, blocks))
    }
}

/// The rotations packing and unpacking take at `shape` for `classes` classes and `cols`
/// columns (those by `2^m c s1` also serve DiagATB).
pub fn compact_rotations(shape: BlockShape, classes: usize, cols: usize) -> Result<Vec<i64>, EncryptedError> {
    let geo = Geometry::new(classes, shape)?;
    let used = cols.div_ceil(shape.cols()).min(geo.per);
    Ok(doubling_steps(geo.group as i64, geo.per)
        .chain(doubling_steps(-(geo.group as i64), used.next_power_of_two()))
        .collect())
}

/// What one [`CompactWeights::pack`] and one [`CompactWeights::unpack`] cost together for
/// `classes x cols` weights (a training step does both).
pub fn compact_counts(shape: BlockShape, classes: usize, cols: usize) -> Result<OpCounts, EncryptedError> {
    let geo = Geometry::new(classes, shape)?;
    let nb = cols.div_ceil(shape.cols()) as u64;
    let (shifts, tiling) = (nb - nb.div_ceil(geo.per as u64), nb * log2(geo.per) as u64);
    Ok(OpCounts {
        mul_plain: 2 * nb,
        rotations: 2 * shifts + tiling,
        additions: shifts + tiling,
        ..OpCounts::default()
    })
}
