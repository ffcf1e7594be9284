//! The native backend passes the conformance suite against plain, at the toy N = 2^12 set.

use blindtuner_backend::{Backend, BackendError, Client, Cloud, conformance};
use blindtuner_ckks::{ParametersLiteral, presets};
use blindtuner_native::NativeBackend;

#[test]
fn native_conforms_to_plain() {
    let backend = NativeBackend::named("toy-n12").unwrap();
    let measured = conformance::check(&backend, 24.0);
    // Secret-key encryptions of real values keep 26 to 31 bits at scale 2^40 and N = 2^12.
    let worst = measured.iter().map(|m| m.bits).fold(f64::INFINITY, f64::min);
    assert!(worst >= 24.0, "{measured:?}");
}

#[test]
fn bootstrappable_native_conforms_to_plain_and_bootstraps() {
    let backend = NativeBackend::named("boot-toy-n12").unwrap();
    let caps = backend.capabilities();
    assert!(caps.bootstrap);
    assert_eq!(
        caps.max_level,
        Some(2),
        "fresh ciphertexts start at the top of the work levels"
    );
    let measured = conformance::check(&backend, 20.0);
    let boot = measured
        .iter()
        .find(|m| m.op == "bootstrap")
        .expect("bootstrap measured");
    // 26 bits at N = 2^12 (see the ckks crate's bootstrapping tests).
    assert!(boot.bits >= 22.0, "{boot:?}");
    conformance::check_foreign(&backend, &NativeBackend::named("toy-n12").unwrap());
}

#[test]
fn sets_without_bootstrapping_say_so() {
    let (mut client, cloud) = NativeBackend::named("toy-n12").unwrap().keygen(&[]).unwrap();
    let ct = client.encrypt(&[0.5]).unwrap();
    assert!(matches!(cloud.bootstrap(&ct), Err(BackendError::Unsupported { .. })));
}

#[test]
fn data_of_another_parameter_set_is_refused() {
    let one = NativeBackend::named("toy-n12").unwrap();
    let other = NativeBackend::new_toy(
        "toy-n12-scale-39",
        &ParametersLiteral {
            log_default_scale: 39,
            ..presets::toy_n12()
        },
    )
    .unwrap();
    conformance::check_foreign(&one, &other);
}

#[test]
fn named_sets_are_checked() {
    assert!(NativeBackend::named("n14").is_ok());
    assert!(NativeBackend::named("nope").is_err());
}
