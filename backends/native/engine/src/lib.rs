//! The native CKKS engine ([`blindtuner_ckks`]) behind the backend trait.
//!
//! The client holds the secret key (it encrypts with it: one Gaussian of fresh noise); the cloud
//! holds an [`Evaluator`] built from evaluation keys only. Every multiplication is followed by a
//! rescale, so results stay on the canonical scale chain and each product costs one level. The
//! cloud is `Sync`: concurrent callers take scratch buffers from a small pool.
//!
//! The `boot-*` sets bootstrap ([`Bootstrapper`]): fresh ciphertexts start at the top of their
//! work levels (the levels above belong to the bootstrapping circuit), and
//! [`Cloud::bootstrap`] brings any ciphertext back there.

use std::sync::Mutex;

use blindtuner_backend::{Backend, BackendError, Capabilities, Client, Cloud, Security, sum_of_products};
use blindtuner_ckks::{
    BootstrapKeys, BootstrapParameters, BootstrapParametersLiteral, BootstrapScratch, Bootstrapper, Ciphertext,
    CkksError, Complex64, Decryptor, Encoder, EncoderScratch, Encryptor, Evaluator, EvaluatorScratch, Parameters,
    ParametersLiteral, Plaintext, Product, presets,
};
use blindtuner_rlwe::{self as rlwe, EvaluationKeys, KeyGenerator, SecretKey, WireFormat};

/// Named parameter sets of the native backend.
pub const PARAMETER_SETS: [&str; 6] = [
    "toy-n12",
    "n14",
    "peer-n16",
    "boot-toy-n12",
    "boot-toy-n12-w9",
    "boot-n16",
];

/// The native engine at one parameter set.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    params: Parameters,
    /// The bootstrapping circuit, for bootstrappable sets.
    bootstrap: Option<BootstrapParameters>,
    name: String,
}

/// The client: the secret key, encoding and decoding.
pub struct NativeClient {
    params: Parameters,
    /// The level of fresh encryptions.
    top: usize,
    encoder: Encoder,
    encryptor: Encryptor,
    decryptor: Decryptor,
    /// Kept for [`Backend::client_to_bytes`].
    secret: SecretKey,
    scratch: EncoderScratch,
}

/// The cloud: evaluation keys and the evaluator; no secret.
pub struct NativeCloud {
    name: String,
    params: Parameters,
    engine: Engine,
    encoder: Encoder,
    pool: Mutex<Vec<(EvaluatorScratch, EncoderScratch)>>,
    bootstrap_pool: Mutex<Vec<BootstrapScratch>>,
}

/// What the cloud evaluates with: the bootstrapper owns the evaluator of a bootstrappable set.
enum Engine {
    Evaluator(Box<Evaluator>),
    Bootstrapper(Box<Bootstrapper>),
}

impl Engine {
    fn eval(&self) -> &Evaluator {
        match self {
            Engine::Evaluator(eval) => eval,
            Engine::Bootstrapper(boot) => boot.evaluator(),
        }
    }
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

fn capabilities(name: &str, params: &Parameters, bootstrap: Option<&BootstrapParameters>) -> Capabilities {
    Capabilities {
        backend: "native",
        parameters: format!("{name} ({params})"),
        slots: params.max_slots(),
        max_level: Some(top_level(params, bootstrap)),
        bootstrap: bootstrap.is_some(),
        exact: false,
        security: match params.security() {
            rlwe::Security::Standard(level) => Security::Bits(level.bits()),
            rlwe::Security::Toy => Security::Toy,
        },
    }
}

/// The level of fresh ciphertexts: the top, or the top of the work levels of a bootstrappable set.
fn top_level(params: &Parameters, bootstrap: Option<&BootstrapParameters>) -> usize {
    bootstrap.map_or(params.max_level(), BootstrapParameters::work_level)
}

fn wire(e: rlwe::WireError) -> BackendError {
    BackendError::Format(e.to_string())
}

impl NativeBackend {
    /// A 128-bit parameter set from a literal (refused below 128 bits).
    pub fn new(name: &str, lit: &ParametersLiteral) -> Result<NativeBackend, BackendError> {
        Ok(NativeBackend {
            params: Parameters::new(lit).map_err(error)?,
            bootstrap: None,
            name: name.into(),
        })
    }

    /// A test parameter set of any security, reported as toy.
    pub fn new_toy(name: &str, lit: &ParametersLiteral) -> Result<NativeBackend, BackendError> {
        Ok(NativeBackend {
            params: Parameters::new_toy(lit).map_err(error)?,
            bootstrap: None,
            name: name.into(),
        })
    }

    /// A bootstrappable set (of any security: the parameters report it).
    pub fn bootstrappable(name: &str, bp: BootstrapParameters) -> NativeBackend {
        NativeBackend {
            params: bp.params().clone(),
            bootstrap: Some(bp),
            name: name.into(),
        }
    }

    /// One of [`PARAMETER_SETS`]: `toy-n12` (tests, insecure), `n14` (7 levels at 2^40), `peer-n16`
    /// (12 levels at 2^50, the peer comparison's shape), and the bootstrappable `boot-toy-n12`
    /// (tests, insecure, 2 levels), `boot-toy-n12-w9` (the same with the 9 work levels of
    /// boot-n16: training in tests, insecure) and `boot-n16` (128-bit, 9 levels at 2^50; about
    /// 6 GB of keys).
    pub fn named(name: &str) -> Result<NativeBackend, BackendError> {
        match name {
            "toy-n12" => Self::new_toy(name, &presets::toy_n12()),
            "n14" => Self::new(name, &presets::n14()),
            "peer-n16" => Self::new(name, &presets::peer_n16()),
            "boot-toy-n12" => Ok(Self::bootstrappable(
                name,
                BootstrapParameters::new_toy(&presets::bootstrap_toy_n12()).map_err(error)?,
            )),
            "boot-toy-n12-w9" => Ok(Self::bootstrappable(
                name,
                BootstrapParameters::new_toy(&BootstrapParametersLiteral {
                    work_levels: 9,
                    ..presets::bootstrap_toy_n12()
                })
                .map_err(error)?,
            )),
            "boot-n16" => Ok(Self::bootstrappable(
                name,
                BootstrapParameters::new(&presets::bootstrap_n16()).map_err(error)?,
            )),
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

    /// The client of the secret `sk`.
    fn client(&self, sk: SecretKey) -> Result<NativeClient, BackendError> {
        let p = &self.params;
        Ok(NativeClient {
            params: p.clone(),
            top: top_level(p, self.bootstrap.as_ref()),
            encoder: self.encoder()?,
            encryptor: Encryptor::with_secret_key(p, sk.clone()).map_err(error)?,
            decryptor: Decryptor::new(p, sk.clone()),
            secret: sk,
            scratch: EncoderScratch::default(),
        })
    }

    fn cloud(&self, engine: Engine) -> Result<NativeCloud, BackendError> {
        Ok(NativeCloud {
            name: self.name.clone(),
            engine,
            encoder: self.encoder()?,
            params: self.params.clone(),
            pool: Mutex::new(Vec::new()),
            bootstrap_pool: Mutex::new(Vec::new()),
        })
    }
}

impl Backend for NativeBackend {
    type Ciphertext = Ciphertext;
    type Client = NativeClient;
    type Cloud = NativeCloud;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.name, &self.params, self.bootstrap.as_ref())
    }

    fn keygen(&self, rotations: &[i64]) -> Result<(NativeClient, NativeCloud), BackendError> {
        let p = &self.params;
        let key_error = |e: rlwe::KeyError| error(e.into());
        let mut kg = KeyGenerator::new(p.rlwe()).map_err(key_error)?;
        let sk = kg.secret_key();
        let engine = match &self.bootstrap {
            Some(bp) => {
                let keys = bp.generate_keys(&mut kg, &sk, rotations).map_err(error)?;
                Engine::Bootstrapper(Box::new(Bootstrapper::new(bp, keys).map_err(error)?))
            }
            None => {
                let mut keys = EvaluationKeys::default();
                keys.relinearization = Some(kg.relinearization_key(&sk).map_err(key_error)?);
                let slots = p.max_slots();
                for &step in rotations.iter().filter(|k| k.rem_euclid(slots as i64) != 0) {
                    let g = p.rotation_galois_element(step, slots);
                    keys.insert_galois(kg.galois_key(&sk, g).map_err(key_error)?);
                }
                Engine::Evaluator(Box::new(Evaluator::new(p, keys).map_err(error)?))
            }
        };
        Ok((self.client(sk)?, self.cloud(engine)?))
    }

    fn client_to_bytes(&self, client: &NativeClient) -> Result<Vec<u8>, BackendError> {
        client.secret.to_bytes(self.params.rlwe()).map_err(wire)
    }

    fn client_from_bytes(&self, bytes: &[u8]) -> Result<NativeClient, BackendError> {
        self.client(SecretKey::from_bytes(self.params.rlwe(), bytes).map_err(wire)?)
    }

    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<NativeCloud, BackendError> {
        let engine = match &self.bootstrap {
            Some(bp) => {
                let keys = BootstrapKeys::from_bytes(bp, bytes).map_err(wire)?;
                Engine::Bootstrapper(Box::new(Bootstrapper::new(bp, keys).map_err(error)?))
            }
            None => {
                let keys = EvaluationKeys::from_bytes(self.params.rlwe(), bytes).map_err(wire)?;
                Engine::Evaluator(Box::new(Evaluator::new(&self.params, keys).map_err(error)?))
            }
        };
        self.cloud(engine)
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
        let (top, slots) = (self.top, self.params.max_slots());
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

    /// Runs `f` with the bootstrapper and a scratch from its pool; refused on a set that does
    /// not bootstrap.
    fn with_bootstrapper(
        &self,
        f: impl FnOnce(&Bootstrapper, &mut BootstrapScratch) -> Result<(), CkksError>,
    ) -> Result<(), BackendError> {
        let Engine::Bootstrapper(boot) = &self.engine else {
            return Err(BackendError::Unsupported {
                backend: "native",
                operation: "bootstrap",
                reason: format!("`{}` is not a bootstrappable set (boot-n16 is)", self.name),
            });
        };
        let taken = self.bootstrap_pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut scratch = taken.unwrap_or_else(|| BootstrapScratch::new(boot.params()));
        let result = f(boot, &mut scratch).map_err(error);
        self.bootstrap_pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(scratch);
        result
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
        let bootstrap = match &self.engine {
            Engine::Bootstrapper(boot) => Some(boot.params()),
            Engine::Evaluator(_) => None,
        };
        capabilities(&self.name, &self.params, bootstrap)
    }

    fn level(&self, ct: &Ciphertext) -> usize {
        ct.level()
    }

    /// Down to `level` on its canonical scale ([`Evaluator::lower_to`]: the limbs above
    /// `level + 1` dropped, then one exact rescale).
    fn lower(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext, BackendError> {
        match level.cmp(&a.level()) {
            std::cmp::Ordering::Equal => Ok(a.clone()),
            std::cmp::Ordering::Greater => Err(BackendError::cannot_raise("native", a.level(), level)),
            std::cmp::Ordering::Less => {
                let mut out = Ciphertext::new(&self.params, level, a.slots());
                let scale = self.params.scale_at(level);
                self.with_scratch(|s, _| self.engine.eval().lower_to(a, level, scale, &mut out, s))
                    .map_err(error)?;
                Ok(out)
            }
        }
    }

    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.engine.eval().add(a, b, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.engine.eval().sub(a, b, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.engine.eval().neg(a, &mut out).map_err(error)?;
        Ok(out)
    }

    fn add_plain(&self, a: &Ciphertext, v: &[f64]) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|_, enc| {
            let pt = self.plaintext(a, v, a.scale(), enc)?;
            self.engine.eval().add_plain(a, &pt, &mut out).map_err(error)
        })?;
        Ok(out)
    }

    fn add_scalar(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.engine.eval().add_const(a, Complex64::new(c, 0.0), &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        Self::check_level(b)?;
        let mut out = self.output(a);
        self.with_scratch(|s, _| {
            self.engine.eval().mul_relin(a, b, &mut out, s)?;
            self.engine.eval().rescale_assign(&mut out, s)
        })
        .map_err(error)?;
        Ok(out)
    }

    /// The products' degree-2 tensors summed, then one relinearisation and one rescale; products
    /// of different levels or scales cannot be summed before relinearising and take the
    /// products' sum instead.
    fn mul_sum(&self, pairs: &[(&Ciphertext, &Ciphertext)]) -> Result<Ciphertext, BackendError> {
        let Some(&(a0, b0)) = pairs.first() else {
            return sum_of_products(self, pairs);
        };
        for (a, b) in pairs {
            Self::check_level(a)?;
            Self::check_level(b)?;
        }
        let level = |(a, b): &(&Ciphertext, &Ciphertext)| a.level().min(b.level());
        let scale = |(a, b): &(&Ciphertext, &Ciphertext)| a.scale() * b.scale();
        let uniform = pairs
            .iter()
            .all(|p| level(p) == level(&pairs[0]) && (scale(p) / scale(&pairs[0]) - 1.0).abs() < 1e-9);
        if !uniform {
            return sum_of_products(self, pairs);
        }
        let (level, slots) = (level(&pairs[0]), a0.slots());
        let mut out = Ciphertext::new(&self.params, level, slots);
        let (mut sum, mut product) = (
            Product::new(&self.params, level, slots),
            Product::new(&self.params, level, slots),
        );
        self.with_scratch(|s, _| {
            let eval = self.engine.eval();
            eval.tensor(a0, b0, &mut sum, s)?;
            for (a, b) in &pairs[1..] {
                eval.tensor(a, b, &mut product, s)?;
                eval.add_product(&mut sum, &product)?;
            }
            eval.relinearize(&sum, &mut out, s)?;
            eval.rescale_assign(&mut out, s)
        })
        .map_err(error)?;
        Ok(out)
    }

    fn mul_plain(&self, a: &Ciphertext, v: &[f64]) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        let mut out = self.output(a);
        self.with_scratch(|s, enc| {
            let scale = self.engine.eval().factor_scale(a).map_err(error)?;
            let pt = self.plaintext(a, v, scale, enc)?;
            self.engine.eval().mul_plain(a, &pt, &mut out).map_err(error)?;
            self.engine.eval().rescale_assign(&mut out, s).map_err(error)
        })?;
        Ok(out)
    }

    fn mul_scalar(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext, BackendError> {
        Self::check_level(a)?;
        let mut out = self.output(a);
        self.with_scratch(|s, _| {
            self.engine.eval().mul_const(a, Complex64::new(c, 0.0), &mut out, s)?;
            self.engine.eval().rescale_assign(&mut out, s)
        })
        .map_err(error)?;
        Ok(out)
    }

    fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_scratch(|s, _| self.engine.eval().rotate(a, step, &mut out, s))
            .map_err(error)?;
        Ok(out)
    }

    fn rotate_many(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>, BackendError> {
        let mut outs: Vec<Ciphertext> = steps.iter().map(|_| self.output(a)).collect();
        self.with_scratch(|s, _| self.engine.eval().rotate_hoisted(a, steps, &mut outs, s))
            .map_err(error)?;
        Ok(outs)
    }

    fn bootstrap(&self, a: &Ciphertext) -> Result<Ciphertext, BackendError> {
        let mut out = self.output(a);
        self.with_bootstrapper(|boot, scratch| boot.bootstrap(a, &mut out, scratch))?;
        Ok(out)
    }

    /// One bootstrapping of `Re(a) + i Re(b)`: [`Bootstrapper::bootstrap_real_pair`].
    fn bootstrap_pair(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext), BackendError> {
        let (mut out_a, mut out_b) = (self.output(a), self.output(b));
        self.with_bootstrapper(|boot, scratch| boot.bootstrap_real_pair(a, b, &mut out_a, &mut out_b, scratch))?;
        Ok((out_a, out_b))
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        match &self.engine {
            Engine::Evaluator(eval) => eval.keys().to_bytes(self.params.rlwe()),
            Engine::Bootstrapper(boot) => boot.keys_to_bytes(),
        }
        .map_err(wire)
    }
}
