//! CKKS bootstrapping: a ciphertext at any level back to the top of the work levels, with the
//! same slots (Cheon, Han, Kim, Kim and Song 2018; in the RNS form and with the sparse-secret
//! encapsulation of Bossuat, Troncoso-Pastoriza and Hubaux 2022).
//!
//! # The pipeline
//!
//! A ciphertext at level 0 (modulus `q_0`, scale `S_0`) decrypts to `c0 + c1 s = S_0 mu + e`
//! (mod `q_0`), `mu` the coefficients of its message.
//!
//! 1. **Encapsulation.** Key switching (in the small ring of `q_0` and the first special prime
//!    `p_0`) from the dense secret `s` to an ephemeral sparse secret `s'` of Hamming weight `h`.
//! 2. **ModRaise.** The two polynomials, lifted from `(-q_0/2, q_0/2]` to the whole chain `Q_L`:
//!    over the integers `c0 + c1 s' = t = S_0 mu + e + q_0 I`, with
//!    `|I| <= (h + 1) / 2` in every coefficient, because every coefficient of `c0 + c1 s'` is a
//!    sum of `h + 1` terms of absolute value at most `q_0 / 2`. The bound is deterministic:
//!    **the failure probability of the modular reduction is zero**; what is left is the usual
//!    CKKS noise, whose tails at these scales are far below `2^-128`.
//! 3. **Back to the dense secret**, over all of `Q_L P`, and the ciphertext is read at scale
//!    `K q_0`, `K = (h + 1) / 2 + 1/2`, so that its coefficients `t / (K q_0)` lie in `[-1, 1]`.
//!    With `n < N/2` slots the message lies in the subring `Z[X^g]`, `g = N / (2n)`, but `I`
//!    does not: the trace `sum_j sigma_(5^(n j))` over the `g` automorphisms fixing `Z[X^g]`
//!    (`log2 g` rotations and additions, `ct += rot(ct, n 2^i)` over `N/2` slots) keeps `g`
//!    times the coefficients at multiples of `g` and cancels the others; the scale becomes
//!    `g K q_0`.
//! 4. **CoeffsToSlots** ([`HomomorphicDft`] on `n` slots, `cts_levels` levels, scaled by 1/2):
//!    the slots hold `(t'_k + i t'_(k + n)) / (2 K q_0)`, `t'_k = t_(g k)`. Its sum with its
//!    conjugate holds the real parts `x = t'_k / (K q_0)`, its difference times `-i` the
//!    imaginary parts (`n` real values each; the product by `i` is a monomial, exact and
//!    free).
//! 5. **EvalMod** on each: `cos(2 pi (K x - 1/4) / 2^r)` by a Chebyshev interpolant of the
//!    given degree on `[-1, 1]`, then `r` double angles `v -> 2 v^2 - 1`, which end at
//!    `sin(2 pi K x) = sin(2 pi t / q_0) = sin(2 pi (S_0 mu + e) / q_0)`. The sine is `2 pi`
//!    times the identity up to a relative `(2 pi S_0 mu_k / q_0)^2 / 6` in each coefficient
//!    `mu_k`: with `q_0 / S_0 = 2^10` (the presets), `2^-17.3 mu_k^2`. The coefficients of
//!    slots spread over many values are far below one (uniform slots in the unit square: about
//!    `N^-1/2`), so there the sine costs nothing measurable; a message with a coefficient near
//!    one (all slots equal to one, say) keeps about 17 bits. A larger ratio trades this for
//!    noise: every bit of `q_0 / S_0` multiplies EvalMod's noise by two.
//!
//!    EvalMod can end at any multiple `alpha` of the sine for free ([`EvalMod`]): two
//!    ciphertexts of real slots share one bootstrapping as `2 (a + i b)` at `alpha = 1/4`
//!    ([`Bootstrapper::bootstrap_real_pair`]).
//! 6. **SlotsToCoeffs** of `re + i im` ([`HomomorphicDft`], `stc_levels` levels), scaled by
//!    `q_0 / (2 pi S_0)`: the slots of `mu`, on the canonical scale of the top work level.
//!
//! The DFTs leave the coefficients in bit-reversed order, which EvalMod (slot-wise) ignores.
//!
//! # Levels
//!
//! From the top: `cts_levels` and the EvalMod levels on primes (and scales) of
//! `log_boot_scale` bits, where the precision is made, then the first SlotsToCoeffs factor on
//! one more prime of that size (its plaintext is encoded for the scale below, which is how the
//! scale comes down), then `stc_levels - 1` factors and the `work_levels` levels left to the
//! user on primes of `log_scale` bits, and `q_0`:
//!
//! ```text
//! log_q = [log_q0] ++ [log_scale; work_levels + stc_levels - 1] ++ [log_boot_scale; cts_levels + evalmod_levels + 1]
//! ```
//!
//! # Security of the encapsulation
//!
//! The dense-to-sparse key is an RLWE sample under the sparse secret modulo `q_0 p_0` only
//! (about 120 bits at N = 2^16); the sparse-to-dense key is under the dense secret modulo all of
//! `Q P`, as every other key. Bossuat et al. (and Lattigo's default bootstrapping sets, ephemeral
//! weight 32) rest the 128-bit claim for the first on this small modulus; the
//! HomomorphicEncryption.org table, which assumes uniform ternary secrets, does not cover it.

use std::f64::consts::PI;
use std::time::Instant;

use blindtuner_ring::{Form, RnsPoly, conjugation_galois_element};
use blindtuner_rlwe::{
    self as rlwe, EvaluationKeys, KeyGenerator, KeySwitchScratch, KeySwitcher, SecretDistribution, SecretKey,
    SwitchingKey,
};

use crate::encryption::check_fingerprint;
use crate::evaluator::same_scale;
use crate::{
    Ciphertext, CkksError, DftDirection, DftScratch, EncodedDft, Encoder, Evaluator, EvaluatorScratch, HomomorphicDft,
    Parameters, ParametersLiteral, Polynomial, PolynomialScratch,
};

/// What a user writes for a bootstrappable set; validated by [`BootstrapParameters::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapParametersLiteral {
    pub log_n: u32,
    /// Slots of the ciphertexts bootstrapped: `2^log_slots`, up to `N / 2` (full slots). Fewer
    /// slots make the DFTs cheaper.
    pub log_slots: u32,
    /// Bits of `q_0`: its ratio to the work scale trades the sine's error against EvalMod's
    /// noise (see the module documentation).
    pub log_q0: u32,
    /// Levels left to the user after bootstrapping.
    pub work_levels: usize,
    /// Bits of the work scale and its primes.
    pub log_scale: u32,
    /// Bits of the primes and the scale of CoeffsToSlots and EvalMod.
    pub log_boot_scale: u32,
    /// Level budgets of the two homomorphic DFTs.
    pub cts_levels: usize,
    pub stc_levels: usize,
    /// Hamming weight `h` of the ephemeral sparse secret: `|I| <= (h + 1) / 2`.
    pub ephemeral_weight: usize,
    /// Degree of the Chebyshev interpolant of the scaled cosine.
    pub sine_degree: usize,
    /// Double-angle steps `r`, at least one.
    pub double_angles: usize,
    /// Special primes and key-switching digits, as in [`ParametersLiteral`].
    pub log_p: Vec<u32>,
    pub digits: Option<usize>,
}

/// The bound `K = (h + 1) / 2 + 1/2` on `|t| / q_0` after ModRaise (see the module
/// documentation).
fn overflow_bound(lit: &BootstrapParametersLiteral) -> f64 {
    (lit.ephemeral_weight + 1) as f64 / 2.0 + 0.5
}

/// `x -> cos(2 pi (K x - 1/4) / 2^r)`: what EvalMod interpolates on `[-1, 1]` before its `r`
/// double angles.
fn scaled_cosine(lit: &BootstrapParametersLiteral) -> impl Fn(f64) -> f64 {
    let (k, r) = (overflow_bound(lit), lit.double_angles as i32);
    move |x| (2.0 * PI * (k * x - 0.25) / 2f64.powi(r)).cos()
}

/// A validated bootstrappable set: the CKKS parameters, the encapsulation ring and the circuit.
#[derive(Debug, Clone)]
pub struct BootstrapParameters {
    literal: BootstrapParametersLiteral,
    params: Parameters,
    /// `q_0` and `p_0` with the sparse secret: where encapsulation switches.
    encapsulation: rlwe::Parameters,
    sine: Polynomial,
    cts: HomomorphicDft,
    stc: HomomorphicDft,
}

impl BootstrapParameters {
    /// Validates `lit`, refusing a set below 128-bit security by the HomomorphicEncryption.org
    /// table.
    pub fn new(lit: &BootstrapParametersLiteral) -> Result<BootstrapParameters, CkksError> {
        Self::build(lit, Parameters::new)
    }

    /// Validates `lit` without a security requirement: toy sets for tests.
    pub fn new_toy(lit: &BootstrapParametersLiteral) -> Result<BootstrapParameters, CkksError> {
        Self::build(lit, Parameters::new_toy)
    }

    fn build(
        lit: &BootstrapParametersLiteral,
        make: fn(&ParametersLiteral) -> Result<Parameters, CkksError>,
    ) -> Result<BootstrapParameters, CkksError> {
        let invalid = |what: String| CkksError::Parameters(rlwe::ParameterError::Invalid(what));
        if lit.work_levels == 0 || lit.cts_levels == 0 || lit.stc_levels == 0 {
            return Err(invalid(
                "bootstrapping needs at least one level of work, CoeffsToSlots and SlotsToCoeffs".into(),
            ));
        }
        if lit.double_angles == 0 {
            return Err(invalid(
                "EvalMod needs at least one double angle (a paired bootstrapping halves the last one)".into(),
            ));
        }
        if lit.log_q0 <= lit.log_scale {
            return Err(invalid(format!(
                "q_0 ({} bits) must exceed the work scale ({} bits)",
                lit.log_q0, lit.log_scale
            )));
        }
        let n = 1usize << lit.log_n.min(31);
        if lit.log_slots == 0 || lit.log_slots >= lit.log_n {
            return Err(invalid(format!(
                "2^{} slots: between 2 and N / 2 = 2^{} are possible",
                lit.log_slots,
                lit.log_n.saturating_sub(1)
            )));
        }
        if lit.ephemeral_weight == 0 || lit.ephemeral_weight > n {
            return Err(invalid(format!(
                "ephemeral Hamming weight {} must be between 1 and N",
                lit.ephemeral_weight
            )));
        }
        let sine = Polynomial::interpolate(scaled_cosine(lit), lit.sine_degree, -1.0, 1.0)?;
        let evalmod_levels = sine.depth() + lit.double_angles;
        let log_q: Vec<u32> = std::iter::once(lit.log_q0)
            .chain(std::iter::repeat_n(lit.log_scale, lit.work_levels + lit.stc_levels - 1))
            .chain(std::iter::repeat_n(
                lit.log_boot_scale,
                lit.cts_levels + evalmod_levels + 1,
            ))
            .collect();
        let params = make(&ParametersLiteral {
            log_n: lit.log_n,
            log_q,
            log_p: lit.log_p.clone(),
            secret: SecretDistribution::Ternary,
            error_std: rlwe::DEFAULT_ERROR_STD,
            digits: lit.digits,
            log_default_scale: lit.log_scale,
        })?;
        let slots = 1usize << lit.log_slots;
        let encapsulation = params.rlwe().restricted(
            1,
            1,
            SecretDistribution::SparseTernary {
                hamming_weight: lit.ephemeral_weight,
            },
        )?;
        let cts = HomomorphicDft::new(slots, DftDirection::CoeffsToSlots, lit.cts_levels, 0.5)?;
        let q0 = params.q()[0] as f64;
        let stc = HomomorphicDft::new(
            slots,
            DftDirection::SlotsToCoeffs,
            lit.stc_levels,
            q0 / (2.0 * PI * params.scale_at(0)),
        )?;
        Ok(BootstrapParameters {
            literal: lit.clone(),
            params,
            encapsulation,
            sine,
            cts,
            stc,
        })
    }

    /// The CKKS parameters; users work at and below [`Self::work_level`].
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    pub fn literal(&self) -> &BootstrapParametersLiteral {
        &self.literal
    }

    /// The ring of `q_0` and `p_0` where encapsulation switches to the sparse secret.
    pub fn encapsulation(&self) -> &rlwe::Parameters {
        &self.encapsulation
    }

    /// The scale the raised (and traced) ciphertext is read at: `g K q_0`, which puts its
    /// coefficients in `[-1, 1]`.
    fn raised_scale(&self) -> f64 {
        let g = self.params.max_slots() / self.slots();
        g as f64 * overflow_bound(&self.literal) * self.params.q()[0] as f64
    }

    /// Identity of the set and of the circuit's layout; bootstrapping keys carry it.
    pub fn fingerprint(&self) -> u64 {
        let lit = &self.literal;
        [
            lit.log_slots as usize,
            lit.cts_levels,
            lit.stc_levels,
            lit.ephemeral_weight,
            lit.sine_degree,
            lit.double_angles,
        ]
        .iter()
        .fold(self.params.fingerprint(), |h, &x| {
            (h ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// Slots of the ciphertexts bootstrapped.
    pub fn slots(&self) -> usize {
        1 << self.literal.log_slots
    }

    /// The steps and Galois elements of the trace onto `Z[X^g]` (none with full slots):
    /// rotations by `n 2^i` over `N / 2` slots, `n 2^i < N / 2`.
    fn trace_elements(&self) -> Vec<(i64, u64)> {
        let (n, full) = (self.slots(), self.params.max_slots());
        std::iter::successors(Some(n as i64), |&k| Some(2 * k))
            .take_while(|&k| k < full as i64)
            .map(|k| (k, self.params.rotation_galois_element(k, full)))
            .collect()
    }

    /// The level of bootstrapped ciphertexts: the levels left to the user.
    pub fn work_level(&self) -> usize {
        self.literal.work_levels
    }

    /// Levels of EvalMod: the depth of the sine interpolant plus the double angles.
    pub fn evalmod_levels(&self) -> usize {
        self.sine.depth() + self.literal.double_angles
    }

    /// The largest error of the sine interpolant on `[-1, 1]` (before the double angles, which
    /// multiply it by up to `4^r`), measured on a fine grid.
    pub fn sine_interpolation_error(&self) -> f64 {
        let f = scaled_cosine(&self.literal);
        (0..=20_000)
            .map(|i| -1.0 + i as f64 / 10_000.0)
            .map(|x| (self.sine.evaluate(x) - f(x)).abs())
            .fold(0.0, f64::max)
    }

    /// The rotation steps whose keys bootstrapping needs (both DFTs), increasing.
    pub fn rotations(&self) -> Vec<i64> {
        let mut steps = self.cts.rotations();
        steps.extend(self.stc.rotations());
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// The client's part: relinearisation, conjugation and the DFTs' rotation keys (plus the
    /// keys of `extra_rotations`, for the user's own circuits), and the two encapsulation keys.
    pub fn generate_keys(
        &self,
        kg: &mut KeyGenerator,
        sk: &SecretKey,
        extra_rotations: &[i64],
    ) -> Result<BootstrapKeys, CkksError> {
        let mut evaluation = EvaluationKeys::default();
        evaluation.relinearization = Some(kg.relinearization_key(sk)?);
        let slots = self.slots();
        let mut elements: Vec<u64> = self
            .rotations()
            .iter()
            .chain(extra_rotations)
            .filter(|&&k| k.rem_euclid(slots as i64) != 0)
            .map(|&k| self.params.rotation_galois_element(k, slots))
            .collect();
        elements.push(conjugation_galois_element(self.params.n()));
        elements.extend(self.trace_elements().into_iter().map(|(_, g)| g));
        elements.sort_unstable();
        elements.dedup();
        for g in elements {
            evaluation.insert_galois(kg.galois_key(sk, g)?);
        }
        let sparse = kg.sparse_secret_key(self.literal.ephemeral_weight)?;
        let to_dense = kg.switching_key(&sparse, sk)?;
        let rlwe = self.params.rlwe();
        let to_sparse = KeyGenerator::new(&self.encapsulation)?.switching_key(
            &sk.restricted(rlwe, &self.encapsulation)?,
            &sparse.restricted(rlwe, &self.encapsulation)?,
        )?;
        Ok(BootstrapKeys {
            evaluation,
            encapsulation: EncapsulationKeys { to_sparse, to_dense },
        })
    }
}

/// The keys of sparse-secret encapsulation: dense to sparse modulo `q_0 p_0`, sparse to dense
/// modulo `Q P`.
#[derive(Debug, Clone)]
pub struct EncapsulationKeys {
    pub to_sparse: SwitchingKey,
    pub to_dense: SwitchingKey,
}

/// Everything the cloud needs to bootstrap (and to compute between bootstraps).
#[derive(Debug, Clone)]
pub struct BootstrapKeys {
    pub evaluation: EvaluationKeys,
    pub encapsulation: EncapsulationKeys,
}

impl BootstrapKeys {
    /// Bytes of key material in memory.
    pub fn size_bytes(&self) -> usize {
        self.evaluation.size_bytes()
            + self.encapsulation.to_sparse.size_bytes()
            + self.encapsulation.to_dense.size_bytes()
    }
}

/// EvalMod ending at `alpha` times the sine: a scaled interpolant `u_0 = beta_0 c_0` and `r`
/// steps `u_k = m_k u_(k-1)^2 - f_k`, `m_k` 1 or 2.
///
/// With `u_k = beta_k c_k`, `c_k = 2 c_(k-1)^2 - 1` the double angles and `beta_r = alpha`,
/// a step holds when `f_k = beta_k` and `m_k beta_(k-1)^2 = 2 beta_k`. Going down from
/// `beta_r`, `m_k = 2` while `beta_k >= 1` (then `beta_(k-1) = sqrt(beta_k)`, and `alpha = 1`
/// is the plain double angle `2 v^2 - 1` throughout) and `m_k = 1` below (`beta_(k-1) =
/// sqrt(2 beta_k)`), which keeps every `beta` near one. The factor costs no level: it moves
/// into the constants and the interpolant's coefficients.
#[derive(Debug, Clone)]
struct EvalMod {
    sine: Polynomial,
    /// `(m_k, f_k)` for `k = 1 .. r`.
    steps: Vec<(i64, f64)>,
}

impl EvalMod {
    fn new(params: &BootstrapParameters, alpha: f64) -> Result<EvalMod, CkksError> {
        let mut beta = alpha;
        let mut steps = Vec::with_capacity(params.literal.double_angles);
        for _ in 0..params.literal.double_angles {
            let m = if beta >= 1.0 { 2 } else { 1 };
            steps.push((m, beta));
            beta = (2.0 * beta / m as f64).sqrt();
        }
        steps.reverse();
        let (a, b) = params.sine.interval();
        let coeffs: Vec<f64> = params.sine.coefficients().iter().map(|c| c * beta).collect();
        Ok(EvalMod {
            sine: Polynomial::chebyshev(coeffs, a, b)?,
            steps,
        })
    }
}

/// The cloud's bootstrapping circuit: the evaluator, the encoded DFTs and the keys.
#[derive(Debug)]
pub struct Bootstrapper {
    params: BootstrapParameters,
    eval: Evaluator,
    pub(crate) encapsulation: EncapsulationKeys,
    small: KeySwitcher,
    cts: EncodedDft,
    stc: EncodedDft,
    /// EvalMod of one ciphertext (the sine itself) and of a pair (a quarter of it).
    single: EvalMod,
    pair: EvalMod,
}

/// Seconds each step of the last bootstrapping took (see the module documentation's steps).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BootstrapPhases {
    /// Lowering to level 0, the encapsulated ModRaise and (sparse slots) the trace.
    pub mod_raise: f64,
    /// CoeffsToSlots and the split into real and imaginary parts.
    pub coeffs_to_slots: f64,
    /// EvalMod of both parts.
    pub eval_mod: f64,
    /// Recombining the parts and SlotsToCoeffs.
    pub slots_to_coeffs: f64,
}

/// Buffers of [`Bootstrapper::bootstrap`], and the phases of the last bootstrapping it served.
#[derive(Debug)]
pub struct BootstrapScratch {
    phases: BootstrapPhases,
    eval: EvaluatorScratch,
    small: KeySwitchScratch,
    dft: DftScratch,
    /// EvalMod's of the real parts and of the imaginary parts, which run side by side.
    polynomial: [PolynomialScratch; 2],
    raised: Ciphertext,
    a: Ciphertext,
    b: Ciphertext,
    c: Ciphertext,
    switched: [RnsPoly; 2],
}

impl BootstrapScratch {
    pub fn new(params: &BootstrapParameters) -> BootstrapScratch {
        let p = params.params();
        let (top, slots) = (p.max_level(), params.slots());
        let zero = || RnsPoly::zero(p.rlwe().ring_q(), top + 1, Form::Evaluation);
        BootstrapScratch {
            phases: BootstrapPhases::default(),
            eval: EvaluatorScratch::new(p),
            small: KeySwitchScratch::new(&params.encapsulation),
            dft: DftScratch::default(),
            polynomial: [PolynomialScratch::new(p), PolynomialScratch::new(p)],
            raised: Ciphertext::new(p, top, slots),
            a: Ciphertext::new(p, top, slots),
            b: Ciphertext::new(p, top, slots),
            c: Ciphertext::new(p, top, slots),
            switched: [zero(), zero()],
        }
    }

    /// How long each step of the last [`Bootstrapper::bootstrap`] with this scratch took.
    pub fn phases(&self) -> BootstrapPhases {
        self.phases
    }
}

impl Bootstrapper {
    /// Encodes the DFTs (the one-off cost of a cloud) and takes the keys.
    pub fn new(params: &BootstrapParameters, keys: BootstrapKeys) -> Result<Bootstrapper, CkksError> {
        let p = params.params();
        let eval = Evaluator::new(p, keys.evaluation)?;
        let encoder = Encoder::new(p.rlwe().ring_q().clone(), params.slots())?;
        let top = p.max_level();
        let cts = params.cts.encode(&eval, &encoder, top, params.raised_scale())?;
        let stc_level = top - params.literal.cts_levels - params.evalmod_levels();
        let stc = params.stc.encode(&eval, &encoder, stc_level, p.scale_at(stc_level))?;
        Ok(Bootstrapper {
            small: KeySwitcher::new(&params.encapsulation)?,
            params: params.clone(),
            eval,
            encapsulation: keys.encapsulation,
            cts,
            stc,
            single: EvalMod::new(params, 1.0)?,
            pair: EvalMod::new(params, 0.25)?,
        })
    }

    pub fn params(&self) -> &BootstrapParameters {
        &self.params
    }

    /// The evaluator over the same keys, for the work between bootstraps.
    pub fn evaluator(&self) -> &Evaluator {
        &self.eval
    }

    /// `out` = `ct` with its levels restored: the same slots (within the set's precision) at
    /// [`BootstrapParameters::work_level`], on that level's canonical scale. `ct` must hold
    /// [`BootstrapParameters::slots`] slots on the canonical scale of its level (as every evaluator result does) and
    /// values small against `q_0 / S_0` (`2^10` in the presets).
    pub fn bootstrap(
        &self,
        ct: &Ciphertext,
        out: &mut Ciphertext,
        scratch: &mut BootstrapScratch,
    ) -> Result<(), CkksError> {
        let start = Instant::now();
        self.to_level_zero(ct, &mut scratch.a, &mut scratch.eval)?;
        let lowering = start.elapsed().as_secs_f64();
        self.refresh_level_zero(&self.single, out, scratch)?;
        scratch.phases.mod_raise += lowering;
        Ok(())
    }

    /// `out_a`, `out_b` = the real parts of `a`, `b` with their levels restored, as
    /// [`Self::bootstrap`] would give them, for the price of one bootstrapping and three
    /// conjugations (two at level 0). At level 0 it takes `2 Re(a)` and `2 Re(b)` (a conjugation
    /// each), so that no imaginary part crosses over from one to the other (CKKS values out of a
    /// steep polynomial carry their imaginary noise times its derivative), bootstraps
    /// `2 h = 2 (Re(a) + i Re(b))` with EvalMod ending at a quarter of the sine (`h / 2`, no
    /// level), and splits it:
    ///
    /// ```text
    /// a = h / 2 + conj(h / 2),    b = i (conj(h / 2) - h / 2).
    /// ```
    ///
    /// The bootstrapping error of `h` splits into its real part (in `a`) and its imaginary part
    /// (in `b`): each keeps about the precision of a bootstrapping alone, and both come out
    /// real.
    pub fn bootstrap_real_pair(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        out_a: &mut Ciphertext,
        out_b: &mut Ciphertext,
        scratch: &mut BootstrapScratch,
    ) -> Result<(), CkksError> {
        let eval = &self.eval;
        let start = Instant::now();
        {
            let BootstrapScratch {
                eval: s,
                a: ra,
                b: rb,
                c,
                ..
            } = &mut *scratch;
            self.to_level_zero(a, ra, s)?;
            self.to_level_zero(b, rb, s)?;
            for part in [&mut *ra, &mut *rb] {
                eval.conjugate(part, c, s)?;
                eval.add_assign(part, c, s)?;
            }
            eval.mul_by_i(rb, c)?;
            eval.add_assign(ra, c, s)?;
        }
        let lowering = start.elapsed().as_secs_f64();
        self.refresh_level_zero(&self.pair, out_a, scratch)?;
        scratch.phases.mod_raise += lowering;
        let BootstrapScratch { eval: s, b, c, .. } = scratch;
        eval.conjugate(out_a, c, s)?;
        eval.sub(c, out_a, b, s)?;
        eval.mul_by_i(b, out_b)?;
        eval.add_assign(out_a, c, s)
    }

    /// `ct` at level 0 on its canonical scale, into `out`: SlotsToCoeffs is encoded for that
    /// scale.
    fn to_level_zero(&self, ct: &Ciphertext, out: &mut Ciphertext, s: &mut EvaluatorScratch) -> Result<(), CkksError> {
        let params = self.params.params();
        if ct.slots != self.params.slots() {
            return Err(CkksError::SlotMismatch(ct.slots, self.params.slots()));
        }
        if ct.level() > 0 {
            self.eval.lower_to(ct, 0, params.scale_at(0), out, s)
        } else if same_scale(ct.scale, params.scale_at(0)) {
            check_fingerprint(params, ct.fingerprint)?;
            out.copy_from(ct);
            Ok(())
        } else {
            Err(CkksError::ScaleMismatch {
                level: 0,
                log_a: ct.scale.log2(),
                log_b: params.scale_at(0).log2(),
            })
        }
    }

    /// The pipeline of the module documentation on `scratch.a` (at level 0, canonical scale),
    /// into `out`, EvalMod by `eval_mod`.
    fn refresh_level_zero(
        &self,
        eval_mod: &EvalMod,
        out: &mut Ciphertext,
        scratch: &mut BootstrapScratch,
    ) -> Result<(), CkksError> {
        let eval = &self.eval;
        let BootstrapScratch {
            phases,
            eval: s,
            small,
            dft,
            polynomial,
            raised,
            a,
            b,
            c,
            switched,
        } = scratch;
        let mut clock = Instant::now();
        let mut lap = || std::mem::replace(&mut clock, Instant::now()).elapsed().as_secs_f64();
        self.encapsulate_and_raise(a, raised, switched, small, s)?;
        phases.mod_raise = lap();
        // CoeffsToSlots, then the real and imaginary parts of the coefficients.
        eval.homomorphic_dft(raised, &self.cts, a, s, dft)?;
        eval.conjugate(a, b, s)?;
        eval.sub(b, a, c, s)?;
        eval.add_assign(a, b, s)?;
        eval.mul_by_i(c, b)?;
        phases.coeffs_to_slots = lap();
        // EvalMod of each, side by side (two independent chains of products keep two threads
        // busier than splitting each product's limbs): a holds the real parts, b the imaginary.
        let [real, imaginary] = polynomial;
        let (re, im) = rayon::join(
            || self.eval_mod(a, c, eval_mod, real),
            || self.eval_mod(b, raised, eval_mod, imaginary),
        );
        re?;
        im?;
        phases.eval_mod = lap();
        eval.mul_by_i(raised, b)?;
        eval.add_assign(c, b, s)?;
        eval.homomorphic_dft(c, &self.stc, out, s, dft)?;
        phases.slots_to_coeffs = lap();
        Ok(())
    }

    /// Steps 1 to 3 of the module documentation: `ct` at level 0 under the dense secret into
    /// `out` at the top level under the dense secret, read at scale `K q_0`.
    fn encapsulate_and_raise(
        &self,
        ct: &Ciphertext,
        out: &mut Ciphertext,
        switched: &mut [RnsPoly; 2],
        small: &mut KeySwitchScratch,
        s: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let params = self.params.params();
        let ring = params.rlwe().ring_q();
        let q0 = ring.moduli()[0];
        let [u0, u1] = switched;
        // Dense to sparse at level 0: (c0 + u0, u1).
        u0.reshape_for_overwrite(1, Form::Evaluation);
        u1.reshape_for_overwrite(1, Form::Evaluation);
        self.small
            .switch(&ct.inner.c1, &self.encapsulation.to_sparse, u0, u1, small)?;
        ring.add_assign(u0, &ct.inner.c0);
        // ModRaise: centred residues mod q_0 lifted to every prime of Q.
        let top = params.max_level() + 1;
        for (src, dst) in [(&mut *u0, &mut out.inner.c0), (&mut *u1, &mut out.inner.c1)] {
            ring.intt(src);
            dst.reshape_for_overwrite(top, Form::Coefficient);
            ring.lift_centered(src, &q0, dst);
            ring.ntt(dst);
        }
        // Sparse to dense over Q P.
        u0.reshape_for_overwrite(top, Form::Evaluation);
        u1.reshape_for_overwrite(top, Form::Evaluation);
        self.eval
            .switcher
            .switch(&out.inner.c1, &self.encapsulation.to_dense, u0, u1, &mut s.key_switch)?;
        ring.add_assign(&mut out.inner.c0, u0);
        std::mem::swap(&mut out.inner.c1, u1);
        out.inherit(ct, self.params.raised_scale());
        self.trace(out, s)
    }

    /// `ct += sigma(ct)` for each Galois element of the trace: `g` times the part of `ct` in
    /// `Z[X^g]`.
    fn trace(&self, ct: &mut Ciphertext, s: &mut EvaluatorScratch) -> Result<(), CkksError> {
        let ring = self.params.params().rlwe().ring_q();
        for (step, g) in self.params.trace_elements() {
            let key = self
                .eval
                .keys()
                .galois(g)
                .ok_or(CkksError::MissingRotationKey { step, g })?;
            let rotated = &mut s.rotated;
            rotated.inherit(ct, ct.scale);
            self.eval
                .switcher
                .automorphism(&ct.inner, key, &mut rotated.inner, &mut s.key_switch)?;
            ring.add_assign(&mut ct.inner.c0, &rotated.inner.c0);
            ring.add_assign(&mut ct.inner.c1, &rotated.inner.c1);
        }
        Ok(())
    }

    /// `out = alpha sin(2 pi K x)` slot-wise for real `x` in `[-1, 1]`, by `eval_mod`'s scaled
    /// interpolant and steps `u -> m u^2 - f` (see [`EvalMod`]).
    fn eval_mod(
        &self,
        x: &Ciphertext,
        out: &mut Ciphertext,
        eval_mod: &EvalMod,
        scratch: &mut PolynomialScratch,
    ) -> Result<(), CkksError> {
        let eval = &self.eval;
        eval.evaluate_polynomial(x, &eval_mod.sine, out, scratch)?;
        let s = &mut scratch.eval;
        let tmp = &mut scratch.giant;
        for &(m, f) in &eval_mod.steps {
            eval.mul_relin(out, out, tmp, s)?;
            eval.rescale_assign(tmp, s)?;
            if m != 1 {
                eval.mul_int(tmp, m, out, s)?;
                std::mem::swap(out, tmp);
            }
            eval.add_const(tmp, (-f).into(), out, s)?;
        }
        Ok(())
    }
}
