//! The RLWE layer of blindtuner's native CKKS engine, above `ring`:
//! parameter sets and their security, keys, encryption and decryption, and
//! hybrid key switching (relinearisation, automorphisms, hoisting).

mod keys;
mod keyswitch;
mod parameters;
pub mod security;

pub use keys::{Ciphertext, KeyError, KeyGenerator, PublicKey, SecretKey, decrypt};
pub use keyswitch::{
    Decomposition, EvaluationKeys, GaloisKey, KeySwitchScratch, KeySwitcher, MAX_DIGITS, QpPoly, RelinearizationKey,
    SwitchingKey,
};
pub use parameters::{
    DEFAULT_ERROR_STD, Moduli, ParameterError, Parameters, ParametersLiteral, SecretDistribution, Security,
};
pub use security::SecurityLevel;
