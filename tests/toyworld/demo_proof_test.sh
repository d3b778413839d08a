#!/usr/bin/env bash
# The proof in CI (issue #7): a shortened scripts/demo.sh on the shipped toy base model and toy detector. The
# trained Stable-Pose adapter must reach a pose AP on held-out poses far above the base model's, and a lower PCE.
# Negative control: the same adapter sampled with its pose features zeroed (`--ablate-pose-features`) is scored
# by the same rule and must NOT pass it, so a broken pose path (encoder, injection, loss) cannot pass silently.
#   usage: demo_proof_test.sh ROOT BUILD_DIR WORK_DIR PYTHON
set -u
root=$1 build=$2 work=$3 python=$4
margin=${STABLEPOSE_PROOF_MARGIN:-0.10}  # AP(stable_pose) - AP(base) must exceed this
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/demo" \
  --steps "${STABLEPOSE_PROOF_STEPS:-150}" --train-count "${STABLEPOSE_PROOF_TRAIN_COUNT:-600}" \
  --eval-count "${STABLEPOSE_PROOF_EVAL_COUNT:-48}" --sample-steps "${STABLEPOSE_PROOF_SAMPLE_STEPS:-12}" \
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
    return ap[name] - ap["base"] > margin and pce[name] < pce["base"]
print(f"stable_pose: AP margin over base {ap['stable_pose'] - ap['base']:+.4f} (needs > {margin}), "
      f"PCE {pce['stable_pose']:.4f} vs base {pce['base']:.4f}: {'passes' if passes('stable_pose') else 'FAILS'}")
print(f"pose features zeroed: AP margin over base {ap['ablated'] - ap['base']:+.4f}, PCE {pce['ablated']:.4f}: "
      f"{'passes (the rule cannot tell)' if passes('ablated') else 'fails, as it must'}")
ok = passes("stable_pose") and not passes("ablated")
sys.exit(0 if ok else 1)
PY
check "stable_pose is far above the base model, and the ablation is not" "[ $? -eq 0 ]"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
