//! The ViT / DeiT encoder (Dosovitskiy et al. 2021; Touvron et al. 2021) on candle, read from a
//! Hugging Face checkpoint.
//!
//! Embeddings: a `p x p` stride-`p` convolution cuts the 224 x 224 image into `(224/p)^2` patch
//! vectors; a learnt CLS token (and, for distilled DeiT, a distillation token) is prepended and
//! learnt position embeddings are added. Each pre-norm layer computes
//! `x += Wo MHA(LN1(x))` with `MHA = softmax(Q K^T / sqrt(d_head)) V` per head, then
//! `x += W2 GELU(W1 LN2(x))` (exact erf GELU). A final layer norm follows.
//!
//! candle-transformers' `vit` module has no distillation token (and panics on other input
//! sizes), so the encoder is written here with candle-nn's layers and the Hugging Face names.

use crate::{VisionError, VitConfig};
use candle_core::{D, DType, Device, IndexOp, Module, Tensor};
use candle_nn::{LayerNorm, Linear};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Prefixes of the encoder's tensors: `DeiTForImageClassification*` (`deit.`),
/// `ViTForImageClassification` (`vit.`, also the non-distilled `facebook/deit-*` checkpoints),
/// and a bare `ViTModel` / `DeiTModel` (none).
const PREFIXES: [&str; 3] = ["deit.", "vit.", ""];

/// Looks tensors up by name and checks their shapes, naming the file in every error.
struct Checkpoint {
    path: PathBuf,
    prefix: &'static str,
    tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    fn open(path: &Path) -> Result<Checkpoint, VisionError> {
        if !path.is_file() {
            return Err(VisionError::MissingFile(path.to_path_buf()));
        }
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| VisionError::Unreadable {
            path: path.to_path_buf(),
            message: one_line(&e),
        })?;
        let prefix = PREFIXES
            .into_iter()
            .find(|p| tensors.contains_key(&format!("{p}embeddings.cls_token")))
            .ok_or_else(|| VisionError::MissingTensor {
                path: path.to_path_buf(),
                name: "embeddings.cls_token (with prefix deit., vit. or none)".into(),
            })?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            prefix,
            tensors,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(&format!("{}{name}", self.prefix))
    }

    /// The tensor `prefix + name` as f32, which must have shape `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, VisionError> {
        let name = format!("{}{name}", self.prefix);
        let t = self.tensors.get(&name).ok_or_else(|| VisionError::MissingTensor {
            path: self.path.clone(),
            name: name.clone(),
        })?;
        if t.dims() != shape {
            return Err(VisionError::WrongShape {
                path: self.path.clone(),
                name,
                expected: shape.to_vec(),
                found: t.dims().to_vec(),
            });
        }
        t.to_dtype(DType::F32).map_err(|e| VisionError::Unreadable {
            path: self.path.clone(),
            message: format!("tensor `{name}`: {}", one_line(&e)),
        })
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear, VisionError> {
        Ok(Linear::new(
            self.get(&format!("{name}.weight"), &[out, inp])?,
            Some(self.get(&format!("{name}.bias"), &[out])?),
        ))
    }

    fn layer_norm(&self, name: &str, dim: usize, eps: f64) -> Result<LayerNorm, VisionError> {
        Ok(LayerNorm::new(
            self.get(&format!("{name}.weight"), &[dim])?,
            self.get(&format!("{name}.bias"), &[dim])?,
            eps,
        ))
    }
}

/// A candle error as one line (candle may append a backtrace).
pub(crate) fn one_line(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

struct Layer {
    norm1: LayerNorm,
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

/// A loaded encoder.
pub struct Encoder {
    patch_weight: Tensor,
    patch_bias: Tensor,
    /// The CLS token, then the distillation token if any: `1 x tokens x hidden`.
    tokens: Tensor,
    positions: Tensor,
    layers: Vec<Layer>,
    norm: LayerNorm,
    heads: usize,
    patch: usize,
    /// Whether the checkpoint has a distillation token.
    pub distilled: bool,
    pub hidden: usize,
}

impl Encoder {
    /// Reads every tensor the encoder of `config` needs from the safetensors file `path`; with
    /// `need_distillation`, a distillation token must be among them (otherwise it is used if
    /// present: a plain DeiT in the `DeiTModel` layout has one its head does not read).
    pub fn load(path: &Path, config: &VitConfig, need_distillation: bool) -> Result<Encoder, VisionError> {
        let ck = Checkpoint::open(path)?;
        let (h, p, eps) = (config.hidden_size, config.patch_size, config.layer_norm_eps);
        let distilled = need_distillation || ck.has("embeddings.distillation_token");
        let cls = ck.get("embeddings.cls_token", &[1, 1, h])?;
        let tokens = if distilled {
            let dist = ck.get("embeddings.distillation_token", &[1, 1, h])?;
            Tensor::cat(&[&cls, &dist], 1).map_err(|e| ck_error(&ck, &e))?
        } else {
            cls
        };
        let count = config.grid() * config.grid() + 1 + distilled as usize;
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let l = format!("encoder.layer.{i}");
                let m = config.intermediate_size;
                Ok(Layer {
                    norm1: ck.layer_norm(&format!("{l}.layernorm_before"), h, eps)?,
                    query: ck.linear(&format!("{l}.attention.attention.query"), h, h)?,
                    key: ck.linear(&format!("{l}.attention.attention.key"), h, h)?,
                    value: ck.linear(&format!("{l}.attention.attention.value"), h, h)?,
                    output: ck.linear(&format!("{l}.attention.output.dense"), h, h)?,
                    norm2: ck.layer_norm(&format!("{l}.layernorm_after"), h, eps)?,
                    fc1: ck.linear(&format!("{l}.intermediate.dense"), m, h)?,
                    fc2: ck.linear(&format!("{l}.output.dense"), h, m)?,
                })
            })
            .collect::<Result<Vec<_>, VisionError>>()?;
        Ok(Encoder {
            patch_weight: ck.get("embeddings.patch_embeddings.projection.weight", &[h, 3, p, p])?,
            patch_bias: ck.get("embeddings.patch_embeddings.projection.bias", &[h])?,
            positions: ck.get("embeddings.position_embeddings", &[1, count, h])?,
            tokens,
            layers,
            norm: ck.layer_norm("layernorm", h, eps)?,
            heads: config.num_attention_heads,
            patch: p,
            distilled,
            hidden: h,
        })
    }

    /// The final layer-normed CLS token of each image of a `batch x 3 x 224 x 224` tensor.
    pub fn cls(&self, pixels: &Tensor) -> candle_core::Result<Tensor> {
        let b = pixels.dim(0)?;
        let patches = pixels
            .conv2d(&self.patch_weight, 0, self.patch, 1, 1)?
            .broadcast_add(&self.patch_bias.reshape((1, self.hidden, 1, 1))?)?
            .flatten_from(2)?
            .transpose(1, 2)?;
        let tokens = self.tokens.broadcast_as((b, self.tokens.dim(1)?, self.hidden))?;
        let mut x = Tensor::cat(&[&tokens, &patches], 1)?.broadcast_add(&self.positions)?;
        for layer in &self.layers {
            x = (&x + layer.attention(&layer.norm1.forward(&x)?, self.heads)?)?;
            let y = layer.fc1.forward(&layer.norm2.forward(&x)?)?.gelu_erf()?;
            x = (&x + layer.fc2.forward(&y)?)?;
        }
        self.norm.forward(&x)?.i((.., 0, ..))
    }
}

impl Layer {
    fn attention(&self, x: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
        let (b, n, h) = x.dims3()?;
        let d = h / heads;
        let split = |t: Tensor| t.reshape((b, n, heads, d))?.transpose(1, 2)?.contiguous();
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?;
        let context = candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(&v)?;
        self.output.forward(&context.transpose(1, 2)?.reshape((b, n, h))?)
    }
}

fn ck_error(ck: &Checkpoint, e: &candle_core::Error) -> VisionError {
    VisionError::Unreadable {
        path: ck.path.clone(),
        message: one_line(e),
    }
}
