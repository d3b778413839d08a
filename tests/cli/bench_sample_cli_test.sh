#!/usr/bin/env bash
# `stablepose bench sample --init-adapter-mode`: an adapter initialised from the U-Net is timed in each mode and
# named in the JSON; giving it together with --adapter, or an unknown mode, is refused. --cuda-graph is a no-op
# on the CPU, and the JSON says so.
#   bench_sample_cli_test.sh STABLEPOSE MODEL_DIR WORK_DIR
set -euo pipefail
tool=$1 model=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
common=(--model "$model" --width 64 --height 64 --steps 2 --warmup 0 --repeats 1 --device cpu)
for mode in stable_pose controlnet; do
  "$tool" bench sample "${common[@]}" --init-adapter-mode "$mode" > "$work/$mode.json"
  grep -q "\"mode\": \"$mode\"" "$work/$mode.json" || { echo "FAIL: $mode not reported"; cat "$work/$mode.json"; exit 1; }
  grep -q "\"adapter\": \"initialised from the U-Net ($mode)\"" "$work/$mode.json" ||
    { echo "FAIL: the adapter source is not named"; exit 1; }
  grep -q -- "--init-adapter-mode $mode" "$work/$mode.json" || { echo "FAIL: the command line lacks the mode"; exit 1; }
  grep -q '"total_when_synchronised_per_stage"' "$work/$mode.json" || { echo "FAIL: no stage split"; exit 1; }
done
"$tool" bench sample "${common[@]}" > "$work/none.json"
grep -q '"mode": "none"' "$work/none.json" || { echo "FAIL: no adapter should be mode none"; exit 1; }
grep -q '"cuda_graphs": false' "$work/none.json" || { echo "FAIL: cuda_graphs not reported"; exit 1; }
# --cuda-graph is accepted on the CPU, where it does nothing: the JSON says no graphs ran.
"$tool" bench sample "${common[@]}" --init-adapter-mode stable_pose --cuda-graph > "$work/graph.json"
grep -q '"cuda_graphs": false' "$work/graph.json" || { echo "FAIL: CUDA graphs claimed on the CPU"; exit 1; }
if "$tool" bench sample "${common[@]}" --init-adapter-mode stable_pose --adapter "$work/none.json" > "$work/both.out" 2>&1; then
  echo "FAIL: --adapter with --init-adapter-mode accepted"; exit 1
fi
grep -q "both given" "$work/both.out" || { echo "FAIL: unclear error"; cat "$work/both.out"; exit 1; }
if "$tool" bench sample "${common[@]}" --init-adapter-mode t2i > "$work/bad.out" 2>&1; then
  echo "FAIL: an unknown mode accepted"; exit 1
fi
echo "bench sample --init-adapter-mode: ok"
