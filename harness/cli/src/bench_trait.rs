//! `bench ops` through the backend trait, for the backends without an engine-level path (plain,
//! SEAL): what the training would see, timed op by op in the peers' JSON schema.
//!
//! The trait relinearises and rescales inside every product and generates all keys at once, so
//! the peers' `mul_relin`, `rescale`, `mul_plain` (unrescaled) and the separate key-generation
//! ops are reported as unavailable with that reason; `mul_plain_rescale` (the trait's
//! `mul_plain`) and `bootstrap` (when the backend has it) are added.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use blindtuner_backend::{Backend, BackendError, Client, Cloud};
use blindtuner_ckks::Precision;
use blindtuner_reports::utc_now_rfc3339;
use rand::{Rng, SeedableRng};

use crate::bench_cmd::{Config, OpsParams, OpsReport, Recorder, STEPS, time};

/// What a backend's report says besides its measurements.
pub struct Described {
    /// The `library` field: `blindtuner-<backend>`, apart from the peers' names.
    pub library: &'static str,
    pub version: String,
    pub params: OpsParams,
    /// How `rotate_many` runs on this backend, for the `hoisted_rotate_8` note.
    pub rotate_many: &'static str,
    pub notes: Vec<String>,
}

/// `-log2` of the worst slot's error, 60 when exact (as the conformance suite reports it).
fn bits(want: &[f64], got: &[f64]) -> f64 {
    Precision::of_real(want, got).min_bits.min(60.0)
}

/// Times the trait's operations on `backend` at fresh (top-level) ciphertexts.
pub fn measure<B: Backend>(
    backend: &B,
    described: Described,
    config: &'static str,
    reps: u32,
    quiet: bool,
) -> Result<OpsReport> {
    let caps = backend.capabilities();
    let slots = caps.slots;
    let mut rec = Recorder::new(quiet, 11, reps);
    let mut unavailable = BTreeMap::new();
    let mut refuse = |op: &str, why: &str| unavailable.insert(op.to_string(), why.to_string());
    for op in ["keygen_sk_pk", "keygen_relin", "keygen_rot"] {
        refuse(op, "the trait generates every key in one keygen (see keygen_total)");
    }
    for op in ["mul_relin", "rescale"] {
        refuse(
            op,
            "the trait relinearises and rescales inside mul (see mul_relin_rescale)",
        );
    }
    refuse("mul_plain", "the trait rescales every product (see mul_plain_rescale)");

    let start = Instant::now();
    let (mut client, cloud) = backend.keygen(&STEPS)?;
    let keygen_ms = start.elapsed().as_secs_f64() * 1e3;
    rec.record(
        "keygen_total",
        (keygen_ms, keygen_ms),
        None,
        Some(
            "once: the trait's keygen, secret, relinearisation and 8 rotation keys (the client encrypts with the secret key: no public key)",
        ),
    );

    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let mut uniform = || -> Vec<f64> { (0..slots).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (x, y) = (uniform(), uniform());
    let (med, min, a) = time(reps, || Ok(client.encrypt(&x)?))?;
    rec.record("encode_encrypt", (med, min), Some(bits(&x, &client.decrypt(&a)?)), None);
    let b = client.encrypt(&y)?;
    let (med, min, decrypted) = time(reps, || Ok(client.decrypt(&a)?))?;
    rec.record("decrypt_decode", (med, min), Some(bits(&x, &decrypted)), None);

    // Times `$op` (a cloud call) and records it with the precision of its result against `$want`.
    macro_rules! timed {
        ($name:expr, $op:expr, $want:expr, $note:expr) => {{
            let (med, min, ct) = time(reps, || Ok($op?))?;
            rec.record($name, (med, min), Some(bits($want, &client.decrypt(&ct)?)), $note);
        }};
    }
    let sum: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p + q).collect();
    timed!("add", cloud.add(&a, &b), &sum, None);
    let prod: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
    timed!(
        "mul_plain_rescale",
        cloud.mul_plain(&a, &y),
        &prod,
        Some("the trait's mul_plain: ct x pt (encoding included) + rescale")
    );
    timed!("mul_relin_rescale", cloud.mul(&a, &b), &prod, Some("the trait's mul"));
    let rolled = |k: usize| -> Vec<f64> { (0..slots).map(|i| x[(i + k) % slots]).collect() };
    timed!("rotate_1", cloud.rotate(&a, 1), &rolled(1), None);
    timed!("rotate_5", cloud.rotate(&a, 5), &rolled(5), None);
    let (med, min, outs) = time(reps, || Ok(cloud.rotate_many(&a, &STEPS)?))?;
    let mut worst = f64::INFINITY;
    for (k, ct) in STEPS.iter().zip(&outs) {
        worst = worst.min(bits(&rolled(*k as usize), &client.decrypt(ct)?));
    }
    rec.record("hoisted_rotate_8", (med, min), Some(worst), Some(described.rotate_many));
    match cloud.bootstrap(&a) {
        Ok(_) => timed!("bootstrap", cloud.bootstrap(&a), &x, None),
        Err(e @ BackendError::Unsupported { .. }) => {
            refuse("bootstrap", &e.to_string());
        }
        Err(e) => return Err(e).context("bootstrap"),
    }
    let ops = rec.finish();

    let mut notes = described.notes;
    notes.push(format!("{} backend: {}", caps.backend, caps.parameters));
    notes.push("timed through the backend trait (Client / Cloud), on fresh top-level ciphertexts".into());
    Ok(OpsReport {
        library: described.library,
        version: described.version,
        config,
        params: described.params,
        threads: 1,
        reps,
        machine: crate::calibration::machine()?,
        date: utc_now_rfc3339(),
        ops,
        unavailable,
        notes,
        key_switching: None,
        bootstrap: None,
        bootstrap_sparse: Vec::new(),
        projected: None,
    })
}

fn version(engine: &str) -> String {
    format!(
        "blindtuner {} ({}){engine}",
        env!("CARGO_PKG_VERSION"),
        env!("BLINDTUNER_GIT_COMMIT")
    )
}

/// Says that the trait path runs on one thread whatever `--threads` asked for.
fn thread_note(threads: u32, backend: &str) -> Vec<String> {
    match threads {
        1 => Vec::new(),
        t => vec![format!(
            "--threads {t} ignored: the {backend} backend runs single-threaded"
        )],
    }
}

/// The parameters of a backend without a ring (plain, tfhe): slots, security, and the
/// fixed-point fraction bits as `scale_bits` where there are any.
fn ringless(slots: usize, scale_bits: Option<u32>, security: String) -> OpsParams {
    OpsParams {
        log_n: None,
        limbs: None,
        log_q: Vec::new(),
        special_primes: None,
        dnum: None,
        scale_bits,
        slots,
        security,
    }
}

/// The plain backend at the configuration's slot count and level budget (`n14`: 8,192 slots and
/// 5 levels, `n16`: 32,768 and 12): the f64 floor of the same calls.
pub fn plain(config: Config, reps: u32, threads: u32, quiet: bool) -> Result<OpsReport> {
    let (slots, levels) = match config {
        Config::N14 => (1 << 13, 5),
        Config::N16 => (1 << 15, 12),
    };
    let backend = blindtuner_backend::plain::PlainBackend::new(slots, levels)?;
    let described = Described {
        library: "blindtuner-plain",
        version: version(""),
        params: ringless(slots, None, "none (not encrypted)".into()),
        rotate_many: "the trait's default rotate_many: 8 rotations one after the other",
        notes: thread_note(threads, "plain"),
    };
    measure(&backend, described, config.name(), reps, quiet)
}

/// The SEAL backend at the configuration's shape: `seal-peer-n14` or `seal-peer-n16`.
#[cfg(feature = "seal")]
pub fn seal(config: Config, reps: u32, threads: u32, quiet: bool) -> Result<OpsReport> {
    use blindtuner_seal::SealBackend;
    let name = match config {
        Config::N14 => "seal-peer-n14",
        Config::N16 => "seal-peer-n16",
    };
    let backend = SealBackend::named(name)?;
    let (lit, primes) = (backend.literal(), backend.primes());
    let q = &primes[..primes.len() - 1];
    let security = format!(
        "{}, uniform ternary secret ({})",
        backend.capabilities().security,
        if lit.log_n <= 15 {
            "HomomorphicEncryption.org table, also enforced by SEAL"
        } else {
            "HomomorphicEncryption.org table; SEAL's own check stops at N = 2^15"
        }
    );
    let described = Described {
        library: "blindtuner-seal",
        version: version(", Microsoft SEAL 4.0 built by sealy 0.2.0"),
        params: OpsParams {
            log_n: Some(lit.log_n),
            limbs: Some(q.len()),
            log_q: q.iter().map(|p| 64 - p.leading_zeros()).collect(),
            special_primes: Some(1),
            // SEAL's key switching: one digit per ciphertext prime.
            dnum: Some(q.len()),
            scale_bits: Some(lit.scale_bits),
            slots: backend.capabilities().slots,
            security,
        },
        rotate_many: "8 rotations one after the other: SEAL has no hoisted rotations",
        notes: [
            thread_note(threads, "SEAL"),
            vec![
                "q_0 and the special prime are both 60 bits (the peers' shape): SEAL's key switching \
                 (one digit per prime, one special prime) then costs rotations 5 to 7 bits; the \
                 backend's own seal-n14 set keeps q_0 10 bits below the special prime"
                    .into(),
            ],
        ]
        .concat(),
    };
    measure(&backend, described, config.name(), reps, quiet)
}

/// Without the `seal` feature: the one-line error that says how to get it.
#[cfg(not(feature = "seal"))]
pub fn seal(_: Config, _: u32, _: u32, _: bool) -> Result<OpsReport> {
    anyhow::bail!(
        "backend `seal` is not compiled into this binary: rebuild with `--features seal` \
         (needs apt packages cmake and libclang-dev), e.g. `cargo run --release -p blindtuner --features seal -- bench ops --backend seal`"
    )
}

/// The tfhe backend at a named set (`tfhe-q16-s4` unless `set` names another), on a pool of
/// `threads` threads, with its per-slot costs projected to the config's slot count (labelled
/// `projected`). Its `bootstrap` (the ciphertext unchanged) is reported unavailable: every
/// tfhe-rs operation bootstraps itself.
#[cfg(feature = "tfhe")]
pub fn tfhe(set: Option<&str>, config: Config, reps: u32, threads: u32, quiet: bool) -> Result<OpsReport> {
    use crate::bench_cmd::{ProjectedOp, Projection};
    use blindtuner_tfhe::{BLOCK_PARAMETERS_NAME, TfheBackend};
    let backend = TfheBackend::named(set.unwrap_or("tfhe-q16-s4"))?;
    let caps = backend.capabilities();
    let described = Described {
        library: "blindtuner-tfhe",
        version: version(", tfhe-rs 1.8.2"),
        params: ringless(
            caps.slots,
            Some(backend.params().frac_bits),
            format!("{}, tfhe-rs {BLOCK_PARAMETERS_NAME}", caps.security),
        ),
        rotate_many: "8 permutations of the slot vector: no key switching",
        notes: vec![
            format!(
                "one FheInt32 per slot in fixed point with {} fraction bits (scale_bits); products widen to FheInt64 and shift",
                backend.params().frac_bits
            ),
            format!("slots computed in parallel on {threads} threads"),
        ],
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .context("starting the thread pool")?;
    let mut report = pool.install(|| measure(&backend, described, config.name(), reps, quiet))?;
    report.threads = threads;
    if report.ops.remove("bootstrap").is_some() {
        report.unavailable.insert(
            "bootstrap".into(),
            "no separate bootstrap: every tfhe-rs operation bootstraps its own output (the backend's bootstrap returns the ciphertext unchanged)".into(),
        );
    }
    let full = match config {
        Config::N14 => 1 << 13,
        Config::N16 => 1 << 15,
    };
    // Every timed op but key generation (once per client) is slot-wise.
    let ops = report
        .ops
        .iter()
        .filter(|(op, _)| **op != "keygen_total")
        .map(|(&op, timed)| {
            let per_slot_ms = timed.median_ms / caps.slots as f64;
            let projected_ms = per_slot_ms * full as f64;
            (
                op,
                ProjectedOp {
                    per_slot_ms,
                    projected_ms,
                },
            )
        })
        .collect();
    report.projected = Some(Projection {
        kind: "projected",
        slots: full,
        method: format!(
            "measured median / {} slots x {full} slots, on {threads} threads of this machine; one tfhe-rs ciphertext per slot, so the cost is linear in the slots",
            caps.slots
        ),
        ops,
    });
    Ok(report)
}

/// Without the `tfhe` feature: the one-line error that says how to get it.
#[cfg(not(feature = "tfhe"))]
pub fn tfhe(_: Option<&str>, _: Config, _: u32, _: u32, _: bool) -> Result<OpsReport> {
    anyhow::bail!(
        "backend `tfhe` is not compiled into this binary: rebuild with `--features tfhe` \
         (tfhe-rs, about five minutes to compile), e.g. `cargo run --release -p blindtuner --features tfhe -- bench ops --backend tfhe`"
    )
}
