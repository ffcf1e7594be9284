//! Image preprocessing as the models were evaluated: resize, centre crop, normalise.
//!
//! The resize reproduces Pillow's `Image.resize` on 8-bit images, which both the DeiT
//! evaluation (torchvision on PIL images) and the Hugging Face image processors use: a
//! separable convolution, horizontal pass first, whose kernel is widened by the scale factor
//! when shrinking (antialiasing), with 22-bit fixed-point weights and each pass rounded and
//! clipped to 8 bits. Output pixel `i` of a pass from `n_in` to `n_out` samples is centred at
//! `c = (i + 1/2) s` with `s = n_in / n_out`, and sums input pixels `x` weighted by
//! `k((x + 1/2 - c) / max(s, 1))`, normalised to sum 1.

use blindtuner_datasets::Images;

/// The interpolation kernel `k` of a resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Triangle `k(x) = 1 - |x|` on `|x| < 1`.
    Bilinear,
    /// Keys' cubic convolution with `a = -0.5` (Pillow's choice), support 2:
    /// `k(x) = (a+2)|x|^3 - (a+3)|x|^2 + 1` on `|x| < 1`, `a(|x|^3 - 5|x|^2 + 8|x| - 4)` on `1 <= |x| < 2`.
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Bilinear if x < 1.0 => 1.0 - x,
            Filter::Bicubic if x < 1.0 => ((1.5 * x - 2.5) * x) * x + 1.0,
            Filter::Bicubic if x < 2.0 => (((x - 5.0) * x + 8.0) * x - 4.0) * -0.5,
            _ => 0.0,
        }
    }
}

/// How images are first resized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// Scale so the shorter side has this length, keeping the aspect ratio (the longer side is
    /// `floor(len * long / short)`, as torchvision).
    ShorterSide(usize),
    /// Scale to exactly `height x width`.
    Exact(usize, usize),
}

/// Resize, centre crop to `crop x crop`, then `(v / 255 - mean) / std` per channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocess {
    pub resize: Resize,
    pub filter: Filter,
    pub crop: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocess {
    /// DeiT's evaluation: shorter side to 256 (bicubic), centre crop 224, ImageNet statistics.
    pub const DEIT: Preprocess = Preprocess {
        resize: Resize::ShorterSide(256),
        filter: Filter::Bicubic,
        crop: 224,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };

    /// `google/vit-base-patch16-224-in21k`'s processor: 224 x 224 (bilinear), mean and std 0.5.
    pub const VIT: Preprocess = Preprocess {
        resize: Resize::Exact(224, 224),
        filter: Filter::Bilinear,
        crop: 224,
        mean: [0.5; 3],
        std: [0.5; 3],
    };

    /// Image `i` of `images` as a channel-first `3 x crop x crop` tensor, row-major.
    ///
    /// Grey images are repeated to three channels; pixels are first rescaled to 0..=255 when the
    /// data set's largest value is not 255. Needs 1 or 3 channels (checked by the caller).
    pub fn apply(&self, images: &Images, i: usize) -> Vec<f32> {
        let (h, w) = (images.height, images.width);
        let rgb: Vec<u8> = images
            .image(i)
            .chunks_exact(images.channels)
            .flat_map(|p| {
                let v = |c: u8| match images.max_value {
                    255 => c,
                    m => (c as f64 * 255.0 / m.max(1) as f64).round().min(255.0) as u8,
                };
                match p {
                    [g] => [v(*g); 3],
                    _ => [v(p[0]), v(p[1]), v(p[2])],
                }
            })
            .collect();
        let (rh, rw) = match self.resize {
            Resize::Exact(rh, rw) => (rh, rw),
            Resize::ShorterSide(s) if h <= w => (s, s * w / h),
            Resize::ShorterSide(s) => (s * h / w, s),
        };
        let resized = resize(&rgb, h, w, rh, rw, self.filter);
        let (top, left) = (rh.saturating_sub(self.crop) / 2, rw.saturating_sub(self.crop) / 2);
        let n = self.crop;
        let mut out = vec![0f32; 3 * n * n];
        for c in 0..3 {
            for y in 0..n {
                for x in 0..n {
                    let v = resized[((top + y) * rw + left + x) * 3 + c] as f32 / 255.0;
                    out[(c * n + y) * n + x] = (v - self.mean[c]) / self.std[c];
                }
            }
        }
        out
    }
}

/// Fixed-point precision of Pillow's 8-bit resampling weights.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// One output sample of a pass: the first input index and the fixed-point weights from there.
struct Taps {
    first: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`.
fn taps(n_in: usize, n_out: usize, filter: Filter) -> Vec<Taps> {
    let scale = n_in as f64 / n_out as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    (0..n_out)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            // `as usize` truncates towards zero and saturates at 0, as Pillow's `(int)` and clamp.
            let first = (center - support + 0.5) as usize;
            let end = ((center + support + 0.5) as usize).min(n_in);
            let raw: Vec<f64> = (first..end)
                .map(|x| filter.weight((x as f64 - center + 0.5) / filter_scale))
                .collect();
            let total: f64 = raw.iter().sum();
            let one = (1u32 << PRECISION_BITS) as f64;
            let weights = raw
                .iter()
                .map(|w| {
                    let k = if total != 0.0 { w / total } else { 0.0 };
                    if k < 0.0 {
                        (-0.5 + k * one) as i32
                    } else {
                        (0.5 + k * one) as i32
                    }
                })
                .collect();
            Taps { first, weights }
        })
        .collect()
}

/// Rounds a fixed-point sum (which already holds the rounding half) and clips it to a byte.
fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes a channel-last RGB image: horizontal pass, then vertical, each skipped when that side
/// keeps its length (as Pillow does).
fn resize(src: &[u8], h: usize, w: usize, out_h: usize, out_w: usize, filter: Filter) -> Vec<u8> {
    let half = 1i64 << (PRECISION_BITS - 1);
    let horizontal = if out_w == w {
        src.to_vec()
    } else {
        let taps = taps(w, out_w, filter);
        let mut out = vec![0u8; h * out_w * 3];
        for y in 0..h {
            for (x, t) in taps.iter().enumerate() {
                for c in 0..3 {
                    let sum = t.weights.iter().enumerate().fold(half, |s, (k, &wt)| {
                        s + src[(y * w + t.first + k) * 3 + c] as i64 * wt as i64
                    });
                    out[(y * out_w + x) * 3 + c] = clip8(sum);
                }
            }
        }
        out
    };
    if out_h == h {
        return horizontal;
    }
    let taps = taps(h, out_h, filter);
    let mut out = vec![0u8; out_h * out_w * 3];
    for (y, t) in taps.iter().enumerate() {
        for x in 0..out_w * 3 {
            let sum = t.weights.iter().enumerate().fold(half, |s, (k, &wt)| {
                s + horizontal[(t.first + k) * out_w * 3 + x] as i64 * wt as i64
            });
            out[y * out_w * 3 + x] = clip8(sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_interpolate_and_sum_to_one() {
        for f in [Filter::Bilinear, Filter::Bicubic] {
            assert_eq!(f.weight(0.0), 1.0);
            assert_eq!(f.weight(1.0), 0.0);
            assert_eq!(f.weight(f.support()), 0.0);
            for t in taps(30, 256, f).iter().chain(&taps(300, 224, f)) {
                let sum: i64 = t.weights.iter().map(|&w| w as i64).sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= t.weights.len() as i64);
            }
        }
    }

    #[test]
    fn constant_images_stay_constant_and_same_size_is_a_copy() {
        let img = vec![77u8; 5 * 7 * 3];
        assert!(resize(&img, 5, 7, 13, 3, Filter::Bicubic).iter().all(|&v| v == 77));
        let ramp: Vec<u8> = (0..5 * 7 * 3).map(|v| v as u8).collect();
        assert_eq!(resize(&ramp, 5, 7, 5, 7, Filter::Bilinear), ramp);
    }

    #[test]
    fn grey_images_repeat_and_shorter_side_sets_the_crop() {
        let images = Images {
            count: 1,
            height: 30,
            width: 40,
            channels: 1,
            max_value: 255,
            pixels: vec![255; 1200],
        };
        let x = Preprocess::DEIT.apply(&images, 0);
        assert_eq!(x.len(), 3 * 224 * 224);
        for c in 0..3 {
            let want = (1.0 - Preprocess::DEIT.mean[c]) / Preprocess::DEIT.std[c];
            assert!((x[c * 224 * 224 + 1000] - want).abs() < 1e-6);
        }
    }
}
