#!/bin/sh
# Runs one shard of a fleetsim sweep on a cluster node, and resumes it if an
# earlier attempt of the same shard was killed (preempted pod, requeued
# Slurm task): the results file on shared storage is the journal.
#
#   deploy/sweep-shard.sh INDEX COUNT RESULTS_DIR SCENARIO [fleetsim sweep flags...]
#
# Writes RESULTS_DIR/shard-INDEX-of-COUNT.jsonl. Every shard must get the
# same SCENARIO and flags; combine the shards afterwards with
#   fleetsim merge RESULTS_DIR/shard-*-of-COUNT.jsonl -o RESULTS_DIR/sweep.jsonl
# FLEETSIM names the binary (default: fleetsim on PATH).
set -eu
if [ "$#" -lt 4 ]; then
    echo "usage: $0 INDEX COUNT RESULTS_DIR SCENARIO [fleetsim sweep flags...]" >&2
    exit 2
fi
index=$1
count=$2
dir=$3
scenario=$4
shift 4
mkdir -p "$dir"
out="$dir/shard-$index-of-$count.jsonl"
if [ -f "$out" ]; then
    mode=--resume
else
    mode=--out
fi
exec "${FLEETSIM:-fleetsim}" sweep "$scenario" "$@" --shard "$index/$count" "$mode" "$out"
