#!/usr/bin/env python3
"""Where the person count error (PCE, evaluation.md §6) of sample folders comes from, and how far apart two
runs' PCE must be before 120 images can tell them apart.

For each `stablepose sample` folder it runs the toy detector (TorchScript, as `eval report --detector` does)
on every image, counts the detections against the manifest's people (those with a joint at x > 0) and prints:
PCE, the share of images counted right, too many and too few, the mean surplus and deficit, and the
histogram of #detected - #GT. It also splits the detections' scores: in each image the #GT highest-scoring
detections (the ones a right count keeps) against the rest (the surplus), as medians, and gives the PCE that
score cut-offs of 0.2 to 0.5 would leave (a diagnostic of where the surplus sits; the metric itself counts
every detection the detector returns, evaluation.md §6). Against the first folder it prints the paired difference of PCE with a 95 %
bootstrap interval over images (the same images and seeds in both folders, so the pairing holds).

    scripts/toyworld/pce_breakdown.py NAME=DIR [NAME=DIR ...] [--detector assets/toyworld/detector]
                                      [--bootstrap 10000] [--json OUT.json]

Its PCE is the one `stablepose eval report` prints for the same folders (the clean, every-image loop).
"""
import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def counts(folder, module):
    """(#GT, #detected, the detections' scores, highest first) per manifest line of a sample folder."""
    gt, scores = [], []
    with torch.no_grad():
        for line in (folder / "manifest.jsonl").read_text().splitlines():
            entry = json.loads(line)
            people = entry["pose"]["people"]
            gt.append(sum(1 for person in people if any(x > 0 for x, _, _ in person)))
            bgr = cv2.imread(str(folder / entry["image"]), cv2.IMREAD_COLOR)
            if bgr is None:
                sys.exit(f"error: cannot read {folder / entry['image']} (listed in {folder / 'manifest.jsonl'})")
            _, score = module(torch.from_numpy(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))))
            scores.append(sorted(score.tolist(), reverse=True))
    return np.array(gt), np.array([len(s) for s in scores]), scores


CUTOFFS = (0.2, 0.3, 0.4, 0.5)


def score_split(gt, scores):
    """Median score of the #GT best detections per image and of the surplus, and PCE at higher cut-offs."""
    kept = [x for g, s in zip(gt, scores) for x in s[:g]]
    surplus = [x for g, s in zip(gt, scores) for x in s[g:]]
    median = lambda xs: float(np.median(xs)) if xs else None
    return {"median_score_kept": median(kept), "median_score_surplus": median(surplus), "surplus_detections": len(surplus),
            "pce_at_cutoff": {str(c): float(np.mean([abs(g - sum(1 for x in s if x >= c)) for g, s in zip(gt, scores)]))
                              for c in CUTOFFS}}


def summary(gt, det):
    diff = det - gt
    return {"images": int(len(gt)), "pce": float(np.abs(diff).mean()),
            "exact": float((diff == 0).mean()), "too_many": float((diff > 0).mean()),
            "too_few": float((diff < 0).mean()), "mean_surplus": float(np.clip(diff, 0, None).mean()),
            "mean_deficit": float(np.clip(-diff, 0, None).mean()),
            "histogram": {int(k): int(v) for k, v in sorted(Counter(diff.tolist()).items())}}


def paired_interval(errors_a, errors_b, draws, rng):
    """Mean of errors_b - errors_a and its 95 % percentile-bootstrap interval, resampling images."""
    delta = errors_b - errors_a
    picks = rng.integers(0, len(delta), size=(draws, len(delta)))
    means = delta[picks].mean(axis=1)
    return float(delta.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="NAME=DIR: a `stablepose sample` output folder (the first is the baseline)")
    p.add_argument("--detector", default=str(ROOT / "assets" / "toyworld" / "detector"))
    p.add_argument("--bootstrap", type=int, default=10000, help="bootstrap draws (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    runs = []
    for spec in args.runs:
        name, sep, folder = spec.partition("=")
        if not sep or not (Path(folder) / "manifest.jsonl").is_file():
            sys.exit(f"error: expected NAME=DIR with DIR/manifest.jsonl (a `stablepose sample` folder), got {spec!r}")
        runs.append((name, Path(folder)))
    torch.set_num_threads(1)
    module = torch.jit.load(str(Path(args.detector) / "detector.pt"))
    rng = np.random.default_rng(args.seed)
    results, base_errors, base_gt = {}, None, None
    for name, folder in runs:
        gt, det, scores = counts(folder, module)
        if len(gt) == 0:
            sys.exit(f"error: {folder / 'manifest.jsonl'} lists no image (did the sampling run fail? see its log)")
        row = summary(gt, det)
        row["scores"] = score_split(gt, scores)
        errors = np.abs(det - gt).astype(float)
        if base_errors is None:
            base_name, base_errors, base_gt = name, errors, gt
        elif len(gt) != len(base_gt) or (gt != base_gt).any():
            sys.exit(f"error: {name} and {base_name} do not list the same people per image; pair runs of one job file")
        else:
            mean, lo, hi = paired_interval(base_errors, errors, args.bootstrap, rng)
            row["pce_minus_" + base_name] = {"mean": mean, "ci95": [lo, hi]}
        results[name] = row
        print(f"{name}: PCE {row['pce']:.3f} over {row['images']} images; counted right {row['exact']:.0%}, "
              f"too many {row['too_many']:.0%} (mean surplus {row['mean_surplus']:.3f}), too few "
              f"{row['too_few']:.0%} (mean deficit {row['mean_deficit']:.3f}); #detected - #GT: {row['histogram']}")
        sc = row["scores"]
        fmt = lambda x: "-" if x is None else f"{x:.2f}"
        print(f"  scores: median {fmt(sc['median_score_kept'])} for the #GT best per image, "
              f"{fmt(sc['median_score_surplus'])} for the {sc['surplus_detections']} surplus ones; PCE at cut-offs "
              + ", ".join(f"{c}: {v:.3f}" for c, v in sc["pce_at_cutoff"].items()))
        if "pce_minus_" + base_name in row:
            d = row["pce_minus_" + base_name]
            print(f"  PCE - PCE({base_name}) = {d['mean']:+.3f}, 95 % bootstrap interval over images "
                  f"[{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
