"""Shared helpers for the peer CKKS benchmark scripts.

Every `<library>_ops.py` script imports this module (it sits beside them) and
writes one JSON file in the schema documented in README.md. Runs under the
Python 3.10 venv (OpenFHE) and the Python 3.11 venv (the others), so only the
standard library and numpy are used here.
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import sys
import time

# Target parameters of each configuration. `scale_bits` is also the size of
# every prime after the first; `first_bits` is the base prime (q_0); the
# special primes used by OpenFHE / Lattigo for hybrid key switching are 60 bits.
CONFIGS = {
    "n16": {
        "log_n": 16,
        "first_bits": 60,
        "scale_bits": 50,
        "levels": 12,  # 13 limbs = 1 base prime + 12 scaling primes
        "dnum": 3,
        "special_bits": 60,
    },
    "n14": {
        "log_n": 14,
        "first_bits": 60,
        "scale_bits": 40,
        "levels": 5,  # 6 limbs = 1 base prime + 5 scaling primes
        "dnum": 3,
        "special_bits": 60,
    },
}

# Every op a peer script may report, in display order (compare.py uses it too).
OPS = [
    "encode_encrypt",
    "decrypt_decode",
    "add",
    "mul_plain",
    "mul_relin",
    "rescale",
    "mul_relin_rescale",
    "rotate_1",
    "rotate_5",
    "hoisted_rotate_8",
    "keygen_sk_pk",
    "keygen_relin",
    "keygen_rot",
    "keygen_total",
    "bootstrap",
]

SEED = 20261118


def parse_args(library):
    ap = argparse.ArgumentParser(description=f"CKKS primitive timings for {library}")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="n16")
    ap.add_argument("--threads", type=int, default=1, help="thread count to request (>= 1)")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per op (median reported)")
    ap.add_argument("--out", required=True, help="results directory")
    ap.add_argument("--bootstrap", action="store_true",
                    help="also time full-slot bootstrapping (n16 only; several GiB of keys, minutes)")
    ap.add_argument("--bootstrap-reps", type=int, default=3, help="timed bootstrapping repetitions")
    args = ap.parse_args()
    if args.reps < 1 or args.threads < 1 or args.bootstrap_reps < 1:
        ap.error("--reps, --threads and --bootstrap-reps must be >= 1")
    if args.bootstrap and args.config != "n16":
        ap.error("--bootstrap needs --config n16 (full-slot bootstrapping at N = 2^16)")
    return args


def limb_bits(cfg):
    return [cfg["first_bits"]] + [cfg["scale_bits"]] * cfg["levels"]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def precision_bits(got, want):
    """-log2 of the max abs error between two equal-length vectors (capped at 60)."""
    import numpy as np

    got = np.asarray(got, dtype=np.float64)[: len(want)]
    err = float(np.max(np.abs(got - np.asarray(want, dtype=np.float64))))
    if err == 0.0:
        return 60.0
    return round(min(60.0, -math.log2(err)), 2)


def rand_vec(n, seed_offset=0):
    import numpy as np

    rng = np.random.default_rng(SEED + seed_offset)
    return rng.uniform(-1.0, 1.0, n)


def measure(fn, reps, warmup=1, setup=None):
    """Run fn `warmup` times untimed, then `reps` times timed; return (stats, last result).

    With `setup`, each call is fn(setup()) and only fn is timed (setup gives a fresh
    input, e.g. a new secret key, so that a library cannot skip work it has cached).
    """
    out = None
    for _ in range(warmup):
        out = fn(setup()) if setup else fn()
    times = []
    for _ in range(reps):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        out = fn(arg) if setup else fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return stats_from(times), out


def stats_from(times_ms):
    return {
        "median_ms": round(statistics.median(times_ms), 4),
        "min_ms": round(min(times_ms), 4),
        "reps": len(times_ms),
    }


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Result:
    """Accumulates one library's results and writes the JSON file."""

    def __init__(self, library, version, args, params, threads_used):
        self.library = library
        self.config = args.config
        self.out_dir = args.out
        self.doc = {
            "library": library,
            "version": version,
            "config": args.config,
            "params": params,
            "threads": threads_used,
            "reps": args.reps,
            "machine": {"cpu": cpu_name(), "threads": os.cpu_count()},
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ops": {},
            "unavailable": {},
            "notes": [],
        }

    def op(self, name, stats, precision=None, note=None):
        entry = dict(stats)
        entry["precision_bits"] = precision
        entry["note"] = note
        self.doc["ops"][name] = entry
        p = "" if precision is None else f"  {precision:.1f} bits"
        log(f"  {self.library:8s} {name:20s} {entry['median_ms']:10.3f} ms{p}")

    def unavailable(self, name, reason):
        self.doc["unavailable"][name] = reason
        log(f"  {self.library:8s} {name:20s} unavailable: {reason}")

    def note(self, text):
        self.doc["notes"].append(text)

    def attempt(self, name, fn):
        """Run fn() (which records the op itself); on error record the op as unavailable."""
        try:
            fn()
        except Exception as e:  # keep going: one failing op must not lose the others
            self.unavailable(name, f"failed: {type(e).__name__}: {e}")

    def write(self):
        os.makedirs(self.out_dir, exist_ok=True)
        path = os.path.join(self.out_dir, f"{self.library}-{self.config}.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        log(f"wrote {path}")
        return path


ROT_STEPS = [1, 2, 3, 4, 5, 6, 7, 8]


def run_ops(res, impl, reps, slots):
    """Time the standard op list on `impl` and record it in `res`.

    `impl` provides (any may be None, then `impl.reasons[op]` says why):
      prep(vec) -> input in the library's preferred form (list / ndarray)
      encode_encrypt(inp) -> ct          decrypt(ct) -> sequence of floats
      encode(inp) -> pt                   add(a, b) -> ct
      mul_plain(ct, pt) -> ct             mul_relin(a, b) -> ct (degree 1, not rescaled)
      rescale(ct) -> ct                   mul_relin_rescale(a, b) -> ct
      rotate(ct, k) -> ct (left by k)     hoisted(ct, steps) -> [ct per step]
    and `impl.notes` (op -> note). Keys must already exist (see run_keygen).
    """
    import numpy as np

    def has(op, attr=None):
        if getattr(impl, attr or op, None) is None:
            res.unavailable(op, impl.reasons.get(op, "not exposed by the library's Python API"))
            return False
        return True

    notes = impl.notes
    x = rand_vec(slots, 0)
    y = rand_vec(slots, 1)
    xin, yin = impl.prep(x), impl.prep(y)

    ct = cy = None
    if has("encode_encrypt"):
        st, ct = measure(lambda: impl.encode_encrypt(xin), reps)
        res.op("encode_encrypt", st, precision_bits(impl.decrypt(ct), x), notes.get("encode_encrypt"))
        cy = impl.encode_encrypt(yin)
    if ct is None:
        return
    if has("decrypt_decode", "decrypt"):
        st, dec = measure(lambda: impl.decrypt(ct), reps)
        res.op("decrypt_decode", st, precision_bits(dec, x), notes.get("decrypt_decode"))

    def timed(op, fn, want=None):
        if not has(op, {"hoisted_rotate_8": "hoisted", "rotate_1": "rotate", "rotate_5": "rotate"}.get(op)):
            return None

        def body():
            st, out = measure(fn, reps)
            prec = None
            if want is not None:
                if isinstance(out, list):
                    prec = min(precision_bits(impl.decrypt(o), w) for o, w in zip(out, want))
                else:
                    prec = precision_bits(impl.decrypt(out), want)
            res.op(op, st, prec, notes.get(op))
            body.out = out

        body.out = None
        res.attempt(op, body)
        return body.out

    timed("add", lambda: impl.add(ct, cy), x + y)
    if getattr(impl, "mul_plain", None) is not None:
        pty = impl.encode(yin)
        timed("mul_plain", lambda: impl.mul_plain(ct, pty), x * y)
    else:
        has("mul_plain")
    prod = timed("mul_relin", lambda: impl.mul_relin(ct, cy))
    if prod is not None:
        timed("rescale", lambda: impl.rescale(prod), x * y)
    else:
        has("rescale")
    timed("mul_relin_rescale", lambda: impl.mul_relin_rescale(ct, cy), x * y)
    timed("rotate_1", lambda: impl.rotate(ct, 1), np.roll(x, -1))
    timed("rotate_5", lambda: impl.rotate(ct, 5), np.roll(x, -5))
    timed("hoisted_rotate_8", lambda: impl.hoisted(ct, ROT_STEPS), [np.roll(x, -k) for k in ROT_STEPS])
    return x, y, ct, cy


def run_keygen(res, impl, reps):
    """Time key generation, then install the key set used by run_ops.

    `impl` provides keygen_sk_pk() (secret + public key), fresh_sk() (an untimed new
    secret key), keygen_relin(sk), keygen_rot(sk) (one rotation key, step 1),
    optional clear_keys(), and keygen_total(steps), which generates and keeps the
    secret, public, relinearisation and rotation keys (steps 1..8) used afterwards.
    """
    notes = impl.notes
    for op, fn, setup in (
        ("keygen_sk_pk", impl.keygen_sk_pk, None),
        ("keygen_relin", impl.keygen_relin, impl.fresh_sk),
        ("keygen_rot", impl.keygen_rot, impl.fresh_sk),
    ):
        if fn is None:
            res.unavailable(op, impl.reasons.get(op, "not exposed by the library's Python API"))
            continue
        res.attempt(op, lambda: res.op(op, measure(fn, reps, setup=setup)[0], None, notes.get(op)))
    if getattr(impl, "clear_keys", None):
        impl.clear_keys()
    t0 = time.perf_counter()
    impl.keygen_total(ROT_STEPS)
    total = (time.perf_counter() - t0) * 1e3
    res.op(
        "keygen_total",
        stats_from([total]),
        None,
        notes.get(
            "keygen_total",
            "measured once: secret + public + relinearisation keys + rotation keys for steps 1..8",
        ),
    )


def precision_of(want, got):
    """(mean bits, worst-slot bits) of `got` against `want`, as the native engine's `Precision::of`:
    -log2 of the mean and of the largest absolute error over the slots (complex modulus)."""
    import numpy as np

    err = np.abs(np.asarray(got, dtype=np.complex128)[: len(want)] - want)
    return -math.log2(float(err.mean())), -math.log2(float(err.max()))


def run_bootstrap(res, impl, reps):
    """Time full-slot bootstrapping on `impl`; record the op `bootstrap` and the `bootstrap` object.

    Mirrors `blindtuner bench ops --bootstrap`: the bootstrapping keys are generated once
    (timed), then reps + 1 runs each bootstrap a fresh encryption of fresh values uniform in
    [-1, 1] (+ i [-1, 1] with `impl.complex_slots`) at `impl.input_level`. The first run is
    untimed; every run counts for precision: the mean bits are averaged over the runs, the
    worst slot is that of any run, and `precision_bits` of the op is the worst slot.

    `impl` provides: slots, complex_slots, input_level (in the library's own numbering),
    parameters (text), circuit_levels ([CoeffsToSlots, EvalMod, SlotsToCoeffs] levels, or None),
    setup (None, or a callable that precomputes what does not depend on the keys: the encoded
    linear transforms), keygen() (every key bootstrapping needs beyond the secret and public
    keys), key_facts() -> (Galois key count, key bytes; None where the library does not expose
    it), encrypt(values) -> ct at input_level, bootstrap(ct) -> ct, decrypt(ct) -> slot values,
    levels_left(ct) -> multiplications left.
    """
    import numpy as np

    setup_ms = None
    if impl.setup is not None:
        t0 = time.perf_counter()
        impl.setup()
        setup_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    impl.keygen()
    keygen_ms = (time.perf_counter() - t0) * 1e3
    galois_keys, key_bytes = impl.key_facts()
    log(f"  {res.library:8s} bootstrapping keys in {keygen_ms / 1e3:.1f} s")
    times, means, worst, levels_left = [], [], math.inf, None
    for rep in range(reps + 1):
        rng = np.random.default_rng(SEED + 100 + rep)
        values = rng.uniform(-1.0, 1.0, impl.slots)
        if impl.complex_slots:
            values = values + 1j * rng.uniform(-1.0, 1.0, impl.slots)
        ct = impl.encrypt(values)
        t0 = time.perf_counter()
        out = impl.bootstrap(ct)
        elapsed = (time.perf_counter() - t0) * 1e3
        if rep > 0:
            times.append(elapsed)
        mean_bits, worst_bits = precision_of(values, impl.decrypt(out))
        means.append(mean_bits)
        worst = min(worst, worst_bits)
        levels_left = impl.levels_left(out)
        log(f"  {res.library:8s} bootstrap run {rep}{' (untimed)' if rep == 0 else ''}: {elapsed / 1e3:.2f} s, "
            f"{mean_bits:.1f} bits mean, {worst_bits:.1f} worst slot, {levels_left} levels left")
    st = stats_from(times)
    kind = "complex" if impl.complex_slots else "real"
    res.op("bootstrap", st, round(worst, 2),
           f"full slots, {kind} values uniform in [-1, 1], encrypted at the lowest level the library "
           f"bootstraps from (its level {impl.input_level}); precision of the worst slot (the mean is in `bootstrap`)")
    res.doc["bootstrap"] = {
        "parameters": impl.parameters,
        "slots": impl.slots,
        "complex_slots": impl.complex_slots,
        "input_level": impl.input_level,
        "levels_left": levels_left,
        "circuit_levels": impl.circuit_levels,
        **st,
        "precision_mean_bits": round(statistics.fmean(means), 2),
        "precision_worst_slot_bits": round(worst, 2),
        "keygen_ms": round(keygen_ms, 1),
        "galois_keys": galois_keys,
        "key_bytes": key_bytes,
        "transform_encoding_ms": None if setup_ms is None else round(setup_ms, 1),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
