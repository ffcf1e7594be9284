//! The real Glyph-style training run: CKKS products on one backend, the softmax on another
//! (TFHE), the switches between them through the client (see the crate documentation), and its
//! f64 reference.
//!
//! The algorithm, in both: zero initial weights, then `steps` steps of plain mini-batch
//! gradient descent, step `t` on batch `t mod B` of the consecutive batches of the data (the
//! last one may be shorter), `W <- W - (lr / rows) (P - Y)^T X` with `P` the softmax of
//! `X W^T` by [`TfheSoftmax`] (or, for the exact reference, the exact softmax).

use std::time::Instant;

use blindtuner_backend::{Backend, Client, Cloud};
use blindtuner_encrypted::counting::{CountingCloud, OpCounts};
use blindtuner_encrypted::matmul::{diag_abt, diag_abt_rotations, diag_atb, diag_atb_rotations};
use blindtuner_encrypted::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights};
use blindtuner_features::Matrix;
use serde::{Deserialize, Serialize};

use crate::GlyphError;
use crate::compare::Comparisons;
use crate::softmax::{TfheOps, TfheSoftmax};

/// Batch size, learning rate and the number of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    pub batch: usize,
    pub lr: f64,
    pub steps: usize,
}

/// One measured step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// DiagABT and DiagATB on CKKS.
    pub matmul_s: f64,
    /// The client-aided switches both ways: decryptions, encryptions and serialisation.
    pub switch_s: f64,
    /// The softmax on TFHE.
    pub softmax_s: f64,
    /// `P - Y` and `W - G` on CKKS.
    pub update_s: f64,
    pub total_s: f64,
    pub ckks: OpCounts,
    pub tfhe: TfheOps,
    /// Values switched CKKS -> TFHE and back.
    pub to_tfhe: u64,
    pub to_ckks: u64,
    /// Bytes of the ciphertexts the switches moved between cloud and client, both ways.
    pub switch_bytes: u64,
}

/// What a run did and produced.
#[derive(Debug, Clone)]
pub struct Run {
    /// The trained weights, decrypted by the client: classes x columns.
    pub weights: Matrix,
    pub steps: Vec<StepReport>,
    pub block: BlockShape,
    pub rotation_keys: usize,
    pub keygen_s: f64,
    pub upload_s: f64,
    /// The features, labels and initial weights sent to the cloud.
    pub upload_ciphertexts: usize,
    pub upload_bytes: u64,
}

/// The rows `lo..hi` of `m`.
fn rows(m: &Matrix, lo: usize, hi: usize) -> Matrix {
    Matrix::from_rows(hi - lo, m.cols, m.data[lo * m.cols..hi * m.cols].to_vec())
}

/// The consecutive batches of `n` rows: `(first, end)` each.
fn batches(n: usize, batch: usize) -> Vec<(usize, usize)> {
    (0..n.div_ceil(batch))
        .map(|b| (b * batch, n.min((b + 1) * batch)))
        .collect()
}

fn check(x: &Matrix, labels: &[usize], classes: usize, hyper: Hyper) -> Result<(), GlyphError> {
    if x.rows == 0 || x.rows != labels.len() || hyper.batch == 0 || hyper.steps == 0 {
        return Err(GlyphError::Shape(format!(
            "a Glyph-style run needs rows, as many labels, a batch and steps: {} rows, {} labels, batch {}, {} steps",
            x.rows,
            labels.len(),
            hyper.batch,
            hyper.steps
        )));
    }
    if let Some(l) = labels.iter().find(|&&l| l >= classes) {
        return Err(GlyphError::Shape(format!("label {l} is not one of {classes} classes")));
    }
    Ok(())
}

/// The algorithm in f64 with `softmax` applied to each row's logits: the reference of [`train`]
/// (with [`TfheSoftmax::reference`]) and the exact trainer of the same schedule (with the exact
/// softmax).
pub fn reference(
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    hyper: Hyper,
    softmax: impl Fn(&[f64]) -> Vec<f64>,
) -> Result<Matrix, GlyphError> {
    check(x, labels, classes, hyper)?;
    let mut w = Matrix::zeros(classes, x.cols);
    let all = batches(x.rows, hyper.batch);
    for step in 0..hyper.steps {
        let (lo, hi) = all[step % all.len()];
        let mut g = vec![0.0; classes * x.cols];
        for (i, &label) in labels.iter().enumerate().take(hi).skip(lo) {
            let xi = x.row(i);
            let z: Vec<f64> = (0..classes)
                .map(|q| w.row(q).iter().zip(xi).map(|(a, b)| a * b).sum())
                .collect();
            let p = softmax(&z);
            for q in 0..classes {
                let e = p[q] - f64::from(u8::from(label == q));
                for (t, xt) in xi.iter().enumerate() {
                    g[q * x.cols + t] += e * xt;
                }
            }
        }
        let scale = hyper.lr / (hi - lo) as f64;
        for (wv, gv) in w.data.iter_mut().zip(&g) {
            *wv -= scale * gv;
        }
    }
    Ok(w)
}

/// The exact softmax of one row.
pub fn exact_softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Trains on `x` (its last column the bias) with the products on `ckks` and the softmax on
/// `tfhe`, switching through the client; `progress` hears each finished step's index.
pub fn train<B, T>(
    ckks: &B,
    tfhe: &T,
    x: &Matrix,
    labels: &[usize],
    classes: usize,
    hyper: Hyper,
    progress: &mut dyn FnMut(usize),
) -> Result<Run, GlyphError>
where
    B: Backend,
    T: Backend,
    T::Cloud: Comparisons,
{
    check(x, labels, classes, hyper)?;
    let softmax = TfheSoftmax::new(classes)?;
    let block = BlockShape::hetal(hyper.batch, classes, ckks.capabilities().slots)?;
    let mut rotations = diag_abt_rotations(block, classes)?;
    rotations.extend(diag_atb_rotations(block, classes)?);
    rotations.sort_unstable();
    rotations.dedup();

    let start = Instant::now();
    let (mut ck, cloud) = ckks.keygen(&rotations)?;
    let cloud = CountingCloud::new(cloud);
    let (mut tk, tc) = tfhe.keygen(&[])?;
    let keygen_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut upload = Vec::new();
    for (lo, hi) in batches(x.rows, hyper.batch) {
        let xb = PackedMatrix::encrypt_features(&mut ck, &rows(x, lo, hi), block)?;
        let yb = PackedScores::encrypt_labels(&mut ck, &labels[lo..hi], classes, block)?;
        upload.push((xb, yb));
    }
    let mut w = PackedWeights::encrypt(&mut ck, &Matrix::zeros(classes, x.cols), block)?;
    let sent: Vec<&B::Ciphertext> = upload
        .iter()
        .flat_map(|(xb, yb)| xb.blocks().iter().chain(yb.blocks()))
        .chain(w.blocks())
        .collect();
    let upload_bytes = bytes(ckks, sent.iter().copied())?;
    let upload_ciphertexts = sent.len();
    let upload_s = start.elapsed().as_secs_f64();

    let tslots = tfhe.capabilities().slots;
    let mut steps = Vec::with_capacity(hyper.steps);
    for step in 0..hyper.steps {
        let (xb, yb) = &upload[step % upload.len()];
        let n = xb.rows();
        let before = cloud.counts();
        let t_step = Instant::now();

        let t = Instant::now();
        let z = diag_abt(&cloud, xb, &w)?;
        let mut matmul_s = t.elapsed().as_secs_f64();

        // CKKS -> TFHE through the client: one ciphertext per class and chunk of samples.
        let t = Instant::now();
        let mut switch_bytes = bytes(ckks, z.blocks().iter())?;
        let zm = z.decrypt(&ck)?;
        let chunks = n.div_ceil(tslots);
        let mut zt = Vec::with_capacity(chunks);
        for chunk in 0..chunks {
            let samples = chunk * tslots..n.min((chunk + 1) * tslots);
            let cts = (0..classes)
                .map(|q| tk.encrypt(&samples.clone().map(|s| zm.data[s * classes + q]).collect::<Vec<_>>()))
                .collect::<Result<Vec<_>, _>>()?;
            switch_bytes += bytes(tfhe, cts.iter())?;
            zt.push(cts);
        }
        let mut switch_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut tfhe_ops = TfheOps::default();
        let mut pt = Vec::with_capacity(chunks);
        for cts in &zt {
            let (p, ops) = softmax.apply(&tc, cts)?;
            tfhe_ops = tfhe_ops + ops;
            pt.push(p);
        }
        let softmax_s = t.elapsed().as_secs_f64();

        // TFHE -> CKKS through the client.
        let t = Instant::now();
        let mut pm = Matrix::zeros(n, classes);
        for (chunk, cts) in pt.iter().enumerate() {
            switch_bytes += bytes(tfhe, cts.iter())?;
            for (q, ct) in cts.iter().enumerate() {
                let values = tk.decrypt(ct)?;
                for (i, s) in (chunk * tslots..n.min((chunk + 1) * tslots)).enumerate() {
                    pm.data[s * classes + q] = values[i];
                }
            }
        }
        let p = PackedScores::encrypt(&mut ck, &pm, block)?;
        switch_bytes += bytes(ckks, p.blocks().iter())?;
        switch_s += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let e = p
            .blocks()
            .iter()
            .zip(yb.blocks())
            .map(|(pb, ybk)| cloud.sub(pb, ybk))
            .collect::<Result<Vec<_>, _>>()?;
        let e = yb.with_blocks(e)?;
        let mut update_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let g = diag_atb(&cloud, &e, xb, hyper.lr / n as f64)?;
        matmul_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let updated = w
            .blocks()
            .iter()
            .zip(g.blocks())
            .map(|(wb, gb)| cloud.sub(wb, gb))
            .collect::<Result<Vec<_>, _>>()?;
        w = w.with_blocks(updated)?;
        update_s += t.elapsed().as_secs_f64();

        steps.push(StepReport {
            matmul_s,
            switch_s,
            softmax_s,
            update_s,
            total_s: t_step.elapsed().as_secs_f64(),
            ckks: cloud.counts() - before,
            tfhe: tfhe_ops,
            to_tfhe: (n * classes) as u64,
            to_ckks: (n * classes) as u64,
            switch_bytes,
        });
        progress(step);
    }
    Ok(Run {
        weights: w.decrypt(&ck)?,
        steps,
        block,
        rotation_keys: rotations.len(),
        keygen_s,
        upload_s,
        upload_ciphertexts,
        upload_bytes,
    })
}

/// The serialised size of `cts`.
fn bytes<'a, B: Backend>(backend: &B, cts: impl Iterator<Item = &'a B::Ciphertext>) -> Result<u64, GlyphError>
where
    B::Ciphertext: 'a,
{
    let mut total = 0;
    for ct in cts {
        total += backend.ciphertext_to_bytes(ct)?.len() as u64;
    }
    Ok(total)
}
