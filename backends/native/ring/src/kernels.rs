//! Element-wise modular kernels on one limb, dispatched to AVX-512 IFMA when the CPU has it and
//! the prime is below 2^50, and otherwise to portable loops.

use crate::ifma;
use crate::modulus::Modulus;
use crate::poly::RnsPoly;
use crate::simd::vectorized;

/// A constant multiplier `w < q` with its Shoup constants for 64-bit words and for the 52-bit
/// IFMA lanes, precomputed once per (constant, prime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub(crate) w: u64,
    pub(crate) shoup: u64,
    pub(crate) shoup52: u64,
}

impl Scalar {
    pub(crate) fn new(q: &Modulus, w: u64) -> Self {
        Self {
            w,
            shoup: q.shoup(w),
            shoup52: (((w as u128) << 52) / q.value() as u128) as u64,
        }
    }
}

#[inline(always)]
fn map2(out: &mut [u64], a: &[u64], b: &[u64], f: impl Fn(u64, u64) -> u64) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

#[inline(always)]
fn map2_assign(acc: &mut [u64], b: &[u64], f: impl Fn(u64, u64) -> u64) {
    for (o, &y) in acc.iter_mut().zip(b) {
        *o = f(*o, y);
    }
}

/// `out = a + b mod q`.
pub(crate) fn add(q: &Modulus, a: &[u64], b: &[u64], out: &mut [u64]) {
    vectorized(|| map2(out, a, b, |x, y| q.add(x, y)));
}

/// `acc = acc + b mod q`.
pub(crate) fn add_assign(q: &Modulus, acc: &mut [u64], b: &[u64]) {
    vectorized(|| map2_assign(acc, b, |x, y| q.add(x, y)));
}

/// `out = a - b mod q`.
pub(crate) fn sub(q: &Modulus, a: &[u64], b: &[u64], out: &mut [u64]) {
    vectorized(|| map2(out, a, b, |x, y| q.sub(x, y)));
}

/// `acc = acc - b mod q`.
pub(crate) fn sub_assign(q: &Modulus, acc: &mut [u64], b: &[u64]) {
    vectorized(|| map2_assign(acc, b, |x, y| q.sub(x, y)));
}

/// `out = -a mod q`.
pub(crate) fn neg(q: &Modulus, a: &[u64], out: &mut [u64]) {
    vectorized(|| {
        for (o, &x) in out.iter_mut().zip(a) {
            *o = q.neg(x);
        }
    });
}

/// `acc = -acc mod q`.
pub(crate) fn neg_assign(q: &Modulus, acc: &mut [u64]) {
    vectorized(|| {
        for x in acc.iter_mut() {
            *x = q.neg(*x);
        }
    });
}

/// `out = a * b mod q` (Barrett).
pub(crate) fn mul(q: &Modulus, a: &[u64], b: &[u64], out: &mut [u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.mul(a, b, out);
    }
    map2(out, a, b, |x, y| q.mul(x, y));
}

/// `acc = acc * b mod q` (Barrett).
pub(crate) fn mul_assign(q: &Modulus, acc: &mut [u64], b: &[u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.mul_assign(acc, b);
    }
    map2_assign(acc, b, |x, y| q.mul(x, y));
}

/// `acc = acc + a * b mod q` with one reduction per element.
pub(crate) fn mul_add(q: &Modulus, a: &[u64], b: &[u64], acc: &mut [u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.mul_add(a, b, acc);
    }
    for ((o, &x), &y) in acc.iter_mut().zip(a).zip(b) {
        *o = q.mul_add(x, y, *o);
    }
}

/// `out = a * w mod q` for a constant `w` (Shoup).
pub(crate) fn mul_scalar(q: &Modulus, w: &Scalar, a: &[u64], out: &mut [u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.mul_scalar(w, a, out);
    }
    for (o, &x) in out.iter_mut().zip(a) {
        *o = q.mul_shoup(x, w.w, w.shoup);
    }
}

/// `acc = acc * w mod q` for a constant `w` (Shoup).
pub(crate) fn mul_scalar_assign(q: &Modulus, w: &Scalar, acc: &mut [u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.mul_scalar_assign(w, acc);
    }
    for x in acc.iter_mut() {
        *x = q.mul_shoup(*x, w.w, w.shoup);
    }
}

/// `acc = (acc - b) * w mod q` for a constant `w`: the last step of rescaling and ModDown.
pub(crate) fn sub_mul_scalar_assign(q: &Modulus, w: &Scalar, acc: &mut [u64], b: &[u64]) {
    if let Some(k) = ifma::Kernels::for_modulus(q) {
        return k.sub_mul_scalar_assign(w, acc, b);
    }
    // acc - b + q < 2^62 needs no reduction first: a Shoup product accepts any word.
    map2_assign(acc, b, |x, y| q.mul_shoup(x + q.value() - y, w.w, w.shoup));
}

/// Terms per chunk of a portable dot product: 32 products of 61-bit residues and one residue fit
/// in a `u128`.
const PORTABLE_DOT_TERMS: usize = 32;

/// `out = sum_j a[j]_i * b[j]_i mod q` for limb `i` of the terms, with one reduction per element
/// and chunk of terms.
pub(crate) fn dot(q: &Modulus, i: usize, a: &[&RnsPoly], b: &[&RnsPoly], out: &mut [u64]) {
    debug_assert_eq!(a.len(), b.len());
    let wide = ifma::supports(q).then(|| ifma::WideReduction::new(q));
    let chunk = if wide.is_some() {
        ifma::MAX_WIDE_TERMS
    } else {
        PORTABLE_DOT_TERMS
    };
    let mut xs: [&[u64]; PORTABLE_DOT_TERMS] = [&[]; PORTABLE_DOT_TERMS];
    let mut ys: [&[u64]; PORTABLE_DOT_TERMS] = [&[]; PORTABLE_DOT_TERMS];
    for (c, (a, b)) in a.chunks(chunk).zip(b.chunks(chunk)).enumerate() {
        let m = a.len();
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            (xs[j], ys[j]) = (x.limb(i), y.limb(i));
        }
        let (xs, ys, accumulate) = (&xs[..m], &ys[..m], c > 0);
        match &wide {
            Some(w) => ifma::dot(q, w, xs, ys, accumulate, out),
            // Key switching's few digits fit one sum Barrett; longer sums take the wide one.
            None if m <= q.sum_capacity() => portable_dot(xs, ys, accumulate, out, |x| q.reduce_sum(x)),
            None => portable_dot(xs, ys, accumulate, out, |x| q.reduce_u128(x)),
        }
    }
}

/// `out = sum_j xs[j] * ys[j] (+ out when accumulating)`, each element reduced once by `reduce`.
#[inline(always)]
fn portable_dot(xs: &[&[u64]], ys: &[&[u64]], accumulate: bool, out: &mut [u64], reduce: impl Fn(u128) -> u64) {
    for (k, o) in out.iter_mut().enumerate() {
        let init = if accumulate { *o as u128 } else { 0 };
        let acc = xs
            .iter()
            .zip(ys)
            .fold(init, |acc, (x, y)| acc + x[k] as u128 * y[k] as u128);
        *o = reduce(acc);
    }
}
