#!/usr/bin/env python3
"""CLI test of `stablepose eval report` (pose columns): a generated sample folder (manifest.jsonl with keypoints,
images) and detections, evaluated by the tool, against xtcocotools' COCOeval on the ground truth built from the
manifest as evaluation.md §3 describes (a direct transcription, independent of the C++ code), and the person
count error by hand. Also the TorchScript detector transport with a scripted "oracle" detector that finds the
joint dots drawn in the images, per-group (scenario) rows, and clear failures. With the golden metric networks
(tests/reference/make_metrics_golden.py), the FID, KID and CLIP-score columns: the report's JSON against
`stablepose eval fid` / `eval clip-score` on the same folders, and its Markdown and CSV rows against its JSON.

Usage: eval_report_cli_check.py STABLEPOSE_BINARY WORK_DIR GOLDEN_METRICS_DIR
"""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

THRESHOLD = 0.02


def make_sample_folder(root, rng, n=12):
    """Images with one dot per labelled joint (colour = joint index) and a manifest with the GT people."""
    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(n):
        img = np.zeros((64, 64, 3), np.uint8)
        people = []
        for _ in range(int(rng.integers(1, 3))):
            joints = []
            for j in range(17):
                x, y = float(rng.uniform(2, 62)), float(rng.uniform(2, 62))
                c = float(rng.choice([0.9, 0.5, 0.01]))
                joints.append([x, y, c])
            people.append(joints)
        if i == 3:
            people[0] = [[-1, -1, 0]] * 17  # a person without labelled joints
        cv2.imwrite(str(root / "images" / f"im{i}.png"), img)
        entry = {"image": f"images/im{i}.png", "prompt": "p", "seed": i, "job": f"j{i}",
                 "pose": {"schema": "coco17", "width": 64, "height": 64, "people": people},
                 "scenario": ["front", "side", "back"][i % 3]}
        lines.append(entry)
    (root / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return lines


def ground_truth(lines):
    """evaluation.md §3, clean boxes: joints <= 0.02 missing, a person counts with any x > 0."""
    images, anns = [], []
    for i, e in enumerate(lines):
        images.append({"id": i})
        for s, person in enumerate(e["pose"]["people"][:10]):
            kp = []
            for x, y, c in person:
                if not c > THRESHOLD:
                    x, y, c = -1.0, -1.0, 0.0
                kp += [float(np.float32(x)), float(np.float32(y)), float(np.float32(c))]
            xs, ys, cs = kp[0::3], kp[1::3], kp[2::3]
            labelled = sum(1 for x in xs if x > 0)
            if labelled == 0:
                continue
            lx = [x for x, c in zip(xs, cs) if c > 0]
            ly = [y for y, c in zip(ys, cs) if c > 0]
            anns.append({"id": i * 10 + s, "image_id": i, "category_id": 1, "iscrowd": 0, "keypoints": kp,
                         "num_keypoints": labelled, "bbox": [min(lx), min(ly), max(lx) - min(lx), max(ly) - min(ly)],
                         "area": (max(ly) - min(ly)) * (max(lx) - min(lx))})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


def detections(gt, rng):
    """Noisy copies of the GT, some dropped, some extra."""
    out = []
    for a in gt["annotations"]:
        if rng.random() < 0.2:
            continue
        kp = list(a["keypoints"])
        for j in range(17):
            kp[3 * j] += float(rng.normal(0, 2))
            kp[3 * j + 1] += float(rng.normal(0, 2))
            kp[3 * j + 2] = float(rng.uniform(0.1, 1))
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp, "score": float(rng.uniform(0.2, 1))})
    out.append({"image_id": 0, "category_id": 1, "keypoints": [10.0, 10.0, 0.5] * 17, "score": 0.3})
    return out


def coco_ap(gt, dts):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from xtcocotools_compat import keypoint_stats  # xtcocotools under numpy 2
    return keypoint_stats(gt, dts)[0]


def pce(gt, dts):
    errs = []
    for im in gt["images"]:
        g = sum(1 for a in gt["annotations"] if a["image_id"] == im["id"])
        d = sum(1 for x in dts if x["image_id"] == im["id"])
        errs.append(abs(g - d))
    return float(np.mean(errs))


class FailingDetector(torch.nn.Module):
    """Has the detector's signature, but its forward fails on any image (a shape error in matmul)."""

    def forward(self, image: torch.Tensor):
        bad = torch.matmul(image.float(), torch.zeros(5, 5))
        return bad, bad


class OracleDetector(torch.nn.Module):
    """Finds the brightest pixel of each of 17 colour planes: a deterministic stand-in for a real network."""

    def forward(self, image: torch.Tensor):
        x = image.float()
        h, w = x.shape[0], x.shape[1]
        if float(x[:, :, 0].max()) < 100.0:  # the dots are red-dominant: nothing there (or channels swapped)
            return torch.zeros(0, 17, 3), torch.zeros(0)
        kp = torch.zeros(1, 17, 3)
        for j in range(17):
            v = x[:, :, 0] - torch.abs(x[:, :, 1] - 10.0 * j)
            idx = int(torch.argmax(v.flatten()))
            kp[0, j, 0] = float(idx % w)
            kp[0, j, 1] = float(idx // w)
            kp[0, j, 2] = 1.0
        return kp, torch.ones(1)


def check_quality_columns(binary, work, metrics):
    """FID, KID x 1000 and CLIP-score: report.json equals the single-metric commands, and the tables show it; with
    scenario labels on both sets the FID/KID columns are the unweighted scenario means (Stable-Pose's protocol)."""
    failures = []
    inception, clip = metrics / "inception" / "inception.pt", metrics / "clip"
    # The same images as scenario-labelled manifests (3 + 2 images; KID per scenario needs more than 2 fakes).
    labelled = {}
    for name, folder in [("real", metrics / "real"), ("fake", metrics / "clip_set")]:
        images = sorted(folder.glob("*.png"))
        out = work / f"labelled_{name}"
        out.mkdir()
        (out / "manifest.jsonl").write_text("".join(
            json.dumps({"path": str(im.resolve()), "prompt": "p", "scenario": "a" if i < 3 else "b"}) + "\n"
            for i, im in enumerate(images)))
        labelled[name] = out
    cases = [("whole", metrics / "real", metrics / "clip_set", "fid", "kid", "FID/KID: the whole set."),
             ("scenarios", labelled["real"], labelled["fake"], "fid_mean", "kid_mean",
              "FID/KID: unweighted mean over 2 scenarios")]
    for case, real, fakes, fid_key, kid_key, note in cases:
        out = work / f"report_{case}"
        proc = subprocess.run([binary, "eval", "report", "--run", f"q={fakes}", "--reference", str(real),
                               "--inception", str(inception), "--clip", str(clip), "--kid-subset-size", "2",
                               "--feature-cache", str(work / "features"), "--device", "cpu", "-o", str(out)],
                              capture_output=True, text=True)
        fid = subprocess.run([binary, "eval", "fid", "--real", str(real), "--fake", str(fakes), "--inception",
                              str(inception), "--kid-subset-size", "2", "--no-cache", "--device", "cpu", "--quiet"],
                             capture_output=True, text=True)
        score = subprocess.run([binary, "eval", "clip-score", "--images", str(fakes), "--clip", str(clip),
                                "--device", "cpu", "--quiet"], capture_output=True, text=True)
        if proc.returncode != 0 or fid.returncode != 0 or score.returncode != 0:
            failures.append(f"{case}: a command failed: {proc.stderr} {fid.stderr} {score.stderr}")
            continue
        want_fid, want_clip = json.loads(fid.stdout), json.loads(score.stdout)
        if case == "scenarios":
            want_fid = want_fid["per_scenario"]
        want = {"FID": want_fid[fid_key],
                "KID_x1000": 1000 * (want_fid[kid_key]["mean"] if case == "whole" else want_fid[kid_key]),
                "CLIP_score": want_clip["clip_score"]}
        md = (out / "report.md").read_text()
        header, line = (out / "report.csv").read_text().splitlines()[:2]
        csv_row = dict(zip(header.split(","), line.split(",")))
        md_cells = [c.strip() for c in next(r for r in md.splitlines() if r.startswith("| q |")).strip("|").split("|")]
        print(f"{case}: eval fid / clip-score {want}; report.csv {csv_row}")
        for k, md_index in [("FID", 4), ("KID_x1000", 5), ("CLIP_score", 6)]:
            if not csv_row.get(k) or abs(float(csv_row[k]) - want[k]) > 1e-6 * max(1.0, abs(want[k])):
                failures.append(f"{case}: report.csv {k} {csv_row.get(k)!r} != eval command {want[k]}")
            if md_cells[md_index] != f"{want[k]:.2f}":
                failures.append(f"{case}: report.md {k} {md_cells[md_index]!r} != eval command {want[k]:.2f}")
        report_clip = json.loads((out / "report.json").read_text())["runs"][0]["clip"]
        if abs(report_clip["mean_unclamped"] - want_clip["mean_unclamped"]) > 1e-9:  # the score itself clamps at 0
            failures.append(f"{case}: CLIP mean {report_clip['mean_unclamped']} != {want_clip['mean_unclamped']}")
        if note not in md:
            failures.append(f"{case}: report.md does not say {note!r}: {md}")
    return failures


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    if work.exists():
        import shutil
        shutil.rmtree(work)
    work.mkdir(parents=True)
    rng = np.random.default_rng(3)
    lines = make_sample_folder(work / "run", rng)
    gt = ground_truth(lines)
    dts = detections(gt, rng)
    (work / "dt.json").write_text(json.dumps(dts))
    failures = []

    proc = subprocess.run([binary, "eval", "report", "--run", f"ours={work / 'run'}", "--detections",
                           f"ours={work / 'dt.json'}", "-o", str(work / "report")], capture_output=True, text=True)
    if proc.returncode != 0:
        failures.append(f"report failed: {proc.stderr}")
    else:
        report = json.loads((work / "report" / "report.json").read_text())
        row = report["runs"][0]["pose"]
        want_ap, want_pce = coco_ap(gt, dts), pce(gt, dts)
        print(f"AP ours {row['AP']} xtcocotools {want_ap}; PCE ours {row['PCE']} by hand {want_pce}")
        if abs(row["AP"] - want_ap) > 1e-12:
            failures.append(f"AP {row['AP']} != xtcocotools {want_ap}")
        if abs(row["PCE"] - want_pce) > 1e-12:
            failures.append(f"PCE {row['PCE']} != {want_pce}")
        groups = report["runs"][0].get("pose_by_group", {})
        if sorted(groups) != ["back", "front", "side"]:
            failures.append(f"groups: {sorted(groups)}")
        for g, v in groups.items():
            ids = [i for i, e in enumerate(lines) if e["scenario"] == g]
            sub_gt = {"images": [{"id": k} for k in range(len(ids))], "categories": gt["categories"],
                      "annotations": [dict(a, image_id=ids.index(a["image_id"]),
                                           id=ids.index(a["image_id"]) * 10 + a["id"] % 10)
                                      for a in gt["annotations"] if a["image_id"] in ids]}
            sub_dt = [dict(d, image_id=ids.index(d["image_id"])) for d in dts if d["image_id"] in ids]
            want = coco_ap(sub_gt, sub_dt)
            if abs(v["AP"] - want) > 1e-12:
                failures.append(f"group {g}: AP {v['AP']} != {want}")
        md = (work / "report" / "report.md").read_text()
        if "| ours |" not in md or "AP" not in md:
            failures.append(f"markdown table missing: {md}")
        if not (work / "report" / "report.csv").read_text().startswith("run,AP_x100,CAP_x100,PCE,FID,KID_x1000,CLIP_score\n"):
            failures.append("csv header")

    # The TorchScript transport: the oracle detector on images with one dot per joint (colour 10 * j).
    det_dir = work / "detector"
    det_dir.mkdir()
    scripted = torch.jit.script(OracleDetector())
    scripted.save(str(det_dir / "detector.pt"))
    (det_dir / "detector.json").write_text(json.dumps({"format": "stablepose.pose-detector", "format_version": 1,
                                                       "name": "oracle", "channel_order": "rgb"}))
    dot_run = work / "dots"
    (dot_run / "images").mkdir(parents=True)
    people = [[[float(5 + 3 * j), float(5 + 2 * j), 0.9] for j in range(17)]]
    img = np.zeros((64, 64, 3), np.uint8)
    for j, (x, y, _) in enumerate(people[0]):
        img[int(y), int(x)] = (200, 10 * j, 0)  # RGB
    cv2.imwrite(str(dot_run / "images" / "a.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    (dot_run / "manifest.jsonl").write_text(json.dumps({"image": "images/a.png", "prompt": "p", "pose": {
        "schema": "coco17", "width": 64, "height": 64, "people": people}}) + "\n")
    proc = subprocess.run([binary, "eval", "report", "--run", f"dots={dot_run}", "--detector", str(det_dir),
                           "-o", str(work / "report_dots"), "--device", "cpu"], capture_output=True, text=True)
    if proc.returncode != 0:
        failures.append(f"detector report failed: {proc.stderr}")
    else:
        row = json.loads((work / "report_dots" / "report.json").read_text())["runs"][0]["pose"]
        if abs(row["AP"] - 1.0) > 1e-12 or row["PCE"] != 0:
            failures.append(f"oracle detector: AP {row['AP']} PCE {row['PCE']} (expected 1 and 0)")
    proc = subprocess.run([binary, "eval", "report", "--run", f"dots={dot_run}", "--detector", str(det_dir),
                           "--swap-channels", "-o", str(work / "report_swap"), "--device", "cpu"],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        row = json.loads((work / "report_swap" / "report.json").read_text())["runs"][0]["pose"]
        if row["AP"] > 0.5:
            failures.append(f"swapped channels should break the oracle: AP {row['AP']}")

    # A detector whose forward fails inside the TorchScript interpreter (a runtime_error, not a c10::Error):
    # a clear error naming the contract, exit 1, not an "unexpected failure".
    bad_dir = work / "bad_detector"
    bad_dir.mkdir()
    torch.jit.script(FailingDetector()).save(str(bad_dir / "detector.pt"))
    (bad_dir / "detector.json").write_text((det_dir / "detector.json").read_text())
    proc = subprocess.run([binary, "eval", "report", "--run", f"dots={dot_run}", "--detector", str(bad_dir),
                           "-o", str(work / "report_bad"), "--device", "cpu"], capture_output=True, text=True)
    if proc.returncode != 1 or "pose detector: forward failed" not in proc.stderr or "unexpected" in proc.stderr:
        failures.append(f"failing detector: expected a clear error, got {proc.returncode}: {proc.stderr[-600:]}")

    failures += check_quality_columns(binary, work, Path(sys.argv[3]))

    for args, text in [(["--run", f"x={work / 'absent'}", "--detections", f"x={work / 'dt.json'}"], "not found"),
                       (["--run", "bad"], "NAME=PATH"),
                       (["--run", f"ours={work / 'run'}", "--detector", str(work)], "detector.pt"),
                       (["--run", f"ours={work / 'run'}", "--inception", str(work / 'x.pt')], "--reference"),
                       (["--run", f"ours={work / 'run'}"], "nothing to measure"),
                       (["--run", f"ours={work / 'run'}", "--detector", str(det_dir), "--aggregation", "batch-mean",
                         "--batch-size", "0"], "must be positive")]:
        proc = subprocess.run([binary, "eval", "report", *args, "-o", str(work / "err")], capture_output=True, text=True)
        if proc.returncode == 0 or text not in proc.stderr:
            failures.append(f"{args}: expected a failure mentioning {text!r}, got {proc.returncode}: {proc.stderr}")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
