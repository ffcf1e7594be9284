//! Base conversion, ModDown and rescaling against exact big-integer references.

mod common;

use blindtuner_ring::{BasisConverter, Form, ModDown, Modulus, RnsBasis, RnsPoly};
use common::{basis, coefficient, crt, primes, product, random_poly, residue};
use num_bigint::BigUint;
use std::sync::Arc;

/// Source and target prime sizes: IFMA-sized, portable-sized and mixed.
const CASES: [(&[u32], &[u32]); 6] = [
    (&[50, 50, 50, 50], &[50, 50, 50, 50, 50]),
    // A key-switching digit holding the 60-bit base prime: its rows are split for IFMA.
    (&[60, 50, 50, 50, 50], &[50, 50, 60, 50]),
    (&[60, 61, 58], &[61, 40, 59]),
    (&[30, 50, 45], &[61, 50, 20]),
    (&[50], &[49, 50, 48]),
    (&[40; 17], &[50, 50]),
];

fn converter_bases(n: usize, from: &[u32], to: &[u32]) -> (Vec<Modulus>, Vec<Modulus>) {
    let p = primes(n, from, &[]);
    let t = primes(n, to, &p);
    let m = |v: &[u64]| v.iter().map(|&x| Modulus::new(x).unwrap()).collect();
    (m(&p), m(&t))
}

#[test]
fn fast_conversion_adds_a_small_multiple_of_q() {
    for (case, &(from_bits, to_bits)) in CASES.iter().enumerate() {
        for log_n in [4, 7, 10, 12] {
            let n = 1 << log_n;
            let (from, to) = converter_bases(n, from_bits, to_bits);
            let src = RnsBasis::new(n, &from.iter().map(Modulus::value).collect::<Vec<_>>()).unwrap();
            let a = random_poly(&src, from.len(), Form::Coefficient, (case * 16 + log_n) as u64);
            let conv = BasisConverter::new(&from, &to).unwrap();
            let mut out = vec![0u64; to.len() * n];
            conv.fast_convert(a.data(), &mut [(0, &mut out)]);
            let big_q = product(&from);
            for k in 0..n {
                let x = coefficient(&from, &a, k);
                // The same u in [0, s) must explain every target.
                let u = (0..from.len()).find(|&u| {
                    let y = &x + &big_q * u;
                    to.iter().enumerate().all(|(j, t)| out[j * n + k] == residue(&y, t))
                });
                assert!(u.is_some(), "case {case}, n {n}, coefficient {k}");
            }
        }
    }
}

#[test]
fn exact_conversion_gives_the_centered_value() {
    for (case, &(from_bits, to_bits)) in CASES.iter().cycle().take(3 * CASES.len()).enumerate() {
        let n = 256;
        let (from, to) = converter_bases(n, from_bits, to_bits);
        let src = RnsBasis::new(n, &from.iter().map(Modulus::value).collect::<Vec<_>>()).unwrap();
        let a = random_poly(&src, from.len(), Form::Coefficient, 1000 + case as u64);
        let conv = BasisConverter::new(&from, &to).unwrap();
        // Two output regions, targets [1..) first then [0, 1), to exercise the indexing.
        let mut head = vec![0u64; n];
        let mut tail = vec![0u64; (to.len() - 1) * n];
        conv.exact_convert(a.data(), &mut [(1, &mut tail), (0, &mut head)]);
        let big_q = product(&from);
        for k in 0..n {
            let x = coefficient(&from, &a, k);
            let negative = &x * 2u32 > big_q;
            for (j, t) in to.iter().enumerate() {
                let got = if j == 0 { head[k] } else { tail[(j - 1) * n + k] };
                let expected = if negative {
                    t.neg(residue(&(&big_q - &x), t))
                } else {
                    residue(&x, t)
                };
                assert_eq!(got, expected, "case {case}, target {j}, coefficient {k}");
            }
        }
    }
}

#[test]
fn converter_rejects_bad_sources() {
    let (from, to) = converter_bases(16, &[50, 50], &[40]);
    assert!(BasisConverter::new(&[from[0], from[0]], &to).is_err());
    assert!(BasisConverter::new(&[], &to).is_err());
}

/// `round(x / d)` for odd `d`.
fn rounded_div(x: &BigUint, d: &BigUint) -> BigUint {
    (x * 2u32 + d) / (d * 2u32)
}

#[test]
fn rescale_is_exact_rounding_in_both_forms() {
    for (case, bits) in [&[50u32, 50, 50, 50, 50][..], &[61, 40, 55, 60], &[30, 50, 61]]
        .into_iter()
        .enumerate()
    {
        for log_n in [4, 8, 11] {
            let n = 1 << log_n;
            let basis = basis(n, bits);
            let limbs = bits.len();
            let moduli = basis.moduli();
            for form in [Form::Coefficient, Form::Evaluation] {
                let a = random_poly(&basis, limbs, Form::Coefficient, (case * 64 + log_n) as u64);
                let mut b = a.clone();
                if form == Form::Evaluation {
                    basis.ntt(&mut b);
                }
                let mut scratch = vec![0u64; n * (limbs - 1)];
                basis.rescale(&mut b, &mut scratch);
                assert_eq!((b.limbs(), b.form()), (limbs - 1, form));
                if form == Form::Evaluation {
                    basis.intt(&mut b);
                }
                let q_l = BigUint::from(moduli[limbs - 1].value());
                for k in 0..n {
                    let expected = rounded_div(&coefficient(moduli, &a, k), &q_l);
                    assert_eq!(coefficient(moduli, &b, k), expected % product(&moduli[..limbs - 1]));
                }
            }
        }
    }
}

#[test]
fn rescale_rounds_exactly_at_the_half_way_points() {
    // Coefficients q_l * m + (q_l - 1) / 2 + {0, 1}: just below and above one half.
    let n = 16;
    let basis = basis(n, &[50, 61, 60]);
    let moduli = basis.moduli();
    let q_l = moduli[2].value();
    let mut a = RnsPoly::zero(&basis, 3, Form::Coefficient);
    let values: Vec<BigUint> = (0..n)
        .map(|k| {
            let m = BigUint::from(1234567u64 * k as u64 + 7);
            m * q_l + (q_l - 1) / 2 + (k % 2) as u64
        })
        .collect();
    for (i, q) in moduli.iter().enumerate() {
        for (x, v) in a.limb_mut(i).iter_mut().zip(&values) {
            *x = residue(v, q);
        }
    }
    let mut scratch = vec![0u64; 2 * n];
    basis.rescale(&mut a, &mut scratch);
    for (k, x) in values.iter().enumerate() {
        assert_eq!(coefficient(moduli, &a, k), rounded_div(x, &BigUint::from(q_l)));
    }
}

#[test]
fn mod_down_divides_by_p_with_rounding() {
    for (case, (q_bits, p_bits)) in [
        (&[50u32, 50, 50, 50, 50, 50][..], &[50u32, 50, 50][..]),
        (&[61, 40, 55], &[60, 61]),
        (&[50, 50, 50], &[61, 50, 40, 45]),
    ]
    .into_iter()
    .enumerate()
    {
        for log_n in [4, 9, 12] {
            let n = 1 << log_n;
            let qs = primes(n, q_bits, &[]);
            let ps = primes(n, p_bits, &qs);
            let q = Arc::new(RnsBasis::new(n, &qs).unwrap());
            let p = Arc::new(RnsBasis::new(n, &ps).unwrap());
            let md = ModDown::new(q.clone(), p.clone()).unwrap();
            let big_p = product(p.moduli());
            for form in [Form::Coefficient, Form::Evaluation] {
                for limbs in [1, qs.len()] {
                    let seed = (case * 100 + log_n * 10 + limbs) as u64;
                    let a_q = random_poly(&q, limbs, Form::Coefficient, seed);
                    let a_p = random_poly(&p, ps.len(), Form::Coefficient, seed + 1);
                    let (mut out, mut ap) = (a_q.clone(), a_p.clone());
                    if form == Form::Evaluation {
                        q.ntt(&mut out);
                        p.ntt(&mut ap);
                    }
                    let mut scratch = vec![0u64; md.scratch_len(limbs)];
                    md.apply(&mut out, &ap, &mut scratch);
                    if form == Form::Evaluation {
                        q.intt(&mut out);
                    }
                    let all: Vec<Modulus> = q.moduli()[..limbs].iter().chain(p.moduli()).copied().collect();
                    let big_q = product(&q.moduli()[..limbs]);
                    for k in 0..n {
                        let residues: Vec<u64> = (0..limbs)
                            .map(|i| a_q.limb(i)[k])
                            .chain((0..ps.len()).map(|j| a_p.limb(j)[k]))
                            .collect();
                        let x = crt(&all, &residues);
                        let expected = rounded_div(&x, &big_p) % &big_q;
                        assert_eq!(coefficient(q.moduli(), &out, k), expected, "case {case} k {k}");
                    }
                }
            }
        }
    }
}

#[test]
fn mod_down_rejects_shared_primes_and_degrees() {
    let qs = primes(32, &[50, 50], &[]);
    let q = Arc::new(RnsBasis::new(32, &qs).unwrap());
    let p = Arc::new(RnsBasis::new(32, &qs[1..]).unwrap());
    assert!(ModDown::new(q.clone(), p).is_err());
    let other = Arc::new(RnsBasis::new(16, &primes(16, &[40], &[])).unwrap());
    assert!(ModDown::new(q, other).is_err());
}
