//! Where a checkpoint comes from: a local path, or a Hugging Face hub model (`hf:owner/name`),
//! downloaded once into a cache directory (cargo feature `hub`).

use crate::VisionError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The hub's address unless `HF_ENDPOINT` names another (a mirror, or a test server).
pub const DEFAULT_HUB_ENDPOINT: &str = "https://huggingface.co";

/// A checkpoint as `--weights` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSource {
    /// A checkpoint directory (`model.safetensors` and `config.json`) or a `.safetensors` file
    /// with its `config.json` beside it.
    Local(PathBuf),
    /// `hf:owner/name`: the `main` revision of a model on the Hugging Face hub.
    Hub(String),
}

impl FromStr for WeightsSource {
    type Err = VisionError;

    fn from_str(s: &str) -> Result<WeightsSource, VisionError> {
        let Some(repo) = s.strip_prefix("hf:") else {
            return Ok(WeightsSource::Local(PathBuf::from(s)));
        };
        // Two path components of the hub's name characters: nothing can climb out of the cache.
        let part_ok = |p: &str| {
            !p.is_empty() && !p.starts_with('.') && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match repo.split_once('/') {
            Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(WeightsSource::Hub(repo.to_string())),
            _ => Err(VisionError::BadHubModel(s.to_string())),
        }
    }
}

impl fmt::Display for WeightsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsSource::Local(path) => write!(f, "{}", path.display()),
            WeightsSource::Hub(repo) => write!(f, "hf:{repo}"),
        }
    }
}

impl serde::Serialize for WeightsSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for WeightsSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WeightsSource, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl WeightsSource {
    /// The local checkpoint: the path itself, or the hub model downloaded (unless already there)
    /// from `HF_ENDPOINT` (default [`DEFAULT_HUB_ENDPOINT`]) into `cache_dir/hub/`.
    pub fn resolve(&self, cache_dir: &Path) -> Result<PathBuf, VisionError> {
        match self {
            WeightsSource::Local(path) => Ok(path.clone()),
            WeightsSource::Hub(repo) => {
                let dir = hub_dir(cache_dir, repo);
                #[cfg(feature = "hub")]
                {
                    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| DEFAULT_HUB_ENDPOINT.into());
                    crate::hub::download(&endpoint, repo, &dir)?;
                    Ok(dir)
                }
                #[cfg(not(feature = "hub"))]
                {
                    let _ = dir;
                    Err(VisionError::HubDisabled(self.to_string()))
                }
            }
        }
    }
}

/// `cache_dir/hub/owner--name`, where a hub model's files are kept.
pub fn hub_dir(cache_dir: &Path, repo: &str) -> PathBuf {
    cache_dir.join("hub").join(repo.replace('/', "--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print() {
        for s in [
            "hf:facebook/deit-small-patch16-224",
            "weights/deit",
            "model.safetensors",
        ] {
            assert_eq!(s.parse::<WeightsSource>().unwrap().to_string(), s);
        }
        assert_eq!(
            "hf:a/b".parse::<WeightsSource>().unwrap(),
            WeightsSource::Hub("a/b".into())
        );
        for bad in ["hf:", "hf:deit", "hf:a/b/c", "hf:../b", "hf:a/..", "hf:a/b c", "hf:/b"] {
            let err = bad.parse::<WeightsSource>().unwrap_err().to_string();
            assert!(err.contains(bad) && err.contains("owner/name"), "{err}");
        }
        assert!(hub_dir(Path::new("c"), "a/b").ends_with("hub/a--b"));
    }

    #[cfg(not(feature = "hub"))]
    #[test]
    fn hub_models_need_the_hub_feature() {
        let source: WeightsSource = "hf:facebook/deit-small-patch16-224".parse().unwrap();
        let err = source.resolve(Path::new("unused")).unwrap_err().to_string();
        assert!(
            err.contains("hf:facebook/deit-small-patch16-224") && err.contains("--features hub"),
            "{err}"
        );
    }
}
