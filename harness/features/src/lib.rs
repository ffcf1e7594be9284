//! Feature extraction: images in, a plain matrix of features out.
//!
//! The client side of the pipeline turns each image into a feature vector
//! with a [`FeatureExtractor`] and appends a bias column; the trainers (exact
//! and encrypted) consume the resulting [`Features`]. Extractors that learn
//! anything from data (PCA, standardisation) are fitted on the training split
//! only and applied unchanged to validation and test.

mod matrix;
mod pca;

pub use matrix::Matrix;
pub use pca::{Pca, Standardizer};

use blindtuner_datasets::{Dataset, Examples, Images};
use std::fmt;
use std::str::FromStr;

/// Why features could not be extracted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    #[error(
        "unknown feature extractor `{0}`: expected pixels, pixels-pcaK, pixels-std or pixels-pcaK-std (K a positive integer)"
    )]
    UnknownSpec(String),
    #[error("{extractor} was fitted on {expected} images but got {found} images")]
    ShapeMismatch {
        extractor: String,
        expected: String,
        found: String,
    },
    #[error(
        "PCA to {k} dimensions needs at least {k} input dimensions and more than {k} training examples (have {dims} and {rows})"
    )]
    PcaTooLarge { k: usize, dims: usize, rows: usize },
    /// A model-based extractor failed on its input (e.g. a channel count it cannot read).
    #[error("{extractor}: {message}")]
    Extraction { extractor: String, message: String },
}

/// Turns images into feature vectors of a fixed dimension.
pub trait FeatureExtractor: Send + Sync {
    /// The name reports carry, e.g. `pixels-pca64`.
    fn name(&self) -> String;
    /// Dimension of one feature vector, without the bias column.
    fn dim(&self) -> usize;
    /// One row per image.
    fn extract(&self, images: &Images) -> Result<Matrix, FeatureError>;
}

/// Which pixel features to build: `pixels[-pcaK][-std]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelSpec {
    /// Project onto this many principal components.
    pub pca: Option<usize>,
    /// Standardise every feature to zero mean and unit variance.
    pub standardize: bool,
}

impl FromStr for PixelSpec {
    type Err = FeatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FeatureError::UnknownSpec(s.to_string());
        let rest = s.strip_prefix("pixels").ok_or_else(bad)?;
        let (rest, standardize) = match rest.strip_suffix("-std") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let pca = match rest {
            "" => None,
            r => {
                let k: usize = r.strip_prefix("-pca").and_then(|k| k.parse().ok()).ok_or_else(bad)?;
                if k == 0 {
                    return Err(bad());
                }
                Some(k)
            }
        };
        Ok(PixelSpec { pca, standardize })
    }
}

impl fmt::Display for PixelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pixels")?;
        if let Some(k) = self.pca {
            write!(f, "-pca{k}")?;
        }
        if self.standardize {
            write!(f, "-std")?;
        }
        Ok(())
    }
}

/// Raw pixels scaled to [0, 1] (divided by the data set's largest pixel
/// value), then optionally projected by PCA and standardised, both fitted on
/// the training images.
#[derive(Debug, Clone)]
pub struct Pixels {
    spec: PixelSpec,
    shape: (usize, usize, usize),
    pca: Option<Pca>,
    standardizer: Option<Standardizer>,
}

impl Pixels {
    /// Fits the optional PCA and standardisation on `train`.
    pub fn fit(spec: PixelSpec, train: &Images) -> Result<Pixels, FeatureError> {
        let mut x = scale(train);
        let pca = match spec.pca {
            Some(k) if k > x.cols || k >= x.rows => {
                return Err(FeatureError::PcaTooLarge {
                    k,
                    dims: x.cols,
                    rows: x.rows,
                });
            }
            Some(k) => {
                let p = Pca::fit(&x, k);
                x = p.transform(&x);
                Some(p)
            }
            None => None,
        };
        let standardizer = spec.standardize.then(|| Standardizer::fit(&x));
        Ok(Pixels {
            spec,
            shape: (train.height, train.width, train.channels),
            pca,
            standardizer,
        })
    }
}

impl FeatureExtractor for Pixels {
    fn name(&self) -> String {
        self.spec.to_string()
    }

    fn dim(&self) -> usize {
        let (h, w, c) = self.shape;
        self.spec.pca.unwrap_or(h * w * c)
    }

    fn extract(&self, images: &Images) -> Result<Matrix, FeatureError> {
        let found = (images.height, images.width, images.channels);
        if found != self.shape {
            let show = |(h, w, c): (usize, usize, usize)| format!("{h}x{w}x{c}");
            return Err(FeatureError::ShapeMismatch {
                extractor: self.name(),
                expected: show(self.shape),
                found: show(found),
            });
        }
        let mut x = scale(images);
        if let Some(p) = &self.pca {
            x = p.transform(&x);
        }
        if let Some(s) = &self.standardizer {
            x = s.transform(&x);
        }
        Ok(x)
    }
}

fn scale(images: &Images) -> Matrix {
    let inv = 1.0 / images.max_value.max(1) as f64;
    Matrix::from_rows(
        images.count,
        images.image_len(),
        images.pixels.iter().map(|&p| p as f64 * inv).collect(),
    )
}

/// Features of one split: `x` has the extractor's columns plus a final bias
/// column of ones; `labels[i]` is the class of row `i`.
#[derive(Debug, Clone)]
pub struct Features {
    pub x: Matrix,
    pub labels: Vec<usize>,
    pub classes: usize,
}

impl Features {
    /// The first `n` rows (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Features {
        let n = n.min(self.len());
        Features {
            x: Matrix::from_rows(n, self.x.cols, self.x.data[..n * self.x.cols].to_vec()),
            labels: self.labels[..n].to_vec(),
            classes: self.classes,
        }
    }

    pub fn extract(
        extractor: &dyn FeatureExtractor,
        examples: &Examples,
        classes: usize,
    ) -> Result<Features, FeatureError> {
        Ok(Features {
            x: extractor.extract(&examples.images)?.with_bias_column(),
            labels: examples.labels.clone(),
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Train, validation and test features of one data set.
#[derive(Debug, Clone)]
pub struct FeatureSplits {
    /// The extractor's name.
    pub extractor: String,
    /// Feature dimension without the bias column.
    pub dim: usize,
    pub train: Features,
    pub val: Features,
    pub test: Features,
}

impl FeatureSplits {
    pub fn extract(extractor: &dyn FeatureExtractor, data: &Dataset) -> Result<FeatureSplits, FeatureError> {
        Ok(FeatureSplits {
            extractor: extractor.name(),
            dim: extractor.dim(),
            train: Features::extract(extractor, &data.train, data.classes)?,
            val: Features::extract(extractor, &data.val, data.classes)?,
            test: Features::extract(extractor, &data.test, data.classes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(count: usize, fill: impl Fn(usize) -> u8) -> Images {
        Images {
            count,
            height: 2,
            width: 3,
            channels: 1,
            max_value: 255,
            pixels: (0..count * 6).map(fill).collect(),
        }
    }

    #[test]
    fn specs_parse_and_print() {
        for s in ["pixels", "pixels-pca64", "pixels-std", "pixels-pca8-std"] {
            assert_eq!(s.parse::<PixelSpec>().unwrap().to_string(), s);
        }
        for s in [
            "pix",
            "pixels-pca",
            "pixels-pca0",
            "pixels-pcax",
            "pixels-std-pca4",
            "deit",
        ] {
            assert!(s.parse::<PixelSpec>().is_err(), "{s}");
        }
    }

    #[test]
    fn pixels_scale_to_unit_interval_and_add_bias() {
        let train = images(4, |i| if i % 2 == 0 { 255 } else { 0 });
        let px = Pixels::fit("pixels".parse().unwrap(), &train).unwrap();
        assert_eq!(px.dim(), 6);
        let ex = Examples {
            labels: vec![0; 4],
            images: train,
        };
        let f = Features::extract(&px, &ex, 2).unwrap();
        assert_eq!(f.x.cols, 7);
        assert_eq!(f.x.row(0), &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn pca_is_fitted_on_train_only() {
        let train = images(20, |i| ((i * 37) % 251) as u8);
        let spec: PixelSpec = "pixels-pca2".parse().unwrap();
        let px = Pixels::fit(spec, &train).unwrap();
        // Extracting other images never refits: the training projection is
        // unchanged whatever else was extracted in between.
        let before = px.extract(&train).unwrap();
        px.extract(&images(5, |i| (i * 3) as u8)).unwrap();
        assert_eq!(px.extract(&train).unwrap(), before);
        // Training features are centred (the PCA mean is the training mean).
        for c in 0..2 {
            let m: f64 = (0..20).map(|i| before.row(i)[c]).sum::<f64>() / 20.0;
            assert!(m.abs() < 1e-9);
        }
    }

    #[test]
    fn wrong_shapes_and_oversized_pca_are_errors() {
        let train = images(4, |i| i as u8);
        let px = Pixels::fit("pixels".parse().unwrap(), &train).unwrap();
        let mut other = images(1, |_| 0);
        other.width = 2;
        other.pixels.truncate(4);
        assert!(matches!(px.extract(&other), Err(FeatureError::ShapeMismatch { .. })));
        assert!(matches!(
            Pixels::fit("pixels-pca9".parse().unwrap(), &train),
            Err(FeatureError::PcaTooLarge { .. })
        ));
    }
}
