#!/usr/bin/env bash
# The main job on the embedded default, the toy world (docs/toyworld.md): generate a toy dataset, train the
# Stable-Pose adapter and the same adapter in ControlNet mode on the shipped toy base model with the same budget,
# sample the held-out poses with the base model (no pose control) and both adapters, and print the paper's table
# (AP, CAP, PCE; per view: front / side / back) scored by the shipped toy keypoint detector, with the detector on
# the real held-out images as the ceiling.
#
#   scripts/demo.sh [--out DIR] [--steps N] [--train-count N] [--eval-count N] [--count-free-count N]
#                   [--sample-steps N] [--device auto|cpu|cuda] [--model DIR] [--detector DIR]
#                   [--modes "stable_pose controlnet"] [--no-setup]
#
# A second, smaller table scores the first --count-free-count of the held-out poses (default 60; 0: none) sampled
# with prompts that do not say how many figures there are ("figures on a sandy background"), so that only the pose
# can: the person count error (PCE) there measures pose control (docs/toyworld.md, "The proof").
#
# Defaults: 900 steps per adapter at batch 8, 2,000 training images, 120 held-out poses, DDIM 20 steps. On the
# CPU the two adapters train side by side, one process each (set OMP_NUM_THREADS to override the threads per
# process). --model and --detector replace the shipped toy base model and detector. --modes picks the adapters to
# train, sample and score (default both). On a GPU (picked by --device auto) give more --steps. Every stage is
# resumable: a rerun with the same --out skips what is finished, and an interrupted training resumes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${STABLEPOSE_BUILD_DIR:-$root/build}
out=$root/out/demo
steps=900 train_count=2000 eval_count=120 count_free_count=60 sample_steps=20 device=auto setup=1 modes="stable_pose controlnet"
model=$root/assets/toyworld/base_model
detector=$root/assets/toyworld/detector
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --train-count) train_count=$2; shift 2 ;;
    --eval-count) eval_count=$2; shift 2 ;;
    --count-free-count) count_free_count=$2; shift 2 ;;
    --sample-steps) sample_steps=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --detector) detector=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for number in "$steps" "$train_count" "$eval_count" "$count_free_count" "$sample_steps"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "demo.sh: expected a whole number, got '$number' (see --help)" >&2; exit 2; }
done
[ "$setup" = 1 ] && "$root/scripts/setup.sh"
tool=$build/stablepose
for mode in $modes; do
  [ -f "$root/configs/toyworld_$mode.json" ] ||
    { echo "demo.sh: --modes: unknown adapter mode '$mode' (expected stable_pose and/or controlnet)" >&2; exit 2; }
done
[ -n "${modes// /}" ] || { echo "demo.sh: --modes is empty (expected stable_pose and/or controlnet)" >&2; exit 2; }
for need in "$tool" "$model/model.json" "$detector/detector.pt"; do
  [ -e "$need" ] || { echo "demo.sh: $need is missing (run scripts/setup.sh; the toy models ship in assets/toyworld)" >&2; exit 1; }
done
mkdir -p "$out"
start=$SECONDS
stage() { echo; echo "== [$(( SECONDS - start ))s] $*"; }

# A traced model runs only on the device it was traced on, and the shipped toy model is a CPU trace: on CUDA
# the same weights are traced again for CUDA once (scripts/export_sd.py --retarget, a few seconds).
on_cuda=0
case $device in
  cuda*) on_cuda=1 ;;
  auto) nvidia-smi -L > /dev/null 2>&1 && on_cuda=1 ;;
esac
if [ "$on_cuda" = 1 ] && grep -q '"device": "cpu"' "$model/model.json"; then
  if [ ! -f "$out/base_model_cuda/model.json" ]; then
    stage "export the toy base model for CUDA (scripts/export_sd.py --retarget)"
    py=$root/.venv/bin/python
    [ -x "$py" ] || py=python3
    "$py" "$root/scripts/export_sd.py" --retarget "$model" "$out/base_model_cuda" --device cuda
  fi
  model=$out/base_model_cuda
fi

stage "toy world: $train_count training images, $eval_count held-out poses (128x128)"
[ -f "$out/data/toyworld_training.json" ] ||
  "$tool" toyworld generate --out "$out/data" --count "$train_count" --seed 0 --split-name training
[ -f "$out/data/toyworld_validation.json" ] ||
  "$tool" toyworld generate --out "$out/data" --count "$eval_count" --seed 1 --split-name validation

train_adapter() {  # MODE: train, resume, or report that it is trained
  local mode=$1 run=$out/train_$1
  if [ -f "$run/adapter.safetensors" ]; then
    echo "already trained: $run/adapter.safetensors"
  elif [ -d "$run/checkpoints" ] && ls "$run/checkpoints" | grep -q '^step-'; then
    "$tool" train --resume "$run"
  else
    "$tool" train --config "$root/configs/toyworld_$mode.json" --model "$model" \
      --data "$out/data/mapping_file_training.json" --out "$run" --steps "$steps" --set train.device="$device"
  fi
}
mode_list=($modes)
# On the CPU the adapters train side by side, one process each with an equal share of the cores: the toy models
# are too small for one process to use two cores well (`stablepose bench train` on the 2-core machine: 0.63 s
# per step on one thread, 0.70 on two; two one-thread runs side by side: 0.63 and 0.74 s per step).
if [ ${#mode_list[@]} -gt 1 ] && { [ "$device" = cpu ] || { [ "$device" = auto ] && ! nvidia-smi -L > /dev/null 2>&1; }; }; then
  threads=${OMP_NUM_THREADS:-$(( $(nproc) / ${#mode_list[@]} ))}
  [ "$threads" -ge 1 ] || threads=1
  stage "train the ${mode_list[*]} adapters side by side ($threads thread(s) each): $steps steps each" \
    "(configs/toyworld_<mode>.json; lines prefixed by the mode; logs in $out/train_<mode>.log)"
  pids=()
  for mode in "${mode_list[@]}"; do
    ( OMP_NUM_THREADS=$threads train_adapter "$mode" 2>&1 | tee "$out/train_$mode.log" | sed -u "s/^/[$mode] /" ) &
    pids+=($!)
  done
  failed=()
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${mode_list[$i]}"); done
  [ ${#failed[@]} -eq 0 ] || { echo "demo.sh: training failed for: ${failed[*]} (logs: $out/train_<mode>.log;" \
    "a rerun resumes from the last checkpoint)" >&2; exit 1; }
else
  for mode in "${mode_list[@]}"; do
    stage "train the $mode adapter: $steps steps (configs/toyworld_$mode.json)"
    train_adapter "$mode"
  done
fi

stage "held-out poses -> sample jobs (scenario = the figures' view)"
"$tool" toyworld jobs --data "$out/data" --split validation --out "$out/jobs.json" \
  --real-manifest "$out/real/manifest.jsonl" --seed 1000 --sampler ddim --steps "$sample_steps" --guidance 5
sample() {  # JOBS FOLDER NAME [ADAPTER] [extra sample options]: FOLDER/NAME
  local jobs=$1 folder=$2 name=$3; shift 3
  stage "sample: $name ($(basename "$jobs"))"
  "$tool" sample "$jobs" --model "$model" -o "$folder/$name" --panels --batch-size 8 \
    --device "$device" --config "$root/configs/toyworld_stable_pose.json" "$@"
}
sample_runs() {  # JOBS FOLDER: base and each adapter; sets runs=(--run NAME=DIR ...)
  local jobs=$1 folder=$2
  sample "$jobs" "$folder" base
  runs=(--run "base=$folder/base")
  for mode in controlnet stable_pose; do  # the table's row order
    [[ " $modes " == *" $mode "* ]] || continue
    sample "$jobs" "$folder" $mode --adapter "$out/train_$mode/adapter.safetensors"
    runs+=(--run "$mode=$folder/$mode")
  done
}
sample_runs "$out/jobs.json" "$out/samples"
runs=(--run "real=$out/real" "${runs[@]}")

stage "evaluate: the paper's table with the toy keypoint detector"
"$tool" eval report --detector "$detector" --device "$device" -o "$out/report" "${runs[@]}"
echo
echo "Rows: real = the held-out real images (the detector's ceiling); base = the toy base model, no pose control;"
echo "controlnet = the adapter in ControlNet mode; stable_pose = the Stable-Pose adapter (same steps and data)."
cat "$out/report/report.md"
echo

if [ "$count_free_count" -gt 0 ]; then
  stage "the first $count_free_count held-out poses with count-free prompts (\"figures on a <background> background\")"
  "$tool" toyworld jobs --data "$out/data" --split validation --out "$out/jobs_count_free.json" --prompts count-free \
    --count "$count_free_count" --seed 1000 --sampler ddim --steps "$sample_steps" --guidance 5
  sample_runs "$out/jobs_count_free.json" "$out/samples_count_free"
  stage "evaluate: count-free prompts"
  "$tool" eval report --detector "$detector" --device "$device" -o "$out/report_count_free" "${runs[@]}"
  echo
  echo "Count-free prompts: the prompt names the background only, so only the pose says how many figures to"
  echo "draw; a lower PCE than the base model's is the pose control the paper's PCE measures."
  cat "$out/report_count_free/report.md"
  echo
fi
echo "Run folder $out: data/, train_<mode>/ (config.json, checkpoints/, metrics.jsonl, adapter.safetensors),"
echo "samples/<run>/ (images/, panels/, manifest.jsonl), report/ (report.md, report.csv, report.json);"
echo "the count-free prompts' jobs_count_free.json, samples_count_free/<run>/ and report_count_free/."
echo "Total $(( SECONDS - start )) s after set-up."
