//! [`CountingCloud`]: a [`Cloud`] that delegates every operation to another and counts it, so
//! circuits report what they cost on any backend (and tests check their closed forms).

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicU64, Ordering};

use blindtuner_backend::{BackendError, Capabilities, Cloud};

/// Operations performed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpCounts {
    /// Ciphertext-ciphertext products.
    pub mul: u64,
    /// Relinearisations: one per product, or one per [`Cloud::mul_sum`] of several.
    pub relinearizations: u64,
    /// Products by a plaintext vector (masks).
    pub mul_plain: u64,
    /// Products by a constant.
    pub mul_scalar: u64,
    /// Rotations by a nonzero step (each needs a key switch), hoisted ones included.
    pub rotations: u64,
    /// Calls of [`Cloud::rotate_many`] (one shared decomposition each, where hoisted).
    pub hoisted_batches: u64,
    /// The rotations inside those calls (a part of `rotations`).
    pub hoisted_rotations: u64,
    /// Additions, subtractions and negations of ciphertexts, plaintexts and constants.
    pub additions: u64,
    pub bootstraps: u64,
}

impl Add for OpCounts {
    type Output = OpCounts;

    fn add(self, o: OpCounts) -> OpCounts {
        OpCounts {
            mul: self.mul + o.mul,
            relinearizations: self.relinearizations + o.relinearizations,
            mul_plain: self.mul_plain + o.mul_plain,
            mul_scalar: self.mul_scalar + o.mul_scalar,
            rotations: self.rotations + o.rotations,
            hoisted_batches: self.hoisted_batches + o.hoisted_batches,
            hoisted_rotations: self.hoisted_rotations + o.hoisted_rotations,
            additions: self.additions + o.additions,
            bootstraps: self.bootstraps + o.bootstraps,
        }
    }
}

impl Sub for OpCounts {
    type Output = OpCounts;

    /// What happened between two snapshots (`later - earlier`).
    fn sub(self, o: OpCounts) -> OpCounts {
        OpCounts {
            mul: self.mul - o.mul,
            relinearizations: self.relinearizations - o.relinearizations,
            mul_plain: self.mul_plain - o.mul_plain,
            mul_scalar: self.mul_scalar - o.mul_scalar,
            rotations: self.rotations - o.rotations,
            hoisted_batches: self.hoisted_batches - o.hoisted_batches,
            hoisted_rotations: self.hoisted_rotations - o.hoisted_rotations,
            additions: self.additions - o.additions,
            bootstraps: self.bootstraps - o.bootstraps,
        }
    }
}

impl fmt::Display for OpCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} mul ({} relinearisations), {} mul_plain, {} mul_scalar, {} rotations ({} hoisted in {} batches), {} additions, {} bootstraps",
            self.mul,
            self.relinearizations,
            self.mul_plain,
            self.mul_scalar,
            self.rotations,
            self.hoisted_rotations,
            self.hoisted_batches,
            self.additions,
            self.bootstraps
        )
    }
}

/// One counter per field of [`OpCounts`].
#[derive(Debug, Default)]
struct Counters {
    mul: AtomicU64,
    relinearizations: AtomicU64,
    mul_plain: AtomicU64,
    mul_scalar: AtomicU64,
    rotations: AtomicU64,
    hoisted_batches: AtomicU64,
    hoisted_rotations: AtomicU64,
    additions: AtomicU64,
    bootstraps: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// Delegates to `C` and counts what it asks of it. Counting is `Sync` (atomic counters), so a
/// circuit run from several threads is counted whole.
#[derive(Debug)]
pub struct CountingCloud<C> {
    inner: C,
    slots: i64,
    counters: Counters,
}

impl<C: Cloud> CountingCloud<C> {
    pub fn new(inner: C) -> CountingCloud<C> {
        CountingCloud {
            slots: inner.capabilities().slots as i64,
            inner,
            counters: Counters::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> OpCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        OpCounts {
            mul: get(&c.mul),
            relinearizations: get(&c.relinearizations),
            mul_plain: get(&c.mul_plain),
            mul_scalar: get(&c.mul_scalar),
            rotations: get(&c.rotations),
            hoisted_batches: get(&c.hoisted_batches),
            hoisted_rotations: get(&c.hoisted_rotations),
            additions: get(&c.additions),
            bootstraps: get(&c.bootstraps),
        }
    }

    /// Whether a rotation by `step` is a real one (a key switch), not the identity.
    fn moves(&self, step: i64) -> bool {
        step.rem_euclid(self.slots) != 0
    }
}

impl<C: Cloud> Cloud for CountingCloud<C> {
    type Ciphertext = C::Ciphertext;

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn level(&self, ct: &C::Ciphertext) -> usize {
        self.inner.level(ct)
    }

    /// Not counted: a copy of some limbs, or one rescale.
    fn lower(&self, a: &C::Ciphertext, level: usize) -> Result<C::Ciphertext, BackendError> {
        self.inner.lower(a, level)
    }

    fn add(&self, a: &C::Ciphertext, b: &C::Ciphertext) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.additions, 1);
        self.inner.add(a, b)
    }

    fn sub(&self, a: &C::Ciphertext, b: &C::Ciphertext) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.additions, 1);
        self.inner.sub(a, b)
    }

    fn neg(&self, a: &C::Ciphertext) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.additions, 1);
        self.inner.neg(a)
    }

    fn add_plain(&self, a: &C::Ciphertext, v: &[f64]) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.additions, 1);
        self.inner.add_plain(a, v)
    }

    fn add_scalar(&self, a: &C::Ciphertext, c: f64) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.additions, 1);
        self.inner.add_scalar(a, c)
    }

    fn mul(&self, a: &C::Ciphertext, b: &C::Ciphertext) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.mul, 1);
        bump(&self.counters.relinearizations, 1);
        self.inner.mul(a, b)
    }

    fn mul_sum(&self, pairs: &[(&C::Ciphertext, &C::Ciphertext)]) -> Result<C::Ciphertext, BackendError> {
        let n = pairs.len() as u64;
        bump(&self.counters.mul, n);
        bump(&self.counters.relinearizations, u64::from(n > 0));
        bump(&self.counters.additions, n.saturating_sub(1));
        self.inner.mul_sum(pairs)
    }

    fn mul_plain(&self, a: &C::Ciphertext, v: &[f64]) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.mul_plain, 1);
        self.inner.mul_plain(a, v)
    }

    fn mul_scalar(&self, a: &C::Ciphertext, c: f64) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.mul_scalar, 1);
        self.inner.mul_scalar(a, c)
    }

    fn rotate(&self, a: &C::Ciphertext, step: i64) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.rotations, u64::from(self.moves(step)));
        self.inner.rotate(a, step)
    }

    fn rotate_many(&self, a: &C::Ciphertext, steps: &[i64]) -> Result<Vec<C::Ciphertext>, BackendError> {
        let moving = steps.iter().filter(|&&k| self.moves(k)).count() as u64;
        bump(&self.counters.hoisted_batches, 1);
        bump(&self.counters.hoisted_rotations, moving);
        bump(&self.counters.rotations, moving);
        self.inner.rotate_many(a, steps)
    }

    fn bootstrap(&self, a: &C::Ciphertext) -> Result<C::Ciphertext, BackendError> {
        bump(&self.counters.bootstraps, 1);
        self.inner.bootstrap(a)
    }

    /// One bootstrap: what a backend that shares one between the two pays; a backend that
    /// cannot pays two, which its time shows.
    fn bootstrap_pair(
        &self,
        a: &C::Ciphertext,
        b: &C::Ciphertext,
    ) -> Result<(C::Ciphertext, C::Ciphertext), BackendError> {
        bump(&self.counters.bootstraps, 1);
        self.inner.bootstrap_pair(a, b)
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        self.inner.keys_to_bytes()
    }
}
