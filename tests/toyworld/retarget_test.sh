#!/usr/bin/env bash
# scripts/export_sd.py --retarget: the shipped toy model traced again (here for the CPU, as on a GPU machine
# for CUDA) is the same model: the sampler draws pixel-identical images from both. A folder that is not an
# export is refused with its reason.
#   retarget_test.sh STABLEPOSE PYTHON REPO WORK_DIR
set -euo pipefail
tool=$1 py=$2 repo=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$py" "$repo/scripts/export_sd.py" --retarget "$repo/assets/toyworld/base_model" "$work/model" --device cpu > "$work/export.log" 2>&1 ||
  { cat "$work/export.log"; exit 1; }
grep -q '"kind": "retarget"' "$work/model/model.json" || { echo "FAIL: model.json does not record the retarget"; exit 1; }
for m in "$repo/assets/toyworld/base_model" "$work/model"; do
  name=$(basename "$m")
  "$tool" sample --model "$m" --pose "$repo/assets/examples/two_people.json" --prompt "a red figure on a sandy background" \
    --count 2 --width 128 --height 128 --steps 8 -o "$work/samples_$name" --device cpu > /dev/null 2>&1
done
"$py" - "$work/samples_base_model/images" "$work/samples_model/images" <<'PY'
import sys, pathlib
import numpy as np
from PIL import Image
a, b = map(pathlib.Path, sys.argv[1:3])
files = sorted(a.glob("*.png"))
assert len(files) == 2, files
for f in files:
    x, y = np.asarray(Image.open(f)), np.asarray(Image.open(b / f.name))
    assert x.shape == y.shape and (x == y).all(), f"{f.name}: max difference {np.abs(x.astype(int) - y).max()}"
print("retargeted model: pixel-identical samples")
PY
mkdir -p "$work/not_a_model" && echo '{"format": "something else"}' > "$work/not_a_model/model.json"
if "$py" "$repo/scripts/export_sd.py" --retarget "$work/not_a_model" "$work/out2" > "$work/bad.log" 2>&1; then
  echo "FAIL: a folder that is not an export was accepted"; exit 1
fi
grep -q "not a stablepose.frozen-sd folder" "$work/bad.log" || { echo "FAIL: unclear error"; cat "$work/bad.log"; exit 1; }
echo "export_sd.py --retarget: ok"
