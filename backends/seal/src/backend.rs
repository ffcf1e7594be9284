//! [`SealBackend`], its client and its cloud: the backend trait over SEAL's CKKS.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use blindtuner_backend::{Backend, BackendError, Capabilities, Client, Cloud};
use blindtuner_rlwe::{Reader, Writer};

use crate::ffi::{self, Decryptor, Encoder, Encryptor, Evaluator, KSwitchKeys, KeyGenerator, SecretKey};
use crate::params::{PARAMETER_SETS, SealLiteral, SealParams};
use crate::wire::{self, Kind, wire_error};

/// SEAL CKKS at one parameter set.
#[derive(Debug, Clone)]
pub struct SealBackend {
    params: Arc<SealParams>,
}

/// A SEAL ciphertext of one parameter set, relinearised, at its level's canonical scale.
pub struct SealCiphertext {
    ct: ffi::Ciphertext,
    level: usize,
    fingerprint: u64,
}

/// The client: the secret key (inside SEAL's encryptor and decryptor) and the encoder.
pub struct SealClient {
    params: Arc<SealParams>,
    encoder: Encoder,
    encryptor: Encryptor,
    decryptor: Decryptor,
    /// Kept for [`Backend::client_to_bytes`].
    secret: SecretKey,
}

/// The cloud: the evaluator, relinearisation keys and the Galois keys of `steps`; built from
/// evaluation keys and public parameters only, it holds no secret key type.
pub struct SealCloud {
    params: Arc<SealParams>,
    evaluator: Evaluator,
    encoder: Encoder,
    relin: KSwitchKeys,
    /// `None` when no rotation was asked for (SEAL cannot serialise empty Galois keys usefully).
    galois: Option<KSwitchKeys>,
    /// Rotations with a key, normalised to `1..slots`.
    steps: BTreeSet<usize>,
}

impl Clone for SealCiphertext {
    fn clone(&self) -> SealCiphertext {
        SealCiphertext {
            // Copying cannot fail short of memory exhaustion (which aborts anyway): the C call
            // only refuses null pointers, and ours never is.
            ct: self.ct.try_clone().expect("SEAL copies a valid ciphertext"),
            level: self.level,
            fingerprint: self.fingerprint,
        }
    }
}

impl fmt::Debug for SealCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealCiphertext")
            .field("level", &self.level)
            .field("fingerprint", &format_args!("{:#018x}", self.fingerprint))
            .finish_non_exhaustive()
    }
}

impl SealCiphertext {
    /// Levels left.
    pub fn level(&self) -> usize {
        self.level
    }
}

fn unknown_set(name: &str) -> BackendError {
    BackendError::Unsupported {
        backend: "seal",
        operation: "use this parameter set",
        reason: format!("`{name}` is not one of {}", PARAMETER_SETS.join(", ")),
    }
}

/// The Galois element SEAL uses for a rotation by `step` in `1..N/2` (generator 3), and so the
/// index of its key in a `GaloisKeys` object, `(element - 1) / 2`.
fn galois_index(step: usize, n: usize) -> usize {
    let m = 2 * n as u64;
    let element = (0..step).fold(1u64, |g, _| g * 3 % m);
    ((element - 1) / 2) as usize
}

impl SealBackend {
    /// A parameter set of at least 128-bit security by the HomomorphicEncryption.org table
    /// (refused otherwise).
    pub fn new(name: &str, lit: &SealLiteral) -> Result<SealBackend, BackendError> {
        Ok(SealBackend {
            params: Arc::new(SealParams::new(name, lit, false)?),
        })
    }

    /// A test parameter set of any security, reported as toy.
    pub fn new_toy(name: &str, lit: &SealLiteral) -> Result<SealBackend, BackendError> {
        Ok(SealBackend {
            params: Arc::new(SealParams::new(name, lit, true)?),
        })
    }

    /// One of [`PARAMETER_SETS`]: `toy-seal-n12` (tests, insecure), `seal-n14` (128-bit, 8
    /// levels at 2^40), `seal-peer-n14` and `seal-peer-n16` (the peer benchmarks' shapes).
    pub fn named(name: &str) -> Result<SealBackend, BackendError> {
        match name {
            "toy-seal-n12" => Self::new_toy(name, &SealLiteral::TOY_N12),
            "seal-n14" => Self::new(name, &SealLiteral::N14),
            "seal-peer-n14" => Self::new(name, &SealLiteral::PEER_N14),
            "seal-peer-n16" => Self::new(name, &SealLiteral::PEER_N16),
            _ => Err(unknown_set(name)),
        }
    }

    /// The primes, `q_0 .. q_L` then the special prime.
    pub fn primes(&self) -> &[u64] {
        &self.params.primes
    }

    /// The literal the set was built from.
    pub fn literal(&self) -> &SealLiteral {
        &self.params.literal
    }

    /// Checks a ciphertext SEAL has loaded: two polynomials in NTT form at a data level of
    /// this set, with the level's canonical scale (to rounding; then set exactly).
    fn accept(&self, mut ct: ffi::Ciphertext) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        let bad = |why: String| Err(BackendError::Format(format!("a SEAL ciphertext {why}")));
        if ct.size()? != 2 || !ct.is_ntt_form()? {
            return bad("that is not relinearised or not in NTT form".into());
        }
        let Some(level) = p.level_of(&ct.parms_id()?) else {
            return bad(format!("not at a data level of {}", p.name));
        };
        let scale = ct.scale()?;
        if !p.is_canonical(scale, level) {
            return bad(format!(
                "with scale 2^{:.4}, not level {level}'s 2^{:.4}",
                scale.log2(),
                p.scales[level].log2()
            ));
        }
        p.snap(&mut ct, level)?;
        Ok(SealCiphertext {
            ct,
            level,
            fingerprint: p.fingerprint,
        })
    }

    /// Reads the body of an evaluation-key frame into a cloud.
    fn read_keys(&self, body: &[u8]) -> Result<SealCloud, BackendError> {
        let p = &self.params;
        let (n, slots, parts) = (2 * p.slots(), p.slots(), p.max_level() + 1);
        let mut r = Reader::new(body);
        let count = r.u32().map_err(wire_error)? as usize;
        if count >= slots {
            return Err(BackendError::Format(format!("{count} rotation keys for {slots} slots")));
        }
        let mut steps = BTreeSet::new();
        for _ in 0..count {
            let k = r.u32().map_err(wire_error)? as usize;
            if k == 0 || k >= slots || steps.last().is_some_and(|&last| k <= last) {
                return Err(BackendError::Format(format!("rotation step {k} out of order or range")));
            }
            steps.insert(k);
        }
        let mut blob = || -> Result<&[u8], BackendError> {
            let len = usize::try_from(r.u64().map_err(wire_error)?).unwrap_or(usize::MAX);
            r.take(len).map_err(wire_error)
        };
        let (relin_blob, galois_blob) = (blob()?, blob()?);
        r.finish().map_err(wire_error)?;

        if wire::kswitch_entries(relin_blob, 1, parts, "relinearisation keys")? != [0] {
            return Err(BackendError::Format("relinearisation keys without the key".into()));
        }
        let relin = KSwitchKeys::load(&p.context, relin_blob)?;
        let galois = if steps.is_empty() {
            if !galois_blob.is_empty() {
                return Err(BackendError::Format("Galois keys without rotation steps".into()));
            }
            None
        } else {
            let present = wire::kswitch_entries(galois_blob, n, parts, "Galois keys")?;
            let mut listed: Vec<usize> = steps.iter().map(|&k| galois_index(k, n)).collect();
            listed.sort_unstable();
            if present != listed {
                return Err(BackendError::Format(
                    "the Galois keys do not match the rotation steps listed".into(),
                ));
            }
            Some(KSwitchKeys::load(&p.context, galois_blob)?)
        };
        self.cloud(relin, galois, steps)
    }

    /// The client of the secret `sk`.
    fn client(&self, sk: SecretKey) -> Result<SealClient, BackendError> {
        let p = &self.params;
        Ok(SealClient {
            params: p.clone(),
            encoder: Encoder::new(&p.context)?,
            encryptor: Encryptor::new(&p.context, &sk)?,
            decryptor: Decryptor::new(&p.context, &sk)?,
            secret: sk,
        })
    }

    fn cloud(
        &self,
        relin: KSwitchKeys,
        galois: Option<KSwitchKeys>,
        steps: BTreeSet<usize>,
    ) -> Result<SealCloud, BackendError> {
        let p = &self.params;
        Ok(SealCloud {
            evaluator: Evaluator::new(&p.context)?,
            encoder: Encoder::new(&p.context)?,
            params: p.clone(),
            relin,
            galois,
            steps,
        })
    }

    fn own(&self, ct: &SealCiphertext) -> Result<(), BackendError> {
        own(&self.params, ct)
    }
}

/// Refuses a ciphertext of another parameter set (in memory; bytes are checked by the frame).
fn own(p: &SealParams, ct: &SealCiphertext) -> Result<(), BackendError> {
    if ct.fingerprint != p.fingerprint {
        return Err(BackendError::Format(format!(
            "a ciphertext of another parameter set than {}",
            p.name
        )));
    }
    Ok(())
}

/// Refuses more values than slots and values CKKS cannot encode.
fn check_values(p: &SealParams, v: &[f64]) -> Result<(), BackendError> {
    if v.len() > p.slots() {
        return Err(BackendError::Length {
            given: v.len(),
            slots: p.slots(),
        });
    }
    check_finite(v.iter().copied())
}

fn check_finite(mut v: impl Iterator<Item = f64>) -> Result<(), BackendError> {
    match v.find(|x| !x.is_finite()) {
        Some(x) => Err(BackendError::Engine(format!("{x} cannot be encoded"))),
        None => Ok(()),
    }
}

impl Backend for SealBackend {
    type Ciphertext = SealCiphertext;
    type Client = SealClient;
    type Cloud = SealCloud;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.params)
    }

    fn keygen(&self, rotations: &[i64]) -> Result<(SealClient, SealCloud), BackendError> {
        let p = &self.params;
        let slots = p.slots() as i64;
        let steps: BTreeSet<usize> = rotations
            .iter()
            .map(|k| k.rem_euclid(slots) as usize)
            .filter(|&k| k != 0)
            .collect();
        let kg = KeyGenerator::new(&p.context)?;
        let sk = kg.secret_key()?;
        let relin = kg.relin_keys()?;
        let galois = if steps.is_empty() {
            None
        } else {
            let list: Vec<i64> = steps.iter().map(|&k| k as i64).collect();
            Some(kg.galois_keys(&list)?)
        };
        Ok((self.client(sk)?, self.cloud(relin, galois, steps)?))
    }

    fn client_to_bytes(&self, client: &SealClient) -> Result<Vec<u8>, BackendError> {
        Ok(wire::frame(&self.params, Kind::SecretKey, &client.secret.to_bytes()?))
    }

    fn client_from_bytes(&self, bytes: &[u8]) -> Result<SealClient, BackendError> {
        let blob = wire::unframe(&self.params, Kind::SecretKey, bytes)?;
        wire::check_seal_blob(blob, "secret key")?;
        self.client(SecretKey::load(&self.params.context, blob)?)
    }

    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<SealCloud, BackendError> {
        self.read_keys(wire::unframe(&self.params, Kind::EvaluationKeys, bytes)?)
    }

    fn ciphertext_to_bytes(&self, ct: &SealCiphertext) -> Result<Vec<u8>, BackendError> {
        self.own(ct)?;
        Ok(wire::frame(&self.params, Kind::Ciphertext, &ct.ct.to_bytes()?))
    }

    fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<SealCiphertext, BackendError> {
        let blob = wire::unframe(&self.params, Kind::Ciphertext, bytes)?;
        wire::check_seal_blob(blob, "ciphertext")?;
        self.accept(ffi::Ciphertext::load(&self.params.context, blob)?)
    }
}

fn capabilities(p: &SealParams) -> Capabilities {
    Capabilities {
        backend: "seal",
        parameters: p.describe(),
        slots: p.slots(),
        max_level: Some(p.max_level()),
        bootstrap: false,
        exact: false,
        security: p.security,
    }
}

impl Client for SealClient {
    type Ciphertext = SealCiphertext;

    fn encrypt(&mut self, values: &[f64]) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        check_values(p, values)?;
        let top = p.max_level();
        let pt = self.encoder.encode(values, &p.parms_ids[top], p.scales[top])?;
        Ok(SealCiphertext {
            ct: self.encryptor.encrypt(&pt)?,
            level: top,
            fingerprint: p.fingerprint,
        })
    }

    fn decrypt(&self, ct: &SealCiphertext) -> Result<Vec<f64>, BackendError> {
        own(&self.params, ct)?;
        let pt = self.decryptor.decrypt(&ct.ct)?;
        self.encoder.decode(&pt, self.params.slots())
    }
}

impl SealCloud {
    /// Wraps an evaluator result at `level`, on that level's canonical scale.
    fn wrap(&self, mut ct: ffi::Ciphertext, level: usize) -> Result<SealCiphertext, BackendError> {
        self.params.snap(&mut ct, level)?;
        Ok(SealCiphertext {
            ct,
            level,
            fingerprint: self.params.fingerprint,
        })
    }

    /// `a` brought down to `target` (below its level) on `target`'s canonical scale, or `None`
    /// if it is there already: primes dropped to `target + 1`, then a product with the constant 1
    /// encoded at `S_t q_(t+1) / S_a` and a rescale, which lands on `S_t`.
    fn lowered(&self, a: &SealCiphertext, target: usize) -> Result<Option<ffi::Ciphertext>, BackendError> {
        let p = &self.params;
        if a.level == target {
            return Ok(None);
        }
        let above = target + 1;
        let dropped = if a.level > above {
            Some(self.evaluator.mod_switch_to(&a.ct, &p.parms_ids[above])?)
        } else {
            None
        };
        let factor = p.scales[target] * p.primes[above] as f64 / p.scales[a.level];
        let one = self.encoder.encode_scalar(1.0, &p.parms_ids[above], factor)?;
        let product = self.evaluator.multiply_plain(dropped.as_ref().unwrap_or(&a.ct), &one)?;
        let mut out = self.evaluator.rescale_to_next(&product)?;
        p.snap(&mut out, target)?;
        Ok(Some(out))
    }

    /// Both operands at the lower of their levels: `(a, b, level)`.
    fn aligned<T>(
        &self,
        a: &SealCiphertext,
        b: &SealCiphertext,
        f: impl FnOnce(&ffi::Ciphertext, &ffi::Ciphertext, usize) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        own(&self.params, a)?;
        own(&self.params, b)?;
        let level = a.level.min(b.level);
        let (la, lb) = (self.lowered(a, level)?, self.lowered(b, level)?);
        f(la.as_ref().unwrap_or(&a.ct), lb.as_ref().unwrap_or(&b.ct), level)
    }

    /// Rescales a product made at `level` (on `S_level^2`) to `level - 1`.
    fn rescaled(&self, product: ffi::Ciphertext, level: usize) -> Result<SealCiphertext, BackendError> {
        let out = self.evaluator.rescale_to_next(&product)?;
        self.wrap(out, level - 1)
    }

    /// Refuses a product at level 0.
    fn multipliable(&self, a: &SealCiphertext) -> Result<(), BackendError> {
        own(&self.params, a)?;
        if a.level == 0 {
            return Err(BackendError::LevelExhausted { level: 0 });
        }
        Ok(())
    }
}

impl Cloud for SealCloud {
    type Ciphertext = SealCiphertext;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.params)
    }

    fn level(&self, ct: &SealCiphertext) -> usize {
        ct.level
    }

    fn lower(&self, a: &SealCiphertext, level: usize) -> Result<SealCiphertext, BackendError> {
        own(&self.params, a)?;
        if level > a.level {
            return Err(BackendError::cannot_raise("seal", a.level, level));
        }
        match self.lowered(a, level)? {
            Some(ct) => self.wrap(ct, level),
            None => Ok(a.clone()),
        }
    }

    fn add(&self, a: &SealCiphertext, b: &SealCiphertext) -> Result<SealCiphertext, BackendError> {
        self.aligned(a, b, |x, y, level| self.wrap(self.evaluator.add(x, y)?, level))
    }

    fn sub(&self, a: &SealCiphertext, b: &SealCiphertext) -> Result<SealCiphertext, BackendError> {
        self.aligned(a, b, |x, y, level| self.wrap(self.evaluator.sub(x, y)?, level))
    }

    fn neg(&self, a: &SealCiphertext) -> Result<SealCiphertext, BackendError> {
        own(&self.params, a)?;
        self.wrap(self.evaluator.negate(&a.ct)?, a.level)
    }

    fn add_plain(&self, a: &SealCiphertext, v: &[f64]) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        own(p, a)?;
        check_values(p, v)?;
        let pt = self.encoder.encode(v, &p.parms_ids[a.level], p.scales[a.level])?;
        self.wrap(self.evaluator.add_plain(&a.ct, &pt)?, a.level)
    }

    fn add_scalar(&self, a: &SealCiphertext, c: f64) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        own(p, a)?;
        check_finite([c].into_iter())?;
        let pt = self
            .encoder
            .encode_scalar(c, &p.parms_ids[a.level], p.scales[a.level])?;
        self.wrap(self.evaluator.add_plain(&a.ct, &pt)?, a.level)
    }

    fn mul(&self, a: &SealCiphertext, b: &SealCiphertext) -> Result<SealCiphertext, BackendError> {
        self.multipliable(a)?;
        self.multipliable(b)?;
        self.aligned(a, b, |x, y, level| {
            let product = self.evaluator.multiply(x, y)?;
            let product = self.evaluator.relinearize(&product, &self.relin)?;
            self.rescaled(product, level)
        })
    }

    fn mul_plain(&self, a: &SealCiphertext, v: &[f64]) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        self.multipliable(a)?;
        check_values(p, v)?;
        let pt = self.encoder.encode(v, &p.parms_ids[a.level], p.scales[a.level])?;
        self.rescaled(self.evaluator.multiply_plain(&a.ct, &pt)?, a.level)
    }

    fn mul_scalar(&self, a: &SealCiphertext, c: f64) -> Result<SealCiphertext, BackendError> {
        let p = &self.params;
        self.multipliable(a)?;
        check_finite([c].into_iter())?;
        let pt = self
            .encoder
            .encode_scalar(c, &p.parms_ids[a.level], p.scales[a.level])?;
        self.rescaled(self.evaluator.multiply_plain(&a.ct, &pt)?, a.level)
    }

    fn rotate(&self, a: &SealCiphertext, step: i64) -> Result<SealCiphertext, BackendError> {
        own(&self.params, a)?;
        let k = step.rem_euclid(self.params.slots() as i64) as usize;
        if k == 0 {
            return Ok(a.clone());
        }
        // SEAL would compose a missing rotation from power-of-two keys; the trait promises the
        // keys asked for, so a step without its own key is refused, as on every backend.
        let keys = match &self.galois {
            Some(keys) if self.steps.contains(&k) => keys,
            _ => return Err(BackendError::MissingKey(format!("the rotation by {step}"))),
        };
        self.wrap(self.evaluator.rotate(&a.ct, k, keys)?, a.level)
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        let mut w = Writer::new();
        w.u32(self.steps.len() as u32);
        self.steps.iter().for_each(|&k| w.u32(k as u32));
        let relin = self.relin.to_bytes()?;
        w.u64(relin.len() as u64);
        let mut body = w.into_bytes();
        body.extend_from_slice(&relin);
        let galois = match &self.galois {
            Some(keys) => keys.to_bytes()?,
            None => Vec::new(),
        };
        body.extend_from_slice(&(galois.len() as u64).to_le_bytes());
        body.extend_from_slice(&galois);
        Ok(wire::frame(&self.params, Kind::EvaluationKeys, &body))
    }
}
