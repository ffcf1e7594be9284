//! Level management: circuits deeper than a backend's level budget ask, before each stage, for
//! an input with enough levels ([`Levels::ready`]), and a [`Refresh`] restores levels where the
//! input has too few, as late as possible, so that only what must be refreshed is.
//!
//! Two refreshes exist:
//!
//! * [`Bootstrap`]: the cloud bootstraps on its own ([`Cloud::bootstrap`]), the default where
//!   the backend can;
//! * [`ClientRefresh`]: an explicit interactive round, the client decrypting and re-encrypting a
//!   ciphertext (the only way for SEAL); every round and its bytes both ways are counted.
//!
//! Both refresh two ciphertexts for the price of one where they can ([`Refresh::refresh_pair`]:
//! one bootstrapping of `Re(a) + i Re(b)`, or one round carrying both), and
//! [`Levels::ready_many`] pairs whatever it finds short, unless the levels are
//! [`Levels::unpaired`] (HETAL's policy: every ciphertext refreshed on its own).
//!
//! Refreshed values must stay small: bootstrapping keeps about 20 bits for values of magnitude
//! up to 1 and degrades beyond. The circuits refresh only values they keep in `[-2, 2]`
//! (normalised logits, comparisons, probabilities, weights divided by their scale).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use blindtuner_backend::{Backend, BackendError, Client, Cloud};

use crate::EncryptedError;

/// What refreshes cost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RefreshStats {
    /// Refreshes: bootstraps (a paired one counted once) or client rounds.
    pub refreshes: u64,
    /// Ciphertexts refreshed: two for a paired refresh.
    #[serde(default)]
    pub ciphertexts: u64,
    /// Interactive rounds with the client (zero for bootstrapping).
    pub client_rounds: u64,
    /// Bytes that travelled for those rounds, both ways.
    pub client_bytes: u64,
    /// Time spent refreshing.
    pub time: Duration,
}

impl std::ops::Sub for RefreshStats {
    type Output = RefreshStats;

    /// What happened between two snapshots (`later - earlier`).
    fn sub(self, o: RefreshStats) -> RefreshStats {
        RefreshStats {
            refreshes: self.refreshes - o.refreshes,
            ciphertexts: self.ciphertexts - o.ciphertexts,
            client_rounds: self.client_rounds - o.client_rounds,
            client_bytes: self.client_bytes - o.client_bytes,
            time: self.time.saturating_sub(o.time),
        }
    }
}

impl std::ops::AddAssign for RefreshStats {
    fn add_assign(&mut self, o: RefreshStats) {
        self.refreshes += o.refreshes;
        self.ciphertexts += o.ciphertexts;
        self.client_rounds += o.client_rounds;
        self.client_bytes += o.client_bytes;
        self.time += o.time;
    }
}

/// Atomic counters behind [`RefreshStats`], shared by every refresh.
#[derive(Debug, Default)]
struct Counters {
    refreshes: AtomicU64,
    ciphertexts: AtomicU64,
    client_rounds: AtomicU64,
    client_bytes: AtomicU64,
    nanos: AtomicU64,
}

impl Counters {
    /// One refresh of `ciphertexts` ciphertexts, begun at `start`; `client_bytes` for a round.
    fn record(&self, start: Instant, ciphertexts: u64, client_bytes: Option<u64>) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        self.ciphertexts.fetch_add(ciphertexts, Ordering::Relaxed);
        if let Some(bytes) = client_bytes {
            self.client_rounds.fetch_add(1, Ordering::Relaxed);
            self.client_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        self.nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn stats(&self) -> RefreshStats {
        RefreshStats {
            refreshes: self.refreshes.load(Ordering::Relaxed),
            ciphertexts: self.ciphertexts.load(Ordering::Relaxed),
            client_rounds: self.client_rounds.load(Ordering::Relaxed),
            client_bytes: self.client_bytes.load(Ordering::Relaxed),
            time: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A way to restore a ciphertext's levels.
pub trait Refresh<Ct>: Sync {
    /// The same values with [`Refresh::levels`] levels.
    fn refresh(&self, ct: &Ct) -> Result<Ct, EncryptedError>;

    /// The same for two ciphertexts of real values, in one refresh.
    fn refresh_pair(&self, a: &Ct, b: &Ct) -> Result<(Ct, Ct), EncryptedError>;

    /// Levels of a refreshed ciphertext.
    fn levels(&self) -> usize;

    /// What refreshing has cost so far.
    fn stats(&self) -> RefreshStats;

    /// `bootstrap` or `client`, as `--refresh` takes it.
    fn name(&self) -> &'static str;
}

/// The cloud bootstraps by itself.
#[derive(Debug)]
pub struct Bootstrap<'a, C> {
    cloud: &'a C,
    levels: usize,
    counters: Counters,
}

impl<'a, C: Cloud> Bootstrap<'a, C> {
    /// Bootstrapping on `cloud`, refused unless its backend can.
    pub fn new(cloud: &'a C) -> Result<Bootstrap<'a, C>, EncryptedError> {
        let caps = cloud.capabilities();
        if !caps.bootstrap {
            return Err(EncryptedError::Backend(BackendError::Unsupported {
                backend: caps.backend,
                operation: "bootstrap",
                reason: format!("{} has no bootstrapping; refresh through the client", caps.parameters),
            }));
        }
        Ok(Bootstrap {
            cloud,
            levels: caps.max_level.unwrap_or(usize::MAX),
            counters: Counters::default(),
        })
    }
}

impl<C: Cloud> Refresh<C::Ciphertext> for Bootstrap<'_, C> {
    fn refresh(&self, ct: &C::Ciphertext) -> Result<C::Ciphertext, EncryptedError> {
        let start = Instant::now();
        let fresh = self.cloud.bootstrap(ct)?;
        self.counters.record(start, 1, None);
        Ok(fresh)
    }

    /// [`Cloud::bootstrap_pair`]: one bootstrapping where the backend shares one.
    fn refresh_pair(
        &self,
        a: &C::Ciphertext,
        b: &C::Ciphertext,
    ) -> Result<(C::Ciphertext, C::Ciphertext), EncryptedError> {
        let start = Instant::now();
        let fresh = self.cloud.bootstrap_pair(a, b)?;
        self.counters.record(start, 2, None);
        Ok(fresh)
    }

    fn levels(&self) -> usize {
        self.levels
    }

    fn stats(&self) -> RefreshStats {
        self.counters.stats()
    }

    fn name(&self) -> &'static str {
        "bootstrap"
    }
}

/// One interactive round per ciphertext: the cloud sends it, the client decrypts it and sends
/// back a fresh encryption of the same values. The bytes counted are the serialised ciphertext
/// each way. The client is shared (behind a lock) with whoever else needs it in-process, such as
/// the judge of the validation loss.
pub struct ClientRefresh<'a, B: Backend> {
    backend: &'a B,
    client: &'a Mutex<B::Client>,
    levels: usize,
    counters: Counters,
}

impl<'a, B: Backend> ClientRefresh<'a, B> {
    pub fn new(backend: &'a B, client: &'a Mutex<B::Client>) -> ClientRefresh<'a, B> {
        ClientRefresh {
            levels: backend.capabilities().max_level.unwrap_or(usize::MAX),
            backend,
            client,
            counters: Counters::default(),
        }
    }
}

impl<B: Backend> ClientRefresh<'_, B>
where
    B::Client: Send,
{
    /// One round: the cloud sends `cts`, the client decrypts each and sends back fresh
    /// encryptions of the same values.
    fn round<const K: usize>(&self, cts: [&B::Ciphertext; K]) -> Result<[B::Ciphertext; K], EncryptedError> {
        let start = Instant::now();
        let sent = cts
            .iter()
            .map(|ct| self.backend.ciphertext_to_bytes(ct))
            .collect::<Result<Vec<_>, _>>()?;
        let received = {
            let mut client = self
                .client
                .lock()
                .map_err(|_| EncryptedError::Unsupported("the client failed during an earlier refresh".into()))?;
            sent.iter()
                .map(|bytes| {
                    let values = client.decrypt(&self.backend.ciphertext_from_bytes(bytes)?)?;
                    self.backend.ciphertext_to_bytes(&client.encrypt(&values)?)
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let bytes = sent.iter().chain(&received).map(|b| b.len() as u64).sum();
        let fresh = received
            .iter()
            .map(|bytes| self.backend.ciphertext_from_bytes(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        self.counters.record(start, K as u64, Some(bytes));
        Ok(fresh
            .try_into()
            .unwrap_or_else(|_| unreachable!("one fresh ciphertext per ciphertext sent")))
    }
}

impl<B: Backend> Refresh<B::Ciphertext> for ClientRefresh<'_, B>
where
    B: Sync,
    B::Client: Send,
{
    fn refresh(&self, ct: &B::Ciphertext) -> Result<B::Ciphertext, EncryptedError> {
        let [fresh] = self.round([ct])?;
        Ok(fresh)
    }

    /// Both in one round.
    fn refresh_pair(
        &self,
        a: &B::Ciphertext,
        b: &B::Ciphertext,
    ) -> Result<(B::Ciphertext, B::Ciphertext), EncryptedError> {
        let [a, b] = self.round([a, b])?;
        Ok((a, b))
    }

    fn levels(&self) -> usize {
        self.levels
    }

    fn stats(&self) -> RefreshStats {
        self.counters.stats()
    }

    fn name(&self) -> &'static str {
        "client"
    }
}

/// The level policy a circuit runs under: refresh with this, or (without one) refuse inputs
/// that have too few levels for the whole circuit.
#[derive(Clone, Copy)]
pub struct Levels<'a, Ct> {
    refresh: Option<&'a dyn Refresh<Ct>>,
    /// Whether [`Levels::ready_many`] refreshes short ciphertexts two at a time.
    paired: bool,
}

impl<Ct> std::fmt::Debug for Levels<'_, Ct> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.refresh {
            Some(r) => write!(f, "Levels(refresh: {}, paired: {})", r.name(), self.paired),
            None => f.write_str("Levels(no refresh)"),
        }
    }
}

impl<'a, Ct: Clone> Levels<'a, Ct> {
    /// No refresh: every input must carry the levels of the whole circuit.
    pub fn fixed() -> Levels<'a, Ct> {
        Levels {
            refresh: None,
            paired: false,
        }
    }

    /// Refresh with `refresh` wherever an input runs short, two short ciphertexts at a time
    /// where [`Levels::ready_many`] finds them.
    pub fn refreshing(refresh: &'a dyn Refresh<Ct>) -> Levels<'a, Ct> {
        Levels {
            refresh: Some(refresh),
            paired: true,
        }
    }

    /// The same, but every short ciphertext refreshed on its own (HETAL's policy, which the
    /// baseline keeps).
    pub fn unpaired(self) -> Levels<'a, Ct> {
        Levels { paired: false, ..self }
    }

    /// Whether [`Levels::ready_many`] refreshes short ciphertexts two at a time.
    pub fn pairs(&self) -> bool {
        self.paired && self.refresh.is_some()
    }

    /// Refreshes so far (zero without a refresh).
    pub fn stats(&self) -> RefreshStats {
        self.refresh.map(|r| r.stats()).unwrap_or_default()
    }

    /// Whether inputs are refreshed on demand.
    pub fn refreshes(&self) -> bool {
        self.refresh.is_some()
    }

    /// The levels a refreshed ciphertext has, if inputs are refreshed.
    pub fn refresh_levels(&self) -> Option<usize> {
        self.refresh.map(|r| r.levels())
    }

    /// The refresh that can give an input of `circuit` with `available` levels the `needed`
    /// ones it lacks, or the error saying why none can.
    fn refresher(
        &self,
        circuit: &'static str,
        needed: usize,
        available: usize,
    ) -> Result<&'a dyn Refresh<Ct>, EncryptedError> {
        match self.refresh {
            Some(r) if r.levels() >= needed => Ok(r),
            Some(r) => Err(EncryptedError::Levels {
                circuit,
                needed,
                available: r.levels(),
            }),
            None => Err(EncryptedError::Levels {
                circuit,
                needed,
                available,
            }),
        }
    }

    /// `ct` with at least `needed` levels for the next stage of `circuit`: itself if it has
    /// them, refreshed otherwise.
    pub fn ready<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        circuit: &'static str,
        ct: Ct,
        needed: usize,
    ) -> Result<Ct, EncryptedError> {
        let available = cloud.level(&ct);
        if available >= needed {
            return Ok(ct);
        }
        self.refresher(circuit, needed, available)?.refresh(&ct)
    }

    /// The levels `ct` would have after [`Levels::ready`] for `needed` (without refreshing it).
    pub fn level_after<C: Cloud<Ciphertext = Ct>>(&self, cloud: &C, ct: &Ct, needed: usize) -> usize {
        match (cloud.level(ct), self.refresh) {
            (available, Some(r)) if available < needed => r.levels(),
            (available, _) => available,
        }
    }

    /// [`Levels::ready`] for every `(ciphertext, levels needed)` of `cts`, in order, the short
    /// ones refreshed two at a time ([`Refresh::refresh_pair`]): `ceil(k / 2)` refreshes for `k`
    /// short ciphertexts (`k` if [`Levels::unpaired`]). The values must be real (CKKS: their
    /// imaginary parts are dropped).
    pub fn ready_many<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        circuit: &'static str,
        cts: Vec<(Ct, usize)>,
    ) -> Result<Vec<Ct>, EncryptedError> {
        let mut short = Vec::new();
        let mut out = Vec::with_capacity(cts.len());
        for (i, (ct, needed)) in cts.into_iter().enumerate() {
            let available = cloud.level(&ct);
            if available < needed {
                short.push((i, self.refresher(circuit, needed, available)?));
            }
            out.push(ct);
        }
        for pair in short.chunks(if self.paired { 2 } else { 1 }) {
            match *pair {
                [(i, r), (j, _)] => (out[i], out[j]) = r.refresh_pair(&out[i], &out[j])?,
                [(i, r)] => out[i] = r.refresh(&out[i])?,
                _ => unreachable!("chunks of one or two"),
            }
        }
        Ok(out)
    }

    /// `ct` ready for a stage that needs `needed` levels from it now and `whole` to its end:
    /// refreshed up front, when short of `whole`, if a refresh holds the whole stage (one
    /// refresh of its input then replaces several of the values the stage derives from it);
    /// [`Levels::ready`] for `needed` otherwise.
    pub fn prepare<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        circuit: &'static str,
        ct: Ct,
        needed: usize,
        whole: usize,
    ) -> Result<Ct, EncryptedError> {
        match self.refresh {
            Some(r) if r.levels() >= whole => self.ready(cloud, circuit, ct, whole),
            _ => self.ready(cloud, circuit, ct, needed),
        }
    }

    /// [`Levels::ready_many`] for every ciphertext of `cts`, each needing `needed` levels.
    pub fn ready_all<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        circuit: &'static str,
        cts: &[Ct],
        needed: usize,
    ) -> Result<Vec<Ct>, EncryptedError> {
        self.ready_many(cloud, circuit, cts.iter().map(|ct| (ct.clone(), needed)).collect())
    }
}
