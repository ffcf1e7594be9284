//! The conformance suite: one generic check of a [`Backend`] against the [`plain`](crate::plain)
//! reference on fresh random inputs, with the precision of every operation in bits, and its
//! error cases. Each backend's tests call [`check`] (and [`check_foreign`] with two parameter
//! sets); a failure panics with the operation and the precision reached. A backend without a
//! level limit ([`Capabilities::max_level`](crate::Capabilities::max_level) `None`) is compared
//! with a plain backend without one: its levels must stay `usize::MAX`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::plain::{PlainBackend, PlainCiphertext};
use crate::{Backend, BackendError, Client, Cloud};

/// The precision one operation reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub op: String,
    /// `-log2` of the largest absolute error over the slots (60 when exact).
    pub bits: f64,
}

fn bits(want: &[f64], got: &[f64]) -> f64 {
    assert_eq!(want.len(), got.len(), "decryptions of different lengths");
    let err = want.iter().zip(got).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    if err == 0.0 { 60.0 } else { (-err.log2()).min(60.0) }
}

/// The backend under test next to the plain reference, with keys for the same rotations.
struct Pair<B: Backend> {
    client: B::Client,
    cloud: B::Cloud,
    plain_cloud: <PlainBackend as Backend>::Cloud,
    plain_client: <PlainBackend as Backend>::Client,
    min_bits: f64,
    measured: Vec<Measured>,
}

impl<B: Backend> Pair<B> {
    fn encrypt(&mut self, values: &[f64]) -> (B::Ciphertext, PlainCiphertext) {
        let ct = self.client.encrypt(values).expect("encrypt");
        (ct, self.plain_client.encrypt(values).expect("plain encrypt"))
    }

    /// Compares a result with the reference: values to `min_bits`, levels exactly.
    fn compare(&mut self, op: &str, got: &B::Ciphertext, want: &PlainCiphertext) {
        let values = self
            .client
            .decrypt(got)
            .unwrap_or_else(|e| panic!("{op}: decrypt failed: {e}"));
        let reference = self.plain_client.decrypt(want).expect("plain decrypt");
        let b = bits(&reference, &values);
        assert!(
            b >= self.min_bits,
            "{op}: {b:.1} bits against plain, {} required",
            self.min_bits
        );
        assert_eq!(
            self.cloud.level(got),
            self.plain_cloud.level(want),
            "{op}: levels differ from the reference"
        );
        self.measured.push(Measured { op: op.into(), bits: b });
    }
}

/// Rotation steps the suite generates keys for.
fn steps(slots: usize) -> Vec<i64> {
    let mut s = vec![1, -1, 3, (slots / 2) as i64];
    s.retain(|&k| k.rem_euclid(slots as i64) != 0);
    s
}

/// Checks every operation of `backend` against plain to `min_bits` bits, level accounting,
/// bootstrapping (or its refusal), serialisation of ciphertexts, keys and the client's secret
/// with their corruption (refused as [`BackendError::Format`]), and the error cases. Returns the
/// precision of each operation.
pub fn check<B: Backend>(backend: &B, min_bits: f64) -> Vec<Measured> {
    let caps = backend.capabilities();
    let n = caps.slots;
    assert!(
        caps.max_level.is_none_or(|l| l >= 2),
        "the suite needs at least two levels"
    );
    let steps = steps(n);
    let (client, cloud) = backend.keygen(&steps).expect("keygen");
    let plain = PlainBackend::with_level_budget(n, caps.max_level).expect("plain backend");
    let (plain_client, plain_cloud) = plain.keygen(&steps).expect("plain keygen");
    let mut p: Pair<B> = Pair {
        client,
        cloud,
        plain_cloud,
        plain_client,
        min_bits,
        measured: Vec::new(),
    };
    let mut rng = ChaCha20Rng::from_os_rng();
    let mut uniform = |len: usize| -> Vec<f64> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (x, y, v) = (uniform(n), uniform(n), uniform(n / 2 + 1));
    let (a, pa) = p.encrypt(&x);
    let (b, pb) = p.encrypt(&y);
    p.compare("encrypt / decrypt", &a, &pa);

    macro_rules! op {
        ($name:expr, $f:ident ( $($arg:expr),* ), $g:ident ( $($parg:expr),* )) => {{
            let got = p.cloud.$f($($arg),*).unwrap_or_else(|e| panic!("{}: {e}", $name));
            let want = p.plain_cloud.$g($($parg),*).expect("plain op");
            p.compare($name, &got, &want);
            (got, want)
        }};
    }
    op!("add", add(&a, &b), add(&pa, &pb));
    op!("sub", sub(&a, &b), sub(&pa, &pb));
    op!("neg", neg(&a), neg(&pa));
    op!("add_plain", add_plain(&a, &v), add_plain(&pa, &v));
    op!("add_scalar", add_scalar(&a, 0.375), add_scalar(&pa, 0.375));
    let (ab, pab) = op!("mul", mul(&a, &b), mul(&pa, &pb));
    op!("mul_plain", mul_plain(&a, &v), mul_plain(&pa, &v));
    op!("mul_scalar", mul_scalar(&a, -1.25), mul_scalar(&pa, -1.25));
    op!(
        "mul_sum",
        mul_sum(&[(&a, &b), (&b, &b)]),
        mul_sum(&[(&pa, &pb), (&pb, &pb)])
    );
    // Operands of different levels; a backend without levels has none (and its products are
    // the slowest of all, so the suite spends none on repeating the checks above).
    if caps.max_level.is_some() {
        op!("add across levels", add(&ab, &a), add(&pab, &pa));
        op!("mul across levels", mul(&a, &ab), mul(&pa, &pab));
        op!(
            "mul_sum across levels",
            mul_sum(&[(&a, &b), (&ab, &a)]),
            mul_sum(&[(&pa, &pb), (&pab, &pa)])
        );
    }
    // Lowering keeps the values, to the bottom level; it never raises one.
    if let Some(top) = caps.max_level.map(|_| p.cloud.level(&a)) {
        let (low, plain_low) = op!("lower by one", lower(&a, top - 1), lower(&pa, top - 1));
        op!("lower to 0", lower(&a, 0), lower(&pa, 0));
        op!("lower to its level", lower(&low, top - 1), lower(&plain_low, top - 1));
        op!("mul of a lowered operand", mul(&low, &ab), mul(&plain_low, &pab));
        let raised = p.cloud.lower(&low, top);
        assert!(
            matches!(raised, Err(BackendError::Unsupported { .. })),
            "lowering to a higher level must be refused: {:?}",
            raised.map(|_| ())
        );
    } else {
        op!("lower (no levels)", lower(&a, 0), lower(&pa, 0));
    }
    for &k in &steps {
        op!(&format!("rotate {k}"), rotate(&a, k), rotate(&pa, k));
    }
    let many = p.cloud.rotate_many(&a, &steps).expect("rotate_many");
    let plain_many = p.plain_cloud.rotate_many(&pa, &steps).expect("plain rotate_many");
    for (k, (got, want)) in steps.iter().zip(many.iter().zip(&plain_many)) {
        p.compare(&format!("rotate_many {k}"), got, want);
    }

    // Down to level 0, then a product is refused; without a level limit, the product of a
    // product keeps level `usize::MAX` (compared with plain's).
    let (c, pc) = if caps.max_level.is_some() {
        let (mut c, mut pc) = (a.clone(), pa.clone());
        while p.cloud.level(&c) > 0 {
            (c, pc) = op!("mul chain", mul(&c, &b), mul(&pc, &pb));
        }
        assert!(
            matches!(p.cloud.mul(&c, &b), Err(BackendError::LevelExhausted { .. })),
            "a product at level 0 must be refused"
        );
        (c, pc)
    } else {
        let (c, pc) = op!("mul chain", mul(&ab, &b), mul(&pab, &pb));
        assert_eq!(p.cloud.level(&c), usize::MAX, "a backend without a level limit");
        (c, pc)
    };
    match p.cloud.bootstrap(&c) {
        Ok(fresh) => {
            assert!(
                caps.bootstrap,
                "bootstrap worked but capabilities say it does not exist"
            );
            let want = p.plain_cloud.bootstrap(&pc).expect("plain bootstrap");
            p.compare("bootstrap", &fresh, &want);
            let (fresh_c, fresh_b) = p.cloud.bootstrap_pair(&c, &b).expect("bootstrap_pair");
            let (want_c, want_b) = p.plain_cloud.bootstrap_pair(&pc, &pb).expect("plain bootstrap_pair");
            p.compare("bootstrap_pair (first)", &fresh_c, &want_c);
            p.compare("bootstrap_pair (second)", &fresh_b, &want_b);
        }
        Err(e) => {
            assert!(!caps.bootstrap, "capabilities promise bootstrapping: {e}");
            assert!(matches!(e, BackendError::Unsupported { .. }), "{e}");
            let pair = p.cloud.bootstrap_pair(&c, &b).map(|_| ());
            assert!(matches!(pair, Err(BackendError::Unsupported { .. })), "{pair:?}");
        }
    }

    // Serialisation: ciphertexts and keys round-trip; damage is refused.
    let bytes = backend.ciphertext_to_bytes(&ab).expect("ciphertext_to_bytes");
    let back = backend.ciphertext_from_bytes(&bytes).expect("ciphertext_from_bytes");
    p.compare("serialised ciphertext", &back, &pab);
    for cut in [0, 3, bytes.len() / 2, bytes.len() - 1] {
        let result = backend.ciphertext_from_bytes(&bytes[..cut]);
        assert!(
            matches!(result, Err(BackendError::Format(_))),
            "a ciphertext cut at {cut}: {:?}",
            result.err()
        );
    }
    for at in [0, 5, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        let result = backend.ciphertext_from_bytes(&damaged);
        assert!(
            matches!(result, Err(BackendError::Format(_))),
            "a ciphertext with byte {at} flipped: {:?}",
            result.err()
        );
    }
    let keys = p.cloud.keys_to_bytes().expect("keys_to_bytes");
    let reloaded = backend.cloud_from_bytes(&keys).expect("cloud_from_bytes");
    let k = steps[0];
    let got = reloaded.rotate(&a, k).expect("rotate with reloaded keys");
    let want = p.plain_cloud.rotate(&pa, k).expect("plain rotate");
    p.compare("rotate with reloaded keys", &got, &want);
    let mut damaged = keys.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x10;
    assert!(
        matches!(backend.cloud_from_bytes(&damaged), Err(BackendError::Format(_))),
        "damaged keys must be refused as corrupt"
    );
    assert!(
        matches!(
            backend.cloud_from_bytes(&keys[..keys.len() - 1]),
            Err(BackendError::Format(_))
        ),
        "truncated keys must be refused as corrupt"
    );
    // The client's secret round-trips: the restored client decrypts the original's
    // ciphertexts, and the original decrypts the restored one's.
    let secret = backend.client_to_bytes(&p.client).expect("client_to_bytes");
    let mut restored = backend.client_from_bytes(&secret).expect("client_from_bytes");
    let values = restored.decrypt(&ab).expect("decrypt with the restored client");
    let reference = p.plain_client.decrypt(&pab).expect("plain decrypt");
    assert!(
        bits(&reference, &values) >= min_bits,
        "the restored client decrypts the original's ciphertext to {:.1} bits",
        bits(&reference, &values)
    );
    let by_restored = restored.encrypt(&x).expect("encrypt with the restored client");
    p.compare("encrypt by the restored client", &by_restored, &pa);
    for cut in [0, secret.len() / 2, secret.len() - 1] {
        assert!(
            matches!(backend.client_from_bytes(&secret[..cut]), Err(BackendError::Format(_))),
            "a client secret cut at {cut} was accepted"
        );
    }
    let mut damaged = secret.clone();
    damaged[secret.len() / 2] ^= 0x10;
    assert!(
        matches!(backend.client_from_bytes(&damaged), Err(BackendError::Format(_))),
        "a damaged client secret was accepted"
    );

    // Error cases.
    assert!(matches!(
        p.client.encrypt(&vec![0.0; n + 1]),
        Err(BackendError::Length { .. })
    ));
    assert!(matches!(
        p.cloud.add_plain(&a, &vec![0.0; n + 1]),
        Err(BackendError::Length { .. })
    ));
    // A rotation nobody asked a key for is either right (the backend has the key for its own
    // circuits, or needs none) or refused as a missing key, never wrong.
    let unasked = (2..n as i64).filter(|k| !steps.iter().any(|s| s.rem_euclid(n as i64) == *k));
    for k in unasked.take(64) {
        match p.cloud.rotate(&a, k) {
            Ok(got) => {
                let rotated: Vec<f64> = (0..n).map(|i| x[(i + k as usize) % n]).collect();
                let want = p.plain_client.encrypt(&rotated).expect("plain encrypt");
                p.compare(&format!("rotate {k} (key not asked for)"), &got, &want);
            }
            Err(e) => {
                assert!(matches!(e, BackendError::MissingKey(_)), "rotation by {k}: {e}");
                break;
            }
        }
    }
    p.measured
}

/// Data of one parameter set is refused by another as [`BackendError::Format`]: ciphertexts,
/// keys and client secrets. Returns the three errors (ciphertext, keys, secret), for a backend's
/// tests to check what they say.
pub fn check_foreign<B: Backend>(one: &B, other: &B) -> [BackendError; 3] {
    let (mut client, cloud) = one.keygen(&[1]).expect("keygen");
    let ct = client.encrypt(&[0.5]).expect("encrypt");
    let bytes = one.ciphertext_to_bytes(&ct).expect("ciphertext_to_bytes");
    let keys = cloud.keys_to_bytes().expect("keys_to_bytes");
    let secret = one.client_to_bytes(&client).expect("client_to_bytes");
    let refused = |result: Result<(), BackendError>, what: &str| match result {
        Err(e @ BackendError::Format(_)) => e,
        Err(e) => panic!("{what} of another parameter set: {e}, not a format error"),
        Ok(()) => panic!("{what} of another parameter set was accepted"),
    };
    [
        refused(other.ciphertext_from_bytes(&bytes).map(drop), "a ciphertext"),
        refused(other.cloud_from_bytes(&keys).map(drop), "keys"),
        refused(other.client_from_bytes(&secret).map(drop), "a client secret"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_conforms_exactly() {
        let plain = PlainBackend::new(64, 4).unwrap();
        let measured = check(&plain, 50.0);
        assert!(measured.iter().all(|m| m.bits >= 50.0));
        assert!(measured.iter().any(|m| m.op == "bootstrap"));
        check_foreign(&plain, &PlainBackend::new(64, 5).unwrap());
        check_foreign(&plain, &PlainBackend::new(32, 4).unwrap());
        check_foreign(&plain, &PlainBackend::with_level_budget(64, None).unwrap());
    }

    #[test]
    fn plain_without_a_level_limit_conforms() {
        let plain = PlainBackend::with_level_budget(16, None).unwrap();
        assert_eq!(plain.capabilities().max_level, None);
        let measured = check(&plain, 50.0);
        assert!(measured.iter().any(|m| m.op == "mul chain"));
        check_foreign(&plain, &PlainBackend::new(16, 4).unwrap());
    }
}
