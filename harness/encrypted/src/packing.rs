//! HETAL's packing: matrices as grids of `(s0, s1)` blocks, one block per ciphertext.
//!
//! A block is an `s0 x s1` matrix held row-major in the `s0 s1` slots of a ciphertext: entry
//! `(i, t)` sits in slot `i s1 + t`, and `s0`, `s1` are powers of two. Rotating by `k s1` shifts
//! the rows cyclically (row `i` receives row `i + k mod s0`); rotating by a small `k` shifts the
//! columns, and what leaves a row's end enters the next row, which the circuits account for.
//!
//! The training uses three layouts, for `c` classes padded to `c_pad`, the next power of two:
//!
//! * features ([`PackedMatrix`]): an `a x b` matrix as `ceil(a / s0) x ceil(b / s1)` blocks,
//!   block `(r, j)` holding rows `r s0 ..` and columns `j s1 ..`, zero padded. The features'
//!   last column is the bias (constant 1), as [`blindtuner_features::Features`] carries it.
//! * weights ([`PackedWeights`]): a `c x b` matrix as `ceil(b / s1)` blocks; row `i` of block `j`
//!   is class `i mod c_pad` (zero for a padded class), so the weights are tiled `s0 / c_pad`
//!   times down each block. Gradients come out of DiagATB in the same layout.
//! * class scores ([`PackedScores`]): logits, probabilities, one-hot labels or errors of `a`
//!   samples as `ceil(a / s0)` blocks; row `i` of block `r` is sample `r s0 + i`, and its column
//!   `u < c_pad` holds class `(i + u) mod c_pad`: every row lists its classes rotated by the row
//!   index, the order in which DiagABT produces them. Only the first `c_pad` columns carry
//!   meaning; circuits leave garbage in the others.

use blindtuner_backend::{Client, Cloud};
use blindtuner_features::Matrix;

use crate::EncryptedError;

/// The shape of one block: `rows x cols` (HETAL's `s0 x s1`), both powers of two, filling the
/// slots of one ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    rows: usize,
    cols: usize,
}

impl std::fmt::Display for BlockShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {}", self.rows, self.cols)
    }
}

impl BlockShape {
    /// `rows x cols` blocks; both must be powers of two.
    pub fn new(rows: usize, cols: usize) -> Result<BlockShape, EncryptedError> {
        if !rows.is_power_of_two() || !cols.is_power_of_two() {
            return Err(EncryptedError::BlockShape {
                rows,
                cols,
                reason: "both sides must be powers of two".into(),
            });
        }
        Ok(BlockShape { rows, cols })
    }

    /// HETAL's choice for a batch of `batch` rows and `classes` classes in `slots` slots:
    /// `s0 = min(max(batch, c_pad), slots / c_pad)` (the batch rounded up to a power of two),
    /// `s1 = slots / s0`, so that a block holds the whole batch when it can and at least `c_pad`
    /// columns always.
    pub fn hetal(batch: usize, classes: usize, slots: usize) -> Result<BlockShape, EncryptedError> {
        let c = padded_classes(classes)?;
        if !slots.is_power_of_two() || c > slots {
            return Err(EncryptedError::Unsupported(format!(
                "{slots} slots cannot hold blocks for {classes} classes"
            )));
        }
        let rows = batch.max(1).next_power_of_two().max(c).min(slots / c);
        BlockShape::new(rows, slots / rows)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn slots(&self) -> usize {
        self.rows * self.cols
    }

    /// The `(row blocks, column blocks)` grid of an `rows x cols` matrix.
    pub fn grid(&self, rows: usize, cols: usize) -> (usize, usize) {
        (rows.div_ceil(self.rows), cols.div_ceil(self.cols))
    }

    /// The slot vector of one block with entry `(i, t)` set to `f(i, t)`.
    pub(crate) fn slots_from(&self, f: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..self.slots()).map(|p| f(p / self.cols, p % self.cols)).collect()
    }

    /// Refuses a cloud whose ciphertexts do not have exactly this many slots.
    pub(crate) fn check_cloud<C: Cloud>(&self, cloud: &C) -> Result<(), EncryptedError> {
        let slots = cloud.capabilities().slots;
        if slots != self.slots() {
            return Err(EncryptedError::mismatch(
                "slots of the block shape and of the backend",
                format!("{self} = {}", self.slots()),
                slots,
            ));
        }
        Ok(())
    }
}

/// `classes` rounded up to a power of two (HETAL's `c_pad`); at least two classes.
pub fn padded_classes(classes: usize) -> Result<usize, EncryptedError> {
    if classes < 2 {
        return Err(EncryptedError::Unsupported(format!(
            "softmax regression needs at least 2 classes, not {classes}"
        )));
    }
    Ok(classes.next_power_of_two())
}

/// `log2(n)` of a power of two.
pub(crate) fn log2(n: usize) -> usize {
    debug_assert!(n.is_power_of_two());
    n.trailing_zeros() as usize
}

/// The next `count` blocks of `cts`, for a layout rebuilt from what was sent block by block.
fn take_blocks<Ct>(
    cts: &mut impl Iterator<Item = Ct>,
    count: usize,
    what: &'static str,
) -> Result<Vec<Ct>, EncryptedError> {
    let blocks: Vec<Ct> = cts.take(count).collect();
    if blocks.len() != count {
        return Err(EncryptedError::mismatch(
            what,
            format!("{count} blocks needed"),
            format!("{} left", blocks.len()),
        ));
    }
    Ok(blocks)
}

/// Decrypts one block, checking that it holds a whole block.
fn decrypt_block<K: Client>(client: &K, ct: &K::Ciphertext, shape: BlockShape) -> Result<Vec<f64>, EncryptedError> {
    let values = client.decrypt(ct)?;
    if values.len() < shape.slots() {
        return Err(EncryptedError::mismatch(
            "slots of a decryption and of the block shape",
            values.len(),
            shape.slots(),
        ));
    }
    Ok(values)
}

/// A matrix as a row-major grid of blocks (the features layout).
#[derive(Debug, Clone)]
pub struct PackedMatrix<Ct> {
    rows: usize,
    cols: usize,
    shape: BlockShape,
    /// Block `(r, j)` at `r * col_blocks + j`.
    blocks: Vec<Ct>,
}

impl<Ct> PackedMatrix<Ct> {
    /// Encrypts `m` block by block, zero padded.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        m: &Matrix,
        shape: BlockShape,
    ) -> Result<PackedMatrix<Ct>, EncryptedError> {
        if m.rows == 0 || m.cols == 0 {
            return Err(EncryptedError::mismatch(
                "matrix shape",
                format!("{} x {}", m.rows, m.cols),
                "a non-empty matrix",
            ));
        }
        let (rb, nb) = shape.grid(m.rows, m.cols);
        let mut blocks = Vec::with_capacity(rb * nb);
        for r in 0..rb {
            for j in 0..nb {
                let values = shape.slots_from(|i, t| {
                    let (row, col) = (r * shape.rows + i, j * shape.cols + t);
                    if row < m.rows && col < m.cols {
                        m.data[row * m.cols + col]
                    } else {
                        0.0
                    }
                });
                blocks.push(client.encrypt(&values)?);
            }
        }
        Ok(PackedMatrix {
            rows: m.rows,
            cols: m.cols,
            shape,
            blocks,
        })
    }

    /// Encrypts features whose last column is the bias (all ones), as
    /// [`blindtuner_features::Features`] holds them; anything else is refused.
    pub fn encrypt_features<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        x: &Matrix,
        shape: BlockShape,
    ) -> Result<PackedMatrix<Ct>, EncryptedError> {
        if x.cols > 0 {
            let bias = (0..x.rows).map(|row| (row, x.data[row * x.cols + x.cols - 1]));
            if let Some((row, value)) = bias.into_iter().find(|&(_, v)| v != 1.0) {
                return Err(EncryptedError::MissingBias { row, value });
            }
        }
        Self::encrypt(client, x, shape)
    }

    /// A `rows x cols` matrix in `shape` whose blocks are the next ones of `cts`, in the order
    /// of [`Self::blocks`]: the receiver's side of a matrix sent block by block.
    pub fn take_from(
        rows: usize,
        cols: usize,
        shape: BlockShape,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<PackedMatrix<Ct>, EncryptedError> {
        if rows == 0 || cols == 0 {
            return Err(EncryptedError::mismatch(
                "matrix shape",
                format!("{rows} x {cols}"),
                "a non-empty matrix",
            ));
        }
        let (rb, nb) = shape.grid(rows, cols);
        Ok(PackedMatrix {
            rows,
            cols,
            shape,
            blocks: take_blocks(cts, rb * nb, "blocks of a matrix")?,
        })
    }

    /// Decrypts the whole matrix.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        let mut m = Matrix::zeros(self.rows, self.cols);
        let nb = self.col_blocks();
        for (b, ct) in self.blocks.iter().enumerate() {
            let values = decrypt_block(client, ct, self.shape)?;
            let (r, j) = (b / nb, b % nb);
            for i in 0..self.shape.rows.min(self.rows.saturating_sub(r * self.shape.rows)) {
                let row = r * self.shape.rows + i;
                for t in 0..self.shape.cols.min(self.cols - j * self.shape.cols) {
                    m.data[row * self.cols + j * self.shape.cols + t] = values[i * self.shape.cols + t];
                }
            }
        }
        Ok(m)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn shape(&self) -> BlockShape {
        self.shape
    }

    pub fn row_blocks(&self) -> usize {
        self.blocks.len() / self.col_blocks()
    }

    pub fn col_blocks(&self) -> usize {
        self.cols.div_ceil(self.shape.cols)
    }

    /// Block `(r, j)`.
    pub fn block(&self, r: usize, j: usize) -> &Ct {
        &self.blocks[r * self.col_blocks() + j]
    }

    /// All blocks, row block after row block.
    pub fn blocks(&self) -> &[Ct] {
        &self.blocks
    }
}

/// A `classes x cols` weight matrix, tiled down each block (the weights layout).
#[derive(Debug, Clone)]
pub struct PackedWeights<Ct> {
    classes: usize,
    cols: usize,
    shape: BlockShape,
    blocks: Vec<Ct>,
}

impl<Ct> PackedWeights<Ct> {
    /// Checks that `classes` padded classes tile a block of `shape`.
    fn check(classes: usize, shape: BlockShape) -> Result<usize, EncryptedError> {
        let c = padded_classes(classes)?;
        if c > shape.rows {
            return Err(EncryptedError::mismatch(
                "padded classes and block rows (weights are tiled down a block)",
                c,
                shape.rows,
            ));
        }
        Ok(c)
    }

    /// Encrypts `w` (one row per class), tiled down each block.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        w: &Matrix,
        shape: BlockShape,
    ) -> Result<PackedWeights<Ct>, EncryptedError> {
        let c = Self::check(w.rows, shape)?;
        let nb = w.cols.div_ceil(shape.cols);
        let blocks = (0..nb)
            .map(|j| {
                let values = shape.slots_from(|i, t| {
                    let (class, col) = (i % c, j * shape.cols + t);
                    if class < w.rows && col < w.cols {
                        w.data[class * w.cols + col]
                    } else {
                        0.0
                    }
                });
                client.encrypt(&values)
            })
            .collect::<Result<_, _>>()?;
        Ok(PackedWeights {
            classes: w.rows,
            cols: w.cols,
            shape,
            blocks,
        })
    }

    /// `classes x cols` weights in `shape` whose blocks are the next ones of `cts`, in the order
    /// of [`Self::blocks`]: the receiver's side of weights sent block by block.
    pub fn take_from(
        classes: usize,
        cols: usize,
        shape: BlockShape,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<PackedWeights<Ct>, EncryptedError> {
        Self::check(classes, shape)?;
        let blocks = take_blocks(cts, cols.div_ceil(shape.cols), "blocks of weights")?;
        Ok(PackedWeights::from_blocks(classes, cols, shape, blocks))
    }

    /// Assembles weights from their blocks (the gradient DiagATB computes).
    pub(crate) fn from_blocks(classes: usize, cols: usize, shape: BlockShape, blocks: Vec<Ct>) -> PackedWeights<Ct> {
        PackedWeights {
            classes,
            cols,
            shape,
            blocks,
        }
    }

    /// The same weights' shape and layout with other blocks, such as the cloud computes from
    /// these (an update of the weights).
    pub fn with_blocks<T>(&self, blocks: Vec<T>) -> Result<PackedWeights<T>, EncryptedError> {
        if blocks.len() != self.blocks.len() {
            return Err(EncryptedError::mismatch(
                "blocks of weights",
                self.blocks.len(),
                blocks.len(),
            ));
        }
        Ok(PackedWeights::from_blocks(self.classes, self.cols, self.shape, blocks))
    }

    /// Decrypts the `classes x cols` matrix from the first copy in each block.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        let mut w = Matrix::zeros(self.classes, self.cols);
        for (j, ct) in self.blocks.iter().enumerate() {
            let values = decrypt_block(client, ct, self.shape)?;
            for class in 0..self.classes {
                for t in 0..self.shape.cols.min(self.cols - j * self.shape.cols) {
                    w.data[class * self.cols + j * self.shape.cols + t] = values[class * self.shape.cols + t];
                }
            }
        }
        Ok(w)
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

    /// One block per `s1` columns.
    pub fn blocks(&self) -> &[Ct] {
        &self.blocks
    }
}

/// Per-sample class scores, one block per `s0` samples, classes in rotated order (the class
/// scores layout).
#[derive(Debug, Clone)]
pub struct PackedScores<Ct> {
    rows: usize,
    classes: usize,
    shape: BlockShape,
    blocks: Vec<Ct>,
}

impl<Ct> PackedScores<Ct> {
    fn check(rows: usize, classes: usize, shape: BlockShape) -> Result<usize, EncryptedError> {
        let c = padded_classes(classes)?;
        if c > shape.cols {
            return Err(EncryptedError::mismatch(
                "padded classes and block columns (a row holds a sample's classes)",
                c,
                shape.cols,
            ));
        }
        if rows == 0 {
            return Err(EncryptedError::mismatch("samples", 0, "at least one"));
        }
        Ok(c)
    }

    /// Encrypts `rows` samples whose score of class `q` is `score(sample, q)`.
    fn encrypt_with<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        rows: usize,
        classes: usize,
        shape: BlockShape,
        score: impl Fn(usize, usize) -> f64,
    ) -> Result<PackedScores<Ct>, EncryptedError> {
        let c = Self::check(rows, classes, shape)?;
        let blocks = (0..rows.div_ceil(shape.rows))
            .map(|r| {
                let values = shape.slots_from(|i, u| {
                    let (sample, class) = (r * shape.rows + i, (i + u) % c);
                    if u < c && sample < rows && class < classes {
                        score(sample, class)
                    } else {
                        0.0
                    }
                });
                client.encrypt(&values)
            })
            .collect::<Result<_, _>>()?;
        Ok(PackedScores {
            rows,
            classes,
            shape,
            blocks,
        })
    }

    /// Encrypts a `samples x classes` matrix of scores.
    pub fn encrypt<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        scores: &Matrix,
        shape: BlockShape,
    ) -> Result<PackedScores<Ct>, EncryptedError> {
        Self::encrypt_with(client, scores.rows, scores.cols, shape, |s, q| {
            scores.data[s * scores.cols + q]
        })
    }

    /// Encrypts labels one-hot, in the layout of the scores they are compared with.
    pub fn encrypt_labels<K: Client<Ciphertext = Ct>>(
        client: &mut K,
        labels: &[usize],
        classes: usize,
        shape: BlockShape,
    ) -> Result<PackedScores<Ct>, EncryptedError> {
        if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            return Err(EncryptedError::Label { row, label, classes });
        }
        Self::encrypt_with(client, labels.len(), classes, shape, |s, q| {
            f64::from(u8::from(labels[s] == q))
        })
    }

    /// Scores of `rows` samples and `classes` classes in `shape` whose blocks are the next ones
    /// of `cts`, in the order of [`Self::blocks`]: the receiver's side of labels sent block by
    /// block.
    pub fn take_from(
        rows: usize,
        classes: usize,
        shape: BlockShape,
        cts: &mut impl Iterator<Item = Ct>,
    ) -> Result<PackedScores<Ct>, EncryptedError> {
        Self::check(rows, classes, shape)?;
        let blocks = take_blocks(cts, rows.div_ceil(shape.rows), "blocks of class scores")?;
        Ok(PackedScores::from_blocks(rows, classes, shape, blocks))
    }

    /// Assembles scores from their blocks (what DiagABT and the softmax compute).
    pub(crate) fn from_blocks(rows: usize, classes: usize, shape: BlockShape, blocks: Vec<Ct>) -> PackedScores<Ct> {
        PackedScores {
            rows,
            classes,
            shape,
            blocks,
        }
    }

    /// The same samples, classes and layout with other blocks, such as the cloud computes from
    /// these (errors `P - Y` from probabilities and labels).
    pub fn with_blocks<T>(&self, blocks: Vec<T>) -> Result<PackedScores<T>, EncryptedError> {
        if blocks.len() != self.blocks.len() {
            return Err(EncryptedError::mismatch(
                "blocks of class scores",
                self.blocks.len(),
                blocks.len(),
            ));
        }
        Ok(PackedScores::from_blocks(self.rows, self.classes, self.shape, blocks))
    }

    /// Decrypts the `samples x classes` matrix.
    pub fn decrypt<K: Client<Ciphertext = Ct>>(&self, client: &K) -> Result<Matrix, EncryptedError> {
        let c = self.padded_classes();
        let mut m = Matrix::zeros(self.rows, self.classes);
        for (r, ct) in self.blocks.iter().enumerate() {
            let values = decrypt_block(client, ct, self.shape)?;
            for i in 0..self.shape.rows.min(self.rows - r * self.shape.rows) {
                let sample = r * self.shape.rows + i;
                for class in 0..self.classes {
                    let u = (class + c - i % c) % c;
                    m.data[sample * self.classes + class] = values[i * self.shape.cols + u];
                }
            }
        }
        Ok(m)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The classes rounded up to a power of two.
    pub fn padded_classes(&self) -> usize {
        self.classes.next_power_of_two()
    }

    pub fn shape(&self) -> BlockShape {
        self.shape
    }

    /// One block per `s0` samples.
    pub fn blocks(&self) -> &[Ct] {
        &self.blocks
    }
}
