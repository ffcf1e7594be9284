//! DermaMNIST (MedMNIST v2) and its MedMNIST+ sizes: one `.npz` archive with
//! the official splits as `train_images`, `val_images`, `test_images`
//! (uint8, `N x S x S x 3`) and `train_labels`, `val_labels`, `test_labels`
//! (uint8, int32 or int64, `N x 1` or `N`), 7 classes.

use crate::error::{DataError, Problem};
use crate::images::{Examples, Images};
use npyz::{DType, NpyFile, Order, TypeChar};
use std::io::Read;
use std::path::Path;
use zip::ZipArchive;
use zip::result::ZipError;

/// DermaMNIST's seven skin-lesion classes.
pub const CLASSES: usize = 7;
/// The archive's file name for images of side `size`: 28 (MedMNIST v2) or
/// 64, 128, 224 (MedMNIST+).
pub fn file_name(size: usize) -> String {
    if size == 28 {
        "dermamnist.npz".into()
    } else {
        format!("dermamnist_{size}.npz")
    }
}

/// Reads the three official splits of images of side `size` from `path`.
pub fn load_dermamnist_npz(path: &Path, size: usize) -> Result<[Examples; 3], DataError> {
    let name = path.display().to_string();
    if !path.is_file() {
        return Err(DataError::new(&name, Problem::Missing(name.clone())));
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::new(&name, Problem::Io(e.to_string())))?;
    let mut npz = ZipArchive::new(file).map_err(|e| DataError::new(&name, Problem::Io(e.to_string())))?;
    let mut split = |s: &str| read_split(&mut npz, &name, s, size);
    Ok([split("train")?, split("val")?, split("test")?])
}

fn read_split<R: Read + std::io::Seek>(
    npz: &mut ZipArchive<R>,
    name: &str,
    split: &str,
    size: usize,
) -> Result<Examples, DataError> {
    let (images_name, labels_name) = (format!("{split}_images"), format!("{split}_labels"));
    let err = |array: &str, p| DataError::new(format!("{name}, array {array}"), p);

    let images = open_array(npz, name, &images_name)?;
    let shape = images.shape().to_vec();
    let side = size as u64;
    if shape.len() != 4 || shape[1..] != [side, side, 3] || shape[0] == 0 {
        return Err(err(
            &images_name,
            Problem::WrongShape {
                found: shape,
                expected: format!("(N, {size}, {size}, 3) with N > 0"),
            },
        ));
    }
    let count = shape[0] as usize;
    if !matches!(type_char(&images), Some((TypeChar::Uint, 1))) {
        return Err(err(&images_name, wrong_dtype(&images, "uint8")));
    }
    let pixels = read_vec::<u8, _>(images, &err, &images_name)?;

    let labels = open_array(npz, name, &labels_name)?;
    let shape = labels.shape().to_vec();
    if !(shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)) {
        return Err(err(
            &labels_name,
            Problem::WrongShape {
                found: shape,
                expected: "(N, 1) or (N,)".into(),
            },
        ));
    }
    if shape[0] as usize != count {
        return Err(err(
            &labels_name,
            Problem::CountMismatch {
                images: count,
                labels: shape[0] as usize,
            },
        ));
    }
    let labels: Vec<i64> = match type_char(&labels) {
        Some((TypeChar::Uint, 1)) => read_vec::<u8, _>(labels, &err, &labels_name)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Int, 4)) => read_vec::<i32, _>(labels, &err, &labels_name)?
            .into_iter()
            .map(i64::from)
            .collect(),
        Some((TypeChar::Int, 8)) => read_vec::<i64, _>(labels, &err, &labels_name)?,
        _ => return Err(err(&labels_name, wrong_dtype(&labels, "uint8, int32 or int64"))),
    };
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| !(0..CLASSES as i64).contains(l))
    {
        return Err(err(
            &labels_name,
            Problem::LabelOutOfRange {
                index,
                label,
                classes: CLASSES,
            },
        ));
    }
    Ok(Examples {
        images: Images {
            count,
            height: size,
            width: size,
            channels: 3,
            max_value: 255,
            pixels,
        },
        labels: labels.into_iter().map(|l| l as usize).collect(),
    })
}

/// Opens one array (`{array}.npy` in the archive), C-ordered.
fn open_array<'a, R: Read + std::io::Seek>(
    npz: &'a mut ZipArchive<R>,
    name: &str,
    array: &str,
) -> Result<NpyFile<impl Read + 'a>, DataError> {
    let err = |p| DataError::new(format!("{name}, array {array}"), p);
    let entry = match npz.by_name(&format!("{array}.npy")) {
        Ok(entry) => entry,
        Err(ZipError::FileNotFound) => return Err(DataError::new(name, Problem::MissingArray(array.into()))),
        Err(e) => return Err(err(Problem::Io(e.to_string()))),
    };
    let file = NpyFile::new(entry).map_err(|e| err(Problem::Io(e.to_string())))?;
    if file.order() != Order::C {
        return Err(err(Problem::WrongShape {
            found: file.shape().to_vec(),
            expected: "a C-ordered array, not Fortran-ordered".into(),
        }));
    }
    Ok(file)
}

/// The kind and byte size of a scalar array's elements.
fn type_char<R: Read>(file: &NpyFile<R>) -> Option<(TypeChar, u64)> {
    match file.dtype() {
        DType::Plain(t) => Some((t.type_char(), t.size_field())),
        _ => None,
    }
}

fn wrong_dtype<R: Read>(file: &NpyFile<R>, expected: &'static str) -> Problem {
    let found = match file.dtype() {
        DType::Plain(t) => t.to_string(),
        other => other.descr(),
    };
    Problem::WrongDtype { found, expected }
}

fn read_vec<T: npyz::Deserialize, R: Read>(
    file: NpyFile<R>,
    err: &impl Fn(&str, Problem) -> DataError,
    array: &str,
) -> Result<Vec<T>, DataError> {
    file.into_vec::<T>().map_err(|e| err(array, Problem::Io(e.to_string())))
}
