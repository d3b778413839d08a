#!/usr/bin/env python3
"""The size of the Stable-Pose adapter's skeleton branch: the RMS of the pose encoder's output, of
p = feature_extractor.zero_convs.0(...) and of cond_conv(p), on the first held-out skeletons of a demo run,
for each saved adapter checkpoint. cond_conv(p) is added to features that a GroupNorm without affine
parameters has just brought to unit variance (stable-pose.md section 4), so values far above a few mean the
skeleton term swamps the block; values near 0 mean it hardly registers (docs/toyworld.md, "The demo").

    scripts/toyworld/branch_probe.py [--demo out/demo] [--count 8] CHECKPOINT_OR_ADAPTER...

Each argument is an adapter.safetensors, a checkpoint folder holding one, or a training run folder (all its
checkpoints, in step order). The skeletons are drawn by `stablepose render` with the toy preset.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
# The pose encoder's convolutions in order, with their strides (stable-pose.md section 3); SiLU after each.
ENCODER = [("pre_extractor.0", 1), ("pre_extractor.2", 2), ("pre_extractor.4", 1), ("pre_extractor.6", 2),
           ("pre_extractor.8", 1), ("extractors.0.0", 2)]


def adapters(arg):
    path = Path(arg)
    if path.is_file():
        return [path]
    if (path / "adapter.safetensors").is_file() and not (path / "checkpoints").is_dir():
        return [path / "adapter.safetensors"]
    found = sorted((path / "checkpoints").glob("step-*/adapter.safetensors"))
    if not found:
        sys.exit(f"branch_probe.py: {arg} holds no adapter.safetensors (expected a file, a checkpoint folder "
                 "or a training run folder with checkpoints/step-*/)")
    return found


def skeletons(tool, data, count, config):
    """[count, 3, H, W] in [-1, 1]: the held-out poses drawn as the adapter's input."""
    split = data / "toyworld_validation.json"
    if not split.is_file():
        sys.exit(f"branch_probe.py: {split} is missing (expected a scripts/demo.sh run folder as --demo)")
    meta = json.loads(split.read_text())
    w, h = meta["width"], meta["height"]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            npz = data / "pose" / f"validation_{i:06d}.npz"
            if not npz.is_file():
                sys.exit(f"branch_probe.py: {npz} is missing (expected a demo run's data/ with {count} held-out "
                         "poses; run scripts/demo.sh first or lower --count)")
            people = np.load(npz, allow_pickle=True)["arr_0"]
            pose = {"format": "stablepose.pose", "version": 1, "schema": "coco17", "width": w, "height": h,
                    "people": [{"keypoints": np.asarray(p["keypoints"]).tolist()} for p in people]}
            (Path(tmp) / f"{i}.json").write_text(json.dumps(pose))
            subprocess.run([str(tool), "render", f"{tmp}/{i}.json", "-o", f"{tmp}/{i}", "--config", str(config)],
                           check=True, capture_output=True)
            rgb = cv2.cvtColor(cv2.imread(f"{tmp}/{i}/skeleton.png", cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            out.append(torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1))
    return torch.stack(out)


def branch(weights, x):
    """(encoder output, p, cond_conv(p)) for skeletons x."""
    def conv(h, name, stride=1):
        return F.conv2d(h, weights[name + ".weight"], weights[name + ".bias"], stride=stride, padding=1)
    h = x
    for name, stride in ENCODER:
        h = F.silu(conv(h, "feature_extractor." + name, stride))
    p = conv(h, "feature_extractor.zero_convs.0")
    return h, p, conv(p, "down_blocks.0.resnets.0.cond_conv")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapters", nargs="+", help="adapter.safetensors files, checkpoint or run folders")
    ap.add_argument("--demo", default=str(ROOT / "out" / "demo"), help="a scripts/demo.sh run folder")
    ap.add_argument("--count", type=int, default=8, help="held-out skeletons to apply the branch to")
    ap.add_argument("--config", default=str(ROOT / "configs" / "toyworld_stable_pose.json"))
    ap.add_argument("--stablepose", default=str(ROOT / "build" / "stablepose"))
    args = ap.parse_args(argv)
    x = skeletons(args.stablepose, Path(args.demo) / "data", args.count, args.config)
    rms = lambda t: float(t.pow(2).mean().sqrt())
    print("adapter\tencoder_rms\tp_rms\tcond_conv_rms")
    for path in [a for arg in args.adapters for a in adapters(arg)]:
        weights = load_file(str(path))
        if "down_blocks.0.resnets.0.cond_conv.weight" not in weights:
            sys.exit(f"branch_probe.py: {path} has no cond_conv (a ControlNet-mode adapter? expected stable_pose)")
        with torch.no_grad():
            h, p, c = branch(weights, x)
        print(f"{path}\t{rms(h):.4g}\t{rms(p):.4g}\t{rms(c):.4g}")


if __name__ == "__main__":
    main()
