//! `blindtuner bench ops`: times the CKKS primitives of a backend in the JSON schema of the peer
//! benchmarks (`benches/peers/README.md`), so `benches/peers/compare.py` puts them side by side.
//! `native` is timed at the engine level (every primitive on its own); the other backends through
//! the backend trait ([`crate::bench_trait`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use blindtuner_ckks::{
    BootstrapParameters, BootstrapParametersLiteral, BootstrapPhases, BootstrapScratch, Bootstrapper, Ciphertext,
    Complex64, Decryptor, Encoder, EncoderScratch, Encryptor, Evaluator, EvaluatorScratch, Parameters, Plaintext,
    Precision, presets,
};
use blindtuner_reports::records::median;
use blindtuner_reports::{Machine, utc_now_rfc3339};
use blindtuner_rlwe::{EvaluationKeys, KeyGenerator, SecretKey};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::bench_trait;
use crate::output::{peak_rss, print_stdout, write_json};

#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time encryption, additions, products, rescaling, rotations and key generation.
    Ops(OpsArgs),
    /// Time encrypted training steps at a shape (HETAL's MNIST shape by default), with where
    /// the time went and the operations each step took.
    Step(crate::bench_step::StepArgs),
    /// Project a Glyph-style training step (softmax on TFHE, products on CKKS, the scheme
    /// switches modelled) at a shape from exact operation counts and costs measured here.
    Glyph(crate::glyph_cmd::GlyphArgs),
}

#[derive(Args)]
struct OpsArgs {
    /// The engine to time: `native` (engine-level), `plain`, `seal` or `tfhe` (through the
    /// backend trait; `seal` and `tfhe` need a binary built with `--features seal` / `tfhe`).
    #[arg(long, default_value = "native")]
    backend: String,
    /// The tfhe backend's parameter set (`--backend tfhe` only): `tfhe-q16-s4` (default),
    /// `tfhe-q16-s8`, `tfhe-q16-s2`, `tfhe-q12-s2`, `tfhe-q16-s1`.
    #[arg(long)]
    tfhe_set: Option<String>,
    /// Parameter shape, as in the peer benchmarks: `n14` (6 limbs) or `n16` (13 limbs).
    #[arg(long, value_enum, default_value = "n16")]
    config: Config,
    /// Timed repetitions per operation (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
    /// Threads the engine may use.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// Write the result as JSON to this file (`-` for stdout), for example
    /// `target/peers/results/native-n16.json` next to the peers' results.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also time bootstrapping at the bootstrappable set of the config (`n16` only: the
    /// 128-bit `boot-n16`, about 6 GB of keys and a minute of set-up).
    #[arg(long)]
    bootstrap: bool,
    /// Timed repetitions of bootstrapping (each on fresh random slots).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    bootstrap_reps: u32,
    /// With `--bootstrap`, also time sparse-slot bootstrapping at these log2 slot counts (for
    /// example `10,11,12,13,14`), each with its own keys.
    #[arg(long, value_name = "LOGS", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..15))]
    bootstrap_sparse: Vec<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Config {
    N14,
    N16,
}

impl Config {
    pub fn name(self) -> &'static str {
        match self {
            Config::N14 => "n14",
            Config::N16 => "n16",
        }
    }
}

/// One operation's timing, as in the peers' schema.
#[derive(Serialize)]
pub struct OpResult {
    pub median_ms: f64,
    pub min_ms: f64,
    pub reps: u32,
    pub precision_bits: Option<f64>,
    pub note: Option<String>,
}

/// The parameters, as the peers' schema has them; `None` (null) where a backend has no such
/// thing (the plain backend has no ring).
#[derive(Serialize)]
pub struct OpsParams {
    pub log_n: Option<u32>,
    pub limbs: Option<usize>,
    pub log_q: Vec<u32>,
    pub special_primes: Option<usize>,
    pub dnum: Option<usize>,
    pub scale_bits: Option<u32>,
    pub slots: usize,
    pub security: String,
}

#[derive(Serialize)]
pub struct OpsReport {
    pub library: &'static str,
    pub version: String,
    pub config: &'static str,
    pub params: OpsParams,
    pub threads: u32,
    pub reps: u32,
    pub machine: Machine,
    pub date: String,
    pub ops: BTreeMap<&'static str, OpResult>,
    pub unavailable: BTreeMap<String, String>,
    pub notes: Vec<String>,
    /// The native engine's key-switching model; absent for the backends timed through the trait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_switching: Option<KeySwitchBound>,
    /// With `--bootstrap`: the details behind the `bootstrap` op.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapReport>,
    /// With `--bootstrap-sparse`: the same at fewer slots, one entry per slot count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bootstrap_sparse: Vec<BootstrapReport>,
    /// Backends timed at a few slots (tfhe): the measured per-slot costs extrapolated to the
    /// config's slot count. Projected, not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected: Option<Projection>,
}

/// Per-slot costs extrapolated to a full-size ciphertext (`kind` is always `"projected"`).
#[derive(Serialize)]
pub struct Projection {
    pub kind: &'static str,
    /// The slot count projected to: the config's CKKS slots (`n14` 8,192, `n16` 32,768).
    pub slots: usize,
    /// How the numbers are obtained.
    pub method: String,
    pub ops: BTreeMap<&'static str, ProjectedOp>,
}

/// One operation's measured per-slot median and its projection to [`Projection::slots`].
#[derive(Serialize)]
pub struct ProjectedOp {
    pub per_slot_ms: f64,
    pub projected_ms: f64,
}
/// Bootstrapping of uniform values in `[-1, 1] + i [-1, 1]` in every slot, each repetition on
/// fresh values and a fresh encryption at level 0.
#[derive(Serialize)]
pub struct BootstrapReport {
    parameters: String,
    slots: usize,
    levels_left: usize,
    /// Levels of CoeffsToSlots, EvalMod and SlotsToCoeffs.
    circuit_levels: [usize; 3],
    median_ms: f64,
    min_ms: f64,
    reps: u32,
    /// Mean over the slots of -log2 |error|, averaged over the repetitions.
    precision_mean_bits: f64,
    /// The worst slot of any repetition.
    precision_worst_slot_bits: f64,
    keygen_ms: f64,
    galois_keys: usize,
    key_bytes: usize,
    /// Encoding the DFTs' diagonals, once per cloud.
    transform_encoding_ms: f64,
    /// Median seconds of each step over the timed repetitions: `mod_raise` (with the trace at
    /// sparse slots), `coeffs_to_slots`, `eval_mod` (both parts), `slots_to_coeffs`.
    phases_s: BTreeMap<&'static str, f64>,
    /// Largest resident memory of the process from key generation to the last repetition
    /// (`VmHWM`, reset before), where the kernel says: exact for the first set a process
    /// measures, an upper bound for later ones (memory the allocator kept from earlier sets
    /// counts).
    peak_rss_bytes: Option<u64>,
}

/// `rotate_1` against a lower bound of its key switching: the NTTs it must do at the measured
/// per-limb NTT time, plus its multiply-accumulates (basis conversions and inner products with
/// the key) at the measured rate of a fused multiply-add over a ciphertext's limbs.
#[derive(Serialize)]
pub struct KeySwitchBound {
    ntts: usize,
    multiply_accumulates: usize,
    ntt_ms_per_limb: f64,
    multiply_accumulate_ns: f64,
    /// Modelled, not measured: the counts at the measured rates.
    modelled_lower_bound_ms: f64,
    /// How the bound is obtained.
    model: &'static str,
    rotate_1_ms: f64,
    ratio: f64,
}

/// Counts of one key switching at `l` limbs, `k` special primes, digits of `alpha` primes:
/// the inverse NTTs of the input, the forward NTTs of each raised digit (its own limbs are
/// kept), ModDown's inverse and forward NTTs of both outputs; the conversions' and the inner
/// products' multiply-accumulates per coefficient.
fn key_switch_counts(l: usize, k: usize, alpha: usize) -> (usize, usize) {
    let digits: Vec<usize> = (0..l.div_ceil(alpha)).map(|j| alpha.min(l - j * alpha)).collect();
    let ntts = l + digits.iter().map(|s| l - s + k).sum::<usize>() + 2 * (k + l);
    let mod_up: usize = digits.iter().map(|s| s * (l - s + k)).sum();
    let mod_down = 2 * k * l;
    let inner = 2 * digits.len() * (l + k);
    (ntts, mod_up + mod_down + inner)
}

/// Measures the NTT of one limb and the fused multiply-add rate on `params`' ring.
fn ring_rates(params: &Parameters, reps: u32) -> Result<(f64, f64)> {
    use blindtuner_ring::{Form, RnsPoly, Sampler};
    let ring = params.rlwe().ring_q();
    let limbs = ring.moduli().len();
    let mut sampler = Sampler::from_seed([7; 32]);
    let mut a = RnsPoly::zero(ring, limbs, Form::Evaluation);
    let mut b = a.clone();
    let mut acc = a.clone();
    sampler.uniform(ring, &mut a);
    sampler.uniform(ring, &mut b);
    let mut limb = a.limb(1).to_vec();
    let (ntt, _, ()) = time(reps.max(5), || {
        ring.ntt_limb(1, &mut limb);
        Ok(())
    })?;
    let (mac, _, ()) = time(reps.max(5), || {
        ring.mul_add(&a, &b, &mut acc);
        Ok(())
    })?;
    Ok((ntt, mac * 1e6 / (limbs * params.n()) as f64))
}
/// Rotation steps of `hoisted_rotate_8`; `rotate_1` and `rotate_5` use their keys.
pub const STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchCommand::Ops(args) => ops(args),
        BenchCommand::Step(args) => crate::bench_step::run(args),
        BenchCommand::Glyph(args) => crate::glyph_cmd::bench(args),
    }
}

/// `bench ops --backend native` at `config` on `threads` threads, for the commands that build on
/// its timings (`bench glyph`).
#[cfg_attr(not(feature = "tfhe"), allow(dead_code))]
pub fn native_ops(config: Config, reps: u32, threads: u32, quiet: bool) -> Result<OpsReport> {
    let args = OpsArgs {
        backend: "native".into(),
        tfhe_set: None,
        config,
        reps,
        threads,
        json: None,
        quiet,
        bootstrap: false,
        bootstrap_reps: 1,
        bootstrap_sparse: Vec::new(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .context("starting the thread pool")?;
    pool.install(|| measure(&args))
}

fn ops(args: OpsArgs) -> Result<()> {
    if args.tfhe_set.is_some() && args.backend != "tfhe" {
        bail!("--tfhe-set names a set of the tfhe backend: add --backend tfhe");
    }
    if args.bootstrap && !(args.backend == "native" && matches!(args.config, Config::N16)) {
        bail!("--bootstrap needs a bootstrappable set: only `--backend native --config n16` has one");
    }
    if !args.bootstrap_sparse.is_empty() && !args.bootstrap {
        bail!("--bootstrap-sparse times sparse-slot bootstrapping: add --bootstrap");
    }
    let report = match args.backend.as_str() {
        "native" => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(args.threads as usize)
                .build()
                .context("starting the thread pool")?;
            pool.install(|| measure(&args))?
        }
        "plain" => bench_trait::plain(args.config, args.reps, args.threads, args.quiet)?,
        "seal" => bench_trait::seal(args.config, args.reps, args.threads, args.quiet)?,
        "tfhe" => bench_trait::tfhe(
            args.tfhe_set.as_deref(),
            args.config,
            args.reps,
            args.threads,
            args.quiet,
        )?,
        other => bail!("unknown backend `{other}` for `bench ops`: native, plain, seal or tfhe"),
    };
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    if args.json.as_deref() != Some(std::path::Path::new("-")) {
        print_stdout(&summary(&report))?;
    }
    Ok(())
}

/// Runs `f` once untimed, then `reps` (at least one) times; returns (median, min) in ms and the
/// last output.
pub fn time<T>(reps: u32, mut f: impl FnMut() -> Result<T>) -> Result<(f64, f64, T)> {
    let mut out = f()?;
    let mut ms = Vec::with_capacity(reps as usize);
    for _ in 0..reps {
        let start = Instant::now();
        out = f()?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (median, min) = median_min(ms);
    Ok((median, min, out))
}

/// The median and the minimum of non-empty timings.
fn median_min(ms: Vec<f64>) -> (f64, f64) {
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    (median(ms), min)
}

/// The state every operation works on.
struct Bench {
    params: Parameters,
    encoder: Encoder,
    encoder_scratch: EncoderScratch,
    decryptor: Decryptor,
    eval: Evaluator,
    scratch: EvaluatorScratch,
}

impl Bench {
    /// Decrypts `ct` and returns the precision of its real parts against `want`.
    fn precision(&mut self, ct: &Ciphertext, want: &[f64]) -> Result<f64> {
        let pt = self.decryptor.decrypt_new(ct)?;
        let mut got = vec![Complex64::default(); self.encoder.slots()];
        self.encoder.decode(&pt, &mut got, &mut self.encoder_scratch)?;
        let re: Vec<f64> = got.iter().map(|z| z.re).collect();
        Ok(Precision::of_real(want, &re).min_bits)
    }
}

/// The progress bar of `bench ops`, over `ops` operations (hidden when `quiet`).
fn progress(quiet: bool, ops: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    ProgressBar::new(ops).with_style(
        ProgressStyle::with_template("{spinner} bench ops {msg:18} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("static template")
            .progress_chars("=> "),
    )
}

/// The timed operations of one report, shown on a progress bar as they come.
pub struct Recorder {
    bar: ProgressBar,
    reps: u32,
    ops: BTreeMap<&'static str, OpResult>,
}

impl Recorder {
    /// A recorder of `ops` operations timed over `reps` repetitions each.
    pub fn new(quiet: bool, ops: u64, reps: u32) -> Recorder {
        Recorder {
            bar: progress(quiet, ops),
            reps,
            ops: BTreeMap::new(),
        }
    }

    /// Records `name`'s (median, min) milliseconds over the usual repetitions.
    pub fn record(&mut self, name: &'static str, times: (f64, f64), precision: Option<f64>, note: Option<&str>) {
        self.record_reps(name, times, self.reps, precision, note);
    }

    /// [`Self::record`] for an operation timed over `reps` repetitions.
    pub fn record_reps(
        &mut self,
        name: &'static str,
        (median, min): (f64, f64),
        reps: u32,
        precision: Option<f64>,
        note: Option<&str>,
    ) {
        self.bar.set_message(name);
        self.bar.inc(1);
        self.ops.insert(
            name,
            OpResult {
                median_ms: median,
                min_ms: min,
                reps,
                precision_bits: precision,
                note: note.map(str::to_string),
            },
        );
    }

    /// The operations, once the bar is cleared.
    pub fn finish(self) -> BTreeMap<&'static str, OpResult> {
        self.bar.finish_and_clear();
        self.ops
    }
}

fn all_keys(kg: &mut KeyGenerator, sk: &SecretKey, params: &Parameters) -> Result<EvaluationKeys> {
    let mut keys = EvaluationKeys::default();
    keys.relinearization = Some(kg.relinearization_key(sk)?);
    for step in STEPS {
        keys.insert_galois(kg.galois_key(sk, params.rotation_galois_element(step, params.max_slots()))?);
    }
    Ok(keys)
}

fn measure(args: &OpsArgs) -> Result<OpsReport> {
    let literal = match args.config {
        Config::N14 => presets::peer_n14(),
        Config::N16 => presets::peer_n16(),
    };
    let params = Parameters::new(&literal)?;
    let (slots, top, reps) = (params.max_slots(), params.max_level(), args.reps);
    let mut rec = Recorder::new(args.quiet, 14, reps);

    // Key generation, from the operating system's randomness as in use.
    let mut kg = KeyGenerator::new(params.rlwe())?;
    let (med, min, (sk, pk)) = time(reps, || {
        let sk = kg.secret_key();
        let pk = kg.public_key(&sk)?;
        Ok((sk, pk))
    })?;
    rec.record("keygen_sk_pk", (med, min), None, None);
    let (med, min, _) = time(reps, || Ok(kg.relinearization_key(&sk)?))?;
    rec.record("keygen_relin", (med, min), None, None);
    let g1 = params.rotation_galois_element(1, slots);
    let (med, min, _) = time(reps, || Ok(kg.galois_key(&sk, g1)?))?;
    rec.record("keygen_rot", (med, min), None, None);
    let start = Instant::now();
    let total_sk = kg.secret_key();
    kg.public_key(&total_sk)?;
    all_keys(&mut kg, &total_sk, &params)?;
    let total = start.elapsed().as_secs_f64() * 1e3;
    rec.record(
        "keygen_total",
        (total, total),
        None,
        Some("once: secret, public, relinearisation and 8 rotation keys"),
    );
    let keys = all_keys(&mut kg, &sk, &params)?;

    let mut b = Bench {
        encoder: Encoder::new(params.rlwe().ring_q().clone(), slots)?,
        encoder_scratch: EncoderScratch::default(),
        decryptor: Decryptor::new(&params, sk),
        eval: Evaluator::new(&params, keys)?,
        scratch: EvaluatorScratch::new(&params),
        params: params.clone(),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let mut uniform = || -> Vec<f64> { (0..slots).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (x, y) = (uniform(), uniform());
    let mut encryptor = Encryptor::with_public_key(&params, pk)?;
    let scale = params.default_scale();

    let mut pt = Plaintext::new(&params, top, scale, slots);
    let mut a = Ciphertext::new(&params, top, slots);
    let (med, min, ()) = time(reps, || {
        b.encoder.encode_real(&x, scale, &mut pt, &mut b.encoder_scratch)?;
        encryptor.encrypt(&pt, &mut a)?;
        Ok(())
    })?;
    let p = b.precision(&a, &x)?;
    rec.record("encode_encrypt", (med, min), Some(p), None);
    let mut ct_b = Ciphertext::new(&params, top, slots);
    b.encoder.encode_real(&y, scale, &mut pt, &mut b.encoder_scratch)?;
    encryptor.encrypt(&pt, &mut ct_b)?;

    let mut decoded = vec![Complex64::default(); slots];
    let mut out_pt = Plaintext::new(&params, top, scale, slots);
    let (med, min, ()) = time(reps, || {
        b.decryptor.decrypt(&a, &mut out_pt)?;
        b.encoder.decode(&out_pt, &mut decoded, &mut b.encoder_scratch)?;
        Ok(())
    })?;
    let re: Vec<f64> = decoded.iter().map(|z| z.re).collect();
    rec.record(
        "decrypt_decode",
        (med, min),
        Some(Precision::of_real(&x, &re).min_bits),
        None,
    );

    let mut out = Ciphertext::new(&params, top, slots);
    let (med, min, ()) = time(reps, || Ok(b.eval.add(&a, &ct_b, &mut out, &mut b.scratch)?))?;
    let sum: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p + q).collect();
    let p = b.precision(&out, &sum)?;
    rec.record("add", (med, min), Some(p), None);

    let factor = b.eval.factor_scale(&a)?;
    let mut y_pt = Plaintext::new(&params, top, factor, slots);
    b.encoder.encode_real(&y, factor, &mut y_pt, &mut b.encoder_scratch)?;
    let (med, min, ()) = time(reps, || Ok(b.eval.mul_plain(&a, &y_pt, &mut out)?))?;
    let prod: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
    let p = b.precision(&out, &prod)?;
    rec.record("mul_plain", (med, min), Some(p), Some("not rescaled"));

    let mut product = Ciphertext::new(&params, top, slots);
    let (med, min, ()) = time(reps, || {
        Ok(b.eval.mul_relin(&a, &ct_b, &mut product, &mut b.scratch)?)
    })?;
    rec.record("mul_relin", (med, min), None, None);
    let (med, min, ()) = time(reps, || Ok(b.eval.rescale(&product, &mut out, &mut b.scratch)?))?;
    let p = b.precision(&out, &prod)?;
    rec.record("rescale", (med, min), Some(p), None);
    let (med, min, ()) = time(reps, || {
        b.eval.mul_relin(&a, &ct_b, &mut out, &mut b.scratch)?;
        Ok(b.eval.rescale_assign(&mut out, &mut b.scratch)?)
    })?;
    let p = b.precision(&out, &prod)?;
    rec.record("mul_relin_rescale", (med, min), Some(p), None);

    let rolled = |k: usize| -> Vec<f64> { (0..slots).map(|i| x[(i + k) % slots]).collect() };
    for (name, k) in [("rotate_1", 1usize), ("rotate_5", 5)] {
        let (med, min, ()) = time(reps, || Ok(b.eval.rotate(&a, k as i64, &mut out, &mut b.scratch)?))?;
        let p = b.precision(&out, &rolled(k))?;
        rec.record(name, (med, min), Some(p), None);
    }
    let mut outs: Vec<Ciphertext> = STEPS.iter().map(|_| Ciphertext::new(&params, top, slots)).collect();
    let (med, min, ()) = time(reps, || {
        Ok(b.eval.rotate_hoisted(&a, &STEPS, &mut outs, &mut b.scratch)?)
    })?;
    let mut worst = f64::INFINITY;
    for (k, ct) in STEPS.iter().zip(&outs) {
        worst = worst.min(b.precision(ct, &rolled(*k as usize))?);
    }
    rec.record(
        "hoisted_rotate_8",
        (med, min),
        Some(worst),
        Some("one decomposition shared by the 8 rotations"),
    );
    let bootstrap = if args.bootstrap {
        rec.bar.set_message("bootstrap");
        let report = measure_bootstrap(presets::bootstrap_n16().log_slots, args.bootstrap_reps)?;
        rec.record_reps(
            "bootstrap",
            (report.median_ms, report.min_ms),
            args.bootstrap_reps,
            Some(report.precision_worst_slot_bits),
            Some("boot-n16, full slots; precision of the worst slot (the mean is in `bootstrap`)"),
        );
        Some(report)
    } else {
        None
    };
    let mut bootstrap_sparse = Vec::new();
    for &log_slots in &args.bootstrap_sparse {
        rec.bar.set_message(format!("bootstrap at 2^{log_slots} slots"));
        bootstrap_sparse.push(measure_bootstrap(log_slots, args.bootstrap_reps)?);
    }
    let ops = rec.finish();
    let ops_rotate_1 = ops["rotate_1"].median_ms;

    let rlwe = b.params.rlwe();
    Ok(OpsReport {
        library: "native",
        version: format!(
            "blindtuner {} ({})",
            env!("CARGO_PKG_VERSION"),
            env!("BLINDTUNER_GIT_COMMIT")
        ),
        config: args.config.name(),
        params: OpsParams {
            log_n: Some(rlwe.log_n()),
            limbs: Some(rlwe.q().len()),
            log_q: rlwe.q().iter().map(|q| 64 - q.leading_zeros()).collect(),
            special_primes: Some(rlwe.p().len()),
            dnum: Some(rlwe.digits()),
            scale_bits: Some(params.log_default_scale()),
            slots,
            security: format!("{}, uniform ternary secret", params.security()),
        },
        threads: args.threads,
        reps,
        machine: crate::calibration::machine()?,
        date: utc_now_rfc3339(),
        ops,
        unavailable: BTreeMap::new(),
        bootstrap,
        bootstrap_sparse,
        projected: None,
        key_switching: Some({
            let (ntts, macs) = key_switch_counts(rlwe.q().len(), rlwe.p().len(), rlwe.digit_size());
            let (ntt_ms, mac_ns) = ring_rates(&params, reps)?;
            let bound = ntts as f64 * ntt_ms + (macs * params.n()) as f64 * mac_ns * 1e-6;
            let rotate = ops_rotate_1;
            KeySwitchBound {
                ntts,
                multiply_accumulates: macs * params.n(),
                ntt_ms_per_limb: ntt_ms,
                multiply_accumulate_ns: mac_ns,
                modelled_lower_bound_ms: bound,
                model: "modelled: counted NTTs x measured per-limb NTT time + counted multiply-adds x measured fused multiply-add time",
                rotate_1_ms: rotate,
                ratio: rotate / bound,
            }
        }),
        notes: vec![
            format!("parameters: {params}"),
            format!(
                "special primes of {} bits; scale {:.6} bits, the canonical chain of the native engine",
                rlwe.p().iter().map(|p| 64 - p.leading_zeros()).max().unwrap_or(0),
                params.default_scale().log2()
            ),
        ],
    })
}

/// Bootstraps fresh random encryptions of `2^log_slots` slots at level 0 of `boot-n16`.
fn measure_bootstrap(log_slots: u32, reps: u32) -> Result<BootstrapReport> {
    reset_peak_rss();
    let bp = BootstrapParameters::new(&BootstrapParametersLiteral {
        log_slots,
        ..presets::bootstrap_n16()
    })?;
    let params = bp.params().clone();
    let mut kg = KeyGenerator::new(params.rlwe())?;
    let sk = kg.secret_key();
    let start = Instant::now();
    let keys = bp.generate_keys(&mut kg, &sk, &[])?;
    let keygen_ms = start.elapsed().as_secs_f64() * 1e3;
    let (key_bytes, galois_keys) = (keys.size_bytes(), keys.evaluation.galois_elements().count());
    let start = Instant::now();
    let boot = Bootstrapper::new(&bp, keys)?;
    let transform_encoding_ms = start.elapsed().as_secs_f64() * 1e3;
    let slots = bp.slots();
    let encoder = Encoder::new(params.rlwe().ring_q().clone(), slots)?;
    let mut es = EncoderScratch::default();
    let mut encryptor = Encryptor::with_public_key(&params, kg.public_key(&sk)?)?;
    let decryptor = Decryptor::new(&params, sk);
    let mut scratch = BootstrapScratch::new(&bp);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2027);
    let (mut means, mut worst, mut ms) = (Vec::new(), f64::INFINITY, Vec::new());
    let mut phases: Vec<BootstrapPhases> = Vec::new();
    // One untimed run first, as `time` does: it faults in the scratch buffers.
    for rep in 0..=reps {
        let values: Vec<Complex64> = (0..slots)
            .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
            .collect();
        let mut pt = Plaintext::new(&params, 0, params.scale_at(0), slots);
        encoder.encode(&values, params.scale_at(0), &mut pt, &mut es)?;
        let mut ct = Ciphertext::new(&params, 0, slots);
        encryptor.encrypt(&pt, &mut ct)?;
        let mut out = Ciphertext::new(&params, 0, slots);
        let start = Instant::now();
        boot.bootstrap(&ct, &mut out, &mut scratch)?;
        if rep > 0 {
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            phases.push(scratch.phases());
        }
        let mut got = vec![Complex64::default(); slots];
        encoder.decode(&decryptor.decrypt_new(&out)?, &mut got, &mut es)?;
        let p = Precision::of(&values, &got);
        means.push(p.mean_bits);
        worst = worst.min(p.min_bits);
    }
    let (median_ms, min_ms) = median_min(ms);
    let lit = bp.literal();
    Ok(BootstrapReport {
        parameters: format!("boot-n16 ({params})"),
        slots,
        levels_left: bp.work_level(),
        circuit_levels: [lit.cts_levels, bp.evalmod_levels(), lit.stc_levels],
        median_ms,
        min_ms,
        reps,
        precision_mean_bits: means.iter().sum::<f64>() / means.len() as f64,
        precision_worst_slot_bits: worst,
        keygen_ms,
        galois_keys,
        key_bytes,
        transform_encoding_ms,
        phases_s: BTreeMap::from([
            ("mod_raise", median_of(&phases, |p| p.mod_raise)),
            ("coeffs_to_slots", median_of(&phases, |p| p.coeffs_to_slots)),
            ("eval_mod", median_of(&phases, |p| p.eval_mod)),
            ("slots_to_coeffs", median_of(&phases, |p| p.slots_to_coeffs)),
        ]),
        peak_rss_bytes: peak_rss(),
    })
}

/// The median of one phase over the repetitions.
fn median_of(phases: &[BootstrapPhases], phase: impl Fn(&BootstrapPhases) -> f64) -> f64 {
    median_min(phases.iter().map(phase).collect()).0
}

/// Restarts the kernel's count of the peak resident memory (`5` to `/proc/self/clear_refs`), so
/// that each bootstrapping set's peak is its own; where the kernel has no such file, the peak
/// stays the process's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn summary(r: &OpsReport) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["op", "median ms", "min ms", "precision bits"]);
    for (name, op) in &r.ops {
        b.push_record([
            name.to_string(),
            format!("{:.3}", op.median_ms),
            format!("{:.3}", op.min_ms),
            op.precision_bits.map_or("-".into(), |p| format!("{p:.1}")),
        ]);
    }
    let title = if r.library == "native" {
        "native CKKS"
    } else {
        r.library
    };
    let mut out = format!(
        "{title}, config {} ({} threads, {} reps)\n{}\n",
        r.config,
        r.threads,
        r.reps,
        b.build().with(tabled::settings::Style::sharp()),
    );
    if let Some(ks) = &r.key_switching {
        out += &format!(
            "key switching: rotate_1 {:.2} ms (measured) against a modelled lower bound of {:.2} ms ({} NTTs at {:.3} ms, {:.1} M multiply-adds at {:.2} ns): ratio {:.2}\n",
            ks.rotate_1_ms,
            ks.modelled_lower_bound_ms,
            ks.ntts,
            ks.ntt_ms_per_limb,
            ks.multiply_accumulates as f64 / 1e6,
            ks.multiply_accumulate_ns,
            ks.ratio
        );
    }
    for b in r.bootstrap.iter().chain(&r.bootstrap_sparse) {
        out += &format!(
            "bootstrap ({}, {} slots): {:.2} s median, {:.1} bits mean, {:.1} worst slot, {} levels left; keys {:.1} s, {} Galois keys, {:.1} GB; peak memory {}\n",
            b.parameters,
            b.slots,
            b.median_ms / 1e3,
            b.precision_mean_bits,
            b.precision_worst_slot_bits,
            b.levels_left,
            b.keygen_ms / 1e3,
            b.galois_keys,
            b.key_bytes as f64 / 1e9,
            b.peak_rss_bytes
                .map_or("unknown".to_string(), |m| format!("{:.1} GB", m as f64 / 1e9))
        );
        out += &format!(
            "  phases (median s): ModRaise {:.2}, CoeffsToSlots {:.2}, EvalMod {:.2}, SlotsToCoeffs {:.2}\n",
            b.phases_s["mod_raise"],
            b.phases_s["coeffs_to_slots"],
            b.phases_s["eval_mod"],
            b.phases_s["slots_to_coeffs"]
        );
    }
    if let Some(p) = &r.projected {
        let mut b = tabled::builder::Builder::default();
        b.push_record(["op", "measured ms / slot", &format!("PROJECTED s at {} slots", p.slots)]);
        for (name, op) in &p.ops {
            b.push_record([
                name.to_string(),
                format!("{:.3}", op.per_slot_ms),
                format!("{:.1}", op.projected_ms / 1e3),
            ]);
        }
        out += &format!(
            "projected, not measured ({}):\n{}\n",
            p.method,
            b.build().with(tabled::settings::Style::sharp())
        );
    }
    for (op, why) in &r.unavailable {
        out += &format!("{op}: unavailable, {why}\n");
    }
    out
}
