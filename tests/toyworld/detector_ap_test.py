#!/usr/bin/env python3
"""The committed toy-world detector (assets/toyworld/detector, scripts/toyworld/train_detector.py) on a fresh
held-out split (generator seed 4242, never used in training), scored by `stablepose eval coco`:

- AP (xtcocotools rules, occluded joints labelled v = 1) at least MIN_AP, and equal to xtcocotools' COCOeval on
  the same files; on the same images blurred (Gaussian, sigma 2 px) at least MIN_AP_BLUR;
- negative controls: the same detections shifted 10 px right, and with left/right joints swapped, score far
  lower (at most SHIFT_MAX_FRACTION, SWAP_MAX_FRACTION of the AP);
- printed, not asserted: the people it finds on textures without anybody (detector_textures.texture, the smeared
  backgrounds a small diffusion model paints). The committed detector finds about 1.4 per image, a known
  weakness that inflates PCE on generated images (docs/toyworld.md, "Textured negatives");
- the C++ transport: `stablepose eval report --detector` loads detector.pt in LibTorch (metadata, sha256, the
  64x64 blank probe), runs it on the PNGs, and gets the AP that the Python run gives on the manifest's ground
  truth (evaluation.md §3: occluded joints missing), within 1e-3.

Usage: detector_ap_test.py STABLEPOSE_BINARY DETECTOR_DIR WORK_DIR
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "toyworld"))
sys.path.insert(0, str(ROOT / "tests" / "eval"))
import train_detector as td  # noqa: E402  (ground truth, detections, xtcocotools: shared with the training run)
from detector_textures import false_people_on_textures  # noqa: E402
from eval_report_cli_check import ground_truth as manifest_ground_truth  # noqa: E402  (evaluation.md §3)

SEED, COUNT = 4242, 60
MIN_AP = 0.60
MIN_AP_BLUR = 0.55
SHIFT_MAX_FRACTION = 0.3
SWAP_MAX_FRACTION = 0.3


def eval_coco(binary, work, name, gt, dts):
    (work / f"{name}_dt.json").write_text(json.dumps(dts))
    return td.stablepose_stats(binary, work / "gt.json", work / f"{name}_dt.json")["stats"]


def main():
    binary, detector_dir, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    torch.set_num_threads(1)
    td.generate(binary, work / "data", "validation", COUNT, SEED)
    samples = td.load_split(work / "data", "validation")
    module = torch.jit.load(str(detector_dir / "detector.pt"))
    dts = td.run_detector(module, samples)
    gt = td.coco_ground_truth(samples)
    (work / "gt.json").write_text(json.dumps(gt))
    failures = []

    stats = eval_coco(binary, work, "detector", gt, dts)
    xt = td.keypoint_stats(gt, dts)
    ap = stats[0]
    print(f"AP {ap:.4f} (AP50 {stats[1]:.4f}, AP75 {stats[2]:.4f}) on {len(samples)} images, "
          f"{len(gt['annotations'])} people, {len(dts)} detections; xtcocotools {xt[0]:.4f}")
    if ap < MIN_AP:
        failures.append(f"AP {ap:.4f} < {MIN_AP}")
    if max(abs(a - b) for a, b in zip(stats, xt)) > 1e-9:
        failures.append(f"stablepose eval coco {stats} != xtcocotools {xt}")

    blur_ap = eval_coco(binary, work, "blur", gt, td.run_detector(module, samples, "blur"))[0]
    print(f"blurred (sigma 2 px): AP {blur_ap:.4f}")
    if blur_ap < MIN_AP_BLUR:
        failures.append(f"blurred: AP {blur_ap:.4f} < {MIN_AP_BLUR}")

    shifted = [dict(d, keypoints=[v + 10.0 if i % 3 == 0 else v for i, v in enumerate(d["keypoints"])]) for d in dts]
    swapped = [dict(d, keypoints=[v for j in td.FLIP for v in d["keypoints"][3 * j:3 * j + 3]]) for d in dts]
    for name, file, bad, fraction in [("shifted 10 px", "shifted", shifted, SHIFT_MAX_FRACTION),
                                      ("left/right swapped", "swapped", swapped, SWAP_MAX_FRACTION)]:
        bad_ap = eval_coco(binary, work, file, gt, bad)[0]
        print(f"negative control, {name}: AP {bad_ap:.4f} ({bad_ap / max(ap, 1e-9):.2f} of the detector's)")
        if bad_ap > fraction * ap:
            failures.append(f"{name}: AP {bad_ap:.4f} > {fraction} x {ap:.4f}")

    empty = false_people_on_textures(module, 200, SEED)
    print(f"textures without anybody: {empty['people_per_image']:.3f} people per image, "
          f"{empty['images_with_people']:.0%} of the images with any")

    # The C++ transport on a manifest of the same images.
    lines = []
    for sample in samples:
        lines.append({"image": f"data/images/{sample.key}.png", "prompt": sample.key, "pose": {
            "schema": "coco17", "width": sample.rgb.shape[1], "height": sample.rgb.shape[0],
            "people": sample.keypoints.tolist()}})
    (work / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    proc = subprocess.run([binary, "eval", "report", "--run", f"toy={work}", "--detector", str(detector_dir),
                           "--device", "cpu", "-o", str(work / "report")], capture_output=True, text=True)
    if proc.returncode != 0:
        failures.append(f"eval report --detector failed: {proc.stderr}")
    else:
        row = json.loads((work / "report" / "report.json").read_text())["runs"][0]["pose"]
        want = td.keypoint_stats(manifest_ground_truth(lines), dts)[0]
        print(f"eval report --detector (C++ LibTorch): AP {row['AP']:.4f}, PCE {row['PCE']:.3f}; "
              f"Python TorchScript on the same GT: AP {want:.4f}")
        if abs(row["AP"] - want) > 1e-3:
            failures.append(f"C++ detector AP {row['AP']} != Python {want}")
        if row["AP"] < MIN_AP:
            failures.append(f"C++ detector AP {row['AP']:.4f} < {MIN_AP}")

    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
