#!/usr/bin/env python3
"""Print Markdown tables comparing the peer CKKS results (and native, when present).

Usage: compare.py [RESULTS_DIR] [--config n16] [--out FILE]

Reads every *.json in RESULTS_DIR (default: target/peers/results of the
repository) in the schema of README.md, groups them by "config", and prints
per configuration: the parameters each library ran at, a table of median
milliseconds (one row per op, one column per library) with the ratio
native / fastest peer when a `native` result exists, a table of measured
precision and, when any result has a `bootstrap` object (run.sh --bootstrap,
blindtuner bench ops --bootstrap), a bootstrapping table. Standard library only.
"""

import argparse
import datetime
import glob
import json
import os
import sys

# Display order; ops not listed here (library-specific extras) follow, sorted.
OPS = [
    "encode_encrypt", "decrypt_decode", "add", "mul_plain", "mul_relin", "rescale",
    "mul_relin_rescale", "rotate_1", "rotate_5", "hoisted_rotate_8",
    "keygen_sk_pk", "keygen_relin", "keygen_rot", "keygen_total", "bootstrap",
]
PEER_ORDER = ["openfhe", "seal", "lattigo", "desilo"]
NATIVE = "native"


def default_dir():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, "target", "peers", "results")


def load(results_dir):
    docs = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        try:
            with open(path) as f:
                d = json.load(f)
            if not isinstance(d, dict) or "library" not in d or "ops" not in d:
                raise ValueError("not a result file (no 'library' / 'ops')")
            d["_path"] = path
            docs.append(d)
        except (OSError, ValueError) as e:
            print(f"warning: skipping {path}: {e}", file=sys.stderr)
    return docs


def fmt_ms(v):
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def val(x):
    return "?" if x is None else str(x)


def is_estimate(entry):
    note = (entry.get("note") or "").lower()
    return note.startswith("estimate") or note.startswith("upper bound")


def order_libs(libs):
    peers = [x for x in PEER_ORDER if x in libs] + sorted(x for x in libs if x not in PEER_ORDER and x != NATIVE)
    return ([NATIVE] if NATIVE in libs else []) + peers


def parse_date(s):
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


def bootstrap_table(libs, by_lib):
    """Lines of the bootstrapping table (from each result's `bootstrap` object), or none."""
    boots = {lib: by_lib[lib]["bootstrap"] for lib in libs if by_lib[lib].get("bootstrap")}
    if not boots:
        return []
    native = boots.get(NATIVE)
    header = ["library", "median (s)", "min (s)", "reps", "mean bits", "worst slot bits", "levels left", "slots",
              "key generation (s)", "Galois keys", "keys (GB)", "peak RSS (GB)", "native / library"]
    lines = ["", "Bootstrapping, full slots, values uniform in [-1, 1] (each JSON's `bootstrap` object); precision: "
             "-log2 of the mean and of the largest absolute error over the slots (the mean averaged over the runs, "
             "the worst slot of any run):", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def num(x, scale, digits):
        return "?" if x is None else f"{x / scale:.{digits}f}"

    for lib, b in boots.items():
        kind = {True: " complex", False: " real"}.get(b.get("complex_slots"), "")
        ratio = "-" if native is None or lib == NATIVE else f"{native['median_ms'] / b['median_ms']:.2f}"
        cells = [lib, num(b.get("median_ms"), 1e3, 2), num(b.get("min_ms"), 1e3, 2), val(b.get("reps")),
                 num(b.get("precision_mean_bits"), 1, 1), num(b.get("precision_worst_slot_bits"), 1, 1),
                 val(b.get("levels_left")), val(b.get("slots")) + kind, num(b.get("keygen_ms"), 1e3, 1),
                 val(b.get("galois_keys")), num(b.get("key_bytes"), 1e9, 2), num(b.get("peak_rss_bytes"), 1e9, 1),
                 ratio]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if native is not None:
        lines.append("Ratio < 1: native bootstraps faster than that library.")
    for lib, b in boots.items():
        lines.append(f"- {lib}: {val(b.get('parameters'))}")
    for lib in libs:
        reason = by_lib[lib].get("unavailable", {}).get("bootstrap")
        if reason:
            lines.append(f"- {lib}: not measured: {reason}")
    return lines


def table(config, docs):
    by_lib = {d["library"]: d for d in docs}
    libs = order_libs(by_lib)
    peers = [x for x in libs if x != NATIVE]
    has_native = NATIVE in by_lib
    lines = [f"## CKKS primitives, config `{config}`", ""]

    # parameters actually used
    lines += ["| library | version | log N | limbs | log q | special primes | dnum | scale bits | slots | threads | reps | security |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for lib in libs:
        d = by_lib[lib]
        p = d.get("params", {})
        logq = p.get("log_q") or []
        logq_s = (f"{logq[0]} + {len(logq) - 1} x {logq[1]}" if len(logq) > 1 and len(set(logq[1:])) == 1
                  else ", ".join(map(str, logq)) or "?")
        cells = [lib, val(d.get("version")), val(p.get("log_n")), val(p.get("limbs")), logq_s,
                 val(p.get("special_primes")), val(p.get("dnum")), val(p.get("scale_bits")),
                 val(p.get("slots")), val(d.get("threads")), val(d.get("reps")),
                 val(p.get("security")).replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    # consistency warnings
    # The CPU model and thread count identify the machine; other fields (os, arch) may be absent.
    machines = {json.dumps([d.get("machine", {}).get(k) for k in ("cpu", "threads")]) for d in docs}
    threads = {d.get("threads") for d in docs}
    dates = [parse_date(d.get("date")) for d in docs]
    dates = [x for x in dates if x]
    if len(machines) > 1:
        lines.append("**Warning:** results come from different machines; ratios are not meaningful.")
    if len(threads) > 1:
        lines.append(f"**Warning:** thread settings differ between libraries: {sorted(map(str, threads))}.")
    if dates and max(dates) - min(dates) > datetime.timedelta(hours=6):
        lines.append("**Warning:** results are more than 6 hours apart; on a shared machine compare ratios "
                     "from one run only.")

    ops = [o for o in OPS if any(o in d["ops"] or o in d.get("unavailable", {}) for d in docs)]
    extras = sorted({o for d in docs for o in d["ops"]} - set(OPS))
    header = ["op"] + [f"{lib} (ms)" for lib in libs]
    if has_native:
        header.append("native / fastest peer")
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    any_est = False
    for op in ops + extras:
        row = [f"`{op}`"]
        best = None
        for lib in libs:
            d = by_lib[lib]
            e = d["ops"].get(op)
            if e is None:
                row.append("n/a" if op in d.get("unavailable", {}) else "-")
                continue
            est = is_estimate(e)
            any_est |= est
            row.append(("~" if est else "") + fmt_ms(e["median_ms"]))
            if lib != NATIVE and (best is None or e["median_ms"] < best[0]):
                best = (e["median_ms"], lib)
        if has_native:
            ne = by_lib[NATIVE]["ops"].get(op)
            if ne is not None and best is not None and best[0] > 0:
                row.append(f"{ne['median_ms'] / best[0]:.2f} ({best[1]})")
            else:
                row.append("-")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Median of `reps` timed runs after one warm-up, milliseconds, lower is better. "
                 "`n/a`: the library does not offer the op (reason in its JSON `unavailable`); "
                 "`-`: not measured.")
    if any_est:
        lines.append("`~`: estimated, not a direct call (see the op's `note` in the JSON); such values "
                     "still count as the fastest peer when they are the lowest.")
    if has_native:
        lines.append("Ratio < 1: native is faster than the fastest peer for that op.")
    else:
        lines.append(f"**Native results missing:** no `{NATIVE}-{config}.json` in the results directory "
                     f"(produce it with `blindtuner bench ops --backend native --json`).")

    # precision
    prec_ops = [o for o in ops + extras if any((d["ops"].get(o) or {}).get("precision_bits") is not None for d in docs)]
    if prec_ops:
        lines += ["", "Precision in bits (-log2 of the max abs error vs the f64 reference, inputs uniform in [-1, 1]):",
                  "", "| op | " + " | ".join(libs) + " |", "|" + "---|" * (len(libs) + 1)]
        for op in prec_ops:
            row = [f"`{op}`"]
            for lib in libs:
                e = by_lib[lib]["ops"].get(op) or {}
                pb = e.get("precision_bits")
                row.append("-" if pb is None else f"{pb:.1f}")
            lines.append("| " + " | ".join(row) + " |")

    lines += bootstrap_table(libs, by_lib)

    # op notes
    notes = []
    for lib in libs:
        for op, e in by_lib[lib]["ops"].items():
            if e.get("note"):
                notes.append(f"- {lib} `{op}`: {e['note']}")
        for n in by_lib[lib].get("notes", []):
            notes.append(f"- {lib}: {n}")
    if notes:
        lines += ["", "<details><summary>notes</summary>", ""] + notes + ["", "</details>"]
    machine = docs[0].get("machine", {})
    lines += ["", f"Machine: {machine.get('cpu', '?')}, {machine.get('threads', '?')} hardware threads; "
                  f"run dates {min(d.get('date', '?') for d in docs)} .. {max(d.get('date', '?') for d in docs)}."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results_dir", nargs="?", default=default_dir())
    ap.add_argument("--config", help="only this configuration (e.g. n16)")
    ap.add_argument("--out", help="also write the Markdown to this file")
    args = ap.parse_args()
    docs = load(args.results_dir)
    if args.config:
        docs = [d for d in docs if d.get("config") == args.config]
    if not docs:
        print(f"no results in {args.results_dir}" + (f" for config {args.config}" if args.config else ""),
              file=sys.stderr)
        return 1
    configs = sorted({d.get("config", "?") for d in docs})
    out = "\n".join(table(c, [d for d in docs if d.get("config", "?") == c]) for c in configs)
    print(out)
    if args.out:
        with open(args.out, "w") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
