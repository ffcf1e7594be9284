//! The weights under training, in one of two layouts:
//!
//! * **compact** ([`CompactWeights`], BlindTuner's): the distinct class rows of many column
//!   blocks in one ciphertext, unpacked (one level, rotations) for each forward pass and packed
//!   from each gradient, so that a refresh of the weights is one bootstrapping (at HETAL's MNIST
//!   shape) instead of one per column block;
//! * **tiled** ([`PackedWeights`], HETAL's): one ciphertext per column block, the class rows
//!   repeated down it, as DiagABT reads them and DiagATB writes them: no level or rotation
//!   between the products and the update, but `ceil(cols / s1)` ciphertexts to refresh (25 at
//!   HETAL's MNIST shape).

use blindtuner_backend::{Client, Cloud};
use blindtuner_features::Matrix;

use crate::EncryptedError;
use crate::compact::{COMPACT_DEPTH, CompactWeights, compact_rotations};
use crate::packing::{BlockShape, PackedWeights};

/// How the weights under training are laid out between two forward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightLayout {
    Compact,
    Tiled,
}

impl WeightLayout {
    /// Levels that going from this layout to the tiled one takes, and the same back.
    pub fn depth(self) -> usize {
        match self {
            WeightLayout::Compact => COMPACT_DEPTH,
            WeightLayout::Tiled => 0,
        }
    }

    /// The rotations going to the tiled layout and back take.
    pub fn rotations(self, shape: BlockShape, classes: usize, cols: usize) -> Result<Vec<i64>, EncryptedError> {
        match self {
            WeightLayout::Compact => compact_rotations(shape, classes, cols),
            WeightLayout::Tiled => Ok(Vec::new()),
        }
    }
}

/// `classes x cols` weights in either layout.
#[derive(Debug, Clone)]
pub enum Weights<Ct> {
    Compact(CompactWeights<Ct>),
    Tiled(PackedWeights<Ct>),
}

impl<Ct> Weights<Ct> {
    /// The client's side: encrypts `w` (one row per class) in `layout`.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        w: &Matrix,
        shape: BlockShape,
        layout: WeightLayout,
    ) -> Result<Weights<Ct>, EncryptedError> {
        Ok(match layout {
            WeightLayout::Compact => Weights::Compact(CompactWeights::encrypt(client, w, shape)?),
            WeightLayout::Tiled => Weights::Tiled(PackedWeights::encrypt(client, w, shape)?),
        })
    }

    /// `classes x cols` weights in `layout` whose ciphertexts are the next ones of `cts`: the
    /// receiver's side of weights sent ciphertext by ciphertext.
    pub fn take_from(
        layout: WeightLayout,
        classes: usize,
        cols: usize,
        shape: BlockShape,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<Weights<Ct>, EncryptedError> {
        Ok(match layout {
            WeightLayout::Compact => Weights::Compact(CompactWeights::take_from(classes, cols, shape, cts)?),
            WeightLayout::Tiled => Weights::Tiled(PackedWeights::take_from(classes, cols, shape, cts)?),
        })
    }

    /// The client's side: the `classes x cols` matrix.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        match self {
            Weights::Compact(w) => w.decrypt(client),
            Weights::Tiled(w) => w.decrypt(client),
        }
    }

    /// The same weights with other ciphertexts (an update of these).
    pub fn with_cts<T>(&self, cts: Vec<T>) -> Result<Weights<T>, EncryptedError> {
        Ok(match self {
            Weights::Compact(w) => Weights::Compact(w.with_cts(cts)?),
            Weights::Tiled(w) => Weights::Tiled(w.with_blocks(cts)?),
        })
    }

    pub fn layout(&self) -> WeightLayout {
        match self {
            Weights::Compact(_) => WeightLayout::Compact,
            Weights::Tiled(_) => WeightLayout::Tiled,
        }
    }

    pub fn classes(&self) -> usize {
        match self {
            Weights::Compact(w) => w.classes(),
            Weights::Tiled(w) => w.classes(),
        }
    }

    /// The ciphertexts, in the order they travel.
    pub fn cts(&self) -> &[Ct] {
        match self {
            Weights::Compact(w) => w.cts(),
            Weights::Tiled(w) => w.blocks(),
        }
    }
}

impl<Ct: Clone + Send + Sync> Weights<Ct> {
    /// The tiled weights DiagABT multiplies with ([`WeightLayout::depth`] levels).
    pub fn tiled<C: Cloud<Ciphertext = Ct>>(&self, cloud: &C) -> Result<PackedWeights<Ct>, EncryptedError> {
        match self {
            Weights::Compact(w) => w.unpack(cloud),
            Weights::Tiled(w) => Ok(w.clone()),
        }
    }

    /// Tiled weights (such as DiagATB's gradient) in `layout` ([`WeightLayout::depth`] levels).
    pub fn from_tiled<C: Cloud<Ciphertext = Ct>>(
        cloud: &C,
        tiled: PackedWeights<Ct>,
        layout: WeightLayout,
    ) -> Result<Weights<Ct>, EncryptedError> {
        Ok(match layout {
            WeightLayout::Compact => Weights::Compact(CompactWeights::pack(cloud, &tiled)?),
            WeightLayout::Tiled => Weights::Tiled(tiled),
        })
    }
}
