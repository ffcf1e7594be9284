//! The part of SEAL's C API (`SEAL/native/src/seal/c/*.h` in sealy 0.2.0) this backend calls, and
//! an owning Rust type for every object it creates.
//!
//! sealy builds SEAL 4.0 and links `sealc` (the C API) into the binary, but its Rust API has no
//! CKKS rescale, no `rotate_vector`, no scale control and keeps its handles private. So this
//! module declares the C functions itself, and every SEAL object is created and destroyed here:
//! nothing is shared with sealy's types. Each `extern` function returns an `HRESULT` that
//! [`check`] turns into a [`BackendError`]; each handle type owns its pointer (never null) and
//! destroys it exactly once in `Drop`.
//!
//! The C API catches SEAL's `invalid_argument` and `logic_error` (and `runtime_error` when
//! loading). Any other C++ exception (in practice only `bad_alloc`) would abort the process;
//! the wire layer bounds every count SEAL allocates from before SEAL sees it.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::ptr::{self, NonNull};

use blindtuner_backend::BackendError;

/// SEAL's `HRESULT` on Linux (`#define HRESULT long`).
type Hresult = c_long;
type Ptr = *mut c_void;

/// The C API's only success code.
const S_OK: Hresult = 0;
/// `scheme_type::ckks`.
pub const SCHEME_CKKS: u8 = 2;
/// `compr_mode_type::none`: blobs are written uncompressed, and only such blobs are read.
pub const COMPR_NONE: u8 = 0;
/// `sec_level_type::none` and `tc128`.
pub const SEC_LEVEL_NONE: c_int = 0;
pub const SEC_LEVEL_128: c_int = 128;

/// A parameter set's `parms_id`: SEAL's hash of its encryption parameters, one per level.
pub type ParmsId = [u64; 4];

// The names are SEAL's; the library is linked through sealy (`use sealy as _` in lib.rs).
unsafe extern "C" {
    fn EncParams_Create1(scheme: u8, out: *mut Ptr) -> Hresult;
    fn EncParams_Destroy(this: Ptr) -> Hresult;
    fn EncParams_SetPolyModulusDegree(this: Ptr, degree: u64) -> Hresult;
    fn EncParams_SetCoeffModulus(this: Ptr, length: u64, coeffs: *mut Ptr) -> Hresult;
    fn EncParams_GetParmsId(this: Ptr, parms_id: *mut u64) -> Hresult;

    fn Modulus_Create1(value: u64, out: *mut Ptr) -> Hresult;
    fn Modulus_Destroy(this: Ptr) -> Hresult;

    fn SEALContext_Create(params: Ptr, expand_mod_chain: bool, sec_level: c_int, out: *mut Ptr) -> Hresult;
    fn SEALContext_Destroy(this: Ptr) -> Hresult;
    fn SEALContext_ParametersSet(this: Ptr, set: *mut bool) -> Hresult;
    fn SEALContext_ParameterErrorMessage(this: Ptr, out: *mut c_char, length: *mut u64) -> Hresult;
    fn SEALContext_FirstContextData(this: Ptr, out: *mut Ptr) -> Hresult;
    fn ContextData_Parms(this: Ptr, out: *mut Ptr) -> Hresult;
    fn ContextData_NextContextData(this: Ptr, out: *mut Ptr) -> Hresult;
    fn ContextData_ChainIndex(this: Ptr, index: *mut u64) -> Hresult;

    fn KeyGenerator_Create1(context: Ptr, out: *mut Ptr) -> Hresult;
    fn KeyGenerator_Destroy(this: Ptr) -> Hresult;
    fn KeyGenerator_SecretKey(this: Ptr, out: *mut Ptr) -> Hresult;
    fn KeyGenerator_CreateRelinKeys(this: Ptr, save_seed: bool, out: *mut Ptr) -> Hresult;
    fn KeyGenerator_CreateGaloisKeysFromSteps(
        this: Ptr,
        count: u64,
        steps: *mut c_int,
        save_seed: bool,
        out: *mut Ptr,
    ) -> Hresult;
    fn SecretKey_Create1(out: *mut Ptr) -> Hresult;
    fn SecretKey_Destroy(this: Ptr) -> Hresult;
    fn SecretKey_SaveSize(this: Ptr, compr_mode: u8, size: *mut i64) -> Hresult;
    fn SecretKey_Save(this: Ptr, out: *mut u8, size: u64, compr_mode: u8, written: *mut i64) -> Hresult;
    fn SecretKey_Load(this: Ptr, context: Ptr, bytes: *mut u8, size: u64, read: *mut i64) -> Hresult;

    fn KSwitchKeys_Create1(out: *mut Ptr) -> Hresult;
    fn KSwitchKeys_Destroy(this: Ptr) -> Hresult;
    fn KSwitchKeys_SaveSize(this: Ptr, compr_mode: u8, size: *mut i64) -> Hresult;
    fn KSwitchKeys_Save(this: Ptr, out: *mut u8, size: u64, compr_mode: u8, written: *mut i64) -> Hresult;
    fn KSwitchKeys_Load(this: Ptr, context: Ptr, bytes: *mut u8, size: u64, read: *mut i64) -> Hresult;

    fn Encryptor_Create(context: Ptr, public_key: Ptr, secret_key: Ptr, out: *mut Ptr) -> Hresult;
    fn Encryptor_Destroy(this: Ptr) -> Hresult;
    fn Encryptor_EncryptSymmetric(this: Ptr, plain: Ptr, save_seed: bool, destination: Ptr, pool: Ptr) -> Hresult;
    fn Decryptor_Create(context: Ptr, secret_key: Ptr, out: *mut Ptr) -> Hresult;
    fn Decryptor_Destroy(this: Ptr) -> Hresult;
    fn Decryptor_Decrypt(this: Ptr, encrypted: Ptr, destination: Ptr) -> Hresult;

    fn CKKSEncoder_Create(context: Ptr, out: *mut Ptr) -> Hresult;
    fn CKKSEncoder_Destroy(this: Ptr) -> Hresult;
    fn CKKSEncoder_Encode1(
        this: Ptr,
        count: u64,
        values: *mut f64,
        parms_id: *mut u64,
        scale: f64,
        destination: Ptr,
        pool: Ptr,
    ) -> Hresult;
    fn CKKSEncoder_Encode3(
        this: Ptr,
        value: f64,
        parms_id: *mut u64,
        scale: f64,
        destination: Ptr,
        pool: Ptr,
    ) -> Hresult;
    fn CKKSEncoder_Decode1(this: Ptr, plain: Ptr, count: *mut u64, values: *mut f64, pool: Ptr) -> Hresult;
    fn CKKSEncoder_SlotCount(this: Ptr, count: *mut u64) -> Hresult;

    fn Plaintext_Create1(pool: Ptr, out: *mut Ptr) -> Hresult;
    fn Plaintext_Destroy(this: Ptr) -> Hresult;

    fn Ciphertext_Create1(pool: Ptr, out: *mut Ptr) -> Hresult;
    fn Ciphertext_Create2(copy: Ptr, out: *mut Ptr) -> Hresult;
    fn Ciphertext_Destroy(this: Ptr) -> Hresult;
    fn Ciphertext_Size(this: Ptr, size: *mut u64) -> Hresult;
    fn Ciphertext_ParmsId(this: Ptr, parms_id: *mut u64) -> Hresult;
    fn Ciphertext_IsNTTForm(this: Ptr, ntt: *mut bool) -> Hresult;
    fn Ciphertext_Scale(this: Ptr, scale: *mut f64) -> Hresult;
    fn Ciphertext_SetScale(this: Ptr, scale: f64) -> Hresult;
    fn Ciphertext_SaveSize(this: Ptr, compr_mode: u8, size: *mut i64) -> Hresult;
    fn Ciphertext_Save(this: Ptr, out: *mut u8, size: u64, compr_mode: u8, written: *mut i64) -> Hresult;
    fn Ciphertext_Load(this: Ptr, context: Ptr, bytes: *mut u8, size: u64, read: *mut i64) -> Hresult;

    fn Evaluator_Create(context: Ptr, out: *mut Ptr) -> Hresult;
    fn Evaluator_Destroy(this: Ptr) -> Hresult;
    fn Evaluator_Negate(this: Ptr, encrypted: Ptr, destination: Ptr) -> Hresult;
    fn Evaluator_Add(this: Ptr, a: Ptr, b: Ptr, destination: Ptr) -> Hresult;
    fn Evaluator_Sub(this: Ptr, a: Ptr, b: Ptr, destination: Ptr) -> Hresult;
    fn Evaluator_AddPlain(this: Ptr, encrypted: Ptr, plain: Ptr, destination: Ptr) -> Hresult;
    fn Evaluator_Multiply(this: Ptr, a: Ptr, b: Ptr, destination: Ptr, pool: Ptr) -> Hresult;
    fn Evaluator_MultiplyPlain(this: Ptr, encrypted: Ptr, plain: Ptr, destination: Ptr, pool: Ptr) -> Hresult;
    fn Evaluator_Relinearize(this: Ptr, encrypted: Ptr, relin_keys: Ptr, destination: Ptr, pool: Ptr) -> Hresult;
    fn Evaluator_RescaleToNext(this: Ptr, encrypted: Ptr, destination: Ptr, pool: Ptr) -> Hresult;
    fn Evaluator_ModSwitchTo1(this: Ptr, encrypted: Ptr, parms_id: *mut u64, destination: Ptr, pool: Ptr) -> Hresult;
    fn Evaluator_RotateVector(
        this: Ptr,
        encrypted: Ptr,
        steps: c_int,
        galois_keys: Ptr,
        destination: Ptr,
        pool: Ptr,
    ) -> Hresult;
}

/// What a failed `HRESULT` means, in SEAL's C API (`defines.h`) and the C++ exception behind it.
fn describe(hr: Hresult) -> &'static str {
    match hr as u32 {
        0x8000_4003 => "null pointer (E_POINTER)",
        0x8007_0057 => "invalid argument (E_INVALIDARG)",
        0x8007_000E => "out of memory (E_OUTOFMEMORY)",
        0x8000_FFFF => "unexpected failure (E_UNEXPECTED)",
        0x8013_1620 => "malformed data (COR_E_IO)",
        0x8013_1509 => "invalid operation (COR_E_INVALIDOPERATION)",
        _ => "unknown failure",
    }
}

/// Turns an `HRESULT` into `Ok` or an engine error naming the call. Only `S_OK` (0) is success:
/// `long` has 64 bits here, so the failure codes (`0x8000_0000` and up) are positive, and
/// Windows' `FAILED(hr)` (negative) would miss them.
pub fn check(hr: Hresult, what: &str) -> Result<(), BackendError> {
    if hr == S_OK {
        Ok(())
    } else {
        Err(BackendError::Engine(format!(
            "SEAL {what} failed: {} ({:#010x})",
            describe(hr),
            hr as u32
        )))
    }
}

/// Calls a SEAL constructor that writes a new object to `*out` and wraps the pointer. `f` must be
/// a call returning a new, caller-owned object of the type `wrap` takes ownership of.
fn create<T>(
    what: &str,
    wrap: fn(NonNull<c_void>) -> T,
    f: impl FnOnce(*mut Ptr) -> Hresult,
) -> Result<T, BackendError> {
    let mut out: Ptr = ptr::null_mut();
    check(f(&mut out), what)?;
    NonNull::new(out)
        .map(wrap)
        .ok_or_else(|| BackendError::Engine(format!("SEAL {what} returned no object")))
}

/// Owning handle types: the pointer is never null and destroyed once, with SEAL's destructor.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $destroy:ident) => {
        $(#[$doc])*
        pub struct $name(NonNull<c_void>);

        impl $name {
            pub fn ptr(&self) -> Ptr {
                self.0.as_ptr()
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: the pointer was created by SEAL for this type and is dropped once. The
                // only failure (a null pointer) cannot happen.
                unsafe {
                    $destroy(self.0.as_ptr());
                }
            }
        }
    };
}

handle!(
    /// `EncryptionParameters`, only while a context is built.
    EncParams,
    EncParams_Destroy
);
handle!(
    /// One prime of the coefficient modulus, only while a context is built.
    Modulus,
    Modulus_Destroy
);
handle!(
    /// `SEALContext`: the validated parameters and the modulus chain.
    Context,
    SEALContext_Destroy
);
handle!(
    /// `KeyGenerator`: holds a fresh secret key; lives only inside key generation.
    KeyGenerator,
    KeyGenerator_Destroy
);
handle!(
    /// `SecretKey`: a copy taken from the key generator, for the client's encryptor / decryptor.
    SecretKey,
    SecretKey_Destroy
);
handle!(
    /// `KSwitchKeys`: relinearisation or Galois keys (`RelinKeys` and `GaloisKeys` add no data
    /// to it; SEAL's own .NET wrapper passes them the same way).
    KSwitchKeys,
    KSwitchKeys_Destroy
);
handle!(
    /// `Encryptor` with the secret key (symmetric encryption: less noise, no public key needed).
    Encryptor,
    Encryptor_Destroy
);
handle!(
    /// `Decryptor`.
    Decryptor,
    Decryptor_Destroy
);
handle!(
    /// `CKKSEncoder`.
    Encoder,
    CKKSEncoder_Destroy
);
handle!(
    /// `Plaintext`, a temporary of one operation.
    Plaintext,
    Plaintext_Destroy
);
handle!(
    /// `Ciphertext`.
    Ciphertext,
    Ciphertext_Destroy
);
handle!(
    /// `Evaluator`.
    Evaluator,
    Evaluator_Destroy
);

// SAFETY (all impls below): SEAL's context, keys, encoder, evaluator and ciphertexts are not
// tied to a thread, and every method this crate calls on a shared one is `const` in C++ (it
// reads the object; scratch memory comes from SEAL's thread-safe global memory pool). Objects
// that are written (outputs, keys being loaded) are owned exclusively by the writer.
unsafe impl Send for Context {}
unsafe impl Sync for Context {}
unsafe impl Send for KSwitchKeys {}
unsafe impl Sync for KSwitchKeys {}
unsafe impl Send for Encoder {}
unsafe impl Sync for Encoder {}
unsafe impl Send for Evaluator {}
unsafe impl Sync for Evaluator {}
unsafe impl Send for Ciphertext {}
unsafe impl Sync for Ciphertext {}
unsafe impl Send for SecretKey {}
unsafe impl Send for Encryptor {}
unsafe impl Send for Decryptor {}

/// Serialises a SEAL object, uncompressed, with its `*_SaveSize` and `*_Save`.
fn save(
    what: &str,
    size: impl FnOnce(*mut i64) -> Hresult,
    save: impl FnOnce(*mut u8, u64, *mut i64) -> Hresult,
) -> Result<Vec<u8>, BackendError> {
    let mut bound = 0i64;
    check(size(&mut bound), what)?;
    let mut out =
        vec![0u8; usize::try_from(bound).map_err(|_| BackendError::Engine(format!("SEAL {what}: size {bound}")))?];
    let mut written = 0i64;
    check(save(out.as_mut_ptr(), out.len() as u64, &mut written), what)?;
    out.truncate(usize::try_from(written).unwrap_or(0));
    Ok(out)
}

impl EncParams {
    pub fn ckks() -> Result<EncParams, BackendError> {
        // SAFETY: creates a new object.
        unsafe {
            create("EncParams_Create1", EncParams, |out| {
                EncParams_Create1(SCHEME_CKKS, out)
            })
        }
    }

    pub fn set_degree(&mut self, n: u64) -> Result<(), BackendError> {
        // SAFETY: self is a valid EncryptionParameters.
        check(
            unsafe { EncParams_SetPolyModulusDegree(self.ptr(), n) },
            "EncParams_SetPolyModulusDegree",
        )
    }

    /// Sets the primes, in SEAL's order: ciphertext primes `q_0 .. q_L`, then the special prime.
    pub fn set_primes(&mut self, primes: &[u64]) -> Result<(), BackendError> {
        let moduli = primes
            .iter()
            // SAFETY: creates a new object; SEAL refuses values it cannot use.
            .map(|&p| unsafe { create("Modulus_Create1", Modulus, |out| Modulus_Create1(p, out)) })
            .collect::<Result<Vec<Modulus>, _>>()?;
        let mut ptrs: Vec<Ptr> = moduli.iter().map(Modulus::ptr).collect();
        // SAFETY: `ptrs` holds `len` valid Modulus pointers, which SEAL copies.
        check(
            unsafe { EncParams_SetCoeffModulus(self.ptr(), ptrs.len() as u64, ptrs.as_mut_ptr()) },
            "EncParams_SetCoeffModulus",
        )
    }
}

impl Context {
    /// Validates `params` at `sec_level` (SEAL's own HomomorphicEncryption.org check, or none).
    pub fn new(params: &EncParams, sec_level: c_int) -> Result<Context, BackendError> {
        // SAFETY: params is valid; the context copies it.
        let ctx = unsafe {
            create("SEALContext_Create", Context, |out| {
                SEALContext_Create(params.ptr(), true, sec_level, out)
            })?
        };
        let mut set = false;
        // SAFETY: ctx is valid.
        check(
            unsafe { SEALContext_ParametersSet(ctx.ptr(), &mut set) },
            "SEALContext_ParametersSet",
        )?;
        if !set {
            return Err(BackendError::Engine(format!(
                "SEAL refuses the parameters: {}",
                ctx.error_message()?
            )));
        }
        Ok(ctx)
    }

    fn error_message(&self) -> Result<String, BackendError> {
        let mut len = 0u64;
        // SAFETY: a null buffer asks for the length only.
        check(
            unsafe { SEALContext_ParameterErrorMessage(self.ptr(), ptr::null_mut(), &mut len) },
            "SEALContext_ParameterErrorMessage",
        )?;
        let mut buf = vec![0u8; len as usize + 1];
        // SAFETY: the buffer holds `len` bytes (SEAL writes exactly that many, no terminator).
        check(
            unsafe { SEALContext_ParameterErrorMessage(self.ptr(), buf.as_mut_ptr().cast(), &mut len) },
            "SEALContext_ParameterErrorMessage",
        )?;
        buf.truncate(len as usize);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The `parms_id` of every data level, indexed by SEAL's chain index (levels left).
    pub fn data_parms_ids(&self) -> Result<Vec<ParmsId>, BackendError> {
        let mut data: Ptr = ptr::null_mut();
        // SAFETY: the returned pointer is borrowed from the context and not freed here.
        check(
            unsafe { SEALContext_FirstContextData(self.ptr(), &mut data) },
            "SEALContext_FirstContextData",
        )?;
        let mut ids = Vec::new();
        while !data.is_null() {
            let mut index = 0u64;
            // SAFETY: `data` is a live ContextData of this context.
            check(
                unsafe { ContextData_ChainIndex(data, &mut index) },
                "ContextData_ChainIndex",
            )?;
            // SAFETY: ContextData_Parms returns a new copy, owned (and destroyed) here.
            let parms = unsafe { create("ContextData_Parms", EncParams, |out| ContextData_Parms(data, out))? };
            let mut id = ParmsId::default();
            // SAFETY: writes four words.
            check(
                unsafe { EncParams_GetParmsId(parms.ptr(), id.as_mut_ptr()) },
                "EncParams_GetParmsId",
            )?;
            ids.push((index as usize, id));
            let mut next: Ptr = ptr::null_mut();
            // SAFETY: borrowed pointer, null at the end of the chain.
            check(
                unsafe { ContextData_NextContextData(data, &mut next) },
                "ContextData_NextContextData",
            )?;
            data = next;
        }
        ids.sort_by_key(|(index, _)| *index);
        if ids.iter().enumerate().any(|(i, (index, _))| i != *index) {
            return Err(BackendError::Engine("SEAL's modulus chain has gaps".into()));
        }
        Ok(ids.into_iter().map(|(_, id)| id).collect())
    }
}

impl KeyGenerator {
    /// A key generator with a fresh secret key.
    pub fn new(ctx: &Context) -> Result<KeyGenerator, BackendError> {
        // SAFETY: ctx is valid.
        unsafe {
            create("KeyGenerator_Create1", KeyGenerator, |out| {
                KeyGenerator_Create1(ctx.ptr(), out)
            })
        }
    }

    pub fn secret_key(&self) -> Result<SecretKey, BackendError> {
        // SAFETY: returns a new copy of the secret key.
        unsafe {
            create("KeyGenerator_SecretKey", SecretKey, |out| {
                KeyGenerator_SecretKey(self.ptr(), out)
            })
        }
    }

    pub fn relin_keys(&self) -> Result<KSwitchKeys, BackendError> {
        // SAFETY: returns a new RelinKeys (a KSwitchKeys), not seed-compressed so it is usable.
        unsafe {
            create("KeyGenerator_CreateRelinKeys", KSwitchKeys, |out| {
                KeyGenerator_CreateRelinKeys(self.ptr(), false, out)
            })
        }
    }

    /// Galois keys for rotations by `steps` (each in `1..slots`).
    pub fn galois_keys(&self, steps: &[i64]) -> Result<KSwitchKeys, BackendError> {
        let mut steps = steps
            .iter()
            .map(|&s| c_int::try_from(s).map_err(|_| BackendError::Engine(format!("rotation step {s} out of range"))))
            .collect::<Result<Vec<c_int>, _>>()?;
        // SAFETY: `steps` holds `len` ints; returns new GaloisKeys (a KSwitchKeys).
        unsafe {
            create("KeyGenerator_CreateGaloisKeysFromSteps", KSwitchKeys, |out| {
                KeyGenerator_CreateGaloisKeysFromSteps(self.ptr(), steps.len() as u64, steps.as_mut_ptr(), false, out)
            })
        }
    }
}

impl KSwitchKeys {
    pub fn to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        // SAFETY: self is valid; the buffer is `size` bytes long.
        save(
            "KSwitchKeys_Save",
            |size| unsafe { KSwitchKeys_SaveSize(self.ptr(), COMPR_NONE, size) },
            |out, size, written| unsafe { KSwitchKeys_Save(self.ptr(), out, size, COMPR_NONE, written) },
        )
    }

    /// Loads keys with SEAL's validation (header, metadata, every coefficient below its prime,
    /// the key level of `ctx`). The caller bounds the counts inside first (`wire::kswitch_entries`).
    pub fn load(ctx: &Context, bytes: &[u8]) -> Result<KSwitchKeys, BackendError> {
        // SAFETY: creates an empty object.
        let keys = unsafe { create("KSwitchKeys_Create1", KSwitchKeys, |out| KSwitchKeys_Create1(out))? };
        let mut read = 0i64;
        // SAFETY: SEAL only reads `len` bytes from the (non-const in C) pointer.
        let hr = unsafe {
            KSwitchKeys_Load(
                keys.ptr(),
                ctx.ptr(),
                bytes.as_ptr().cast_mut(),
                bytes.len() as u64,
                &mut read,
            )
        };
        loaded(hr, read, bytes.len(), "evaluation keys")?;
        Ok(keys)
    }
}

/// Checks a `*_Load`: success, and every byte consumed.
fn loaded(hr: Hresult, read: i64, len: usize, what: &str) -> Result<(), BackendError> {
    if hr != S_OK {
        return Err(BackendError::Format(format!(
            "SEAL refuses the {what}: {}",
            describe(hr)
        )));
    }
    if usize::try_from(read).ok() != Some(len) {
        return Err(BackendError::Format(format!("{what}: SEAL read {read} of {len} bytes")));
    }
    Ok(())
}

impl Encryptor {
    pub fn new(ctx: &Context, sk: &SecretKey) -> Result<Encryptor, BackendError> {
        // SAFETY: no public key (null); the encryptor copies the secret key.
        unsafe {
            create("Encryptor_Create", Encryptor, |out| {
                Encryptor_Create(ctx.ptr(), ptr::null_mut(), sk.ptr(), out)
            })
        }
    }

    pub fn encrypt(&self, pt: &Plaintext) -> Result<Ciphertext, BackendError> {
        let ct = Ciphertext::empty()?;
        // SAFETY: all objects valid; null pool is SEAL's global pool.
        check(
            unsafe { Encryptor_EncryptSymmetric(self.ptr(), pt.ptr(), false, ct.ptr(), ptr::null_mut()) },
            "Encryptor_EncryptSymmetric",
        )?;
        Ok(ct)
    }
}

impl Decryptor {
    pub fn new(ctx: &Context, sk: &SecretKey) -> Result<Decryptor, BackendError> {
        // SAFETY: the decryptor copies the secret key.
        unsafe {
            create("Decryptor_Create", Decryptor, |out| {
                Decryptor_Create(ctx.ptr(), sk.ptr(), out)
            })
        }
    }

    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext, BackendError> {
        let pt = Plaintext::empty()?;
        // SAFETY: all objects valid.
        check(
            unsafe { Decryptor_Decrypt(self.ptr(), ct.ptr(), pt.ptr()) },
            "Decryptor_Decrypt",
        )?;
        Ok(pt)
    }
}

impl Encoder {
    pub fn new(ctx: &Context) -> Result<Encoder, BackendError> {
        // SAFETY: ctx is valid.
        unsafe { create("CKKSEncoder_Create", Encoder, |out| CKKSEncoder_Create(ctx.ptr(), out)) }
    }

    pub fn slots(&self) -> Result<usize, BackendError> {
        let mut n = 0u64;
        // SAFETY: writes one word.
        check(
            unsafe { CKKSEncoder_SlotCount(self.ptr(), &mut n) },
            "CKKSEncoder_SlotCount",
        )?;
        Ok(n as usize)
    }

    /// `values` (at most the slot count; the rest zero) at the level `parms_id`, times `scale`.
    pub fn encode(&self, values: &[f64], parms_id: &ParmsId, scale: f64) -> Result<Plaintext, BackendError> {
        let pt = Plaintext::empty()?;
        let mut id = *parms_id;
        // SAFETY: SEAL copies `len` values from the (non-const in C) pointer and never writes it.
        check(
            unsafe {
                CKKSEncoder_Encode1(
                    self.ptr(),
                    values.len() as u64,
                    values.as_ptr().cast_mut(),
                    id.as_mut_ptr(),
                    scale,
                    pt.ptr(),
                    ptr::null_mut(),
                )
            },
            "CKKSEncoder_Encode (values)",
        )?;
        Ok(pt)
    }

    /// `value` in every slot.
    pub fn encode_scalar(&self, value: f64, parms_id: &ParmsId, scale: f64) -> Result<Plaintext, BackendError> {
        let pt = Plaintext::empty()?;
        let mut id = *parms_id;
        // SAFETY: all objects valid; SEAL reads the four words of the parms_id.
        check(
            unsafe { CKKSEncoder_Encode3(self.ptr(), value, id.as_mut_ptr(), scale, pt.ptr(), ptr::null_mut()) },
            "CKKSEncoder_Encode (scalar)",
        )?;
        Ok(pt)
    }

    /// All slots' real parts; `slots` must be the encoder's slot count (SEAL writes that many).
    pub fn decode(&self, pt: &Plaintext, slots: usize) -> Result<Vec<f64>, BackendError> {
        let mut out = vec![0.0; slots];
        let mut count = 0u64;
        if self.slots()? != slots {
            return Err(BackendError::Engine("decoding buffer of the wrong length".into()));
        }
        // SAFETY: the buffer holds the encoder's slot count, which is what SEAL writes.
        check(
            unsafe { CKKSEncoder_Decode1(self.ptr(), pt.ptr(), &mut count, out.as_mut_ptr(), ptr::null_mut()) },
            "CKKSEncoder_Decode",
        )?;
        if count as usize != slots {
            return Err(BackendError::Engine(format!(
                "SEAL decoded {count} slots, {slots} expected"
            )));
        }
        Ok(out)
    }
}

impl Plaintext {
    pub fn empty() -> Result<Plaintext, BackendError> {
        // SAFETY: creates a new object in the global pool.
        unsafe {
            create("Plaintext_Create1", Plaintext, |out| {
                Plaintext_Create1(ptr::null_mut(), out)
            })
        }
    }
}

impl SecretKey {
    pub fn to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        // SAFETY: self is valid; the buffer is `size` bytes long.
        save(
            "SecretKey_Save",
            |size| unsafe { SecretKey_SaveSize(self.ptr(), COMPR_NONE, size) },
            |out, size, written| unsafe { SecretKey_Save(self.ptr(), out, size, COMPR_NONE, written) },
        )
    }

    /// Loads a secret key with SEAL's validation (header, metadata against `ctx`, every
    /// coefficient below its prime).
    pub fn load(ctx: &Context, bytes: &[u8]) -> Result<SecretKey, BackendError> {
        // SAFETY: creates an empty object.
        let sk = unsafe { create("SecretKey_Create1", SecretKey, |out| SecretKey_Create1(out))? };
        let mut read = 0i64;
        // SAFETY: SEAL only reads `len` bytes from the (non-const in C) pointer.
        let hr = unsafe {
            SecretKey_Load(
                sk.ptr(),
                ctx.ptr(),
                bytes.as_ptr().cast_mut(),
                bytes.len() as u64,
                &mut read,
            )
        };
        loaded(hr, read, bytes.len(), "secret key")?;
        Ok(sk)
    }
}

impl Ciphertext {
    pub fn empty() -> Result<Ciphertext, BackendError> {
        // SAFETY: creates a new object in the global pool.
        unsafe {
            create("Ciphertext_Create1", Ciphertext, |out| {
                Ciphertext_Create1(ptr::null_mut(), out)
            })
        }
    }

    pub fn try_clone(&self) -> Result<Ciphertext, BackendError> {
        // SAFETY: copies a valid ciphertext into a new object.
        unsafe {
            create("Ciphertext_Create2", Ciphertext, |out| {
                Ciphertext_Create2(self.ptr(), out)
            })
        }
    }

    /// Polynomials in the ciphertext: 2 after relinearisation, 3 after a product.
    pub fn size(&self) -> Result<u64, BackendError> {
        let mut n = 0;
        // SAFETY: writes one word.
        check(unsafe { Ciphertext_Size(self.ptr(), &mut n) }, "Ciphertext_Size")?;
        Ok(n)
    }

    pub fn parms_id(&self) -> Result<ParmsId, BackendError> {
        let mut id = ParmsId::default();
        // SAFETY: writes four words.
        check(
            unsafe { Ciphertext_ParmsId(self.ptr(), id.as_mut_ptr()) },
            "Ciphertext_ParmsId",
        )?;
        Ok(id)
    }

    pub fn is_ntt_form(&self) -> Result<bool, BackendError> {
        let mut ntt = false;
        // SAFETY: writes one bool.
        check(
            unsafe { Ciphertext_IsNTTForm(self.ptr(), &mut ntt) },
            "Ciphertext_IsNTTForm",
        )?;
        Ok(ntt)
    }

    pub fn scale(&self) -> Result<f64, BackendError> {
        let mut s = 0.0;
        // SAFETY: writes one double.
        check(unsafe { Ciphertext_Scale(self.ptr(), &mut s) }, "Ciphertext_Scale")?;
        Ok(s)
    }

    pub fn set_scale(&mut self, scale: f64) -> Result<(), BackendError> {
        // SAFETY: self is valid and exclusively borrowed.
        check(unsafe { Ciphertext_SetScale(self.ptr(), scale) }, "Ciphertext_SetScale")
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        // SAFETY: self is valid; the buffer is `size` bytes long.
        save(
            "Ciphertext_Save",
            |size| unsafe { Ciphertext_SaveSize(self.ptr(), COMPR_NONE, size) },
            |out, size, written| unsafe { Ciphertext_Save(self.ptr(), out, size, COMPR_NONE, written) },
        )
    }

    /// Loads a ciphertext with SEAL's validation: header, metadata against `ctx` (a data level
    /// of this parameter set), and every coefficient below its prime.
    pub fn load(ctx: &Context, bytes: &[u8]) -> Result<Ciphertext, BackendError> {
        let ct = Ciphertext::empty()?;
        let mut read = 0i64;
        // SAFETY: SEAL only reads `len` bytes from the (non-const in C) pointer.
        let hr = unsafe {
            Ciphertext_Load(
                ct.ptr(),
                ctx.ptr(),
                bytes.as_ptr().cast_mut(),
                bytes.len() as u64,
                &mut read,
            )
        };
        loaded(hr, read, bytes.len(), "ciphertext")?;
        Ok(ct)
    }
}

impl Evaluator {
    pub fn new(ctx: &Context) -> Result<Evaluator, BackendError> {
        // SAFETY: ctx is valid; the evaluator keeps its own reference to the context.
        unsafe { create("Evaluator_Create", Evaluator, |out| Evaluator_Create(ctx.ptr(), out)) }
    }

    /// Runs one evaluator call writing a new ciphertext.
    fn output(what: &str, f: impl FnOnce(Ptr) -> Hresult) -> Result<Ciphertext, BackendError> {
        let out = Ciphertext::empty()?;
        check(f(out.ptr()), what)?;
        Ok(out)
    }

    pub fn negate(&self, a: &Ciphertext) -> Result<Ciphertext, BackendError> {
        // SAFETY (this and every call below): all handles are valid, inputs are only read, the
        // output is a fresh object, and a null pool is SEAL's global pool.
        Self::output("Evaluator_Negate", |out| unsafe {
            Evaluator_Negate(self.ptr(), a.ptr(), out)
        })
    }

    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_Add", |out| unsafe {
            Evaluator_Add(self.ptr(), a.ptr(), b.ptr(), out)
        })
    }

    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_Sub", |out| unsafe {
            Evaluator_Sub(self.ptr(), a.ptr(), b.ptr(), out)
        })
    }

    pub fn add_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_AddPlain", |out| unsafe {
            Evaluator_AddPlain(self.ptr(), a.ptr(), p.ptr(), out)
        })
    }

    pub fn multiply(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_Multiply", |out| unsafe {
            Evaluator_Multiply(self.ptr(), a.ptr(), b.ptr(), out, ptr::null_mut())
        })
    }

    pub fn multiply_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_MultiplyPlain", |out| unsafe {
            Evaluator_MultiplyPlain(self.ptr(), a.ptr(), p.ptr(), out, ptr::null_mut())
        })
    }

    pub fn relinearize(&self, a: &Ciphertext, keys: &KSwitchKeys) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_Relinearize", |out| unsafe {
            Evaluator_Relinearize(self.ptr(), a.ptr(), keys.ptr(), out, ptr::null_mut())
        })
    }

    pub fn rescale_to_next(&self, a: &Ciphertext) -> Result<Ciphertext, BackendError> {
        Self::output("Evaluator_RescaleToNext", |out| unsafe {
            Evaluator_RescaleToNext(self.ptr(), a.ptr(), out, ptr::null_mut())
        })
    }

    /// Drops primes down to the level `parms_id`, without dividing: the scale stays.
    pub fn mod_switch_to(&self, a: &Ciphertext, parms_id: &ParmsId) -> Result<Ciphertext, BackendError> {
        let mut id = *parms_id;
        Self::output("Evaluator_ModSwitchTo", |out| unsafe {
            Evaluator_ModSwitchTo1(self.ptr(), a.ptr(), id.as_mut_ptr(), out, ptr::null_mut())
        })
    }

    /// Slot `i` of the result is slot `i + step` of `a`; `step` in `1..slots` with its key.
    pub fn rotate(&self, a: &Ciphertext, step: usize, keys: &KSwitchKeys) -> Result<Ciphertext, BackendError> {
        let step =
            c_int::try_from(step).map_err(|_| BackendError::Engine(format!("rotation step {step} out of range")))?;
        Self::output("Evaluator_RotateVector", |out| unsafe {
            Evaluator_RotateVector(self.ptr(), a.ptr(), step, keys.ptr(), out, ptr::null_mut())
        })
    }
}
