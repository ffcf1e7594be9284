"""CKKS primitive timings for Microsoft SEAL through TenSEAL's raw `tenseal.sealapi`.

TenSEAL's high-level CKKSVector hides relinearisation and rescaling, so this
script drives the SEAL objects directly. SEAL's key switching uses one special
prime (the last prime of the coefficient modulus), i.e. one digit per limb.
SEAL itself is single-threaded: --threads is recorded but has no effect.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class Seal:
    def __init__(self, cfg):
        import tenseal.sealapi as s

        self.s = s
        n = 1 << cfg["log_n"]
        self.slots = n // 2
        self.scale = 2.0 ** cfg["scale_bits"]
        parms = s.EncryptionParameters(s.SCHEME_TYPE.CKKS)
        parms.set_poly_modulus_degree(n)
        parms.set_coeff_modulus(s.CoeffModulus.Create(n, common.limb_bits(cfg) + [cfg["special_bits"]]))
        self.security = "tc128 (enforced by SEAL)"
        ctx = s.SEALContext(parms, True, s.SEC_LEVEL_TYPE.TC128)
        if not ctx.parameters_set():
            first_err = ctx.parameters_error_message()
            # SEAL's security table stops at N = 2^15: at N = 2^16 it refuses TC128.
            ctx = s.SEALContext(parms, True, s.SEC_LEVEL_TYPE.NONE)
            if not ctx.parameters_set():
                raise RuntimeError(f"SEAL rejected the parameters: {ctx.parameters_error_message()}")
            self.security = (
                f"not enforced (SEAL's table stops at N = 2^15; with tc128 it said: {first_err}); "
                "log QP is within the HE-standard 128-bit bound (about 1772 bits at N = 2^16), "
                "uniform ternary secret"
            )
        self.ctx = ctx
        self.qp_bits = [m.bit_count() for m in ctx.key_context_data().parms().coeff_modulus()]
        self.galois_tool = ctx.key_context_data().galois_tool()
        self.enc = s.CKKSEncoder(ctx)
        self.ev = s.Evaluator(ctx)
        self.reasons = {}
        self.notes = {
            "mul_relin": "multiply + relinearize_inplace",
            "rescale": "rescale_to_next",
            "hoisted_rotate_8": "SEAL has no hoisted rotation API: 8 plain rotate_vector calls",
            "keygen_sk_pk": "KeyGenerator (samples the secret key) + create_public_key",
        }

    def prep(self, v):
        return v.tolist()

    def keygen_sk_pk(self):
        kg = self.s.KeyGenerator(self.ctx)
        pk = self.s.PublicKey()
        kg.create_public_key(pk)
        return kg, pk

    def fresh_sk(self):
        return self.s.KeyGenerator(self.ctx)

    def keygen_relin(self, kg):
        rk = self.s.RelinKeys()
        kg.create_relin_keys(rk)
        return rk

    def keygen_rot(self, kg):
        gk = self.s.GaloisKeys()
        kg.create_galois_keys(self.galois_tool.get_elts_from_steps([1]), gk)
        return gk

    def keygen_total(self, steps):
        kg, pk = self.keygen_sk_pk()
        self.rk = self.keygen_relin(kg)
        self.gk = self.s.GaloisKeys()
        kg.create_galois_keys(self.galois_tool.get_elts_from_steps(list(steps)), self.gk)
        self.encryptor = self.s.Encryptor(self.ctx, pk)
        self.decryptor = self.s.Decryptor(self.ctx, kg.secret_key())

    def encode(self, v):
        pt = self.s.Plaintext()
        self.enc.encode(v, self.scale, pt)
        return pt

    def encode_encrypt(self, v):
        ct = self.s.Ciphertext()
        self.encryptor.encrypt(self.encode(v), ct)
        return ct

    def decrypt(self, ct):
        pt = self.s.Plaintext()
        self.decryptor.decrypt(ct, pt)
        return self.enc.decode_double(pt)

    def add(self, a, b):
        out = self.s.Ciphertext()
        self.ev.add(a, b, out)
        return out

    def mul_plain(self, ct, pt):
        out = self.s.Ciphertext()
        self.ev.multiply_plain(ct, pt, out)
        return out

    def mul_relin(self, a, b):
        out = self.s.Ciphertext()
        self.ev.multiply(a, b, out)
        self.ev.relinearize_inplace(out, self.rk)
        return out

    def rescale(self, ct):
        out = self.s.Ciphertext()
        self.ev.rescale_to_next(ct, out)
        return out

    def mul_relin_rescale(self, a, b):
        return self.rescale(self.mul_relin(a, b))

    def rotate(self, ct, k):
        out = self.s.Ciphertext()
        self.ev.rotate_vector(ct, k, self.gk, out)
        return out

    def hoisted(self, ct, steps):
        return [self.rotate(ct, k) for k in steps]


def main():
    args = common.parse_args("seal")
    cfg = common.CONFIGS[args.config]
    from importlib.metadata import version

    impl = Seal(cfg)
    limbs = cfg["levels"] + 1
    params = {
        "log_n": cfg["log_n"],
        "limbs": limbs,
        "log_q": impl.qp_bits[:-1],
        "special_primes": 1,
        "dnum": limbs,
        "scale_bits": cfg["scale_bits"],
        "slots": impl.slots,
        "security": impl.security,
    }
    res = common.Result("seal", f"tenseal {version('tenseal')} (bundled Microsoft SEAL)", args, params, 1)
    res.note(f"log QP = {sum(impl.qp_bits)} bits (special prime {impl.qp_bits[-1]} bits)")
    if args.threads != 1:
        res.note(f"--threads {args.threads} requested: SEAL's evaluator is single-threaded, ran on 1")
    common.run_keygen(res, impl, args.reps)
    common.run_ops(res, impl, args.reps, impl.slots)
    if args.bootstrap:
        res.unavailable("bootstrap", "Microsoft SEAL has no CKKS bootstrapping")
    res.write()


if __name__ == "__main__":
    main()
