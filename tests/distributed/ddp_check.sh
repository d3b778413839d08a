#!/usr/bin/env bash
# Two CPU processes on Gloo against one process on the combined batch (issue 4): after 5 AdamW steps both
# ranks must hold bit-identical weights, within 1e-6 of the single process. Two negative controls (no gradient
# all-reduce; no initial broadcast) must be caught by the same comparison, so the check can fail.
#   ddp_check.sh DDP_CHECK_BINARY WORK_DIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"

# run_ranks NAME WORLD [train options...]: WORLD processes launched like torchrun; fails if any fails.
run_ranks() {
    local name=$1 world=$2
    shift 2
    local port pids=() rank status=0
    port=$("$bin" free-port)
    for ((rank = 0; rank < world; rank++)); do
        RANK=$rank WORLD_SIZE=$world LOCAL_RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
            timeout 180 "$bin" train --out "$work/$name.rank$rank.pt" "$@" >"$work/$name.rank$rank.log" 2>&1 &
        pids+=($!)
    done
    for rank in "${!pids[@]}"; do
        if ! wait "${pids[$rank]}"; then
            echo "FAILED: $name rank $rank"; cat "$work/$name.rank$rank.log"; status=1
        fi
    done
    return $status
}

# The reference: one process, no launcher environment, whole global batch.
env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u MASTER_ADDR -u MASTER_PORT \
    "$bin" train --out "$work/single.pt" >"$work/single.log" 2>&1 || { cat "$work/single.log"; exit 1; }
cat "$work/single.log"

run_ranks ddp 2
cat "$work/ddp.rank0.log"
echo "== two Gloo ranks vs one process:"
"$bin" compare --tol 1e-6 "$work/single.pt" "$work/ddp.rank0.pt" "$work/ddp.rank1.pt"

for control in no-sync no-broadcast; do
    run_ranks "$control" 2 "--$control"
    echo "== negative control --$control (must differ):"
    if "$bin" compare --tol 1e-6 "$work/single.pt" "$work/$control.rank0.pt" "$work/$control.rank1.pt"; then
        echo "FAILED: the comparison did not notice --$control"; exit 1
    fi
done
echo "ddp_check: passed"
