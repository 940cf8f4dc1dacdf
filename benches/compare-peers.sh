#!/usr/bin/env bash
# fleetsim next to the peer DES benchmarks (../shared/bench/peers), on the same
# workload: M/M/4, lambda=3.6, mu=1 (rho=0.9), seed 42, until N customers have
# completed service. Prints Markdown tables:
#   1. every engine (SimPy, Ciw, rust-baseline, nexosim, fleetsim), via the
#      harness's report.py;
#   2. fleetsim against the hand-written rust-baseline loop, run pairwise
#      interleaved (1 station at N and 10N, 10,000 stations at 10N), with the
#      ratio of events/s that the performance targets are stated in;
#   3. fleetsim's peak RSS against N (memory must not grow with customers).
#
# usage: benches/compare-peers.sh            # N=1,000,000, 3 repeats (~5 min after builds)
#        benches/compare-peers.sh --quick    # N=100,000, 1 repeat, no RSS at 1e8
# env:   N=... REPEATS=...  (passed through to run.sh as well)
#        CARGO_TARGET_DIR   where fleetsim builds (default: the workspace's target/)
#        COMPARE_OUT        where results go (default: /tmp/fleetsim-compare-<time>)
#        PEERS_TARGET       where run.sh builds the Rust peers (run.sh's default: /tmp/peers-target)
#
# Nothing is written into ../shared: run.sh keeps its venv, builds and results
# under /tmp, and its results are directed into COMPARE_OUT here.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS="$(cd "$ROOT/../shared/bench/peers" && pwd)"

QUICK=()
N="${N:-1000000}"
REPEATS="${REPEATS:-3}"
if [[ "${1:-}" == "--quick" ]]; then QUICK=(--quick); N=100000; REPEATS=1; fi
export N REPEATS
N10=$((N * 10))
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${COMPARE_OUT:-/tmp/fleetsim-compare-$STAMP}"
mkdir -p "$OUT"
LAM=3.6 MU=1.0 C=4 SEED=42
COMMON=(--lam "$LAM" --mu "$MU" --servers "$C" --seed "$SEED")

log() { echo "[compare-peers] $*" >&2; }

# --- 1. fleetsim's binary (release: fat LTO, 1 codegen unit, like the peers) -
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
log "cargo build --release -p benches (target dir $TARGET)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet -p benches)
FS="$TARGET/release/fleetsim-peer-bench"

# --- 2. the peer harness, as is (its results land in $OUT/peers) ----------
log "running $PEERS/run.sh ${QUICK[*]:-} (N=$N, REPEATS=$REPEATS)"
PEERS_OUT="$OUT/peers" "$PEERS/run.sh" "${QUICK[@]}" >"$OUT/run.sh.log"
RB="${PEERS_TARGET:-/tmp/peers-target}/release/rust-baseline"
PEER_RES="$(ls -t "$OUT"/peers/results-*.jsonl | head -1)"
PEER_BAND="$(ls -t "$OUT"/peers/seedband-*.jsonl | head -1)"

# --- 3. fleetsim and rust-baseline, pairwise interleaved ------------------
# Same configurations for both, alternating run by run, so machine noise
# hits both sides of each ratio alike.
CASES=(
  "--customers $N --stations 1"
  "--customers $N10 --stations 1"
  "--customers $N10 --stations 10000"
)
PAIRS="$OUT/pairs.jsonl"
: >"$PAIRS"
for rep in $(seq 1 "$REPEATS"); do
  for case in "${CASES[@]}"; do
    log "repeat $rep/$REPEATS: $case"
    # shellcheck disable=SC2086
    "$RB" "${COMMON[@]}" $case >>"$PAIRS"
    # shellcheck disable=SC2086
    "$FS" "${COMMON[@]}" $case >>"$PAIRS"
  done
done

# --- 4. tables --------------------------------------------------------------
cat "$PEER_RES" "$PAIRS" >"$OUT/all.jsonl"
{
  cat "$(ls -t "$OUT"/peers/header-*.txt | head -1)"
  echo "fleetsim:     $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo
  echo "### All engines (rust-baseline rows pool run.sh's runs and the paired runs below)"
  echo
  python3 "$PEERS/report.py" "$OUT/all.jsonl" "$PEER_BAND"
  echo
  echo "### fleetsim against the hand-written loop (paired, interleaved runs; medians)"
  echo
  python3 - "$PAIRS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
def key(r):
    p = r["params"]
    return (p["n"], p["stations"])
cases = sorted({key(r) for r in rows}, key=lambda k: (k[1], k[0]))
print("| case | customers | fleetsim events/s | fleetsim ns/event | rust-baseline events/s | rust-baseline ns/event | ratio (fleetsim / baseline) | target | runs |")
print("|---|---|---|---|---|---|---|---|---|")
for n, st in cases:
    fs = [r for r in rows if key(r) == (n, st) and r["engine"].startswith("fleetsim")]
    rb = [r for r in rows if key(r) == (n, st) and r["engine"].startswith("rust-baseline")]
    if not fs or not rb:
        continue
    rate = lambda g: statistics.median(r["events"] / r["wall_s"] for r in g)
    f, b = rate(fs), rate(rb)
    ratio = f / b
    label = "M/M/4" if st == 1 else f"M/M/4 x{st:,} stations"
    print(f"| {label} | {n:,} | {f / 1e6:.2f} M | {1e9 / f:.1f} | {b / 1e6:.2f} M | {1e9 / b:.1f} | {ratio:.2f} | "
          f"{'met' if ratio >= 0.5 else 'NOT met'} (>= 0.50) | {len(fs)} |")
PY
} | tee "$OUT/table.md"

# --- 5. peak RSS against N ------------------------------------------------------
if [[ -x /usr/bin/time ]]; then
  echo
  echo "### fleetsim peak RSS (/usr/bin/time -v)"
  echo
  echo "| case | customers | wall s | peak RSS |"
  echo "|---|---|---|---|"
  RSS_CASES=("1 $N" "1 $N10" "10000 $N10")
  if [[ ${#QUICK[@]} -eq 0 ]]; then RSS_CASES+=("1 $((N * 100))"); fi
  for c in "${RSS_CASES[@]}"; do
    read -r st n <<<"$c"
    /usr/bin/time -v -o "$OUT/time.txt" "$FS" "${COMMON[@]}" --customers "$n" --stations "$st" >"$OUT/rss.json"
    python3 - "$OUT/time.txt" "$OUT/rss.json" "$st" <<'PY'
import json, sys
kb = next(int(l.split(":")[1]) for l in open(sys.argv[1]) if "Maximum resident set size" in l)
r = json.load(open(sys.argv[2]))
st = int(sys.argv[3])
label = "M/M/4" if st == 1 else f"M/M/4 x{st:,} stations"
print(f"| {label} | {r['customers']:,} | {r['wall_s']:.2f} | {kb / 1024:.1f} MB |")
PY
  done
else
  log "/usr/bin/time missing (apt-get install time): skipping peak RSS"
fi | tee -a "$OUT/table.md"

log "tables: $OUT/table.md; raw JSON lines: $OUT/all.jsonl"
