//! The file-based loaders on small synthetic files of each format, written
//! to a temporary directory: sizes of every split, determinism, layout
//! conversions, crop coordinates and every error path (each naming its file).

use blindtuner_datasets::idx::encode_idx;
use blindtuner_datasets::{
    DataError, Dataset, DatasetId, Examples, LoadError, Problem, cifar, face_mask, load, required_files,
};
use npyz::WriterBuilder;
use std::path::Path;

fn load_ok(id: DatasetId, dir: &Path) -> Dataset {
    load(id, Some(dir)).unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(id: DatasetId, dir: &Path) -> DataError {
    match load(id, Some(dir)) {
        Err(LoadError::Data(e)) => e,
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("{id:?} loaded from bad files"),
    }
}

fn sizes(d: &Dataset) -> (usize, usize, usize) {
    (d.train.len(), d.val.len(), d.test.len())
}

fn sorted_labels(parts: &[&Examples]) -> Vec<usize> {
    let mut l: Vec<usize> = parts.iter().flat_map(|e| e.labels.iter().copied()).collect();
    l.sort_unstable();
    l
}

#[test]
fn synthetic_file_sets_need_a_data_dir_and_list_their_files() {
    for id in [
        DatasetId::Mnist,
        DatasetId::Cifar10,
        DatasetId::DermaMnist(28),
        DatasetId::FaceMask,
    ] {
        let e = load(id, None).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!("data set `{}` reads files: give --data-dir DIR", id.info().name)
        );
        let dir = tempfile::tempdir().unwrap();
        let files = required_files(id, dir.path());
        assert!(!files.is_empty() && files.iter().all(|(_, found)| !found), "{files:?}");
    }
    assert!(required_files(DatasetId::Mnist10k, Path::new("/")).is_empty());
    assert_eq!(DatasetId::from_name("dermamnist-128"), Some(DatasetId::DermaMnist(128)));
    assert_eq!(
        required_files(DatasetId::DermaMnist(224), Path::new("/nowhere")),
        [("dermamnist_224.npz".to_string(), false)]
    );
}

// ---- MNIST (IDX) ----

fn write_synthetic_idx(dir: &Path, side: usize, classes: usize, n_train: usize, n_test: usize) {
    let img = |n: usize| encode_idx(&[n, side, side], &vec![7; n * side * side]);
    let lbl = |n: usize| encode_idx(&[n], &(0..n).map(|i| (i % classes) as u8).collect::<Vec<_>>());
    std::fs::write(dir.join("train-images-idx3-ubyte"), img(n_train)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), lbl(n_train)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), img(n_test)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), lbl(n_test)).unwrap();
}

#[test]
fn synthetic_mnist_has_hetals_split_and_checks_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_idx(dir.path(), 28, 10, 160, 20);
    let d = load_ok(DatasetId::Mnist, dir.path());
    assert_eq!((d.name.as_str(), d.classes), ("mnist", 10));
    // 87.5 % / 12.5 %, as 52,500 / 7,500 of 60,000.
    assert_eq!(sizes(&d), (140, 20, 20));
    assert_eq!(d.train, load_ok(DatasetId::Mnist, dir.path()).train);
    assert!(required_files(DatasetId::Mnist, dir.path()).iter().all(|(_, f)| *f));

    write_synthetic_idx(dir.path(), 4, 3, 16, 4);
    assert_eq!(load_ok(DatasetId::Idx, dir.path()).classes, 3);
    let e = load_err(DatasetId::Mnist, dir.path());
    assert!(e.source_name.ends_with("train-labels-idx1-ubyte"), "{e}");
    assert!(e.to_string().contains("10 classes of 28x28"), "{e}");
}

// ---- CIFAR-10 ----

/// A record's byte: label-dependent, different per channel and position.
fn synthetic_cifar_value(record: usize, channel: usize, pos: usize) -> u8 {
    (record * 7 + channel * 50 + pos) as u8
}

fn synthetic_cifar_batch(first: usize, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * cifar::RECORD);
    for r in first..first + n {
        out.push((r % 10) as u8);
        for c in 0..3 {
            for p in 0..1024 {
                out.push(synthetic_cifar_value(r, c, p));
            }
        }
    }
    out
}

/// Five training batches of 16 records and a test batch of 8.
fn write_synthetic_cifar(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, f) in cifar::TRAIN_FILES.iter().enumerate() {
        std::fs::write(dir.join(f), synthetic_cifar_batch(i * 16, 16)).unwrap();
    }
    std::fs::write(dir.join(cifar::TEST_FILE), synthetic_cifar_batch(1000, 8)).unwrap();
}

#[test]
fn synthetic_cifar_is_split_seven_eighths_and_made_channel_last() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_cifar(dir.path());
    let d = load_ok(DatasetId::Cifar10, dir.path());
    assert_eq!(sizes(&d), (70, 10, 8));
    assert_eq!(d.classes, 10);
    let t = &d.test.images;
    assert_eq!((t.height, t.width, t.channels), (32, 32, 3));
    // Test record 1 (number 1001): pixel (row 2, column 5) holds R, G, B of plane position 69.
    let px = &t.image(1)[(2 * 32 + 5) * 3..][..3];
    assert_eq!(px, [0, 1, 2].map(|c| synthetic_cifar_value(1001, c, 69)).as_slice());
    assert_eq!(d.test.labels[..3], [0, 1, 2]);
    // Train and validation together are the 80 training records, once each.
    let mut firsts: Vec<u8> = [&d.train, &d.val]
        .iter()
        .flat_map(|e| (0..e.len()).map(|i| e.images.image(i)[0]))
        .collect();
    firsts.sort_unstable();
    let mut want: Vec<u8> = (0..80).map(|r| synthetic_cifar_value(r, 0, 0)).collect();
    want.sort_unstable();
    assert_eq!(firsts, want);
    // The split is fixed: the same on every load, also from the archive's folder.
    let sub = tempfile::tempdir().unwrap();
    write_synthetic_cifar(&sub.path().join(cifar::SUBDIR));
    let again = load_ok(DatasetId::Cifar10, sub.path());
    assert_eq!((again.train, again.val), (d.train, d.val));
}

#[test]
fn synthetic_cifar_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_cifar(dir.path());
    std::fs::remove_file(dir.path().join("data_batch_3.bin")).unwrap();
    let e = load_err(DatasetId::Cifar10, dir.path());
    assert!(e.source_name.ends_with("data_batch_3.bin"), "{e}");
    assert!(matches!(e.problem, Problem::Missing(_)), "{e}");
    assert!(
        required_files(DatasetId::Cifar10, dir.path())
            .iter()
            .filter(|(_, found)| !found)
            .map(|(f, _)| f.as_str())
            .eq(["data_batch_3.bin"])
    );

    write_synthetic_cifar(dir.path());
    let mut bytes = synthetic_cifar_batch(0, 2);
    bytes.pop();
    std::fs::write(dir.path().join("data_batch_2.bin"), bytes).unwrap();
    let e = load_err(DatasetId::Cifar10, dir.path());
    assert!(e.source_name.ends_with("data_batch_2.bin"), "{e}");
    assert_eq!(
        e.problem,
        Problem::NotRecords {
            size: 2 * 3073 - 1,
            record: 3073
        }
    );

    write_synthetic_cifar(dir.path());
    let mut bytes = synthetic_cifar_batch(0, 3);
    bytes[2 * 3073] = 10;
    std::fs::write(dir.path().join("test_batch.bin"), bytes).unwrap();
    let e = load_err(DatasetId::Cifar10, dir.path());
    assert!(e.source_name.ends_with("test_batch.bin"), "{e}");
    assert!(
        e.to_string()
            .ends_with("label 10 of example 2 is out of range (classes 0..9)"),
        "{e}"
    );
}

// ---- DermaMNIST ----

enum SyntheticArray {
    U8(Vec<u64>, Vec<u8>),
    I64(Vec<u64>, Vec<i64>),
    F32(Vec<u64>, Vec<f32>),
}

/// An `.npz` as numpy's `savez_compressed` writes it: one deflated `{name}.npy` per array.
fn write_synthetic_npz(path: &Path, arrays: Vec<(&str, SyntheticArray)>) {
    let mut npz = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, array) in arrays {
        let options = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        npz.start_file(format!("{name}.npy"), options).unwrap();
        match array {
            SyntheticArray::U8(shape, data) => write_npy(&mut npz, &shape, data),
            SyntheticArray::I64(shape, data) => write_npy(&mut npz, &shape, data),
            SyntheticArray::F32(shape, data) => write_npy(&mut npz, &shape, data),
        }
    }
    npz.finish().unwrap();
}

fn write_npy<T: npyz::AutoSerialize>(out: &mut impl std::io::Write, shape: &[u64], data: Vec<T>) {
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()
        .unwrap();
    w.extend(data).unwrap();
    w.finish().unwrap();
}

/// The six arrays of a DermaMNIST archive of side `side`, splits of 14 / 7 / 7
/// images; labels are uint8 `N x 1`, or int64 `N` when `int64`.
fn synthetic_derma_arrays(side: usize, int64: bool) -> Vec<(&'static str, SyntheticArray)> {
    let mut arrays = Vec::new();
    for (split, n, images, labels) in [
        ("train", 14, "train_images", "train_labels"),
        ("val", 7, "val_images", "val_labels"),
        ("test", 7, "test_images", "test_labels"),
    ] {
        let pixels = (0..n * side * side * 3).map(|i| (i + split.len()) as u8).collect();
        arrays.push((
            images,
            SyntheticArray::U8(vec![n as u64, side as u64, side as u64, 3], pixels),
        ));
        let l: Vec<usize> = (0..n).map(|i| i % 7).collect();
        arrays.push((
            labels,
            if int64 {
                SyntheticArray::I64(vec![n as u64], l.iter().map(|&x| x as i64).collect())
            } else {
                SyntheticArray::U8(vec![n as u64, 1], l.iter().map(|&x| x as u8).collect())
            },
        ));
    }
    arrays
}

#[test]
fn synthetic_dermamnist_reads_the_official_splits_at_each_size() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_npz(&dir.path().join("dermamnist.npz"), synthetic_derma_arrays(28, false));
    write_synthetic_npz(&dir.path().join("dermamnist_64.npz"), synthetic_derma_arrays(64, true));
    let d = load_ok(DatasetId::DermaMnist(28), dir.path());
    assert_eq!((d.name.as_str(), d.classes, sizes(&d)), ("dermamnist", 7, (14, 7, 7)));
    let t = &d.train.images;
    assert_eq!((t.height, t.width, t.channels), (28, 28, 3));
    assert_eq!(t.pixels[..3], [5, 6, 7]);
    assert_eq!(d.val.labels, [0, 1, 2, 3, 4, 5, 6]);
    let d = load_ok(DatasetId::DermaMnist(64), dir.path());
    assert_eq!((d.name.as_str(), d.test.images.height), ("dermamnist-64", 64));
    assert_eq!(sorted_labels(&[&d.test]), [0, 1, 2, 3, 4, 5, 6]);
    let e = load_err(DatasetId::DermaMnist(128), dir.path());
    assert!(
        e.source_name.ends_with("dermamnist_128.npz") && matches!(e.problem, Problem::Missing(_)),
        "{e}"
    );
}

#[test]
fn synthetic_dermamnist_errors_name_the_file_and_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dermamnist.npz");
    let check = |arrays: Vec<(&str, SyntheticArray)>, want: &str| {
        write_synthetic_npz(&path, arrays);
        let e = load_err(DatasetId::DermaMnist(28), dir.path());
        assert!(e.source_name.contains("dermamnist.npz"), "{e}");
        assert!(e.to_string().contains(want), "{e} lacks {want}");
    };
    let without = |name: &str| {
        synthetic_derma_arrays(28, false)
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect::<Vec<_>>()
    };
    let replaced = |name: &'static str, a: SyntheticArray| {
        let mut v = without(name);
        v.push((name, a));
        v
    };
    check(without("val_labels"), "no array `val_labels`");
    check(
        replaced(
            "test_images",
            SyntheticArray::I64(vec![7, 28, 28, 3], vec![0; 7 * 28 * 28 * 3]),
        ),
        "array test_images: element type <i8, expected uint8",
    );
    check(
        replaced("train_labels", SyntheticArray::F32(vec![14], vec![0.0; 14])),
        "array train_labels: element type <f4, expected uint8, int32 or int64",
    );
    check(
        replaced(
            "val_images",
            SyntheticArray::U8(vec![7, 64, 64, 3], vec![0; 7 * 64 * 64 * 3]),
        ),
        "array val_images: shape [7, 64, 64, 3], expected (N, 28, 28, 3)",
    );
    check(
        replaced("val_labels", SyntheticArray::U8(vec![7, 2], vec![0; 14])),
        "array val_labels: shape [7, 2], expected (N, 1) or (N,)",
    );
    check(
        replaced("test_labels", SyntheticArray::U8(vec![6, 1], vec![0; 6])),
        "array test_labels: 7 images but 6 labels",
    );
    check(
        replaced(
            "train_labels",
            SyntheticArray::I64(vec![14], (0..14).map(|i| i - 4).collect()),
        ),
        "array train_labels: label -4 of example 0 is out of range (classes 0..6)",
    );
    check(
        replaced("train_labels", SyntheticArray::U8(vec![14, 1], (0..14).collect())),
        "array train_labels: label 7 of example 7 is out of range (classes 0..6)",
    );
}

// ---- Face Mask Detection ----

/// A `width x height` PNG whose pixel (x, y) is (x, y, 200).
fn write_synthetic_png(path: &Path, width: u32, height: u32) {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 200]));
    img.save(path).unwrap();
}

fn synthetic_voc(filename: &str, objects: &[(&str, [usize; 4])]) -> String {
    let mut s = format!(
        "<annotation>\n  <folder>images</folder>\n  <filename>{filename}</filename>\n  <size><width>40</width><height>30</height><depth>3</depth></size>\n"
    );
    for (name, [x0, y0, x1, y1]) in objects {
        s += &format!(
            "  <object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>\n"
        );
    }
    s + "</annotation>\n"
}

/// `images` annotated images of 40 x 30, each with one 8x8 face of every class
/// (boxes at x = 2, 12, 22 and y = 1 + image number % 20).
fn write_synthetic_face_mask(dir: &Path, images: usize) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("annotations")).unwrap();
    for i in 0..images {
        let name = format!("maksssksksss{i}.png");
        write_synthetic_png(&dir.join("images").join(&name), 40, 30);
        let y = 1 + i % 20;
        let objects: Vec<(&str, [usize; 4])> = face_mask::CLASS_NAMES
            .iter()
            .enumerate()
            .map(|(c, &n)| (n, [2 + 10 * c, y, 10 + 10 * c, y + 8]))
            .collect();
        std::fs::write(
            dir.join("annotations").join(format!("maksssksksss{i}.xml")),
            synthetic_voc(&name, &objects),
        )
        .unwrap();
    }
}

#[test]
fn face_mask_split_arithmetic_gives_hetals_counts() {
    let counts = face_mask::stratified_counts(&[3232, 123, 717]);
    assert_eq!(counts, [[2261, 324, 647], [86, 12, 25], [502, 72, 143]]);
    let totals: Vec<usize> = (0..3).map(|s| counts.iter().map(|c| c[s]).sum()).collect();
    assert_eq!(totals, [2849, 408, 815]);
}

#[test]
fn synthetic_face_mask_crops_every_box_and_splits_by_class() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_face_mask(dir.path(), 20);
    // At the box's own size the crop comes back unresampled: pixel (x, y) is (x, y, 200).
    let faces = face_mask::load_face_mask_dir(dir.path(), 8).unwrap();
    assert_eq!(faces.len(), 60);
    // Annotation files are read in name order: maksssksksss0, 1, 10, 11, ...
    assert_eq!(faces.labels[..6], [0, 1, 2, 0, 1, 2]);
    let face = faces.images.image(4); // maksssksksss1's mask_weared_incorrect box at (12, 2)..(20, 10)
    for (row, col) in [(0, 0), (3, 5), (7, 7)] {
        assert_eq!(face[(row * 8 + col) * 3..][..3], [12 + col as u8, 2 + row as u8, 200]);
    }

    let d = load_ok(DatasetId::FaceMask, dir.path());
    assert_eq!(d.classes, 3);
    assert_eq!(
        (d.train.images.height, d.train.images.width, d.train.images.channels),
        (64, 64, 3)
    );
    // 20 faces per class: test ceil(60 / 5) = 12, validation ceil(48 / 8) = 6, shared equally.
    assert_eq!(sizes(&d), (42, 6, 12));
    for (e, per_class) in [(&d.train, 14), (&d.val, 2), (&d.test, 4)] {
        assert_eq!(
            sorted_labels(&[e]),
            (0..3).flat_map(|c| vec![c; per_class]).collect::<Vec<_>>()
        );
    }
    let again = load_ok(DatasetId::FaceMask, dir.path());
    assert_eq!((again.train, again.val, again.test), (d.train, d.val, d.test));
}

#[test]
fn resampling_averages_when_shrinking_and_interpolates_when_growing() {
    // 4x2 -> 2x1: each output pixel is the mean of a 2x2 block.
    let src: Vec<u8> = [0u8, 10, 20, 30, 40, 50, 60, 70]
        .iter()
        .flat_map(|&v| [v, v, 255 - v])
        .collect();
    assert_eq!(face_mask::resize_rgb(&src, 4, 2, 2, 1), [25, 25, 230, 45, 45, 210]);
    // 2x1 -> 4x1: pixel centres at -0.25, 0.25, 0.75, 1.25 of the source.
    let src = [0u8, 0, 0, 100, 200, 40];
    assert_eq!(
        face_mask::resize_rgb(&src, 2, 1, 4, 1),
        [0, 0, 0, 25, 50, 10, 75, 150, 30, 100, 200, 40]
    );
    // Same size: unchanged.
    let src: Vec<u8> = (0..27).collect();
    assert_eq!(face_mask::resize_rgb(&src, 3, 3, 3, 3), src);
}

#[test]
fn synthetic_face_mask_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("annotations").join("maksssksksss1.xml");
    let check = |text: &str, file: &str, want: &str| {
        write_synthetic_face_mask(dir.path(), 3);
        std::fs::write(&xml, text).unwrap();
        let e = load_err(DatasetId::FaceMask, dir.path());
        assert!(e.source_name.ends_with(file), "{e} does not name {file}");
        assert!(e.to_string().contains(want), "{e} lacks {want}");
    };
    let ok_box = [2, 2, 10, 10];
    check(
        "<annotation><filename>maksssksksss1.png</filename>",
        "maksssksksss1.xml",
        "bad annotation XML",
    );
    check(
        &synthetic_voc("maksssksksss1.png", &[("with_mask", [30, 2, 41, 10])]),
        "maksssksksss1.xml",
        "bad box: (30, 2)..(41, 10) is empty or leaves the 40x30 image",
    );
    check(
        &synthetic_voc("maksssksksss1.png", &[("with_mask", [5, 2, 5, 10])]),
        "maksssksksss1.xml",
        "bad box",
    );
    check(
        &synthetic_voc("maksssksksss1.png", &[("mask", ok_box)]),
        "maksssksksss1.xml",
        "unknown label `mask`",
    );
    check(
        &synthetic_voc("absent.png", &[("with_mask", ok_box)]),
        "maksssksksss1.xml",
        "absent.png (the image it annotates)",
    );
    check(
        &synthetic_voc(
            "maksssksksss1.png",
            &[("with_mask", [2, 2, 10, 10]), ("with_mask", [1, 2, 3, 4])],
        )
        .replace("<ymax>4</ymax>", "<ymax>-4</ymax>"),
        "maksssksksss1.xml",
        "<ymax> \"-4\" is not a non-negative integer",
    );

    let one = tempfile::tempdir().unwrap();
    write_synthetic_face_mask(one.path(), 1);
    std::fs::write(
        one.path().join("annotations").join("maksssksksss0.xml"),
        synthetic_voc("maksssksksss0.png", &[("with_mask", ok_box), ("without_mask", ok_box)]),
    )
    .unwrap();
    let e = load_err(DatasetId::FaceMask, one.path());
    assert!(e.source_name.ends_with("annotations"), "{e}");
    assert_eq!(e.problem, Problem::EmptyClass { class: 1, classes: 3 });

    std::fs::write(one.path().join("images").join("maksssksksss0.png"), b"not a png").unwrap();
    let e = load_err(DatasetId::FaceMask, one.path());
    assert!(e.source_name.ends_with("maksssksksss0.png"), "{e}");
    assert!(matches!(e.problem, Problem::Image(_)), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let e = load_err(DatasetId::FaceMask, empty.path());
    assert!(
        e.source_name.ends_with("images") && matches!(e.problem, Problem::Missing(_)),
        "{e}"
    );
}
