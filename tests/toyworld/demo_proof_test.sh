#!/usr/bin/env bash
# The proof in CI (issue #7): scripts/demo.sh shortened to its Stable-Pose half (`--modes stable_pose`: no
# ControlNet-mode adapter), with the demo's own budget (900 steps, 2,000 training images, the 120 held-out poses,
# DDIM 20 steps), on the shipped toy base model and toy detector. The trained Stable-Pose adapter must reach a pose
# AP on the held-out poses far above the base model's: by more than MARGIN (AP in [0, 1]).
# Negative control: the same adapter sampled with its pose features zeroed (`--ablate-pose-features`) is scored by
# the same rule and must NOT pass it, so a broken pose path (encoder, injection) cannot pass silently.
# Margin 0.003 (0.3 AP points), between the smallest gain measured at 900 steps or more (0.80 points) and the
# ablated adapter's (+0.01 points). Measured (docs/toyworld.md, "The proof"): this run's settings (the demo's
# Stable-Pose run, one thread) give AP 2.04 points, the base model 0.04, the same adapter with its pose features
# zeroed 0.05; with two threads and training seeds 23, 24, 25 the 900-step adapter gave 2.56, 1.90 and 0.84, and
# 1.87 to 2.84 at 1,200 to 1,800 steps (seeds 24, 25).
# PCE, the second rule: with prompts that do not say how many figures there are (`toyworld jobs --prompts
# count-free`: "figures on a sandy background"; the demo's --count-free-count, here all 120 poses), the adapter's
# person count error must be lower than the base model's by more than PCE_MARGIN, and the 95 % paired bootstrap
# interval of the difference (scripts/toyworld/pce_breakdown.py) must lie below 0; the ablated adapter must not
# pass. Measured (docs/toyworld.md, "The proof"): base 1.108; the demo's adapter and its step-800 checkpoint, and
# the adapter and step-800 checkpoint of the run before the fused AdamW: -0.375, -0.442, -0.383, -0.425 (upper
# bounds -0.183 to -0.275); ControlNet mode -0.350; pose features zeroed +0.200. With the captions, which name
# the figures, PCE does not separate the runs and is printed only.
#   usage: demo_proof_test.sh ROOT BUILD_DIR WORK_DIR PYTHON
set -u
# One thread: ctest runs this beside the rest of the suite, and the toy models train no faster on two (sampling
# is about 1.4 times faster on two: 40 s against 56 s per 120 images, so the test spends about 50 s more).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
root=$1 build=$2 work=$3 python=$4
margin=${STABLEPOSE_PROOF_MARGIN:-0.003}  # AP(stable_pose) - AP(base) must exceed this
pce_margin=${STABLEPOSE_PROOF_PCE_MARGIN:-0.15}  # PCE(base) - PCE(stable_pose), count-free prompts, must exceed this
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/demo" --modes stable_pose \
  --steps "${STABLEPOSE_PROOF_STEPS:-900}" --train-count "${STABLEPOSE_PROOF_TRAIN_COUNT:-2000}" \
  --eval-count "${STABLEPOSE_PROOF_EVAL_COUNT:-120}" --sample-steps "${STABLEPOSE_PROOF_SAMPLE_STEPS:-20}" \
  --count-free-count "${STABLEPOSE_PROOF_EVAL_COUNT:-120}" --device cpu > "$work/demo.log" 2>&1
check "the shortened demo runs end to end" "[ $? -eq 0 ] || { tail -50 '$work/demo.log'; false; }"
tool=$build/stablepose
"$tool" sample "$work/demo/jobs.json" --model "$root/assets/toyworld/base_model" -o "$work/demo/samples/ablated" \
  --adapter "$work/demo/train_stable_pose/adapter.safetensors" --config "$root/configs/toyworld_stable_pose.json" \
  --batch-size 8 --device cpu --ablate-pose-features > "$work/ablated.log" 2>&1
check "sampling with zeroed pose features runs" "[ $? -eq 0 ] || { tail -20 '$work/ablated.log'; false; }"
"$tool" sample "$work/demo/jobs_count_free.json" --model "$root/assets/toyworld/base_model" \
  -o "$work/demo/samples_count_free/ablated" --adapter "$work/demo/train_stable_pose/adapter.safetensors" \
  --config "$root/configs/toyworld_stable_pose.json" --batch-size 8 --device cpu --ablate-pose-features \
  > "$work/ablated_count_free.log" 2>&1
check "sampling the count-free prompts with zeroed pose features runs" \
  "[ $? -eq 0 ] || { tail -20 '$work/ablated_count_free.log'; false; }"
"$tool" eval report --detector "$root/assets/toyworld/detector" --device cpu -o "$work/ablated_report" \
  --run "base=$work/demo/samples/base" --run "ablated=$work/demo/samples/ablated" > "$work/ablated_eval.log" 2>&1
check "evaluating the ablation runs" "[ $? -eq 0 ] || { tail -20 '$work/ablated_eval.log'; false; }"
cat "$work/demo/report/report.md" "$work/ablated_report/report.md" 2>/dev/null

"$python" - "$work/demo/report/report.json" "$work/ablated_report/report.json" "$margin" <<'PY'
import json, sys
main, ablated, margin = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
pose = {r["name"]: r["pose"] for r in main["runs"] + ablated["runs"]}
ap = {k: v["AP"] for k, v in pose.items()}
pce = {k: v["PCE"] for k, v in pose.items()}
print("AP :", {k: round(v, 4) for k, v in ap.items()})
print("PCE:", {k: round(v, 4) for k, v in pce.items()})
def passes(name):
    return ap[name] - ap["base"] > margin
print(f"stable_pose: AP margin over base {ap['stable_pose'] - ap['base']:+.4f} (needs > {margin}): "
      f"{'passes' if passes('stable_pose') else 'FAILS'}")
print(f"pose features zeroed: AP margin over base {ap['ablated'] - ap['base']:+.4f}: "
      f"{'passes (the rule cannot tell)' if passes('ablated') else 'fails, as it must'}")
# PCE with the captions is reported, not asserted: over three training seeds and checkpoints from 900 to 1,800
# steps it scatters around the base model's (0.675 to 0.883 against 0.742; docs/toyworld.md, "The proof"): the
# captions name the figures, so the base model already draws the right number. The PCE rule is below, on
# count-free prompts.
print(f"PCE with captions (reported only): stable_pose {pce['stable_pose']:.3f}, base {pce['base']:.3f}, "
      f"pose features zeroed {pce['ablated']:.3f}")
sys.exit(0 if passes("stable_pose") and not passes("ablated") else 1)
PY
check "stable_pose is far above the base model in AP, and the ablation is not" "[ $? -eq 0 ]"
# With the captions: where PCE comes from and how wide its noise is (printed, not asserted; docs/toyworld.md).
"$python" "$root/scripts/toyworld/pce_breakdown.py" base="$work/demo/samples/base" \
  stable_pose="$work/demo/samples/stable_pose" ablated="$work/demo/samples/ablated"
# With count-free prompts: the PCE rule.
cf=$work/demo/samples_count_free
"$python" "$root/scripts/toyworld/pce_breakdown.py" base="$cf/base" stable_pose="$cf/stable_pose" ablated="$cf/ablated" \
  --json "$work/pce_count_free.json"
check "count-free prompts: PCE broken down" "[ $? -eq 0 ]"
"$python" - "$work/pce_count_free.json" "$pce_margin" <<'PY'
import json, sys
rows, margin = json.load(open(sys.argv[1])), float(sys.argv[2])
def passes(name):
    d = rows[name]["pce_minus_base"]
    return d["mean"] < -margin and d["ci95"][1] < 0
for name, what in (("stable_pose", "stable_pose"), ("ablated", "pose features zeroed")):
    d = rows[name]["pce_minus_base"]
    print(f"count-free prompts, {what}: PCE {rows[name]['pce']:.3f} against base {rows['base']['pce']:.3f}, "
          f"difference {d['mean']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] (needs < -{margin} and an "
          f"interval below 0): {'passes' if passes(name) else 'fails'}")
sys.exit(0 if passes("stable_pose") and not passes("ablated") else 1)
PY
check "count-free prompts: stable_pose's PCE is far below the base model's, and the ablation's is not" "[ $? -eq 0 ]"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
