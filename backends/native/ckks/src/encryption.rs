//! The client side: encryption (with the public or the secret key) and decryption.

use blindtuner_ring::{Form, RnsPoly};
use blindtuner_rlwe as rlwe;
use blindtuner_rlwe::{KeyGenerator, PublicKey, SecretKey};

use crate::{Ciphertext, CkksError, Parameters, Plaintext};

enum EncryptionKey {
    Public(PublicKey),
    Secret(SecretKey),
}

/// Encrypts plaintexts; draws its randomness from the operating system.
pub struct Encryptor {
    params: Parameters,
    key: EncryptionKey,
    randomness: KeyGenerator,
}

impl Encryptor {
    /// Encryption with the public key: anyone holding it can encrypt.
    pub fn with_public_key(params: &Parameters, pk: PublicKey) -> Result<Encryptor, CkksError> {
        Self::new(params, EncryptionKey::Public(pk))
    }

    /// Encryption with the secret key (its fresh noise is one Gaussian, smaller than the public
    /// key's).
    pub fn with_secret_key(params: &Parameters, sk: SecretKey) -> Result<Encryptor, CkksError> {
        Self::new(params, EncryptionKey::Secret(sk))
    }

    fn new(params: &Parameters, key: EncryptionKey) -> Result<Encryptor, CkksError> {
        Ok(Encryptor {
            params: params.clone(),
            key,
            randomness: KeyGenerator::new(params.rlwe())?,
        })
    }

    /// `out` = an encryption of `pt` at its level, scale and slot count.
    pub fn encrypt(&mut self, pt: &Plaintext, out: &mut Ciphertext) -> Result<(), CkksError> {
        let limbs = pt.level() + 1;
        out.inner.c0.resize(limbs);
        out.inner.c1.resize(limbs);
        match &self.key {
            EncryptionKey::Public(pk) => self.randomness.encrypt_zero_pk(pk, &mut out.inner)?,
            EncryptionKey::Secret(sk) => self.randomness.encrypt_zero_sk(sk, &mut out.inner)?,
        }
        self.params.rlwe().ring_q().add_assign(&mut out.inner.c0, &pt.poly);
        out.scale = pt.scale;
        out.slots = pt.slots;
        out.fingerprint = self.params.fingerprint();
        Ok(())
    }
}

/// Decrypts ciphertexts with the secret key.
pub struct Decryptor {
    params: Parameters,
    sk: SecretKey,
}

impl Decryptor {
    pub fn new(params: &Parameters, sk: SecretKey) -> Decryptor {
        Decryptor {
            params: params.clone(),
            sk,
        }
    }

    /// `out` = `c0 + c1 s`, with the ciphertext's scale and slot count.
    pub fn decrypt(&self, ct: &Ciphertext, out: &mut Plaintext) -> Result<(), CkksError> {
        check_fingerprint(&self.params, ct.fingerprint)?;
        out.poly.reshape_for_overwrite(ct.inner.limbs(), Form::Evaluation);
        rlwe::decrypt(self.params.rlwe(), &self.sk, &ct.inner, &mut out.poly)?;
        out.scale = ct.scale;
        out.slots = ct.slots;
        Ok(())
    }

    /// The decryption as a new plaintext.
    pub fn decrypt_new(&self, ct: &Ciphertext) -> Result<Plaintext, CkksError> {
        let mut pt = Plaintext {
            poly: RnsPoly::zero(self.params.rlwe().ring_q(), ct.inner.limbs(), Form::Evaluation),
            scale: ct.scale,
            slots: ct.slots,
        };
        self.decrypt(ct, &mut pt)?;
        Ok(pt)
    }
}

pub(crate) fn check_fingerprint(params: &Parameters, found: u64) -> Result<(), CkksError> {
    if found != params.fingerprint() {
        return Err(CkksError::ForeignCiphertext {
            expected: params.fingerprint(),
            found,
        });
    }
    Ok(())
}
