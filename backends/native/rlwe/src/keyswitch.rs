//! Hybrid key switching (Han and Ki 2020, in the RNS form of Halevi, Polyakov and Shoup 2019):
//! relinearisation and Galois keys, and the switching itself, with hoisting.
//!
//! The primes of `Q` are grouped into digits of `alpha` consecutive primes (`#P` by default), `Q_j` being the
//! product of digit `j`, and `Q~_j` the CRT idempotent of digit `j` (1 modulo the primes of
//! `Q_j`, 0 modulo the other primes of `Q`). A key from `s'` to `s` holds, per digit, an
//! encryption modulo `Q P` under `s` of `P Q~_j s'`:
//!
//! ```text
//! b_j + a_j s = e_j + P Q~_j s'   (mod Q P).
//! ```
//!
//! To switch a polynomial `d` over `Q_l`: split it into its digits `[d]_(Q_j)`, raise each to
//! `Q_l P` by fast base conversion (`d~_j = [d]_(Q_j) + u_j Q_j`, `|u_j| < alpha`; the ModUp),
//! take the inner products with the key and divide by `P` with rounding (the ModDown):
//!
//! ```text
//! (u0, u1) = round(sum_j d~_j (b_j, a_j) / P),   u0 + u1 s = d s' + e_ks,
//! ```
//!
//! because `sum_j d~_j Q~_j = d (mod Q_l)` and `Q_j Q~_j = 0 (mod Q)`; the noise
//! `e_ks = sum_j d~_j e_j / P + rounding` is small when `P` exceeds every `Q_j`.
//!
//! The ModUp does not depend on the key: a [`Decomposition`] computed once serves any number
//! of keys (hoisting). Galois keys make this work for rotations: the key of `sigma_g` switches
//! from `s` to `sigma_g^(-1)(s)`, so the switched pair of `c1` itself, not of `sigma_g(c1)`, is
//! mapped by `sigma_g` into the rotated ciphertext.

use std::collections::BTreeMap;
use std::fmt;

use blindtuner_ring::{Automorphism, BasisConverter, Form, ModDown, RnsPoly};
use rayon::prelude::*;

use crate::keys::{Ciphertext, KeyError, KeyGenerator, SecretKey, check_fingerprint};
use crate::parameters::Parameters;

/// Most key-switching digits a parameter set may have; bounds the stack arrays of the inner
/// products.
pub const MAX_DIGITS: usize = 32;

/// A polynomial modulo `Q_l P`: limbs over the first `l` primes of `Q` and over all of `P`, in
/// the same form.
#[derive(Debug, Clone, PartialEq)]
pub struct QpPoly {
    pub q: RnsPoly,
    pub p: RnsPoly,
}

impl QpPoly {
    /// Zero over `q_limbs` limbs of `Q` and all of `P`, in evaluation form.
    pub fn zero(params: &Parameters, q_limbs: usize) -> QpPoly {
        QpPoly {
            q: RnsPoly::zero(params.ring_q(), q_limbs, Form::Evaluation),
            p: RnsPoly::zero(params.ring_p(), params.p().len(), Form::Evaluation),
        }
    }
}

/// A hybrid key-switching key: per digit `j`, `(b_j, a_j)` over all of `Q P` in evaluation form
/// (see the module documentation).
#[derive(Clone, PartialEq)]
pub struct SwitchingKey {
    pub(crate) b: Vec<QpPoly>,
    pub(crate) a: Vec<QpPoly>,
    pub(crate) fingerprint: u64,
}

impl fmt::Debug for SwitchingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SwitchingKey {{ digits: {}, parameters: {:#018x} }}",
            self.b.len(),
            self.fingerprint
        )
    }
}

impl SwitchingKey {
    /// Number of digits.
    pub fn digits(&self) -> usize {
        self.b.len()
    }

    /// Bytes of key material (residues at 8 bytes each).
    pub fn size_bytes(&self) -> usize {
        self.b
            .iter()
            .chain(&self.a)
            .map(|x| (x.q.data().len() + x.p.data().len()) * 8)
            .sum()
    }
}

/// Switches `s^2` to `s`: turns the degree-2 part of a product back into a ciphertext.
#[derive(Debug, Clone, PartialEq)]
pub struct RelinearizationKey(pub(crate) SwitchingKey);

impl RelinearizationKey {
    /// The switching key itself.
    pub fn key(&self) -> &SwitchingKey {
        &self.0
    }
}

/// The key of the automorphism `sigma_g`, with its gather tables over `Q` and over `P`:
/// switches from `s` to `sigma_g^(-1)(s)` (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct GaloisKey {
    pub(crate) key: SwitchingKey,
    pub(crate) automorphism: Automorphism,
    pub(crate) automorphism_p: Automorphism,
}

impl GaloisKey {
    /// The key of `automorphism` over `params`' rings.
    pub(crate) fn new(params: &Parameters, key: SwitchingKey, automorphism: Automorphism) -> Result<Self, KeyError> {
        let automorphism_p = Automorphism::new(params.ring_p(), automorphism.galois_element())?;
        Ok(GaloisKey {
            key,
            automorphism,
            automorphism_p,
        })
    }
}

impl GaloisKey {
    /// The Galois element `g` (mod `2N`).
    pub fn galois_element(&self) -> u64 {
        self.automorphism.galois_element()
    }

    /// The switching key itself.
    pub fn key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// The evaluation keys a server needs, and nothing secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationKeys {
    pub relinearization: Option<RelinearizationKey>,
    /// Galois keys by their Galois element.
    pub(crate) galois: BTreeMap<u64, GaloisKey>,
}

impl EvaluationKeys {
    /// Adds (or replaces) the key of its Galois element.
    pub fn insert_galois(&mut self, key: GaloisKey) {
        self.galois.insert(key.galois_element(), key);
    }

    /// The key of the Galois element `g` (mod `2N`), if present.
    pub fn galois(&self, g: u64) -> Option<&GaloisKey> {
        self.galois.get(&g)
    }

    /// The Galois elements that have keys, increasing.
    pub fn galois_elements(&self) -> impl Iterator<Item = u64> + '_ {
        self.galois.keys().copied()
    }

    /// Bytes of key material.
    pub fn size_bytes(&self) -> usize {
        let relin = self.relinearization.as_ref().map_or(0, |k| k.0.size_bytes());
        relin + self.galois.values().map(|k| k.key.size_bytes()).sum::<usize>()
    }
}

/// `P mod q_i` for every prime `q_i` of `Q`.
fn p_mod_q(params: &Parameters) -> Vec<u64> {
    params
        .ring_q()
        .moduli()
        .iter()
        .map(|qi| params.p().iter().fold(1, |acc, &p| qi.mul(acc, qi.reduce(p))))
        .collect()
}

/// `g^(-1) mod 2N`: the Galois group `Z_2N^*` has exponent `N/2`, so `g^(-1) = g^(N/2 - 1)`.
fn galois_inverse(g: u64, n: usize) -> u64 {
    let two_n = 2 * n as u64;
    let (mut acc, mut base, mut e) = (1u64, g % two_n, n as u64 / 2 - 1);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % two_n;
        }
        base = base * base % two_n;
        e >>= 1;
    }
    acc
}

impl KeyGenerator {
    /// The key switching ciphertexts under `from` to ciphertexts under `to` (both keys of this
    /// set); relinearisation and Galois keys are the special cases below.
    pub fn switching_key(&mut self, from: &SecretKey, to: &SecretKey) -> Result<SwitchingKey, KeyError> {
        self.check(from.fingerprint)?;
        self.check(to.fingerprint)?;
        Ok(self.gadget_key(&from.q, &to.q, &to.p))
    }

    /// The key switching from `from` (NTT form over all of `Q`) to `to`.
    fn gadget_key(&mut self, from: &RnsPoly, to_q: &RnsPoly, to_p: &RnsPoly) -> SwitchingKey {
        let params = self.params.clone();
        let (ring_q, ring_p) = (params.ring_q(), params.ring_p());
        let (lq, alpha) = (params.q().len(), params.digit_size());
        // P mod q_i, the factor of the gadget term on digit j's limbs (P = 0 mod P's primes).
        let p_mod_q = p_mod_q(&params);
        let mut key = SwitchingKey {
            b: Vec::with_capacity(params.digits()),
            a: Vec::with_capacity(params.digits()),
            fingerprint: params.fingerprint(),
        };
        let mut a_s = QpPoly::zero(&params, lq);
        for j in 0..params.digits() {
            let mut a = QpPoly::zero(&params, lq);
            self.sampler.uniform(ring_q, &mut a.q);
            self.sampler.uniform(ring_p, &mut a.p);
            // The same error e_j modulo Q and P: sample over Q, lift its coefficients to P.
            let mut b_q = RnsPoly::zero(ring_q, lq, Form::Coefficient);
            self.sampler.gaussian(ring_q, &self.gaussian, &mut b_q);
            let mut b = QpPoly {
                p: self.lift_to_p(&b_q),
                q: b_q,
            };
            ring_q.ntt(&mut b.q);
            // b_j = e_j - a_j s + P Q~_j s'.
            ring_q.mul(&a.q, to_q, &mut a_s.q);
            ring_p.mul(&a.p, to_p, &mut a_s.p);
            ring_q.sub_assign(&mut b.q, &a_s.q);
            ring_p.sub_assign(&mut b.p, &a_s.p);
            for (i, &p_i) in p_mod_q
                .iter()
                .enumerate()
                .take(((j + 1) * alpha).min(lq))
                .skip(j * alpha)
            {
                let qi = &ring_q.moduli()[i];
                for (x, &s) in b.q.limb_mut(i).iter_mut().zip(from.limb(i)) {
                    *x = qi.add(*x, qi.mul(s, p_i));
                }
            }
            key.b.push(b);
            key.a.push(a);
        }
        key
    }

    /// The relinearisation key of `sk`: from `s^2` to `s`.
    pub fn relinearization_key(&mut self, sk: &SecretKey) -> Result<RelinearizationKey, KeyError> {
        self.check(sk.fingerprint)?;
        let mut s2 = sk.q.clone();
        self.params.ring_q().mul_assign(&mut s2, &sk.q);
        Ok(RelinearizationKey(self.gadget_key(&s2, &sk.q, &sk.p)))
    }

    /// The key of the automorphism `X -> X^g` (`g` odd), for rotations and conjugation.
    pub fn galois_key(&mut self, sk: &SecretKey, g: u64) -> Result<GaloisKey, KeyError> {
        self.check(sk.fingerprint)?;
        let (ring_q, ring_p) = (self.params.ring_q().clone(), self.params.ring_p().clone());
        let automorphism = Automorphism::new(&ring_q, g)?;
        let g_inv = galois_inverse(automorphism.galois_element(), self.params.n());
        let (mut to_q, mut to_p) = (sk.q.clone(), sk.p.clone());
        ring_q.automorphism(&Automorphism::new(&ring_q, g_inv)?, &sk.q, &mut to_q);
        ring_p.automorphism(&Automorphism::new(&ring_p, g_inv)?, &sk.p, &mut to_p);
        let key = self.gadget_key(&sk.q, &to_q, &to_p);
        GaloisKey::new(&self.params, key, automorphism)
    }
}

/// A polynomial split into its digits and raised to `Q_l P` in evaluation form: the
/// key-independent half of key switching, computed once and reused by every key (hoisting).
#[derive(Debug, Clone)]
pub struct Decomposition {
    digits: Vec<QpPoly>,
    count: usize,
    limbs: usize,
    /// Coefficient form of the decomposed polynomial.
    coefficients: Vec<u64>,
}

impl Decomposition {
    /// Room for a polynomial of any level of `params`.
    pub fn new(params: &Parameters) -> Decomposition {
        let lq = params.q().len();
        Decomposition {
            digits: (0..params.digits()).map(|_| QpPoly::zero(params, lq)).collect(),
            count: 0,
            limbs: 0,
            coefficients: vec![0; lq * params.n()],
        }
    }

    /// Limbs of the decomposed polynomial (0 before the first decomposition).
    pub fn limbs(&self) -> usize {
        self.limbs
    }
}

/// Reusable buffers of key switching: a decomposition and the `P` halves of the accumulators.
#[derive(Debug, Clone)]
pub struct KeySwitchScratch {
    decomposition: Decomposition,
    acc_p: [RnsPoly; 2],
    switched: [RnsPoly; 2],
    words: Vec<u64>,
}

impl KeySwitchScratch {
    /// Buffers for any level of `params`.
    pub fn new(params: &Parameters) -> KeySwitchScratch {
        let (lq, k, n) = (params.q().len(), params.p().len(), params.n());
        let zero_q = || RnsPoly::zero(params.ring_q(), lq, Form::Evaluation);
        let zero_p = || RnsPoly::zero(params.ring_p(), k, Form::Evaluation);
        KeySwitchScratch {
            decomposition: Decomposition::new(params),
            acc_p: [zero_p(), zero_p()],
            switched: [zero_q(), zero_q()],
            words: vec![0; (lq + k) * n],
        }
    }
}

/// The server-side half of key switching: base-conversion tables for the ModUp of each digit
/// and for the ModDown. Immutable and `Sync`; buffers are passed in.
#[derive(Debug)]
pub struct KeySwitcher {
    params: Parameters,
    /// `mod_up[j][s - 1]`: from the first `s` primes of digit `j` to the primes of `Q` outside
    /// them (below, then above), then `P`.
    mod_up: Vec<Vec<BasisConverter>>,
    mod_down: ModDown,
    /// `P mod q_i`.
    p_mod_q: Vec<u64>,
}

impl KeySwitcher {
    /// Precomputes the conversion tables of `params`.
    pub fn new(params: &Parameters) -> Result<KeySwitcher, KeyError> {
        let (q, p) = (params.ring_q().moduli(), params.ring_p().moduli());
        let alpha = params.digit_size();
        let mut mod_up = Vec::with_capacity(params.digits());
        for j in 0..params.digits() {
            let start = j * alpha;
            let mut sizes = Vec::new();
            for s in 1..=alpha.min(q.len() - start) {
                let targets: Vec<_> = q[..start].iter().chain(&q[start + s..]).chain(p).copied().collect();
                sizes.push(BasisConverter::new(&q[start..start + s], &targets)?);
            }
            mod_up.push(sizes);
        }
        Ok(KeySwitcher {
            p_mod_q: p_mod_q(params),
            mod_down: ModDown::new(params.ring_q().clone(), params.ring_p().clone())?,
            params: params.clone(),
            mod_up,
        })
    }

    /// The parameter set.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Splits `c` (evaluation form, `l` limbs) into its digits and raises each to `Q_l P`.
    pub fn decompose(&self, c: &RnsPoly, out: &mut Decomposition) {
        let (ring_q, ring_p) = (self.params.ring_q(), self.params.ring_p());
        let (n, l, lq, alpha) = (
            self.params.n(),
            c.limbs(),
            self.params.q().len(),
            self.params.digit_size(),
        );
        assert_eq!(c.form(), Form::Evaluation, "key switching takes the evaluation form");
        assert!(l <= lq, "more limbs than primes");
        assert_eq!(
            out.digits.len(),
            self.params.digits(),
            "decomposition of another parameter set"
        );
        let coefficients = &mut out.coefficients[..l * n];
        coefficients.copy_from_slice(c.data());
        coefficients
            .par_chunks_exact_mut(n)
            .enumerate()
            .for_each(|(i, limb)| ring_q.intt_limb(i, limb));
        let coefficients = &*coefficients;
        out.count = l.div_ceil(alpha);
        out.limbs = l;
        out.digits[..out.count].par_iter_mut().enumerate().for_each(|(j, d)| {
            let (start, s) = (j * alpha, alpha.min(l - j * alpha));
            d.q.reshape_for_overwrite(l, Form::Evaluation);
            d.p.reshape_for_overwrite(self.params.p().len(), Form::Evaluation);
            let (below, rest) = d.q.data_mut().split_at_mut(start * n);
            let (own, above) = rest.split_at_mut(s * n);
            // The digit's own residues are those of c; only the others are converted.
            own.copy_from_slice(&c.data()[start * n..(start + s) * n]);
            self.mod_up[j][s - 1].fast_convert(
                &coefficients[start * n..(start + s) * n],
                &mut [(0, &mut *below), (start, &mut *above), (lq - s, d.p.data_mut())],
            );
            below
                .chunks_exact_mut(n)
                .enumerate()
                .for_each(|(i, limb)| ring_q.ntt_limb(i, limb));
            above
                .chunks_exact_mut(n)
                .enumerate()
                .for_each(|(i, limb)| ring_q.ntt_limb(start + s + i, limb));
            d.p.data_mut()
                .chunks_exact_mut(n)
                .enumerate()
                .for_each(|(i, limb)| ring_p.ntt_limb(i, limb));
        });
    }

    /// `(out0, out1) = round(sum_j d~_j (b_j, a_j) / P)` over the decomposition's limbs:
    /// `out0 + out1 s = d s' + e_ks` for the key from `s'` to `s`.
    pub fn switch_decomposed(
        &self,
        decomposition: &Decomposition,
        key: &SwitchingKey,
        out0: &mut RnsPoly,
        out1: &mut RnsPoly,
        scratch: &mut KeySwitchScratch,
    ) -> Result<(), KeyError> {
        self.switch_into(decomposition, key, [out0, out1], &mut scratch.acc_p, &mut scratch.words)
    }

    fn switch_into(
        &self,
        decomposition: &Decomposition,
        key: &SwitchingKey,
        out: [&mut RnsPoly; 2],
        acc_p: &mut [RnsPoly; 2],
        words: &mut [u64],
    ) -> Result<(), KeyError> {
        let [out0, out1] = out;
        let [acc0, acc1] = acc_p;
        self.inner_products(decomposition, key, [(&mut *out0, &mut *acc0), (&mut *out1, &mut *acc1)])?;
        self.mod_down.apply(out0, acc0, words);
        self.mod_down.apply(out1, acc1, words);
        Ok(())
    }

    /// The key switching of a decomposition without its final division by `P`: `out` receives
    /// `sum_j d~_j (b_j, a_j)` over `Q_l P`, which sums and automorphisms can work on before one
    /// [`Self::mod_down`] (double hoisting).
    pub fn switch_decomposed_lazy(
        &self,
        decomposition: &Decomposition,
        key: &SwitchingKey,
        out: &mut [QpPoly; 2],
    ) -> Result<(), KeyError> {
        let [x, y] = out;
        self.inner_products(decomposition, key, [(&mut x.q, &mut x.p), (&mut y.q, &mut y.p)])
    }

    /// `x.q <- round(x / P)` over `x.q`'s limbs: the ModDown closing a lazy key switching.
    pub fn mod_down(&self, x: &mut QpPoly, scratch: &mut KeySwitchScratch) {
        self.mod_down.apply(&mut x.q, &x.p, &mut scratch.words);
    }

    /// `P mod q_i` for every prime of `Q`: lifts a polynomial over `Q` into `Q P` as `P a` (zero
    /// modulo `P`), the form lazy key-switching results are in.
    pub fn p_mod_q(&self) -> &[u64] {
        &self.p_mod_q
    }

    /// `out = sigma_g(x)` over `Q` and `P`, `g` being the key's Galois element.
    pub fn automorphism_qp(&self, key: &GaloisKey, x: &QpPoly, out: &mut QpPoly) {
        self.params.ring_q().automorphism(&key.automorphism, &x.q, &mut out.q);
        self.params.ring_p().automorphism(&key.automorphism_p, &x.p, &mut out.p);
    }

    /// Inner products of the decomposition with the key, over `Q_l` and `P`.
    fn inner_products(
        &self,
        decomposition: &Decomposition,
        key: &SwitchingKey,
        out: [(&mut RnsPoly, &mut RnsPoly); 2],
    ) -> Result<(), KeyError> {
        check_fingerprint(&self.params, key.fingerprint)?;
        let count = decomposition.count;
        assert!(count > 0, "decompose a polynomial first");
        let (ring_q, ring_p) = (self.params.ring_q(), self.params.ring_p());
        let first = &decomposition.digits[0];
        let mut d_q = [&first.q; MAX_DIGITS];
        let mut d_p = [&first.p; MAX_DIGITS];
        for (j, d) in decomposition.digits[..count].iter().enumerate() {
            (d_q[j], d_p[j]) = (&d.q, &d.p);
        }
        let [(out0_q, out0_p), (out1_q, out1_p)] = out;
        for (parts, out_q, out_p) in [(&key.b, out0_q, out0_p), (&key.a, out1_q, out1_p)] {
            let mut k_q = [&parts[0].q; MAX_DIGITS];
            let mut k_p = [&parts[0].p; MAX_DIGITS];
            for (j, k) in parts[..count].iter().enumerate() {
                (k_q[j], k_p[j]) = (&k.q, &k.p);
            }
            ring_q.inner_product(&d_q[..count], &k_q[..count], out_q);
            ring_p.inner_product(&d_p[..count], &k_p[..count], out_p);
        }
        Ok(())
    }

    /// Switches `c` with `key`: [`Self::decompose`] then [`Self::switch_decomposed`].
    pub fn switch(
        &self,
        c: &RnsPoly,
        key: &SwitchingKey,
        out0: &mut RnsPoly,
        out1: &mut RnsPoly,
        scratch: &mut KeySwitchScratch,
    ) -> Result<(), KeyError> {
        self.decompose(c, &mut scratch.decomposition);
        self.switch_into(
            &scratch.decomposition,
            key,
            [out0, out1],
            &mut scratch.acc_p,
            &mut scratch.words,
        )
    }

    /// `out = sigma_g(ct)` under the same secret, `g` being the key's Galois element.
    pub fn automorphism(
        &self,
        ct: &Ciphertext,
        key: &GaloisKey,
        out: &mut Ciphertext,
        scratch: &mut KeySwitchScratch,
    ) -> Result<(), KeyError> {
        self.automorphisms_hoisted(ct, std::iter::once((key, out)), scratch)
    }

    /// [`Self::automorphism`] of `ct` given the [`Decomposition`] of its `c1`: for many
    /// automorphisms of one ciphertext, decompose once and call this for each key.
    pub fn automorphism_hoisted(
        &self,
        ct: &Ciphertext,
        decomposition: &Decomposition,
        key: &GaloisKey,
        out: &mut Ciphertext,
        scratch: &mut KeySwitchScratch,
    ) -> Result<(), KeyError> {
        assert_eq!(
            decomposition.limbs,
            ct.limbs(),
            "the decomposition is of another polynomial"
        );
        let KeySwitchScratch {
            acc_p, switched, words, ..
        } = scratch;
        self.hoisted(ct, decomposition, key, out, acc_p, switched, words)
    }

    /// Several automorphisms of one ciphertext sharing one decomposition of its `c1`: each
    /// `(key, out)` pair receives `sigma_g(ct)` for the key's `g`.
    pub fn automorphisms_hoisted<'k>(
        &self,
        ct: &Ciphertext,
        targets: impl IntoIterator<Item = (&'k GaloisKey, &'k mut Ciphertext)>,
        scratch: &mut KeySwitchScratch,
    ) -> Result<(), KeyError> {
        self.decompose(&ct.c1, &mut scratch.decomposition);
        let KeySwitchScratch {
            decomposition,
            acc_p,
            switched,
            words,
        } = scratch;
        for (key, out) in targets {
            self.hoisted(ct, decomposition, key, out, acc_p, switched, words)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn hoisted(
        &self,
        ct: &Ciphertext,
        decomposition: &Decomposition,
        key: &GaloisKey,
        out: &mut Ciphertext,
        acc_p: &mut [RnsPoly; 2],
        switched: &mut [RnsPoly; 2],
        words: &mut [u64],
    ) -> Result<(), KeyError> {
        let ring_q = self.params.ring_q();
        let [u0, u1] = switched;
        self.switch_into(decomposition, &key.key, [u0, u1], acc_p, words)?;
        // (sigma(c0 + u0), sigma(u1)): u0 + u1 sigma^(-1)(s) = c1 s, mapped by sigma.
        ring_q.add_assign(u0, &ct.c0);
        ring_q.automorphism(&key.automorphism, u0, &mut out.c0);
        ring_q.automorphism(&key.automorphism, u1, &mut out.c1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galois_inverses_invert() {
        for log_n in [4, 10, 16] {
            let n = 1usize << log_n;
            for g in [3u64, 5, 25, 2 * n as u64 - 1, 12345 | 1] {
                let g = g % (2 * n as u64);
                assert_eq!(g * galois_inverse(g, n) % (2 * n as u64), 1, "g = {g}, N = {n}");
            }
        }
    }
}
