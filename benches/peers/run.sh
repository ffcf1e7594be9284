#!/usr/bin/env bash
# Side-by-side CKKS primitive timings of the C++/Go peers (OpenFHE, SEAL via
# TenSEAL, Lattigo via orion-v2, DESILO) from their PyPI wheels. See README.md.
#
#   benches/peers/run.sh [--config n14|n16] [--threads 1|all|N] [--reps K] [--only lib,lib]
#                        [--bootstrap] [--bootstrap-reps K]
#
# Environment equivalents (flags win): PEERS_CONFIG, PEERS_THREADS, PEERS_REPS,
# PEERS_ONLY, PEERS_BOOTSTRAP=1, PEERS_BOOTSTRAP_REPS; interpreters: PEERS_PYTHON310
# (for OpenFHE), PEERS_PYTHON311. --bootstrap (n16 only) also times full-slot
# bootstrapping in OpenFHE and DESILO (up to about 17 GiB of memory, minutes per library).
# Virtual environments live in target/peers/venv-py310 and target/peers/venv-py311
# (created once, reused); results in target/peers/results/<library>-<config>.json,
# logs in target/peers/logs/. Exit status 0 when every library ran, 2 when some
# were skipped or failed (the others still run and are compared), 1 on bad usage.
set -uo pipefail

CONFIG="${PEERS_CONFIG:-n16}"
THREADS="${PEERS_THREADS:-1}"
REPS="${PEERS_REPS:-5}"
ONLY="${PEERS_ONLY:-openfhe,seal,lattigo,desilo}"
BOOTSTRAP="${PEERS_BOOTSTRAP:-0}"
BOOTSTRAP_REPS="${PEERS_BOOTSTRAP_REPS:-3}"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="${2:-}"; shift 2 ;;
    --config=*) CONFIG="${1#*=}"; shift ;;
    --threads) THREADS="${2:-}"; shift 2 ;;
    --threads=*) THREADS="${1#*=}"; shift ;;
    --reps) REPS="${2:-}"; shift 2 ;;
    --reps=*) REPS="${1#*=}"; shift ;;
    --only) ONLY="${2:-}"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    --bootstrap) BOOTSTRAP=1; shift ;;
    --bootstrap-reps) BOOTSTRAP_REPS="${2:-}"; shift 2 ;;
    --bootstrap-reps=*) BOOTSTRAP_REPS="${1#*=}"; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$CONFIG" in n14|n16) ;; *) echo "run.sh: --config must be n14 or n16, got '$CONFIG'" >&2; exit 1 ;; esac
case "$THREADS" in
  all) NTHREADS="$(nproc)" ;;
  ''|*[!0-9]*|0) echo "run.sh: --threads must be 1, all or a positive integer, got '$THREADS'" >&2; exit 1 ;;
  *) NTHREADS="$THREADS" ;;
esac
case "$REPS" in ''|*[!0-9]*|0) echo "run.sh: --reps must be a positive integer, got '$REPS'" >&2; exit 1 ;; esac
case "$BOOTSTRAP" in
  0|'') BOOT_ARGS=() ;;
  1)
    [ "$CONFIG" = n16 ] || { echo "run.sh: --bootstrap needs --config n16" >&2; exit 1; }
    case "$BOOTSTRAP_REPS" in ''|*[!0-9]*|0) echo "run.sh: --bootstrap-reps must be a positive integer, got '$BOOTSTRAP_REPS'" >&2; exit 1 ;; esac
    BOOT_ARGS=(--bootstrap --bootstrap-reps "$BOOTSTRAP_REPS") ;;
  *) echo "run.sh: PEERS_BOOTSTRAP must be 0 or 1, got '$BOOTSTRAP'" >&2; exit 1 ;;
esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/target/peers"
RESULTS="$PEERS/results"
LOGS="$PEERS/logs"
mkdir -p "$RESULTS" "$LOGS"

# Every library's own thread knob is driven from here (the scripts get --threads too).
export OMP_NUM_THREADS="$NTHREADS" GOMAXPROCS="$NTHREADS"
export OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1  # numpy stays out of the way
export PYTHONDONTWRITEBYTECODE=1                  # no __pycache__ in the source tree

# library -> venv tag and pinned requirements
declare -A VENV_OF=([openfhe]=py310 [seal]=py311 [lattigo]=py311 [desilo]=py311)
declare -A REQS_OF=(
  [openfhe]="openfhe==1.6.1.0.22.4"
  [seal]="tenseal==0.3.18"
  [lattigo]="orion-v2-lattigo==6.2.4 orion-v2-evaluator==2.1.8"
  [desilo]="desilofhe==2.0.0"
)
declare -A SCRIPT_OF=([openfhe]=openfhe_ops.py [seal]=seal_ops.py [lattigo]=lattigo_ops.py [desilo]=desilo_ops.py)
COMMON_REQS="numpy>=1.26,<3"

# Find an interpreter of the given minor version (3.10 for the OpenFHE wheel, >= 3.11 otherwise).
find_python() {
  local want="$1" cand
  if [ "$want" = py310 ]; then
    for cand in "${PEERS_PYTHON310:-}" "$HOME/.pyenv/versions/3.10.13/bin/python" python3.10; do
      [ -n "$cand" ] || continue
      if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
        command -v "$cand"; return 0
      fi
    done
  else
    for cand in "${PEERS_PYTHON311:-}" python3.11 python3 python3.12; do
      [ -n "$cand" ] || continue
      if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
        command -v "$cand"; return 0
      fi
    done
  fi
  return 1
}

# ensure_venv TAG -> prints the venv's python, creating the venv once.
ensure_venv() {
  local tag="$1" dir="$PEERS/venv-$1" py
  if [ ! -x "$dir/bin/python" ]; then
    if ! py="$(find_python "$tag")"; then
      echo "no Python interpreter for $tag (OpenFHE's wheel needs CPython 3.10, e.g. ~/.pyenv/versions/3.10.13/bin/python; the others need 3.11+)" >&2
      return 1
    fi
    echo "creating $dir with $py" >&2
    "$py" -m venv "$dir" >&2 || { echo "python -m venv failed for $dir" >&2; rm -rf "$dir"; return 1; }
  fi
  echo "$dir/bin/python"
}

# pip_ensure PYTHON REQ... : install only what is missing (pinned versions make this a no-op when present).
pip_ensure() {
  local py="$1"; shift
  local missing=() req
  for req in "$@"; do
    if ! "$py" - "$req" <<'EOF' 2>/dev/null
import sys, re
from importlib.metadata import version, PackageNotFoundError
req = sys.argv[1]
m = re.match(r"^([A-Za-z0-9_.-]+)\s*(==\s*([^,;\s]+))?", req)
try:
    v = version(m.group(1))
except PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if m.group(3) is None or v == m.group(3) else 1)
EOF
    then missing+=("$req"); fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "pip install ${missing[*]}" >&2
  "$py" -m pip install --disable-pip-version-check -q "${missing[@]}" >&2
}

IFS=',' read -r -a LIBS <<< "$ONLY"
declare -a SKIPPED=() FAILED=() DONE=()
echo "== peers: config $CONFIG, threads $NTHREADS, reps $REPS, libraries ${LIBS[*]}${BOOT_ARGS[*]:+, bootstrapping ($BOOTSTRAP_REPS reps)}"
for lib in "${LIBS[@]}"; do
  if [ -z "${SCRIPT_OF[$lib]:-}" ]; then
    echo "!! unknown library '$lib' (known: openfhe, seal, lattigo, desilo): skipped"; SKIPPED+=("$lib (unknown)"); continue
  fi
  out="$RESULTS/$lib-$CONFIG.json"
  rm -f "$out"  # never compare a stale result from an earlier run
  echo "== $lib: preparing venv-${VENV_OF[$lib]}"
  if ! py="$(ensure_venv "${VENV_OF[$lib]}")"; then
    echo "!! $lib skipped: could not create its virtual environment (see above)"; SKIPPED+=("$lib (no venv)"); continue
  fi
  # shellcheck disable=SC2086
  if ! pip_ensure "$py" $COMMON_REQS ${REQS_OF[$lib]}; then
    echo "!! $lib skipped: pip could not install '${REQS_OF[$lib]}' into $(dirname "$(dirname "$py")") (no matching wheel for this Python / platform, or no network)"
    SKIPPED+=("$lib (install failed)"); continue
  fi
  log="$LOGS/$lib-$CONFIG.log"
  echo "== $lib: running ${SCRIPT_OF[$lib]} (log: ${log#"$ROOT"/})"
  start=$(date +%s)
  "$py" "$HERE/${SCRIPT_OF[$lib]}" --config "$CONFIG" --threads "$NTHREADS" --reps "$REPS" "${BOOT_ARGS[@]}" --out "$RESULTS" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    echo "!! $lib failed (exit $rc) after $(( $(date +%s) - start )) s; see $log"; FAILED+=("$lib"); continue
  fi
  echo "== $lib: done in $(( $(date +%s) - start )) s -> ${out#"$ROOT"/}"
  DONE+=("$lib")
done

echo
if command -v python3 >/dev/null 2>&1; then CPY=python3; else CPY="$(ensure_venv py311)"; fi
"$CPY" "$HERE/compare.py" "$RESULTS" --config "$CONFIG" --out "$RESULTS/compare-$CONFIG.md"
echo
echo "== ran: ${DONE[*]:-none}; skipped: ${SKIPPED[*]:-none}; failed: ${FAILED[*]:-none}"
echo "== table also written to ${RESULTS#"$ROOT"/}/compare-$CONFIG.md"
[ ${#SKIPPED[@]} -eq 0 ] && [ ${#FAILED[@]} -eq 0 ] || exit 2
