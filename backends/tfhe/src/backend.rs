//! [`TfheBackend`]: the backend trait on tfhe-rs, one encrypted `FheInt32` per slot.

use std::fmt;

use blindtuner_backend::{Backend, BackendError, Capabilities, Client, Cloud, Security};
use blindtuner_rlwe::ObjectKind;
use rayon::prelude::*;
use tfhe::prelude::*;
use tfhe::{ClientKey, CompressedServerKey, ConfigBuilder, FheInt32, FheInt32ConformanceParams, FheInt64};

use crate::params::{BLOCK_PARAMETERS, FixedPoint, TfheParams};
use crate::wire;

/// The tfhe backend at one named parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TfheBackend {
    params: TfheParams,
}

/// A ciphertext: one `FheInt32` per slot, labelled with its set's fingerprint.
#[derive(Clone)]
pub struct TfheCiphertext {
    slots: Vec<FheInt32>,
    fingerprint: u64,
}

impl fmt::Debug for TfheCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TfheCiphertext({} slots, set {:#018x})",
            self.slots.len(),
            self.fingerprint
        )
    }
}

/// The data owner's side: the tfhe-rs client key (the secret).
pub struct TfheClient {
    params: TfheParams,
    key: ClientKey,
}

/// The cloud's side: tfhe-rs's server key (bootstrapping and keyswitching keys), installed on
/// every thread of the cloud's own pool, and its compressed form, which is what travels.
/// Neither can decrypt.
pub struct TfheCloud {
    params: TfheParams,
    pool: rayon::ThreadPool,
    compressed: CompressedServerKey,
}

impl fmt::Debug for TfheClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TfheClient({})", self.params.name)
    }
}

impl fmt::Debug for TfheCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TfheCloud({})", self.params.name)
    }
}

impl TfheBackend {
    /// The backend at `params`.
    pub fn new(params: TfheParams) -> TfheBackend {
        TfheBackend { params }
    }

    /// The backend at a named set ([`crate::PARAMETER_SETS`]).
    pub fn named(name: &str) -> Result<TfheBackend, BackendError> {
        Ok(TfheBackend::new(TfheParams::named(name)?))
    }

    pub fn params(&self) -> &TfheParams {
        &self.params
    }

    /// The cloud of a server key, with its own thread pool: as many threads as the pool this
    /// is called from (rayon's global one unless the caller installed another), each with the
    /// key installed where tfhe-rs looks for it.
    fn cloud(&self, compressed: CompressedServerKey) -> Result<TfheCloud, BackendError> {
        let key = compressed.decompress();
        let installed = key.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(rayon::current_num_threads())
            .thread_name(|i| format!("tfhe-cloud-{i}"))
            .start_handler(move |_| tfhe::set_server_key(installed.clone()))
            .build()
            .map_err(|e| BackendError::Engine(format!("starting the tfhe cloud's threads: {e}")))?;
        Ok(TfheCloud {
            params: self.params,
            pool,
            compressed,
        })
    }
}

/// The tfhe-rs configuration of every set.
fn config() -> tfhe::Config {
    ConfigBuilder::with_custom_parameters(BLOCK_PARAMETERS).build()
}

fn capabilities(p: &TfheParams) -> Capabilities {
    Capabilities {
        backend: "tfhe",
        parameters: p.describe(),
        slots: p.slots,
        max_level: None,
        bootstrap: true,
        exact: true,
        security: Security::Bits(128),
    }
}

/// Refuses more values than slots.
fn check_len(p: &TfheParams, len: usize) -> Result<(), BackendError> {
    if len > p.slots {
        return Err(BackendError::Length {
            given: len,
            slots: p.slots,
        });
    }
    Ok(())
}

/// `values` in fixed point, padded with zeros to the slot count.
fn encode_all(p: &TfheParams, values: &[f64]) -> Result<Vec<i32>, BackendError> {
    check_len(p, values.len())?;
    let fixed = p.fixed_point();
    let mut out = values.iter().map(|&x| fixed.encode(x)).collect::<Result<Vec<_>, _>>()?;
    out.resize(p.slots, 0);
    Ok(out)
}

impl Backend for TfheBackend {
    type Ciphertext = TfheCiphertext;
    type Client = TfheClient;
    type Cloud = TfheCloud;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.params)
    }

    /// tfhe-rs's key generation from its own CSPRNG. Rotations need no keys (they permute the
    /// slots), so `rotations` is ignored.
    fn keygen(&self, rotations: &[i64]) -> Result<(TfheClient, TfheCloud), BackendError> {
        let _ = rotations;
        let key = ClientKey::generate(config());
        let compressed = CompressedServerKey::new(&key);
        Ok((
            TfheClient {
                params: self.params,
                key,
            },
            self.cloud(compressed)?,
        ))
    }

    fn client_to_bytes(&self, client: &TfheClient) -> Result<Vec<u8>, BackendError> {
        if client.params != self.params {
            return Err(BackendError::Format(format!(
                "a client of {}, not of {}",
                client.params.name, self.params.name
            )));
        }
        let body = wire::serialize(&client.key, wire::CLIENT_KEY_LIMIT, "the client key")?;
        Ok(wire::framed(&self.params, ObjectKind::TfheClientKey, &body))
    }

    /// tfhe-rs has no conformance check for a client key: the block parameters it carries are
    /// compared with the set's instead.
    fn client_from_bytes(&self, bytes: &[u8]) -> Result<TfheClient, BackendError> {
        let body = wire::body(&self.params, ObjectKind::TfheClientKey, bytes)?;
        let key: ClientKey = wire::deserialize_unchecked(body, wire::CLIENT_KEY_LIMIT, "a tfhe client key")?;
        if key.computation_parameters() != BLOCK_PARAMETERS.into() {
            return Err(BackendError::Format(format!(
                "a tfhe client key of other block parameters than {}",
                self.params.describe()
            )));
        }
        Ok(TfheClient {
            params: self.params,
            key,
        })
    }

    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<TfheCloud, BackendError> {
        let body = wire::body(&self.params, ObjectKind::TfheServerKey, bytes)?;
        let compressed: CompressedServerKey =
            wire::deserialize(body, wire::SERVER_KEY_LIMIT, &config().into(), "a tfhe server key")?;
        self.cloud(compressed)
    }

    fn ciphertext_to_bytes(&self, ct: &TfheCiphertext) -> Result<Vec<u8>, BackendError> {
        own(&self.params, ct)?;
        let blobs = ct
            .slots
            .iter()
            .map(|slot| wire::serialize(slot, wire::CIPHERTEXT_LIMIT, "a slot"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(wire::framed(
            &self.params,
            ObjectKind::TfheCiphertext,
            &wire::write_slots(&blobs),
        ))
    }

    fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<TfheCiphertext, BackendError> {
        let body = wire::body(&self.params, ObjectKind::TfheCiphertext, bytes)?;
        let conformance = FheInt32ConformanceParams::from(BLOCK_PARAMETERS);
        let slots = wire::read_slots(body, self.params.slots)?
            .into_iter()
            .enumerate()
            .map(|(i, blob)| wire::deserialize(blob, wire::CIPHERTEXT_LIMIT, &conformance, &format!("slot {i}")))
            .collect::<Result<Vec<FheInt32>, _>>()?;
        Ok(TfheCiphertext {
            slots,
            fingerprint: self.params.fingerprint(),
        })
    }
}

/// Refuses a ciphertext of another set.
fn own(p: &TfheParams, ct: &TfheCiphertext) -> Result<(), BackendError> {
    if ct.fingerprint != p.fingerprint() || ct.slots.len() != p.slots {
        return Err(BackendError::Format(format!(
            "a ciphertext of {}, not of {}",
            TfheParams::describe_fingerprint(ct.fingerprint),
            p.name
        )));
    }
    Ok(())
}

impl Client for TfheClient {
    type Ciphertext = TfheCiphertext;

    /// Values outside the fixed-point range (or not finite) are refused.
    fn encrypt(&mut self, values: &[f64]) -> Result<TfheCiphertext, BackendError> {
        let ints = encode_all(&self.params, values)?;
        Ok(TfheCiphertext {
            slots: ints.into_iter().map(|q| FheInt32::encrypt(q, &self.key)).collect(),
            fingerprint: self.params.fingerprint(),
        })
    }

    fn decrypt(&self, ct: &TfheCiphertext) -> Result<Vec<f64>, BackendError> {
        own(&self.params, ct)?;
        let fixed = self.params.fixed_point();
        Ok(ct
            .slots
            .iter()
            .map(|slot| fixed.decode(slot.decrypt(&self.key)))
            .collect())
    }
}

impl TfheCloud {
    fn fixed(&self) -> FixedPoint {
        self.params.fixed_point()
    }

    /// Slot `i` of the result is `f(i)`, the slots computed in parallel on the cloud's pool.
    ///
    /// tfhe-rs's high-level operations find the server key in a thread-local, and run their
    /// own parallel work on the pool they are called from: on the cloud's own pool, whose
    /// threads all hold its key, every operation finds the right key, and the work of two
    /// clouds in one process (two parameter sets, two tests) never meets on one thread.
    fn map_slots(&self, f: impl Fn(usize) -> FheInt32 + Sync + Send) -> TfheCiphertext {
        let slots = self
            .pool
            .install(|| (0..self.params.slots).into_par_iter().map(f).collect());
        TfheCiphertext {
            slots,
            fingerprint: self.params.fingerprint(),
        }
    }

    /// The product of a slot by a clear fixed-point integer: `(x * c) >> f` in 64 bits.
    fn scaled(&self, x: &FheInt32, c: i32) -> FheInt32 {
        let wide = FheInt64::cast_from(x.clone()) * c as i64;
        FheInt32::cast_from(wide >> self.params.frac_bits)
    }

    fn own(&self, ct: &TfheCiphertext) -> Result<(), BackendError> {
        own(&self.params, ct)
    }
}

impl TfheCloud {
    /// `max(a_i, b_i)` slot-wise: one signed comparison and one selection per slot (tfhe-rs's
    /// `FheInt32::max`), exact on the fixed-point integers. The backend trait has no comparison
    /// (CKKS evaluates one only as a polynomial); TFHE computes it natively, which is why a
    /// Glyph-style training evaluates its softmax here.
    pub fn max(&self, a: &TfheCiphertext, b: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        self.own(b)?;
        Ok(self.map_slots(|i| a.slots[i].max(&b.slots[i])))
    }

    /// `max(a_i, c)` slot-wise against a public constant (a comparison with a clear value).
    pub fn max_scalar(&self, a: &TfheCiphertext, c: f64) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let c = self.fixed().encode(c)?;
        Ok(self.map_slots(|i| a.slots[i].max(c)))
    }
}

impl Cloud for TfheCloud {
    type Ciphertext = TfheCiphertext;

    fn capabilities(&self) -> Capabilities {
        capabilities(&self.params)
    }

    /// Always `usize::MAX`: TFHE has no level limit.
    fn level(&self, _: &TfheCiphertext) -> usize {
        usize::MAX
    }

    /// `a` itself: TFHE has no levels to drop.
    fn lower(&self, a: &TfheCiphertext, _: usize) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        Ok(a.clone())
    }

    fn add(&self, a: &TfheCiphertext, b: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        self.own(b)?;
        Ok(self.map_slots(|i| &a.slots[i] + &b.slots[i]))
    }

    fn sub(&self, a: &TfheCiphertext, b: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        self.own(b)?;
        Ok(self.map_slots(|i| &a.slots[i] - &b.slots[i]))
    }

    fn neg(&self, a: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        Ok(self.map_slots(|i| -&a.slots[i]))
    }

    fn add_plain(&self, a: &TfheCiphertext, v: &[f64]) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let v = encode_all(&self.params, v)?;
        Ok(self.map_slots(|i| &a.slots[i] + v[i]))
    }

    fn add_scalar(&self, a: &TfheCiphertext, c: f64) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let c = self.fixed().encode(c)?;
        Ok(self.map_slots(|i| &a.slots[i] + c))
    }

    /// `(a * b) >> f` per slot: both cast to `FheInt64`, multiplied, shifted (rounding towards
    /// minus infinity) and truncated back to 32 bits; see [`FixedPoint::mul`].
    fn mul(&self, a: &TfheCiphertext, b: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        self.own(b)?;
        Ok(self.map_slots(|i| {
            let product = FheInt64::cast_from(a.slots[i].clone()) * FheInt64::cast_from(b.slots[i].clone());
            FheInt32::cast_from(product >> self.params.frac_bits)
        }))
    }

    fn mul_plain(&self, a: &TfheCiphertext, v: &[f64]) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let v = encode_all(&self.params, v)?;
        Ok(self.map_slots(|i| self.scaled(&a.slots[i], v[i])))
    }

    fn mul_scalar(&self, a: &TfheCiphertext, c: f64) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let c = self.fixed().encode(c)?;
        Ok(self.map_slots(|i| self.scaled(&a.slots[i], c)))
    }

    /// A permutation of the slots: free, exact, and possible for every step without a key.
    fn rotate(&self, a: &TfheCiphertext, step: i64) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        let mut slots = a.slots.clone();
        slots.rotate_left(step.rem_euclid(self.params.slots as i64) as usize);
        Ok(TfheCiphertext {
            slots,
            fingerprint: a.fingerprint,
        })
    }

    /// Every TFHE operation bootstraps its own output, so a ciphertext never runs out of levels:
    /// "bootstrapping" returns it unchanged (the trait's promise, levels restored, holds
    /// trivially), and the training never calls it because [`Cloud::level`] never drops.
    fn bootstrap(&self, a: &TfheCiphertext) -> Result<TfheCiphertext, BackendError> {
        self.own(a)?;
        Ok(a.clone())
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        let body = wire::serialize(&self.compressed, wire::SERVER_KEY_LIMIT, "the server key")?;
        Ok(wire::framed(&self.params, ObjectKind::TfheServerKey, &body))
    }
}
