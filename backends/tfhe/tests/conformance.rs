//! The tfhe backend against plain: the conformance suite at the smallest set, foreign data of
//! another set, and bit-exactness against the plain fixed-point reference.
//!
//! tfhe-rs is slow (a product is seconds per slot), so the suite runs at 2 slots and each test
//! does as few products as it can.

#![cfg(feature = "tfhe")]

use blindtuner_backend::{Backend, BackendError, Client, Cloud, Security, conformance};
use blindtuner_tfhe::{PARAMETER_SETS, TfheBackend, TfheParams};

#[test]
fn tfhe_conforms_to_plain_at_two_slots() {
    let backend = TfheBackend::named("tfhe-q16-s2").unwrap();
    let caps = backend.capabilities();
    assert_eq!((caps.slots, caps.max_level), (2, None));
    assert!(caps.bootstrap && caps.exact);
    assert_eq!(caps.security, Security::Bits(128));
    // Q16.16 on values in [-1, 1]: 2^-17 per encoding and 2^-16 per product's rounding, so a
    // chain of three products stays within 2.5 * 2^-15, above 13 bits.
    let measured = conformance::check(&backend, 13.0);
    for m in &measured {
        eprintln!("{:28} {:5.1} bits", m.op, m.bits);
    }
    // Additions and rotations of encoded values are exact: only the encoding's rounding.
    for m in measured.iter().filter(|m| m.op.starts_with("rotate") || m.op == "neg") {
        assert!(m.bits >= 17.0, "{}: {} bits", m.op, m.bits);
    }
}

#[test]
fn tfhe_data_of_another_set_is_refused_naming_both_sets() {
    let q16 = TfheBackend::named("tfhe-q16-s2").unwrap();
    let q12 = TfheBackend::named("tfhe-q12-s2").unwrap();
    for e in conformance::check_foreign(&q16, &q12) {
        let message = e.to_string();
        assert!(
            message.contains("tfhe-q16-s2") && message.contains("tfhe-q12-s2"),
            "{message}"
        );
    }
}

#[test]
fn tfhe_products_are_bit_identical_to_the_fixed_point_reference() {
    let backend = TfheBackend::named("tfhe-q12-s2").unwrap();
    let fixed = backend.params().fixed_point();
    let (mut client, cloud) = backend.keygen(&[]).unwrap();
    let x = [-3.25, 100.5];
    let y = [0.333, 511.9];
    let (a, b) = (client.encrypt(&x).unwrap(), client.encrypt(&y).unwrap());
    let q = |v: &[f64]| -> Vec<i32> { v.iter().map(|&t| fixed.encode(t).unwrap()).collect() };
    let (qx, qy) = (q(&x), q(&y));
    let decoded = |ints: Vec<i32>| -> Vec<f64> { ints.into_iter().map(|i| fixed.decode(i)).collect() };
    let want = decoded(qx.iter().zip(&qy).map(|(&s, &t)| fixed.mul(s, t)).collect());
    assert_eq!(client.decrypt(&cloud.mul(&a, &b).unwrap()).unwrap(), want);
    let c = fixed.encode(-0.6).unwrap();
    let want = decoded(qx.iter().map(|&s| fixed.mul(s, c)).collect());
    assert_eq!(client.decrypt(&cloud.mul_scalar(&a, -0.6).unwrap()).unwrap(), want);
    let want = decoded(qx.iter().zip(&qy).map(|(&s, &t)| s.wrapping_add(t)).collect());
    assert_eq!(client.decrypt(&cloud.add(&a, &b).unwrap()).unwrap(), want);
    assert_eq!(cloud.level(&a), usize::MAX);
    assert_eq!(client.decrypt(&cloud.bootstrap(&a).unwrap()).unwrap(), decoded(qx));

    // Values the format cannot hold are refused, not wrapped.
    for bad in [f64::NAN, 1e6, -(2f64.powi(19))] {
        assert!(matches!(client.encrypt(&[bad]), Err(BackendError::Engine(_))), "{bad}");
    }
    assert!(matches!(cloud.add_scalar(&a, 1e9), Err(BackendError::Engine(_))));
}

#[test]
fn tfhe_named_sets() {
    assert!(PARAMETER_SETS.iter().any(|p| p.name == "tfhe-q16-s8"));
    let fingerprints: std::collections::BTreeSet<u64> = PARAMETER_SETS.iter().map(TfheParams::fingerprint).collect();
    assert_eq!(fingerprints.len(), PARAMETER_SETS.len());
    let e = TfheBackend::named("tfhe-q8").unwrap_err().to_string();
    assert!(e.contains("tfhe-q16-s2") && e.contains("tfhe-q8"), "{e}");
    let p = TfheParams::named("tfhe-q12-s2").unwrap();
    assert_eq!((p.slots, p.frac_bits), (2, 12));
    assert!(p.describe().contains("Q20.12"), "{}", p.describe());
}
