//! Shared set-up of the ckks integration tests: keys, encryption and decryption at toy sizes,
//! and precision checks against a complex reference.

#![allow(dead_code)] // each test file uses part of it

use blindtuner_ckks::{
    Ciphertext, Complex64, Decryptor, Encoder, EncoderScratch, Encryptor, Evaluator, EvaluatorScratch, Parameters,
    ParametersLiteral, Plaintext, Precision, SCALE_TOLERANCE, presets,
};
use blindtuner_ring::conjugation_galois_element;
use blindtuner_rlwe::{EvaluationKeys, KeyGenerator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

pub struct Setup {
    pub params: Parameters,
    pub encryptor: Encryptor,
    /// Encrypts with the secret key: one Gaussian of fresh noise, for tests of deep circuits.
    pub secret_encryptor: Encryptor,
    pub decryptor: Decryptor,
    pub eval: Evaluator,
    pub encoder: Encoder,
    pub scratch: EvaluatorScratch,
    pub encoder_scratch: EncoderScratch,
    pub rng: ChaCha20Rng,
}

/// Rotation steps with keys: powers of two (for rotate-and-sum) and a few others.
pub fn steps(slots: usize) -> Vec<i64> {
    let mut steps: Vec<i64> = (0..slots.ilog2()).map(|k| 1 << k).collect();
    steps.extend([-1, 3, 5, -7]);
    steps
}

pub fn setup_with(lit: &ParametersLiteral, slots: usize, rotations: &[i64], relinearization: bool) -> Setup {
    let params = Parameters::new_toy(lit).unwrap();
    let mut kg = KeyGenerator::new(params.rlwe()).unwrap();
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk).unwrap();
    let mut keys = EvaluationKeys::default();
    if relinearization {
        keys.relinearization = Some(kg.relinearization_key(&sk).unwrap());
    }
    for &step in rotations {
        let g = params.rotation_galois_element(step, slots);
        keys.insert_galois(kg.galois_key(&sk, g).unwrap());
    }
    keys.insert_galois(kg.galois_key(&sk, conjugation_galois_element(params.n())).unwrap());
    Setup {
        encryptor: Encryptor::with_public_key(&params, pk).unwrap(),
        secret_encryptor: Encryptor::with_secret_key(&params, sk.clone()).unwrap(),
        decryptor: Decryptor::new(&params, sk),
        eval: Evaluator::new(&params, keys).unwrap(),
        encoder: Encoder::new(params.rlwe().ring_q().clone(), slots).unwrap(),
        scratch: EvaluatorScratch::new(&params),
        encoder_scratch: EncoderScratch::default(),
        rng: ChaCha20Rng::from_os_rng(),
        params,
    }
}

/// The toy N = 2^12 set (scale 2^40, 6 levels) with the keys of [`steps`].
pub fn setup(slots: usize) -> Setup {
    setup_with(&presets::toy_n12(), slots, &steps(slots), true)
}

impl Setup {
    pub fn slots(&self) -> usize {
        self.encoder.slots()
    }

    /// Fresh values in the unit square of the complex plane.
    pub fn random(&mut self) -> Vec<Complex64> {
        (0..self.slots())
            .map(|_| Complex64::new(self.rng.random_range(-1.0..1.0), self.rng.random_range(-1.0..1.0)))
            .collect()
    }

    pub fn encode(&mut self, values: &[Complex64], level: usize, scale: f64) -> Plaintext {
        let mut pt = Plaintext::new(&self.params, level, scale, self.slots());
        self.encoder
            .encode(values, scale, &mut pt, &mut self.encoder_scratch)
            .unwrap();
        pt
    }

    /// A public-key encryption of `values` at `level`, on the level's canonical scale.
    pub fn encrypt(&mut self, values: &[Complex64], level: usize) -> Ciphertext {
        self.encrypt_with(values, level, false)
    }

    /// The same with the secret key.
    pub fn encrypt_secret(&mut self, values: &[Complex64], level: usize) -> Ciphertext {
        self.encrypt_with(values, level, true)
    }

    fn encrypt_with(&mut self, values: &[Complex64], level: usize, secret: bool) -> Ciphertext {
        let pt = self.encode(values, level, self.params.scale_at(level));
        let mut ct = Ciphertext::new(&self.params, level, self.slots());
        let encryptor = if secret {
            &mut self.secret_encryptor
        } else {
            &mut self.encryptor
        };
        encryptor.encrypt(&pt, &mut ct).unwrap();
        ct
    }

    pub fn decrypt(&mut self, ct: &Ciphertext) -> Vec<Complex64> {
        let pt = self.decryptor.decrypt_new(ct).unwrap();
        let mut out = vec![Complex64::default(); self.slots()];
        self.encoder.decode(&pt, &mut out, &mut self.encoder_scratch).unwrap();
        out
    }

    /// Asserts the decryption of `ct` matches `want` to `bits` bits in every slot.
    pub fn check(&mut self, what: &str, ct: &Ciphertext, want: &[Complex64], bits: f64) {
        let got = self.decrypt(ct);
        let p = Precision::of(want, &got);
        assert!(
            p.min_bits >= bits,
            "{what}: {:.1} bits in the worst slot (mean {:.1}), wanted {bits}",
            p.min_bits,
            p.mean_bits
        );
    }

    pub fn out(&self) -> Ciphertext {
        Ciphertext::new(&self.params, self.params.max_level(), self.slots())
    }

    pub fn assert_canonical(&self, ct: &Ciphertext) {
        let want = self.params.scale_at(ct.level());
        assert!(
            ((ct.scale() - want) / want).abs() <= SCALE_TOLERANCE,
            "scale 2^{} at level {}, canonical 2^{}",
            ct.scale().log2(),
            ct.level(),
            want.log2()
        );
    }
}

pub fn zip(a: &[Complex64], b: &[Complex64], f: impl Fn(Complex64, Complex64) -> Complex64) -> Vec<Complex64> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}
