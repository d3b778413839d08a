#!/usr/bin/env python3
"""The README's panel image from a `scripts/demo.sh` run folder: one row per held-out job, with the columns
real image | base model | ControlNet mode | Stable-Pose | the pose condition | the Stable-Pose sample with the
toy detector's keypoints. The last two tiles are the right two of `stablepose sample --panels`' own panel.

    scripts/toyworld/demo_panel.py DEMO_DIR OUT.png [--jobs 0,3,6]

The rows of docs/images/toyworld_demo_panel.png are jobs 0, 3 and 6 of the demo's 120 held-out poses.
"""
import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

RUNS = ("base", "controlnet", "stable_pose")


def manifest(folder):
    """job index -> manifest entry of a sample (or real-image) folder."""
    path = folder / "manifest.jsonl"
    if not path.is_file():
        sys.exit(f"error: {path} is missing: expected a `scripts/demo.sh --out` folder with real/ and samples/")
    return {e["job_index"]: e for e in map(json.loads, path.read_text().splitlines())}


def read(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"error: cannot read {path}")
    return image


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("demo", type=Path, help="the demo's run folder (scripts/demo.sh --out)")
    p.add_argument("out", type=Path, help="the PNG to write")
    p.add_argument("--jobs", default="0,3,6", help="held-out job indices, one row each (default 0,3,6)")
    args = p.parse_args(argv)
    real = manifest(args.demo / "real")
    samples = {run: manifest(args.demo / "samples" / run) for run in RUNS}
    rows = []
    for job in (int(j) for j in args.jobs.split(",")):
        if job not in real or any(job not in s for s in samples.values()):
            sys.exit(f"error: job {job} is not in every run of {args.demo} (it has {len(real)} held-out jobs)")
        tiles = [read(args.demo / "real" / real[job]["image"])]
        tiles += [read(args.demo / "samples" / run / samples[run][job]["image"]) for run in RUNS]
        panel = read(args.demo / "samples" / "stable_pose" / "panels" / Path(samples["stable_pose"][job]["image"]).name)
        size = tiles[0].shape[0]
        tiles += [panel[:, panel.shape[1] - 2 * size:]]
        rows.append(np.concatenate([cv2.resize(t, (t.shape[1] * size // t.shape[0], size)) for t in tiles], 1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.concatenate(rows, 0))
    print(f"wrote {args.out}: jobs {args.jobs}, columns real | " + " | ".join(RUNS) + " | pose | keypoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
