//! Primality testing and generation of NTT-friendly primes.

use crate::error::RingError;
use crate::modulus::MAX_MODULUS_BITS;

/// Witnesses that make Miller-Rabin deterministic for every `n < 3.3 * 10^24`, hence for all
/// `u64` (Sorenson and Webster, 2015).
const WITNESSES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/// `a * b mod n` for any `n`; only used when setting up, so a plain `u128` division is fine.
fn mul_mod(a: u64, b: u64, n: u64) -> u64 {
    (a as u128 * b as u128 % n as u128) as u64
}

/// `base^e mod n` for any `n >= 1`.
pub(crate) fn pow_mod(mut base: u64, mut e: u64, n: u64) -> u64 {
    let mut acc = 1 % n;
    while e > 0 {
        if e & 1 == 1 {
            acc = mul_mod(acc, base, n);
        }
        base = mul_mod(base, base, n);
        e >>= 1;
    }
    acc
}

/// Deterministic Miller-Rabin test: writing `n - 1 = d * 2^s` with `d` odd, `n` is declared
/// prime when every witness `a` has `a^d = 1` or `a^(d 2^r) = -1 (mod n)` for some `r < s`.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for &p in &WITNESSES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    WITNESSES.iter().all(|&a| {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            return true;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                return true;
            }
        }
        false
    })
}

/// Returns `count` distinct primes `p` of exactly `bits` bits with `p = 1 mod 2n` (so that
/// `Z_p` holds a primitive `2n`-th root of unity and `X^n + 1` splits into linear factors),
/// largest first, searching downward from `2^bits` and skipping the primes in `exclude`.
///
/// Primes of at most 50 bits take the AVX-512 IFMA path of the NTT.
pub fn ntt_primes(bits: u32, n: usize, count: usize, exclude: &[u64]) -> Result<Vec<u64>, RingError> {
    if !(2..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(RingError::InvalidBitSize(bits));
    }
    crate::basis::check_degree(n)?;
    let two_n = 2 * n as u64;
    let lower = 1u64 << (bits - 1);
    let mut primes = Vec::with_capacity(count);
    // Largest candidate k * 2n + 1 below 2^bits.
    let mut k = ((1u64 << bits) - 2) / two_n;
    while primes.len() < count && k > 0 {
        let p = k * two_n + 1;
        if p <= lower {
            break;
        }
        if is_prime(p) && !exclude.contains(&p) {
            primes.push(p);
        }
        k -= 1;
    }
    if primes.len() < count {
        return Err(RingError::NotEnoughPrimes {
            wanted: count,
            found: primes.len(),
            bits,
            two_n,
        });
    }
    Ok(primes)
}

/// Returns the prime `p = 1 mod 2n` of exactly `bits` bits closest to `target` (ties go to the
/// smaller one), skipping the primes in `exclude`.
///
/// CKKS uses it to pick each rescaling prime close to the square of the scale before it divided
/// by the default scale, so that the scale returns near the default at every level instead of
/// drifting (the drift doubles with each rescaling).
pub fn ntt_prime_near(target: u64, bits: u32, n: usize, exclude: &[u64]) -> Result<u64, RingError> {
    if !(2..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(RingError::InvalidBitSize(bits));
    }
    crate::basis::check_degree(n)?;
    let two_n = 2 * n as u64;
    let (lower, upper) = (1u64 << (bits - 1), (1u64 << bits) - 1);
    let usable = |k: u64| {
        let p = k.checked_mul(two_n).and_then(|x| x.checked_add(1))?;
        ((lower..=upper).contains(&p) && is_prime(p) && !exclude.contains(&p)).then_some(p)
    };
    // Candidates k 2n + 1, walking outwards from the one nearest the target.
    let centre = target.clamp(lower, upper).saturating_sub(1) / two_n;
    let (k_min, k_max) = (lower / two_n, upper / two_n);
    for step in 0..=(k_max - k_min) {
        let below = centre.checked_sub(step).filter(|&k| k >= k_min).and_then(usable);
        let above = centre.checked_add(step + 1).filter(|&k| k <= k_max).and_then(usable);
        match (below, above) {
            (Some(b), Some(a)) => return Ok(if target.abs_diff(a) < target.abs_diff(b) { a } else { b }),
            (Some(p), None) | (None, Some(p)) => return Ok(p),
            (None, None) if centre < k_min + step && centre + step >= k_max => break,
            (None, None) => {}
        }
    }
    Err(RingError::NotEnoughPrimes {
        wanted: 1,
        found: 0,
        bits,
        two_n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miller_rabin_matches_trial_division() {
        let trial = |n: u64| n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d));
        for n in 0..5000 {
            assert_eq!(is_prime(n), trial(n), "{n}");
        }
        // Strong pseudoprimes to the first four and first nine prime bases.
        assert!(!is_prime(3215031751));
        assert!(!is_prime(3825123056546413051));
        assert!(is_prime(2305843009213693951));
        assert!(is_prime(18446744073709551557));
        assert!(!is_prime(18446744073709551615));
    }

    #[test]
    fn ntt_primes_have_the_asked_shape() {
        for (bits, log_n, count) in [(50, 16, 20), (61, 17, 4), (30, 12, 5), (20, 4, 30)] {
            let n = 1usize << log_n;
            let primes = ntt_primes(bits, n, count, &[]).unwrap();
            assert_eq!(primes.len(), count);
            for (i, &p) in primes.iter().enumerate() {
                assert!(is_prime(p));
                assert_eq!(p % (2 * n as u64), 1);
                assert_eq!(64 - p.leading_zeros(), bits);
                assert!(!primes[..i].contains(&p));
            }
            let more = ntt_primes(bits, n, 2, &primes).unwrap();
            assert!(more.iter().all(|p| !primes.contains(p)));
            assert!(more[0] < *primes.last().unwrap());
        }
    }

    #[test]
    fn the_nearest_prime_is_the_nearest() {
        let n = 1 << 12;
        let two_n = 2 * n as u64;
        for target in [1u64 << 40, (1 << 40) + 12_345_678, (1 << 40) - 98_765, 1 << 39] {
            let p = ntt_prime_near(target, 40, n, &[]).unwrap();
            assert!(is_prime(p) && p % two_n == 1 && p >> 39 == 1);
            // No usable prime strictly closer on either side.
            let d = p.abs_diff(target);
            let closer = (target.saturating_sub(d) / two_n..=(target + d) / two_n)
                .map(|k| k * two_n + 1)
                .filter(|&c| c.abs_diff(target) < d && c >> 39 == 1 && is_prime(c))
                .count();
            assert_eq!(closer, 0, "target {target}, got {p}");
            let other = ntt_prime_near(target, 40, n, &[p]).unwrap();
            assert_ne!(other, p);
        }
        // Targets outside the bit range clamp to its ends.
        assert_eq!(ntt_prime_near(1 << 45, 40, n, &[]).unwrap() >> 39, 1);
        assert_eq!(ntt_prime_near(3, 40, n, &[]).unwrap() >> 39, 1);
        assert!(ntt_prime_near(1 << 40, 62, n, &[]).is_err());
        // 7-bit primes = 1 mod 32: 97 and 113; excluding both leaves none.
        assert!(matches!(
            ntt_prime_near(100, 7, 16, &[97, 113]),
            Err(RingError::NotEnoughPrimes { .. })
        ));
    }

    #[test]
    fn ntt_primes_reports_shortage_and_bad_input() {
        assert!(matches!(
            ntt_primes(10, 1 << 4, 100, &[]),
            Err(RingError::NotEnoughPrimes { .. })
        ));
        assert!(ntt_primes(62, 1 << 4, 1, &[]).is_err());
        assert!(ntt_primes(40, 100, 1, &[]).is_err());
    }
}
