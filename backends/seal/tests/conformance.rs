//! The SEAL backend passes the conformance suite against plain at the toy N = 2^12 set, and
//! refuses what it must: missing rotation keys, damaged or foreign ciphertexts and keys.
#![cfg(feature = "seal")]

use blindtuner_backend::{Backend, BackendError, Client, Cloud, Security, conformance, fnv1a};
use blindtuner_seal::{SealBackend, SealLiteral};

fn toy() -> SealBackend {
    SealBackend::named("toy-seal-n12").unwrap()
}

/// The toy set with a 39-bit scale: the same ring degree and sizes, other primes.
fn toy_scale_39() -> SealBackend {
    SealBackend::new_toy(
        "toy-seal-n12-scale-39",
        &SealLiteral {
            scale_bits: 39,
            ..SealLiteral::TOY_N12
        },
    )
    .unwrap()
}

fn worst(values: &[f64], want: &[f64]) -> f64 {
    let err = values.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    -err.log2()
}

#[test]
fn seal_conforms_to_plain() {
    let measured = conformance::check(&toy(), 24.0);
    for m in &measured {
        println!("seal toy-seal-n12 {:<28} {:5.1} bits", m.op, m.bits);
    }
    let worst = measured.iter().map(|m| m.bits).fold(f64::INFINITY, f64::min);
    println!("seal toy-seal-n12 worst: {worst:.1} bits");
    assert!(worst >= 24.0, "{measured:?}");
}

#[test]
fn data_of_another_parameter_set_is_refused() {
    // Same degree, other primes: the fingerprint refuses it before SEAL parses anything.
    conformance::check_foreign(&toy(), &toy_scale_39());
    // Another degree.
    let small = SealBackend::new_toy(
        "toy-seal-n11",
        &SealLiteral {
            log_n: 11,
            levels: 2,
            ..SealLiteral::TOY_N12
        },
    )
    .unwrap();
    conformance::check_foreign(&toy(), &small);
}

#[test]
fn foreign_errors_name_the_parameter_set() {
    let (one, other) = (toy(), toy_scale_39());
    let (mut client, cloud) = one.keygen(&[1]).unwrap();
    let bytes = one.ciphertext_to_bytes(&client.encrypt(&[0.5]).unwrap()).unwrap();
    let e = other.ciphertext_from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(&e, BackendError::Format(m) if m.contains("another parameter set")),
        "{e}"
    );
    let e = other.cloud_from_bytes(&cloud.keys_to_bytes().unwrap()).err().unwrap();
    assert!(
        matches!(&e, BackendError::Format(m) if m.contains("another parameter set")),
        "{e}"
    );
    // In memory too: a ciphertext of one set given to the other's cloud and client.
    let ct = client.encrypt(&[0.5]).unwrap();
    let (other_client, other_cloud) = other.keygen(&[]).unwrap();
    assert!(matches!(other_cloud.add(&ct, &ct), Err(BackendError::Format(_))));
    assert!(matches!(other_client.decrypt(&ct), Err(BackendError::Format(_))));
}

#[test]
fn rotations_need_their_own_key() {
    let backend = toy();
    let slots = backend.capabilities().slots;
    let (mut client, cloud) = backend.keygen(&[1, 4]).unwrap();
    let x: Vec<f64> = (0..slots).map(|i| (i % 17) as f64 / 17.0).collect();
    let ct = client.encrypt(&x).unwrap();
    // SEAL could build 5 = 4 + 1 or 2 = 1 + 1 from these keys; the trait refuses instead.
    for k in [2, 5, -4] {
        assert!(
            matches!(cloud.rotate(&ct, k), Err(BackendError::MissingKey(_))),
            "rotation by {k}"
        );
    }
    // A step is normalised modulo the slots: -slots + 1 is 1, and 0 needs no key.
    let got = client.decrypt(&cloud.rotate(&ct, 1 - slots as i64).unwrap()).unwrap();
    let want: Vec<f64> = (0..slots).map(|i| x[(i + 1) % slots]).collect();
    assert!(worst(&got, &want) > 24.0);
    assert!(cloud.rotate(&ct, 0).is_ok());
    // No rotation keys at all.
    let (_, bare) = backend.keygen(&[]).unwrap();
    assert!(matches!(bare.rotate(&ct, 1), Err(BackendError::MissingKey(_))));
    let reloaded = backend.cloud_from_bytes(&bare.keys_to_bytes().unwrap()).unwrap();
    assert!(matches!(reloaded.rotate(&ct, 1), Err(BackendError::MissingKey(_))));
    assert!(reloaded.mul(&ct, &ct).is_ok());
}

#[test]
fn damaged_ciphertexts_are_refused() {
    let backend = toy();
    let (mut client, _) = backend.keygen(&[]).unwrap();
    let bytes = backend
        .ciphertext_to_bytes(&client.encrypt(&[0.25, -0.5]).unwrap())
        .unwrap();
    for cut in [0, 1, 23, 24, 40, bytes.len() - 9, bytes.len() - 8, bytes.len() - 1] {
        let e = backend.ciphertext_from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(e, BackendError::Format(_)), "cut at {cut}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        backend.ciphertext_from_bytes(&longer),
        Err(BackendError::Format(_))
    ));
    for at in (0..bytes.len()).step_by(bytes.len() / 97) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        let e = backend.ciphertext_from_bytes(&damaged).unwrap_err();
        assert!(matches!(e, BackendError::Format(_)), "bit flipped at {at}: {e}");
    }
    assert!(matches!(
        backend.ciphertext_from_bytes(b"not a ciphertext at all, just some text"),
        Err(BackendError::Format(_))
    ));
}

#[test]
fn damaged_keys_are_refused() {
    let backend = toy();
    let (_, cloud) = backend.keygen(&[1, -1, 7]).unwrap();
    let keys = cloud.keys_to_bytes().unwrap();
    for cut in [0, 10, 24, 40, keys.len() / 2, keys.len() - 8, keys.len() - 1] {
        let e = backend.cloud_from_bytes(&keys[..cut]).err().unwrap();
        assert!(matches!(e, BackendError::Format(_)), "cut at {cut}: {e}");
    }
    for at in (0..keys.len()).step_by(keys.len() / 31) {
        let mut damaged = keys.clone();
        damaged[at] ^= 0x80;
        let e = backend.cloud_from_bytes(&damaged).err().unwrap();
        assert!(matches!(e, BackendError::Format(_)), "bit flipped at {at}: {e}");
    }
    // Whole keys round-trip and rotate by each step.
    let reloaded = backend.cloud_from_bytes(&keys).unwrap();
    assert_eq!(reloaded.keys_to_bytes().unwrap(), keys);
}

#[test]
fn levels_align_across_several_levels() {
    let backend = toy();
    let caps = backend.capabilities();
    let (n, top) = (caps.slots, caps.max_level.expect("SEAL has a level budget"));
    let (mut client, cloud) = backend.keygen(&[]).unwrap();
    let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5).collect();
    let y: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 1000) as f64 / 1000.0 - 0.5).collect();
    let (a, b) = (client.encrypt(&x).unwrap(), client.encrypt(&y).unwrap());
    // b^2, then * 0.5, then * y: three levels down.
    let low = cloud.mul_scalar(&cloud.mul(&b, &b).unwrap(), 0.5).unwrap();
    let low = cloud.mul_plain(&low, &y).unwrap();
    assert_eq!(cloud.level(&low), top - 3);
    let lows: Vec<f64> = y.iter().map(|v| v * v * 0.5 * v).collect();
    for (name, ct, want) in [
        (
            "a + low",
            cloud.add(&a, &low).unwrap(),
            x.iter().zip(&lows).map(|(p, q)| p + q).collect::<Vec<_>>(),
        ),
        (
            "low - a",
            cloud.sub(&low, &a).unwrap(),
            x.iter().zip(&lows).map(|(p, q)| q - p).collect(),
        ),
        (
            "a * low",
            cloud.mul(&a, &low).unwrap(),
            x.iter().zip(&lows).map(|(p, q)| p * q).collect(),
        ),
    ] {
        let bits = worst(&client.decrypt(&ct).unwrap(), &want);
        println!(
            "seal toy-seal-n12 {name:<28} {bits:5.1} bits (level {})",
            cloud.level(&ct)
        );
        assert!(bits > 24.0, "{name}: {bits:.1} bits");
    }
    assert_eq!(cloud.level(&cloud.add(&a, &low).unwrap()), top - 3);
    assert_eq!(cloud.level(&cloud.mul(&a, &low).unwrap()), top - 4);
}

#[test]
fn exact_zeros_and_bad_values() {
    let backend = toy();
    let (mut client, cloud) = backend.keygen(&[1]).unwrap();
    let a = client.encrypt(&[0.5, -0.25, 1.0]).unwrap();
    let zero = cloud.sub(&a, &a).unwrap();
    let zero = cloud
        .add(&cloud.mul_scalar(&a, 0.0).unwrap(), &cloud.rotate(&zero, 1).unwrap())
        .unwrap();
    let sum = cloud.add(&zero, &a).unwrap();
    let got = client.decrypt(&sum).unwrap();
    assert!(worst(&got[..3], &[0.5, -0.25, 1.0]) > 24.0, "{:?}", &got[..3]);
    let bytes = backend.ciphertext_to_bytes(&zero).unwrap();
    assert!(backend.ciphertext_from_bytes(&bytes).is_ok());
    assert!(matches!(client.encrypt(&[f64::NAN]), Err(BackendError::Engine(_))));
    assert!(matches!(
        cloud.mul_scalar(&a, f64::INFINITY),
        Err(BackendError::Engine(_))
    ));
    // Far beyond what q_0 can hold at this scale: SEAL refuses, an error, not a panic.
    assert!(client.encrypt(&[1e100]).is_err());
}

#[test]
fn parameter_sets_and_security() {
    let toy = toy().capabilities();
    assert_eq!(toy.security, Security::Toy);
    assert!(toy.parameters.starts_with("toy-"), "{}", toy.parameters);
    assert!(!toy.bootstrap && !toy.exact);
    assert_eq!((toy.slots, toy.max_level), (2048, Some(4)));
    let n14 = SealBackend::named("seal-n14").unwrap();
    let caps = n14.capabilities();
    assert_eq!(caps.security, Security::Bits(128));
    assert_eq!((caps.slots, caps.max_level), (8192, Some(8)));
    // Within the 438 bits that 128-bit security allows at N = 2^14 (HomomorphicEncryption.org).
    let bits: u32 = n14.primes().iter().map(|p| 64 - p.leading_zeros()).sum();
    assert_eq!(bits, 430);
    // One more scaling prime is refused as a 128-bit set.
    let more = SealLiteral {
        levels: 9,
        ..SealLiteral::N14
    };
    assert!(matches!(
        SealBackend::new("too-big", &more),
        Err(BackendError::Unsupported { .. })
    ));
    assert!(SealBackend::new("toy-as-secure", &SealLiteral::TOY_N12).is_err());
    assert!(SealBackend::named("nope").is_err());
    assert!(matches!(
        SealBackend::new_toy(
            "bad",
            &SealLiteral {
                base_bits: 30,
                ..SealLiteral::TOY_N12
            }
        ),
        Err(BackendError::Unsupported { .. })
    ));
    let cloud_caps = toy_scale_39().keygen(&[]).unwrap().1.capabilities();
    assert_eq!(cloud_caps.security, Security::Toy);
}

#[test]
fn forged_key_counts_are_refused_before_seal_reads_them() {
    let backend = toy();
    let (_, cloud) = backend.keygen(&[3]).unwrap();
    let keys = cloud.keys_to_bytes().unwrap();
    // Frame header 24 | #steps u32 | one step u32 | relin length u64 | SEAL header 16 | parms_id 32
    // | number of entries u64: SEAL would reserve a vector of that many before reading them.
    let entries = 24 + 4 + 4 + 8 + 16 + 32;
    for forged in [2u64, 1 << 40, u64::MAX] {
        let mut bytes = keys.clone();
        bytes[entries..entries + 8].copy_from_slice(&forged.to_le_bytes());
        let end = bytes.len() - 8;
        let sum = fnv1a(&bytes[..end]);
        bytes[end..].copy_from_slice(&sum.to_le_bytes());
        let e = backend.cloud_from_bytes(&bytes).err().unwrap();
        assert!(matches!(e, BackendError::Format(_)), "{forged}: {e}");
    }
}

/// `bytes` with `patch` written at `at` and the frame's checksum recomputed.
fn forged(bytes: &[u8], at: usize, patch: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + patch.len()].copy_from_slice(patch);
    let end = out.len() - 8;
    let sum = fnv1a(&out[..end]);
    out[end..].copy_from_slice(&sum.to_le_bytes());
    out
}

#[test]
fn forged_ciphertexts_are_refused_past_the_checksum() {
    let backend = toy();
    let (mut client, _) = backend.keygen(&[]).unwrap();
    let bytes = backend.ciphertext_to_bytes(&client.encrypt(&[0.5]).unwrap()).unwrap();
    let seal = 24; // the SEAL blob after the frame header
    let cases: [(&str, usize, Vec<u8>); 5] = [
        ("compressed SEAL blob", seal + 5, vec![2]),
        ("SEAL blob of another length", seal + 8, 17u64.to_le_bytes().to_vec()),
        // SEAL header 16 | parms_id 32 | NTT form u8 | size u64 | N u64 | primes u64 | scale f64
        ("unknown parms_id", seal + 16, vec![0xAB; 8]),
        ("three polynomials", seal + 16 + 33, 3u64.to_le_bytes().to_vec()),
        (
            "another scale",
            seal + 16 + 33 + 24,
            2f64.powi(41).to_le_bytes().to_vec(),
        ),
    ];
    for (what, at, patch) in cases {
        let e = backend.ciphertext_from_bytes(&forged(&bytes, at, &patch)).unwrap_err();
        assert!(matches!(e, BackendError::Format(_)), "{what}: {e}");
    }
    // A coefficient at or above its prime: SEAL's own validation refuses it.
    let last = bytes.len() - 8 - 8;
    let e = backend
        .ciphertext_from_bytes(&forged(&bytes, last, &u64::MAX.to_le_bytes()))
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::Format(m) if m.contains("SEAL refuses")),
        "{e}"
    );
}

#[test]
fn the_cloud_is_shared_between_threads() {
    let backend = toy();
    let (mut client, cloud) = backend.keygen(&[1]).unwrap();
    let x = [0.5, -0.25, 0.75];
    let a = client.encrypt(&x).unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| cloud.rotate(&cloud.mul(&a, &a).unwrap(), 1).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ct in &results {
        let got = client.decrypt(ct).unwrap();
        assert!(worst(&got[..2], &[0.0625, 0.5625]) > 24.0, "{:?}", &got[..2]);
    }
}
