//! Secret and public keys, encryption and decryption of RLWE ciphertexts.
//!
//! A ciphertext at `l` limbs is a pair `(c0, c1)` over `Z_(Q_l)[X] / (X^N + 1)`
//! in NTT form with `c0 + c1 s = m + e`. Fresh encryptions:
//!
//! ```text
//! secret key:  c1 = a (uniform),  c0 = -a s + e + m
//! public key:  pk = (b, a) = (-a s + e, a);  c0 = b u + e0 + m,  c1 = a u + e1
//! ```
//!
//! with `u` ternary and `e, e0, e1` discrete Gaussian.

use crate::parameters::{Parameters, SecretDistribution};
use blindtuner_ring::{DiscreteGaussian, Form, RingError, RnsBasis, RnsPoly, Sampler};

/// The secret `s`, in NTT form over every prime of `Q` and of `P` (key-switching keys are
/// encryptions under `s` modulo `Q P`).
#[derive(Clone)]
pub struct SecretKey {
    pub(crate) q: RnsPoly,
    pub(crate) p: RnsPoly,
    pub(crate) fingerprint: u64,
}

/// Deliberately reveals nothing of the key.
impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey {{ parameters: {:#018x}, .. }}", self.fingerprint)
    }
}

impl SecretKey {
    /// The same secret over `to`, a set whose primes are leading primes of `from`'s `Q` and `P`
    /// (as [`Parameters::restricted`] makes): its residues modulo those primes.
    pub fn restricted(&self, from: &Parameters, to: &Parameters) -> Result<SecretKey, KeyError> {
        check_fingerprint(from, self.fingerprint)?;
        if !(from.n() == to.n() && from.q().starts_with(to.q()) && from.p().starts_with(to.p())) {
            return Err(KeyError::NotARestriction {
                from: from.fingerprint(),
                to: to.fingerprint(),
            });
        }
        let mut q = self.q.clone();
        q.truncate(to.q().len());
        let mut p = self.p.clone();
        p.truncate(to.p().len());
        Ok(SecretKey {
            q,
            p,
            fingerprint: to.fingerprint(),
        })
    }
}

/// `(b, a) = (-a s + e, a)` at the highest level, NTT form.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub(crate) b: RnsPoly,
    pub(crate) a: RnsPoly,
    pub(crate) fingerprint: u64,
}

/// An RLWE ciphertext `(c0, c1)` in NTT form; both parts have the same limbs.
#[derive(Debug, Clone, PartialEq)]
pub struct Ciphertext {
    pub c0: RnsPoly,
    pub c1: RnsPoly,
}

impl Ciphertext {
    /// The zero ciphertext over `limbs` limbs of `Q`.
    pub fn zero(params: &Parameters, limbs: usize) -> Ciphertext {
        let ring = params.ring_q();
        Ciphertext {
            c0: RnsPoly::zero(ring, limbs, Form::Evaluation),
            c1: RnsPoly::zero(ring, limbs, Form::Evaluation),
        }
    }

    pub fn limbs(&self) -> usize {
        self.c0.limbs()
    }
}

/// Errors of key generation, encryption and decryption.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Ring(#[from] RingError),
    #[error("the key belongs to another parameter set ({found:#018x}, expected {expected:#018x})")]
    ForeignKey { expected: u64, found: u64 },
    #[error("a ciphertext over {limbs} limbs does not fit parameters with {max} ciphertext primes")]
    Limbs { limbs: usize, max: usize },
    #[error("Hamming weight {weight} must be between 1 and N = {n}")]
    HammingWeight { weight: usize, n: usize },
    #[error("parameters {to:#018x} are not a restriction of {from:#018x} to leading primes")]
    NotARestriction { from: u64, to: u64 },
}

/// Draws keys and encryption randomness from a cryptographic RNG.
pub struct KeyGenerator {
    pub(crate) params: Parameters,
    pub(crate) sampler: Sampler,
    pub(crate) gaussian: DiscreteGaussian,
}

impl KeyGenerator {
    /// Seeds the generator from the operating system.
    pub fn new(params: &Parameters) -> Result<KeyGenerator, KeyError> {
        Self::with_sampler(params, Sampler::from_os()?)
    }

    /// A reproducible generator, for tests only: keys from a known seed are not secret.
    pub fn from_seed_for_tests(params: &Parameters, seed: [u8; 32]) -> Result<KeyGenerator, KeyError> {
        Self::with_sampler(params, Sampler::from_seed(seed))
    }

    fn with_sampler(params: &Parameters, sampler: Sampler) -> Result<KeyGenerator, KeyError> {
        Ok(KeyGenerator {
            gaussian: DiscreteGaussian::new(params.error_std())?,
            params: params.clone(),
            sampler,
        })
    }

    /// A fresh secret key of the parameters' distribution.
    pub fn secret_key(&mut self) -> SecretKey {
        self.secret_key_of(self.params.secret())
    }

    /// A fresh secret with exactly `hamming_weight` nonzero coefficients, whatever the set's own
    /// distribution: the ephemeral secret of sparse-secret encapsulation in bootstrapping, which
    /// only ever encrypts under a small modulus (see `blindtuner_ckks`'s bootstrapping).
    pub fn sparse_secret_key(&mut self, hamming_weight: usize) -> Result<SecretKey, KeyError> {
        if hamming_weight == 0 || hamming_weight > self.params.n() {
            return Err(KeyError::HammingWeight {
                weight: hamming_weight,
                n: self.params.n(),
            });
        }
        Ok(self.secret_key_of(SecretDistribution::SparseTernary { hamming_weight }))
    }

    fn secret_key_of(&mut self, secret: SecretDistribution) -> SecretKey {
        let ring_q = self.params.ring_q().clone();
        let mut q = RnsPoly::zero(&ring_q, ring_q.moduli().len(), Form::Coefficient);
        match secret {
            SecretDistribution::Ternary => self.sampler.ternary(&ring_q, &mut q),
            SecretDistribution::SparseTernary { hamming_weight } => {
                self.sampler.sparse_ternary(&ring_q, hamming_weight, &mut q)
            }
        }
        let p = self.lift_to_p(&q);
        ring_q.ntt(&mut q);
        SecretKey {
            q,
            p,
            fingerprint: self.params.fingerprint(),
        }
    }

    /// The NTT form over `P` of a small polynomial given in coefficient form over `Q`.
    pub(crate) fn lift_to_p(&self, small: &RnsPoly) -> RnsPoly {
        let ring_p = self.params.ring_p();
        let mut p = RnsPoly::zero(ring_p, ring_p.moduli().len(), Form::Coefficient);
        ring_p.lift_centered(small, &self.params.ring_q().moduli()[0], &mut p);
        ring_p.ntt(&mut p);
        p
    }

    /// The public key of `sk`.
    pub fn public_key(&mut self, sk: &SecretKey) -> Result<PublicKey, KeyError> {
        self.check(sk.fingerprint)?;
        let mut ct = Ciphertext::zero(&self.params, self.params.q().len());
        self.encrypt_zero_sk(sk, &mut ct)?;
        Ok(PublicKey {
            b: ct.c0,
            a: ct.c1,
            fingerprint: sk.fingerprint,
        })
    }

    /// Overwrites `out` with a secret-key encryption of zero over its limbs.
    pub fn encrypt_zero_sk(&mut self, sk: &SecretKey, out: &mut Ciphertext) -> Result<(), KeyError> {
        self.check(sk.fingerprint)?;
        let ring = self.params.ring_q().clone();
        self.check_limbs(out.limbs())?;
        self.sampler.uniform(&ring, &mut out.c1);
        out.c1.set_form(Form::Evaluation);
        self.gaussian_ntt(&ring, &mut out.c0);
        // c0 = e + (-a) s, negating a in place rather than allocating a product.
        ring.neg_assign(&mut out.c1);
        ring.mul_add(&out.c1, &sk.q, &mut out.c0);
        ring.neg_assign(&mut out.c1);
        Ok(())
    }

    /// Overwrites `out` with a public-key encryption of zero over its limbs.
    pub fn encrypt_zero_pk(&mut self, pk: &PublicKey, out: &mut Ciphertext) -> Result<(), KeyError> {
        self.check(pk.fingerprint)?;
        let ring = self.params.ring_q().clone();
        let limbs = self.check_limbs(out.limbs())?;
        let mut u = RnsPoly::zero(&ring, limbs, Form::Coefficient);
        self.sampler.ternary(&ring, &mut u);
        ring.ntt(&mut u);
        // c0 = b u + e0, c1 = a u + e1.
        self.gaussian_ntt(&ring, &mut out.c0);
        self.gaussian_ntt(&ring, &mut out.c1);
        ring.mul_add(&pk.b, &u, &mut out.c0);
        ring.mul_add(&pk.a, &u, &mut out.c1);
        Ok(())
    }

    pub(crate) fn gaussian_ntt(&mut self, ring: &RnsBasis, out: &mut RnsPoly) {
        self.sampler.gaussian(ring, &self.gaussian, out);
        ring.ntt(out);
    }

    pub(crate) fn check(&self, fingerprint: u64) -> Result<(), KeyError> {
        check_fingerprint(&self.params, fingerprint)
    }

    fn check_limbs(&self, limbs: usize) -> Result<usize, KeyError> {
        let max = self.params.q().len();
        if limbs == 0 || limbs > max {
            return Err(KeyError::Limbs { limbs, max });
        }
        Ok(limbs)
    }
}

/// Writes `c0 + c1 s` (NTT form, over the ciphertext's limbs) into `out`.
pub fn decrypt(params: &Parameters, sk: &SecretKey, ct: &Ciphertext, out: &mut RnsPoly) -> Result<(), KeyError> {
    check_fingerprint(params, sk.fingerprint)?;
    let ring = params.ring_q();
    out.resize(ct.limbs());
    out.copy_from(&ct.c0);
    ring.mul_add(&ct.c1, &sk.q, out);
    Ok(())
}

pub(crate) fn check_fingerprint(params: &Parameters, found: u64) -> Result<(), KeyError> {
    if found != params.fingerprint() {
        return Err(KeyError::ForeignKey {
            expected: params.fingerprint(),
            found,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parameters::{DEFAULT_ERROR_STD, Moduli, ParametersLiteral};

    fn p1_literal() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 10,
            q: Moduli::Bits(vec![50, 40, 40]),
            p: Moduli::Bits(vec![50]),
            secret: SecretDistribution::Ternary,
            error_std: DEFAULT_ERROR_STD,
            digits: None,
        }
    }

    fn params(secret: SecretDistribution) -> Parameters {
        Parameters::new_toy(&ParametersLiteral { secret, ..p1_literal() }).unwrap()
    }

    /// Largest centred coefficient of limb 0 of a polynomial in NTT form.
    fn max_coeff(params: &Parameters, poly: &RnsPoly) -> u64 {
        let mut c = poly.clone();
        params.ring_q().intt(&mut c);
        let q0 = params.q()[0];
        c.limb(0).iter().map(|&x| x.min(q0 - x)).max().unwrap()
    }

    #[test]
    fn encryptions_of_zero_decrypt_to_small_noise() {
        for secret in [
            SecretDistribution::Ternary,
            SecretDistribution::SparseTernary { hamming_weight: 64 },
        ] {
            let p = params(secret);
            let mut kg = KeyGenerator::from_seed_for_tests(&p, [1; 32]).unwrap();
            let sk = kg.secret_key();
            let pk = kg.public_key(&sk).unwrap();
            for limbs in [3, 1] {
                let mut ct = Ciphertext::zero(&p, limbs);
                let mut m = RnsPoly::zero(p.ring_q(), limbs, Form::Evaluation);
                kg.encrypt_zero_sk(&sk, &mut ct).unwrap();
                decrypt(&p, &sk, &ct, &mut m).unwrap();
                // Fresh secret-key noise is one Gaussian: below 6 sigma.
                assert!(max_coeff(&p, &m) <= 20, "{}", max_coeff(&p, &m));
                kg.encrypt_zero_pk(&pk, &mut ct).unwrap();
                decrypt(&p, &sk, &ct, &mut m).unwrap();
                // e u + e0 + e1 s: a few hundred at N = 2^10, far below q_0.
                let noise = max_coeff(&p, &m);
                assert!((1..2000).contains(&noise), "{noise}");
            }
        }
    }

    #[test]
    fn secret_keys_are_small_and_fresh_each_time() {
        let p = params(SecretDistribution::Ternary);
        let mut kg = KeyGenerator::new(&p).unwrap();
        let (a, b) = (kg.secret_key(), kg.secret_key());
        assert_ne!(a.q, b.q);
        assert_eq!(max_coeff(&p, &a.q), 1);
        assert!(!format!("{a:?}").contains('['), "Debug must not print the key");
    }

    #[test]
    fn keys_of_other_parameters_and_bad_levels_are_refused() {
        let (p1, p2) = (
            params(SecretDistribution::Ternary),
            params(SecretDistribution::SparseTernary { hamming_weight: 8 }),
        );
        let mut kg1 = KeyGenerator::from_seed_for_tests(&p1, [2; 32]).unwrap();
        let mut kg2 = KeyGenerator::from_seed_for_tests(&p2, [3; 32]).unwrap();
        let sk2 = kg2.secret_key();
        assert!(matches!(kg1.public_key(&sk2), Err(KeyError::ForeignKey { .. })));
        let ct = Ciphertext::zero(&p1, 2);
        let mut m = RnsPoly::zero(p1.ring_q(), 2, Form::Evaluation);
        assert!(matches!(
            decrypt(&p1, &sk2, &ct, &mut m),
            Err(KeyError::ForeignKey { .. })
        ));
        let sk1 = kg1.secret_key();
        // A ciphertext of a set with more primes cannot be filled by this one.
        let wider = Parameters::new_toy(&ParametersLiteral {
            q: Moduli::Bits(vec![50, 40, 40, 40]),
            ..p1_literal()
        })
        .unwrap();
        let mut wide = Ciphertext::zero(&wider, 4);
        assert_eq!(
            kg1.encrypt_zero_sk(&sk1, &mut wide),
            Err(KeyError::Limbs { limbs: 4, max: 3 })
        );
    }
}
