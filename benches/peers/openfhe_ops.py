"""CKKS primitive timings for OpenFHE through its Python wheel (openfhe 1.6.1, CPython 3.10).

Parameters: ring dimension 2^log_n, full slots, FIXEDMANUAL rescaling (so
rescale can be timed on its own), a 60-bit first prime and scaling primes of
`scale_bits`, hybrid key switching with 3 digits (OpenFHE picks the special
primes), uniform ternary secret, HEStd_128_classic (OpenFHE enforces it).

With --bootstrap, also full-slot bootstrapping at N = 2^16 in a context of its
own (see OpenFHEBoot): sparse-secret encapsulation, level budget [3, 3],
FLEXIBLEAUTO with 59-bit scaling primes, complex slots, and as many levels
after bootstrapping as OpenFHE's 128-bit check allows.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class OpenFHE:
    def __init__(self, cfg, threads):
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import openfhe as o

        self.o = o
        n = 1 << cfg["log_n"]
        self.slots = n // 2
        p = o.CCParamsCKKSRNS()
        p.SetRingDim(n)
        p.SetBatchSize(self.slots)
        p.SetMultiplicativeDepth(cfg["levels"])
        p.SetFirstModSize(cfg["first_bits"])
        p.SetScalingModSize(cfg["scale_bits"])
        p.SetScalingTechnique(o.FIXEDMANUAL)
        p.SetKeySwitchTechnique(o.HYBRID)
        p.SetNumLargeDigits(cfg["dnum"])
        p.SetSecurityLevel(o.HEStd_128_classic)
        p.SetSecretKeyDist(o.UNIFORM_TERNARY)
        cc = o.GenCryptoContext(p)
        for feature in (o.PKE, o.KEYSWITCH, o.LEVELEDSHE):
            cc.Enable(feature)
        self.cc = cc
        if cc.GetRingDimension() != n:
            raise RuntimeError(f"OpenFHE chose ring dimension {cc.GetRingDimension()}, wanted {n}")
        self.m = cc.GetCyclotomicOrder()
        self.log_q_total = math.log2(cc.GetModulus())
        self.kp = None
        self.reasons = {}
        self.notes = {
            "mul_relin": "EvalMult (relinearises with the EvalMult key)",
            "rescale": "Rescale (FIXEDMANUAL)",
            "hoisted_rotate_8": "EvalFastRotationPrecompute once + 8 x EvalFastRotation (time includes the precompute)",
            "keygen_rot": "EvalRotateKeyGen for one index with a fresh secret key",
        }

    # inputs / keys
    def prep(self, v):
        return v.tolist()

    def keygen_sk_pk(self):
        return self.cc.KeyGen()

    def fresh_sk(self):
        return self.cc.KeyGen().secretKey

    def keygen_relin(self, sk):
        self.cc.EvalMultKeyGen(sk)

    def keygen_rot(self, sk):
        self.cc.EvalRotateKeyGen(sk, [1])

    def clear_keys(self):
        self.o.ClearEvalMultKeys()
        self.cc.ClearEvalAutomorphismKeys()

    def keygen_total(self, steps):
        self.kp = self.cc.KeyGen()
        self.cc.EvalMultKeyGen(self.kp.secretKey)
        self.cc.EvalRotateKeyGen(self.kp.secretKey, list(steps))

    # ops
    def encode(self, v):
        return self.cc.MakeCKKSPackedPlaintext(v)

    def encode_encrypt(self, v):
        return self.cc.Encrypt(self.kp.publicKey, self.cc.MakeCKKSPackedPlaintext(v))

    def decrypt(self, ct):
        pt = self.cc.Decrypt(self.kp.secretKey, ct)
        pt.SetLength(self.slots)
        return pt.GetRealPackedValue()

    def add(self, a, b):
        return self.cc.EvalAdd(a, b)

    def mul_plain(self, ct, pt):
        return self.cc.EvalMult(ct, pt)

    def mul_relin(self, a, b):
        return self.cc.EvalMult(a, b)

    def rescale(self, ct):
        return self.cc.Rescale(ct)

    def mul_relin_rescale(self, a, b):
        return self.cc.Rescale(self.cc.EvalMult(a, b))

    def rotate(self, ct, k):
        return self.cc.EvalRotate(ct, k)

    def hoisted(self, ct, steps):
        pre = self.cc.EvalFastRotationPrecompute(ct)
        return [self.cc.EvalFastRotation(ct, k, self.m, pre) for k in steps]


class OpenFHEBoot:
    """Full-slot CKKS bootstrapping as in OpenFHE's own examples (simple-ckks-bootstrapping).

    SPARSE_ENCAPSULATED: a uniform ternary secret, with the ModRaise done under a sparse
    ephemeral secret (OpenFHE's sparse-secret encapsulation). FLEXIBLEAUTO rescaling, a 60-bit
    first prime and 59-bit scaling primes (OpenFHE's 64-bit bootstrapping refuses a first
    prime much larger than the scale), hybrid key switching with BOOT_DNUM digits. The depth
    is GetBootstrapDepth(level budget) plus the largest number of levels after bootstrapping
    that OpenFHE's HEStd_128_classic check accepts at this ring dimension.
    """

    LEVEL_BUDGET = [3, 3]
    # As the native engine's boot-n16. Under the 128-bit check, 3 digits leave 4 levels after
    # bootstrapping, 4 digits 6, 6 digits 7 (with larger keys).
    BOOT_DNUM = 4
    SCALE_BITS = 59
    FIRST_BITS = 60
    MAX_LEVELS_AFTER = 20  # start of the search; 128-bit security stops it far below

    def __init__(self, cfg):
        import openfhe as o

        n = 1 << cfg["log_n"]
        self.slots = n // 2
        self.complex_slots = True
        dist = o.SPARSE_ENCAPSULATED
        self.boot_depth = o.CryptoContext.GetBootstrapDepth(self.LEVEL_BUDGET, dist)
        for after in range(self.MAX_LEVELS_AFTER, 0, -1):
            p = o.CCParamsCKKSRNS()
            p.SetRingDim(n)
            p.SetBatchSize(self.slots)
            p.SetCKKSDataType(o.COMPLEX)
            p.SetSecretKeyDist(dist)
            p.SetSecurityLevel(o.HEStd_128_classic)
            p.SetScalingTechnique(o.FLEXIBLEAUTO)
            p.SetFirstModSize(self.FIRST_BITS)
            p.SetScalingModSize(self.SCALE_BITS)
            p.SetKeySwitchTechnique(o.HYBRID)
            p.SetNumLargeDigits(self.BOOT_DNUM)
            p.SetMultiplicativeDepth(self.boot_depth + after)
            try:
                self.cc = o.GenCryptoContext(p)
                break
            except RuntimeError as e:
                if "does not comply with HE standards" not in str(e):
                    raise
        else:
            raise RuntimeError(f"no bootstrapping depth passes HEStd_128_classic at N = {n}")
        self.depth = self.boot_depth + after
        for feature in (o.PKE, o.KEYSWITCH, o.LEVELEDSHE, o.ADVANCEDSHE, o.FHE):
            self.cc.Enable(feature)
        self.kp = self.cc.KeyGen()
        # The lowest level OpenFHE bootstraps from: FLEXIBLEAUTO keeps one prime above q_0
        # (at level = depth the first rescale fails), as its examples encrypt at depth - 1.
        self.input_level = self.depth - 1
        self.circuit_levels = None
        log_q = math.log2(self.cc.GetElementParams().GetModulus())
        self.parameters = (
            f"N = 2^{cfg['log_n']}, SPARSE_ENCAPSULATED (uniform ternary secret, sparse ephemeral "
            f"secret for ModRaise), level budget {self.LEVEL_BUDGET}, bootstrapping depth "
            f"{self.boot_depth} + {after} levels after = depth {self.depth}, FLEXIBLEAUTO, "
            f"{self.FIRST_BITS}-bit first prime, {self.SCALE_BITS}-bit scaling primes (log2 Q = {log_q:.0f}), "
            f"HYBRID with {self.BOOT_DNUM} digits, HEStd_128_classic, CKKSDataType COMPLEX; inputs at level "
            f"{self.input_level} (OpenFHE counts levels used: q_0 and one more prime left)"
        )

    def setup(self):
        self.cc.EvalBootstrapSetup(self.LEVEL_BUDGET, [0, 0], self.slots)

    def keygen(self):
        self.cc.EvalMultKeyGen(self.kp.secretKey)
        self.cc.EvalBootstrapKeyGen(self.kp.secretKey, self.slots)

    def key_facts(self):
        # Key sizes are not exposed (serialising gigabytes only to count them is not worth it).
        return len(self.cc.GetExistingEvalAutomorphismKeyIndices(self.kp.secretKey.GetKeyTag())), None

    def encrypt(self, values):
        pt = self.cc.MakeCKKSPackedPlaintext(values, 1, self.input_level, None, self.slots)
        return self.cc.Encrypt(self.kp.publicKey, pt)

    def bootstrap(self, ct):
        return self.cc.EvalBootstrap(ct)

    def decrypt(self, ct):
        pt = self.cc.Decrypt(self.kp.secretKey, ct)
        pt.SetLength(self.slots)
        return pt.GetCKKSPackedValueArray()

    def levels_left(self, ct):
        # OpenFHE's examples: depth - level, less the rescale FLEXIBLEAUTO still owes (noise degree 2).
        return self.depth - ct.GetLevel() - (ct.GetNoiseScaleDeg() - 1)


def special_primes_estimate(cfg):
    # OpenFHE (HYBRID): digits of ceil(limbs / dnum) primes; P is made of 60-bit primes
    # covering the largest digit: ceil(bits of the largest digit / 60).
    bits = common.limb_bits(cfg)
    per = math.ceil(len(bits) / cfg["dnum"])
    largest = max(sum(bits[i : i + per]) for i in range(0, len(bits), per))
    return math.ceil(largest / 60)


def main():
    args = common.parse_args("openfhe")
    cfg = common.CONFIGS[args.config]
    from importlib.metadata import version

    impl = OpenFHE(cfg, args.threads)
    sp = special_primes_estimate(cfg)
    params = {
        "log_n": cfg["log_n"],
        "limbs": cfg["levels"] + 1,
        "log_q": common.limb_bits(cfg),
        "special_primes": sp,
        "dnum": cfg["dnum"],
        "scale_bits": cfg["scale_bits"],
        "slots": impl.slots,
        "security": "HEStd_128_classic (enforced by OpenFHE), uniform ternary secret",
    }
    res = common.Result("openfhe", version("openfhe"), args, params, args.threads)
    res.note(f"measured log2(Q) = {impl.log_q_total:.1f}; special primes not exposed by the Python API, "
             f"{sp} is OpenFHE's rule (60-bit primes covering the largest digit)")
    res.note(f"threads via OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    res.note("scaling technique FIXEDMANUAL (explicit Rescale)")
    common.run_keygen(res, impl, args.reps)
    common.run_ops(res, impl, args.reps, impl.slots)
    if args.bootstrap:
        impl.clear_keys()
        res.attempt("bootstrap", lambda: common.run_bootstrap(res, OpenFHEBoot(cfg), args.bootstrap_reps))
    res.write()


if __name__ == "__main__":
    main()
