//! The homomorphic special FFT of bootstrapping: CoeffsToSlots and SlotsToCoeffs as products of
//! sparse linear transforms (Cheon, Han, Kim, Kim and Song 2018; Chen, Chillotti and Song 2019).
//!
//! # The factorisation
//!
//! With `n` slots ([`SpecialFft`]), the decoding map `D` sends the coefficient vector
//! `c_k = m'_k + i m'_(k+n)` to the slots `z_j = c(rho_j) = sum_k c_k rho_j^k`, `rho_j = xi_n^(5^j)`,
//! `xi_m = exp(i pi / (2m))`. Split `c(Y) = c_e(Y^2) + Y c_o(Y^2)` into its even and odd halves.
//! Since `5^(n/2) = 1 + 2n mod 4n`, `rho_(j+n/2) = -rho_j`, and the squares `rho_j^2 = xi_(n/2)^(5^j)`
//! are the `n/2` roots of the half-size problem (5 has order `n/2` mod `2n`), so for `j < n/2`
//!
//! ```text
//! z_j       = (D_(n/2) c_e)_j + tau_(n,j) (D_(n/2) c_o)_j,      tau_(m,j) = xi_m^(5^j mod 4m),
//! z_(j+n/2) = (D_(n/2) c_e)_j - tau_(n,j) (D_(n/2) c_o)_j.
//! ```
//!
//! Unrolled down to size 1, with `L = log2(n)` and the bit-reversal permutation `Pi`
//! (`(Pi c)_p = c_(rev(p))`, an involution):
//!
//! ```text
//! D = S_L S_(L-1) ... S_1 Pi,     S_l = I_(n/m) (x) [[I_h, T_m], [I_h, -T_m]],   m = 2^l, h = m/2,
//! E = D^-1 = Pi S_1^-1 ... S_L^-1,   S_l^-1 = I_(n/m) (x) 1/2 [[I_h, I_h], [T_m^*, -T_m^*]],
//! ```
//!
//! `T_m = diag(tau_(m,0), ..., tau_(m,h-1))`. Each stage acts on the slot vector in its own order
//! (slot `j` is the root `5^j`, what rotations move), and its only nonzero generalised diagonals
//! (`d_k[i] = M[i][(i + k) mod n]`) are `k = 0, h, -h`: three, two for the last stage where
//! `h = -h mod n`.
//!
//! # The bit reversal
//!
//! `Pi` is not diagonal-sparse, so it is never evaluated: CoeffsToSlots computes
//! `Pi E = S_1^-1 ... S_L^-1` (slot `p` receives `c_(rev(p))`) and SlotsToCoeffs computes
//! `D Pi = S_L ... S_1` (slot `p` must hold `c_(rev(p))`). A slot-wise map `f` such as EvalMod
//! commutes with `Pi`, so `StC(f(CtS(z))) = D Pi Pi f(E z) = D f(E z)`: bootstrapping is
//! correct with the coefficients in bit-reversed order. [`bit_reversed`] gives the natural
//! order in the clear.
//!
//! # Merging into a level budget
//!
//! A plan with level budget `b` groups the `L` stages, in order, into `b` factors of `floor(L / b)`
//! or `ceil(L / b)` consecutive stages, and multiplies each group into one [`LinearTransform`].
//! The product of stages `l0 + 1 ..= l0 + r` has diagonals in `{k 2^l0 : |k| <= 2^r - 1}`, at most
//! `2^(r+1) - 1`; when the group holds the last stage the offsets are taken mod `n = 2^(l0+r)`
//! and only `2^r` remain, so the larger groups go to the slot side (the largest blocks). Each
//! factor costs one level and about `2 sqrt(#diagonals)` rotations (baby-step giant-step).
//!
//! A real `scaling` constant multiplies the factor on the coefficient side: the last one
//! applied by CoeffsToSlots, the first one applied by SlotsToCoeffs. In bootstrapping the
//! CoeffsToSlots constant is small (it brings `K q_0 / scale` into the range of EvalMod), and
//! applying it last keeps the intermediate values large against the rescaling noise; the two
//! directions mirror each other, so `StC(1/a)` undoes `CtS(a)`.
//!
//! # Full and sparse slots
//!
//! The transforms act on `n` slots of an `n`-slot ciphertext, that is on an element
//! `m(X) = m'(X^g)` of the subring `Z[X^g]`, `g = N / (2n)`. CoeffsToSlots of an encryption of
//! slots `z` gives an encryption whose slot `p` holds
//!
//! ```text
//! c_(rev(p)) = m'_(rev(p)) + i m'_(rev(p)+n) = m_(g rev(p)) + i m_(g (rev(p)+n)),
//! ```
//!
//! all `2n` real coefficients of `m'` in `n` complex slots. Full slots (`n = N/2`, `g = 1`) hold
//! the `N` coefficients of `m` themselves; the real parts `(ct + conj(ct)) / 2` are the first
//! half, the imaginary parts `(ct - conj(ct)) / (2i)` the second, each then a real vector for
//! EvalMod, recombined as `re + i im` before SlotsToCoeffs. With sparse slots (`n < N/2`) the
//! rotations and the diagonals, all in `Z[X^g]`, keep the coefficients outside multiples of
//! `g` apart from those inside: the transform is exact on the `Z[X^g]` part and the rest is
//! carried along. After ModRaise the polynomial is not in `Z[X^g]`, so bootstrapping must first
//! project onto it (the trace, which multiplies by `N / (2n)`, a constant `scaling` can undo).

use std::collections::BTreeMap;
use std::f64::consts::PI;

use num_complex::Complex64;

use crate::{
    Ciphertext, CkksError, EncodedLinearTransform, Encoder, Evaluator, EvaluatorScratch, LinearTransform,
    LinearTransformScratch,
};

/// Which way a [`HomomorphicDft`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DftDirection {
    /// Slots `z` to the coefficients `c = E z`, in bit-reversed order: `Pi E`.
    CoeffsToSlots,
    /// Coefficients `c` in bit-reversed order to the slots `z = D c`: `D Pi`.
    SlotsToCoeffs,
}

/// The special FFT (or its inverse) on `slots` slots as a product of sparse linear transforms,
/// one level each; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct HomomorphicDft {
    direction: DftDirection,
    /// Butterfly stages merged into each factor, in order of application.
    stages: Vec<usize>,
    /// The factors, in order of application.
    factors: Vec<LinearTransform>,
}

/// A sparse `n x n` matrix by its generalised diagonals, `d_k[i] = M[i][(i + k) mod n]`.
type Diagonals = BTreeMap<usize, Vec<Complex64>>;

impl HomomorphicDft {
    /// Plans `direction` on `slots` slots (a power of two, at least 2) in `level_budget` factors
    /// (between 1 and `log2(slots)`), with `scaling` folded into the factor on the coefficient
    /// side.
    pub fn new(
        slots: usize,
        direction: DftDirection,
        level_budget: usize,
        scaling: f64,
    ) -> Result<HomomorphicDft, CkksError> {
        if !slots.is_power_of_two() {
            return Err(CkksError::SlotCount(slots));
        }
        let depth = slots.ilog2() as usize;
        if level_budget == 0 || level_budget > depth {
            return Err(CkksError::LevelBudget {
                budget: level_budget,
                stages: depth,
            });
        }
        if !scaling.is_finite() {
            return Err(CkksError::NotFinite("the DFT scaling"));
        }
        // Group sizes from the coefficient side (stage 1) up, the larger ones last.
        let (base, larger) = (depth / level_budget, depth % level_budget);
        let mut stages: Vec<usize> = (0..level_budget)
            .map(|g| base + usize::from(g >= level_budget - larger))
            .collect();
        // Stage numbers `l` in order of application: 1 ..= L up, or L ..= 1 down for the inverse.
        let mut order: Vec<usize> = (1..=depth).collect();
        let inverse = direction == DftDirection::CoeffsToSlots;
        if inverse {
            stages.reverse();
            order.reverse();
        }
        let mut factors = Vec::with_capacity(level_budget);
        let mut next = order.iter();
        for (g, &r) in stages.iter().enumerate() {
            let group: Vec<usize> = next.by_ref().take(r).copied().collect();
            // Later stages multiply on the left.
            let product = group[1..].iter().fold(stage(slots, group[0], inverse), |p, &l| {
                multiply(slots, &stage(slots, l, inverse), &p)
            });
            let coefficient_side = if inverse { g == level_budget - 1 } else { g == 0 };
            let mut lt = LinearTransform::new(slots);
            for (k, mut d) in product {
                if coefficient_side {
                    d.iter_mut().for_each(|x| *x *= scaling);
                }
                lt.set_diagonal(k as i64, d)?;
            }
            factors.push(lt);
        }
        Ok(HomomorphicDft {
            direction,
            stages,
            factors,
        })
    }

    pub fn slots(&self) -> usize {
        self.factors[0].slots()
    }

    pub fn direction(&self) -> DftDirection {
        self.direction
    }

    /// The factors, in order of application; each costs one level.
    pub fn factors(&self) -> &[LinearTransform] {
        &self.factors
    }

    /// How many butterfly stages each factor merges, in order of application.
    pub fn stages(&self) -> &[usize] {
        &self.stages
    }

    /// The levels an evaluation consumes: the number of factors.
    pub fn depth(&self) -> usize {
        self.factors.len()
    }

    /// The transform in f64, factor by factor: the reference for the encrypted result.
    ///
    /// # Panics
    ///
    /// If `v` does not hold one value per slot.
    pub fn apply(&self, v: &[Complex64]) -> Vec<Complex64> {
        assert_eq!(v.len(), self.slots(), "the DFT input must hold one value per slot");
        self.factors.iter().fold(v.to_vec(), |x, f| f.apply(&x))
    }

    /// The rotation steps whose keys an evaluation needs (all factors), increasing.
    pub fn rotations(&self) -> Vec<i64> {
        let mut steps: Vec<i64> = self.factors.iter().flat_map(LinearTransform::rotations).collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// Encodes the factors for an input at `level` with scale `input_scale`: factor `t` at level
    /// `level - t`, the later ones for the canonical scale that [`Evaluator::linear_transform`]
    /// leaves.
    pub fn encode(
        &self,
        eval: &Evaluator,
        encoder: &Encoder,
        level: usize,
        input_scale: f64,
    ) -> Result<EncodedDft, CkksError> {
        if level < self.depth() {
            return Err(CkksError::LevelTooLow {
                needed: self.depth(),
                level,
            });
        }
        let mut scale = input_scale;
        let mut factors = Vec::with_capacity(self.depth());
        for (t, f) in self.factors.iter().enumerate() {
            factors.push(f.encode(eval, encoder, level - t, scale)?);
            scale = eval.params().scale_at(level - t - 1);
        }
        Ok(EncodedDft { factors })
    }
}

/// A [`HomomorphicDft`] encoded for one input level and scale.
#[derive(Debug, Clone)]
pub struct EncodedDft {
    factors: Vec<EncodedLinearTransform>,
}

impl EncodedDft {
    /// The input level.
    pub fn level(&self) -> usize {
        self.factors[0].level()
    }

    /// The levels an evaluation consumes.
    pub fn depth(&self) -> usize {
        self.factors.len()
    }

    /// The rotation steps whose keys an evaluation needs, increasing.
    pub fn rotations(&self) -> Vec<i64> {
        let mut steps: Vec<i64> = self
            .factors
            .iter()
            .flat_map(EncodedLinearTransform::rotations)
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }
}

/// Buffers of [`Evaluator::homomorphic_dft`].
#[derive(Debug, Default)]
pub struct DftScratch {
    linear: LinearTransformScratch,
    /// The input of the next factor.
    pending: Option<Ciphertext>,
}

impl Evaluator {
    /// `out` = the encoded DFT of the encryption `ct`: one [`Evaluator::linear_transform`] per
    /// factor, `dft.depth()` levels below `ct`, on the canonical scale of that level.
    pub fn homomorphic_dft(
        &self,
        ct: &Ciphertext,
        dft: &EncodedDft,
        out: &mut Ciphertext,
        scratch: &mut EvaluatorScratch,
        buffers: &mut DftScratch,
    ) -> Result<(), CkksError> {
        let (first, rest) = dft.factors.split_first().ok_or(CkksError::EmptyTransform)?;
        self.linear_transform(ct, first, out, scratch, &mut buffers.linear)?;
        let pending = buffers.pending.get_or_insert_with(|| ct.clone());
        for factor in rest {
            std::mem::swap(out, pending);
            self.linear_transform(pending, factor, out, scratch, &mut buffers.linear)?;
        }
        Ok(())
    }
}

/// `v` with its indices bit-reversed, `out[p] = v[rev(p)]` over `log2(len)` bits: the order of
/// the coefficients after CoeffsToSlots (and before SlotsToCoeffs). An involution.
pub fn bit_reversed<T: Copy>(v: &[T]) -> Result<Vec<T>, CkksError> {
    if !v.len().is_power_of_two() {
        return Err(CkksError::SlotCount(v.len()));
    }
    let bits = v.len().ilog2();
    Ok((0..v.len())
        .map(|p| v[p.reverse_bits().checked_shr(usize::BITS - bits).unwrap_or(0)])
        .collect())
}

/// The butterfly stage `S_l` (or `S_l^-1` if `inverse`) on `n` slots, block length `m = 2^l`.
fn stage(n: usize, l: usize, inverse: bool) -> Diagonals {
    let (m, h) = (1usize << l, 1usize << (l - 1));
    let mut d = Diagonals::new();
    let mut put = |row: usize, col: usize, value: Complex64| {
        d.entry((col + n - row) % n)
            .or_insert_with(|| vec![Complex64::default(); n])[row] += value;
    };
    let one = Complex64::new(1.0, 0.0);
    // 5^j mod 4m, for tau_(m,j) = exp(2 pi i (5^j mod 4m) / 4m).
    let mut w = 1usize;
    for j in 0..h {
        let tau = Complex64::from_polar(1.0, 2.0 * PI * w as f64 / (4 * m) as f64);
        for block in (0..n).step_by(m) {
            let (top, bottom) = (block + j, block + j + h);
            if inverse {
                put(top, top, one / 2.0);
                put(top, bottom, one / 2.0);
                put(bottom, top, tau.conj() / 2.0);
                put(bottom, bottom, -tau.conj() / 2.0);
            } else {
                put(top, top, one);
                put(top, bottom, tau);
                put(bottom, top, one);
                put(bottom, bottom, -tau);
            }
        }
        w = w * 5 % (4 * m);
    }
    d
}

/// The product `A B` of two sparse matrices on `n` slots: diagonal `a` of `A` times diagonal `b`
/// of `B` lands on diagonal `a + b`, `(A B)_(a+b)[i] += A_a[i] B_b[i + a]`.
fn multiply(n: usize, a: &Diagonals, b: &Diagonals) -> Diagonals {
    let mut out = Diagonals::new();
    for (&ka, da) in a {
        for (&kb, db) in b {
            let d = out
                .entry((ka + kb) % n)
                .or_insert_with(|| vec![Complex64::default(); n]);
            for (i, x) in d.iter_mut().enumerate() {
                *x += da[i] * db[(i + ka) % n];
            }
        }
    }
    out
}
