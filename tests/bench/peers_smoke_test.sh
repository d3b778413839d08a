#!/usr/bin/env bash
# The diffusers peers of `stablepose bench sample` and `bench train` (scripts/bench) run on the tiny
# configuration on the CPU and print one well-formed JSON line per measurement, so that a GPU session finds them
# working. Speed is not checked here.
#   peers_smoke_test.sh PYTHON REPO
set -euo pipefail
py=$1 repo=$2
"$py" "$repo/scripts/bench/diffusers_sample_peer.py" --config tiny --device cpu --dtype fp32 --size 64 --steps 2 \
  --batch-size 1,2 --warmup 0 --repeats 1 --flops 2>/dev/null |
  "$py" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r["batch_size"] for r in rows] == [1, 2], rows
for r in rows:
    assert r["seconds_per_image"] > 0 and r["output_shape"] == [r["batch_size"], 3, 64, 64], r
    f = r["flops_per_step"]
    assert f["controlnet_and_unet"] > f["unet"] > 0 and f["cfg_batch"] == 2 * r["batch_size"], f
print("sample peer: ok")'
"$py" "$repo/scripts/bench/diffusers_train_peer.py" --config tiny --device cpu --precision fp32 --size 64 \
  --runs 2,2:gc --warmup 1 --steps 1 2>/dev/null |
  "$py" -c '
import json, math, sys
rows = [json.loads(l) for l in sys.stdin]
assert [(r["batch_size"], r["gradient_checkpointing"]) for r in rows] == [(2, False), (2, True)], rows
assert all(r["samples_per_s"] > 0 and math.isfinite(r["mean_loss"]) for r in rows), rows
print("train peer: ok")'
