//! Downloading a checkpoint from the Hugging Face hub (cargo feature `hub`): `config.json` and
//! `model.safetensors` of a model's `main` revision, over HTTP(S) with ureq and rustls.

use crate::VisionError;
use std::path::Path;
use std::time::Duration;

/// The files a checkpoint directory needs, in the order they are fetched.
const FILES: [&str; 2] = ["config.json", "model.safetensors"];

/// Downloads `{endpoint}/{repo}/resolve/main/{file}` for each checkpoint file into `dir`, skipping
/// files already there. Each file is written beside its final name and renamed when complete,
/// so an interrupted download is fetched again rather than read half-written.
pub fn download(endpoint: &str, repo: &str, dir: &Path) -> Result<(), VisionError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .build()
        .into();
    for file in FILES {
        let target = dir.join(file);
        if target.is_file() {
            continue;
        }
        let url = format!("{}/{repo}/resolve/main/{file}", endpoint.trim_end_matches('/'));
        let failed = |message: String| VisionError::Download {
            url: url.clone(),
            message,
        };
        let write_failed = |path: &Path, e: std::io::Error| VisionError::Unreadable {
            path: path.to_path_buf(),
            message: format!("cannot write the download: {e}"),
        };
        let mut response = agent.get(&url).call().map_err(|e| match e {
            ureq::Error::StatusCode(404) => failed("HTTP 404: no such model or file on the hub".into()),
            ureq::Error::StatusCode(401 | 403) => {
                failed("access denied (a gated or private model; only public models are supported)".into())
            }
            e => failed(e.to_string()),
        })?;
        std::fs::create_dir_all(dir).map_err(|e| write_failed(dir, e))?;
        let partial = dir.join(format!("{file}.part"));
        let mut out = std::fs::File::create(&partial).map_err(|e| write_failed(&partial, e))?;
        std::io::copy(&mut response.body_mut().as_reader(), &mut out).map_err(|e| failed(e.to_string()))?;
        std::fs::rename(&partial, &target).map_err(|e| write_failed(&target, e))?;
    }
    Ok(())
}
