"""CKKS timings for Lattigo v6 through orion-v2-lattigo (+ orion-v2-evaluator).

What the wheels expose:
  * `lattigo` (orion-v2-lattigo 6.2.4): CKKS parameters, encoder, key generator
    (secret, public, relinearisation, Galois keys), public-key encryptor,
    decryptor. No evaluator: no add, multiply, rescale or rotate call.
  * `orion_evaluator` (orion-v2-evaluator 2.1.8): runs a compiled ".orion v2"
    model graph whose nodes are flatten / quad / add / mult / linear_transform /
    polynomial / bootstrap, taking and returning serialised ciphertexts.

So key generation, encode+encrypt and decrypt+decode are timed directly, and
two ops are estimated through tiny hand-built graphs (the container format is
magic "ORION\\0\\2\\0", u32 header length, JSON header, u32 blob count, then
u64-length-prefixed blobs): the time of a graph minus the time of an empty graph
(input returned as is) run just before it, over at least GRAPH_MIN_PAIRS pairs,
which removes ciphertext (de)serialisation and the cgo crossing:
  * mul_relin_rescale: one `quad` node (MulRelinNew(ct, ct) + Rescale: a squaring);
  * lt_rotate_1 (extra op, an upper bound for a rotation): a `linear_transform`
    with one diagonal at index 1, i.e. encode the diagonal + rotate by 1 +
    ct x pt + rescale.
`add` is not estimated: one addition is far below the noise of the graph's
own overhead. Everything else is reported as unavailable. Bootstrapping keys are never made.
Parameters: logQ = the configuration's primes, logP = ceil(limbs / 3) primes of
60 bits (so Lattigo forms 3 key-switching digits), sparse ternary secret with
Hamming weight 192: the orion wrapper always builds Ternary{H: h} and the
evaluator refuses h = 0, so Lattigo's dense default (Ternary{P: 2/3}) cannot be
chosen; 192 is Lattigo's default for its bootstrapping parameters. Lattigo
does not enforce a security level.
"""

import json
import math
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

GRAPH_MIN_PAIRS = 9  # graph estimates are noisy (Go GC, serialisation): at least this many pairs
NO_EVAL = ("orion-v2-lattigo exposes no evaluator and orion-v2-evaluator runs only model graphs "
           "(flatten, quad, add, mult, linear_transform, polynomial, bootstrap)")


class Lattigo:
    def __init__(self, cfg):
        from lattigo import ckks, rlwe

        self.ckks, self.rlwe = ckks, rlwe
        self.logq = common.limb_bits(cfg)
        self.logp = [cfg["special_bits"]] * math.ceil(len(self.logq) / cfg["dnum"])
        self.logn = cfg["log_n"]
        self.scale_bits = cfg["scale_bits"]
        self.h = 192
        self.P = ckks.Parameters(self.logn, self.logq, self.logp, self.scale_bits, "standard", h=self.h)
        self.slots = self.P.max_slots()
        self.level = self.P.max_level()
        self.scale = self.P.default_scale()
        self.enc = ckks.Encoder(self.P)
        self.kg = rlwe.KeyGenerator(self.P)
        self.gal1 = self.P.galois_element(1)
        self.reasons = {op: NO_EVAL for op in ("mul_plain", "mul_relin", "rescale", "hoisted_rotate_8")}
        self.reasons["rotate_1"] = NO_EVAL + "; no plain rotation node (see lt_rotate_1, an upper bound)"
        self.reasons["rotate_5"] = self.reasons["rotate_1"]
        self.reasons["mul_relin_rescale"] = "no direct call: estimated through an orion graph"
        self.reasons["add"] = (NO_EVAL + "; an add-node graph was tried, but one add is far below the noise of "
                               "the graph's own overhead (tens of ms at N = 2^16: serialisation, Go GC)")
        self.notes = {
            "keygen_rot": "gen_galois_key for the step-1 Galois element",
        }

    def prep(self, v):
        return v.tolist()

    def keygen_sk_pk(self):
        sk = self.kg.gen_secret_key()
        return sk, self.kg.gen_public_key(sk)

    def fresh_sk(self):
        return self.kg.gen_secret_key()

    def keygen_relin(self, sk):
        return self.kg.gen_relin_key(sk)

    def keygen_rot(self, sk):
        return self.kg.gen_galois_key(sk, self.gal1)

    def keygen_total(self, steps):
        self.sk, self.pk = self.keygen_sk_pk()
        self.rlk = self.kg.gen_relin_key(self.sk)
        self.gks = {k: self.kg.gen_galois_key(self.sk, self.P.galois_element(k)) for k in steps}
        self.encryptor = self.rlwe.Encryptor(self.P, self.pk)
        self.decryptor = self.rlwe.Decryptor(self.P, self.sk)

    def encode_encrypt(self, v):
        return self.encryptor.encrypt_new(self.enc.encode(v, self.level, self.scale))

    def decrypt(self, ct):
        if isinstance(ct, (bytes, bytearray)):
            ct = self.rlwe.Ciphertext.unmarshal_binary(bytes(ct))
        return self.enc.decode(self.decryptor.decrypt_new(ct), self.slots)

    # every evaluation op goes through graphs (see graph_ops)
    add = mul_plain = mul_relin = rescale = mul_relin_rescale = rotate = hoisted = None

    # ---- hand-built .orion v2 graphs ----
    def model(self, nodes, edges, out, blobs=()):
        from orion_evaluator import Model

        header = {
            "version": 2,
            "params": {"logn": self.logn, "logq": self.logq, "logp": self.logp,
                       "log_default_scale": self.scale_bits, "h": self.h,
                       "ring_type": "standard", "boot_logp": []},
            "config": {"margin": 1, "embedding_method": "hybrid", "fuse_modules": False},
            "manifest": {"galois_elements": [self.gal1], "bootstrap_slots": [], "boot_logp": [],
                         "needs_rlk": True},
            "input_level": self.level,
            "cost": {"bootstrap_count": 0, "galois_key_count": 1, "bootstrap_key_count": 0},
            "graph": {"input": "x", "output": out, "nodes": nodes, "edges": edges},
            "blob_count": len(blobs),
        }
        h = json.dumps(header).encode()
        data = bytearray(b"ORION\x00\x02\x00" + struct.pack("<I", len(h)) + h)
        data += struct.pack("<I", len(blobs))
        for b in blobs:
            data += struct.pack("<Q", len(b)) + b
        return Model.load(bytes(data))

    def node(self, name, op, depth=0, config=None, blob_refs=None):
        return {"name": name, "op": op, "level": self.level, "depth": depth, "shape": {},
                "config": config or {}, "blob_refs": blob_refs or {}}


def graph_ops(res, impl, reps):
    import numpy as np
    from orion_evaluator import Evaluator

    x = common.rand_vec(impl.slots, 0)
    ctb = impl.encode_encrypt(x.tolist()).marshal_binary()
    x_node = impl.node("x", "flatten")
    empty = impl.model([x_node], [], "x")
    quad = impl.model([x_node, impl.node("q", "quad", depth=1)], [{"src": "x", "dst": "q"}], "q")
    diag = struct.pack("<I", 1) + struct.pack("<i", 1) + np.ones(impl.slots, dtype="<f8").tobytes()
    lt_cfg = {"bsgs_ratio": 2.0, "output_rotations": 0, "num_input_cts": 1, "num_output_cts": 1}
    rot = impl.model([x_node, impl.node("r", "linear_transform", 1, lt_cfg, {"diag_0_0": 0})],
                     [{"src": "x", "dst": "r"}], "r", [diag])
    keys = impl.rlwe.MemEvaluationKeySet(impl.rlk, [impl.gks[1]]).marshal_binary()
    params = {"logn": impl.logn, "logq": impl.logq, "logp": impl.logp,
              "log_default_scale": impl.scale_bits, "h": impl.h, "ring_type": "standard"}
    ev = Evaluator(params, keys)
    del keys
    pairs = max(reps, GRAPH_MIN_PAIRS)
    base_all = []

    def paired(model):
        """Alternate empty-graph and model forwards; return per-pair differences and the output."""
        ev.forward(empty, [ctb])  # warm-up
        out = ev.forward(model, [ctb])[0]
        diffs = []
        for _ in range(pairs):
            t0 = time.perf_counter()
            ev.forward(empty, [ctb])
            t1 = time.perf_counter()
            out = ev.forward(model, [ctb])[0]
            t2 = time.perf_counter()
            base_all.append((t1 - t0) * 1e3)
            diffs.append(max(0.0, ((t2 - t1) - (t1 - t0)) * 1e3))
        return diffs, out

    def do_quad():
        d, out = paired(quad)
        res.op("mul_relin_rescale", common.stats_from(d), common.precision_bits(impl.decrypt(out), x * x),
               f"estimate: orion graph with one quad node (MulRelinNew(ct, ct) + Rescale, a squaring) minus an "
               f"empty graph, {pairs} alternating pairs; precision vs x*x")

    def do_rot():
        d, out = paired(rot)
        res.op("lt_rotate_1", common.stats_from(d), common.precision_bits(impl.decrypt(out), np.roll(x, -1)),
               "upper bound for rotate_1: orion linear_transform with one diagonal (index 1), i.e. encode the "
               f"diagonal + rotate + ct x pt + rescale, minus an empty graph, {pairs} alternating pairs")

    res.attempt("mul_relin_rescale", do_quad)
    res.attempt("lt_rotate_1", do_rot)
    if base_all:
        b = common.stats_from(base_all)
        res.note(f"graph estimates subtract an empty graph's forward time (ciphertext serialisation + cgo "
                 f"crossing): median {b['median_ms']:.1f} ms, min {b['min_ms']:.1f} ms over {b['reps']} runs")
    ev.close()


def main():
    args = common.parse_args("lattigo")
    cfg = common.CONFIGS[args.config]
    from importlib.metadata import version

    impl = Lattigo(cfg)
    qbits = [q.bit_length() for q in impl.P.moduli_chain()]
    pbits = [p.bit_length() for p in impl.P.aux_moduli_chain()]
    log_qp = math.log2(math.prod(impl.P.moduli_chain()) * math.prod(impl.P.aux_moduli_chain()))
    bound = {14: 438, 15: 881, 16: 1772}.get(cfg["log_n"])
    params = {
        "log_n": cfg["log_n"],
        "limbs": len(qbits),
        "log_q": qbits,
        "special_primes": len(pbits),
        "dnum": math.ceil(len(qbits) / len(pbits)),
        "scale_bits": cfg["scale_bits"],
        "slots": impl.slots,
        "security": f"not enforced by Lattigo; log QP = {log_qp:.0f} <= {bound} (HE-standard 128-bit bound for "
                    f"uniform ternary secrets), but the secret is sparse (Hamming weight {impl.h}), which the "
                    "standard's table does not cover",
    }
    res = common.Result(
        "lattigo",
        f"orion-v2-lattigo {version('orion-v2-lattigo')} + orion-v2-evaluator {version('orion-v2-evaluator')}",
        args, params, args.threads)
    res.note(f"special primes {pbits} bits; Go runtime threads via GOMAXPROCS={os.environ.get('GOMAXPROCS')}")
    common.run_keygen(res, impl, args.reps)
    common.run_ops(res, impl, args.reps, impl.slots)
    # run_ops recorded add / mul_relin_rescale as unavailable (no direct API); graph estimates replace them
    res.doc["unavailable"].pop("mul_relin_rescale", None)
    graph_ops(res, impl, args.reps)
    if args.bootstrap:
        res.unavailable("bootstrap", "not run: a bootstrap node of orion-v2 holds three copies of Lattigo's "
                        "7.6 GiB N = 2^16 key set (shared PEERS.md), beyond a 24 GiB machine")
    res.write()


if __name__ == "__main__":
    main()
