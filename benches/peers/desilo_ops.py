"""CKKS primitive timings for the DESILO FHE library (desilofhe 2.0.0, CPU).

DESILO only offers fixed parameter presets, chosen by `max_level`. This script
takes the smallest preset whose ring dimension is 2^log_n and whose max level
is at least the configuration's level count, then encrypts at the
configuration's level (so ciphertexts carry about as many RNS words as the
others') and generates every key at that level. The preset's primes, scale,
special primes and security level are not exposed; what is observable is
recorded. `multiply` always rescales, so mul_relin, rescale and mul_plain are
reported as unavailable and the rescaling variants are timed instead.
Threads: mode="cpu" with thread_count=1 for --threads 1, otherwise
mode="parallel" with thread_count=--threads.

With --bootstrap, also full-slot bootstrapping (see DesiloBoot) on the
bootstrapping preset, Engine(bootstrap=True), after the primitives' engine and
keys are freed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class Desilo:
    def __init__(self, cfg, threads):
        import desilofhe as d

        self.d = d
        n = 1 << cfg["log_n"]
        self.slots = n // 2
        self.level = cfg["levels"]
        self.mode = "cpu" if threads == 1 else "parallel"
        self.preset = None
        for max_level in range(cfg["levels"], 40):
            eng = d.Engine(max_level=max_level, mode=self.mode, thread_count=threads)
            if eng.slot_count == self.slots:
                self.preset = max_level
                self.e = eng
                break
            too_big = eng.slot_count > self.slots
            del eng
            if too_big:
                break
        if self.preset is None:
            raise RuntimeError(f"no DESILO preset with N = {n} and max_level >= {cfg['levels']}")
        self.reasons = {
            "mul_plain": "multiply(ct, pt) always rescales: see mul_plain_rescale",
            "mul_relin": "multiply(ct, ct, relin key) always rescales: see mul_relin_rescale",
            "rescale": "rescaling happens inside multiply; Engine.rescale on a rescaled ciphertext is a no-op",
        }
        self.notes = {
            "mul_relin_rescale": "multiply(ct, ct, relinearization key): multiply + relinearise + rescale in one call",
            "rotate_1": "rotate with a FixedRotationKey for the step",
            "rotate_5": "rotate with a FixedRotationKey for the step",
            "hoisted_rotate_8": "rotate_many with 8 FixedRotationKeys (DESILO's multi-rotation API; "
            "whether it hoists internally is not documented)",
            "keygen_rot": "create_fixed_rotation_key (one step) at the working level",
        }
        self.mul_plain = None
        self.mul_relin = None
        self.rescale = None

    def prep(self, v):
        return v

    def keygen_sk_pk(self):
        sk = self.e.create_secret_key()
        return sk, self.e.create_public_key(sk, self.level)

    def fresh_sk(self):
        return self.e.create_secret_key()

    def keygen_relin(self, sk):
        return self.e.create_relinearization_key(sk, self.level)

    def keygen_rot(self, sk):
        return self.e.create_fixed_rotation_key(sk, 1, self.level)

    def keygen_total(self, steps):
        self.sk, self.pk = self.keygen_sk_pk()
        self.rk = self.e.create_relinearization_key(self.sk, self.level)
        self.rot = {k: self.e.create_fixed_rotation_key(self.sk, k, self.level) for k in steps}

    def encode(self, v):
        return self.e.encode(v, self.level)

    def encode_encrypt(self, v):
        return self.e.encrypt(self.e.encode(v, self.level), self.pk)

    def decrypt(self, ct):
        return self.e.decrypt(ct, self.sk)

    def add(self, a, b):
        return self.e.add(a, b)

    def mul_relin_rescale(self, a, b):
        return self.e.multiply(a, b, self.rk)

    def mul_plain_rescale(self, ct, pt):
        return self.e.multiply(ct, pt)

    def rotate(self, ct, k):
        return self.e.rotate(ct, self.rot[k])

    def hoisted(self, ct, steps):
        return self.e.rotate_many(ct, [self.rot[k] for k in steps])


class DesiloBoot:
    """Full-slot bootstrapping on DESILO's bootstrapping preset, as in its documentation.

    Engine(bootstrap=True) is a fixed N = 2^16 preset; `bootstrap(ct, relinearization key,
    conjugation key, bootstrap key)` with the default ("medium") bootstrap key, which holds
    every rotation key bootstrapping uses (the "small" key with a rotation key saves memory
    and is slower). Inputs are encrypted at level 0, as the documentation does; the preset's
    primes, secret distribution and security are not exposed.
    """

    KEY_SIZE = "medium"

    def __init__(self, threads, mode):
        import desilofhe as d

        self.e = d.Engine(mode=mode, bootstrap=True, thread_count=threads)
        self.slots = self.e.slot_count
        self.complex_slots = True
        self.input_level = 0
        self.circuit_levels = None
        self.setup = None  # the engine encodes what it needs when created or with the keys
        self.sk = self.e.create_secret_key()
        self.pk = self.e.create_public_key(self.sk)
        self.parameters = (
            f"Engine(bootstrap=True, mode={mode!r}, thread_count={threads}): N = {2 * self.slots}, "
            f"max level {self.e.max_level}; bootstrap key size {self.KEY_SIZE!r}, complex slots; "
            "primes, secret distribution and security not exposed"
        )

    def keygen(self):
        self.rk = self.e.create_relinearization_key(self.sk)
        self.ck = self.e.create_conjugation_key(self.sk)
        self.bk = self.e.create_bootstrap_key(self.sk, self.KEY_SIZE)

    def key_facts(self):
        # The bootstrap key bundles its rotation keys: their count is not exposed.
        return None, self.rk.nbytes + self.ck.nbytes + self.bk.nbytes

    def encrypt(self, values):
        return self.e.encrypt(values, self.pk, self.input_level)

    def bootstrap(self, ct):
        return self.e.bootstrap(ct, self.rk, self.ck, self.bk)

    def decrypt(self, ct):
        return self.e.decrypt(ct, self.sk)

    def levels_left(self, ct):
        return ct.level  # DESILO's level is the number of multiplications left


def primitives(res, res_params, impl, args):
    """Key generation and the standard ops, plus DESILO's mul_plain_rescale."""
    n = 2 * impl.slots
    common.run_keygen(res, impl, args.reps)
    x = common.rand_vec(impl.slots, 0)
    y = common.rand_vec(impl.slots, 1)
    ct = impl.encode_encrypt(x)
    words = ct.nbytes / (2 * 8 * n)
    res_params["limbs"] = round(words)
    res.note(f"ciphertext at level {ct.level}: {ct.nbytes} bytes = {words:.3f} 64-bit words per coefficient "
             f"per polynomial (reported as limbs); prime sizes, scale and special primes not exposed")
    res.note(f"relinearisation key at level {impl.level}: {impl.rk.nbytes / (8 * n):.1f} words per coefficient")
    common.run_ops(res, impl, args.reps, impl.slots)

    def plain_rescale():
        pt = impl.encode(y)
        st, out = common.measure(lambda: impl.mul_plain_rescale(ct, pt), args.reps)
        res.op("mul_plain_rescale", st, common.precision_bits(impl.decrypt(out), x * y),
               "multiply(ct, pt): ct x pt + rescale (DESILO always rescales)")

    res.attempt("mul_plain_rescale", plain_rescale)


def main():
    args = common.parse_args("desilo")
    cfg = common.CONFIGS[args.config]
    from importlib.metadata import version

    impl = Desilo(cfg, args.threads)
    res_params = {
        "log_n": cfg["log_n"],
        "limbs": None,
        "log_q": [],
        "special_primes": None,
        "dnum": None,
        "scale_bits": None,
        "slots": impl.slots,
        "security": "vendor preset: not configurable and not stated by the wheel",
    }
    res = common.Result("desilo", version("desilofhe"), args, res_params, args.threads)
    res.note(f"preset Engine(max_level={impl.preset}, mode={impl.mode!r}, thread_count={args.threads}); "
             f"ciphertexts encrypted and keys generated at level {impl.level}")
    primitives(res, res_params, impl, args)
    if args.bootstrap:
        mode = impl.mode
        del impl  # free the primitives' engine and keys before the bootstrapping keys (about 16 GB)
        res.attempt("bootstrap", lambda: common.run_bootstrap(res, DesiloBoot(args.threads, mode), args.bootstrap_reps))
    res.write()


if __name__ == "__main__":
    main()
