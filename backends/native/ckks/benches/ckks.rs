//! Evaluator benchmarks at N = 2^14 (`presets::n14`, 8 limbs) and at the N = 2^16 shape of the
//! peer comparison (`presets::peer_n16`, 13 limbs, 3 key-switching digits), on fresh encryptions
//! at the top level; `polynomial_63` evaluates a dense Chebyshev polynomial of degree 63 (depth 6)
//! on real slots of [-1, 1]. `blindtuner bench ops` times the peers' exact shapes.
//!
//! Run with `cargo bench -p blindtuner-ckks`; single-threaded unless `BLINDTUNER_THREADS` says
//! otherwise. Groups are named like the peer script's operations (`benches/peers/`).

use std::hint::black_box;

use blindtuner_ckks::{
    Ciphertext, Complex64, Encoder, EncoderScratch, Encryptor, Evaluator, EvaluatorScratch, LinearTransform,
    LinearTransformScratch, Parameters, ParametersLiteral, Plaintext, Polynomial, PolynomialScratch, presets,
};
use blindtuner_rlwe::{EvaluationKeys, KeyGenerator};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Rotation steps of the hoisted benchmark.
const HOISTED: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

struct Bench {
    eval: Evaluator,
    a: Ciphertext,
    b: Ciphertext,
    /// Real slots in [-1, 1], the domain of the polynomial.
    real: Ciphertext,
    scratch: EvaluatorScratch,
}

fn setup(lit: &ParametersLiteral) -> Bench {
    let params = Parameters::new(lit).unwrap();
    let slots = params.max_slots();
    let mut kg = KeyGenerator::new(params.rlwe()).unwrap();
    let sk = kg.secret_key();
    let mut keys = EvaluationKeys::default();
    keys.relinearization = Some(kg.relinearization_key(&sk).unwrap());
    for step in HOISTED {
        keys.insert_galois(kg.galois_key(&sk, params.rotation_galois_element(step, slots)).unwrap());
    }
    let encoder = Encoder::new(params.rlwe().ring_q().clone(), slots).unwrap();
    let mut encryptor = Encryptor::with_secret_key(&params, sk).unwrap();
    let top = params.max_level();
    let mut encrypt = |seed: f64, imaginary: f64| {
        let values: Vec<Complex64> = (0..slots)
            .map(|i| Complex64::new((i as f64 * seed).sin(), imaginary * (i as f64 * seed).cos()))
            .collect();
        let mut pt = Plaintext::new(&params, top, params.default_scale(), slots);
        encoder
            .encode(&values, params.default_scale(), &mut pt, &mut EncoderScratch::default())
            .unwrap();
        let mut ct = Ciphertext::new(&params, top, slots);
        encryptor.encrypt(&pt, &mut ct).unwrap();
        ct
    };
    let (a, b, real) = (encrypt(0.1, 1.0), encrypt(0.7, 1.0), encrypt(0.3, 0.0));
    Bench {
        scratch: EvaluatorScratch::new(&params),
        eval: Evaluator::new(&params, keys).unwrap(),
        a,
        b,
        real,
    }
}

fn evaluator(c: &mut Criterion) {
    for (name, lit) in [("n14", presets::n14()), ("n16", presets::peer_n16())] {
        let mut s = setup(&lit);
        let top = s.a.level();
        let mut out = s.a.clone();
        let mut outs: Vec<Ciphertext> = HOISTED.iter().map(|_| s.a.clone()).collect();
        let mut g = c.benchmark_group(format!("ckks_{name}"));
        g.sample_size(10);
        let id = |op: &str| BenchmarkId::new(op, format!("{} limbs", top + 1));
        g.bench_function(id("add"), |b| {
            b.iter(|| s.eval.add(&s.a, &s.b, black_box(&mut out), &mut s.scratch).unwrap())
        });
        g.bench_function(id("mul_relin"), |b| {
            b.iter(|| {
                s.eval
                    .mul_relin(&s.a, &s.b, black_box(&mut out), &mut s.scratch)
                    .unwrap()
            })
        });
        g.bench_function(id("mul_relin_rescale"), |b| {
            b.iter(|| {
                s.eval.mul_relin(&s.a, &s.b, &mut out, &mut s.scratch).unwrap();
                s.eval.rescale_assign(black_box(&mut out), &mut s.scratch).unwrap()
            })
        });
        g.bench_function(id("rescale"), |b| {
            b.iter(|| s.eval.rescale(&s.a, black_box(&mut out), &mut s.scratch).unwrap())
        });
        g.bench_function(id("rotate_1"), |b| {
            b.iter(|| s.eval.rotate(&s.a, 1, black_box(&mut out), &mut s.scratch).unwrap())
        });
        g.bench_function(id("hoisted_rotate_8"), |b| {
            b.iter(|| {
                s.eval
                    .rotate_hoisted(&s.a, &HOISTED, black_box(&mut outs), &mut s.scratch)
                    .unwrap()
            })
        });
        // Nine diagonals: baby steps {0, 1} and giant steps {0, 2, 4, 6, 8}, keys among HOISTED.
        let slots = s.a.slots();
        let mut lt = LinearTransform::new(slots);
        for k in 0..9 {
            let d = (0..slots)
                .map(|i| Complex64::new(((i + k) as f64).sin(), 0.0))
                .collect();
            lt.set_diagonal(k as i64, d).unwrap();
        }
        let encoder = Encoder::new(s.eval.params().rlwe().ring_q().clone(), slots).unwrap();
        let encoded = lt.encode(&s.eval, &encoder, top, s.a.scale()).unwrap();
        let mut lt_buffers = LinearTransformScratch::default();
        g.bench_function(id("linear_transform_9_diagonals"), |b| {
            b.iter(|| {
                s.eval
                    .linear_transform(&s.a, &encoded, black_box(&mut out), &mut s.scratch, &mut lt_buffers)
                    .unwrap()
            })
        });
        let poly = Polynomial::chebyshev((1..=64).map(|k| 1.0 / k as f64).collect::<Vec<_>>(), -1.0, 1.0).unwrap();
        let mut poly_scratch = PolynomialScratch::new(s.eval.params());
        g.bench_function(id("polynomial_63"), |b| {
            b.iter(|| {
                s.eval
                    .evaluate_polynomial(&s.real, &poly, black_box(&mut out), &mut poly_scratch)
                    .unwrap()
            })
        });
        g.finish();
    }
}

fn configured(c: &mut Criterion) {
    let threads = std::env::var("BLINDTUNER_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    evaluator(c);
}

criterion_group!(benches, configured);
criterion_main!(benches);
