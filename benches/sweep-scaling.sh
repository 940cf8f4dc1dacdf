#!/usr/bin/env bash
# How `fleetsim sweep` scales with threads, against this machine's own
# parallel ceiling (issue: sweeps reach >= 90% of it).
#
#   benches/sweep-scaling.sh FLEETSIM RUST_BASELINE RUNS_PER_POINT "1 2 4 8 16"
#
# Ceiling: N copies of the peer harness's minimal event loop
# (rust-baseline --customers 20000000, built by ../shared/bench/peers/run.sh)
# started at once; ceiling(N) = N x (one copy's time) / (time for N copies).
# Sweep: the bundled three-region scenario, 1 simulated minute per run,
# 3 points x RUNS_PER_POINT seeds, at --jobs N; speedup(N) = T(1) / T(N).
# Also checks that every --jobs wrote the same results file.
set -euo pipefail
fleetsim=$1
baseline=$2
seeds=${3:-32}
threads=${4:-"1 2 4 8 16"}
work=$(mktemp -d)
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "threads  ceiling  sweep_wall_s  sweep_speedup  share_of_ceiling"
t1_base=""
t1_sweep=""
for n in $threads; do
    start=$(now)
    for _ in $(seq "$n"); do
        "$baseline" --customers 20000000 > /dev/null &
    done
    wait
    tb=$(calc "$(now) - $start")
    [ -z "$t1_base" ] && t1_base=$tb
    ceiling=$(calc "$n * $t1_base / $tb")

    start=$(now)
    "$fleetsim" sweep scenarios/three-region-active-active.toml \
        --param 'regions[0].balancer.algorithm=p2c,least_outstanding,round_robin' \
        --seeds "$seeds" --duration 1min --set run.warmup=10s \
        --jobs "$n" --quiet --out "$work/jobs-$n.jsonl" > /dev/null
    ts=$(calc "$(now) - $start")
    [ -z "$t1_sweep" ] && t1_sweep=$ts
    speedup=$(calc "$t1_sweep / $ts")
    printf "%7s  %7.2f  %12.1f  %13.2f  %15.0f%%\n" "$n" "$ceiling" "$ts" "$speedup" \
        "$(calc "100 * $speedup / $ceiling")"
done
first=""
for f in "$work"/jobs-*.jsonl; do
    if [ -z "$first" ]; then first=$f; elif ! cmp -s "$first" "$f"; then
        echo "DIFFERENT RESULTS: $first vs $f"; exit 1
    fi
done
echo "results identical for every --jobs"
