//! The wire format: every object round-trips, and truncated, corrupted, foreign or malformed
//! input is an error, never a panic.

use blindtuner_ring::{Form, RnsPoly, rotation_galois_element};
use blindtuner_rlwe::{
    CHECKSUM_LEN, Ciphertext, DEFAULT_ERROR_STD, EvaluationKeys, FORMAT_VERSION, HEADER_LEN, KeyGenerator, MAX_PRIMES,
    Moduli, ObjectKind, ParameterError, Parameters, ParametersLiteral, PublicKey, RelinearizationKey,
    SecretDistribution, SecretKey, Security, SecurityLevel, WireError, WireFormat, Writer, decrypt, frame,
    read_parameters, write_parameters,
};

fn literal(log_n: u32, q: Vec<u32>, secret: SecretDistribution) -> ParametersLiteral {
    ParametersLiteral {
        log_n,
        q: Moduli::Bits(q),
        p: Moduli::Bits(vec![50]),
        secret,
        error_std: DEFAULT_ERROR_STD,
        digits: None,
    }
}

fn toy() -> Parameters {
    Parameters::new_toy(&literal(10, vec![50, 40, 40], SecretDistribution::Ternary)).unwrap()
}

/// Same degree and limb count as [`toy`], another prime: only the fingerprint tells them apart.
fn other() -> Parameters {
    Parameters::new_toy(&literal(10, vec![50, 40, 39], SecretDistribution::Ternary)).unwrap()
}

struct Fixture {
    params: Parameters,
    sk: SecretKey,
    pk: PublicKey,
    /// Encryptions of zero at every level and at the lowest.
    cts: [Ciphertext; 2],
    /// Relinearisation and two Galois keys.
    evk: EvaluationKeys,
}

fn fixture() -> Fixture {
    let params = toy();
    let mut kg = KeyGenerator::from_seed_for_tests(&params, [7; 32]).unwrap();
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk).unwrap();
    let cts = [3, 1].map(|limbs| {
        let mut ct = Ciphertext::zero(&params, limbs);
        kg.encrypt_zero_pk(&pk, &mut ct).unwrap();
        ct
    });
    let mut evk = EvaluationKeys::default();
    evk.relinearization = Some(kg.relinearization_key(&sk).unwrap());
    for k in [1, -1] {
        evk.insert_galois(kg.galois_key(&sk, rotation_galois_element(params.n(), k)).unwrap());
    }
    Fixture {
        params,
        sk,
        pk,
        cts,
        evk,
    }
}

type Decode = Box<dyn Fn(&[u8]) -> Result<(), WireError>>;

/// Every object of the fixture encoded, with its kind and a decoder under the fixture's set.
fn encoded(f: &Fixture) -> Vec<(ObjectKind, Vec<u8>, Decode)> {
    fn decoder<T: WireFormat<Context = Parameters>>(params: &Parameters) -> Decode {
        let params = params.clone();
        Box::new(move |b| T::from_bytes(&params, b).map(drop))
    }
    let p = &f.params;
    vec![
        (
            ObjectKind::Parameters,
            write_parameters(p),
            Box::new(|b| read_parameters(b).map(drop)),
        ),
        (
            ObjectKind::Ciphertext,
            f.cts[0].to_bytes(p).unwrap(),
            decoder::<Ciphertext>(p),
        ),
        (
            ObjectKind::Ciphertext,
            f.cts[1].to_bytes(p).unwrap(),
            decoder::<Ciphertext>(p),
        ),
        (
            ObjectKind::PublicKey,
            f.pk.to_bytes(p).unwrap(),
            decoder::<PublicKey>(p),
        ),
        (
            ObjectKind::SecretKey,
            f.sk.to_bytes(p).unwrap(),
            decoder::<SecretKey>(p),
        ),
        (
            ObjectKind::EvaluationKeys,
            f.evk.to_bytes(p).unwrap(),
            decoder::<EvaluationKeys>(p),
        ),
        (
            ObjectKind::RelinearizationKey,
            f.evk.relinearization.as_ref().unwrap().to_bytes(p).unwrap(),
            decoder::<RelinearizationKey>(p),
        ),
    ]
}

fn body(bytes: &[u8]) -> &[u8] {
    &bytes[HEADER_LEN..bytes.len() - CHECKSUM_LEN]
}

/// All positions of short buffers; of long ones the first and last 64 and ~200 spread between.
fn positions(len: usize) -> Vec<usize> {
    if len <= 2048 {
        return (0..len).collect();
    }
    let step = (len - 128) / 200;
    let mut out: Vec<usize> = (0..64)
        .chain((64..len - 64).step_by(step))
        .chain(len - 64..len)
        .collect();
    out.dedup();
    out
}

/// Recomputes the checksum of a frame patched by hand (FNV-1a 64, as the format specifies).
fn reseal(bytes: &mut [u8]) {
    let end = bytes.len() - CHECKSUM_LEN;
    let h = bytes[..end].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    bytes[end..].copy_from_slice(&h.to_le_bytes());
}

/// Largest centred coefficient (limb 0) of the decryption of `ct`.
fn noise(params: &Parameters, sk: &SecretKey, ct: &Ciphertext) -> u64 {
    let mut m = RnsPoly::zero(params.ring_q(), ct.limbs(), Form::Evaluation);
    decrypt(params, sk, ct, &mut m).unwrap();
    params.ring_q().intt(&mut m);
    let q0 = params.q()[0];
    m.limb(0).iter().map(|&x| x.min(q0 - x)).max().unwrap()
}

#[test]
fn parameters_round_trip() {
    let standard = Parameters::new(&ParametersLiteral {
        // N = 2^11 allows 54 bits at 128-bit security.
        p: Moduli::Bits(vec![26]),
        ..literal(11, vec![27], SecretDistribution::Ternary)
    })
    .unwrap();
    let sparse = Parameters::new_toy(&literal(
        10,
        vec![45, 35],
        SecretDistribution::SparseTernary { hamming_weight: 32 },
    ))
    .unwrap();
    assert_eq!(standard.security(), Security::Standard(SecurityLevel::Bits128));
    for params in [toy(), standard, sparse] {
        let back = read_parameters(&write_parameters(&params)).unwrap();
        assert_eq!(back, params);
        assert_eq!(back.security(), params.security());
        assert_eq!(back.fingerprint(), params.fingerprint());
    }
}

#[test]
fn ciphertexts_and_keys_round_trip() {
    let f = fixture();
    let p = &f.params;
    for ct in &f.cts {
        assert_eq!(&Ciphertext::from_bytes(p, &ct.to_bytes(p).unwrap()).unwrap(), ct);
    }
    // Keys have no equality (a secret key should not be compared casually): their encodings
    // must be identical, and they must work.
    let sk_bytes = f.sk.to_bytes(p).unwrap();
    let sk = SecretKey::from_bytes(p, &sk_bytes).unwrap();
    assert_eq!(sk.to_bytes(p).unwrap(), sk_bytes);
    let pk_bytes = f.pk.to_bytes(p).unwrap();
    let pk = PublicKey::from_bytes(p, &pk_bytes).unwrap();
    assert_eq!(pk.to_bytes(p).unwrap(), pk_bytes);

    let mut kg = KeyGenerator::from_seed_for_tests(p, [8; 32]).unwrap();
    let mut ct = Ciphertext::zero(p, 3);
    kg.encrypt_zero_pk(&pk, &mut ct).unwrap();
    let (a, b) = (noise(p, &sk, &ct), noise(p, &f.sk, &ct));
    assert_eq!(a, b);
    assert!(a < 2000, "{a}");

    let evk = EvaluationKeys::from_bytes(p, &f.evk.to_bytes(p).unwrap()).unwrap();
    assert_eq!(evk, f.evk);
    assert_eq!(evk.galois_elements().count(), 2);
}

#[test]
fn evaluation_keys_with_a_bad_galois_element_or_order_are_invalid() {
    let f = fixture();
    let p = &f.params;
    let bytes = f.evk.to_bytes(p).unwrap();
    let key_len = f.evk.relinearization.as_ref().unwrap().to_bytes(p).unwrap().len() - HEADER_LEN - CHECKSUM_LEN;
    // The first Galois element sits after the flag, the relinearisation key and the count.
    let at = HEADER_LEN + 1 + key_len + 4;
    let elements: Vec<u64> = f.evk.galois_elements().collect();
    for bad in [2u64, elements[1], 2 * p.n() as u64 + 1] {
        let mut b = bytes.clone();
        b[at..at + 8].copy_from_slice(&bad.to_le_bytes());
        reseal(&mut b);
        let e = EvaluationKeys::from_bytes(p, &b).unwrap_err();
        assert!(matches!(e, WireError::Invalid(_)), "{bad}: {e}");
    }
}

#[test]
fn every_truncation_is_an_error() {
    for (kind, bytes, decode) in encoded(&fixture()) {
        for len in 0..bytes.len() {
            let e = decode(&bytes[..len]).unwrap_err();
            assert!(matches!(e, WireError::Truncated { .. }), "{kind} cut at {len}: {e}");
        }
        decode(&bytes).unwrap();
    }
}

#[test]
fn truncated_bodies_in_valid_frames_are_errors() {
    // Re-framed with a correct length and checksum, so the body readers themselves are tested.
    for (kind, bytes, decode) in encoded(&fixture()) {
        let fingerprint = toy().fingerprint();
        let body = body(&bytes);
        for len in positions(body.len()) {
            let e = decode(&frame(kind, fingerprint, &body[..len])).unwrap_err();
            assert!(
                matches!(e, WireError::Truncated { .. } | WireError::Invalid(_)),
                "{kind} body cut at {len}: {e}"
            );
        }
        let mut longer = body.to_vec();
        longer.push(0);
        assert_eq!(
            decode(&frame(kind, fingerprint, &longer)),
            Err(WireError::TrailingBytes(1))
        );
    }
}

#[test]
fn flipped_bytes_are_errors() {
    for (kind, bytes, decode) in encoded(&fixture()) {
        for i in positions(bytes.len()) {
            for bit in [0x01, 0x80] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                assert!(decode(&bad).is_err(), "{kind}: byte {i} ^ {bit:#x} accepted");
            }
        }
    }
}

#[test]
fn corrupted_bodies_in_valid_frames_never_panic() {
    let fingerprint = toy().fingerprint();
    for (kind, bytes, decode) in encoded(&fixture()) {
        for i in positions(body(&bytes).len()) {
            let mut body = body(&bytes).to_vec();
            body[i] ^= 0xff;
            let result = decode(&frame(kind, fingerprint, &body));
            // Every byte of a parameter body is covered by the fingerprint or validated; a
            // flipped residue may still be a valid (different) polynomial.
            if kind == ObjectKind::Parameters {
                assert!(result.is_err(), "parameter body byte {i} flipped was accepted");
            }
        }
        // Arbitrary bodies of many lengths, from a fixed xorshift stream.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in (0..64).chain([100, 1000, 8197, body(&bytes).len()]) {
            let garbage: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = decode(&frame(kind, fingerprint, &garbage));
        }
    }
}

#[test]
fn data_of_another_parameter_set_is_refused() {
    let f = fixture();
    let (p, q) = (&f.params, other());
    let expected = WireError::ForeignParameters {
        expected: q.fingerprint(),
        found: p.fingerprint(),
    };
    assert_eq!(
        Ciphertext::from_bytes(&q, &f.cts[0].to_bytes(p).unwrap()),
        Err(expected.clone())
    );
    assert_eq!(
        PublicKey::from_bytes(&q, &f.pk.to_bytes(p).unwrap()).unwrap_err(),
        expected
    );
    assert_eq!(
        SecretKey::from_bytes(&q, &f.sk.to_bytes(p).unwrap()).unwrap_err(),
        expected
    );
    let message = expected.to_string();
    assert!(message.contains(&format!("{:#018x}", q.fingerprint())), "{message}");

    // Keys are not written under a set they do not belong to, nor polynomials of another degree.
    let swapped = WireError::ForeignParameters {
        expected: q.fingerprint(),
        found: p.fingerprint(),
    };
    assert_eq!(f.sk.to_bytes(&q).unwrap_err(), swapped);
    assert_eq!(f.pk.to_bytes(&q).unwrap_err(), swapped);
    let wider = Parameters::new_toy(&literal(11, vec![50, 40, 40], SecretDistribution::Ternary)).unwrap();
    assert!(matches!(f.cts[0].to_bytes(&wider), Err(WireError::Invalid(_))));
}

#[test]
fn wrong_and_unknown_kinds_are_refused() {
    let f = fixture();
    let p = &f.params;
    let ct = f.cts[0].to_bytes(p).unwrap();
    assert_eq!(
        PublicKey::from_bytes(p, &ct).unwrap_err(),
        WireError::WrongKind {
            expected: ObjectKind::PublicKey,
            found: ObjectKind::Ciphertext
        }
    );
    assert_eq!(
        read_parameters(&f.sk.to_bytes(p).unwrap()).unwrap_err(),
        WireError::WrongKind {
            expected: ObjectKind::Parameters,
            found: ObjectKind::SecretKey
        }
    );
    assert_eq!(
        SecretKey::from_bytes(p, &write_parameters(p)).unwrap_err().to_string(),
        "expected a secret key, found parameters"
    );
    let mut unknown = ct.clone();
    unknown[6..8].copy_from_slice(&99u16.to_le_bytes());
    reseal(&mut unknown);
    assert_eq!(Ciphertext::from_bytes(p, &unknown), Err(WireError::UnknownKind(99)));
}

#[test]
fn framing_errors_are_specific() {
    let f = fixture();
    let p = &f.params;
    let bytes = f.cts[1].to_bytes(p).unwrap();
    let read = |b: &[u8]| Ciphertext::from_bytes(p, b).unwrap_err();

    let mut v = bytes.clone();
    v[4..6].copy_from_slice(&2u16.to_le_bytes());
    assert_eq!(
        read(&v),
        WireError::UnsupportedVersion {
            found: 2,
            supported: FORMAT_VERSION
        }
    );
    let mut v = bytes.clone();
    v[0] = b'X';
    assert_eq!(read(&v), WireError::BadMagic);
    assert_eq!(read(b"PK\x03"), WireError::BadMagic);
    assert_eq!(
        read(&[]),
        WireError::Truncated {
            needed: HEADER_LEN + CHECKSUM_LEN,
            available: 0
        }
    );
    let mut v = bytes.clone();
    v.extend_from_slice(&[0; 3]);
    assert_eq!(read(&v), WireError::TrailingBytes(3));
    let mut v = bytes.clone();
    let last = v.len() - 1;
    v[last] ^= 1;
    assert_eq!(read(&v), WireError::Checksum);
    // A huge declared body length is reported, not allocated.
    let mut v = bytes.clone();
    v[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(read(&v), WireError::Truncated { .. }));
}

/// A ciphertext body written by hand: `limbs` limbs each, residue `value` at `(limb, 5)` of c0.
fn ciphertext_body(params: &Parameters, limbs: u32, value: u64, limb: usize) -> Vec<u8> {
    let n = params.n();
    let mut w = Writer::new();
    for part in 0..2 {
        w.u32(limbs);
        w.u8(1);
        let mut data = vec![0u64; limbs as usize * n];
        if let Some(x) = data.get_mut(limb * n + 5).filter(|_| part == 0) {
            *x = value;
        }
        w.u64s(&data);
    }
    w.into_bytes()
}

#[test]
fn unreduced_residues_are_caught_under_a_valid_checksum() {
    let p = toy();
    let fp = p.fingerprint();
    let (q0, q1) = (p.q()[0], p.q()[1]);
    assert!(q1 < q0);
    let read = |body: Vec<u8>| Ciphertext::from_bytes(&p, &frame(ObjectKind::Ciphertext, fp, &body));
    // The hand-built body is otherwise valid: the largest residues pass.
    let ct = read(ciphertext_body(&p, 2, q1 - 1, 1)).unwrap();
    assert_eq!(ct.c0.limb(1)[5], q1 - 1);
    // Each limb is checked against its own prime: q1 is below q0 but not reduced mod q1.
    for (value, limb) in [(q1, 1), (q0, 0), (u64::MAX, 0)] {
        let e = read(ciphertext_body(&p, 2, value, limb)).unwrap_err();
        assert!(
            matches!(&e, WireError::Invalid(m) if m.contains("not reduced")),
            "{value} in limb {limb}: {e}"
        );
    }
}

#[test]
fn malformed_polynomials_are_invalid() {
    let f = fixture();
    let p = &f.params;
    let fp = p.fingerprint();
    let invalid = |kind: ObjectKind, body: &[u8], why: &str| {
        let bytes = frame(kind, fp, body);
        let result = match kind {
            ObjectKind::Ciphertext => Ciphertext::from_bytes(p, &bytes).map(drop),
            ObjectKind::PublicKey => PublicKey::from_bytes(p, &bytes).map(drop),
            _ => SecretKey::from_bytes(p, &bytes).map(drop),
        };
        assert!(
            matches!(&result, Err(WireError::Invalid(m)) if m.contains(why)),
            "{kind}, expected \"{why}\": {result:?}"
        );
    };
    invalid(
        ObjectKind::Ciphertext,
        &ciphertext_body(p, 0, 0, 0),
        "0 limbs, expected 1 to 3",
    );
    invalid(
        ObjectKind::Ciphertext,
        &ciphertext_body(p, 4, 0, 0),
        "4 limbs, expected 1 to 3",
    );
    // c1 over fewer limbs than c0.
    let mut body = ciphertext_body(p, 2, 0, 0);
    let c1 = 4 + 1 + 2 * p.n() * 8;
    body[c1..c1 + 4].copy_from_slice(&1u32.to_le_bytes());
    invalid(ObjectKind::Ciphertext, &body, "1 limbs, expected 2");
    for (tag, why) in [(2u8, "form tag 2"), (0, "coefficient form")] {
        let mut body = ciphertext_body(p, 2, 0, 0);
        body[4] = tag;
        invalid(ObjectKind::Ciphertext, &body, why);
    }
    // Keys live over every prime of Q: two-limb keys are refused.
    invalid(
        ObjectKind::PublicKey,
        &ciphertext_body(p, 2, 0, 0),
        "2 limbs, expected 3",
    );
    let one_poly = 4 + 1 + 2 * p.n() * 8;
    invalid(
        ObjectKind::SecretKey,
        &ciphertext_body(p, 2, 0, 0)[..one_poly],
        "2 limbs, expected 3",
    );
}

#[test]
fn tampered_parameter_sets_are_refused() {
    let p = toy();
    let bytes = write_parameters(&p);
    let body = body(&bytes).to_vec();
    // Claiming standard security for a toy set fails validation, not just the checksum.
    let mut standard = body.clone();
    *standard.last_mut().unwrap() = 1;
    let e = read_parameters(&frame(ObjectKind::Parameters, p.fingerprint(), &standard)).unwrap_err();
    assert!(
        matches!(e, WireError::Parameters(ParameterError::Insecure { .. })),
        "{e}"
    );
    // A header naming another set than the body describes.
    let e = read_parameters(&frame(ObjectKind::Parameters, p.fingerprint() ^ 1, &body)).unwrap_err();
    assert!(matches!(e, WireError::Invalid(_)), "{e}");
    // Prime counts: beyond the cap (refused before reading), beyond the bytes present.
    for (count, truncated) in [(MAX_PRIMES as u32 + 1, false), (u32::MAX, false), (100, true)] {
        let mut w = Writer::new();
        w.u32(10);
        w.u32(count);
        w.u64s(&[p.q()[0]]);
        let e = read_parameters(&frame(ObjectKind::Parameters, p.fingerprint(), &w.into_bytes())).unwrap_err();
        assert_eq!(matches!(e, WireError::Truncated { .. }), truncated, "{e}");
    }
}
