//! Fast RNS base conversion (ModUp) and its precomputed tables.

use rayon::prelude::*;

use crate::basis::check_distinct;
use crate::error::RingError;
use crate::ifma::{self, WideReduction};
use crate::kernels::{self, Scalar};
use crate::modulus::Modulus;
use crate::par::worth_parallel;
use crate::simd::{self, vectorized};

/// Most source primes of a conversion: 61 rows of 122-bit products fit in a `u128`.
pub const MAX_CONVERSION_SOURCES: usize = 60;

/// Words of the per-block buffer of the `y_i` (and the rounding row): 16 KiB, kept in L1.
const BLOCK_WORDS: usize = 2048;

/// Where the `y_i` of sources above 2^50 are split for the 52-bit IFMA multiplier.
const SPLIT_BITS: u32 = 30;

/// Precomputed tables for fast RNS base conversion (Bajard, Eynard, Hasan and Zucca 2016;
/// Halevi, Polyakov and Shoup 2019) from the primes `from` to the primes `to`: the core of
/// ModUp, [`crate::ModDown`] and rescaling.
///
/// For source primes `q_0 .. q_(s-1)` with product `Q`, `Q^_i = Q / q_i`, and an integer
/// `a in [0, Q)` given by its residues `a_i`, the fast conversion to a prime `t` is
///
/// ```text
/// y_i = [a_i (Q^_i)^(-1)]_(q_i),   FastBConv(a) = sum_i y_i Q^_i  (mod t).
/// ```
///
/// The sum equals `a + u Q` with `u = floor(sum_i y_i / q_i)`, so `0 <= u <= s - 1`: the result
/// is `a` up to a small multiple of `Q` ([`Self::fast_convert`]). The centered variant
/// ([`Self::exact_convert`]) also estimates `v = round(sum_i y_i / q_i)` in floating point and
/// adds `v [-Q]_t` as one more term, which gives the centered representative of `a` (in
/// `(-Q/2, Q/2)`) exactly, unless `a / Q` lies within about `s 2^-52` of `1/2`, where it may be
/// off by `Q`. With one source prime the rounding is done on integers and is always exact.
///
/// The sums run over blocks of coefficients: the `y_i` of a block stay in a 16 KiB buffer on the
/// stack, and each target residue is one multiply-accumulate row over them, accumulated in 128
/// bits (or in two 52-bit halves on the IFMA path) and reduced once. The IFMA multiplier takes
/// 52-bit operands, so the `y_i` of a source prime above 2^50 (a 60-bit base prime, say) are
/// split into two rows, `y mod 2^30` and `y >> 30`, with the constants `c` and `c 2^30 mod t`.
#[derive(Debug, Clone)]
pub struct BasisConverter {
    from: Vec<Modulus>,
    to: Vec<Modulus>,
    /// `(Q^_i)^(-1) mod q_i`, the factor giving `y_i`.
    hat_inv: Vec<Scalar>,
    /// Row `j` (length `s + w + 1`, `w` wide sources): `Q^_i mod t_j` for each source, then
    /// `2^30 Q^_i mod t_j` for each wide source, then `-Q mod t_j`.
    hat_mod: Vec<u64>,
    /// Indices of the sources above 2^50, whose `y_i` take two rows.
    wide_sources: Vec<usize>,
    /// `1 / q_i`, for the rounding estimate.
    inv_f64: Vec<f64>,
    /// Per target: reduction constants of the IFMA rows.
    wide: Vec<WideReduction>,
}

/// One output region of a conversion: `(first, limbs)` receives the residues for the targets
/// `first, first + 1, ...`, one `N`-word limb each.
pub type TargetLimbs<'a> = (usize, &'a mut [u64]);

impl BasisConverter {
    /// Tables for the conversion from the distinct primes `from` (at most
    /// [`MAX_CONVERSION_SOURCES`]) to the primes `to`.
    pub fn new(from: &[Modulus], to: &[Modulus]) -> Result<Self, RingError> {
        if from.is_empty() || from.len() > MAX_CONVERSION_SOURCES {
            return Err(RingError::InvalidPrimeCount {
                got: from.len(),
                max: MAX_CONVERSION_SOURCES,
            });
        }
        check_distinct(from)?;
        let hat_inv = from
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let hat = product_mod(from, Some(i), q);
                Scalar::new(q, q.inv(hat).expect("distinct primes are invertible"))
            })
            .collect();
        let wide_sources: Vec<usize> = (0..from.len())
            .filter(|&i| from[i].value() >= ifma::MAX_PRIME)
            .collect();
        let mut hat_mod = Vec::with_capacity(to.len() * (from.len() + wide_sources.len() + 1));
        for t in to {
            hat_mod.extend((0..from.len()).map(|i| product_mod(from, Some(i), t)));
            let split = t.reduce(1 << SPLIT_BITS);
            hat_mod.extend(
                wide_sources
                    .iter()
                    .map(|&i| t.mul(product_mod(from, Some(i), t), split)),
            );
            hat_mod.push(t.neg(product_mod(from, None, t)));
        }
        Ok(Self {
            from: from.to_vec(),
            to: to.to_vec(),
            hat_inv,
            hat_mod,
            inv_f64: from.iter().map(|q| 1.0 / q.value() as f64).collect(),
            wide_sources,
            wide: to.iter().map(WideReduction::new).collect(),
        })
    }

    /// Source primes.
    pub fn sources(&self) -> &[Modulus] {
        &self.from
    }

    /// Target primes.
    pub fn targets(&self) -> &[Modulus] {
        &self.to
    }

    /// Multiplies the factors `(Q^_i)^(-1)` by `scale[i]`, so that inputs arriving multiplied by
    /// `scale[i]^(-1)` (such as an inverse NTT left unnormalised) convert correctly.
    pub(crate) fn scale_inputs(&mut self, scale: &[u64]) {
        for ((h, q), &c) in self.hat_inv.iter_mut().zip(&self.from).zip(scale) {
            *h = Scalar::new(q, q.mul(h.w, c));
        }
    }

    /// Approximate conversion (the ModUp step): writes `FastBConv(a) = a + u Q mod t`,
    /// `0 <= u < s`, for the targets of `outputs`.
    ///
    /// `input` holds the `s = from.len()` source limbs of `N` words each, in coefficient form,
    /// limb-major; each output region holds whole `N`-word limbs.
    pub fn fast_convert(&self, input: &[u64], outputs: &mut [TargetLimbs<'_>]) {
        self.convert(input, outputs, false);
    }

    /// Centered conversion: writes the centered representative of `a` mod each target (see the
    /// module documentation for the rounding edge). Same layout as [`Self::fast_convert`].
    pub fn exact_convert(&self, input: &[u64], outputs: &mut [TargetLimbs<'_>]) {
        self.convert(input, outputs, true);
    }

    fn convert(&self, input: &[u64], outputs: &mut [TargetLimbs<'_>], centered: bool) {
        let s = self.from.len();
        assert!(
            !input.is_empty() && input.len().is_multiple_of(s),
            "input must hold {s} limbs"
        );
        let n = input.len() / s;
        let mut targets = 0;
        for (first, region) in outputs.iter() {
            assert!(region.len() % n == 0, "output regions must hold whole limbs");
            assert!(first + region.len() / n <= self.to.len(), "target index out of range");
            targets += region.len() / n;
        }
        if worth_parallel(targets * n * s) {
            // Split the targets in about one group per thread; each group recomputes the y_i.
            let group = targets.div_ceil(rayon::current_num_threads()).max(1);
            outputs.par_iter_mut().for_each(|(first, region)| {
                region
                    .par_chunks_mut(group * n)
                    .enumerate()
                    .for_each(|(k, chunk)| self.convert_runs(input, n, &mut [(*first + k * group, chunk)], centered));
            });
        } else {
            self.convert_runs(input, n, outputs, centered);
        }
    }

    /// Block loop over the coefficients: compute the `y_i` (and the rounding row) of a block,
    /// then every target of every run from them.
    fn convert_runs(&self, input: &[u64], n: usize, runs: &mut [TargetLimbs<'_>], centered: bool) {
        let (s, w) = (self.from.len(), self.wide_sources.len());
        let rows = s + w + centered as usize;
        let block = (BLOCK_WORDS / rows) & !7;
        // Every row holds values below 2^50 once the wide sources are split.
        let use_ifma = rows <= ifma::MAX_WIDE_TERMS && simd::has_ifma();
        let mut y = [0u64; BLOCK_WORDS];
        for start in (0..n).step_by(block) {
            let len = block.min(n - start);
            for (i, q) in self.from.iter().enumerate() {
                let src = &input[i * n + start..][..len];
                kernels::mul_scalar(q, &self.hat_inv[i], src, &mut y[i * block..][..len]);
            }
            if centered {
                self.rounding_row(&mut y, block, len);
            }
            self.split_wide_rows(&mut y, block, len);
            for (first, region) in runs.iter_mut() {
                for (r, limb) in region.chunks_exact_mut(n).enumerate() {
                    let j = *first + r;
                    let t = &self.to[j];
                    let c = &self.hat_mod[j * (s + w + 1)..][..s + w + 1];
                    let c = if centered { c } else { &c[..s + w] };
                    let out = &mut limb[start..start + len];
                    if use_ifma && ifma::supports(t) {
                        ifma::conversion_row(t, &self.wide[j], &y, block, c, out);
                    } else {
                        conversion_row(t, &y, block, c, out);
                    }
                }
            }
        }
    }

    /// Rows `s .. s + w` of the block: the high halves `y >> 30` of the wide sources' rows,
    /// whose low halves stay in place.
    fn split_wide_rows(&self, y: &mut [u64], block: usize, len: usize) {
        let s = self.from.len();
        let (rows, high) = y.split_at_mut(s * block);
        for (k, &i) in self.wide_sources.iter().enumerate() {
            let (row, hi) = (&mut rows[i * block..][..len], &mut high[k * block..][..len]);
            vectorized(|| {
                for (x, h) in row.iter_mut().zip(hi.iter_mut()) {
                    *h = *x >> SPLIT_BITS;
                    *x &= (1 << SPLIT_BITS) - 1;
                }
            });
        }
    }

    /// Row `s + w` of the block (after the split rows): `v = round(sum_i y_i / q_i)`, exactly
    /// `y_0 > q_0 / 2` for one source. Reads the unsplit `y_i`, so it runs before the split.
    fn rounding_row(&self, y: &mut [u64], block: usize, len: usize) {
        let s = self.from.len();
        let (ys, v) = y.split_at_mut(s * block);
        let v = &mut v[self.wide_sources.len() * block..];
        let v = &mut v[..len];
        if s == 1 {
            let half = self.from[0].value() / 2;
            vectorized(|| {
                for (v, &y) in v.iter_mut().zip(&ys[..len]) {
                    *v = (y > half) as u64;
                }
            });
            return;
        }
        let mut acc = [0f64; BLOCK_WORDS / 2];
        let acc = &mut acc[..len];
        vectorized(|| {
            for (i, &inv) in self.inv_f64.iter().enumerate() {
                for (a, &y) in acc.iter_mut().zip(&ys[i * block..][..len]) {
                    *a += y as f64 * inv;
                }
            }
            for (v, &a) in v.iter_mut().zip(acc.iter()) {
                // a < s + 1, so truncating a + 1/2 rounds to nearest.
                *v = (a + 0.5) as u64;
            }
        });
    }
}

/// Portable row: `out[k] = sum_r y[r][k] c[r] mod t`, summed in 128 bits and reduced once by
/// [`Modulus::reduce_sum`]: rows below 2^50 times constants below `t` stay in its domain
/// (below `2^(b+63)`) for fewer than 2^13 rows.
fn conversion_row(t: &Modulus, y: &[u64], stride: usize, c: &[u64], out: &mut [u64]) {
    debug_assert!(c.len() < 1 << 13);
    for (k, o) in out.iter_mut().enumerate() {
        let acc = c
            .iter()
            .enumerate()
            .fold(0u128, |acc, (r, &cr)| acc + y[r * stride + k] as u128 * cr as u128);
        *o = t.reduce_sum(acc);
    }
}

/// `prod_(i != skip) q_i mod t`.
pub(crate) fn product_mod(primes: &[Modulus], skip: Option<usize>, t: &Modulus) -> u64 {
    primes
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != skip)
        .fold(1, |acc, (_, q)| t.mul(acc, t.reduce(q.value())))
}
