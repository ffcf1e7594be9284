//! Extracted features on disk: one safetensors file per data set, split, extractor and checkpoint,
//! so a frozen encoder runs once per data set rather than once per training run.

use crate::model::one_line;
use blindtuner_features::Matrix;
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// 64-bit FNV-1a of a file's bytes, in hex: a stable (across Rust versions, unlike `std`'s
/// hasher) key that changes whenever the checkpoint does.
pub fn file_hash(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(format!("{h:016x}"));
        }
        for &b in &buf[..n] {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// `dir/<dataset>-<split>-<extractor>-<weights hash>.safetensors`.
pub fn cache_path(dir: &Path, dataset: &str, split: &str, extractor: &str, weights_hash: &str) -> PathBuf {
    dir.join(format!("{dataset}-{split}-{extractor}-{weights_hash}.safetensors"))
}

/// Writes `features` (f32, `rows x cols`) and `labels` (u32) to `path`.
pub fn save_features(path: &Path, x: &Matrix, labels: &[usize]) -> Result<(), String> {
    let err = |e: candle_core::Error| format!("{}: {}", path.display(), one_line(&e));
    let features = Tensor::from_vec(
        x.data.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
        (x.rows, x.cols),
        &Device::Cpu,
    )
    .map_err(err)?;
    let labels = Tensor::from_vec(
        labels.iter().map(|&l| l as u32).collect::<Vec<u32>>(),
        labels.len(),
        &Device::Cpu,
    )
    .map_err(err)?;
    let tensors = HashMap::from([("features".to_string(), features), ("labels".to_string(), labels)]);
    candle_core::safetensors::save(&tensors, path).map_err(err)
}

/// Reads what [`save_features`] wrote.
pub fn load_features(path: &Path) -> Result<(Matrix, Vec<usize>), String> {
    let err = |e: candle_core::Error| format!("{}: {}", path.display(), one_line(&e));
    let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(err)?;
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| format!("{}: missing tensor `{name}`", path.display()))
    };
    let features = get("features")?;
    let (rows, cols) = features.dims2().map_err(err)?;
    let data = features
        .to_dtype(DType::F64)
        .and_then(|t| t.flatten_all()?.to_vec1::<f64>())
        .map_err(err)?;
    let labels = get("labels")?.to_vec1::<u32>().map_err(err)?;
    if labels.len() != rows {
        return Err(format!("{}: {} labels for {rows} rows", path.display(), labels.len()));
    }
    Ok((
        Matrix::from_rows(rows, cols, data),
        labels.into_iter().map(|l| l as usize).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_round_trip_and_hashes_follow_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(dir.path(), "digits", "train", "deit-tiny", "00ff");
        assert!(path.ends_with("digits-train-deit-tiny-00ff.safetensors"));
        let x = Matrix::from_rows(2, 3, vec![0.5, -1.0, 2.0, 0.0, 3.25, -0.125]);
        save_features(&path, &x, &[4, 1]).unwrap();
        assert_eq!(load_features(&path).unwrap(), (x, vec![4, 1]));
        let a = file_hash(&path).unwrap();
        std::fs::write(&path, b"other").unwrap();
        assert_ne!(file_hash(&path).unwrap(), a);
        assert!(load_features(&path).unwrap_err().contains("safetensors"));
    }
}
