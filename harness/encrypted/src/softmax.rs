//! HETAL's softmax approximation (Algorithm 1) as a polynomial circuit on the class-scores
//! layout, row by row, for logits in `[-R, R]`, `R = 128`:
//!
//! 1. normalise `z = x / 2R` (padded classes at `-1/2`) and tile the row's `c_pad` classes over
//!    two periods, so that a window of `c_pad` columns starting in the first stays in the row;
//! 2. row max by `log2 c_pad` rounds of `a <- max(a, rot(a, 2^m))`, with
//!    `max(a, b) = b + (a - b) t`, `t = (f(g(g(a - b))) + 1) / 2` and
//!    `f(x) = (35 x - 35 x^3 + 21 x^5 - 5 x^7) / 16`,
//!    `g(x) = (4589 x - 16577 x^3 + 25614 x^5 - 12860 x^7) / 1024`; column 0's max is kept
//!    alone and spread over both periods, so that every class subtracts the same value;
//! 3. `exp(u)` of `u = 2R (z - max)`, in `[-2R, 0]`. Two ways exist:
//!    * HETAL's ([`Softmax::hetal`]): a domain extension, for `i = n-1 .. 0`,
//!      `u <- u - (4/27) u^3 / (r^2 L^(2i))` with `r = 8, L = 2, n = 5` (which maps `[-2R, 0]`
//!      into `[-8, 0]`, near the identity close to 0 and flattening what lies far below), then
//!      `exp(u) ≈ p(u / 8)^8`, `p` HETAL's degree-8 polynomial, by three squarings: 16 levels;
//!    * BlindTuner's ([`Softmax::new`]): `exp(u) = exp(u / 64)^64`, `exp(u / 64)` on the whole
//!      domain (`u / 64` in `[-4, 0]`) by the degree-7 polynomial interpolating it at the
//!      Chebyshev nodes, then six squarings: 9 levels, 1.0e-3 relative error at worst on the
//!      domain (squaring multiplies the polynomial's relative error by 64), no flattening;
//! 5. `1 / Σ exp` by Goldschmidt's iteration `t <- t^2, y <- y (1 + t)`, which takes a start
//!    `y_0` with relative error `t_0 = 1 - Σ y_0` to `1 / Σ` with error `t_0^(2^k)` after `k`
//!    iterations; the result is `exp · y`. Two starts exist:
//!    * HETAL's ([`Softmax::hetal`]): `z' = Σ / R'`, `R' = 100`, `y = 2 - z'`, `t = 1 - z'`, 16
//!      iterations, 19 levels. `t_0` is close to 1 for the usual sums (1 to 20), hence the many
//!      iterations.
//!    * BlindTuner's ([`Softmax::new`]): a degree-7 polynomial `y_0 = p(Σ)` whose relative error
//!      `t_0 = q(Σ) = 1 - Σ p(Σ)` is the Chebyshev polynomial `T_8` scaled to the sum's domain
//!      `[1, 200]` (the least possible, `|t_0| <= 0.58` there), and 4 iterations: relative error
//!      at most 2e-4, in 9 levels. The domain holds every sum of HETAL's benchmark (at most 70);
//!      the sum is at least 1 because the max is never above the largest logit, and the
//!      iteration diverges from about 205 on, as HETAL's does from 200.
//!
//! In HETAL's, `y` tends to `1 / z'`, up to `R'`: bootstrapping values that large would lose
//! most of their precision, so the circuit carries `y / Y`, `Y = 128`, and `exp · Y` in its place
//! (every refreshed value then stays within `[-2, 2]`), at the price of one level for
//! `z' = Σ / Y`. BlindTuner's carries `exp` and `y ≈ 1 / Σ <= 1` as they are, and evaluates `p` and
//! `q` on `σ = β Σ / 200` (at most `β ≈ 3.4`, the one level of its mask), `β` making `q` monic.
//!
//! Constants are folded where they cost no level: `1 / 2R` into the mask that extracts the
//! input, `2R` and the exp's input scale into the domain extension's coefficients (or, in
//! BlindTuner's, into the exp polynomial's), the exp's output scale and the exp polynomial's
//! leading coefficient into that input scale `α` (so `p` evaluates as a monic polynomial in
//! `α u / 8`, in three levels), `(t + 1) / 2` into `f`, the mask that keeps column 0's max onto
//! the operands of the last round's product. The padded classes are zeroed in the domain
//! extension's last step (a mask folded into its coefficients), so their exp is a known
//! constant, subtracted from the row sum; BlindTuner's folds the same mask into its exp
//! polynomial, so their exp is 0. With HETAL's
//! inverse the circuit computes HETAL's algorithm (equal to a direct f64 transcription to
//! 1e-12, the comparison tree of row `i` starting from the class `i mod c_pad` it lists first)
//! in `36 + 10 log2(c_pad)` levels (76 for 10 or 16 classes, see [`Softmax::depth`]).
//! BlindTuner's computes the same max in one level less per round: it writes
//! `max(a, b) = (a + b) / 2 + d f(y) / 2`, `y = g(g(d))`, and evaluates `d f(y) / 2` as one
//! polynomial in `y` whose coefficients carry `d` (`d` has levels to spare), so a round takes
//! the 9 levels of `g`, `g` and `f`, and a refresh of 9 levels holds it whole where HETAL's
//! round needs two. With its exp and its inverse it takes `19 + 9 log2(c_pad)` levels (55 for
//! ten classes: a round, the exp and the inverse each fill a refresh of 9 levels exactly).
//! Both take `3 log2(c_pad) + 2` rotations per block and need `s1 >= 2 c_pad`. Their error
//! against the exact softmax, on rows uniform in `[-r, r]` for `r` in 4, 8, 32, 128 (HETAL's
//! benchmark): HETAL's at most 3.7e-3 for 3 classes, 1.5e-2 for 10, 1.7e-2 for 16;
//! BlindTuner's 1.8e-4 for each. The output's first `c_pad` columns hold the probabilities, the
//! others garbage.

use blindtuner_backend::plain::PlainBackend;
use blindtuner_backend::{Backend, Cloud};
use blindtuner_features::Matrix;

use crate::EncryptedError;
use crate::ops::{doubling_steps, require_levels, rotate_and_add, rotation_keys};
use crate::packing::{BlockShape, PackedScores, log2, padded_classes};
use crate::poly;
use crate::refresh::Levels;

/// `R`: the logits' domain is `[-R, R]`.
pub const DOMAIN: f64 = 128.0;
/// The comparison polynomial `f` (applied last, once).
const F: [f64; 8] = [0.0, 35.0 / 16.0, 0.0, -35.0 / 16.0, 0.0, 21.0 / 16.0, 0.0, -5.0 / 16.0];
/// The comparison polynomial `g` (applied first, twice).
const G: [f64; 8] = [
    0.0,
    4589.0 / 1024.0,
    0.0,
    -16577.0 / 1024.0,
    0.0,
    25614.0 / 1024.0,
    0.0,
    -12860.0 / 1024.0,
];
const G_ITERATIONS: usize = 2;
/// Domain extension: `r`, `L` and the number of steps `n` (`R = (r / 2) L^n`).
const EXTENSION_R: f64 = 8.0;
const EXTENSION_L: f64 = 2.0;
const EXTENSION_STEPS: usize = 5;
/// HETAL's degree-8 polynomial for `exp(8 x)^(1/8)` on `[-1, 1]`, lowest degree first.
const EXP: [f64; 9] = [
    1.000000001945585,
    0.9999999388932228,
    0.499999859398392,
    0.16666798775227673,
    0.04166711228500117,
    0.008328336039797088,
    0.0013881473292497602,
    0.00020492629147503022,
    2.551385701569812e-05,
];
/// `exp(u) ≈ p(u / 2^EXP_SQUARINGS)^(2^EXP_SQUARINGS)`.
const EXP_SQUARINGS: usize = 3;
/// BlindTuner's exp without the domain extension: `exp(u) ≈ q(w)^(2^DIRECT_SQUARINGS)` on
/// `w = u / 2R`, `q` interpolating `exp(2R w / 2^DIRECT_SQUARINGS)` (`exp(4 w)`) at the Chebyshev
/// nodes of `DIRECT_DOMAIN` (`[-1, 0]` with a margin for the max's error), degree
/// `DIRECT_DEGREE`: odd, so that `q` masked takes 3 levels.
const DIRECT_SQUARINGS: usize = 6;
const DIRECT_DEGREE: usize = 7;
const DIRECT_DOMAIN: (f64, f64) = (-1.02, 0.04);
/// Periods of `c_pad` columns the row's classes are tiled over: rotations by up to `c_pad - 1`
/// then reach a whole period from every column of the first.
const TILES: usize = 2;
/// HETAL's inverse: Goldschmidt's `R'` and its iterations.
const INVERSE_R: f64 = 100.0;
/// `Y`: HETAL's inverse carries `y / Y`, at most `R' / Y`, and `exp · Y`.
const INVERSE_SCALE: f64 = 128.0;
const INVERSE_ITERATIONS: usize = 16;
/// BlindTuner's inverse: the domain `[a, b]` of the row sum, the degree of the start `p`
/// (odd, so that `q`, of the even degree above, is monic after a positive substitution), and the
/// iterations.
const SUM_DOMAIN: (f64, f64) = (1.0, 200.0);
const SEED_DEGREE: usize = 7;
const SEEDED_ITERATIONS: usize = 4;

/// How the circuit computes `1 / Σ exp`.
#[derive(Debug, Clone)]
enum Inverse {
    /// HETAL's start `y = 2 - z'`, `t = 1 - z'`.
    Hetal,
    /// A Chebyshev start on `σ = β Σ / b`.
    Seeded {
        /// `β / b` on the first period (zero elsewhere, where the window sums are garbage).
        input: Vec<f64>,
        /// `t_0 = q(σ)`, monic.
        error: Vec<f64>,
        /// `y_0 = p(σ)`.
        start: Vec<f64>,
    },
}

impl Inverse {
    /// BlindTuner's start: `q(s) = T_{d+1}(ℓ(s)) / T_{d+1}(ℓ(0))` with `ℓ` mapping the sum's
    /// domain (over `b`) onto `[-1, 1]`, so that `q(0) = 1` and `p(s) = (1 - q(s)) / s` is a
    /// polynomial; both rewritten in `σ = β s`.
    fn seeded(first_period: &[f64]) -> Inverse {
        let domain = (SUM_DOMAIN.0 / SUM_DOMAIN.1, 1.0);
        let chebyshev = poly::chebyshev_basis(SEED_DEGREE + 1, domain).pop().expect("T_8");
        let error: Vec<f64> = chebyshev.iter().map(|c| c / chebyshev[0]).collect();
        let beta = error[SEED_DEGREE + 1].powf(1.0 / (SEED_DEGREE + 1) as f64);
        debug_assert!(beta.is_finite() && beta > 0.0, "q has a positive leading coefficient");
        let powers = |i: usize| beta.powi(i as i32);
        Inverse::Seeded {
            input: first_period.iter().map(|m| m * beta / SUM_DOMAIN.1).collect(),
            error: error.iter().enumerate().map(|(i, c)| c / powers(i)).collect(),
            start: (0..=SEED_DEGREE)
                .map(|i| -error[i + 1] / powers(i) / SUM_DOMAIN.1)
                .collect(),
        }
    }

    /// The exp's output scale: what the circuit carries in place of `exp`.
    fn exp_scale(&self) -> f64 {
        match self {
            Inverse::Hetal => INVERSE_SCALE / INVERSE_R,
            Inverse::Seeded { .. } => 1.0,
        }
    }

    /// Levels from the row sum to the probabilities, the final product included.
    fn depth(&self) -> usize {
        match self {
            Inverse::Hetal => 1 + INVERSE_ITERATIONS + 2,
            Inverse::Seeded { error, start, .. } => {
                1 + poly::depth(error, false).max(poly::depth(start, true)) + SEEDED_ITERATIONS + 1
            }
        }
    }
}

/// How the circuit computes `λ exp(u)` for `u = 2R w`, `w = z - max`, `λ` the inverse's exp
/// scale.
#[derive(Debug, Clone)]
enum Exp {
    /// HETAL's: the domain extension's steps on `w` (the last zeroing the padded classes and
    /// scaling to the exp's input `y`), then `p(y)`, monic, squared `EXP_SQUARINGS` times.
    Extended { extension: Vec<Vec<f64>>, poly: Vec<f64> },
    /// BlindTuner's: `q(w)` masked to the real classes (the padded ones get 0), squared
    /// `DIRECT_SQUARINGS` times.
    Direct { poly: Vec<f64> },
}

impl Exp {
    /// HETAL's for the exp scale `λ`: `λ exp(u) ≈ (p(u / 8) λ^(1/8))^8`, a polynomial in
    /// `y = α u / 8` that is monic for `α^8 = c_8 λ^(1/8)`; the domain extension in units of 2R
    /// (`u = 2R w`, so `u - k u^3` becomes `w - k (2R)^2 w^3`), its last step scaled to `y`.
    fn extended(scale: f64) -> Exp {
        let two_r = 2.0 * DOMAIN;
        let mut extension: Vec<Vec<f64>> = (0..EXTENSION_STEPS)
            .rev()
            .map(|i| {
                let k = 4.0 / 27.0 / (EXTENSION_R * EXTENSION_R * EXTENSION_L.powi(2 * i as i32));
                vec![0.0, 1.0, 0.0, -k * two_r * two_r]
            })
            .collect();
        let root = scale.powf(1.0 / (1 << EXP_SQUARINGS) as f64);
        let alpha = (EXP[8] * root).powf(1.0 / 8.0);
        let mut poly: Vec<f64> = EXP
            .iter()
            .enumerate()
            .map(|(i, c)| c * root / alpha.powi(i as i32))
            .collect();
        poly[8] = 1.0;
        let last = extension.last_mut().expect("at least one extension step");
        let input_scale = alpha * two_r / (1 << EXP_SQUARINGS) as f64;
        last.iter_mut().for_each(|v| *v *= input_scale);
        Exp::Extended { extension, poly }
    }

    /// BlindTuner's for the exp scale `λ`: `q(w) ≈ λ^(1/64) exp(2R w / 64)`.
    fn direct(scale: f64) -> Exp {
        let squared = (1 << DIRECT_SQUARINGS) as f64;
        let (root, rate) = (scale.powf(1.0 / squared), 2.0 * DOMAIN / squared);
        let poly = poly::chebyshev_interpolant(|w| root * (rate * w).exp(), DIRECT_DEGREE, DIRECT_DOMAIN);
        Exp::Direct { poly }
    }

    fn squarings(&self) -> usize {
        match self {
            Exp::Extended { .. } => EXP_SQUARINGS,
            Exp::Direct { .. } => DIRECT_SQUARINGS,
        }
    }

    /// Levels from `w` to the exp.
    fn depth(&self) -> usize {
        let polynomials = match self {
            Exp::Extended { extension, poly } => {
                let last = extension.len() - 1;
                let extension: usize = extension
                    .iter()
                    .enumerate()
                    .map(|(i, p)| poly::depth(p, i == last))
                    .sum();
                extension + poly::depth(poly, false)
            }
            Exp::Direct { poly } => poly::depth(poly, true),
        };
        polynomials + self.squarings()
    }

    /// The exp of a padded class, which the row sum subtracts.
    fn padded(&self) -> f64 {
        match self {
            Exp::Extended { poly, .. } => poly[0].powi(1 << EXP_SQUARINGS),
            Exp::Direct { .. } => 0.0,
        }
    }
}

/// The circuit for `classes` classes at one block shape, its plaintexts prepared.
#[derive(Debug, Clone)]
pub struct Softmax {
    classes: usize,
    /// The logits arrive divided by this (see [`Softmax::with_logit_scale`]).
    logit_scale: f64,
    /// Padded classes.
    c: usize,
    shape: BlockShape,
    /// `1 / 2R` on the first period of every row.
    input: Vec<f64>,
    /// `-1/2` on the padded classes of the tiled periods, if any.
    padding: Option<Vec<f64>>,
    /// 1 on the first column of every row.
    first_column: Vec<f64>,
    /// 1 on the first period (`c_pad` columns) of every row.
    first_period: Vec<f64>,
    /// 1 on the real classes, 0 on the padded ones.
    real_classes: Vec<f64>,
    /// `(f + 1) / 2`: the comparison's last polynomial, `t`.
    compare_last: Vec<f64>,
    /// `f / 2`, for BlindTuner's [`Softmax::max_round`].
    half_f: Vec<f64>,
    /// Whether the max's rounds fold their product into `f` (BlindTuner's) or multiply by `t`
    /// after it (HETAL's).
    folded_product: bool,
    exp: Exp,
    inverse: Inverse,
}

impl Softmax {
    /// BlindTuner's circuit for `classes` classes in blocks of `shape`, which must hold two
    /// periods of the padded classes in a row (`s1 >= 2 c_pad`): HETAL's but for the inverse
    /// (see the module documentation).
    pub fn new(classes: usize, shape: BlockShape) -> Result<Softmax, EncryptedError> {
        Self::build(classes, shape, false)
    }

    /// HETAL's Algorithm 1 as published, its inverse included (10 levels deeper than
    /// [`Softmax::new`]): what the HETAL baseline runs.
    pub fn hetal(classes: usize, shape: BlockShape) -> Result<Softmax, EncryptedError> {
        Self::build(classes, shape, true)
    }

    /// The block shape for a batch of `batch` rows: HETAL's ([`BlockShape::hetal`]), its rows
    /// cut, where needed, so that each holds the two periods of classes the circuit needs.
    pub fn block_shape(batch: usize, classes: usize, slots: usize) -> Result<BlockShape, EncryptedError> {
        let hetal = BlockShape::hetal(batch, classes, slots)?;
        let periods = TILES * padded_classes(classes)?;
        let rows = hetal.rows().min(slots / periods).max(1);
        BlockShape::new(rows, slots / rows)
    }

    fn build(classes: usize, shape: BlockShape, hetal: bool) -> Result<Softmax, EncryptedError> {
        let c = padded_classes(classes)?;
        if shape.cols() < TILES * c {
            return Err(EncryptedError::Unsupported(format!(
                "the softmax needs rows of at least two periods of {c} classes, blocks are {shape}"
            )));
        }
        let class = move |i: usize, t: usize| (i + t) % c;
        let padding = (classes < c).then(|| {
            shape.slots_from(|i, t| {
                if t < TILES * c && class(i, t) >= classes {
                    -0.5
                } else {
                    0.0
                }
            })
        });

        let first_period = shape.slots_from(|_, t| f64::from(u8::from(t < c)));
        let inverse = if hetal {
            Inverse::Hetal
        } else {
            Inverse::seeded(&first_period)
        };
        let exp = if hetal { Exp::extended } else { Exp::direct }(inverse.exp_scale());

        let half_f = poly::scaled(&F, 0.5);
        let mut compare_last = half_f.clone();
        compare_last[0] += 0.5;
        Ok(Softmax {
            classes,
            logit_scale: 1.0,
            c,
            shape,
            input: shape.slots_from(|_, t| if t < c { 1.0 / (2.0 * DOMAIN) } else { 0.0 }),
            padding,
            first_column: shape.slots_from(|_, t| f64::from(u8::from(t == 0))),
            first_period,
            real_classes: shape.slots_from(|i, t| f64::from(u8::from(class(i, t) < classes))),
            compare_last,
            half_f,
            folded_product: !hetal,
            exp,
            inverse,
        })
    }

    /// The same circuit for logits that arrive divided by `scale` (weights kept divided by it):
    /// the factor folds into the input mask, free.
    pub fn with_logit_scale(mut self, scale: f64) -> Result<Softmax, EncryptedError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(EncryptedError::Unsupported(format!(
                "the logits' scale must be a positive number, not {scale}"
            )));
        }
        let factor = scale / self.logit_scale;
        self.input.iter_mut().for_each(|v| *v *= factor);
        self.logit_scale = scale;
        Ok(self)
    }

    /// What the logits arrive divided by.
    pub fn logit_scale(&self) -> f64 {
        self.logit_scale
    }

    /// Levels the circuit consumes: `1 + log2(c_pad) r + x + i` (input mask; per max round
    /// `r = 2 · 3 + 3 + 1` for HETAL's `g`, `g`, `f` and the product, `r = 9` for BlindTuner's,
    /// which folds the product into `f`; the exp, `x = 5 · 2 + 3 + 3` for HETAL's domain
    /// extension, polynomial and squarings, `x = 3 + 6` for BlindTuner's; the inverse and the
    /// final product, `i = 1 + 16 + 2` for HETAL's, `i = 1 + 3 + 4 + 1` for BlindTuner's).
    pub fn depth(&self) -> usize {
        1 + log2(self.c) * self.round_depth() + self.exp.depth() + self.inverse.depth()
    }

    /// How many of the logits' `spare` levels past the input mask the circuit uses under
    /// `levels`. BlindTuner's max refreshes each round up front when a refresh holds a whole
    /// round and the logits do not; the logits' levels then feed only `z - max`, whose max keeps
    /// at most the refresh's levels less a round's. Any other case is taken to use them all.
    pub fn logit_levels_used<Ct: Clone>(&self, levels: &Levels<Ct>, spare: usize) -> usize {
        let round = self.round_depth();
        match levels.refresh_levels() {
            Some(r) if self.folded_product && r >= round && spare < round => spare.min(r - round),
            _ => spare,
        }
    }

    /// Levels of one round of the max: `g` (`G_ITERATIONS` times), `f` and the product, which
    /// BlindTuner's circuit folds into `f`.
    fn round_depth(&self) -> usize {
        let comparison = G_ITERATIONS * poly::depth(&G, false);
        if self.folded_product {
            comparison + poly::depth(&self.half_f, true)
        } else {
            comparison + poly::depth(&self.compare_last, false) + 1
        }
    }

    /// The rotation keys the circuit needs.
    pub fn rotations(&self) -> Vec<i64> {
        let tiling = doubling_steps(-(self.c as i64), TILES);
        let spread = doubling_steps(-1, TILES * self.c);
        rotation_keys(self.shape, tiling.chain(spread).chain(doubling_steps(1, self.c)))
    }

    /// The approximate probabilities of `logits` (in `[-R, R]`), in the same layout. With a
    /// refresh in `levels`, the circuit refreshes its intermediate values where they run short
    /// of levels (all of them in `[-2, 2]`); without one, the logits must carry
    /// [`Softmax::depth`] levels.
    pub fn apply<C: Cloud>(
        &self,
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        logits: &PackedScores<C::Ciphertext>,
    ) -> Result<PackedScores<C::Ciphertext>, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        if logits.shape() != self.shape || logits.classes() != self.classes {
            return Err(EncryptedError::mismatch(
                "the softmax's classes and block shape and the logits'",
                format!("{} classes in {}", self.classes, self.shape),
                format!("{} classes in {}", logits.classes(), logits.shape()),
            ));
        }
        self.shape.check_cloud(cloud)?;
        if !levels.refreshes() {
            require_levels(cloud, "the softmax", self.depth(), logits.blocks())?;
        }
        let blocks = logits
            .blocks()
            .iter()
            .map(|x| self.block(cloud, levels, x))
            .collect::<Result<Vec<_>, EncryptedError>>()?;
        Ok(PackedScores::from_blocks(
            logits.rows(),
            self.classes,
            self.shape,
            blocks,
        ))
    }

    /// `Σ coeffs[i] x^i` (times `mask`), `x` refreshed first if it has too few levels.
    fn polynomial<C: Cloud>(
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        x: C::Ciphertext,
        coeffs: &[f64],
        mask: Option<&[f64]>,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let x = levels.ready(cloud, "the softmax", x, poly::depth(coeffs, mask.is_some()))?;
        Ok(poly::evaluate(cloud, &x, coeffs, mask)?)
    }

    /// `a b`, each refreshed first if it has no level left.
    fn product<C: Cloud>(
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        a: C::Ciphertext,
        b: C::Ciphertext,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let a = levels.ready(cloud, "the softmax", a, 1)?;
        let b = levels.ready(cloud, "the softmax", b, 1)?;
        Ok(cloud.mul(&a, &b)?)
    }

    /// The comparison of `d` (`t ≈ 1` where `d > 0`, `0` where `d < 0`, for `d` in `[-1, 1]`) up
    /// to its last polynomial (`f`, applied once): `g^G_ITERATIONS(d)`.
    fn comparison_start<C: Cloud>(
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        d: &C::Ciphertext,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let mut y = d.clone();
        for _ in 0..G_ITERATIONS {
            y = Self::polynomial(cloud, levels, y, &G, None)?;
        }
        Ok(y)
    }

    /// One round of the max: `max(a, b)`, `b = rot(a, k)`, times `mask` if given.
    ///
    /// HETAL's, as published: `b + d t`, `d = a - b`, `t` the comparison of `d`, the mask riding
    /// on `b` and `d`; `a` is refreshed before a round where `d` could not feed the comparison
    /// and the product. BlindTuner's: the same value written `(a + b) / 2 + d f(y) / 2` with
    /// `y = g(g(d))`, and `d f(y) / 2` evaluated as one polynomial in `y` whose coefficients
    /// carry `d` ([`poly::evaluate_times`]), in the depth of `f`: the round takes 9 levels
    /// instead of 10, so that one refresh (9 levels at `boot-n16`) holds a whole round, where
    /// HETAL's needs two.
    fn max_round<C: Cloud>(
        &self,
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        a: C::Ciphertext,
        k: i64,
        mask: Option<&[f64]>,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let a = if self.folded_product {
            levels.prepare(cloud, "the softmax", a, 1, self.round_depth())?
        } else {
            let needed = poly::depth(&G, false).max(1 + usize::from(mask.is_some()));
            levels.ready(cloud, "the softmax", a, needed)?
        };
        let b = cloud.rotate(&a, k)?;
        let d = cloud.sub(&a, &b)?;
        let y = Self::comparison_start(cloud, levels, &d)?;
        if !self.folded_product {
            let t = Self::polynomial(cloud, levels, y, &self.compare_last, None)?;
            let (b, d) = match mask {
                Some(mask) => (cloud.mul_plain(&b, mask)?, cloud.mul_plain(&d, mask)?),
                None => (b, d),
            };
            return Ok(cloud.add(&b, &Self::product(cloud, levels, d, t)?)?);
        }
        // d must keep a level more than y, so that its coefficient products cost y no level.
        let last = poly::depth(&self.half_f, true);
        let y = levels.ready(cloud, "the softmax", y, last)?;
        let d = levels.ready(cloud, "the softmax", d, last + 1)?;
        let sum = cloud.add(&a, &b)?;
        let mean = match mask {
            Some(mask) => cloud.mul_plain(&sum, &poly::scaled(mask, 0.5))?,
            None => cloud.mul_scalar(&sum, 0.5)?,
        };
        Ok(cloud.add(&mean, &poly::evaluate_times(cloud, &y, &self.half_f, &d, mask)?)?)
    }

    /// `a^2`, `a` refreshed first if it has no level left.
    fn square<C: Cloud>(
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        a: C::Ciphertext,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let a = levels.ready(cloud, "the softmax", a, 1)?;
        Ok(cloud.mul(&a, &a)?)
    }

    /// The circuit on one block.
    fn block<C: Cloud>(
        &self,
        cloud: &C,
        levels: &Levels<C::Ciphertext>,
        x: &C::Ciphertext,
    ) -> Result<C::Ciphertext, EncryptedError>
    where
        C::Ciphertext: Clone,
    {
        let x = levels.ready(cloud, "the softmax", x.clone(), 1)?;
        let z = cloud.mul_plain(&x, &self.input)?;
        let mut z = rotate_and_add(cloud, z, doubling_steps(-(self.c as i64), TILES))?;
        if let Some(padding) = &self.padding {
            z = cloud.add_plain(&z, padding)?;
        }

        // Row max: column 0 compares its row's classes in a tree. Its value is kept alone
        // (the mask rides on the last round's operands, costing no level) and spread over both
        // periods, so that every class subtracts the same max.
        let rounds = log2(self.c);
        let mut a = z.clone();
        for m in 0..rounds {
            let mask = (m + 1 == rounds).then_some(self.first_column.as_slice());
            a = self.max_round(cloud, levels, a, 1 << m, mask)?;
        }
        let a = rotate_and_add(cloud, a, doubling_steps(-1, TILES * self.c))?;

        let w = cloud.sub(&z, &a)?;
        let mut e = match &self.exp {
            Exp::Extended { extension, poly } => {
                let last = extension.len() - 1;
                let mut w = w;
                for (i, step) in extension.iter().enumerate() {
                    let mask = (i == last).then_some(self.real_classes.as_slice());
                    w = Self::polynomial(cloud, levels, w, step, mask)?;
                }
                Self::polynomial(cloud, levels, w, poly, None)?
            }
            Exp::Direct { poly } => Self::polynomial(cloud, levels, w, poly, Some(&self.real_classes))?,
        };
        for _ in 0..self.exp.squarings() {
            e = Self::square(cloud, levels, e)?;
        }

        // The sum (up to c_pad times the summands) is not refreshable, its summands are: if a
        // refresh holds the whole inverse, `e` is refreshed before it rather than several of the
        // values the inverse derives from it.
        let e = levels.prepare(cloud, "the softmax", e, 1, self.inverse.depth())?;
        let mut sum = rotate_and_add(cloud, e.clone(), doubling_steps(1, self.c))?;
        let padded = (self.c - self.classes) as f64 * self.exp.padded();
        if padded != 0.0 {
            sum = cloud.add_scalar(&sum, -padded)?;
        }
        // Both starts are zero beyond the first period, where the window sums are garbage and t
        // outside [-1, 1] would square itself out of any range (the masks cost what constants
        // would); t is 0 or 1 there.
        let (mut y, mut t, iterations) = match &self.inverse {
            Inverse::Hetal => {
                // z' = Σ / Y; y / Y = (2 - z') / Y, t = 1 - z'.
                let first = |v: f64| poly::scaled(&self.first_period, v);
                let y = cloud.add_plain(
                    &cloud.mul_plain(&sum, &first(-1.0 / (INVERSE_SCALE * INVERSE_SCALE)))?,
                    &first(2.0 / INVERSE_SCALE),
                )?;
                let t = cloud.add_plain(&cloud.mul_plain(&sum, &first(-1.0 / INVERSE_SCALE))?, &first(1.0))?;
                (y, t, INVERSE_ITERATIONS)
            }
            Inverse::Seeded { input, error, start } => {
                let sigma = cloud.mul_plain(&sum, input)?;
                let t = Self::polynomial(cloud, levels, sigma.clone(), error, None)?;
                let y = Self::polynomial(cloud, levels, sigma, start, Some(&self.first_period))?;
                let y = Self::product(cloud, levels, y, cloud.add_scalar(&t, 1.0)?)?;
                (y, t, SEEDED_ITERATIONS - 1)
            }
        };
        for _ in 0..iterations {
            // t must keep a level after its square for `1 + t`, or both would be refreshed.
            t = levels.ready(cloud, "the softmax", t, 2)?;
            t = cloud.mul(&t, &t)?;
            y = Self::product(cloud, levels, y, cloud.add_scalar(&t, 1.0)?)?;
        }
        Self::product(cloud, levels, e, y)
    }
}

/// The approximate softmax of each row of `logits` (entries in `[-R, R]`) by the circuit that
/// `circuit` builds ([`Softmax::new`] or [`Softmax::hetal`]), evaluated in f64 on the plain
/// backend: what an encrypted run computes without CKKS noise.
pub fn approximate_softmax(
    logits: &Matrix,
    circuit: fn(usize, BlockShape) -> Result<Softmax, EncryptedError>,
) -> Result<Matrix, EncryptedError> {
    let c = padded_classes(logits.cols)?;
    let shape = BlockShape::new(logits.rows.max(1).next_power_of_two(), 4 * c)?;
    let softmax = circuit(logits.cols, shape)?;
    let backend = PlainBackend::new(shape.slots(), softmax.depth())?;
    let (mut client, cloud) = backend.keygen(&softmax.rotations())?;
    let packed = PackedScores::encrypt(&mut client, logits, shape)?;
    softmax.apply(&cloud, &Levels::fixed(), &packed)?.decrypt(&client)
}
