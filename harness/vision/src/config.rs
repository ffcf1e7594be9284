//! The Hugging Face `config.json` of a ViT / DeiT checkpoint: the few keys the encoder needs.

use crate::VisionError;
use serde::Deserialize;
use std::path::Path;

/// Encoder shape read from `config.json` (Hugging Face `ViTConfig` / `DeiTConfig` keys; absent
/// optional keys take the Hugging Face defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VitConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_image_size")]
    pub image_size: usize,
    #[serde(default = "default_patch_size")]
    pub patch_size: usize,
    #[serde(default = "default_num_channels")]
    pub num_channels: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default = "default_qkv_bias")]
    pub qkv_bias: bool,
}

fn default_image_size() -> usize {
    224
}
fn default_patch_size() -> usize {
    16
}
fn default_num_channels() -> usize {
    3
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".into()
}
fn default_qkv_bias() -> bool {
    true
}

impl VitConfig {
    /// Reads and validates `path`.
    pub fn read(path: &Path) -> Result<VitConfig, VisionError> {
        if !path.is_file() {
            return Err(VisionError::MissingFile(path.to_path_buf()));
        }
        let unreadable = |message: String| VisionError::Unreadable {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
        let config: VitConfig = serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        config.validate().map_err(|message| VisionError::Config {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// What the encoder supports: 224-pixel RGB inputs (the preprocessing crops to 224 and
    /// the position embeddings are not interpolated), exact-erf GELU, biased projections.
    fn validate(&self) -> Result<(), String> {
        if self.image_size != 224 {
            return Err(format!("image_size {} (only 224 is supported)", self.image_size));
        }
        if self.patch_size == 0 || !self.image_size.is_multiple_of(self.patch_size) {
            return Err(format!("patch_size {} does not divide image_size 224", self.patch_size));
        }
        if self.num_channels != 3 {
            return Err(format!("num_channels {} (only 3 is supported)", self.num_channels));
        }
        if self.hidden_act != "gelu" {
            return Err(format!("hidden_act `{}` (only gelu is supported)", self.hidden_act));
        }
        if !self.qkv_bias {
            return Err("qkv_bias false (only biased query / key / value is supported)".into());
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Ok(())
    }

    /// Patches per image side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}
