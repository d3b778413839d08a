#!/usr/bin/env bash
# `stablepose toyworld generate` end to end, read back with numpy exactly as HumanSD's loader reads it
# (np.load(..., allow_pickle=True)['arr_0']), plus clear failures on bad options.
#   usage: toyworld_cli_test.sh STABLEPOSE PYTHON WORK_DIR
set -u
tool=$1 python=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
failures=0
check() { if ! eval "$2"; then echo "FAIL: $1"; failures=$((failures + 1)); else echo "ok: $1"; fi; }

"$tool" toyworld generate --out "$work/data" --count 12 --size 128 --seed 3 --split-name training > "$work/gen.log" 2>&1
check "generate succeeds" "[ $? -eq 0 ] || { cat '$work/gen.log'; false; }"
check "reports images/s" "grep -q 'images/s' '$work/gen.log'"
"$python" - "$work/data" <<'PY'
import json, struct, sys, zipfile
from pathlib import Path
import numpy as np

root = Path(sys.argv[1])
mapping = json.load(open(root / "mapping_file_training.json"))
meta = json.load(open(root / "toyworld_training.json"))
ids = list(mapping)
assert ids == [f"training_{i:06d}" for i in range(12)], ids
assert meta["count"] == 12 and meta["seed"] == 3 and meta["split"] == "training", meta["count"]
views = set()
for i, key in enumerate(ids):
    entry, info = mapping[key], meta["samples"][key]
    assert set(entry) == {"img_path", "pose_path", "prompt"}, entry
    assert entry["prompt"] == info["prompt"] and info["index"] == i
    png = (root / entry["img_path"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (128, 128)
    with zipfile.ZipFile(root / entry["pose_path"]) as z:
        assert z.namelist() == ["arr_0.npy"], z.namelist()
    people = np.load(root / entry["pose_path"], allow_pickle=True)["arr_0"]
    assert people.dtype == object and people.shape == (len(info["people"]),), (people.dtype, people.shape)
    for person, pm in zip(people, info["people"]):
        k = person["keypoints"]
        assert k.dtype == np.float32 and k.shape == (17, 3), (k.dtype, k.shape)
        assert isinstance(person["score"], np.float32) and isinstance(person["area"], np.float32)
        assert set(np.unique(k[:, 2]).tolist()) <= {0.0, np.float32(0.01), 1.0}, k[:, 2]
        assert int((k[:, 2] > 0.02).sum()) == pm["visible_joints"]
        inside = (k[:, 0] >= 0) & (k[:, 1] >= 0) & (k[:, 0] < 128) & (k[:, 1] < 128)
        assert np.all(k[~inside, 2] == 0.0) and np.all(k[inside, 2] > 0.0), k
        x, y, w, h = pm["bbox"]
        assert w > 0 and h >= 64 and 0 <= x and x + w <= 128 + 1e-6 and abs(person["area"] - w * h) < 1e-2 * w * h
        assert pm["colour"] in entry["prompt"]
        views.add(pm["view"])
    assert meta["samples"][key]["background"] in entry["prompt"]
assert len(views) >= 2, views
print("numpy check passed:", len(ids), "samples, views", sorted(views))
PY
check "mapping, images and npz read back with numpy" "[ $? -eq 0 ]"

"$tool" toyworld generate --out "$work/again" --count 12 --seed 3 --threads 1 > /dev/null 2>&1
check "same seed, other thread count: identical files" \
  "diff -r '$work/data/images' '$work/again/images' && diff -r '$work/data/pose' '$work/again/pose' && cmp -s '$work/data/mapping_file_training.json' '$work/again/mapping_file_training.json'"

expect_failure() {  # name, expected text, args...
  local name=$1 text=$2; shift 2
  "$tool" toyworld generate "$@" > "$work/err.log" 2>&1
  local rc=$?
  check "$name: non-zero exit" "[ $rc -ne 0 ]"
  check "$name: message mentions '$text'" "grep -qF -- '$text' '$work/err.log' || { cat '$work/err.log'; false; }"
}
expect_failure "unknown split" "split-name" --out "$work/bad" --split-name test
expect_failure "zero count" "--count must be positive" --out "$work/bad" --count 0
expect_failure "tiny size" "--size out of range" --out "$work/bad" --size 8
expect_failure "no output" "--out" --count 3

echo "$failures failure(s)"
exit $((failures > 0))
