#!/usr/bin/env bash
# `stablepose sample` from the command line on the tiny exported SD: the quick form, a job file with a bad job
# (exit 1, the others written), malformed files (clear message, nothing written), the PNG metadata as Pillow
# reads it, and `bench sample`.
# usage: sample_cli_test.sh STABLEPOSE PYTHON FIXTURES_DIR GOLDEN_DIR WORK_DIR
set -u
tool=$1 python=$2 fixtures=$3 golden=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }
model=$golden/tiny_sd

"$tool" sample --pose "$fixtures/two_people.json" --prompt "two figures" --model "$model" -o "$work/quick" \
  --width 64 --height 64 --steps 2 --count 2 --panels --device cpu > "$work/quick.log" 2>&1
check "quick form succeeds" "[ $? -eq 0 ] || { cat '$work/quick.log'; false; }"
check "quick form writes two images" "[ -s '$work/quick/images/two_people_s42.png' ] && [ -s '$work/quick/images/two_people_s43.png' ]"
check "quick form manifest has two lines" "[ \$(wc -l < '$work/quick/manifest.jsonl') -eq 2 ]"
check "Pillow reads the metadata" "'$python' -c \"
from PIL import Image; import json
m = json.loads(Image.open('$work/quick/images/two_people_s43.png').text['stablepose.generation'])
assert m['seed'] == 43 and m['prompt'] == 'two figures' and m['settings']['steps'] == 2, m
\""

cat > "$work/jobs.json" <<JSON
{"defaults": {"width": 64, "height": 64, "steps": 2},
 "jobs": [{"name": "good", "pose": "$fixtures/two_people.json", "prompt": "a"},
          {"name": "bad_size", "pose": "$fixtures/two_people.json", "prompt": "b", "height": 100},
          {"name": "missing", "pose": "$work/nope.json", "prompt": "c"}]}
JSON
"$tool" sample "$work/jobs.json" --model "$model" -o "$work/jobs" --device cpu > "$work/jobs.log" 2>&1
rc=$?
check "a bad job: non-zero exit" "[ $rc -ne 0 ]"
check "a bad job: the good one is written" "[ -s '$work/jobs/images/good_s42.png' ]"
check "a bad job: named with its index" "grep -q 'job 1 (bad_size)' '$work/jobs.log' && grep -q 'job 2 (missing)' '$work/jobs.log'"
before=$(sha256sum "$work/jobs/images/good_s42.png")
"$tool" sample "$work/jobs.json" --model "$model" -o "$work/jobs" --device cpu > "$work/rerun.log" 2>&1
check "rerun keeps finished images" "[ \"\$(sha256sum '$work/jobs/images/good_s42.png')\" = '$before' ] && grep -q '1 already there' '$work/rerun.log'"

expect_failure() {  # name, expected text, args...
  local name=$1 text=$2; shift 2
  "$tool" sample "$@" > "$work/err.log" 2>&1
  local rc=$?
  check "$name: non-zero exit" "[ $rc -ne 0 ]"
  check "$name: message mentions '$text'" "grep -qF -- '$text' '$work/err.log' || { cat '$work/err.log'; false; }"
}
echo '{"jobs": [' > "$work/broken.json"
expect_failure "malformed JSON" "not valid JSON" "$work/broken.json" --model "$model" -o "$work/broken"
check "malformed JSON writes nothing" "[ ! -e '$work/broken/manifest.jsonl' ]"
echo '{"jobs": [], "defaultz": {}}' > "$work/key.json"
expect_failure "unknown top-level key" "unknown top-level key" "$work/key.json" --model "$model" -o "$work/key"
expect_failure "missing job file" "job file not found" "$work/absent.json" --model "$model" -o "$work/absent"
expect_failure "both forms" "exactly one of the two" "$work/jobs.json" --pose x.json --prompt y --model "$model" -o "$work/x"
expect_failure "wrong model folder" "model.json" --pose "$fixtures/two_people.json" --prompt y --model "$work" -o "$work/y"
expect_failure "quick form, bad size" "multiple of 64" --pose "$fixtures/two_people.json" --prompt y --model "$model" -o "$work/z" --width 65
expect_failure "--pose-size with a JSON pose" "--pose-size is for an .npz pose" --pose "$fixtures/two_people.json" --prompt y --model "$model" -o "$work/ps" --pose-size 64 64
expect_failure "quick-form flag with a job file" "--steps belongs to the quick form" "$work/jobs.json" --model "$model" -o "$work/jobs" --steps 3
touch "$work/a_file"
expect_failure "output path is a file" "file system:" --pose "$fixtures/two_people.json" --prompt y --model "$model" -o "$work/a_file" --width 64 --height 64 --steps 1
check "output path is a file: exit 1, not an unexpected failure" "! grep -q unexpected '$work/err.log'"
mkdir -p "$work/mdir/manifest.jsonl"
expect_failure "manifest path is a folder" "a folder has that name" --pose "$fixtures/two_people.json" --prompt y --model "$model" -o "$work/mdir" --width 64 --height 64 --steps 1
check "manifest path is a folder: the reason, not 'Success'" "! grep -q 'found:    Success' '$work/err.log'"

"$tool" bench sample --model "$model" --width 64 --height 64 --steps 2 --repeats 1 --device cpu > "$work/bench.log" 2>&1
check "bench sample prints seconds per image and the command" "grep -q seconds_per_image '$work/bench.log' && grep -q '\"command\": \"stablepose bench sample.*--steps 2 ' '$work/bench.log' || { cat '$work/bench.log'; false; }"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
