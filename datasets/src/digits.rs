//! The UCI "Optical Recognition of Handwritten Digits" test set as shipped by
//! scikit-learn: gzip CSV, 65 integers per row (64 pixels of an 8x8 image in
//! 0..=16, then the label 0..=9).

use crate::error::{DataError, Problem};
use crate::idx::gunzip;
use crate::images::{Examples, Images};

const SIDE: usize = 8;
const MAX_PIXEL: u8 = 16;
const CLASSES: usize = 10;

/// Parses the gzip-compressed CSV; `name` is used in error messages.
pub fn parse_digits_csv_gz(bytes: &[u8], name: &str) -> Result<Examples, DataError> {
    let err = |p| DataError::new(name, p);
    let text = gunzip(bytes).map_err(err)?;
    let text = std::str::from_utf8(&text).map_err(|e| {
        err(Problem::Parse {
            line: 0,
            message: format!("not UTF-8 text: {e}"),
        })
    })?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let parse = |message: String| err(Problem::Parse { line: i + 1, message });
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != SIDE * SIDE + 1 {
            return Err(parse(format!(
                "expected {} fields, found {}",
                SIDE * SIDE + 1,
                fields.len()
            )));
        }
        for f in &fields[..SIDE * SIDE] {
            let v: u8 = f.trim().parse().map_err(|_| parse(format!("bad pixel {f:?}")))?;
            if v > MAX_PIXEL {
                return Err(parse(format!("pixel {v} exceeds {MAX_PIXEL}")));
            }
            pixels.push(v);
        }
        let last = fields[SIDE * SIDE].trim();
        let label: u32 = last.parse().map_err(|_| parse(format!("bad label {last:?}")))?;
        if label as usize >= CLASSES {
            return Err(err(Problem::LabelOutOfRange {
                index: labels.len(),
                label: label.into(),
                classes: CLASSES,
            }));
        }
        labels.push(label as usize);
    }
    if labels.is_empty() {
        return Err(err(Problem::Parse {
            line: 0,
            message: "no rows".into(),
        }));
    }
    Ok(Examples {
        images: Images {
            count: labels.len(),
            height: SIDE,
            width: SIDE,
            channels: 1,
            max_value: MAX_PIXEL,
            pixels,
        },
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn row(label: &str, pixel: &str) -> String {
        let mut f = vec![pixel.to_string(); 64];
        f.push(label.to_string());
        f.join(",")
    }

    #[test]
    fn parses_rows() {
        let text = format!("{}\n{}\n", row("3", "16"), row("9", "0"));
        let ex = parse_digits_csv_gz(&gz(&text), "d").unwrap();
        assert_eq!(ex.labels, vec![3, 9]);
        assert_eq!(ex.images.image(0), &[16u8; 64][..]);
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let cases = [
            (row("10", "1"), "out of range"),
            (row("3", "17"), "line 1: pixel 17"),
            (row("x", "1"), "line 1: bad label"),
            ("1,2,3".to_string(), "line 1: expected 65 fields"),
        ];
        for (text, want) in cases {
            let e = parse_digits_csv_gz(&gz(&text), "digits.csv.gz")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("digits.csv.gz: "), "{e}");
            assert!(e.contains(want), "{e} lacks {want}");
        }
        assert!(parse_digits_csv_gz(b"not gzip", "d").is_err());
    }
}
