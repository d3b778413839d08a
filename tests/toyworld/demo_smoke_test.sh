#!/usr/bin/env bash
# scripts/demo.sh end to end at a tiny budget on the shipped toy base model and toy detector: every stage runs
# and leaves what the README promises (run folders with config, checkpoints, metrics, adapter; samples with
# panels and manifests; the report with one row per run and the per-view rows), and a rerun resumes instead of
# redoing finished stages. It checks the plumbing, not pose accuracy (tests/toyworld/demo_proof_test.sh does).
#   usage: demo_smoke_test.sh ROOT BUILD_DIR WORK_DIR PYTHON
set -u
root=$1 build=$2 work=$3 python=$4
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }
demo() {
  STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/demo" --steps 4 --train-count 24 \
    --eval-count 8 --sample-steps 3 --device cpu
}
demo > "$work/demo.log" 2>&1
check "the demo runs end to end" "[ $? -eq 0 ] || { tail -40 '$work/demo.log'; false; }"
for mode in stable_pose controlnet; do
  run=$work/demo/train_$mode
  check "$mode: config, checkpoint, metrics, adapter" \
    "[ -s '$run/config.json' ] && ls '$run/checkpoints' | grep -q '^step-' && [ \$(wc -l < '$run/metrics.jsonl') -eq 4 ] && [ -s '$run/adapter.safetensors' ]"
done
for run in base controlnet stable_pose; do
  check "samples/$run: 8 images, 8 panels, manifest" \
    "[ \$(ls '$work/demo/samples/$run/images' | wc -l) -eq 8 ] && [ \$(ls '$work/demo/samples/$run/panels' | wc -l) -eq 8 ] && [ \$(wc -l < '$work/demo/samples/$run/manifest.jsonl') -eq 8 ]"
done
check "report: Markdown, CSV, JSON" "[ -s '$work/demo/report/report.md' ] && [ -s '$work/demo/report/report.csv' ] && [ -s '$work/demo/report/report.json' ]"
check "report: four runs with AP and PCE, per-view rows" "'$python' -c \"
import json
r = json.load(open('$work/demo/report/report.json'))
names = [x['name'] for x in r['runs']]
assert names == ['real', 'base', 'controlnet', 'stable_pose'], names
for x in r['runs']:
    assert 0 <= x['pose']['AP'] <= 1 and x['pose']['PCE'] >= 0, x['pose']
    assert set(x['pose_by_group']) <= {'front', 'side', 'back', 'mixed'} and x['pose_by_group'], x['pose_by_group'].keys()
\""
check "the table is printed" "grep -q '| stable_pose |' '$work/demo.log'"
check "count-free prompts: 8 jobs naming the background only, sampled by all three, their own report" "'$python' -c \"
import json, os
jobs = json.load(open('$work/demo/jobs_count_free.json'))['jobs']
assert len(jobs) == 8 and all(j['prompt'].startswith('figures on a') for j in jobs), [j['prompt'] for j in jobs]
captioned = json.load(open('$work/demo/jobs.json'))['jobs']
assert [j['seeds'] for j in jobs] == [j['seeds'] for j in captioned]
for run in ('base', 'controlnet', 'stable_pose'):
    assert len(os.listdir('$work/demo/samples_count_free/' + run + '/images')) == 8, run
r = json.load(open('$work/demo/report_count_free/report.json'))
assert [x['name'] for x in r['runs']] == ['base', 'controlnet', 'stable_pose'], r['runs']
\" && grep -q 'Count-free prompts' '$work/demo.log'"
# The VAE ceiling diagnostic on the same run: the real images decoded through the toy VAE, scored beside them.
"$python" "$root/scripts/toyworld/vae_roundtrip.py" --demo "$work/demo" --stablepose "$build/stablepose" > "$work/vae.log" 2>&1
check "vae_roundtrip: 8 decoded images scored beside the real ones" "[ $? -eq 0 ] && '$python' -c \"
import json
r = json.load(open('$work/demo/vae_roundtrip/report/report.json'))
assert [x['name'] for x in r['runs']] == ['real', 'vae_roundtrip'], r['runs']
assert 0 <= r['runs'][1]['pose']['AP'] <= 1
assert sum(1 for _ in open('$work/demo/vae_roundtrip/manifest.jsonl')) == 8
\" || { tail -20 '$work/vae.log'; false; }"
"$python" "$root/scripts/toyworld/vae_roundtrip.py" --demo "$work/nowhere" > "$work/vae_bad.log" 2>&1
check "vae_roundtrip: a missing run folder is named" "[ $? -ne 0 ] && grep -q 'nowhere/real/manifest.jsonl is missing' '$work/vae_bad.log'"
# The PCE breakdown on the same samples: its PCE per run is the report's (same detector, same counting rule), and
# the paired interval against the base model is given for the other runs.
s=$work/demo/samples
"$python" "$root/scripts/toyworld/pce_breakdown.py" base=$s/base controlnet=$s/controlnet stable_pose=$s/stable_pose \
  --bootstrap 200 --json "$work/pce.json" > "$work/pce.log" 2>&1
check "pce_breakdown: the report's PCE per run, intervals against the base model" "[ $? -eq 0 ] && '$python' -c \"
import json
report = {x['name']: x['pose']['PCE'] for x in json.load(open('$work/demo/report/report.json'))['runs']}
rows = json.load(open('$work/pce.json'))
assert list(rows) == ['base', 'controlnet', 'stable_pose'], list(rows)
for name, row in rows.items():
    assert abs(row['pce'] - report[name]) < 1e-9, (name, row['pce'], report[name])
    assert row['images'] == 8 and sum(row['histogram'].values()) == 8, row
    assert abs(row['exact'] + row['too_many'] + row['too_few'] - 1) < 1e-9, row
    surplus = sum(int(k) * v for k, v in row['histogram'].items() if int(k) > 0)
    assert row['scores']['surplus_detections'] == surplus, (row['scores'], surplus)
    assert sorted(row['scores']['pce_at_cutoff']) == ['0.2', '0.3', '0.4', '0.5'], row['scores']
    if name != 'base':
        d = row['pce_minus_base']
        assert d['ci95'][0] <= d['mean'] <= d['ci95'][1], d
        assert abs(d['mean'] - (row['pce'] - rows['base']['pce'])) < 1e-9, d
\" || { cat '$work/pce.log'; false; }"
"$python" "$root/scripts/toyworld/demo_panel.py" "$work/demo" "$work/panel.png" --jobs 0,3,6 > "$work/panel.log" 2>&1
check "demo_panel: three rows of six 128 px tiles" "[ $? -eq 0 ] && '$python' -c \"
import cv2
assert cv2.imread('$work/panel.png').shape == (384, 768, 3)
\" || { cat '$work/panel.log'; false; }"
"$python" "$root/scripts/toyworld/demo_panel.py" "$work/demo" "$work/panel_bad.png" --jobs 0,99 > "$work/panel_bad.log" 2>&1
check "demo_panel: a job the demo does not have is refused" "[ $? -ne 0 ] && grep -q 'not in every run' '$work/panel_bad.log'"
"$python" "$root/scripts/toyworld/pce_breakdown.py" base=$work/nowhere > "$work/pce_bad.log" 2>&1
check "pce_breakdown: a folder without a manifest is refused" "[ $? -ne 0 ] && grep -q 'stablepose sample' '$work/pce_bad.log'"
# The skeleton-branch probe on the 4-step Stable-Pose run: one row per checkpoint; zero_convs.0 starts at zero
# and moves by at most a few Adam steps of lr 5e-4, so p is still small while the encoder's output is not.
"$python" "$root/scripts/toyworld/branch_probe.py" --demo "$work/demo" --count 4 --stablepose "$build/stablepose" \
  "$work/demo/train_stable_pose" > "$work/probe.log" 2>&1
check "branch_probe: encoder, p and cond_conv(p) RMS per checkpoint" "[ $? -eq 0 ] && '$python' -c \"
rows = [l.split('\\t') for l in open('$work/probe.log').read().splitlines()[1:]]
assert len(rows) == 1 and rows[0][0].endswith('adapter.safetensors'), rows
enc, p, c = map(float, rows[0][1:])
assert enc > 1e-3 and p < 0.1 and c > 0, (enc, p, c)
\" || { cat '$work/probe.log'; false; }"
demo > "$work/rerun.log" 2>&1
check "a rerun resumes: nothing trained or sampled again" \
  "[ $? -eq 0 ] && [ \$(grep -c 'already trained' '$work/rerun.log') -eq 2 ] && grep -q '0 images written, 8 already there' '$work/rerun.log' || { tail -30 '$work/rerun.log'; false; }"
# --modes: one adapter only (on a copy of the finished run: nothing to train or sample, a report of three rows).
cp -r "$work/demo" "$work/one_mode" && rm -rf "$work/one_mode/report" "$work/one_mode/report_count_free"
STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/one_mode" --steps 4 --train-count 24 \
  --eval-count 8 --sample-steps 3 --device cpu --modes stable_pose > "$work/one_mode.log" 2>&1
check "--modes stable_pose: the report has real, base and stable_pose only" "[ $? -eq 0 ] && '$python' -c \"
import json
r = json.load(open('$work/one_mode/report/report.json'))
assert [x['name'] for x in r['runs']] == ['real', 'base', 'stable_pose'], [x['name'] for x in r['runs']]
r = json.load(open('$work/one_mode/report_count_free/report.json'))
assert [x['name'] for x in r['runs']] == ['base', 'stable_pose'], [x['name'] for x in r['runs']]
\" || { tail -20 '$work/one_mode.log'; false; }"
STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/bad_count" --count-free-count some \
  > "$work/bad_count.log" 2>&1
check "--count-free-count that is not a number: exit 2, the value named" \
  "[ $? -eq 2 ] && grep -q \"got 'some'\" '$work/bad_count.log' && [ ! -d '$work/bad_count' ]"
STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/bad_mode" --modes "stable_pose posenet" \
  > "$work/bad_mode.log" 2>&1
check "--modes with an unknown mode: exit 2, the mode named" \
  "[ $? -eq 2 ] && grep -q \"unknown adapter mode 'posenet'\" '$work/bad_mode.log' && [ ! -d '$work/bad_mode' ]"
# A training that fails beside the other (side by side on the CPU): exit 1, the modes and their logs named.
STABLEPOSE_BUILD_DIR=$build "$root/scripts/demo.sh" --no-setup --out "$work/bad_train" --steps 0 --train-count 8 \
  --eval-count 4 --device cpu > "$work/bad_train.log" 2>&1
check "a failed side-by-side training: exit 1, the modes and their logs named" \
  "[ $? -eq 1 ] && grep -q 'training failed for: stable_pose controlnet' '$work/bad_train.log' && grep -q 'train.epochs' '$work/bad_train/train_controlnet.log' || { tail -20 '$work/bad_train.log'; false; }"
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
