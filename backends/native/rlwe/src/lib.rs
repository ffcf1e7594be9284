//! The RLWE layer of blindtuner's native CKKS engine, above `ring`:
//! parameter sets and their security, keys, encryption and decryption, and
//! hybrid key switching (relinearisation, automorphisms, hoisting), and the
//! binary format that stores them ([`WireFormat`]).

mod keys;
mod keyswitch;
mod parameters;
pub mod security;
mod wire;

pub use keys::{Ciphertext, KeyError, KeyGenerator, PublicKey, SecretKey, decrypt};
pub use keyswitch::{
    Decomposition, EvaluationKeys, GaloisKey, KeySwitchScratch, KeySwitcher, MAX_DIGITS, QpPoly, RelinearizationKey,
    SwitchingKey,
};
pub use parameters::{
    DEFAULT_ERROR_STD, Moduli, ParameterError, Parameters, ParametersLiteral, SecretDistribution, Security, fnv1a,
};
pub use security::SecurityLevel;
pub use wire::{
    CHECKSUM_LEN, FORMAT_VERSION, Frame, HEADER_LEN, MAGIC, MAX_PRIMES, ObjectKind, Reader, WireContext, WireError,
    WireFormat, Writer, check_fingerprint, frame, read_parameters, read_poly, unframe, write_parameters, write_poly,
};
