//! The native CKKS engine ([`blindtuner_ckks`]) behind the backend trait.
//!
//! The client holds the secret key (it encrypts with it: one Gaussian of fresh noise); the cloud
//! holds an [`Evaluator`] built from evaluation keys only. Every multiplication is followed by a
//! rescale, so results stay on the canonical scale chain and each product costs one level. The
//! cloud is `Sync`: concurrent callers take scratch buffers from a small pool.

use std::sync::Mutex;

use blindtuner_backend::{Backend, BackendError, Capabilities, Client, Cloud, Security};
use blindtuner_ckks::{
    Ciphertext, CkksError, Complex64, Decryptor, Encoder, EncoderScratch, Encryptor, Evaluator, EvaluatorScratch,
    Parameters, ParametersLiteral, Plaintext, presets,
};
use blindtuner_rlwe::{self as rlwe, EvaluationKeys, KeyGenerator, WireFormat};

/// Named parameter sets of the native backend.
pub const PARAMETER_SETS: [&str; 3] = ["toy-n12", "n14", "peer-n16"];

/// The native engine at one parameter set.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    params: Parameters,
    name: String,
}

/// The client: the secret key, encoding and decoding.
pub struct NativeClient {
    params: Parameters,
    encoder: Encoder,
    encryptor: Encryptor,
    decryptor: Decryptor,
    scratch: EncoderScratch,
}

/// The cloud: evaluation keys and the evaluator; no secret.
pub struct NativeCloud {
    name: String,
    params: Parameters,
    eval: Evaluator,
    encoder: Encoder,
    pool: Mutex<Vec<(EvaluatorScratch, EncoderScratch)>>,
}

/// Maps engine errors onto the trait's.
fn error(e: CkksError) -> BackendError {
    match e {
        CkksError::MissingRotationKey { step, .. } => BackendError::MissingKey(format!("the rotation by {step}")),
        CkksError::MissingConjugationKey => BackendError::MissingKey("conjugation".into()),
        CkksError::MissingRelinearizationKey => BackendError::MissingKey("relinearisation".into()),
        CkksError::LevelTooLow { level, .. } => BackendError::LevelExhausted { level },
        CkksError::TooManyValues { given, slots } => BackendError::Length { given, slots },
        CkksError::Wire(e) => BackendError::Format(e.to_string()),
        e @ CkksError::ForeignCiphertext { .. } => BackendError::Format(e.to_string()),
        e => BackendError::Engine(e.to_string()),
    }
}

fn capabilities(name: &str, params: &Parameters) -> Capabilities {
    Capabilities {
        backend: "native",
        parameters: format!("{name} ({params})"),
        slots: params.max_slots(),
        max_level: params.max_level(),
        bootstrap: false,
        exact: false,
        security: match params.security() {
            rlwe::Security::Standard(level) => Security::Bits(level.bits()),
            rlwe::Security::Toy => Security::Toy,
        },
    }
}

fn wire(e: rlwe::WireError) -> BackendError {
    BackendError::Format(e.to_string())
}

impl NativeBackend {
    /// A 128-bit parameter set from a literal (refused below 128 bits).
    pub fn new(name: &str, lit: &ParametersLiteral) -> Result<NativeBackend, BackendError> {
        Ok(NativeBackend {
            params: Parameters::new(lit).map_err(error)?,
            name: name.into(),
        })
    }

    /// A test parameter set of any security, reported as toy.
    pub fn new_toy(name: &str, lit: &ParametersLiteral) -> Result<NativeBackend, BackendError> {
        Ok(NativeBackend {
            params: Parameters::new_toy(lit).map_err(error)?,
            name: name.into(),
        })
    }

    /// One of [`PARAMETER_SETS`]: `toy-n12` (tests, insecure), `n14` (7 levels at 2^40), `peer-n16`
    /// (12 levels at 2^50, the peer comparison's shape).
    pub fn named(name: &str) -> Result<NativeBackend, BackendError> {
        match name {
            "toy-n12" => Self::new_toy(name, &presets::toy_n12()),
            "n14" => Self::new(name, &presets::n14()),
            "peer-n16" => Self::new(name, &presets::peer_n16()),
            _ => Err(BackendError::Unsupported {
                backend: "native",
                operation: "use this parameter set",
                reason: format!("`{name}` is not one of {}", PARAMETER_SETS.join(", ")),
            }),
        }
    }

    pub fn params(&self) -> &Parameters {
        &self.params
    }

    fn encoder(&self) -> Result<Encoder, BackendError> {
        Encoder::new(self.params.rlwe().ring_q().clone(), self.params.max_slots()).map_err(error)
    }

    fn cloud(&self, keys: EvaluationKeys) -> Result<NativeCloud, BackendError> {
        Ok(NativeCloud {
            name: self.name.clone(),
            eval: Evaluator::new(&self.params, keys).map_err(error)?,
            encoder: self.encoder()?,
            params: self.params.clone(),
            pool: Mutex::new(Vec::new()),
        })
    }
}

impl Backend for NativeBackend {
    type Ciphertext = Ciphertext;
    type Client = NativeClient;
    type Cloud = NativeCloud;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.name, &self.params)
    }

    fn keygen(&self, rotations: &[i64]) -> Result<(NativeClient, NativeCloud), BackendError> {
        let p = &self.params;
        let mut kg = KeyGenerator::new(p.rlwe()).map_err(|e| error(e.into()))?;
        let sk = kg.secret_key();
        let mut keys = EvaluationKeys::default();
        keys.relinearization = Some(kg.relinearization_key(&sk).map_err(|e| error(e.into()))?);
        let slots = p.max_slots();
        for &step in rotations.iter().filter(|k| k.rem_euclid(slots as i64) != 0) {
            let g = p.rotation_galois_element(step, slots);
            keys.insert_galois(kg.galois_key(&sk, g).map_err(|e| error(e.into()))?);
        }
        let client = NativeClient {
            params: p.clone(),
            encoder: self.encoder()?,
            encryptor: Encryptor::with_secret_key(p, sk.clone()).map_err(error)?,
            decryptor: Decryptor::new(p, sk),
            scratch: EncoderScratch::default(),
        };
        Ok((client, self.cloud(keys)?))
    }

    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<NativeCloud, BackendError> {
        self.cloud(EvaluationKeys::from_bytes(self.params.rlwe(), bytes).map_err(wire)?)
    }

    fn ciphertext_to_bytes(&self, ct: &Ciphertext) -> Result<Vec<u8>, BackendError> {
        ct.to_bytes(&self.params).map_err(wire)
    }

    fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<Ciphertext, BackendError> {
        let ct = Ciphertext::from_bytes(&self.params, bytes).map_err(wire)?;
        if ct.slots() != self.params.max_slots() {
            return Err(BackendError::Format(format!(
                "a ciphertext of {} slots, this backend uses {}",
                ct.slots(),
                self.params.max_slots()
            )));
        }
        Ok(ct)
    }
}

impl Client for NativeClient {
    type Ciphertext = Ciphertext;

    fn encrypt(&mut self, values: &[f64]) -> Result<Ciphertext, BackendError> {
        let (top, slots) = (self.params.max_level(), self.params.max_slots());
        let scale = self.params.scale_at(top);
        let mut pt = Plaintext::new(&self.params, top, scale, slots);
        self.encoder
            .encode_real(values, scale, &mut pt, &mut self.scratch)
            .map_err(error)?;
        let mut ct = Ciphertext::new(&self.params, top, slots);
        self.encryptor.encrypt(&pt, &mut ct).map_err(error)?;
        Ok(ct)
    }

    fn decrypt(&self, ct: &Ciphertext) -> Result<Vec<f64>, BackendError> {
        let pt = self.decryptor.decrypt_new(ct).map_err(error)?;
        let mut slots = vec![Complex64::default(); self.params.max_slots()];
        self.encoder
            .decode(&pt, &mut slots, &mut EncoderScratch::default())
            .map_err(error)?;
        Ok(slots.iter().map(|z| z.re).collect())
    }
}

impl NativeCloud {
    /// Runs `f` with scratch buffers from the pool (made on first use by each concurrent caller).
    fn with_scratch<T>(&self, f: impl FnOnce(&mut EvaluatorScratch, &mut EncoderScratch) -> T) -> T {
        let taken = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let (mut eval, mut enc) =
            taken.unwrap_or_else(|| (EvaluatorScratch::new(&self.params), EncoderScratch::default()));
        let out = f(&mut eval, &mut enc);
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).push((eval, enc));
        out
    }

    fn output(&self, like: &Ciphertext) -> Ciphertext {
        Ciphertext::new(&self.params, like.level(), like.slots())
    }

    /// `v` encoded at `a`'s level with `scale`.
    fn plaintext(
        &self,
        a: &Ciphertext,
        v: &[f64],
        scale: f64,
        enc: &mut EncoderScratch,
    ) -> Result<Plaintext, BackendError> {
        let mut pt = Plaintext::new(&self.params, a.level(), scale, a.slots());
        self.encoder.encode_real(v, scale, &mut pt, enc).map_err(error)?;
        Ok(pt)
    }

    fn check_level(a: &Ciphertext) -> Result<(), BackendError> {
        if a.level() == 0 {
            return Err(BackendError::LevelExhausted { level: 0 });
        }
        Ok(())
    }
}

impl Cloud for NativeCloud {
    type Ciphertext = Ciphertext;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.name, &self.params)
    }

    fn level(&self, ct: &Ciphertext) -> usize {
        ct.level()
    }

    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.eval.add(a, b, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.eval.sub(a, b, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.eval.neg(a, &mut out).map_err(error)?;
        Ok(out)
    }

    fn add_plain(&self, a: &Ciphertext, v: &[f64]) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|_, enc| {
            let pt = self.plaintext(a, v, a.scale(), enc)?;
            self.eval.add_plain(a, &pt, &mut out).map_err(error)
        })?;
        Ok(out)
    }

    fn add_scalar(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.eval.add_const(a, Complex64::new(c, 0.0), &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        Self::check_level(b)?;
        let mut out = self.output(a);
        self.with_scratch(|s, _| {
            self.eval.mul_relin(a, b, &mut out, s)?;
            self.eval.rescale_assign(&mut out, s)
        })
        .map_err(error)?;
        Ok(out)
    }

    fn mul_plain(&self, a: &Ciphertext, v: &[f64]) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        let mut out = self.output(a);
        self.with_scratch(|s, enc| {
            let scale = self.eval.factor_scale(a).map_err(error)?;
            let pt = self.plaintext(a, v, scale, enc)?;
            self.eval.mul_plain(a, &pt, &mut out).map_err(error)?;
            self.eval.rescale_assign(&mut out, s).map_err(error)
        })?;
        Ok(out)
    }

    fn mul_scalar(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        let mut out = self.output(a);
        self.with_scratch(|s, _| {
            self.eval.mul_const(a, Complex64::new(c, 0.0), &mut out, s)?;
            self.eval.rescale_assign(&mut out, s)
        })
        .map_err(error)?;
        Ok(out)
    }

    fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.eval.rotate(a, step, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn rotate_many(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>, BackendError> {
        let mut outs: Vec<Ciphertext> = steps.iter().map(|_| self.output(a)).collect();
        self.with_scratch(|s, _| self.eval.rotate_hoisted(a, steps, &mut outs, s))
            .map_err(error)?;
        Ok(outs)
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        self.eval.keys().to_bytes(self.params.rlwe()).map_err(wire)
    }
}
