#!/usr/bin/env bash
# The GPU checks of docs/gpu.md in one run, for a CUDA machine with the torch wheel and the bundle of
# scripts/gpu/make_bundle.sh (no build there). Stages run in priority order, each under its own time limit, and
# the whole run ends inside BUDGET seconds; every figure is printed as JSON with the command that made it.
#
#   scripts/gpu/device_checks.sh [BUNDLE_DIR] [OUT_DIR] [BUDGET_SECONDS] [STAGES]
#
# Defaults: .gpu, $OUT or /tmp/stablepose-gpu, 560 s, all stages. STAGES: a comma list out of
#   tests   ctest label `gpu` (stablepose_tests --gtest_filter=Gpu.*)
#   toy     toy world on CUDA: fp32 vs bf16 training losses, --resume continuing the loss curve, one-process
#           NCCL against no process group, the same adapter sampled on the CPU and on CUDA
#   toyspeed the demo's Stable-Pose training (300 steps) and toy sampling (batch 8, DDIM 20) with and without
#           --cuda-graph, on the toy model traced for CUDA: speed only, seconds, no full-size export
#   export  scripts/export_sd.py --random-full, bf16, cuda, channels-last (needed by the four below)
#   sample  stablepose bench sample, 512x512, DDIM 50, guidance 7.5: none / stable_pose / controlnet, batch 1, 8;
#           stable_pose also with --cuda-graph
#   peer    diffusers StableDiffusionControlNetPipeline, eager, batch 1 and 8, with a FLOP count
#   train   stablepose bench train, bf16, 512x512: Stable-Pose at batch 4, 8, 4 with activation checkpointing;
#           ControlNet mode at batch 4
#   tpeer   diffusers ControlNetModel training step: batch 4, 8, 4 with gradient checkpointing
#   compile the diffusers pipeline under torch.compile (reduce-overhead), batch 1
#   demo    scripts/demo.sh --device cuda (both adapters, 900 steps), with what time is left
# Everything goes to OUT_DIR/log.txt; OUT_DIR/results.tar.gz holds the JSON and the stage logs.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bundle=$(realpath "${1:-$root/.gpu}")
out=${2:-${OUT:-/tmp/stablepose-gpu}}
budget=${3:-560}
stages=",${4:-tests,toy,export,sample,peer,train,tpeer,compile,demo},"
start=$(date +%s)
work=/tmp/stablepose-gpu-work
mkdir -p "$out" "$work/json"
exec > >(tee -a "$out/log.txt") 2>&1

elapsed() { echo $(($(date +%s) - start)); }
stage() { echo; echo "=== [$(elapsed) s] $*"; }
want() { [[ $stages == *",$1,"* ]]; }
# run LIMIT CMD...: CMD under min(LIMIT, what is left of the budget); skipped when under 15 s are left.
run() {
    local limit=$1; shift
    local left=$((budget - $(elapsed) - 5))
    ((limit > left)) && limit=$left
    if ((limit < 15)); then echo "SKIPPED (budget spent): $*" >&2; return 124; fi
    timeout -k 5 "$limit" "$@"
    local rc=$?
    ((rc != 0)) && echo "[exit $rc after at most $limit s] $*" >&2
    return $rc
}
save() { tar -C "$work" -czf "$out/results.tar.gz" json logs 2>/dev/null; }
# summary JSON LOG KEY...: the KEYs of a benchmark's JSON on one line, or the end of its log if it has none.
summary() {
    local json=$1 log=$2; shift 2
    "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({k: d.get(k) for k in sys.argv[2:]}))' \
        "$json" "$@" 2>/dev/null || tail -5 "$log"
}
mkdir -p "$work/logs"

stage "environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
py=$(command -v python3)
torch_dir=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
nvidia_dir=$("$py" -c 'import nvidia; print(list(nvidia.__path__)[0])')
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())'
rm -rf "$work/sp" && mkdir -p "$work/sp" && tar -xJf "$bundle/bundle.tar.xz" -C "$work/sp"
LD_LIBRARY_PATH=$work/sp/lib:$torch_dir/lib:$(ls -d "$nvidia_dir"/*/lib | paste -sd:)
export LD_LIBRARY_PATH
export STABLEPOSE_ASSETS=$root/assets
sp=$work/sp/stablepose
if ldd "$sp" | grep "not found"; then echo "FATAL: the bundle's stablepose misses libraries"; exit 3; fi
"$py" -m pip install -q --upgrade --no-index --no-deps --no-compile --target "$work/site" "$bundle"/wheels/*.whl || exit 4
export PYTHONPATH=$work/site
"$py" -c 'import diffusers, transformers; print("diffusers", diffusers.__version__, "transformers", transformers.__version__)'
cd "$root"
toy_model=assets/toyworld/base_model  # a CPU trace: the CPU side of the comparisons
toy_cuda=$work/toy_model_cuda          # the same weights traced for CUDA (export_sd.py --retarget)
if want tests || want toy || want toyspeed || want demo; then
    stage "the toy base model traced for CUDA: scripts/export_sd.py --retarget"
    run 90 "$py" scripts/export_sd.py --retarget "$toy_model" "$toy_cuda" --device cuda >"$work/logs/retarget.log" 2>&1
    tail -1 "$work/logs/retarget.log"
    export STABLEPOSE_GPU_TEST_MODEL=$toy_cuda
fi

if want tests; then
    stage "ctest label gpu: stablepose_tests --gtest_filter=Gpu.*"
    run 150 "$work/sp/stablepose_tests" --gtest_filter='Gpu.*'
fi

loss_compare() {  # A B FIRST LAST: per-step losses of two runs' metrics.jsonl over steps FIRST..LAST
    "$py" - "$@" <<'EOF'
import json, sys
def losses(run):
    return {r["step"]: r["loss"] for r in map(json.loads, open(run + "/metrics.jsonl")) if "loss" in r}
a, b, lo, hi = losses(sys.argv[1]), losses(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
steps = [s for s in range(lo, hi + 1) if s in a and s in b]
rel = [abs(a[s] - b[s]) / abs(b[s]) for s in steps]
print(json.dumps(dict(a=sys.argv[1], b=sys.argv[2], steps=[lo, hi], compared=len(steps),
                      max_abs=max(abs(a[s] - b[s]) for s in steps), max_rel=max(rel),
                      mean_rel=sum(rel) / len(rel), mean_loss_a=sum(a[s] for s in steps) / len(steps),
                      mean_loss_b=sum(b[s] for s in steps) / len(steps))))
EOF
}

if want toy; then
    stage "toy world on CUDA"
    toy=$work/toy
    run 60 "$sp" toyworld generate --out "$toy/data" --count 512 --seed 0 --split-name training >/dev/null
    run 30 "$sp" toyworld generate --out "$toy/data" --count 16 --seed 1 --split-name validation >/dev/null
    train=("$sp" train --config configs/toyworld_stable_pose.json --model "$toy_cuda"
           --data "$toy/data/mapping_file_training.json" --device cuda --set log.every=1 --set log.progress=false)
    run 90 "${train[@]}" --out "$toy/fp32" --steps 40 --precision fp32 --set checkpoint.every=20 \
        >"$work/logs/toy_fp32.log" 2>&1 && tail -2 "$work/logs/toy_fp32.log"
    run 90 "${train[@]}" --out "$toy/bf16" --steps 40 --precision bf16 >"$work/logs/toy_bf16.log" 2>&1
    echo "-- bf16 against fp32, same seed, steps 1-40:"
    loss_compare "$toy/bf16" "$toy/fp32" 1 40 | tee "$work/json/toy_bf16_vs_fp32.json"
    run 60 "${train[@]}" --out "$toy/half" --steps 20 --precision fp32 >"$work/logs/toy_half.log" 2>&1
    run 60 "$sp" train --resume "$toy/half" --set train.max_steps=40 >"$work/logs/toy_resume.log" 2>&1
    echo "-- 20 steps then --resume to 40, against 40 straight (fp32), steps 21-40 and 1-20:"
    loss_compare "$toy/half" "$toy/fp32" 21 40 | tee "$work/json/toy_resume.json"
    loss_compare "$toy/half" "$toy/fp32" 1 20
    run 60 env WORLD_SIZE=1 RANK=0 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 "${train[@]}" --out "$toy/nccl" --steps 20 --precision fp32 >"$work/logs/toy_nccl.log" 2>&1
    grep -i -m3 -E "nccl|process group|distributed" "$work/logs/toy_nccl.log"
    echo "-- one-process NCCL against no process group (fp32), steps 1-20:"
    loss_compare "$toy/nccl" "$toy/fp32" 1 20 | tee "$work/json/toy_nccl.json"
    run 30 "$sp" toyworld jobs --data "$toy/data" --split validation --out "$toy/jobs.json" --count 8 --seed 1000 \
        --sampler ddim --steps 20 --guidance 5 >/dev/null
    for d in cpu cuda; do
        model=$toy_model; [[ $d == cuda ]] && model=$toy_cuda
        run 90 "$sp" sample "$toy/jobs.json" --model "$model" --adapter "$toy/fp32/adapter.safetensors" \
            -o "$toy/samples_$d" --device "$d" --config configs/toyworld_stable_pose.json 2>&1 | tail -1
    done
    echo "-- the same 8 images sampled on the CPU and on CUDA (fp32), pixel differences in 0-255 units:"
    "$py" - "$toy/samples_cpu/images" "$toy/samples_cuda/images" <<'EOF' | tee "$work/json/toy_sample_cpu_vs_cuda.json"
import json, sys, pathlib
import numpy as np
from PIL import Image
a, b = map(pathlib.Path, sys.argv[1:3])
d = [np.abs(np.asarray(Image.open(f), np.int16) - np.asarray(Image.open(b / f.name), np.int16))
     for f in sorted(a.glob("*.png"))]
print(json.dumps(dict(images=len(d), mean_abs=float(np.mean([x.mean() for x in d])),
                      max_abs=int(max(x.max() for x in d)), p99=float(np.percentile(np.concatenate([x.ravel() for x in d]), 99)))))
EOF
    save
fi

if want toyspeed; then
    stage "toy world speed on CUDA: the demo's Stable-Pose training, toy sampling with and without CUDA graphs"
    ts=$work/toyspeed
    run 60 "$sp" toyworld generate --out "$ts/data" --count 512 --seed 0 --split-name training >/dev/null
    run 90 "$sp" train --config configs/toyworld_stable_pose.json --model "$toy_cuda" --device cuda \
        --data "$ts/data/mapping_file_training.json" --out "$ts/train" --steps 300 >"$work/logs/toyspeed_train.log" 2>&1
    grep -E "step 300/300|steps done" "$work/logs/toyspeed_train.log" | tail -2
    for graph in "" --cuda-graph; do
        run 60 "$sp" bench sample --model "$toy_cuda" --init-adapter-mode stable_pose $graph --width 128 --height 128 \
            --steps 20 --guidance 5 --batch-size 8 --warmup 1 --repeats 3 --device cuda \
            >"$work/json/toyspeed_sample${graph:+_graph}.json" 2>"$work/logs/toyspeed_sample${graph:+_graph}.log"
        summary "$work/json/toyspeed_sample${graph:+_graph}.json" "$work/logs/toyspeed_sample${graph:+_graph}.log" \
            cuda_graphs seconds_per_image stages_seconds_per_batch
    done
    save
fi

sd15=$work/sd15
if want export; then
    stage "export the full SD 1.5 architecture, random weights, bf16, cuda, channels-last"
    run 200 "$py" scripts/export_sd.py --random-full "$sd15" --dtype bf16 --device cuda --channels-last \
        >"$work/logs/export.log" 2>&1
    tail -3 "$work/logs/export.log"; du -sh "$sd15"
fi

if want sample && [[ -f $sd15/model.json ]]; then
    stage "stablepose bench sample: 512x512, DDIM 50, guidance 7.5, bf16"
    # "MODE BATCH WARMUP REPEATS [graph]" per run ("graph": --cuda-graph);
    # STABLEPOSE_SAMPLE_SPECS="stable_pose 1 1 2;stable_pose 1 1 2 graph" picks some.
    specs=("stable_pose 1 1 2" "stable_pose 1 1 2 graph" "controlnet 1 1 2" "none 1 1 2" "stable_pose 8 1 1"
           "stable_pose 8 1 1 graph" "controlnet 8 1 1")
    [[ -n ${STABLEPOSE_SAMPLE_SPECS:-} ]] && IFS=';' read -ra specs <<<"$STABLEPOSE_SAMPLE_SPECS"
    for spec in "${specs[@]}"; do
        read -r mode b w r graph <<<"$spec"
        extra=(); [[ $mode != none ]] && extra=(--init-adapter-mode "$mode")
        name=sample_${mode}_b$b; [[ ${graph:-} == graph ]] && { extra+=(--cuda-graph); name+=_graph; }
        run 120 "$sp" bench sample --model "$sd15" "${extra[@]}" --width 512 --height 512 --steps 50 --guidance 7.5 \
            --batch-size "$b" --warmup "$w" --repeats "$r" --device cuda >"$work/json/$name.json" \
            2>"$work/logs/$name.log"
        summary "$work/json/$name.json" "$work/logs/$name.log" \
            mode batch_size cuda_graphs seconds_per_image stages_seconds_per_batch peak_memory_bytes
    done
    save
fi

if want peer; then
    stage "diffusers peer, eager, bf16, channels-last: batch 1 and 8"
    run 200 "$py" scripts/bench/diffusers_sample_peer.py --batch-size 1,8 --dtype bf16 --channels-last --flops \
        --warmup 1 --repeats 2 2>"$work/logs/peer.log" | tee "$work/json/peer_eager.jsonl"
    save
fi

data512=$work/toy512
if want train && [[ -f $sd15/model.json ]]; then
    stage "stablepose bench train: Stable-Pose, bf16, 512x512"
    run 60 "$sp" toyworld generate --out "$data512" --count 96 --size 512 --seed 3 --split-name training >/dev/null
    # "BATCH CHECKPOINTING MODE"; controlnet mode is the like-for-like row against the diffusers peer.
    for spec in "4 false stable_pose" "8 false stable_pose" "4 true stable_pose" "4 false controlnet"; do
        read -r b ckpt mode <<<"$spec"
        name=train_${mode}_b${b}_ckpt_$ckpt
        run 150 "$sp" bench train --config configs/sd15_stable_pose_laion_human.json --model "$sd15" \
            --data "$data512/mapping_file_training.json" --set data.batch_size="$b" --set train.device=cuda \
            --set precision.mode=bf16 --set train.activation_checkpointing="$ckpt" --set adapter.mode="$mode" \
            --warmup 2 --steps 5 >"$work/json/$name.json" 2>"$work/logs/$name.log"
        summary "$work/json/$name.json" "$work/logs/$name.log" \
            mode batch_size activation_checkpointing samples_per_s seconds_per_step peak_memory_mib mean_loss
    done
    save
fi

if want tpeer; then
    stage "diffusers training peer, bf16, 512x512: batch 4, 8, 4 with gradient checkpointing"
    run 200 "$py" scripts/bench/diffusers_train_peer.py --runs 4,8,4:gc --warmup 2 --steps 5 \
        2>"$work/logs/tpeer.log" | tee "$work/json/peer_train.jsonl"
    save
fi

if want compile; then
    stage "diffusers peer under torch.compile (reduce-overhead), bf16, channels-last: batch 1"
    run 240 "$py" scripts/bench/diffusers_sample_peer.py --batch-size 1 --dtype bf16 --channels-last --compile \
        --warmup 2 --repeats 2 2>"$work/logs/peer_compile.log" | tee "$work/json/peer_compile.jsonl"
    save
fi

if want demo; then
    stage "scripts/demo.sh --device cuda (900 steps, both adapters)"
    # the CUDA trace made above, so that the demo does not trace it again (its own --retarget step ran in run 3)
    demo_model=(); [[ -f $toy_cuda/model.json ]] && demo_model=(--model "$toy_cuda")
    run 600 env STABLEPOSE_BUILD_DIR="$work/sp" scripts/demo.sh --no-setup --device cuda --out "$work/demo" \
        "${demo_model[@]}" >"$work/logs/demo.log" 2>&1
    tail -25 "$work/logs/demo.log"
    cp "$work/demo/report/"*.md "$work/json/" 2>/dev/null
    save
fi
stage "done"
save
