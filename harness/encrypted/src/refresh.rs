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
    /// Ciphertexts refreshed (bootstraps or client rounds).
    pub refreshes: u64,
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
            client_rounds: self.client_rounds - o.client_rounds,
            client_bytes: self.client_bytes - o.client_bytes,
            time: self.time.saturating_sub(o.time),
        }
    }
}

impl std::ops::AddAssign for RefreshStats {
    fn add_assign(&mut self, o: RefreshStats) {
        self.refreshes += o.refreshes;
        self.client_rounds += o.client_rounds;
        self.client_bytes += o.client_bytes;
        self.time += o.time;
    }
}

/// Atomic counters behind [`RefreshStats`], shared by every refresh.
#[derive(Debug, Default)]
struct Counters {
    refreshes: AtomicU64,
    client_rounds: AtomicU64,
    client_bytes: AtomicU64,
    nanos: AtomicU64,
}

impl Counters {
    fn record(&self, start: Instant, client_bytes: Option<u64>) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
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
        self.counters.record(start, None);
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

impl<B: Backend> Refresh<B::Ciphertext> for ClientRefresh<'_, B>
where
    B: Sync,
    B::Client: Send,
{
    fn refresh(&self, ct: &B::Ciphertext) -> Result<B::Ciphertext, EncryptedError> {
        let start = Instant::now();
        let sent = self.backend.ciphertext_to_bytes(ct)?;
        let received = {
            let mut client = self
                .client
                .lock()
                .map_err(|_| EncryptedError::Unsupported("the client failed during an earlier refresh".into()))?;
            let values = client.decrypt(&self.backend.ciphertext_from_bytes(&sent)?)?;
            self.backend.ciphertext_to_bytes(&client.encrypt(&values)?)?
        };
        let fresh = self.backend.ciphertext_from_bytes(&received)?;
        self.counters.record(start, Some((sent.len() + received.len()) as u64));
        Ok(fresh)
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
}

impl<Ct> std::fmt::Debug for Levels<'_, Ct> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.refresh {
            Some(r) => write!(f, "Levels(refresh: {})", r.name()),
            None => f.write_str("Levels(no refresh)"),
        }
    }
}

impl<'a, Ct: Clone> Levels<'a, Ct> {
    /// No refresh: every input must carry the levels of the whole circuit.
    pub fn fixed() -> Levels<'a, Ct> {
        Levels { refresh: None }
    }

    /// Refresh with `refresh` wherever an input runs short.
    pub fn refreshing(refresh: &'a dyn Refresh<Ct>) -> Levels<'a, Ct> {
        Levels { refresh: Some(refresh) }
    }

    /// Refreshes so far (zero without a refresh).
    pub fn stats(&self) -> RefreshStats {
        self.refresh.map(|r| r.stats()).unwrap_or_default()
    }

    /// Whether inputs are refreshed on demand.
    pub fn refreshes(&self) -> bool {
        self.refresh.is_some()
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
        match self.refresh {
            Some(r) if r.levels() >= needed => r.refresh(&ct),
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

    /// [`Levels::ready`] for every ciphertext of `cts`.
    pub fn ready_all<C: Cloud<Ciphertext = Ct>>(
        &self,
        cloud: &C,
        circuit: &'static str,
        cts: &[Ct],
        needed: usize,
    ) -> Result<Vec<Ct>, EncryptedError> {
        cts.iter()
            .map(|ct| self.ready(cloud, circuit, ct.clone(), needed))
            .collect()
    }
}
