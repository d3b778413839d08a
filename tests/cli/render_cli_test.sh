#!/usr/bin/env bash
# `stablepose render` end to end: outputs on good input; a clear message and a non-zero exit on bad input,
# with earlier outputs left untouched.   usage: render_cli_test.sh STABLEPOSE FIXTURES_DIR WORK_DIR
set -u
tool=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

# Good input: every output file, masks at the latent grid.
"$tool" render "$fixtures/two_people.json" -o "$work/good" > "$work/good.log" 2>&1
check "render succeeds" "[ $? -eq 0 ]"
for f in skeleton.png mask_k23.png mask_k13.png masks_preview.png joints.png condition.json; do
  check "writes $f" "[ -s '$work/good/$f' ]"
done
check "masks at the latent grid" "grep -q '\"grid\": \[' '$work/good/condition.json' && grep -A2 '\"grid\"' '$work/good/condition.json' | grep -q 64"
"$tool" render "$fixtures/two_people.json" -o "$work/wide" --size 768x512 --phase training > /dev/null 2>&1
check "non-square size" "[ $? -eq 0 ] && grep -q 768 '$work/wide/condition.json'"
"$tool" render "$fixtures/two_people.json" -o "$work/preset" --config "$fixtures/../../configs/stable_pose_sd15.json" > /dev/null 2>&1
check "preset config" "[ $? -eq 0 ] && cmp -s '$work/preset/mask_k13.png' '$work/good/mask_k13.png'"
before=$(sha256sum "$work/good/skeleton.png")

# Bad input: expect a non-zero exit and a message naming the problem.
expect_failure() {  # name, expected text, args...
  local name=$1 text=$2; shift 2
  "$tool" render "$@" > "$work/err.log" 2>&1
  local rc=$?
  check "$name: non-zero exit" "[ $rc -ne 0 ]"
  check "$name: message mentions '$text'" "grep -qF -- '$text' '$work/err.log' || { cat '$work/err.log'; false; }"
}
printf '{"format": "stablepose.pose", "version": 1, "width": 64, ' > "$work/truncated.json"
expect_failure "malformed JSON" "not valid JSON" "$work/truncated.json" -o "$work/good"
sed 's/\[136.0, 100.0, 0.9\]/[NaN, 100.0, 0.9]/' "$fixtures/two_people.json" > "$work/nan.json"
expect_failure "NaN coordinate" "NaN" "$work/nan.json" -o "$work/good"
python3 - "$fixtures/two_people.json" "$work" <<'PY'
import json, sys
pose = json.load(open(sys.argv[1]))
json.dump(dict(pose, people=[]), open(sys.argv[2] + "/empty.json", "w"))
json.dump(dict(pose, width=-512), open(sys.argv[2] + "/negative.json", "w"))
json.dump(dict(pose, width=500, height=500), open(sys.argv[2] + "/odd_size.json", "w"))
pose["people"][1]["keypoints"][16] = [1.0, None, 0.5]
json.dump(pose, open(sys.argv[2] + "/null_joint.json", "w"))
PY
expect_failure "empty person list" "person list is empty" "$work/empty.json" -o "$work/good"
expect_failure "negative size in the file" '"width" must be a positive integer' "$work/negative.json" -o "$work/good"
expect_failure "negative --size" "bad image size" "$fixtures/two_people.json" -o "$work/good" --size=-512x512
expect_failure "size not a multiple of 8" "--size" "$work/odd_size.json" -o "$work/good"
expect_failure "null coordinate names person and joint" "person 1, joint 16 (right_ankle)" "$work/null_joint.json" -o "$work/good"
expect_failure "missing file" "no such file" "$work/does_not_exist.json" -o "$work/good"
expect_failure "missing output option" "output" "$fixtures/two_people.json"
expect_failure "huge --size" "image size too large" "$fixtures/two_people.json" -o "$work/good" --size 100000x100000
expect_failure "a folder as the pose file" "a folder" "$work" -o "$work/good"
expect_failure "NaN mask threshold" "threshold must be a finite number" "$fixtures/two_people.json" -o "$work/good" --mask-threshold nan
check "failed runs left earlier outputs alone" "[ \"\$(sha256sum '$work/good/skeleton.png')\" = \"$before\" ]"

echo "$failures failure(s)"
exit $((failures > 0))
