//! The binary format of CKKS parameters, ciphertexts and plaintexts: round trips, and
//! truncated, corrupted, foreign or malformed input as errors, never panics.

mod common;

use blindtuner_ckks::{Ciphertext, CkksError, Parameters, ParametersLiteral, Plaintext, presets};
use blindtuner_rlwe::{ObjectKind, WireError, WireFormat, Writer, frame};
use common::setup;

/// All lengths of short buffers; of long ones the first and last 64 and ~200 between.
fn positions(len: usize) -> Vec<usize> {
    let step = (len / 200).max(1);
    let mut out: Vec<usize> = (0..len.min(64))
        .chain((64..len).step_by(step))
        .chain(len.saturating_sub(64)..len)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn assert_rejects_damage(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<(), CkksError>) {
    decode(bytes).unwrap();
    for len in positions(bytes.len()) {
        assert!(decode(&bytes[..len]).is_err(), "accepted a cut at {len}");
    }
    for at in positions(bytes.len()) {
        let mut b = bytes.to_vec();
        b[at] ^= 0x40;
        assert!(decode(&b).is_err(), "accepted a flipped byte at {at}");
    }
}

#[test]
fn parameters_round_trip_and_are_validated() {
    for lit in [presets::toy_n12(), presets::peer_n14()] {
        let p = Parameters::new_toy(&lit).unwrap();
        let bytes = p.to_bytes();
        let back = Parameters::from_bytes(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.scale_at(0), p.scale_at(0));
        assert_rejects_damage(&bytes, |b| Parameters::from_bytes(b).map(drop));
    }
    // The same primes under another default scale are another set.
    let p = Parameters::new_toy(&presets::toy_n12()).unwrap();
    let other = Parameters::from_rlwe(p.rlwe().clone(), 39).unwrap();
    assert_ne!(other.fingerprint(), p.fingerprint());
    assert!(matches!(
        Parameters::from_bytes(&frame(ObjectKind::Ciphertext, p.fingerprint(), &[])),
        Err(CkksError::Wire(WireError::WrongKind { .. }))
    ));
}

#[test]
fn ciphertexts_and_plaintexts_round_trip() {
    let mut s = setup(2048);
    let x = s.random();
    for level in [s.params.max_level(), 0] {
        let ct = s.encrypt(&x, level);
        let bytes = ct.to_bytes(&s.params).unwrap();
        let back = Ciphertext::from_bytes(&s.params, &bytes).unwrap();
        assert_eq!(back, ct);
        s.check("loaded", &back, &x, 20.0);
        let pt = s.encode(&x, level, s.params.scale_at(level));
        let pt_bytes = pt.to_bytes(&s.params).unwrap();
        assert_eq!(Plaintext::from_bytes(&s.params, &pt_bytes).unwrap(), pt);
    }
    let ct = s.encrypt(&x, 1);
    let bytes = ct.to_bytes(&s.params).unwrap();
    let params = s.params.clone();
    assert_rejects_damage(&bytes, |b| {
        Ciphertext::from_bytes(&params, b).map(drop).map_err(CkksError::from)
    });
}

#[test]
fn foreign_and_malformed_ciphertexts_are_refused() {
    let mut s = setup(64);
    let x = s.random();
    let ct = s.encrypt(&x, 2);
    let other = Parameters::new_toy(&ParametersLiteral {
        log_default_scale: 39,
        ..presets::toy_n12()
    })
    .unwrap();
    let bytes = ct.to_bytes(&s.params).unwrap();
    assert!(matches!(
        Ciphertext::from_bytes(&other, &bytes),
        Err(WireError::ForeignParameters { .. })
    ));
    assert!(matches!(ct.to_bytes(&other), Err(WireError::ForeignParameters { .. })));

    // Hand-made bodies with a valid frame: bad scale, bad slot count.
    let good = &bytes[blindtuner_rlwe::HEADER_LEN..bytes.len() - blindtuner_rlwe::CHECKSUM_LEN];
    for (scale, slots) in [(f64::NAN, 64u32), (-1.0, 64), (2f64.powi(40), 3), (2f64.powi(40), 4096)] {
        let mut w = Writer::new();
        w.f64(scale);
        w.u32(slots);
        let mut body = w.into_bytes();
        body.extend_from_slice(&good[12..]);
        let forged = frame(ObjectKind::CkksCiphertext, s.params.fingerprint(), &body);
        let e = Ciphertext::from_bytes(&s.params, &forged).unwrap_err();
        assert!(matches!(e, WireError::Invalid(_)), "{scale} {slots}: {e}");
    }
}
