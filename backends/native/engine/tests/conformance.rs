//! The native backend passes the conformance suite against plain, at the toy N = 2^12 set.

use blindtuner_backend::conformance;
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
