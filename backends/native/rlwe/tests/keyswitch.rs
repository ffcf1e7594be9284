//! Hybrid key switching against its definition: for a key from `s'` to `s`, the switched pair
//! `(u0, u1)` of `d` satisfies `u0 + u1 s = d s' + e` with `e` small, at every level and for
//! digit layouts with full and partial last digits.

use blindtuner_ring::{Automorphism, Form, RnsPoly, Sampler, rotation_galois_element};
use blindtuner_rlwe::{
    Ciphertext, DEFAULT_ERROR_STD, Decomposition, KeyError, KeyGenerator, KeySwitchScratch, KeySwitcher, Moduli,
    Parameters, ParametersLiteral, QpPoly, SecretDistribution, SecretKey, decrypt,
};

fn params_with(q: Vec<u32>, p: Vec<u32>, digits: Option<usize>) -> Parameters {
    Parameters::new_toy(&ParametersLiteral {
        log_n: 10,
        q: Moduli::Bits(q),
        p: Moduli::Bits(p),
        secret: SecretDistribution::Ternary,
        error_std: DEFAULT_ERROR_STD,
        digits,
    })
    .unwrap()
}

fn params(q: Vec<u32>, p: Vec<u32>) -> Parameters {
    params_with(q, p, None)
}

/// Digit layouts: one prime per digit, two per digit with a partial last digit, one digit, and
/// digits of two primes under three special primes.
fn layouts() -> Vec<Parameters> {
    vec![
        params(vec![50, 40, 40, 40], vec![55]),
        params(vec![50, 40, 40, 40, 40], vec![50, 50]),
        params(vec![45, 40, 40], vec![50, 50, 50]),
        params_with(vec![50, 40, 40, 40, 40], vec![50, 50, 50], Some(3)),
    ]
}

/// log2 of the largest centred coefficient (over every limb's CRT value, read from limb 0
/// since the noise is far below q_0) of `a - b`, both in NTT form.
fn log2_distance(params: &Parameters, a: &RnsPoly, b: &RnsPoly) -> f64 {
    let ring = params.ring_q();
    let mut d = RnsPoly::zero(ring, a.limbs(), Form::Evaluation);
    ring.sub(a, b, &mut d);
    ring.intt(&mut d);
    let q0 = params.q()[0];
    // A large value in limb 0 means a wrong result; it must also agree across limbs.
    let max = d.limb(0).iter().map(|&x| x.min(q0 - x)).max().unwrap();
    for i in 1..d.limbs() {
        let qi = params.q()[i];
        for (k, (&x, &y)) in d.limb(0).iter().zip(d.limb(i)).enumerate() {
            let centred = if x <= q0 / 2 { x as i128 } else { x as i128 - q0 as i128 };
            assert_eq!(
                centred.rem_euclid(qi as i128) as u64,
                y,
                "limb {i} coefficient {k} disagrees"
            );
        }
    }
    (max as f64).max(1.0).log2()
}

fn random_poly(params: &Parameters, limbs: usize, seed: u8) -> RnsPoly {
    let mut p = RnsPoly::zero(params.ring_q(), limbs, Form::Evaluation);
    Sampler::from_seed([seed; 32]).uniform(params.ring_q(), &mut p);
    p
}

/// `c0 + c1 s` for a pair of polynomials.
fn phase(params: &Parameters, sk: &SecretKey, c0: &RnsPoly, c1: &RnsPoly) -> RnsPoly {
    let ct = Ciphertext {
        c0: c0.clone(),
        c1: c1.clone(),
    };
    let mut out = RnsPoly::zero(params.ring_q(), c0.limbs(), Form::Evaluation);
    decrypt(params, sk, &ct, &mut out).unwrap();
    out
}

#[test]
fn relinearisation_keys_switch_s_squared_to_s_at_every_level() {
    for params in layouts() {
        let mut kg = KeyGenerator::from_seed_for_tests(&params, [7; 32]).unwrap();
        let sk = kg.secret_key();
        let rlk = kg.relinearization_key(&sk).unwrap();
        assert_eq!(rlk.key().digits(), params.digits());
        let switcher = KeySwitcher::new(&params).unwrap();
        let mut scratch = KeySwitchScratch::new(&params);
        let ring = params.ring_q();
        for limbs in (1..=params.q().len()).rev() {
            let d = random_poly(&params, limbs, limbs as u8);
            let (mut u0, mut u1) = (d.clone(), d.clone());
            switcher.switch(&d, rlk.key(), &mut u0, &mut u1, &mut scratch).unwrap();
            assert_eq!((u0.limbs(), u1.limbs()), (limbs, limbs));
            // Reference d s^2 from the secret: decrypting (0, d s) gives d s^2.
            let mut ds = RnsPoly::zero(ring, limbs, Form::Evaluation);
            let zero = RnsPoly::zero(ring, limbs, Form::Evaluation);
            let via_phase = phase(&params, &sk, &zero, &d);
            ring.mul(&via_phase, &phase(&params, &sk, &zero, &one(&params, limbs)), &mut ds);
            let bits = log2_distance(&params, &phase(&params, &sk, &u0, &u1), &ds);
            assert!(bits < 10.0, "{:?}: noise 2^{bits:.1} at {limbs} limbs", params.q());
        }
    }
}

/// The constant polynomial 1 in NTT form.
fn one(params: &Parameters, limbs: usize) -> RnsPoly {
    let mut p = RnsPoly::zero(params.ring_q(), limbs, Form::Coefficient);
    for i in 0..limbs {
        p.limb_mut(i)[0] = 1;
    }
    params.ring_q().ntt(&mut p);
    p
}

#[test]
fn automorphisms_map_the_plaintext_and_hoisting_changes_nothing() {
    for params in layouts() {
        let ring = params.ring_q();
        let mut kg = KeyGenerator::from_seed_for_tests(&params, [9; 32]).unwrap();
        let sk = kg.secret_key();
        let switcher = KeySwitcher::new(&params).unwrap();
        let mut scratch = KeySwitchScratch::new(&params);
        let elements: Vec<u64> = [1, -1, 3, 100]
            .iter()
            .map(|&k| rotation_galois_element(params.n(), k))
            .chain([2 * params.n() as u64 - 1])
            .collect();
        let keys: Vec<_> = elements.iter().map(|&g| kg.galois_key(&sk, g).unwrap()).collect();
        for limbs in [params.q().len(), 2] {
            // A message with coefficients up to 2^30 under a fresh encryption.
            let mut m = RnsPoly::zero(ring, limbs, Form::Coefficient);
            let mut sampler = Sampler::from_seed([limbs as u8; 32]);
            sampler.uniform(ring, &mut m);
            let q0 = params.q()[0];
            let small: Vec<u64> = m.limb(0).iter().map(|&x| x & ((1 << 30) - 1)).collect();
            m.limb_mut(0).copy_from_slice(&small);
            let mut m_small = RnsPoly::zero(ring, limbs, Form::Coefficient);
            ring.lift_centered(&m, &ring.moduli()[0], &mut m_small);
            ring.ntt(&mut m_small);
            let mut ct = Ciphertext::zero(&params, limbs);
            kg.encrypt_zero_sk(&sk, &mut ct).unwrap();
            ring.add_assign(&mut ct.c0, &m_small);
            assert!(q0 > 1 << 40);

            let mut decomposition = Decomposition::new(&params);
            switcher.decompose(&ct.c1, &mut decomposition);
            for key in &keys {
                let mut out = Ciphertext::zero(&params, limbs);
                switcher.automorphism(&ct, key, &mut out, &mut scratch).unwrap();
                let mut want = m_small.clone();
                ring.automorphism(
                    &Automorphism::new(ring, key.galois_element()).unwrap(),
                    &m_small,
                    &mut want,
                );
                let mut got = RnsPoly::zero(ring, limbs, Form::Evaluation);
                decrypt(&params, &sk, &out, &mut got).unwrap();
                let bits = log2_distance(&params, &got, &want);
                assert!(bits < 10.0, "g = {}: noise 2^{bits:.1}", key.galois_element());

                let mut hoisted = Ciphertext::zero(&params, limbs);
                switcher
                    .automorphism_hoisted(&ct, &decomposition, key, &mut hoisted, &mut scratch)
                    .unwrap();
                assert_eq!(hoisted, out, "hoisting must compute the same ciphertext");
            }
            let mut outs: Vec<Ciphertext> = keys.iter().map(|_| Ciphertext::zero(&params, limbs)).collect();
            switcher
                .automorphisms_hoisted(&ct, keys.iter().zip(outs.iter_mut()), &mut scratch)
                .unwrap();
            for (key, got) in keys.iter().zip(&outs) {
                let mut one = Ciphertext::zero(&params, limbs);
                switcher.automorphism(&ct, key, &mut one, &mut scratch).unwrap();
                assert_eq!(&one, got);
            }
        }
    }
}

#[test]
fn keys_of_another_parameter_set_are_refused() {
    let (a, b) = (params(vec![50, 40], vec![50]), params(vec![50, 41], vec![50]));
    let mut kg_b = KeyGenerator::from_seed_for_tests(&b, [1; 32]).unwrap();
    let sk_b = kg_b.secret_key();
    let foreign = kg_b.relinearization_key(&sk_b).unwrap();
    let switcher = KeySwitcher::new(&a).unwrap();
    let mut scratch = KeySwitchScratch::new(&a);
    let d = random_poly(&a, 2, 3);
    let (mut u0, mut u1) = (d.clone(), d.clone());
    assert!(matches!(
        switcher.switch(&d, foreign.key(), &mut u0, &mut u1, &mut scratch),
        Err(KeyError::ForeignKey { .. })
    ));
    let mut kg_a = KeyGenerator::from_seed_for_tests(&a, [2; 32]).unwrap();
    assert!(matches!(
        kg_a.relinearization_key(&sk_b),
        Err(KeyError::ForeignKey { .. })
    ));
}

#[test]
fn too_many_digits_are_refused() {
    let lit = ParametersLiteral {
        log_n: 10,
        q: Moduli::Bits(vec![30; 33]),
        p: Moduli::Bits(vec![31]),
        secret: SecretDistribution::Ternary,
        error_std: DEFAULT_ERROR_STD,
        digits: None,
    };
    let e = Parameters::new_toy(&lit).unwrap_err();
    assert!(e.to_string().contains("33 key-switching digits"), "{e}");
}

#[test]
fn lazy_switching_then_one_mod_down_equals_the_hoisted_automorphism() {
    for params in layouts() {
        let ring = params.ring_q();
        let mut kg = KeyGenerator::from_seed_for_tests(&params, [4; 32]).unwrap();
        let sk = kg.secret_key();
        let switcher = KeySwitcher::new(&params).unwrap();
        let mut scratch = KeySwitchScratch::new(&params);
        let key = kg.galois_key(&sk, rotation_galois_element(params.n(), 3)).unwrap();
        for limbs in [params.q().len(), 1] {
            let mut ct = Ciphertext::zero(&params, limbs);
            kg.encrypt_zero_sk(&sk, &mut ct).unwrap();
            let mut want = Ciphertext::zero(&params, limbs);
            switcher.automorphism(&ct, &key, &mut want, &mut scratch).unwrap();

            // sigma(P c0 + sum d~ (b, a)) in Q P, then divided by P: the same ciphertext, exactly.
            let mut decomposition = Decomposition::new(&params);
            switcher.decompose(&ct.c1, &mut decomposition);
            let mut lazy = [QpPoly::zero(&params, limbs), QpPoly::zero(&params, limbs)];
            switcher
                .switch_decomposed_lazy(&decomposition, key.key(), &mut lazy)
                .unwrap();
            let mut p_c0 = ct.c0.clone();
            ring.mul_scalar_assign(&mut p_c0, switcher.p_mod_q());
            ring.add_assign(&mut lazy[0].q, &p_c0);
            let mut rotated = [QpPoly::zero(&params, limbs), QpPoly::zero(&params, limbs)];
            for (x, out) in lazy.iter().zip(rotated.iter_mut()) {
                switcher.automorphism_qp(&key, x, out);
            }
            for x in rotated.iter_mut() {
                switcher.mod_down(x, &mut scratch);
            }
            assert_eq!(rotated[0].q, want.c0);
            assert_eq!(rotated[1].q, want.c1);
        }
    }
}

/// Sparse-secret encapsulation's two keys: dense `s` to a sparse `s'` in the set restricted to
/// `q_0` and `p_0`, and back over all of `Q P`.
#[test]
fn switching_keys_between_a_dense_and_a_restricted_sparse_secret() {
    let params = params(vec![50, 40, 40, 40], vec![55, 55]);
    let small = params
        .restricted(1, 1, SecretDistribution::SparseTernary { hamming_weight: 8 })
        .unwrap();
    assert_eq!((small.q(), small.p()), (&params.q()[..1], &params.p()[..1]));
    let mut kg = KeyGenerator::from_seed_for_tests(&params, [3; 32]).unwrap();
    let dense = kg.secret_key();
    let sparse = kg.sparse_secret_key(8).unwrap();
    assert!(matches!(kg.sparse_secret_key(0), Err(KeyError::HammingWeight { .. })));
    let (dense_small, sparse_small) = (
        dense.restricted(&params, &small).unwrap(),
        sparse.restricted(&params, &small).unwrap(),
    );
    assert!(matches!(
        dense.restricted(&small, &params),
        Err(KeyError::ForeignKey { .. })
    ));
    assert!(matches!(
        dense_small.restricted(&small, &params),
        Err(KeyError::NotARestriction { .. })
    ));
    let to_sparse = KeyGenerator::from_seed_for_tests(&small, [4; 32])
        .unwrap()
        .switching_key(&dense_small, &sparse_small)
        .unwrap();
    let to_dense = kg.switching_key(&sparse, &dense).unwrap();
    for (set, key, from, to) in [
        (&small, &to_sparse, &dense_small, &sparse_small),
        (&params, &to_dense, &sparse, &dense),
    ] {
        let limbs = set.q().len();
        let d = random_poly(set, limbs, 9);
        let (mut u0, mut u1) = (d.clone(), d.clone());
        let mut scratch = KeySwitchScratch::new(set);
        KeySwitcher::new(set)
            .unwrap()
            .switch(&d, key, &mut u0, &mut u1, &mut scratch)
            .unwrap();
        // Reference d s_from: the phase of (0, d) under the source key.
        let zero = RnsPoly::zero(set.ring_q(), limbs, Form::Evaluation);
        let bits = log2_distance(set, &phase(set, to, &u0, &u1), &phase(set, from, &zero, &d));
        assert!(bits < 10.0, "noise 2^{bits:.1} over {limbs} limbs");
    }
}
