//! AVX-512 IFMA kernels for primes below 2^50.
//!
//! `vpmadd52luq` / `vpmadd52huq` multiply the low 52 bits of two lanes and add the low / high
//! 52 bits of the 104-bit product to a third lane. With residues below 2^50 this gives eight
//! full products per instruction pair, and the reductions below work modulo 2^52:
//!
//! * Barrett, for `x = a b (+ c) < 2^(2b)`, `b` the bit size of `q`: `t = x >> (b - 1)`,
//!   `m = floor(2^(b+51) / q)`, `e = (t m) >> 52` is short of `floor(x / q)` by at most 2, so
//!   `x - e q` lies in `[0, 3q)` and is computed exactly modulo 2^52;
//! * Shoup, for a constant `w` with `w' = floor(w 2^52 / q)` and any `a < 2^52`:
//!   `a w - ((a w') >> 52) q` lies in `[0, 2q)`.
//!
//! Every vector loop finishes its tail (fewer than eight words) with the scalar code of
//! [`Modulus`].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use crate::kernels::Scalar;
use crate::modulus::Modulus;
use crate::simd;

/// Primes must be below this for the 52-bit arithmetic (and tfhe-ntt's IFMA NTT).
pub(crate) const MAX_PRIME: u64 = 1 << 50;

/// Most products one wide sum may hold: sixteen products of residues below 2^50, plus one
/// residue, stay below 2^104, so the sum's high 52-bit half fits the final Shoup reduction.
pub(crate) const MAX_WIDE_TERMS: usize = 16;

/// IFMA kernels for one prime, available when the CPU has IFMA and `q < 2^50`.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    q: Modulus,
}

/// Whether `q` can use the IFMA kernels on this CPU.
#[inline]
pub(crate) fn supports(q: &Modulus) -> bool {
    q.value() < MAX_PRIME && simd::has_ifma()
}

impl Kernels {
    /// The kernels for `q`, or `None` when the CPU lacks IFMA or `q >= 2^50`.
    #[inline]
    pub(crate) fn for_modulus(q: &Modulus) -> Option<Self> {
        supports(q).then_some(Self { q: *q })
    }

    /// `out = a * b mod q`.
    pub(crate) fn mul(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        let len = out.len();
        assert!(a.len() >= len && b.len() >= len);
        // SAFETY: IFMA is present (checked in `for_modulus`); all three buffers hold `len` words.
        unsafe { self.mul_raw(a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), len) }
    }

    /// `acc = acc * b mod q`.
    pub(crate) fn mul_assign(&self, acc: &mut [u64], b: &[u64]) {
        let len = acc.len();
        assert!(b.len() >= len);
        let p = acc.as_mut_ptr();
        // SAFETY: as in `mul`; each word of `acc` is read before it is written.
        unsafe { self.mul_raw(p, b.as_ptr(), p, len) }
    }

    /// `acc = acc + a * b mod q`.
    pub(crate) fn mul_add(&self, a: &[u64], b: &[u64], acc: &mut [u64]) {
        let len = acc.len();
        assert!(a.len() >= len && b.len() >= len);
        // SAFETY: IFMA is present; all three buffers hold `len` words.
        unsafe { self.mul_add_raw(a.as_ptr(), b.as_ptr(), acc.as_mut_ptr(), len) }
    }

    /// `out = a * w mod q`.
    pub(crate) fn mul_scalar(&self, w: &Scalar, a: &[u64], out: &mut [u64]) {
        let len = out.len();
        assert!(a.len() >= len);
        // SAFETY: IFMA is present; both buffers hold `len` words.
        unsafe { self.mul_scalar_raw(w, a.as_ptr(), out.as_mut_ptr(), len) }
    }

    /// `acc = acc * w mod q`.
    pub(crate) fn mul_scalar_assign(&self, w: &Scalar, acc: &mut [u64]) {
        let p = acc.as_mut_ptr();
        // SAFETY: IFMA is present; each word is read before it is written.
        unsafe { self.mul_scalar_raw(w, p, p, acc.len()) }
    }

    /// `acc = (acc - b) * w mod q`.
    pub(crate) fn sub_mul_scalar_assign(&self, w: &Scalar, acc: &mut [u64], b: &[u64]) {
        let len = acc.len();
        assert!(b.len() >= len);
        // SAFETY: IFMA is present; both buffers hold `len` words.
        unsafe { self.sub_mul_scalar_raw(w, acc.as_mut_ptr(), b.as_ptr(), len) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul_raw(&self, a: *const u64, b: *const u64, out: *mut u64, len: usize) {
        let c = BarrettConsts::new(&self.q);
        let zero = _mm512_setzero_si512();
        let mut i = 0;
        while i + 8 <= len {
            // SAFETY: i + 8 <= len words are readable and writable.
            unsafe {
                let x = load(a.add(i));
                let y = load(b.add(i));
                let lo = _mm512_madd52lo_epu64(zero, x, y);
                let hi = _mm512_madd52hi_epu64(zero, x, y);
                store(out.add(i), c.reduce(lo, hi));
            }
            i += 8;
        }
        for j in i..len {
            // SAFETY: j < len.
            unsafe { *out.add(j) = self.q.mul(*a.add(j), *b.add(j)) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul_add_raw(&self, a: *const u64, b: *const u64, acc: *mut u64, len: usize) {
        let c = BarrettConsts::new(&self.q);
        let zero = _mm512_setzero_si512();
        let mut i = 0;
        while i + 8 <= len {
            // SAFETY: i + 8 <= len words are readable and writable.
            unsafe {
                let x = load(a.add(i));
                let y = load(b.add(i));
                // a b + acc < q^2 + q < 2^(2b): the low half may exceed 2^52, which the
                // Barrett shift absorbs.
                let lo = _mm512_madd52lo_epu64(load(acc.add(i)), x, y);
                let hi = _mm512_madd52hi_epu64(zero, x, y);
                store(acc.add(i), c.reduce(lo, hi));
            }
            i += 8;
        }
        for j in i..len {
            // SAFETY: j < len.
            unsafe { *acc.add(j) = self.q.mul_add(*a.add(j), *b.add(j), *acc.add(j)) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn mul_scalar_raw(&self, w: &Scalar, a: *const u64, out: *mut u64, len: usize) {
        let s = ShoupConst::new(&self.q, w.w, w.shoup52);
        let mut i = 0;
        while i + 8 <= len {
            // SAFETY: i + 8 <= len words are readable and writable.
            unsafe { store(out.add(i), s.mul(load(a.add(i)))) };
            i += 8;
        }
        for j in i..len {
            // SAFETY: j < len.
            unsafe { *out.add(j) = self.q.mul_shoup(*a.add(j), w.w, w.shoup) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn sub_mul_scalar_raw(&self, w: &Scalar, acc: *mut u64, b: *const u64, len: usize) {
        let s = ShoupConst::new(&self.q, w.w, w.shoup52);
        let q = _mm512_set1_epi64(self.q.value() as i64);
        let mut i = 0;
        while i + 8 <= len {
            // SAFETY: i + 8 <= len words are readable and writable.
            unsafe {
                // acc - b + q < 2q < 2^52 is a valid Shoup input.
                let d = _mm512_sub_epi64(_mm512_add_epi64(load(acc.add(i)), q), load(b.add(i)));
                store(acc.add(i), s.mul(d));
            }
            i += 8;
        }
        let qv = self.q.value();
        for j in i..len {
            // SAFETY: j < len.
            unsafe { *acc.add(j) = self.q.mul_shoup(*acc.add(j) + qv - *b.add(j), w.w, w.shoup) };
        }
    }

    /// Non-x86 builds never construct `Kernels`; these stubs only keep the code compiling.
    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn mul_raw(&self, _: *const u64, _: *const u64, _: *mut u64, _: usize) {
        unreachable!()
    }
    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn mul_add_raw(&self, _: *const u64, _: *const u64, _: *mut u64, _: usize) {
        unreachable!()
    }
    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn mul_scalar_raw(&self, _: &Scalar, _: *const u64, _: *mut u64, _: usize) {
        unreachable!()
    }
    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn sub_mul_scalar_raw(&self, _: &Scalar, _: *mut u64, _: *const u64, _: usize) {
        unreachable!()
    }
}

/// Constants reducing `hi 2^52 + lo` (both below 2^52) modulo a prime `t` (see
/// `WideReducer`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WideReduction {
    /// `2^52 mod t`, multiplying the high part.
    hi: Scalar,
    /// `1`, whose Shoup product reduces the low part.
    lo: Scalar,
}

impl WideReduction {
    pub(crate) fn new(t: &Modulus) -> Self {
        Self {
            hi: Scalar::new(t, (1u64 << 52) % t.value()),
            lo: Scalar::new(t, 1),
        }
    }
}

/// One target of a base conversion: `out[k] = sum_r y[r][k] c[r] mod t`, the rows of `y` being
/// `stride` words apart. Requires IFMA, `t < 2^50`, every `y < 2^50`, every `c < t` and at most
/// [`MAX_WIDE_TERMS`] rows.
pub(crate) fn conversion_row(
    t: &Modulus,
    reduction: &WideReduction,
    y: &[u64],
    stride: usize,
    c: &[u64],
    out: &mut [u64],
) {
    let len = out.len();
    assert!(c.len() <= MAX_WIDE_TERMS && supports(t));
    assert!(c.is_empty() || y.len() >= (c.len() - 1) * stride + len);
    // SAFETY: IFMA is present; row r of y holds `len` words at offset r * stride.
    unsafe { conversion_row_raw(t, reduction, y.as_ptr(), stride, c, out.as_mut_ptr(), len) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn conversion_row_raw(
    t: &Modulus,
    reduction: &WideReduction,
    y: *const u64,
    stride: usize,
    c: &[u64],
    out: *mut u64,
    len: usize,
) {
    let reducer = WideReducer::new(t, reduction);
    let zero = _mm512_setzero_si512();
    let mut k = 0;
    while k + 8 <= len {
        let (mut lo, mut hi) = (zero, zero);
        for (r, &cr) in c.iter().enumerate() {
            let cv = _mm512_set1_epi64(cr as i64);
            // SAFETY: row r holds `len` words from offset r * stride.
            let yv = unsafe { load(y.add(r * stride + k)) };
            lo = _mm512_madd52lo_epu64(lo, yv, cv);
            hi = _mm512_madd52hi_epu64(hi, yv, cv);
        }
        // SAFETY: k + 8 <= len.
        unsafe { store(out.add(k), reducer.reduce(lo, hi)) };
        k += 8;
    }
    for j in k..len {
        let mut acc = 0u128;
        for (r, &cr) in c.iter().enumerate() {
            // SAFETY: j < len.
            acc += unsafe { *y.add(r * stride + j) } as u128 * cr as u128;
        }
        // SAFETY: j < len.
        unsafe { *out.add(j) = t.reduce_u128(acc) };
    }
}

/// `out[k] = (out[k] if accumulate) + sum_j a[j][k] b[j][k] mod q`, one reduction per element.
/// Requires IFMA, `q < 2^50`, reduced inputs and at most [`MAX_WIDE_TERMS`] terms.
pub(crate) fn dot(
    q: &Modulus,
    reduction: &WideReduction,
    a: &[&[u64]],
    b: &[&[u64]],
    accumulate: bool,
    out: &mut [u64],
) {
    let len = out.len();
    assert!(a.len() == b.len() && a.len() <= MAX_WIDE_TERMS && supports(q));
    assert!(a.iter().chain(b).all(|x| x.len() >= len));
    // SAFETY: IFMA is present; every term holds `len` words.
    unsafe { dot_raw(q, reduction, a, b, accumulate, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn dot_raw(
    q: &Modulus,
    reduction: &WideReduction,
    a: &[&[u64]],
    b: &[&[u64]],
    accumulate: bool,
    out: &mut [u64],
) {
    let reducer = WideReducer::new(q, reduction);
    let zero = _mm512_setzero_si512();
    let len = out.len();
    let mut k = 0;
    while k + 8 <= len {
        // SAFETY: k + 8 <= len words of `out` and of every term are in bounds.
        unsafe {
            let mut lo = if accumulate { load(out.as_ptr().add(k)) } else { zero };
            let mut hi = zero;
            for (x, y) in a.iter().zip(b) {
                let (xv, yv) = (load(x.as_ptr().add(k)), load(y.as_ptr().add(k)));
                lo = _mm512_madd52lo_epu64(lo, xv, yv);
                hi = _mm512_madd52hi_epu64(hi, xv, yv);
            }
            store(out.as_mut_ptr().add(k), reducer.reduce(lo, hi));
        }
        k += 8;
    }
    for j in k..len {
        let init = if accumulate { out[j] as u128 } else { 0 };
        let acc = a
            .iter()
            .zip(b)
            .fold(init, |acc, (x, y)| acc + x[j] as u128 * y[j] as u128);
        out[j] = q.reduce_u128(acc);
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn conversion_row_raw(
    _: &Modulus,
    _: &WideReduction,
    _: *const u64,
    _: usize,
    _: &[u64],
    _: *mut u64,
    _: usize,
) {
    unreachable!()
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn dot_raw(_: &Modulus, _: &WideReduction, _: &[&[u64]], _: &[&[u64]], _: bool, _: &mut [u64]) {
    unreachable!()
}

/// Broadcast [`WideReduction`]: reduces a sum kept as 52-bit halves `(lo, hi)`, the value being
/// `hi 2^52 + lo`. The carry of `lo` moves into `hi`; then both are below 2^52 and the value is
/// `hi [2^52 mod q] + lo`, two Shoup products in `[0, 2q)` each.
#[cfg(target_arch = "x86_64")]
struct WideReducer {
    hi_part: ShoupConst,
    lo_part: ShoupConst,
    mask: __m512i,
    shift: __m512i,
}

#[cfg(target_arch = "x86_64")]
impl WideReducer {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(q: &Modulus, r: &WideReduction) -> Self {
        Self {
            hi_part: ShoupConst::new(q, r.hi.w, r.hi.shoup52),
            lo_part: ShoupConst::new(q, r.lo.w, r.lo.shoup52),
            mask: _mm512_set1_epi64(MASK52 as i64),
            shift: _mm512_set1_epi64(52),
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(&self, lo: __m512i, hi: __m512i) -> __m512i {
        let hi = _mm512_add_epi64(hi, _mm512_srlv_epi64(lo, self.shift));
        let lo = _mm512_and_si512(lo, self.mask);
        let sum = _mm512_add_epi64(self.hi_part.mul_lazy(hi), self.lo_part.mul_lazy(lo));
        self.hi_part.reduce_twice(sum)
    }
}

const MASK52: u64 = (1 << 52) - 1;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn load(p: *const u64) -> __m512i {
    // SAFETY: the caller guarantees 8 readable words; AVX-512F is enabled in every caller.
    unsafe { _mm512_loadu_epi64(p as *const i64) }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store(p: *mut u64, v: __m512i) {
    // SAFETY: the caller guarantees 8 writable words; AVX-512F is enabled in every caller.
    unsafe { _mm512_storeu_epi64(p as *mut i64, v) }
}

/// Broadcast constants of the IFMA Barrett reduction of one prime.
#[cfg(target_arch = "x86_64")]
struct BarrettConsts {
    q: __m512i,
    /// `floor(2^(b+51) / q)`.
    m: __m512i,
    /// `b - 1` and `53 - b`: `x >> (b - 1) = (hi << (53 - b)) + (lo >> (b - 1))`.
    shr: __m512i,
    shl: __m512i,
    mask: __m512i,
}

#[cfg(target_arch = "x86_64")]
impl BarrettConsts {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(q: &Modulus) -> Self {
        let b = q.bits() as i64;
        let m = (1u128 << (b + 51)) / q.value() as u128;
        Self {
            q: _mm512_set1_epi64(q.value() as i64),
            m: _mm512_set1_epi64(m as i64),
            shr: _mm512_set1_epi64(b - 1),
            shl: _mm512_set1_epi64(53 - b),
            mask: _mm512_set1_epi64(MASK52 as i64),
        }
    }

    /// `(hi 2^52 + lo) mod q` for a value below `2^(2b)`, `lo < 2^63`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(&self, lo: __m512i, hi: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let t = _mm512_add_epi64(_mm512_sllv_epi64(hi, self.shl), _mm512_srlv_epi64(lo, self.shr));
        let e = _mm512_madd52hi_epu64(zero, t, self.m);
        let eq = _mm512_madd52lo_epu64(zero, e, self.q);
        let r = _mm512_and_si512(_mm512_sub_epi64(lo, eq), self.mask);
        let r = _mm512_min_epu64(r, _mm512_sub_epi64(r, self.q));
        _mm512_min_epu64(r, _mm512_sub_epi64(r, self.q))
    }
}

/// Broadcast 52-bit Shoup constant of a multiplier `w` mod `q`.
#[cfg(target_arch = "x86_64")]
struct ShoupConst {
    q: __m512i,
    w: __m512i,
    w_shoup: __m512i,
    mask: __m512i,
}

#[cfg(target_arch = "x86_64")]
impl ShoupConst {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(q: &Modulus, w: u64, w_shoup: u64) -> Self {
        Self {
            q: _mm512_set1_epi64(q.value() as i64),
            w: _mm512_set1_epi64(w as i64),
            w_shoup: _mm512_set1_epi64(w_shoup as i64),
            mask: _mm512_set1_epi64(MASK52 as i64),
        }
    }

    /// `a w mod q` in `[0, 2q)` for `a < 2^52`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_lazy(&self, a: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let e = _mm512_madd52hi_epu64(zero, a, self.w_shoup);
        let aw = _mm512_madd52lo_epu64(zero, a, self.w);
        let eq = _mm512_madd52lo_epu64(zero, e, self.q);
        _mm512_and_si512(_mm512_sub_epi64(aw, eq), self.mask)
    }

    /// `a w mod q` in `[0, q)` for `a < 2^52`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(&self, a: __m512i) -> __m512i {
        let r = self.mul_lazy(a);
        _mm512_min_epu64(r, _mm512_sub_epi64(r, self.q))
    }

    /// `x mod q` for `x < 4q`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce_twice(&self, x: __m512i) -> __m512i {
        let two_q = _mm512_add_epi64(self.q, self.q);
        let x = _mm512_min_epu64(x, _mm512_sub_epi64(x, two_q));
        _mm512_min_epu64(x, _mm512_sub_epi64(x, self.q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// The vector kernels and their scalar tails against `Modulus`, for lengths around the
    /// vector width.
    #[test]
    fn kernels_match_the_scalar_arithmetic() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for bits in [20, 35, 49, 50] {
            let q = Modulus::new(ntt_primes(bits, 16, 1, &[]).unwrap()[0]).unwrap();
            let Some(k) = Kernels::for_modulus(&q) else {
                return; // no IFMA on this CPU: the portable kernels are tested elsewhere
            };
            for len in [0, 1, 7, 8, 9, 23, 64] {
                let mut v = || (0..len).map(|_| rng.random_range(0..q.value())).collect::<Vec<_>>();
                let (a, b, c) = (v(), v(), v());
                let w = Scalar::new(&q, a.first().copied().unwrap_or(3));
                let mut out = vec![0; len];
                k.mul(&a, &b, &mut out);
                assert!(out.iter().zip(a.iter().zip(&b)).all(|(&o, (&x, &y))| o == q.mul(x, y)));
                let mut acc = c.clone();
                k.mul_add(&a, &b, &mut acc);
                for i in 0..len {
                    assert_eq!(acc[i], q.mul_add(a[i], b[i], c[i]));
                }
                let mut acc = a.clone();
                k.mul_assign(&mut acc, &b);
                assert_eq!(acc, out);
                k.mul_scalar(&w, &b, &mut out);
                assert!(out.iter().zip(&b).all(|(&o, &y)| o == q.mul(y, w.w)));
                let mut acc = b.clone();
                k.mul_scalar_assign(&w, &mut acc);
                assert_eq!(acc, out);
                let mut acc = a.clone();
                k.sub_mul_scalar_assign(&w, &mut acc, &b);
                for i in 0..len {
                    assert_eq!(acc[i], q.mul(q.sub(a[i], b[i]), w.w));
                }
                // A conversion row of 16 rows of maximal residues.
                let rows = MAX_WIDE_TERMS;
                let y: Vec<u64> = (0..rows * len)
                    .map(|i| if i % 3 == 0 { q.value() - 1 } else { i as u64 })
                    .collect();
                let coeffs: Vec<u64> = (0..rows as u64).map(|r| q.value() - 1 - r).collect();
                conversion_row(&q, &WideReduction::new(&q), &y, len, &coeffs, &mut out);
                for j in 0..len {
                    let sum = (0..rows)
                        .map(|r| y[r * len + j] as u128 * coeffs[r] as u128)
                        .sum::<u128>();
                    assert_eq!(out[j] as u128, sum % q.value() as u128);
                }
                // The largest dot product: sixteen (q - 1)^2 added to q - 1.
                let max = vec![q.value() - 1; len];
                let terms = vec![max.as_slice(); MAX_WIDE_TERMS];
                out.copy_from_slice(&max);
                dot(&q, &WideReduction::new(&q), &terms, &terms, true, &mut out);
                let big = q.value() as u128;
                let expected = ((big - 1) * (big - 1) * 16 + big - 1) % big;
                assert!(out.iter().all(|&o| o as u128 == expected));
            }
        }
    }
}
