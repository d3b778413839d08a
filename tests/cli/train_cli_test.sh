#!/usr/bin/env bash
# `stablepose train` end to end on the tiny exported SD and a toyworld dataset: a run, SIGTERM mid-run (exit 0,
# a checkpoint, a printed resume command that works), clear failures for a bad config, an unknown key, a
# missing model; and `stablepose bench train` printing its figures with the command to repeat them.
# Also two processes launched like torchrun (Gloo) against the single-process run on the same global batch.
#   usage: train_cli_test.sh STABLEPOSE CONFIGS_DIR TINY_SD WORK_DIR PYTHON
set -u
tool=$1 configs=$2 model=$3 work=$4 python=$5
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

"$tool" toyworld generate --out "$work/data" --count 8 --size 64 --seed 1 --split-name training > "$work/gen.log" 2>&1
check "toy dataset" "[ -f '$work/data/mapping_file_training.json' ] || { cat '$work/gen.log'; false; }"
data=$work/data/mapping_file_training.json
tiny=(--set adapter.pose_channels=32 --set adapter.vit.dim=64 --set adapter.vit.dim_head=16 --set adapter.vit.heads=4
      --set adapter.vit.mlp_dim=64 --set adapter.vit.reduced_channels=16 --set data.augment.width=64
      --set data.augment.height=64 --set data.batch_size=2 --set data.workers=1 --set train.device=cpu --set log.every=1)
preset=$configs/sd15_stable_pose_laion_human.json

"$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/run" "${tiny[@]}" --steps 2 > "$work/run.log" 2>&1
check "a short run succeeds" "[ $? -eq 0 ] || { cat '$work/run.log'; false; }"
check "prints the resolved config" "grep -q '\"schedule_arithmetic\"' '$work/run.log'"
check "prints progress with ETA" "grep -q 'step 2/2.*ETA' '$work/run.log'"
check "writes the final adapter" "[ -s '$work/run/adapter.safetensors' ] && [ -s '$work/run/config.json' ]"
check "metrics.jsonl has both steps" "[ \$(wc -l < '$work/run/metrics.jsonl') -eq 2 ] && grep -q samples_per_s '$work/run/metrics.jsonl'"

# Two ranks on Gloo, each with one sample of every global batch of 2, against one process with batch 2.
# Adam with its default eps (1e-8) divides each gradient entry by its own magnitude, so a rounding-level
# difference in a near-zero entry (the reduction order differs between one process and an all-reduce) becomes a
# full lr-sized step. With eps = 1 the update is linear in the gradient (about lr * g for |g| << 1), so rounding
# stays at rounding level (1.7e-7 here at lr 0.01) while a wrong gradient still moves weights by lr * |g|
# (a process on half the batch: 8.9e-4).
# The official attention fill (adapter.vit.fill_scope "batch") takes the minimum logit over the whole batch a
# process holds, so ranks with part of a batch differ from one process by design, as in the official
# multi-GPU training; the per-image fill makes every sample independent of the others.
linear=(--set optim.eps=1 --set optim.lr=0.01 --set adapter.vit.fill_scope=image)
"$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/single" "${tiny[@]}" "${linear[@]}" \
  --steps 2 > "$work/single.log" 2>&1
check "single process, linear Adam" "[ $? -eq 0 ] || { cat '$work/single.log'; false; }"
"$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/half" "${tiny[@]}" "${linear[@]}" \
  --set data.batch_size=1 --steps 2 > "$work/half.log" 2>&1
check "single process on half the batch" "[ $? -eq 0 ] || { cat '$work/half.log'; false; }"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for rank in 0 1; do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/ddp" "${tiny[@]}" "${linear[@]}" \
    --set data.batch_size=1 --steps 2 > "$work/ddp$rank.log" 2>&1 &
  pids[$rank]=$!
done
wait ${pids[0]}; rc0=$?
wait ${pids[1]}; rc1=$?
check "two Gloo ranks train" "[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] || { cat '$work/ddp0.log' '$work/ddp1.log'; false; }"
check "they form one process group" "grep -q 'rank 0 of 2' '$work/ddp0.log' && grep -q 'rank 1 of 2' '$work/ddp1.log' && grep -q 'of 1 x 2 process(es)' '$work/ddp0.log'"
max_diff() {  # max |A - B| over all adapter tensors
  "$python" -c "
from safetensors.torch import load_file
a, b = load_file('$1/adapter.safetensors'), load_file('$2/adapter.safetensors')
assert a.keys() == b.keys()
print(max((a[k].double() - b[k].double()).abs().max().item() for k in a))"
}
d_ddp=$(max_diff "$work/single" "$work/ddp")
d_half=$(max_diff "$work/single" "$work/half")
echo "max |single - two ranks| = $d_ddp; negative control max |single - half batch| = $d_half"
check "two ranks equal one process on the combined batch (1e-6)" "'$python' -c 'assert $d_ddp <= 1e-6'"
check "the check can fail: half the batch differs (> 1e-4)" "'$python' -c 'assert $d_half > 1e-4'"

# SIGTERM while training: the step finishes, a checkpoint is written, exit 0 and a resume command.
"$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/stop" "${tiny[@]}" --steps 100000 \
  > "$work/stop.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q 'step 2/' "$work/stop.log" 2>/dev/null && break; sleep 0.2; done
kill -TERM $pid
wait $pid
check "SIGTERM exits 0" "[ $? -eq 0 ] || { cat '$work/stop.log'; false; }"
check "says how to resume" "grep -q 'resume with: stablepose train --resume' '$work/stop.log'"
check "leaves a checkpoint" "ls '$work/stop/checkpoints/' | grep -q '^step-'"
resume=$(grep -o 'resume with: .*' "$work/stop.log" | sed 's/^resume with: //')
resume=${resume/#stablepose/$tool}
last=$(ls "$work/stop/checkpoints" | sed 's/step-0*//' | sort -n | tail -1)
$resume --set train.max_steps=$((last + 1)) > "$work/resume.log" 2>&1
check "the printed resume command continues the run" "[ $? -eq 0 ] || { cat '$work/resume.log'; false; }"

# A run folder copied elsewhere resumes in place: the copy advances, the original is left alone.
cp -r "$work/stop" "$work/moved"
before=$(ls "$work/stop/checkpoints" | tr '\n' ' ')
"$tool" train --resume "$work/moved" --set train.max_steps=$((last + 2)) > "$work/moved.log" 2>&1
check "a copied run resumes" "[ $? -eq 0 ] || { cat '$work/moved.log'; false; }"
check "the copy gets the new checkpoint" "[ -d '$work/moved/checkpoints/step-$(printf %08d $((last + 2)))' ]"
check "the original run is untouched" "[ \"\$(ls '$work/stop/checkpoints' | tr '\\n' ' ')\" = '$before' ]"

printf '{"optim": {"lr": 1e-5,}' > "$work/broken.json"
"$tool" train --config "$work/broken.json" --model "$model" --data "$data" --out "$work/x" > "$work/broken.log" 2>&1
check "bad JSON fails naming the file" "[ $? -ne 0 ] && grep -q 'broken.json is not valid JSON' '$work/broken.log'"
"$tool" train --config "$preset" --model "$model" --data "$data" --out "$work/x" --set optim.lrr=1 > "$work/key.log" 2>&1
check "unknown key fails naming it" "[ $? -ne 0 ] && grep -q \"unknown config key 'optim.lrr'\" '$work/key.log'"
"$tool" train --config "$preset" --model "$work/no_model" --data "$data" --out "$work/x" "${tiny[@]}" > "$work/model.log" 2>&1
check "missing model fails naming it" "[ $? -ne 0 ] && grep -q 'no_model' '$work/model.log'"

"$tool" bench train --config "$preset" --model "$model" --data "$data" "${tiny[@]}" --warmup 1 --steps 2 > "$work/bench.log" 2>&1
check "bench train prints samples/s and the command" \
  "[ $? -eq 0 ] && grep -q samples_per_s '$work/bench.log' && grep -q '\"command\": \"stablepose bench train' '$work/bench.log' || { cat '$work/bench.log'; false; }"
cat "$work/bench.log"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
