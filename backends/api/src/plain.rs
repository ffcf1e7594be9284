//! The plain backend: slots as `f64`, no encryption, no noise, and the same level accounting as
//! an encrypted backend (every multiplication costs a level; bootstrapping restores them), so
//! the circuits above run unchanged and their results isolate approximation from CKKS noise.
//! [`PlainBackend::with_level_budget`] with `None` mimics a backend without a level limit
//! (TFHE): every ciphertext stays at level `usize::MAX`.

use std::collections::BTreeSet;

use crate::{Backend, BackendError, Capabilities, Client, Cloud, Security, fnv1a};

/// Plain "parameters": the slot count and the level budget to mimic (`None`: no limit).
#[derive(Debug, Clone, PartialEq)]
pub struct PlainBackend {
    slots: usize,
    max_level: Option<usize>,
}

/// A "ciphertext" of the plain backend: the values themselves and the levels left.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainCiphertext {
    values: Vec<f64>,
    level: usize,
}

/// Holds nothing secret; kept apart from the cloud to mirror encrypted backends.
#[derive(Debug)]
pub struct PlainClient {
    backend: PlainBackend,
}

/// The cloud of the plain backend: the rotations it was given "keys" for.
#[derive(Debug)]
pub struct PlainCloud {
    backend: PlainBackend,
    rotations: BTreeSet<usize>,
}

const CIPHERTEXT_MAGIC: &[u8; 4] = b"BTPC";
const KEYS_MAGIC: &[u8; 4] = b"BTPK";
const CLIENT_MAGIC: &[u8; 4] = b"BTPS";

impl PlainBackend {
    /// `slots` slots (at least one) and `max_level` levels per fresh ciphertext.
    pub fn new(slots: usize, max_level: usize) -> Result<PlainBackend, BackendError> {
        PlainBackend::with_level_budget(slots, Some(max_level))
    }

    /// [`PlainBackend::new`] with any level budget: `None` mimics a backend without a level
    /// limit, whose ciphertexts all stay at level `usize::MAX` (below `u32::MAX` otherwise).
    pub fn with_level_budget(slots: usize, max_level: Option<usize>) -> Result<PlainBackend, BackendError> {
        if slots == 0 || slots > u32::MAX as usize {
            return Err(BackendError::Length { given: slots, slots: 0 });
        }
        if max_level.is_some_and(|l| l >= u32::MAX as usize) {
            return Err(BackendError::Engine(format!(
                "a level budget of {} does not fit the plain format",
                max_level.unwrap_or_default()
            )));
        }
        Ok(PlainBackend { slots, max_level })
    }

    /// The level of fresh and bootstrapped ciphertexts.
    fn top(&self) -> usize {
        self.max_level.unwrap_or(usize::MAX)
    }

    /// A level as the format writes it: `u32::MAX` stands for "no limit".
    fn level_tag(level: usize) -> u32 {
        u32::try_from(level).unwrap_or(u32::MAX)
    }

    fn header(&self, magic: &[u8; 4]) -> Vec<u8> {
        let mut out = magic.to_vec();
        out.extend_from_slice(&(self.slots as u32).to_le_bytes());
        out.extend_from_slice(&Self::level_tag(self.top()).to_le_bytes());
        out
    }

    /// Appends the checksum that [`Self::body`] verifies.
    fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
        let sum = fnv1a(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());
        bytes
    }

    /// Checks the checksum and the header written by [`Self::header`]; returns the body.
    fn body<'a>(&self, bytes: &'a [u8], magic: &[u8; 4]) -> Result<&'a [u8], BackendError> {
        let header = self.header(magic);
        if bytes.len() < header.len() + 8 || &bytes[..4] != magic {
            return Err(BackendError::Format("not plain-backend data of this kind".into()));
        }
        let (bytes, sum) = bytes.split_at(bytes.len() - 8);
        if sum != fnv1a(bytes).to_le_bytes() {
            return Err(BackendError::Format("checksum mismatch".into()));
        }
        if bytes[..header.len()] != header[..] {
            return Err(BackendError::Format(
                "written for another slot count or level budget".into(),
            ));
        }
        Ok(&bytes[header.len()..])
    }

    fn normalise(&self, step: i64) -> usize {
        step.rem_euclid(self.slots as i64) as usize
    }

    fn check_len(&self, v: &[f64]) -> Result<(), BackendError> {
        if v.len() > self.slots {
            return Err(BackendError::Length {
                given: v.len(),
                slots: self.slots,
            });
        }
        Ok(())
    }

    /// `v` padded with zeros to the slot count.
    fn padded(&self, v: &[f64]) -> Result<Vec<f64>, BackendError> {
        self.check_len(v)?;
        let mut out = v.to_vec();
        out.resize(self.slots, 0.0);
        Ok(out)
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl Backend for PlainBackend {
    type Ciphertext = PlainCiphertext;
    type Client = PlainClient;
    type Cloud = PlainCloud;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            backend: "plain",
            parameters: match self.max_level {
                Some(l) => format!("{} f64 slots, {l} levels", self.slots),
                None => format!("{} f64 slots, no level limit", self.slots),
            },
            slots: self.slots,
            max_level: self.max_level,
            bootstrap: true,
            exact: true,
            security: Security::None,
        }
    }

    fn keygen(&self, rotations: &[i64]) -> Result<(PlainClient, PlainCloud), BackendError> {
        let rotations = rotations.iter().map(|&k| self.normalise(k)).collect();
        Ok((
            PlainClient { backend: self.clone() },
            PlainCloud {
                backend: self.clone(),
                rotations,
            },
        ))
    }

    fn client_to_bytes(&self, _: &PlainClient) -> Result<Vec<u8>, BackendError> {
        Ok(Self::seal(self.header(CLIENT_MAGIC)))
    }

    fn client_from_bytes(&self, bytes: &[u8]) -> Result<PlainClient, BackendError> {
        match self.body(bytes, CLIENT_MAGIC)? {
            [] => Ok(PlainClient { backend: self.clone() }),
            _ => Err(BackendError::Format("a plain client holds nothing".into())),
        }
    }

    fn cloud_from_bytes(&self, bytes: &[u8]) -> Result<PlainCloud, BackendError> {
        let body = self.body(bytes, KEYS_MAGIC)?;
        let count = u32_at(body, 0).ok_or_else(|| BackendError::Format("truncated keys".into()))? as usize;
        if body.len() != 4 + 4 * count {
            return Err(BackendError::Format("keys of the wrong length".into()));
        }
        let mut rotations = BTreeSet::new();
        for i in 0..count {
            let k = u32_at(body, 4 + 4 * i).expect("length checked") as usize;
            if k >= self.slots {
                return Err(BackendError::Format(format!("rotation {k} out of range")));
            }
            rotations.insert(k);
        }
        Ok(PlainCloud {
            backend: self.clone(),
            rotations,
        })
    }

    fn ciphertext_to_bytes(&self, ct: &PlainCiphertext) -> Result<Vec<u8>, BackendError> {
        let mut out = self.header(CIPHERTEXT_MAGIC);
        out.extend_from_slice(&Self::level_tag(ct.level).to_le_bytes());
        ct.values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
        Ok(Self::seal(out))
    }

    fn ciphertext_from_bytes(&self, bytes: &[u8]) -> Result<PlainCiphertext, BackendError> {
        let body = self.body(bytes, CIPHERTEXT_MAGIC)?;
        if body.len() != 4 + 8 * self.slots {
            return Err(BackendError::Format(format!(
                "a ciphertext of {} bytes, {} expected",
                body.len(),
                4 + 8 * self.slots
            )));
        }
        let level = match (u32_at(body, 0).expect("length checked"), self.max_level) {
            (u32::MAX, None) => usize::MAX,
            (level, Some(max)) if level as usize <= max => level as usize,
            (level, _) => return Err(BackendError::Format(format!("level {level} outside the budget"))),
        };
        let values: Vec<f64> = body[4..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(BackendError::Format("a value is not finite".into()));
        }
        Ok(PlainCiphertext { values, level })
    }
}

impl Client for PlainClient {
    type Ciphertext = PlainCiphertext;

    fn encrypt(&mut self, values: &[f64]) -> Result<PlainCiphertext, BackendError> {
        Ok(PlainCiphertext {
            values: self.backend.padded(values)?,
            level: self.backend.top(),
        })
    }

    fn decrypt(&self, ct: &PlainCiphertext) -> Result<Vec<f64>, BackendError> {
        Ok(ct.values.clone())
    }
}

impl PlainCloud {
    fn zip(&self, a: &PlainCiphertext, b: &[f64], level: usize, f: impl Fn(f64, f64) -> f64) -> PlainCiphertext {
        PlainCiphertext {
            values: a.values.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(),
            level,
        }
    }

    /// The level of a product of `a`: one lower, or `usize::MAX` without a limit.
    fn multiplied(&self, a: &PlainCiphertext) -> Result<usize, BackendError> {
        if self.backend.max_level.is_none() {
            return Ok(a.level);
        }
        a.level.checked_sub(1).ok_or(BackendError::LevelExhausted { level: 0 })
    }
}

impl PlainCloud {
    /// `max(a_i, b_i)` slot-wise, at the lower level of the two: the comparison a TFHE backend
    /// evaluates natively (a CKKS backend only through comparison polynomials), here in f64, so
    /// that a circuit that mixes schemes can run its TFHE part on plain.
    pub fn max(&self, a: &PlainCiphertext, b: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &b.values, a.level.min(b.level), f64::max))
    }

    /// `max(a_i, c)` slot-wise: [`PlainCloud::max`] against a public constant.
    pub fn max_scalar(&self, a: &PlainCiphertext, c: f64) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &a.values, a.level, |x, _| x.max(c)))
    }
}

impl Cloud for PlainCloud {
    type Ciphertext = PlainCiphertext;

    fn capabilities(&self) -> Capabilities {
        self.backend.capabilities()
    }

    fn level(&self, ct: &PlainCiphertext) -> usize {
        ct.level
    }

    fn lower(&self, a: &PlainCiphertext, level: usize) -> Result<PlainCiphertext, BackendError> {
        if self.backend.max_level.is_none() {
            return Ok(a.clone());
        }
        if level > a.level {
            return Err(BackendError::cannot_raise("plain", a.level, level));
        }
        Ok(PlainCiphertext {
            values: a.values.clone(),
            level,
        })
    }

    fn add(&self, a: &PlainCiphertext, b: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &b.values, a.level.min(b.level), |x, y| x + y))
    }

    fn sub(&self, a: &PlainCiphertext, b: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &b.values, a.level.min(b.level), |x, y| x - y))
    }

    fn neg(&self, a: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &a.values, a.level, |x, _| -x))
    }

    fn add_plain(&self, a: &PlainCiphertext, v: &[f64]) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &self.backend.padded(v)?, a.level, |x, y| x + y))
    }

    fn add_scalar(&self, a: &PlainCiphertext, c: f64) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &a.values, a.level, |x, _| x + c))
    }

    fn mul(&self, a: &PlainCiphertext, b: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        let level = self.multiplied(a)?.min(self.multiplied(b)?);
        Ok(self.zip(a, &b.values, level, |x, y| x * y))
    }

    fn mul_plain(&self, a: &PlainCiphertext, v: &[f64]) -> Result<PlainCiphertext, BackendError> {
        let v = self.backend.padded(v)?;
        Ok(self.zip(a, &v, self.multiplied(a)?, |x, y| x * y))
    }

    fn mul_scalar(&self, a: &PlainCiphertext, c: f64) -> Result<PlainCiphertext, BackendError> {
        Ok(self.zip(a, &a.values, self.multiplied(a)?, |x, _| x * c))
    }

    fn rotate(&self, a: &PlainCiphertext, step: i64) -> Result<PlainCiphertext, BackendError> {
        let k = self.backend.normalise(step);
        if k != 0 && !self.rotations.contains(&k) {
            return Err(BackendError::MissingKey(format!("the rotation by {step}")));
        }
        let mut values = a.values.clone();
        values.rotate_left(k);
        Ok(PlainCiphertext { values, level: a.level })
    }

    fn bootstrap(&self, a: &PlainCiphertext) -> Result<PlainCiphertext, BackendError> {
        Ok(PlainCiphertext {
            values: a.values.clone(),
            level: self.backend.top(),
        })
    }

    fn keys_to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        let mut out = self.backend.header(KEYS_MAGIC);
        out.extend_from_slice(&(self.rotations.len() as u32).to_le_bytes());
        self.rotations
            .iter()
            .for_each(|&k| out.extend_from_slice(&(k as u32).to_le_bytes()));
        Ok(PlainBackend::seal(out))
    }
}
