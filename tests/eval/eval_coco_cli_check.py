#!/usr/bin/env python3
"""CLI test of `stablepose eval coco`: the printed "stats" against the golden xtcocotools / pycocotools / CAP
numbers of tests/reference/make_coco_golden.py (1e-12), the batch mean, and the clear failures.

Usage: eval_coco_cli_check.py STABLEPOSE_BINARY GOLDEN_DIR
"""
import json
import math
import subprocess
import sys
from pathlib import Path

MODE_ARGS = {"oks_xtcocotools": [], "oks_pycocotools": ["--convention", "pycocotools"],
             "cap_xtcocotools": ["--metric", "cap"],
             "cap_xtcocotools_reference": ["--metric", "cap", "--cap-reference-compat"]}


def run(binary, *args):
    return subprocess.run([binary, "eval", "coco", *args], capture_output=True, text=True, timeout=120)


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-12


def main():
    binary, golden_dir = sys.argv[1], Path(sys.argv[2])
    golden = json.loads((golden_dir / "coco_eval.json").read_text())
    failures, checked = [], 0
    for name in ("edge", "random1", "two_categories"):
        case = golden["cases"][name]
        files = ["--gt", str(golden_dir / case["gt"]), "--dt", str(golden_dir / case["dt"])]
        for mode, extra in MODE_ARGS.items():
            want = case["modes"][mode]
            proc = run(binary, *files, *extra)
            if "error" in want:
                if proc.returncode == 0 or "no labelled joint" not in proc.stderr:
                    failures.append(f"{name} {mode}: expected a clear failure, got {proc.returncode}: {proc.stderr}")
                continue
            if proc.returncode != 0:
                failures.append(f"{name} {mode}: rc {proc.returncode}: {proc.stderr}")
                continue
            out = json.loads(proc.stdout)
            diff = max(abs(a - b) for a, b in zip(out["stats"], want["stats"]))
            if len(out["stats"]) != 10 or diff > 1e-12:
                failures.append(f"{name} {mode}: stats differ by {diff}: {out['stats']} vs {want['stats']}")
            if not close(out["pce"], case["pce"]["every_image"]):
                failures.append(f"{name} {mode}: pce {out['pce']} vs {case['pce']['every_image']}")
            checked += 1
    batches = golden["batches"]["reference_like"]
    case = golden["cases"]["reference_like"]
    proc = run(binary, "--gt", str(golden_dir / case["gt"]), "--dt", str(golden_dir / case["dt"]),
               "--aggregation", "batch-mean", "--pce-reference-compat")
    out = json.loads(proc.stdout) if proc.returncode == 0 else None
    want = batches["modes"]["oks_xtcocotools"]["stats"]
    if out is None or max(abs(a - b) for a, b in zip(out["stats"], want)) > 1e-12 \
            or not close(out["pce"], batches["pce"]["reference_index_shift"]) or out["batches"] != batches["batches"]:
        failures.append(f"batch mean: {proc.returncode} {proc.stdout} {proc.stderr}")
    checked += 1
    proc = run(binary, "--gt", str(golden_dir / "missing_gt.json"), "--dt", str(golden_dir / case["dt"]))
    if proc.returncode == 0 or "cannot open" not in proc.stderr or "hint" not in proc.stderr:
        failures.append(f"missing file: rc {proc.returncode}: {proc.stderr}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} eval coco runs compared with the golden stats; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
