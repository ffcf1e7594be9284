//! Polynomials in the Chebyshev basis ([`Polynomial`]) and their homomorphic evaluation at
//! optimal depth ([`Evaluator::evaluate_polynomial`], which documents the algorithm).

use std::f64::consts::PI;

use blindtuner_ring::{Form, RnsPoly};
use num_complex::Complex64;

use crate::encryption::check_fingerprint;
use crate::evaluator::{residues, round_integer};
use crate::{Ciphertext, CkksError, Evaluator, EvaluatorScratch, Parameters, Product};

/// Largest degree accepted: depth 12, more levels than any preset has.
pub const MAX_POLYNOMIAL_DEGREE: usize = 4095;

/// A real polynomial in the Chebyshev basis of an interval `[a, b]`:
/// `p(x) = sum_k c_k T_k(t)`, `t = (2x - a - b) / (b - a)`.
///
/// The Chebyshev polynomials `T_k(cos θ) = cos(kθ)` are bounded by one on `[-1, 1]`, which keeps
/// every intermediate of the evaluation small; from
/// `2 cos(mθ) cos(nθ) = cos((m+n)θ) + cos((m-n)θ)`,
///
/// ```text
/// T_0 = 1,   T_1 = t,   T_(m+n) = 2 T_m T_n - T_|m-n|,   T_(2n) = 2 T_n^2 - 1.
/// ```
///
/// Trailing zero coefficients are dropped: the degree is that of the highest nonzero one. The
/// plan of the homomorphic evaluation is made once, here.
#[derive(Debug, Clone, PartialEq)]
pub struct Polynomial {
    coeffs: Vec<f64>,
    a: f64,
    b: f64,
    affine: Affine,
    plan: Plan,
}

impl Polynomial {
    /// `sum_k coeffs[k] T_k(t)` on `[a, b]`.
    pub fn chebyshev(coeffs: impl Into<Vec<f64>>, a: f64, b: f64) -> Result<Polynomial, CkksError> {
        let mut coeffs = coeffs.into();
        if coeffs.is_empty() {
            return Err(CkksError::EmptyPolynomial);
        }
        if let Some(index) = coeffs.iter().position(|c| !c.is_finite()) {
            return Err(CkksError::NonFiniteCoefficient { index });
        }
        let affine = Affine::new(a, b)?;
        coeffs.truncate(coeffs.iter().rposition(|&c| c != 0.0).map_or(1, |top| top + 1));
        check_degree(coeffs.len() - 1)?;
        let plan = Plan::new(&coeffs);
        Ok(Polynomial {
            coeffs,
            a,
            b,
            affine,
            plan,
        })
    }

    /// The interpolant of `f` of degree `degree` at the `n = degree + 1` Chebyshev nodes of the
    /// first kind on `[a, b]`,
    ///
    /// ```text
    /// x_j = (a + b)/2 + (b - a)/2 cos θ_j,   θ_j = π (2j + 1) / (2n),   j = 0 .. n-1,
    /// c_k = (2 - [k = 0]) / n  sum_j f(x_j) cos(k θ_j),
    /// ```
    ///
    /// exact at the nodes by the discrete orthogonality of `cos(k θ_j)`; its uniform error is
    /// within a factor `2 + (2/π) ln(d + 1)` (one plus the Lebesgue constant) of the best
    /// approximation of degree `d`. The cosines are reduced by their exact symmetries and
    /// mirrored nodes are summed in pairs, so an odd (even) `f` on an interval symmetric about
    /// zero gets exactly zero even (odd) coefficients, when `f(-x) = -f(x)` (`f(x)`) holds in
    /// floating point as it does for `sin` (`cos`): the evaluation then skips those terms.
    pub fn interpolate(f: impl Fn(f64) -> f64, degree: usize, a: f64, b: f64) -> Result<Polynomial, CkksError> {
        Affine::new(a, b)?;
        check_degree(degree)?;
        let n = degree + 1;
        let (mid, half) = ((a + b) / 2.0, (b - a) / 2.0);
        let samples = (0..n)
            .map(|j| {
                let x = mid + half * cos_pi(2 * j + 1, n);
                let y = f(x);
                if y.is_finite() {
                    Ok(y)
                } else {
                    Err(CkksError::NonFiniteSample { x })
                }
            })
            .collect::<Result<Vec<f64>, CkksError>>()?;
        let coeffs: Vec<f64> = (0..n)
            .map(|k| {
                let term = |j: usize| samples[j] * cos_pi(k * (2 * j + 1), n);
                let mut sum: f64 = (0..n / 2).map(|j| term(j) + term(n - 1 - j)).sum();
                if n % 2 == 1 {
                    sum += term(n / 2);
                }
                sum * if k == 0 { 1.0 } else { 2.0 } / n as f64
            })
            .collect();
        Self::chebyshev(coeffs, a, b)
    }

    pub fn degree(&self) -> usize {
        self.coeffs.len() - 1
    }

    /// The Chebyshev coefficients `c_0 .. c_d`.
    pub fn coefficients(&self) -> &[f64] {
        &self.coeffs
    }

    /// The interval `(a, b)`.
    pub fn interval(&self) -> (f64, f64) {
        (self.a, self.b)
    }

    /// `p(x)` in f64, by Clenshaw's recurrence `b_k = c_k + 2t b_(k+1) - b_(k+2)`,
    /// `p = c_0 + t b_1 - b_2`.
    pub fn evaluate(&self, x: f64) -> f64 {
        let t = (2.0 * x - self.a - self.b) / (self.b - self.a);
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coeffs[1..].iter().rev() {
            (b1, b2) = (c + 2.0 * t * b1 - b2, b1);
        }
        self.coeffs[0] + t * b1 - b2
    }

    /// Levels [`Evaluator::evaluate_polynomial`] consumes: `ceil(log2(d + 1))` for degree
    /// `d >= 1`, plus one when the affine map `t = αx + β`, `α = 2 / (b - a)`,
    /// `β = -(a + b) / (b - a)`, has a non-integer `α`; zero for a constant.
    ///
    /// An integer `α` (`[-1, 1]`, `[0, 1]`, `[-1/2, 1/2]`, `[0, 2]`, ...) is an exact integer
    /// multiplication and `β` a constant addition: no level. Any other `α` is a constant product,
    /// one level. Folding `α` into the scale metadata instead would leave the scale of `T_k` off
    /// the chain by `α^-k`, exponential in the degree, and the doubling chain
    /// `T_1, T_2, T_4, ...` has no spare level to correct it.
    pub fn depth(&self) -> usize {
        match self.degree() {
            0 => 0,
            d => bit_length(d) + self.affine.levels(),
        }
    }

    /// Ciphertext-ciphertext products (tensorings) of the evaluation: one per computed power
    /// `T_i`, `i >= 2`, and one per split `q T_K`.
    pub fn products(&self) -> usize {
        self.plan.products
    }

    /// Relinearisations (key switchings) of the evaluation: one per computed power and one per
    /// chain of remainders whose products are summed before relinearising.
    pub fn relinearizations(&self) -> usize {
        self.plan.relinearizations
    }
}

fn check_degree(degree: usize) -> Result<(), CkksError> {
    if degree > MAX_POLYNOMIAL_DEGREE {
        return Err(CkksError::PolynomialDegree {
            degree,
            max: MAX_POLYNOMIAL_DEGREE,
        });
    }
    Ok(())
}

/// Number of bits of `n`: `ceil(log2(n + 1))`.
fn bit_length(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// Depth of `T_i` (`i >= 1`) below `T_1`: `ceil(log2 i)`.
fn power_depth(i: usize) -> usize {
    bit_length(i - 1)
}

/// `cos(π r / (2n))`, reduced by the symmetries of the cosine to an angle of `[0, π/4]` taken
/// by `cos` or `sin`: values equal or opposite in exact arithmetic come out equal or opposite.
fn cos_pi(r: usize, n: usize) -> f64 {
    let r = r % (4 * n);
    let r = if r > 2 * n { 4 * n - r } else { r };
    let (r, sign) = if r > n { (2 * n - r, -1.0) } else { (r, 1.0) };
    let angle = |m: usize| PI * m as f64 / (2 * n) as f64;
    sign * if 2 * r > n { angle(n - r).sin() } else { angle(r).cos() }
}

/// The map `t = αx + β` of `[a, b]` onto `[-1, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Affine {
    /// `α` an integer: exact, no level.
    Integer { alpha: i64, beta: f64 },
    /// A constant product: one level.
    Scaled { alpha: f64, beta: f64 },
}

impl Affine {
    fn new(a: f64, b: f64) -> Result<Affine, CkksError> {
        let width = b - a;
        let alpha = 2.0 / width;
        if !(a < b && width.is_finite() && alpha.is_finite()) {
            return Err(CkksError::Interval { a, b });
        }
        let beta = -(a + b) / width;
        // Integers up to 2^52 are exact in f64 and far inside i64.
        Ok(if alpha.fract() == 0.0 && alpha < 2f64.powi(52) {
            Affine::Integer {
                alpha: alpha as i64,
                beta,
            }
        } else {
            Affine::Scaled { alpha, beta }
        })
    }

    fn levels(self) -> usize {
        match self {
            Affine::Integer { .. } => 0,
            Affine::Scaled { .. } => 1,
        }
    }
}

/// How [`Evaluator::evaluate_polynomial`] computes a polynomial of degree one or more.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// Indices of the powers `T_i` to compute, increasing: each one's factors come first.
    powers: Vec<usize>,
    root: Node,
    /// Quotients nested in quotients: the partial sums alive at once, less one.
    nesting: usize,
    products: usize,
    relinearizations: usize,
}

/// A node of the split tree.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// `constant + sum c T_i` over computed powers, zero coefficients skipped.
    Leaf { constant: f64, terms: Vec<(usize, f64)> },
    /// `q T_k + r`.
    Split { k: usize, q: Box<Node>, r: Box<Node> },
}

impl Plan {
    /// The plan with the fewest products (then relinearisations, then baby steps) over the
    /// baby-step counts `2^1 .. 2^ceil(log2(d+1))`.
    fn new(coeffs: &[f64]) -> Plan {
        let depth = bit_length(coeffs.len() - 1);
        (1..=depth.max(1))
            .map(|l| Plan::with_baby_steps(coeffs, 1 << l, depth))
            .min_by_key(|p| (p.products, p.relinearizations))
            .expect("at least one baby-step count")
    }

    fn with_baby_steps(coeffs: &[f64], baby: usize, depth: usize) -> Plan {
        let root = Node::build(coeffs.to_vec(), depth, baby);
        let mut needed = vec![false; coeffs.len()];
        root.mark_powers(&mut needed);
        // Factors are smaller than their product: one pass from the top closes the set.
        for i in (2..needed.len()).rev() {
            if needed[i] {
                let (m, n) = factors(i);
                needed[m] = true;
                needed[n] = true;
                needed[m - n] |= m != n;
            }
        }
        let powers: Vec<usize> = (1..needed.len()).filter(|&i| needed[i]).collect();
        let computed = powers.len().saturating_sub(1);
        Plan {
            products: computed + root.splits(),
            relinearizations: computed + root.relinearizations(),
            nesting: root.nesting(),
            powers,
            root,
        }
    }
}

/// `(m, n)` with `T_i = 2 T_m T_n - T_(m-n)`, `m` the largest power of two below `i` (`m = n`
/// for a power of two: `T_i = 2 T_m^2 - 1`).
fn factors(i: usize) -> (usize, usize) {
    let m = 1 << (i - 1).ilog2();
    (m, i - m)
}

impl Node {
    /// The split tree of `c` within `budget` levels below `T_1`, leaves using `T_i`, `i < baby`.
    fn build(mut c: Vec<f64>, budget: usize, baby: usize) -> Node {
        let e = c.iter().rposition(|&x| x != 0.0).unwrap_or(0);
        c.truncate(e + 1);
        if e == 0 || (e < baby && power_depth(e) < budget) {
            let terms = c.iter().enumerate().skip(1).filter(|(_, x)| **x != 0.0);
            return Node::Leaf {
                constant: c[0],
                terms: terms.map(|(i, &x)| (i, x)).collect(),
            };
        }
        debug_assert!(bit_length(e) <= budget, "degree {e} over budget {budget}");
        let k = 1 << e.ilog2();
        let (q, r) = divide(&c, k);
        if q.len() == 1 {
            // A constant quotient is one more leaf term c_K T_K, which fits wherever r's last
            // remainder is evaluated.
            let mut node = Node::build(r, budget, baby);
            node.push_term(k, q[0]);
            node
        } else {
            Node::Split {
                k,
                q: Box::new(Node::build(q, budget - 1, baby)),
                r: Box::new(Node::build(r, budget, baby)),
            }
        }
    }

    fn push_term(&mut self, k: usize, c: f64) {
        match self {
            Node::Leaf { terms, .. } => terms.push((k, c)),
            Node::Split { r, .. } => r.push_term(k, c),
        }
    }

    fn mark_powers(&self, needed: &mut [bool]) {
        match self {
            Node::Leaf { terms, .. } => terms.iter().for_each(|&(i, _)| needed[i] = true),
            Node::Split { k, q, r } => {
                needed[*k] = true;
                q.mark_powers(needed);
                r.mark_powers(needed);
            }
        }
    }

    fn splits(&self) -> usize {
        match self {
            Node::Leaf { .. } => 0,
            Node::Split { q, r, .. } => 1 + q.splits() + r.splits(),
        }
    }

    /// One relinearisation for the chain of remainders from `self` if it has a product, plus
    /// those of its quotients.
    fn relinearizations(&self) -> usize {
        let (mut node, mut count) = (self, 0);
        while let Node::Split { q, r, .. } = node {
            count += q.relinearizations();
            node = r;
        }
        count + usize::from(matches!(self, Node::Split { .. }))
    }

    fn nesting(&self) -> usize {
        match self {
            Node::Leaf { .. } => 0,
            Node::Split { q, r, .. } => (1 + q.nesting()).max(r.nesting()),
        }
    }
}

/// Chebyshev division by `T_k` for `k <= deg c < 2k`: `(q, r)` with `c = q T_k + r`.
fn divide(c: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut r = c[..k].to_vec();
    let mut q = Vec::with_capacity(c.len() - k);
    q.push(c[k]);
    for j in 1..c.len() - k {
        q.push(2.0 * c[k + j]);
        r[k - j] -= c[k + j];
    }
    (q, r)
}

/// Buffers of [`Evaluator::evaluate_polynomial`], for any polynomial and level of one parameter
/// set: the Chebyshev powers and the partial sums of the recursion, grown on first use.
#[derive(Debug, Clone)]
pub struct PolynomialScratch {
    pub(crate) eval: EvaluatorScratch,
    powers: Vec<Ciphertext>,
    sums: Vec<Sum>,
    /// A giant step on the limbs of its product; a temporary of the power basis.
    pub(crate) giant: Ciphertext,
    product: Product,
    term: RnsPoly,
    residues: Vec<u64>,
}

impl PolynomialScratch {
    pub fn new(params: &Parameters) -> PolynomialScratch {
        PolynomialScratch {
            eval: EvaluatorScratch::new(params),
            powers: Vec::new(),
            sums: Vec::new(),
            giant: Ciphertext::new(params, 0, 1),
            product: Product::new(params, 0, 1),
            term: RnsPoly::zero(params.rlwe().ring_q(), 1, Form::Evaluation),
            residues: vec![0; params.max_level() + 1],
        }
    }

    /// Room for `powers` powers and `sums` partial sums. Buffers start at one limb: each grows
    /// to the level it is used at, which for most is well below the top.
    fn reserve(&mut self, params: &Parameters, powers: usize, sums: usize) {
        self.powers
            .resize_with(powers.max(self.powers.len()), || Ciphertext::new(params, 0, 1));
        self.sums.resize_with(sums.max(self.sums.len()), || Sum::new(params));
    }
}

/// A partial sum of the recursion, before its last rescaling.
#[derive(Debug, Clone)]
struct Sum {
    /// The leaf terms.
    terms: Ciphertext,
    /// The products `q T_K` of a chain of remainders, relinearised once.
    products: Product,
    /// The finished sum.
    value: Ciphertext,
    has_terms: bool,
    has_products: bool,
    constant: f64,
}

impl Sum {
    fn new(params: &Parameters) -> Sum {
        Sum {
            terms: Ciphertext::new(params, 0, 1),
            products: Product::new(params, 0, 1),
            value: Ciphertext::new(params, 0, 1),
            has_terms: false,
            has_products: false,
            constant: 0.0,
        }
    }

    fn clear(&mut self) {
        (self.has_terms, self.has_products, self.constant) = (false, false, 0.0);
    }
}

/// The buffers the recursion shares.
struct Work<'a> {
    eval: &'a mut EvaluatorScratch,
    indices: &'a [usize],
    powers: &'a [Ciphertext],
    giant: &'a mut Ciphertext,
    product: &'a mut Product,
    term: &'a mut RnsPoly,
    residues: &'a mut [u64],
}

impl<'a> Work<'a> {
    fn power(&self, i: usize) -> &'a Ciphertext {
        let powers = self.powers;
        &powers[self
            .indices
            .binary_search(&i)
            .expect("the plan computes every power it uses")]
    }
}

/// `out` = the first `level + 1` limbs of `src`, with its scale.
fn copy_levels(src: &Ciphertext, level: usize, out: &mut Ciphertext) {
    for (o, s) in [(&mut out.inner.c0, &src.inner.c0), (&mut out.inner.c1, &src.inner.c1)] {
        o.reshape_for_overwrite(level + 1, Form::Evaluation);
        o.copy_from(s);
    }
    out.inherit(src, src.scale);
}

impl Evaluator {
    /// `out = p(ct)` slot-wise, for a [`Polynomial`] `p`: [`Polynomial::depth`] levels below
    /// `ct`, on the canonical scale of that level, with [`Polynomial::products`] ciphertext
    /// products. `ct` must be rescaled (as every evaluator result is), the evaluator needs the
    /// relinearisation key, and the slots should lie in the interval of `p`, where the Chebyshev
    /// powers stay bounded by one.
    ///
    /// The algorithm is the baby-step giant-step Paterson–Stockmeyer evaluation in the Chebyshev
    /// basis (Bossuat et al., Eurocrypt 2021; Lattigo's polynomial evaluator):
    ///
    /// 1. **Powers.** `T_1 = αx + β` (see [`Polynomial::depth`]), then each needed `T_i`,
    ///    `i = m + n` with `m` the largest power of two below `i`, by the recurrence of
    ///    [`Polynomial`]: `T_i` lies `ceil(log2 i)` levels below `T_1`. Needed are the baby steps
    ///    `T_i`, `i < 2^l`, that the leaves use, the giant steps `T_(2^j)` that the splits use,
    ///    and their factors. Zero coefficients are skipped, so an odd or even `p` computes no
    ///    power of the other parity (the factors of an odd `i` are odd or powers of two).
    /// 2. **Division.** For `K <= deg p < 2K`, `p = q T_K + r` with `deg q, deg r < K`: from
    ///    `T_(K+j) = 2 T_K T_j - T_(K-j)`, `q_0 = c_K`, `q_j = 2 c_(K+j)` and
    ///    `r_(K-j) = c_(K-j) - c_(K+j)` for `j >= 1`, `r_i = c_i` otherwise.
    /// 3. **Recursion within a level budget.** Each node of the split tree has a budget `B` of
    ///    levels below `T_1`. A leaf `c_0 + sum_(i < 2^l) c_i T_i` with top index `e` needs
    ///    `ceil(log2 e) + 1` (the constant products take a level); if that fits, it is evaluated
    ///    as is. Otherwise the node splits at `K = 2^floor(log2 e)`: `q` gets `B - 1` (its product
    ///    with `T_K`, `log2 K` levels down, takes one more) and `r` keeps `B`. The root gets
    ///    `B = ceil(log2(d + 1))`, and every node keeps a budget of at least the bit length of its
    ///    degree, so every split fits: the depth is optimal. Only the leaves of the chain of
    ///    leading quotients lack a spare level; they are split further, down to degree one.
    /// 4. **Scales.** Each node is asked for its value at a level `τ` and a scale `σ`, and keeps it
    ///    before its last rescaling: at level `τ + 1` with scale `σ q_(τ+1)`. A leaf is
    ///    `sum_i round(c_i σ q_(τ+1) / S_i) T_i` on the first `τ + 2` limbs, `S_i` the scale of
    ///    `T_i`: the integers absorb the differences of scale, so no operand is lowered. A split
    ///    asks `q` for level `τ + 1` and scale `σ q_(τ+1) / S_K`, so that `q T_K` on the first
    ///    `τ + 2` limbs has scale `σ q_(τ+1)`; the products of one chain of remainders thus share
    ///    level and scale, and are tensored, summed and relinearised once. The root asks for the
    ///    canonical scale of its level.
    ///
    /// The baby-step bound `2^l` is chosen per polynomial: every `l` from 1 to `ceil(log2(d+1))`
    /// is planned, the fewest products win. For dense polynomials (every coefficient nonzero)
    /// and odd ones (every odd coefficient nonzero):
    ///
    /// | degree | depth | dense: `l` | products (powers + splits) | relins | odd: products | relins |
    /// |-------:|------:|-----------:|---------------------------:|-------:|--------------:|-------:|
    /// | 63     | 6     | 3          | 18 (9 + 9)                 | 15     | 17            | 14     |
    /// | 127    | 7     | 3          | 27 (10 + 17)               | 20     | 23            | 20     |
    pub fn evaluate_polynomial(
        &self,
        ct: &Ciphertext,
        poly: &Polynomial,
        out: &mut Ciphertext,
        scratch: &mut PolynomialScratch,
    ) -> Result<(), CkksError> {
        check_fingerprint(self.params(), ct.fingerprint)?;
        let depth = poly.depth();
        if ct.level() < depth {
            return Err(CkksError::LevelTooLow {
                needed: depth,
                level: ct.level(),
            });
        }
        if poly.degree() == 0 {
            // 0 ct + c_0: the constant as a ciphertext at the input's level and scale.
            self.mul_int(ct, 0, &mut scratch.giant, &mut scratch.eval)?;
            return self.add_const(&scratch.giant, poly.coeffs[0].into(), out, &mut scratch.eval);
        }
        // The leaf constants are encoded at about the scale of the level: an unrescaled input
        // would leave them no precision.
        self.factor_scale(ct)?;
        let plan = &poly.plan;
        scratch.reserve(self.params(), plan.powers.len(), plan.nesting + 1);
        let PolynomialScratch {
            eval,
            powers,
            sums,
            giant,
            product,
            term,
            residues,
        } = scratch;
        let powers = &mut powers[..plan.powers.len()];
        self.chebyshev_powers(ct, poly.affine, &plan.powers, powers, giant, eval)?;
        let mut work = Work {
            eval,
            indices: &plan.powers,
            powers,
            giant,
            product,
            term,
            residues,
        };
        let level = ct.level() - depth;
        let (sum, deeper) = sums.split_first_mut().expect("reserved above");
        sum.clear();
        self.evaluate_node(&plan.root, level, self.params().scale_at(level), sum, deeper, &mut work)?;
        self.finish(sum, work.eval)?;
        self.rescale(&sum.value, out, work.eval)
    }

    /// `powers[j]` = `T_indices[j]`: `T_1` by the affine map, then `T_i = 2 T_m T_n - T_(m-n)`
    /// (`2 T_m^2 - 1`), each on the canonical scale of level `level(T_1) - ceil(log2 i)`; the
    /// evaluator lowers the shallower operands.
    fn chebyshev_powers(
        &self,
        ct: &Ciphertext,
        affine: Affine,
        indices: &[usize],
        powers: &mut [Ciphertext],
        tmp: &mut Ciphertext,
        s: &mut EvaluatorScratch,
    ) -> Result<(), CkksError> {
        let t1 = &mut powers[0];
        let beta = match affine {
            Affine::Integer { alpha: 1, beta } => {
                t1.copy_from(ct);
                beta
            }
            Affine::Integer { alpha, beta } => {
                self.mul_int(ct, alpha, t1, s)?;
                beta
            }
            Affine::Scaled { alpha, beta } => {
                self.mul_const(ct, alpha.into(), t1, s)?;
                self.rescale_assign(t1, s)?;
                beta
            }
        };
        if beta != 0.0 {
            self.add_const(t1, beta.into(), tmp, s)?;
            std::mem::swap(t1, tmp);
        }
        let slot = |i: usize| indices.binary_search(&i).expect("factors are planned before products");
        for (at, &i) in indices.iter().enumerate().skip(1) {
            let (done, rest) = powers.split_at_mut(at);
            let out = &mut rest[0];
            let (m, n) = factors(i);
            self.mul_relin(&done[slot(m)], &done[slot(n)], tmp, s)?;
            self.rescale_assign(tmp, s)?;
            self.mul_int(tmp, 2, out, s)?;
            if m == n {
                self.add_const(out, Complex64::new(-1.0, 0.0), tmp, s)?;
                std::mem::swap(out, tmp);
            } else {
                self.sub_assign(out, &done[slot(m - n)], s)?;
            }
        }
        Ok(())
    }

    /// Adds `node` into `sum`, asked at `level` and `scale`: kept at `level + 1` with scale
    /// `scale q_(level+1)` (see the module documentation); `deeper` holds the sums of nested
    /// quotients.
    fn evaluate_node(
        &self,
        node: &Node,
        level: usize,
        scale: f64,
        sum: &mut Sum,
        deeper: &mut [Sum],
        w: &mut Work<'_>,
    ) -> Result<(), CkksError> {
        let prime = self.params().q()[level + 1] as f64;
        match node {
            Node::Leaf { constant, terms } => {
                sum.constant += constant;
                let ring = self.params().rlwe().ring_q();
                for &(i, c) in terms {
                    let t = w.power(i);
                    debug_assert!(t.level() > level, "T_{i} at level {} for {level}", t.level());
                    let factor = scale * prime / t.scale;
                    let limbs = t.level() + 1;
                    residues(self.params(), round_integer(c * factor, factor)?, limbs, w.residues);
                    let r = &w.residues[..limbs];
                    let pairs = [
                        (&mut sum.terms.inner.c0, &t.inner.c0),
                        (&mut sum.terms.inner.c1, &t.inner.c1),
                    ];
                    if sum.has_terms {
                        for (acc, src) in pairs {
                            ring.mul_scalar(src, r, w.term);
                            ring.add_assign(acc, w.term);
                        }
                    } else {
                        for (acc, src) in pairs {
                            ring.mul_scalar(src, r, acc);
                            acc.truncate(level + 2);
                        }
                        sum.terms.inherit(t, scale * prime);
                        sum.has_terms = true;
                    }
                }
                Ok(())
            }
            Node::Split { k, q, r } => {
                let t = w.power(*k);
                let (sub, rest) = deeper.split_first_mut().expect("the plan's nesting sizes the stack");
                sub.clear();
                self.evaluate_node(q, level + 1, scale * prime / t.scale, sub, rest, w)?;
                self.finish(sub, w.eval)?;
                self.rescale_assign(&mut sub.value, w.eval)?;
                let giant = if t.level() == level + 1 {
                    t
                } else {
                    copy_levels(t, level + 1, w.giant);
                    &*w.giant
                };
                if sum.has_products {
                    self.tensor(&sub.value, giant, w.product, w.eval)?;
                    self.add_product(&mut sum.products, w.product)?;
                } else {
                    self.tensor(&sub.value, giant, &mut sum.products, w.eval)?;
                    sum.has_products = true;
                }
                self.evaluate_node(r, level, scale, sum, deeper, w)
            }
        }
    }

    /// `sum.value` = the relinearised products, plus the terms, plus the constant.
    fn finish(&self, sum: &mut Sum, s: &mut EvaluatorScratch) -> Result<(), CkksError> {
        // A constant alone never makes a sum: constant quotients are folded into leaf terms.
        debug_assert!(sum.has_terms || sum.has_products, "an empty sum");
        if sum.has_products {
            self.relinearize(&sum.products, &mut sum.value, s)?;
            if sum.has_terms {
                self.add_assign(&mut sum.value, &sum.terms, s)?;
            }
        } else {
            std::mem::swap(&mut sum.value, &mut sum.terms);
        }
        if sum.constant != 0.0 {
            self.add_const(&sum.value, sum.constant.into(), &mut sum.terms, s)?;
            std::mem::swap(&mut sum.value, &mut sum.terms);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Coefficients `1 / (k + 1)`, or only the odd ones.
    fn coefficients(degree: usize, odd: bool) -> Polynomial {
        let c = |k: usize| {
            if odd && k.is_multiple_of(2) {
                0.0
            } else {
                1.0 / (k + 1) as f64
            }
        };
        Polynomial::chebyshev((0..=degree).map(c).collect::<Vec<_>>(), -1.0, 1.0).unwrap()
    }

    fn dense(degree: usize) -> Polynomial {
        coefficients(degree, false)
    }

    /// Worst error of `p` against `f` on a fine grid of its interval.
    fn worst_error(p: &Polynomial, f: impl Fn(f64) -> f64) -> f64 {
        let (a, b) = p.interval();
        (0..=1000)
            .map(|i| a + (b - a) * i as f64 / 1000.0)
            .map(|x| (p.evaluate(x) - f(x)).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn interpolants_of_smooth_functions_are_accurate() {
        let sine = Polynomial::interpolate(|x| (2.0 * PI * x).sin(), 31, -1.0, 1.0).unwrap();
        assert!(worst_error(&sine, |x| (2.0 * PI * x).sin()) < 1e-12);
        let exp = Polynomial::interpolate(f64::exp, 24, -8.0, 0.0).unwrap();
        assert!(worst_error(&exp, f64::exp) < 1e-12);
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let logistic = Polynomial::interpolate(sigmoid, 63, -8.0, 8.0).unwrap();
        assert!(worst_error(&logistic, sigmoid) < 1e-10);
    }

    #[test]
    fn interpolation_recovers_a_polynomial_and_clenshaw_matches_the_cosines() {
        let want = [0.5, -1.25, 0.75, 0.0, 2.0, -0.125];
        let p = Polynomial::chebyshev(want, 2.0, 5.0).unwrap();
        let q = Polynomial::interpolate(|x| p.evaluate(x), 9, 2.0, 5.0).unwrap();
        let padded = want.iter().chain(&[0.0; 4]);
        for (a, b) in q.coefficients().iter().zip(padded) {
            assert!((a - b).abs() < 1e-13, "{:?}", q.coefficients());
        }
        for i in 0..=100 {
            let x = 2.0 + 3.0 * i as f64 / 100.0;
            let theta = ((2.0 * x - 7.0) / 3.0).clamp(-1.0, 1.0).acos();
            let direct: f64 = want.iter().enumerate().map(|(k, c)| c * (k as f64 * theta).cos()).sum();
            assert!((p.evaluate(x) - direct).abs() < 1e-12);
        }
    }

    #[test]
    fn parity_survives_interpolation_exactly() {
        let odd = Polynomial::interpolate(|x| (3.0 * x).sin() + x.powi(3), 30, -2.0, 2.0).unwrap();
        assert_eq!(odd.degree(), 29, "the even top coefficient is exactly zero");
        assert!(odd.coefficients().iter().step_by(2).all(|&c| c == 0.0));
        let even = Polynomial::interpolate(|x| (-x * x).exp(), 20, -1.5, 1.5).unwrap();
        assert!(even.coefficients().iter().skip(1).step_by(2).all(|&c| c == 0.0));
    }

    /// The table of [`Evaluator::evaluate_polynomial`].
    #[test]
    fn plans_cost_what_the_documentation_says() {
        for (degree, products, relins) in [(63, 17, 14), (127, 23, 20)] {
            let p = coefficients(degree, true);
            assert_eq!(
                (p.products(), p.relinearizations()),
                (products, relins),
                "odd, degree {degree}"
            );
        }
        for (degree, baby, products, powers, relins) in [(63, 8, 18, 9, 15), (127, 8, 27, 10, 20)] {
            let p = dense(degree);
            let leaf_bound = (1..=bit_length(degree))
                .map(|l| 1 << l)
                .find(|&b| Plan::with_baby_steps(&p.coeffs, b, bit_length(degree)) == p.plan);
            assert_eq!(leaf_bound, Some(baby), "degree {degree}");
            assert_eq!(
                (p.products(), p.plan.powers.len() - 1, p.relinearizations()),
                (products, powers, relins)
            );
            assert_eq!(p.depth(), bit_length(degree));
        }
    }

    /// Simulates the levels of a plan: every leaf term and giant step is deep enough for its
    /// node, and the quotient chains fit the budget (the homomorphic tests check the same on
    /// ciphertexts for a few degrees).
    #[test]
    fn every_plan_fits_its_depth() {
        fn check(node: &Node, budget: usize) {
            match node {
                Node::Leaf { terms, .. } => {
                    for &(i, _) in terms {
                        assert!(power_depth(i) < budget, "T_{i} in a leaf of budget {budget}");
                    }
                }
                Node::Split { k, q, r } => {
                    assert!(power_depth(*k) < budget, "T_{k} in a split of budget {budget}");
                    check(q, budget - 1);
                    check(r, budget);
                }
            }
        }
        for degree in 1..=300 {
            let p = dense(degree);
            check(&p.plan.root, bit_length(degree));
            for l in 1..=bit_length(degree) {
                check(
                    &Plan::with_baby_steps(&p.coeffs, 1 << l, bit_length(degree)).root,
                    bit_length(degree),
                );
            }
        }
    }

    #[test]
    fn odd_polynomials_skip_even_powers() {
        let sine = Polynomial::interpolate(|x| (2.0 * PI * x).sin(), 31, -1.0, 1.0).unwrap();
        assert!(sine.plan.powers.iter().all(|&i| i % 2 == 1 || i.is_power_of_two()));
        assert!(sine.products() < dense(31).products());
        assert_eq!(sine.depth(), dense(31).depth());
    }

    #[test]
    fn affine_maps_cost_a_level_only_for_non_integer_scalings() {
        let depth = |a, b| Polynomial::chebyshev(vec![1.0; 16], a, b).unwrap().depth();
        assert_eq!(depth(-1.0, 1.0), 4);
        assert_eq!(depth(0.0, 1.0), 4);
        assert_eq!(depth(-0.5, 0.5), 4);
        assert_eq!(depth(3.0, 5.0), 4);
        assert_eq!(depth(-8.0, 0.0), 5);
        assert_eq!(Polynomial::chebyshev([3.0, 0.0], -8.0, 0.0).unwrap().depth(), 0);
    }

    #[test]
    fn bad_polynomials_are_refused() {
        assert_eq!(
            Polynomial::chebyshev(Vec::new(), -1.0, 1.0),
            Err(CkksError::EmptyPolynomial)
        );
        assert_eq!(
            Polynomial::chebyshev([1.0, f64::NAN], -1.0, 1.0),
            Err(CkksError::NonFiniteCoefficient { index: 1 })
        );
        for (a, b) in [(1.0, 1.0), (2.0, -1.0), (f64::NEG_INFINITY, 0.0), (-f64::MAX, f64::MAX)] {
            assert_eq!(Polynomial::chebyshev([1.0], a, b), Err(CkksError::Interval { a, b }));
        }
        assert!(matches!(
            Polynomial::interpolate(|x| 1.0 / x, 2, -1.0, 1.0),
            Err(CkksError::NonFiniteSample { .. })
        ));
        assert!(matches!(
            Polynomial::interpolate(f64::exp, MAX_POLYNOMIAL_DEGREE + 1, -1.0, 1.0),
            Err(CkksError::PolynomialDegree { .. })
        ));
    }
}
