#!/usr/bin/env python3
"""The toy world's keypoint detector (issue #7): a small CenterNet-style network (Zhou et al., "Objects as
Points", multi-person pose head) trained on `stablepose toyworld generate` renders and exported to the
evaluator's TorchScript detector contract (docs/evaluate.md "Detector contract").

One run generates the data, trains on one CPU thread, exports DIR/detector.pt + DIR/detector.json, evaluates
COCO keypoint AP on a held-out validation split (clean, blurred and VAE-like degraded copies) with xtcocotools
and with `stablepose eval coco`, and writes DIR/training_log.txt. Deterministic per --seed on one thread.

    .venv/bin/python scripts/toyworld/train_detector.py            # about 20 minutes on one core

The network (PoseNet, 0.67 M parameters) sees the image at 128 px height and predicts, on a stride-4 grid, a
person-centre heatmap (the silhouette box centre), 17 joint heatmaps, per-joint sub-cell offsets, per joint type
(left and right shared) the vector to the person's centre and, for limb joints, the vector to the parent joint
(elbow -> shoulder, wrist -> elbow, knee -> hip, ankle -> knee), and per joint the vector from the centre. The
exported module decodes in TorchScript (ToyDetector): centre peaks, then each joint snapped to the joint-heatmap
peak that agrees with the person's centre and, for limbs, with the already decoded parent, so a limb's left or
right comes from the shoulder or hip it hangs from rather than from the heatmap's guess. The helpers below
(GT/DT files, AP) are shared with tests/toyworld/detector_ap_test.py; the network and the decoder live in
detector_net.py.
"""
import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from xtcocotools_compat import keypoint_stats  # noqa: E402  (xtcocotools under numpy 2)
from detector_textures import false_people_on_textures, texture  # noqa: E402  (textures without anybody)
from detector_net import (  # noqa: E402  (the network and the exported decoder)
    BACK, CHANNELS, DECODE_DEFAULTS, FLIP, INPUT_HEIGHT, LINK, OFFSET, PARENT, REG, STRIDE, TYPE, TYPES, YAW, PoseNet,
    export, normalise)

ROOT = Path(__file__).resolve().parents[2]
SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0

# ---------------------------------------------------------------------------------------------------------
# Data: the generator's files, COCO ground truth, degradations
# ---------------------------------------------------------------------------------------------------------


def generate(binary, out, split, count, seed):
    subprocess.run([str(binary), "toyworld", "generate", "--out", str(out), "--count", str(count), "--size", "128",
                    "--seed", str(seed), "--split-name", split, "--threads", "1"], check=True, capture_output=True)


class Sample(NamedTuple):
    key: str
    rgb: np.ndarray  # uint8 [H, W, 3]
    keypoints: np.ndarray  # float32 [P, 17, 3] (x, y, confidence)
    areas: np.ndarray  # [P], the npz's area
    boxes: np.ndarray  # [P, 4] xywh, toyworld_<split>.json
    yaw: np.ndarray  # [P] degrees, 0 = facing the camera


def load_split(root, split):
    """The split's samples in order."""
    root = Path(root)
    mapping = json.loads((root / f"mapping_file_{split}.json").read_text())
    meta = json.loads((root / f"toyworld_{split}.json").read_text())["samples"]
    samples = []
    for key, entry in mapping.items():
        rgb = cv2.cvtColor(cv2.imread(str(root / entry["img_path"]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        people = np.load(root / entry["pose_path"], allow_pickle=True)["arr_0"]
        kp = np.zeros((0, 17, 3), np.float32)
        if len(people):
            kp = np.stack([p["keypoints"] for p in people]).astype(np.float32)
        areas = np.array([float(p["area"]) for p in people], np.float64)
        boxes = np.array([p["bbox"] for p in meta[key]["people"]], np.float64).reshape(-1, 4)
        yaw = np.array([p["yaw_deg"] for p in meta[key]["people"]], np.float64)
        samples.append(Sample(key, rgb, kp, areas, boxes, yaw))
    return samples


def coco_ground_truth(samples):
    """One annotation per person: v = 2 visible (confidence 1), 1 occluded (0.01), 0 outside (0, stored 0, 0, 0
    as COCO does); num_keypoints = joints with v > 0; bbox from toyworld_<split>.json, area from the npz."""
    images, anns = [], []
    for i, (_, rgb, kp, areas, boxes, _) in enumerate(samples):
        images.append({"id": i, "width": int(rgb.shape[1]), "height": int(rgb.shape[0])})
        for s in range(len(kp)):
            flat = []
            for x, y, c in kp[s].tolist():
                v = 2 if c >= 0.5 else (1 if c > 0 else 0)
                flat += [float(x), float(y), v] if v else [0.0, 0.0, 0]
            anns.append({"id": i * 10 + s + 1, "image_id": i, "category_id": 1, "iscrowd": 0, "keypoints": flat,
                         "num_keypoints": sum(1 for v in flat[2::3] if v > 0), "bbox": [float(b) for b in boxes[s]],
                         "area": float(areas[s])})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


def degrade(rgb, kind):
    """The evaluation copies: 'blur' = Gaussian blur sigma 2 px; 'vae' = 4x area downscale + bilinear upscale,
    a warm colour cast (R x1.08, B x0.9), contrast 0.85 and Gaussian noise sigma 3 (seeded per image size)."""
    if kind == "clean":
        return rgb
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT_101)
    h, w = rgb.shape[:2]
    x = cv2.resize(cv2.resize(rgb, (w // 4, h // 4), interpolation=cv2.INTER_AREA), (w, h),
                   interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = (x - x.mean()) * 0.85 + x.mean()
    x *= np.array([1.08, 1.0, 0.9], np.float32)
    x += np.random.default_rng(h * 7919 + w).normal(0, 3, x.shape).astype(np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def run_detector(module, samples, kind="clean"):
    """COCO keypoint results of the TorchScript detector on every sample (image_id = sample index)."""
    dts = []
    with torch.no_grad():
        for i, sample in enumerate(samples):
            kp, scores = module(torch.from_numpy(np.ascontiguousarray(degrade(sample.rgb, kind))))
            for p in range(kp.shape[0]):
                dts.append({"image_id": i, "category_id": 1, "keypoints": [float(v) for v in kp[p].flatten()],
                            "score": float(scores[p])})
    return dts


def stablepose_stats(binary, gt_path, dt_path):
    """`stablepose eval coco` on the same files: its printed JSON."""
    proc = subprocess.run([str(binary), "eval", "coco", "--gt", str(gt_path), "--dt", str(dt_path)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------------
# Training samples: augmentation and targets
# ---------------------------------------------------------------------------------------------------------


def augment(rgb, kp, boxes, yaw, rng):
    """Scale/translation jitter, horizontal flip with the left/right swap, colour jitter, and the diffusion
    VAE's look: down-up scaling by 1.5-4x, Gaussian blur up to sigma 2.5, noise. Returns float32 [H, W, 3] in
    [0, 1], keypoints [P, 17, 3] (confidence 0 once outside), boxes [P, 4] xyxy and yaw [P] (mirrored: -yaw)."""
    h, w = rgb.shape[:2]
    s = math.exp(rng.uniform(math.log(0.8), math.log(1.2)))
    tx, ty = rng.uniform(-10, 10, 2)
    m = np.array([[s, 0, (1 - s) * (w - 1) / 2 + tx], [0, s, (1 - s) * (h - 1) / 2 + ty]])
    kp = kp.copy()
    if rng.random() < 0.5:
        m = np.array([[-1, 0, w - 1], [0, 1, 0]]) @ np.vstack([m, [0, 0, 1]])
        kp = kp[:, FLIP]
        yaw = -yaw
    img = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    xy = kp[..., :2] @ m[:, :2].T + m[:, 2]
    inside = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
    kp = np.concatenate([xy, np.where(inside, kp[..., 2], 0)[..., None]], -1).astype(np.float32)
    corners = np.stack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1) @ m[:, :2].T + m[:, 2]  # [P, 2, 2]
    xyxy = np.concatenate([corners.min(1), corners.max(1)], 1).clip(0, [w, h, w, h])

    x = img.astype(np.float32) / 255
    if rng.random() < 0.8:
        gray = x.mean(2, keepdims=True)
        x = gray + (x - gray) * rng.uniform(0.6, 1.4)
        x = (x - x.mean()) * rng.uniform(0.7, 1.3) + x.mean() + rng.uniform(-0.15, 0.15)
        x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    if rng.random() < 0.3:
        f = rng.uniform(1.5, 4.0)
        small = cv2.resize(x, (max(8, round(w / f)), max(8, round(h / f))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC)
    if rng.random() < 0.4:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.3, 2.5), borderType=cv2.BORDER_REFLECT_101)
    if rng.random() < 0.4:
        x = x + rng.normal(0, rng.uniform(0.005, 0.04), x.shape).astype(np.float32)
    return np.clip(x, 0, 1).astype(np.float32), kp, xyxy, yaw


def gaussian(grid_y, grid_x, cy, cx, sigma):
    return np.exp(-((grid_x - cx) ** 2 + (grid_y - cy) ** 2) / (2 * sigma * sigma))


def targets(kp, xyxy, yaw, h, w, joint_sigma):
    """Stride-4 targets, cell (i, j) centred at pixel (4j + 1.5, 4i + 1.5). Heatmaps peak at exactly 1 on the
    anchor cell (the cell nearest the point, as CenterNet) so the focal loss has positives: centre [1, h, w]
    (silhouette box centre) and joints [17, h, w]. Vector fields (cells) on the 3x3 cells around an anchor:
    the sub-cell offset per joint [34, h, w] (mask [17, h, w]); per joint type [2 * TYPES, h, w] the vector to
    the centre and the vector to the parent joint (mask [TYPES, h, w], the link's only where both joints are
    labelled); the vector from the centre per joint [34, h, w] (mask [17, h, w]); (cos, sin) of the yaw
    [2, h, w] around the head (the mean of the face joints, when all five are inside; mask [1, h, w])."""
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre = np.zeros((1, h, w), np.float32)
    joints = np.zeros((17, h, w), np.float32)
    offset, offset_mask = np.zeros((34, h, w), np.float32), np.zeros((17, h, w), np.float32)
    back, link = np.zeros((2 * TYPES, h, w), np.float32), np.zeros((2 * TYPES, h, w), np.float32)
    type_mask, link_mask = np.zeros((TYPES, h, w), np.float32), np.zeros((TYPES, h, w), np.float32)
    reg = np.zeros((34, h, w), np.float32)
    reg_mask = np.zeros((17, h, w), np.float32)
    facing, facing_mask = np.zeros((2, h, w), np.float32), np.zeros((1, h, w), np.float32)
    anchor = lambda v, n: int(np.clip(round((v - 1.5) / STRIDE), 0, n - 1))  # noqa: E731
    for p in range(len(kp)):
        x0, y0, x1, y1 = xyxy[p]
        labelled = kp[p, :, 2] > 0
        if x1 - x0 < 2 or y1 - y0 < 2 or not labelled.any():
            continue
        ci, cj = anchor((y0 + y1) / 2, h), anchor((x0 + x1) / 2, w)
        cx, cy = ((x0 + x1) / 2 - 1.5) / STRIDE, ((y0 + y1) / 2 - 1.5) / STRIDE
        centre[0] = np.maximum(centre[0], gaussian(gy, gx, ci, cj, max(1.0, (y1 - y0) / STRIDE / 16)))
        jx, jy = (kp[p, :, 0] - 1.5) / STRIDE, (kp[p, :, 1] - 1.5) / STRIDE
        # the anchor cell last: it wins over a neighbour of another person
        for di, dj in sorted(((di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)), key=lambda d: -abs(d[0]) - abs(d[1])):
            i, j = ci + di, cj + dj
            if 0 <= i < h and 0 <= j < w:
                reg[0::2, i, j], reg[1::2, i, j] = jx - j, jy - i
                reg_mask[:, i, j] = labelled
        if labelled[:5].all():
            hi, hj = anchor(kp[p, :5, 1].mean(), h), anchor(kp[p, :5, 0].mean(), w)
            i0, i1, j0, j1 = max(hi - 1, 0), min(hi + 2, h), max(hj - 1, 0), min(hj + 2, w)
            angle = math.radians(yaw[p])
            facing[:, i0:i1, j0:j1] = np.array([math.cos(angle), math.sin(angle)])[:, None, None]
            facing_mask[0, i0:i1, j0:j1] = 1
        for k in np.flatnonzero(labelled):
            ki, kj = anchor(kp[p, k, 1], h), anchor(kp[p, k, 0], w)
            joints[k] = np.maximum(joints[k], gaussian(gy, gx, ki, kj, joint_sigma))
            i0, i1, j0, j1 = max(ki - 1, 0), min(ki + 2, h), max(kj - 1, 0), min(kj + 2, w)
            t, cells_x, cells_y = TYPE[k], gx[i0:i1, j0:j1], gy[i0:i1, j0:j1]
            offset[2 * k, i0:i1, j0:j1], offset[2 * k + 1, i0:i1, j0:j1] = jx[k] - cells_x, jy[k] - cells_y
            offset_mask[k, i0:i1, j0:j1] = 1
            back[2 * t, i0:i1, j0:j1], back[2 * t + 1, i0:i1, j0:j1] = cx - cells_x, cy - cells_y
            type_mask[t, i0:i1, j0:j1] = 1
            q = PARENT[k]
            if q >= 0 and labelled[q]:
                link[2 * t, i0:i1, j0:j1], link[2 * t + 1, i0:i1, j0:j1] = jx[q] - cells_x, jy[q] - cells_y
                link_mask[t, i0:i1, j0:j1] = 1
    return centre, joints, offset, offset_mask, back, type_mask, link, link_mask, reg, reg_mask, facing, facing_mask


def make_batch(data, indices, rng, joint_sigma, empty=0.03, empty_texture=0.0, texture_overlay=0.0):
    """[images [B, 3, H, W] in [0, 1], then the `targets` stacked]. A share `empty` of the images is replaced
    by an empty one, so that nothing is found where nobody is: a share `empty_texture` of those a `texture`,
    the rest a flat colour (black included) with noise. A share `texture_overlay` of the others gets a
    zero-mean texture added (amplitude 0.05-0.3), so that figures are found on textured backgrounds too. With
    the defaults (0.03, 0, 0) the batches are those of the committed detector (the same random draws)."""
    cols = [[] for _ in range(13)]
    for n in indices:
        _, rgb, kp, _, boxes, yaw = data[n]
        if rng.random() < empty:
            if empty_texture > 0 and rng.random() < empty_texture:
                rgb = np.rint(texture(rng, *rgb.shape[:2]) * 255).astype(np.uint8)
            else:
                colour = rng.integers(0, 256, 3) if rng.random() < 0.7 else np.zeros(3)
                rgb = np.broadcast_to(colour, rgb.shape).astype(np.uint8)
            kp, boxes, yaw = kp[:0], boxes[:0], yaw[:0]
        elif texture_overlay > 0 and rng.random() < texture_overlay:
            t = texture(rng, *rgb.shape[:2])
            overlay = (t - t.mean((0, 1))) * rng.uniform(0.05, 0.3) * 255
            rgb = np.clip(np.rint(rgb.astype(np.float32) + overlay), 0, 255).astype(np.uint8)
        x, k, xyxy, yaw = augment(rgb, kp, boxes, yaw, rng)
        cols[0].append(x.transpose(2, 0, 1))
        h, w = x.shape[0] // STRIDE, x.shape[1] // STRIDE
        for c, t in zip(cols[1:], targets(k, xyxy, yaw, h, w, joint_sigma)):
            c.append(t)
    return [torch.from_numpy(np.stack(c)) for c in cols]


# ---------------------------------------------------------------------------------------------------------
# Network and loss
# ---------------------------------------------------------------------------------------------------------


def focal_loss(logits, target):
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), summed and divided by the positives."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * (1 - pos)).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1)


def masked_l1(pred, target, mask):
    """pred, target: [B, 2n, h, w] ((dx, dy) per joint or type); mask [B, n, h, w]."""
    m = mask.repeat_interleave(2, dim=1)
    return (torch.abs(pred - target) * m).sum() / m.sum().clamp(min=1)


def losses(out, batch, vector_weight):
    _, centre, joints, offset, offset_mask, back, type_mask, link, link_mask, reg, reg_mask, facing, facing_mask = batch
    return {"centre": focal_loss(out[:, :1], centre), "joints": focal_loss(out[:, 1:18], joints),
            "offset": masked_l1(out[:, OFFSET:BACK], offset, offset_mask),
            "to_centre": vector_weight * masked_l1(out[:, BACK:LINK], back, type_mask),
            "to_parent": vector_weight * masked_l1(out[:, LINK:REG], link, link_mask),
            "from_centre": vector_weight * masked_l1(out[:, REG:YAW], reg, reg_mask),
            "yaw": masked_l1(out[:, YAW:CHANNELS], facing, facing_mask)}


# ---------------------------------------------------------------------------------------------------------
# The exported detector: decoding in TorchScript
# ---------------------------------------------------------------------------------------------------------


def weights_bytes(net):
    """The state dict as safetensors bytes (deterministic): what weights_sha256 hashes and --weights reads."""
    from safetensors.torch import save
    return save({k: v.contiguous() for k, v in net.state_dict().items()})


# ---------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "assets/toyworld/detector", help="detector folder")
    p.add_argument("--work", type=Path, default=ROOT / "out/toyworld_detector", help="generated data, eval files")
    p.add_argument("--stablepose", type=Path, default=ROOT / "build/stablepose", help="the stablepose binary")
    p.add_argument("--seed", type=int, default=0, help="init, batch order and augmentation")
    p.add_argument("--train-seed", type=int, default=100, help="generator seed of the training split")
    p.add_argument("--train-count", type=int, default=4000)
    p.add_argument("--val-seed", type=int, default=200, help="generator seed of the validation split")
    p.add_argument("--val-count", type=int, default=300)
    p.add_argument("--steps", type=int, default=2200)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--width", type=int, default=48, help="stride-4 channels (stride 8: twice)")
    p.add_argument("--vector-weight", type=float, default=0.5, help="L1 weight of the two vector fields")
    p.add_argument("--joint-sigma", type=float, default=1.0, help="joint heatmap sigma in stride-4 cells")
    p.add_argument("--top-k", type=int, default=DECODE_DEFAULTS["top_k"], help="most people returned")
    p.add_argument("--empty", type=float, default=0.03, help="share of training images replaced by an empty one")
    p.add_argument("--empty-texture", type=float, default=0.0,
                   help="share of the empty images that are textures rather than flat colours (an experiment: "
                        "docs/toyworld.md, 'Textured negatives')")
    p.add_argument("--texture-overlay", type=float, default=0.0,
                   help="share of the other images with a texture added (an experiment, as --empty-texture)")
    p.add_argument("--min-score", type=float, default=DECODE_DEFAULTS["min_score"],
                   help="centre score below which no person is returned")
    p.add_argument("--candidates", type=int, default=DECODE_DEFAULTS["candidates"], help="joint peaks per type")
    p.add_argument("--vote", type=float, default=DECODE_DEFAULTS["vote"],
                   help="centre-vote agreement sigma (fraction of the person's size)")
    p.add_argument("--near", type=float, default=DECODE_DEFAULTS["near"],
                   help="sigma of the distance to the regressed joint (fraction of the person's size)")
    p.add_argument("--link", type=float, default=DECODE_DEFAULTS["link"],
                   help="sigma of a limb's parent vote around its decoded parent (fraction of the person's size)")
    p.add_argument("--yaw-gate", type=float, default=DECODE_DEFAULTS["yaw_gate"],
                   help="|cos yaw| above which the yaw overrules the decoded left/right (2: never)")
    p.add_argument("--min-joint", type=float, default=DECODE_DEFAULTS["min_joint"],
                   help="joint fit below which the regressed joint is kept")
    p.add_argument("--flip", type=int, choices=[0, 1], default=1, help="flip test (average with the mirrored image)")
    p.add_argument("--weights", type=Path, help="skip training: export and evaluate these weights "
                                                 "(WORK/weights.safetensors of an earlier run)")
    p.add_argument("--bf16", type=int, choices=[0, 1], default=1, help="bfloat16 autocast while training")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def train_net(net, train, args, rng, log):
    """AdamW, linear warm-up then cosine decay, one pass over a shuffled order per epoch; returns seconds.
    With --bf16 the network runs under CPU bfloat16 autocast (weights, optimiser and losses stay float32):
    1.6x faster on a CPU with AVX512-BF16; the export is float32."""
    net.to(memory_format=torch.channels_last)
    decay = [p for p in net.parameters() if p.dim() > 1]
    no_decay = [p for p in net.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    order, cursor = rng.permutation(len(train)), 0
    t_train = time.time()
    running = {}
    net.train()
    for step in range(1, args.steps + 1):
        if cursor + args.batch > len(order):
            order, cursor = rng.permutation(len(train)), 0
        indices, cursor = order[cursor:cursor + args.batch], cursor + args.batch
        batch = make_batch(train, indices, rng, args.joint_sigma, args.empty, args.empty_texture, args.texture_overlay)
        lr = args.lr * min(1.0, step / args.warmup) * 0.5 * (1 + math.cos(math.pi * (step - 1) / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        x = normalise(batch[0]).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            out = net(x)
        parts = losses(out.float(), batch, args.vector_weight)
        loss = torch.stack(list(parts.values())).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        for key, v in [("loss", loss), *parts.items()]:
            running[key] = running.get(key, 0.0) + v.item()
        if step % 25 == 0 or step == args.steps:
            n = 25 if step % 25 == 0 else step % 25
            log({"step": step, "lr": round(lr, 6), **{k: round(v / n, 4) for k, v in running.items()}})
            running = {}
    net.to(memory_format=torch.contiguous_format).eval()
    return time.time() - t_train


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    log_file = open(args.out / "training_log.txt", "a" if args.weights else "w")
    t0 = time.time()

    def log(record):
        record = {"time_s": round(time.time() - t0, 1), **record}
        line = json.dumps(record)
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
              if k not in ("out", "work", "stablepose")}
    config.update({"torch": torch.__version__, "numpy": np.__version__, "opencv": cv2.__version__,
                   "input_height": INPUT_HEIGHT, "stride": STRIDE, "architecture": "CenterNet-style, see script",
                   "generator": "stablepose toyworld generate --size 128 --threads 1", "script":
                   "scripts/toyworld/train_detector.py"})
    log({"event": "config", **config})

    data_dir = args.work / "data"
    if not args.weights:
        generate(args.stablepose, data_dir, "training", args.train_count, args.train_seed)
    generate(args.stablepose, data_dir, "validation", args.val_count, args.val_seed)
    train = [] if args.weights else load_split(data_dir, "training")
    val = load_split(data_dir, "validation")
    log({"event": "data", "training": len(train), "validation": len(val)})

    net = PoseNet(args.width)
    params = sum(p.numel() for p in net.parameters())
    log({"event": "model", "parameters": params})
    if args.weights:
        from safetensors.torch import load_file
        net.load_state_dict(load_file(str(args.weights)))
        train_s = None
        log({"event": "loaded", "weights": str(args.weights)})
    else:
        train_s = train_net(net, train, args, rng, log)
        (args.work / "weights.safetensors").write_bytes(weights_bytes(net))
        log({"event": "trained", "train_s": round(train_s, 1)})

    decode = {k: type(v)(getattr(args, k)) for k, v in DECODE_DEFAULTS.items()}
    module = export(net, args.out / "detector.pt", decode)
    probe = module(torch.zeros(64, 64, 3, dtype=torch.uint8))
    log({"event": "exported", "probe_people": int(probe[0].shape[0]), "probe_max_score":
         round(float(probe[1].max()), 4) if probe[1].numel() else 0.0})

    gt = coco_ground_truth(val)
    gt_path = args.work / "val_gt.json"
    gt_path.write_text(json.dumps(gt))
    results = {}
    for kind in ("clean", "blur", "vae"):
        dts = run_detector(module, val, kind)
        dt_path = args.work / f"val_dt_{kind}.json"
        dt_path.write_text(json.dumps(dts))
        xt = keypoint_stats(gt, dts)
        ours = stablepose_stats(args.stablepose, gt_path, dt_path)
        results[kind] = {"AP": round(xt[0], 4), "AP50": round(xt[1], 4), "AP75": round(xt[2], 4),
                         "AR": round(xt[5], 4), "stablepose_eval_coco_AP": round(ours["stats"][0], 4),
                         "max_stat_difference": max(abs(a - b) for a, b in zip(xt, ours["stats"])),
                         "detections": len(dts), "pce": ours.get("pce")}
        log({"event": "eval", "images": kind, **results[kind]})
    empty = false_people_on_textures(module, args.val_count, args.val_seed)
    log({"event": "eval", "images": "texture (nobody)", **empty})

    meta = {"format": "stablepose.pose-detector", "format_version": 1, "name": "toyworld-centernet",
            "channel_order": "rgb",
            "config": {**config, "parameters": params, "train_s": train_s and round(train_s, 1),
                       "validation_ap": {k: v["AP"] for k, v in results.items()},
                       "people_found_on_empty_textures": empty["people_per_image"],
                       "forward": "uint8 [H, W, 3] RGB -> (float32 [P, 17, 3] (x, y, score), float32 [P]); "
                                  "resized to 128 px height, P <= top_k with centre score >= min_score"},
            "weights_sha256": hashlib.sha256(weights_bytes(net)).hexdigest(),
            "sha256": hashlib.sha256((args.out / "detector.pt").read_bytes()).hexdigest()}
    (args.out / "detector.json").write_text(json.dumps(meta, indent=1) + "\n")
    log({"event": "done", "total_s": round(time.time() - t0, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
