#!/usr/bin/env bash
# `stablepose data check` end to end on the generated datasets (tests/reference/make_data_golden.py): exit 0
# and statistics on good data; exit 1 naming the offenders on a broken copy.
#   usage: data_check_cli_test.sh STABLEPOSE GOLDEN_DATASETS_DIR WORK_DIR
set -u
tool=$1 datasets=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

# Good data in each format.
for f in humansd/mapping_file_training.json humanart/annotations/training_humanart_cartoon.json manifest/manifest.jsonl; do
  "$tool" data check "$datasets/$f" > "$work/good.log" 2>&1
  check "$f passes" "[ $? -eq 0 ] || { cat '$work/good.log'; false; }"
  check "$f reports people and captions" "grep -q '^people: ' '$work/good.log' && grep -q '^captions (tokens)' '$work/good.log'"
done
check "humansd counts samples" "'$tool' data check '$datasets/humansd/mapping_file_training.json' | grep -q 'humansd dataset: 3 samples, 3 checked'"

# A broken copy: one image gone, one image not an image, one pose file corrupt.
cp -r "$datasets/humansd" "$work/broken"
rm "$work/broken/images/real_human/cartoon/1000000000303.png"
echo "not a png" > "$work/broken/images/real_human/dance/00000_000000000.png"
printf 'PK\003\004garbage' > "$work/broken/pose/real_human/oil_painting/0999.npz"
"$tool" data check "$work/broken/mapping_file_training.json" > "$work/broken.log" 2>&1
rc=$?
check "broken: exit 1" "[ $rc -eq 1 ]"
check "broken: names the missing image" "grep -q 'missing image: .*entry .1000000000303.: .*cartoon/1000000000303.png' '$work/broken.log'"
check "broken: names the unreadable image" "grep -q 'unreadable image: .*00000_000000000.png' '$work/broken.log'"
check "broken: names the corrupt pose" "grep -q 'unreadable pose: .*0999.npz' '$work/broken.log'"
check "broken: counts the errors" "grep -q '3 problems that would stop training' '$work/broken.log'"
"$tool" data check --no-decode "$work/broken/mapping_file_training.json" > "$work/nodecode.log" 2>&1
check "--no-decode skips decoding" "[ $? -eq 1 ] && ! grep -q 'unreadable image:' '$work/nodecode.log' && grep -q '2 problems' '$work/nodecode.log'"

# Bad JSON and a folder instead of a file.
printf '{"a": {"img_path": ' > "$work/bad.json"
"$tool" data check "$work/bad.json" > "$work/bad.log" 2>&1
check "bad JSON: exit 1, file named" "[ $? -eq 1 ] && grep -q 'bad.json: invalid JSON' '$work/bad.log'"
"$tool" data check "$datasets/humansd" > "$work/folder.log" 2>&1
check "folder: names the JSON inside" "[ $? -eq 1 ] && grep -q 'mapping_file_training.json' '$work/folder.log'"
printf '{}' > "$work/empty.json"
"$tool" data check --format humansd "$work/empty.json" > "$work/empty.log" 2>&1
check "empty mapping: exit 1, no samples" "[ $? -eq 1 ] && grep -q 'holds no samples' '$work/empty.log'"

[ $failures -eq 0 ] && echo "all data check CLI tests passed" || { echo "$failures failures"; exit 1; }
