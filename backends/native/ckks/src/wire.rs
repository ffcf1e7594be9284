//! The binary format of CKKS objects, framed like the rlwe layer's (see
//! [`blindtuner_rlwe::WireFormat`]): magic, version, kind, parameter fingerprint, body length,
//! body, checksum. Bodies, little-endian:
//!
//! ```text
//! CkksParameters := log_default_scale u32 | length u64 | an rlwe Parameters frame
//! CkksCiphertext := scale f64 | slots u32 | c0 poly | c1 poly   (evaluation form, same limbs)
//! Plaintext      := scale f64 | slots u32 | poly               (evaluation form)
//! BootstrapKeys  := EvaluationKeys body | SwitchingKey body (to sparse, over q_0 p_0)
//!                 | SwitchingKey body (to dense)
//! ```
//!
//! Frames carry the CKKS fingerprint (which covers the default scale); evaluation keys travel as
//! rlwe objects under the rlwe fingerprint, bootstrapping keys under the fingerprint of their
//! [`BootstrapParameters`] (which covers the circuit's layout too).

use blindtuner_ring::{Form, RnsPoly};
use blindtuner_rlwe as rlwe;
use blindtuner_rlwe::{
    ObjectKind, Reader, WireContext, WireError, WireFormat, Writer, check_fingerprint, frame, read_parameters,
    read_poly, unframe, write_parameters, write_poly,
};

use crate::{
    BootstrapKeys, BootstrapParameters, Bootstrapper, Ciphertext, CkksError, EncapsulationKeys, Parameters, Plaintext,
};

impl WireContext for Parameters {
    fn fingerprint(&self) -> u64 {
        Parameters::fingerprint(self)
    }
}

impl Parameters {
    /// The parameter set as a frame, to store or to send with its ciphertexts.
    pub fn to_bytes(&self) -> Vec<u8> {
        let inner = write_parameters(self.rlwe());
        let mut w = Writer::new();
        w.u32(self.log_default_scale());
        w.u64(inner.len() as u64);
        let mut body = w.into_bytes();
        body.extend_from_slice(&inner);
        frame(ObjectKind::CkksParameters, self.fingerprint(), &body)
    }

    /// Reads and validates a parameter set (through [`Parameters::from_rlwe`], so a forged file
    /// gets the same checks as a literal).
    pub fn from_bytes(bytes: &[u8]) -> Result<Parameters, CkksError> {
        let frame = unframe(bytes, ObjectKind::CkksParameters)?;
        let mut r = Reader::new(frame.body);
        let log_scale = r.u32()?;
        let len = usize::try_from(r.u64()?).unwrap_or(usize::MAX);
        let inner = r.take(len)?;
        r.finish()?;
        let params = Parameters::from_rlwe(read_parameters(inner)?, log_scale)?;
        if params.fingerprint() != frame.fingerprint {
            return Err(WireError::Invalid(format!(
                "the parameters rebuild to fingerprint {:#018x}, the header says {:#018x}",
                params.fingerprint(),
                frame.fingerprint
            ))
            .into());
        }
        Ok(params)
    }
}

/// Reads a scale and a slot count and checks them against `params`.
fn read_meta(params: &Parameters, r: &mut Reader<'_>) -> Result<(f64, usize), WireError> {
    let scale = r.f64()?;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(WireError::Invalid(format!("scale {scale} is not a positive number")));
    }
    let slots = r.u32()? as usize;
    if !slots.is_power_of_two() || slots > params.max_slots() {
        return Err(WireError::Invalid(format!(
            "{slots} slots: a power of two up to {} is needed",
            params.max_slots()
        )));
    }
    Ok((scale, slots))
}

fn read_eval_poly(params: &Parameters, r: &mut Reader<'_>, limbs: Option<usize>) -> Result<RnsPoly, WireError> {
    let poly = read_poly(r, params.rlwe().ring_q(), limbs)?;
    if poly.form() != Form::Evaluation {
        return Err(WireError::Invalid("a polynomial is not in evaluation form".into()));
    }
    Ok(poly)
}

impl WireFormat for Ciphertext {
    const KIND: ObjectKind = ObjectKind::CkksCiphertext;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        check_fingerprint(params, self.fingerprint)?;
        w.f64(self.scale);
        w.u32(self.slots as u32);
        write_poly(w, params.rlwe().ring_q(), &self.inner.c0)?;
        write_poly(w, params.rlwe().ring_q(), &self.inner.c1)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let (scale, slots) = read_meta(params, r)?;
        let c0 = read_eval_poly(params, r, None)?;
        let c1 = read_eval_poly(params, r, Some(c0.limbs()))?;
        Ok(Ciphertext {
            inner: rlwe::Ciphertext { c0, c1 },
            scale,
            slots,
            fingerprint: params.fingerprint(),
        })
    }
}

impl WireFormat for Plaintext {
    const KIND: ObjectKind = ObjectKind::Plaintext;
    type Context = Parameters;

    fn write_body(&self, params: &Parameters, w: &mut Writer) -> Result<(), WireError> {
        w.f64(self.scale);
        w.u32(self.slots as u32);
        write_poly(w, params.rlwe().ring_q(), &self.poly)
    }

    fn read_body(params: &Parameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let (scale, slots) = read_meta(params, r)?;
        Ok(Plaintext {
            poly: read_eval_poly(params, r, None)?,
            scale,
            slots,
        })
    }
}

impl WireContext for BootstrapParameters {
    fn fingerprint(&self) -> u64 {
        BootstrapParameters::fingerprint(self)
    }
}

impl WireFormat for BootstrapKeys {
    const KIND: ObjectKind = ObjectKind::BootstrapKeys;
    type Context = BootstrapParameters;

    fn write_body(&self, params: &BootstrapParameters, w: &mut Writer) -> Result<(), WireError> {
        let rlwe = params.params().rlwe();
        self.evaluation.write_body(rlwe, w)?;
        self.encapsulation.to_sparse.write_body(params.encapsulation(), w)?;
        self.encapsulation.to_dense.write_body(rlwe, w)
    }

    fn read_body(params: &BootstrapParameters, r: &mut Reader<'_>) -> Result<Self, WireError> {
        let rlwe = params.params().rlwe();
        Ok(BootstrapKeys {
            evaluation: rlwe::EvaluationKeys::read_body(rlwe, r)?,
            encapsulation: EncapsulationKeys {
                to_sparse: rlwe::SwitchingKey::read_body(params.encapsulation(), r)?,
                to_dense: rlwe::SwitchingKey::read_body(rlwe, r)?,
            },
        })
    }
}

/// The body of [`BootstrapKeys`] from its parts, wherever they live.
fn write_bootstrap_keys(
    params: &BootstrapParameters,
    evaluation: &rlwe::EvaluationKeys,
    encapsulation: &EncapsulationKeys,
    w: &mut Writer,
) -> Result<(), WireError> {
    let rlwe = params.params().rlwe();
    evaluation.write_body(rlwe, w)?;
    encapsulation.to_sparse.write_body(params.encapsulation(), w)?;
    encapsulation.to_dense.write_body(rlwe, w)
}

impl Bootstrapper {
    /// The keys it holds in the format of [`BootstrapKeys`], without copying them first.
    pub fn keys_to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let params = self.params();
        let mut w = Writer::framed(ObjectKind::BootstrapKeys, params.fingerprint());
        write_bootstrap_keys(params, self.evaluator().keys(), &self.encapsulation, &mut w)?;
        Ok(w.seal())
    }
}
