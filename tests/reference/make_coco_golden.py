#!/usr/bin/env python3
"""Reference outputs for the pose-accuracy metrics (evaluation.md §4-§7), for tests/eval/*_test.cpp.

- OKS AP: xtcocotools' and pycocotools' own COCOeval (iouType 'keypoints') on generated GT / results files.
- CAP: the same COCOeval classes with the similarity replaced by a direct transcription of §5 (both the
  corrected form and the reference's "y := x" form), as HumanSD's COCOevalSimilarity replaces it.
- PCE: a direct transcription of §6 (every image, and the reference's index-shifted loop).
- Aggregation (§7): dataset level, and the mean over batches of 4 with drop_last.

The fixtures cover ties in score and in OKS, crowd and ignored GT, GT areas on the range boundaries, images
with GT but no detections and detections but no GT, annotation id 0, detections with no positive joint score,
more than maxDets detections in one image, two categories, and several random sets.

Usage: make_coco_golden.py OUT_DIR   (writes OUT_DIR/coco_eval/*.json and OUT_DIR/coco_eval.json)
"""
import contextlib
import io
import json
import math
import sys
from pathlib import Path

import numpy as np

SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
BATCH = 4  # Stable-Pose's eval_pose.py batch size (drop_last=True)


sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from xtcocotools_compat import import_xtcocotools  # noqa: E402  (xtcocotools under numpy 2)

XtCOCO, XtCOCOeval, XT_MASK_STUBBED = import_xtcocotools()
from pycocotools.coco import COCO as PyCOCO  # noqa: E402
from pycocotools.cocoeval import COCOeval as PyCOCOeval  # noqa: E402

LIBRARIES = {"xtcocotools": (XtCOCO, XtCOCOeval), "pycocotools": (PyCOCO, PyCOCOeval)}

# ---------------------------------------------------------------------------------------------------------
# §5 CAP and §6 PCE, transcribed from the spec
# ---------------------------------------------------------------------------------------------------------


def cap_similarity(gt_keypoints, dt_keypoints, reference):
    """Weighted pose cosine similarity (§5). reference=True: the detection's y vector is built from its x
    ("y := x"), NaN stays NaN, and a GT without labelled joint raises as np.max([]) does in the reference."""
    g = np.array(gt_keypoints, dtype=np.float64)
    d = np.array(dt_keypoints, dtype=np.float64)
    xg, yg, vg = g[0::3] / SIGMAS, g[1::3] / SIGMAS, g[2::3]
    xd, yd = d[0::3] / SIGMAS, d[1::3] / SIGMAS
    keep = vg > 0
    if not keep.any():
        if reference:
            raise ValueError("zero-size array to reduction operation maximum which has no identity")
        return -math.inf
    xg, yg, xd, yd = xg[keep], yg[keep], xd[keep], yd[keep]
    with np.errstate(all="ignore"):
        xg = (xg - np.min(xg)) / (np.max(xg) - np.min(xg))
        yg = (yg - np.min(yg)) / (np.max(yg) - np.min(yg))
        xd = (xd - np.min(xd)) / (np.max(xd) - np.min(xd))
        yd = (yd - np.min(yd)) / (np.max(yd) - np.min(yd))
        xg = xg / np.sqrt((xg ** 2).sum())
        yg = yg / np.sqrt((yg ** 2).sum())
        xd = xd / np.sqrt((xd ** 2).sum())
        yd = (xd if reference else yd) / np.sqrt((yd ** 2).sum())
        g_ = np.concatenate((xg, yg))
        d_ = np.concatenate((xd, yd))
        s = np.sum(g_ * d_) / (np.linalg.norm(g_) * np.linalg.norm(d_))
    if math.isnan(s) and not reference:
        return -math.inf  # clean mode: an undefined similarity is no match
    return float(s)


def cap_class(base, reference):
    """`base` (a COCOeval) with OKS replaced by the §5 similarity; matching and accumulation unchanged."""

    class CapEval(base):
        def computeOks(self, imgId, catId):
            p = self.params
            gts = self._gts[imgId, catId]
            dts = self._dts[imgId, catId]
            inds = np.argsort([-d["score"] for d in dts], kind="mergesort")
            dts = [dts[i] for i in inds][0:p.maxDets[-1]]
            if len(gts) == 0 or len(dts) == 0:
                return []
            sims = np.zeros((len(dts), len(gts)))
            for j, gt in enumerate(gts):
                for i, dt in enumerate(dts):
                    sims[i, j] = cap_similarity(gt["keypoints"], dt["keypoints"], reference)
            return sims

    return CapEval


def counted_gt(ann):
    """§6: a GT person counts when at least one joint has x > 0."""
    return any(x > 0 for x in ann["keypoints"][0::3])


def pce(gt, dts, loop):
    """§6. Images are indexed by their position in gt['images'] (the reference's image id is the batch index)."""
    position = {img["id"]: i for i, img in enumerate(gt["images"])}
    n_gt = [0] * len(gt["images"])
    n_dt = [0] * len(gt["images"])
    for ann in gt["annotations"]:
        n_gt[position[ann["image_id"]]] += counted_gt(ann)
    for dt in dts:
        n_dt[position[dt["image_id"]]] += 1
    if loop == "every_image":
        return float(np.mean([abs(a - b) for a, b in zip(n_gt, n_dt)]))
    n = sum(1 for c in n_gt if c > 0)  # len(gt_coco.imgToAnns): images holding at least one GT
    if n == 0:
        return None  # np.mean([]) is NaN
    return float(np.mean([abs(n_gt[i] - n_dt[i]) for i in range(n)]))


# ---------------------------------------------------------------------------------------------------------
# Running the libraries
# ---------------------------------------------------------------------------------------------------------


def run_cocoeval(gt_path, dt_path, library, metric, reference=False):
    coco_cls, eval_cls = LIBRARIES[library]
    if metric == "cap":
        eval_cls = cap_class(eval_cls, reference)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_cls(str(gt_path))
        dt = gt.loadRes(str(dt_path))
        ev = eval_cls(gt, dt, "keypoints")
        try:
            ev.evaluate()
        except ValueError as e:
            return {"error": str(e)}
        ev.accumulate()
        ev.summarize()
    return {"stats": [float(s) for s in ev.stats],
            "precision": [float(v) for v in ev.eval["precision"].reshape(-1)],  # [T, R, K, A, M=1]
            "recall": [float(v) for v in ev.eval["recall"].reshape(-1)]}        # [T, K, A, M=1]


MODES = [(lib, metric, ref) for metric in ("oks", "cap") for lib in ("xtcocotools", "pycocotools")
         for ref in ((False, True) if metric == "cap" else (False,))]


def mode_name(library, metric, reference):
    return f"{metric}_{library}" + ("_reference" if reference else "")


def write_json(path, doc):
    path.write_text(json.dumps(doc), encoding="utf-8")


def evaluate_case(out_dir, name, gt, dts):
    case_dir = out_dir / "coco_eval"
    gt_path, dt_path = case_dir / f"{name}_gt.json", case_dir / f"{name}_dt.json"
    write_json(gt_path, gt)
    write_json(dt_path, dts)
    modes = {mode_name(*m): run_cocoeval(gt_path, dt_path, *m) for m in MODES}
    return {"gt": str(gt_path.relative_to(out_dir)), "dt": str(dt_path.relative_to(out_dir)), "modes": modes,
            "pce": {loop: pce(gt, dts, loop) for loop in ("every_image", "reference_index_shift")}}


def batch_means(out_dir, name, gt, dts):
    """§7 reference protocol: consecutive batches of BATCH images in gt['images'] order, drop_last; in each batch
    the image ids become the batch positions 0..B-1 and the detections are numbered anew (loadRes); a batch
    without any detection (where the reference's loadRes fails) has all ten stats 0 (evaluation.md §3)."""
    images = gt["images"]
    batches = [images[i:i + BATCH] for i in range(0, len(images) - BATCH + 1, BATCH)]
    rows = {mode_name(*m): [] for m in MODES}
    pces = {"every_image": [], "reference_index_shift": []}
    without_detections = 0
    for b, batch in enumerate(batches):
        remap = {img["id"]: i for i, img in enumerate(batch)}
        sub_gt = {"images": [dict(img, id=remap[img["id"]]) for img in batch], "categories": gt["categories"],
                  "annotations": [dict(a, image_id=remap[a["image_id"]]) for a in gt["annotations"]
                                  if a["image_id"] in remap]}
        sub_dt = [dict(d, image_id=remap[d["image_id"]]) for d in dts if d["image_id"] in remap]
        for loop in pces:
            pces[loop].append(pce(sub_gt, sub_dt, loop))
        if not sub_dt:
            without_detections += 1
            for rows_of_mode in rows.values():
                rows_of_mode.append([0.0] * 10)
            continue
        result = evaluate_case(out_dir, f"{name}_batch{b}", sub_gt, sub_dt)
        for mode, r in result["modes"].items():
            assert "error" not in r, f"{name} batch {b} {mode}: {r['error']}"
            rows[mode].append(r["stats"])
    modes = {}
    for mode, stats in rows.items():
        stats = np.array(stats)
        modes[mode] = {"stats": [float(v) for v in stats.mean(axis=0)],
                       "batches_ap_minus_one": int(np.count_nonzero(stats[:, 0] == -1))}
    pce_means = {loop: (None if any(v is None for v in vals) else float(np.mean(vals)))
                 for loop, vals in pces.items()}
    return {"batch_size": BATCH, "batches": len(batches), "images_dropped": len(images) - BATCH * len(batches),
            "batches_without_detections": without_detections, "modes": modes, "pce": pce_means}


# ---------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------


def person(cx, cy, scale, rng, visible=None):
    """17 joints around (cx, cy) spread by `scale`; v = 2 where visible (default all)."""
    xs = cx + rng.uniform(-1, 1, 17) * scale
    ys = cy + rng.uniform(-1, 1, 17) * scale
    vs = np.full(17, 2.0) if visible is None else np.where(visible, 2.0, 0.0)
    return np.stack([xs, ys, vs], 1)


def gt_ann(ann_id, image_id, kp, area=None, bbox=None, iscrowd=0, num_keypoints=None, category_id=1):
    kp = np.asarray(kp, dtype=np.float64)
    lab = kp[kp[:, 2] > 0]
    if bbox is None:
        pts = lab if len(lab) else kp
        (x0, y0), (x1, y1) = pts[:, :2].min(0), pts[:, :2].max(0)
        bbox = [x0, y0, x1 - x0, y1 - y0]
    if area is None:
        area = bbox[2] * bbox[3]
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": iscrowd,
            "keypoints": [float(v) for v in kp.reshape(-1)], "bbox": [float(v) for v in bbox], "area": float(area),
            "num_keypoints": int(np.count_nonzero(kp[:, 2] > 0)) if num_keypoints is None else num_keypoints}


def dt_res(image_id, kp, score, category_id=1):
    return {"image_id": image_id, "category_id": category_id, "score": float(score),
            "keypoints": [float(v) for v in np.asarray(kp, dtype=np.float64).reshape(-1)]}


def with_scores(kp, scores):
    kp = np.array(kp, dtype=np.float64)
    kp[:, 2] = scores
    return kp


def edge_case():
    rng = np.random.default_rng(7)
    images = [{"id": i, "width": 512, "height": 512} for i in range(11)]
    anns, dts = [], []
    # Image 0: GT id 0 and an identical GT id 1 (OKS ties: the later GT takes the match); tied scores.
    a = person(200, 200, 40, rng)
    anns += [gt_ann(0, 0, a), gt_ann(1, 0, a)]
    dts += [dt_res(0, with_scores(a, 0.9), 0.9), dt_res(0, with_scores(a, 0.8), 0.9),
            dt_res(0, with_scores(a + [[3, -2, 0]], 0.7), 0.5)]
    # Image 1: a crowd GT and a normal GT; detections on both.
    c, n = person(100, 100, 60, rng), person(350, 300, 30, rng)
    anns += [gt_ann(10, 1, c, iscrowd=1), gt_ann(11, 1, n)]
    dts += [dt_res(1, with_scores(c + rng.normal(0, 4, (17, 3)) * [1, 1, 0], 0.6), 0.8),
            dt_res(1, with_scores(c + rng.normal(0, 8, (17, 3)) * [1, 1, 0], 0.6), 0.7),
            dt_res(1, with_scores(n + rng.normal(0, 2, (17, 3)) * [1, 1, 0], 0.6), 0.7)]
    # Image 2: GT without labelled joint (box branch of OKS), GT with v > 0 but num_keypoints 0 (ignored by
    # pycocotools only), GT with all v = 0 but num_keypoints 5 (ignored by xtcocotools only).
    z = person(150, 150, 30, rng, visible=np.zeros(17, bool))
    v = person(300, 150, 30, rng)
    w = person(150, 350, 30, rng, visible=np.zeros(17, bool))
    anns += [gt_ann(20, 2, z, bbox=[120.0, 120.0, 60.0, 60.0], area=3600.0),
             gt_ann(21, 2, v, num_keypoints=0), gt_ann(22, 2, w, bbox=[120.0, 320.0, 60.0, 60.0], area=3600.0,
                                                       num_keypoints=5)]
    dts += [dt_res(2, with_scores(person(150, 150, 50, rng), 0.5), 0.66),
            dt_res(2, with_scores(v + rng.normal(0, 3, (17, 3)) * [1, 1, 0], 0.5), 0.66),
            dt_res(2, with_scores(person(150, 350, 20, rng), 0.5), 0.4)]
    # Image 3: GT areas on the range boundaries and just beside them; detections whose own box is 32x32 / 96x96.
    for k, area in enumerate([1024.0, 9216.0, 1023.9999999, 9216.0000001, 0.0]):
        p = person(60 + 90 * k, 250, 12 + 6 * k, rng)
        if area == 0.0:  # one labelled joint, area 0: OKS degenerates to exact match
            p[1:, 2] = 0
        anns.append(gt_ann(30 + k, 3, p, area=area))
        dts.append(dt_res(3, with_scores(p + rng.normal(0, 1.5, (17, 3)) * [1, 1, 0], 0.3), 0.2 + 0.1 * k))
    box32 = person(60, 400, 10, rng)
    box32[0, :2], box32[1, :2] = (44, 384), (76, 416)
    box96 = person(300, 420, 30, rng)
    box96[0, :2], box96[1, :2] = (252, 372), (348, 468)
    dts += [dt_res(3, with_scores(box32, 0.5), 0.25), dt_res(3, with_scores(box96, 0.5), 0.25),
            dt_res(3, with_scores(np.reshape(anns[-1]["keypoints"], (17, 3)), 1.0), 0.95)]
    # Image 4: GT but no detections. Image 5: detections but no GT. Image 6: neither.
    anns += [gt_ann(40, 4, person(200, 200, 50, rng)), gt_ann(41, 4, person(300, 100, 20, rng))]
    dts += [dt_res(5, with_scores(person(100, 100, 30, rng), 0.5), s) for s in (0.9, 0.5, 0.5)]
    # Image 7: a detection with every keypoint score 0 (dropped by xtcocotools), one with a single positive score.
    g7 = person(250, 250, 45, rng)
    anns.append(gt_ann(70, 7, g7))
    dts += [dt_res(7, with_scores(g7, 0.0), 0.99),
            dt_res(7, with_scores(g7 + rng.normal(0, 2, (17, 3)) * [1, 1, 0], [0.4] + [0.0] * 16), 0.6)]
    # Image 8: 25 detections (maxDets 20) with tied scores around 3 GTs.
    g8 = [person(100 + 150 * k, 260, 35, rng) for k in range(3)]
    anns += [gt_ann(80 + k, 8, g) for k, g in enumerate(g8)]
    for j in range(25):
        base = g8[j % 3] + rng.normal(0, 2 + j, (17, 3)) * [1, 1, 0]
        dts.append(dt_res(8, with_scores(base, 0.5), [0.5, 0.7, 0.5, 0.3, 0.7][j % 5]))
    # Image 9: a detection exactly between two GTs (equal OKS to both, the later GT wins).
    d9 = person(256, 256, 30, rng)
    anns += [gt_ann(90, 9, d9 + [[6, 0, 0]]), gt_ann(91, 9, d9 - [[6, 0, 0]])]
    dts += [dt_res(9, with_scores(d9, 0.5), 0.8), dt_res(9, with_scores(d9 + [[0, 9, 0]], 0.5), 0.8)]
    # Image 10: only crowd GT and detections.
    anns.append(gt_ann(100, 10, person(256, 256, 80, rng), iscrowd=1))
    dts.append(dt_res(10, with_scores(person(256, 256, 80, rng), 0.5), 0.5))
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, dts


def all_ignored_case():
    rng = np.random.default_rng(3)
    images = [{"id": i} for i in (5, 2, 9)]
    anns = [gt_ann(0, 5, person(100, 100, 30, rng), iscrowd=1),
            gt_ann(1, 2, person(200, 200, 30, rng, visible=np.zeros(17, bool)), num_keypoints=0,
                   bbox=[180.0, 180.0, 40.0, 40.0], area=1600.0)]
    dts = [dt_res(5, with_scores(person(100, 100, 30, rng), 0.5), 0.5),
           dt_res(9, with_scores(person(100, 100, 30, rng), 0.5), 0.4)]
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, dts


def random_case(seed, unlabelled_gt=True, categories=(1,)):
    """Random images: GT people of every size, detections perturbing them plus false positives, scores on a
    coarse grid (ties), some crowd, GT areas sometimes set exactly on the range boundaries, ids from 0."""
    rng = np.random.default_rng(seed)
    n_images = int(rng.integers(8, 30))
    image_ids = rng.permutation(np.arange(n_images) * 3 + int(rng.integers(0, 3)))
    images = [{"id": int(i)} for i in image_ids]
    anns, dts = [], []
    for img in image_ids:
        for _ in range(int(rng.integers(0, 5))):
            cat = int(rng.choice(categories))
            scale = float(np.exp(rng.uniform(np.log(4), np.log(120))))
            visible = rng.uniform(size=17) < rng.uniform(0.3, 1.0)
            if not unlabelled_gt and not visible.any():
                visible[int(rng.integers(0, 17))] = True
            if unlabelled_gt and rng.uniform() < 0.05:
                visible[:] = False
            kp = person(rng.uniform(50, 450), rng.uniform(50, 450), scale, rng, visible)
            kp[~visible, :2] = np.where(rng.uniform() < 0.5, 0.0, kp[~visible, :2])
            area = None
            if rng.uniform() < 0.15:
                area = float(rng.choice([1024.0, 9216.0]))
            ann = gt_ann(len(anns), int(img), kp, area=area, iscrowd=int(rng.uniform() < 0.05), category_id=cat)
            anns.append(ann)
            for _ in range(int(rng.choice([0, 1, 1, 1, 2]))):
                noise = rng.normal(0, scale * rng.uniform(0.01, 0.4), (17, 2))
                det = with_scores(np.concatenate([kp[:, :2] + noise, kp[:, 2:]], 1), rng.uniform(0, 1, 17))
                if rng.uniform() < 0.05:
                    det[:, 2] = 0.0
                dts.append(dt_res(int(img), det, round(rng.uniform(), 1), category_id=cat))
        for _ in range(int(rng.choice([0, 0, 1, 3]))):
            det = with_scores(person(rng.uniform(50, 450), rng.uniform(50, 450), rng.uniform(5, 80), rng),
                              rng.uniform(0, 1, 17))
            dts.append(dt_res(int(img), det, round(rng.uniform(), 1), category_id=int(rng.choice(categories))))
    rng.shuffle(dts)
    cats = [{"id": c, "name": f"c{c}"} for c in categories]
    return {"images": images, "annotations": anns, "categories": cats}, dts


def reference_like_case(seed, n_images):
    """GT as the reference builds it (§3): 17 entries per person with (-1, -1, 0) placeholders, c a detector
    confidence (> 0.02 or 0), bbox and area over all 17 entries; detections as float32 values, image ids 0..N-1,
    ids idx*10+s. Some images have no detection, so that one batch has none."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "width": 512, "height": 512} for i in range(n_images)]
    anns, dts = [], []
    for idx in range(n_images):
        for s in range(int(rng.integers(0, 4))):
            pose = person(rng.uniform(80, 430), rng.uniform(80, 430), rng.uniform(15, 110), rng)
            pose[:, 2] = np.where(rng.uniform(size=17) < 0.9, rng.uniform(0.03, 1.0, 17), 0.0)
            pose[rng.uniform(size=17) < 0.2] = (-1.0, -1.0, 0.0)
            if not ((pose[:, 0] > 0) & (pose[:, 2] > 0)).any():
                continue
            x, y = pose[:, 0], pose[:, 1]
            bbox = [x.min(), y.min(), x.max() - x.min(), y.max() - y.min()]
            anns.append(gt_ann(idx * 10 + s, idx, pose, bbox=bbox, area=(y.max() - y.min()) * (x.max() - x.min()),
                               num_keypoints=int((pose[:, 0] > 0).sum())))
            if 8 <= idx < 12:
                continue  # batch 2 (images 8-11) has no detection
            for _ in range(int(rng.choice([0, 1, 1, 2]))):
                det = pose.copy()
                det[:, :2] += rng.normal(0, rng.uniform(1, 15), (17, 2))
                det[:, 2] = rng.uniform(0, 1, 17)
                dts.append(dt_res(idx, det.astype(np.float32).astype(np.float64), np.float32(rng.uniform())))
        if not 8 <= idx < 12 and rng.uniform() < 0.3:
            det = person(256, 256, 60, rng).astype(np.float32).astype(np.float64)
            dts.append(dt_res(idx, with_scores(det, rng.uniform(0, 1, 17)), np.float32(rng.uniform())))
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}, dts


def cap_pairs(seed, count):
    """Single GT/detection pairs for the similarity itself: random, one labelled joint, zero-range axes,
    no labelled joint, identical poses."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(count):
        visible = rng.uniform(size=17) < rng.uniform(0.2, 1.0)
        kind = i % 8
        if kind == 0:
            visible[:] = False
            visible[int(rng.integers(0, 17))] = True
        elif kind == 1:
            visible[:] = False
        g = person(rng.uniform(50, 450), rng.uniform(50, 450), rng.uniform(5, 120), rng, visible)
        d = g + np.concatenate([rng.normal(0, rng.uniform(0.5, 40), (17, 2)), rng.uniform(0, 1, (17, 1))], 1)
        if kind == 2:
            g[:, 1] = 300.0  # every GT y equal: zero range
        elif kind == 3:
            d[:, 0] = 123.0 * SIGMAS  # every detection x / sigma equal
        elif kind == 4:
            d = g.copy()
        row = {"gt": [float(v) for v in g.reshape(-1)], "dt": [float(v) for v in d.reshape(-1)]}
        for form, reference in (("corrected", False), ("reference", True)):
            try:
                row[form] = cap_similarity(row["gt"], row["dt"], reference)
            except ValueError:
                row[form] = "error"
        pairs.append(row)
    # JSON has no NaN or infinity: write them as strings.
    for row in pairs:
        for form in ("corrected", "reference"):
            if isinstance(row[form], float) and not math.isfinite(row[form]):
                row[form] = "nan" if math.isnan(row[form]) else ("inf" if row[form] > 0 else "-inf")
    return pairs


def numpy_reference(seed):
    """np.linspace of the COCO thresholds and np.sum / np.mean of arrays around the pairwise block sizes."""
    rng = np.random.default_rng(seed)
    sums = []
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 34, 127, 128, 129, 255, 256, 257, 1010, 4000]:
        values = rng.uniform(0, 1, n) * 10.0 ** rng.integers(-3, 9, n)
        sums.append({"values": [float(v) for v in values], "sum": float(np.sum(values)),
                     "mean": float(np.mean(values)) if n else None})
    return {"thresholds": [float(v) for v in np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1)],
            "recall_thresholds": [float(v) for v in np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1)],
            "sums": sums}


def main():
    out_dir = Path(sys.argv[1])
    (out_dir / "coco_eval").mkdir(parents=True, exist_ok=True)
    cases = {"edge": edge_case(), "all_ignored": all_ignored_case(),
             "two_categories": random_case(100, categories=(1, 3))}
    for seed in range(6):
        cases[f"random{seed}"] = random_case(seed, unlabelled_gt=seed % 2 == 0)
    cases["reference_like"] = reference_like_case(11, 22)
    doc = {"versions": {"numpy": np.__version__, "xtcocotools_mask_stubbed": XT_MASK_STUBBED},
           "cases": {name: evaluate_case(out_dir, name, gt, dts) for name, (gt, dts) in cases.items()},
           "batches": {"reference_like": batch_means(out_dir, "reference_like", *cases["reference_like"])},
           "cap_pairs": cap_pairs(5, 400), "numpy": numpy_reference(9)}
    write_json(out_dir / "coco_eval.json", doc)
    errors = sum("error" in m for c in doc["cases"].values() for m in c["modes"].values())
    print(f"{len(cases)} COCO keypoint cases x {len(MODES)} modes written to {out_dir / 'coco_eval.json'} "
          f"({errors} reference-mode CAP runs raise, as the reference does; mask module stubbed: {XT_MASK_STUBBED})")


if __name__ == "__main__":
    main()
