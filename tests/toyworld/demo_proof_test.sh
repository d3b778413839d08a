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
# 1.87 to 2.84 at 1,200 to 1,800 steps (seeds 24, 25). PCE is printed, not asserted (see the comment at the rule).
#   usage: demo_proof_test.sh ROOT BUILD_DIR WORK_DIR PYTHON
set -u
# One thread: ctest runs this beside the rest of the suite, and the toy models train no faster on two (sampling
# is about 1.4 times faster on two: 40 s against 56 s per 120 images, so the test spends about 50 s more).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
root=$1 build=$2 work=$3 python=$4
margin=${STABLEPOSE_PROOF_MARGIN:-0.003}  # AP(stable_pose) - AP(base) must exceed this
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/demo" --modes stable_pose \
  --steps "${STABLEPOSE_PROOF_STEPS:-900}" --train-count "${STABLEPOSE_PROOF_TRAIN_COUNT:-2000}" \
  --eval-count "${STABLEPOSE_PROOF_EVAL_COUNT:-120}" --sample-steps "${STABLEPOSE_PROOF_SAMPLE_STEPS:-20}" \
  --device cpu > "$work/demo.log" 2>&1
check "the shortened demo runs end to end" "[ $? -eq 0 ] || { tail -50 '$work/demo.log'; false; }"
tool=$build/stablepose
"$tool" sample "$work/demo/jobs.json" --model "$root/assets/toyworld/base_model" -o "$work/demo/samples/ablated" \
  --adapter "$work/demo/train_stable_pose/adapter.safetensors" --config "$root/configs/toyworld_stable_pose.json" \
  --batch-size 8 --device cpu --ablate-pose-features > "$work/ablated.log" 2>&1
check "sampling with zeroed pose features runs" "[ $? -eq 0 ] || { tail -20 '$work/ablated.log'; false; }"
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
# PCE is reported, not asserted: over three training seeds and checkpoints from 900 to 1,800 steps it scatters
# around the base model's (0.675 to 0.883 against 0.742; docs/toyworld.md, "The proof"), so a PCE rule would
# make this test pass or fail by the seed, not by the method.
print(f"PCE (reported only): stable_pose {pce['stable_pose']:.3f}, base {pce['base']:.3f}, "
      f"pose features zeroed {pce['ablated']:.3f}")
sys.exit(0 if passes("stable_pose") and not passes("ablated") else 1)
PY
check "stable_pose is far above the base model in AP, and the ablation is not" "[ $? -eq 0 ]"
# Where PCE comes from and how wide its noise is at 120 images (printed, not asserted; docs/toyworld.md).
"$python" "$root/scripts/toyworld/pce_breakdown.py" base="$work/demo/samples/base" \
  stable_pose="$work/demo/samples/stable_pose" ablated="$work/demo/samples/ablated"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
