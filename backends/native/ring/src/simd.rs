//! Runtime selection of x86-64 vector extensions.
//!
//! The crate is built for the baseline target, so wide vectors are used only after the CPU has
//! been checked: simple element-wise loops are recompiled for AVX-512, or AVX2 where the CPU has
//! no AVX-512, by inlining them into a function with those target features, and the
//! multiply-heavy kernels have explicit AVX-512 IFMA versions in the `ifma` module.

/// Whether the CPU has AVX-512 F/DQ/VL/BW.
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether the CPU has AVX-512 IFMA (52-bit integer multiply-add) on top of AVX-512.
#[inline]
pub(crate) fn has_ifma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx512() && std::arch::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Whether the CPU has AVX2 (every x86-64 CPU of the last decade; AVX-512 is rarer).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Runs `f`, compiled for AVX-512 when the CPU has it, else for AVX2, so that the loops it
/// inlines are vectorised with the widest registers there are. `f` and what it calls should be
/// `#[inline(always)]`.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports the enabled features (checked just above).
            return unsafe { with_avx512(f) };
        }
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

/// `f` compiled for AVX-512 F/DQ/VL/BW. Safety: the CPU must have them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
pub(crate) fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f` compiled for AVX2. Safety: the CPU must have it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::modulus::Modulus;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// Every compilation of an element-wise loop gives the portable result, whichever one this
    /// CPU's dispatch picks (an AVX-512 machine never runs the AVX2 one otherwise).
    #[test]
    fn every_vector_width_computes_the_portable_result() {
        let q = Modulus::new(1125899906826241).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let a: Vec<u64> = (0..1000).map(|_| rng.random_range(0..q.value())).collect();
        let b: Vec<u64> = (0..1000).map(|_| rng.random_range(0..q.value())).collect();
        let loop_body = || -> Vec<u64> { a.iter().zip(&b).map(|(&x, &y)| q.sub(q.add(x, y), q.neg(y))).collect() };
        let portable = loop_body();
        assert_eq!(vectorized(loop_body), portable);
        if has_avx2() {
            // SAFETY: checked just above.
            assert_eq!(unsafe { with_avx2(loop_body) }, portable);
        }
        if has_avx512() {
            // SAFETY: checked just above.
            assert_eq!(unsafe { with_avx512(loop_body) }, portable);
        }
    }
}
