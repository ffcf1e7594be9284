//! RNS polynomial storage.

use crate::basis::RnsBasis;

/// Representation of a polynomial's limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// Coefficients `a_0 .. a_(N-1)` of `a(X)`, each reduced mod `q_i` in limb `i`.
    Coefficient,
    /// Values of `a` at the `N` roots of `X^N + 1` mod `q_i` (the NTT or evaluation form), where
    /// products are pointwise. Slots follow tfhe-ntt's order, which is not assumed but read off
    /// the plan: slot `j` holds `a(psi^(e_j))` for odd exponents `e_j` that are the same for
    /// every prime, `psi` being the root in slot 0.
    Evaluation,
}

/// A polynomial of `Z_(Q_l)[X] / (X^N + 1)` in RNS form: `l` active limbs, limb `i` holding the
/// residues mod `q_i` of the basis it was made for.
///
/// Storage is one contiguous limb-major buffer: limb `i` is `data[i N .. (i + 1) N]`. The number
/// of active limbs (the level plus one) can shrink without reallocating; the buffer keeps its
/// capacity for growing back.
#[derive(Debug, Clone)]
pub struct RnsPoly {
    data: Vec<u64>,
    n: usize,
    limbs: usize,
    form: Form,
}

/// Equality of the represented values: degree, form and active limbs (not spare capacity).
impl PartialEq for RnsPoly {
    fn eq(&self, other: &Self) -> bool {
        self.n == other.n && self.form == other.form && self.data() == other.data()
    }
}

impl Eq for RnsPoly {}

impl RnsPoly {
    /// The zero polynomial over the first `limbs` primes of `basis`.
    pub fn zero(basis: &RnsBasis, limbs: usize, form: Form) -> Self {
        assert!(
            (1..=basis.moduli().len()).contains(&limbs),
            "a polynomial needs between 1 and {} limbs, got {limbs}",
            basis.moduli().len()
        );
        Self {
            data: vec![0; limbs * basis.n()],
            n: basis.n(),
            limbs,
            form,
        }
    }

    /// The ring degree `N`.
    #[inline]
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of active limbs.
    #[inline]
    pub fn limbs(&self) -> usize {
        self.limbs
    }

    /// Current representation.
    #[inline]
    pub fn form(&self) -> Form {
        self.form
    }

    /// Declares the representation of data written directly into the limbs.
    #[inline]
    pub fn set_form(&mut self, form: Form) {
        self.form = form;
    }

    /// Limb `i` (residues mod `q_i`).
    #[inline]
    pub fn limb(&self, i: usize) -> &[u64] {
        assert!(i < self.limbs, "limb {i} of {}", self.limbs);
        &self.data[i * self.n..(i + 1) * self.n]
    }

    /// Mutable limb `i`; entries must stay below `q_i`.
    #[inline]
    pub fn limb_mut(&mut self, i: usize) -> &mut [u64] {
        assert!(i < self.limbs, "limb {i} of {}", self.limbs);
        &mut self.data[i * self.n..(i + 1) * self.n]
    }

    /// All active limbs, limb-major.
    #[inline]
    pub fn data(&self) -> &[u64] {
        &self.data[..self.limbs * self.n]
    }

    /// All active limbs, limb-major, mutable; entries must stay reduced.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u64] {
        &mut self.data[..self.limbs * self.n]
    }

    /// Keeps the first `limbs` limbs, i.e. reduces mod `Q_limbs` (drops levels).
    pub fn truncate(&mut self, limbs: usize) {
        assert!(
            (1..=self.limbs).contains(&limbs),
            "cannot truncate {} limbs to {limbs}",
            self.limbs
        );
        self.limbs = limbs;
    }

    /// Sets the number of active limbs; limbs that become active are zero. The caller must not
    /// exceed the number of primes of the basis.
    pub fn resize(&mut self, limbs: usize) {
        assert!(limbs >= 1, "a polynomial needs at least one limb");
        if limbs > self.limbs {
            let (old, new) = (self.limbs * self.n, limbs * self.n);
            if self.data.len() < new {
                self.data.resize(new, 0);
            }
            self.data[old..new].fill(0);
        }
        self.limbs = limbs;
    }

    /// Copies the first `self.limbs()` limbs of `src` and its form into `self`; with fewer
    /// limbs than `src` this is a level-dropping copy.
    pub fn copy_from(&mut self, src: &RnsPoly) {
        assert_eq!(self.n, src.n, "degree mismatch");
        assert!(
            src.limbs >= self.limbs,
            "source has {} limbs, destination {}",
            src.limbs,
            self.limbs
        );
        let len = self.limbs * self.n;
        self.data[..len].copy_from_slice(&src.data[..len]);
        self.form = src.form;
    }

    /// Makes `self` a copy of `src` (limbs and form), reusing its buffer.
    pub fn assign(&mut self, src: &RnsPoly) {
        self.reshape_for_overwrite(src.limbs, src.form);
        self.copy_from(src);
    }

    /// Makes `self` an output of `limbs` limbs in `form` without clearing it (unlike
    /// [`Self::resize`]): for callers that overwrite every limb, such as basis extension.
    pub fn reshape_for_overwrite(&mut self, limbs: usize, form: Form) {
        assert!(limbs >= 1, "a polynomial needs at least one limb");
        self.prepare_output(self.n, limbs, form);
    }

    /// Makes `self` an output of `limbs` limbs in `form`, growing the buffer if needed. The
    /// contents are stale and must be overwritten.
    pub(crate) fn prepare_output(&mut self, n: usize, limbs: usize, form: Form) {
        assert_eq!(self.n, n, "degree mismatch");
        if self.data.len() < limbs * n {
            self.data.resize(limbs * n, 0);
        }
        self.limbs = limbs;
        self.form = form;
    }
}
