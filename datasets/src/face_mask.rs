//! Face Mask Detection (Kaggle, andrewmvd): `images/*.png` and one Pascal VOC
//! file per image in `annotations/*.xml`. Every annotated box becomes one
//! face image, resized to a fixed square so that all faces share one shape.
//!
//! A box's `xmin..xmax` and `ymin..ymax` are pixel-edge coordinates: the crop
//! holds columns `xmin` to `xmax - 1` and rows `ymin` to `ymax - 1`, and it
//! must satisfy `0 <= xmin < xmax <= width` (likewise for y) in the decoded
//! PNG. The `<size>` element is not needed: the PNG gives the size.

use crate::error::{DataError, Problem};
use crate::images::{Examples, Images};
use std::path::{Path, PathBuf};

/// Class names in label order: `with_mask` = 0, `mask_weared_incorrect` = 1,
/// `without_mask` = 2.
pub const CLASS_NAMES: [&str; 3] = ["with_mask", "mask_weared_incorrect", "without_mask"];
const KNOWN: &str = "with_mask, mask_weared_incorrect, without_mask";
/// Side of the square every face crop is resized to (RGB).
pub const FACE_SIDE: usize = 64;
/// The folders the loader reads.
pub const DIRS: [&str; 2] = ["images", "annotations"];

/// One annotated box: its class and `[xmin, ymin, xmax, ymax]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceBox {
    pub label: usize,
    pub bounds: [usize; 4],
}

/// What one annotation file says: the image's file name and its boxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub filename: String,
    pub boxes: Vec<FaceBox>,
}

/// Reads every face of `dir`, in annotation file-name order, each resized to
/// `side x side` RGB.
pub fn load_face_mask_dir(dir: &Path, side: usize) -> Result<Examples, DataError> {
    let (images_dir, annotations_dir) = (dir.join(DIRS[0]), dir.join(DIRS[1]));
    for d in [&images_dir, &annotations_dir] {
        if !d.is_dir() {
            let name = d.display().to_string();
            return Err(DataError::new(&name, Problem::Missing(format!("{name}/"))));
        }
    }
    let ann_name = annotations_dir.display().to_string();
    let mut xml_files: Vec<PathBuf> = std::fs::read_dir(&annotations_dir)
        .map_err(|e| DataError::new(&ann_name, Problem::Io(e.to_string())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    xml_files.sort();

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for xml in &xml_files {
        let name = xml.display().to_string();
        let text = std::fs::read_to_string(xml).map_err(|e| DataError::new(&name, Problem::Io(e.to_string())))?;
        let ann = parse_annotation(&text, &name)?;
        let image_path = images_dir.join(&ann.filename);
        if !image_path.is_file() {
            return Err(DataError::new(
                &name,
                Problem::Missing(format!("{} (the image it annotates)", image_path.display())),
            ));
        }
        let image_name = image_path.display().to_string();
        let rgb = image::open(&image_path)
            .map_err(|e| DataError::new(&image_name, Problem::Image(e.to_string())))?
            .to_rgb8();
        let (width, height) = (rgb.width() as usize, rgb.height() as usize);
        for b in &ann.boxes {
            let [x0, y0, x1, y1] = b.bounds;
            if !(x0 < x1 && x1 <= width && y0 < y1 && y1 <= height) {
                return Err(DataError::new(
                    &name,
                    Problem::BadBox(format!(
                        "({x0}, {y0})..({x1}, {y1}) is empty or leaves the {width}x{height} image {}",
                        ann.filename
                    )),
                ));
            }
            let crop = crop_rgb(rgb.as_raw(), width, b.bounds);
            pixels.extend(resize_rgb(&crop, x1 - x0, y1 - y0, side, side));
            labels.push(b.label);
        }
    }
    let mut counts = [0usize; 3];
    labels.iter().for_each(|&l| counts[l] += 1);
    if let Some(class) = counts.iter().position(|&c| c == 0) {
        return Err(DataError::new(
            &ann_name,
            Problem::EmptyClass {
                class,
                classes: CLASS_NAMES.len(),
            },
        ));
    }
    Ok(Examples {
        images: Images {
            count: labels.len(),
            height: side,
            width: side,
            channels: 3,
            max_value: 255,
            pixels,
        },
        labels,
    })
}

/// Parses a Pascal VOC annotation; `name` is used in error messages.
pub fn parse_annotation(text: &str, name: &str) -> Result<Annotation, DataError> {
    let err = |p| DataError::new(name, p);
    let xml = |m: String| err(Problem::Xml(m));
    let doc = roxmltree::Document::parse(text).map_err(|e| xml(e.to_string()))?;
    let root = doc.root_element();
    if !root.has_tag_name("annotation") {
        return Err(xml(format!(
            "root element is <{}>, not <annotation>",
            root.tag_name().name()
        )));
    }
    let child =
        |node, tag| child_text(node, tag).ok_or_else(|| xml(format!("<{}> has no <{tag}>", node.tag_name().name())));
    let filename = child(root, "filename")?.to_string();
    if filename.is_empty() || filename.contains(['/', '\\']) {
        return Err(xml(format!("<filename> {filename:?} is not a plain file name")));
    }
    let mut boxes = Vec::new();
    for object in root.children().filter(|n| n.has_tag_name("object")) {
        let class = child(object, "name")?;
        let label = CLASS_NAMES.iter().position(|&c| c == class).ok_or_else(|| {
            err(Problem::UnknownLabel {
                name: class.into(),
                known: KNOWN,
            })
        })?;
        let bndbox = object
            .children()
            .find(|n| n.has_tag_name("bndbox"))
            .ok_or_else(|| xml("<object> has no <bndbox>".into()))?;
        let mut bounds = [0usize; 4];
        for (b, tag) in bounds.iter_mut().zip(["xmin", "ymin", "xmax", "ymax"]) {
            let v = child(bndbox, tag)?;
            *b = v
                .parse()
                .map_err(|_| xml(format!("<{tag}> {v:?} is not a non-negative integer")))?;
        }
        boxes.push(FaceBox { label, bounds });
    }
    Ok(Annotation { filename, boxes })
}

/// The trimmed text of `node`'s first `<tag>` child.
fn child_text<'a>(node: roxmltree::Node<'a, '_>, tag: &str) -> Option<&'a str> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .and_then(|n| n.text())
        .map(str::trim)
}

/// The pixels of box `[x0, y0, x1, y1]` of an RGB image `width` pixels wide.
pub fn crop_rgb(rgb: &[u8], width: usize, [x0, y0, x1, y1]: [usize; 4]) -> Vec<u8> {
    (y0..y1)
        .flat_map(|y| &rgb[(y * width + x0) * 3..(y * width + x1) * 3])
        .copied()
        .collect()
}

/// Resizes an RGB image, separably per axis: an axis that shrinks averages
/// the source pixels each output pixel covers (area), one that grows
/// interpolates linearly between the two nearest pixel centres (bilinear).
pub fn resize_rgb(rgb: &[u8], width: usize, height: usize, out_width: usize, out_height: usize) -> Vec<u8> {
    let (wx, wy) = (axis_weights(width, out_width), axis_weights(height, out_height));
    let mut out = Vec::with_capacity(out_width * out_height * 3);
    for ry in &wy {
        for rx in &wx {
            for c in 0..3 {
                let mut v = 0.0;
                for &(y, fy) in ry {
                    for &(x, fx) in rx {
                        v += fy * fx * f64::from(rgb[(y * width + x) * 3 + c]);
                    }
                }
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// For each of `dst` output positions, the source positions and weights
/// (summing to 1) that make it from `src` input positions.
fn axis_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|o| {
            if scale >= 1.0 {
                let (start, end) = (o as f64 * scale, (o + 1) as f64 * scale);
                (start.floor() as usize..(end.ceil() as usize).min(src))
                    .map(|i| {
                        let overlap = end.min(i as f64 + 1.0) - start.max(i as f64);
                        (i, overlap / scale)
                    })
                    .filter(|&(_, w)| w > 0.0)
                    .collect()
            } else {
                let centre = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f64);
                let i = centre.floor() as usize;
                let t = centre - i as f64;
                if i + 1 < src && t > 0.0 {
                    vec![(i, 1.0 - t), (i + 1, t)]
                } else {
                    vec![(i, 1.0)]
                }
            }
        })
        .collect()
}

/// How many faces of each class go to train, validation and test, as HETAL's
/// two stratified scikit-learn splits: test is ceil(20 %) of all faces,
/// validation ceil(12.5 %) of the rest, and each total is shared among the
/// classes in proportion to their sizes, leftover units going to the largest
/// remainders (ties to the lower class). For 3,232 / 123 / 717 faces this
/// gives 2,849 / 408 / 815.
pub fn stratified_counts(class_sizes: &[usize]) -> Vec<[usize; 3]> {
    let total: usize = class_sizes.iter().sum();
    let test = share(total.div_ceil(5), class_sizes);
    let rest: Vec<usize> = class_sizes.iter().zip(&test).map(|(n, t)| n - t).collect();
    let val = share(rest.iter().sum::<usize>().div_ceil(8), &rest);
    rest.iter()
        .zip(val.iter().zip(&test))
        .map(|(r, (&v, &t))| [r - v, v, t])
        .collect()
}

/// Shares `total` among `sizes` proportionally, by largest remainder.
fn share(total: usize, sizes: &[usize]) -> Vec<usize> {
    let sum: usize = sizes.iter().sum();
    if sum == 0 {
        return vec![0; sizes.len()];
    }
    let mut parts: Vec<usize> = sizes.iter().map(|&n| total * n / sum).collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(total * sizes[i] % sum));
    let left = total - parts.iter().sum::<usize>();
    order.iter().take(left).for_each(|&i| parts[i] += 1);
    parts
}
