#!/usr/bin/env python3
"""Reference OpenPose-18 skeleton drawings for the renderer test (tests/pose/openpose_renderer_test.cpp).

draw_bodypose below is controlnet_aux 0.0.10's open_pose/util.py::draw_bodypose, transcribed line for line
(the package itself pulls in timm, huggingface_hub and more; its drawing code needs only NumPy and OpenCV).
The COCO-17 -> OpenPose-18 conversion is the project's definition (docs/sample.md): reordered joints, the neck
at the midpoint of the shoulders. Random poses, some joints below the threshold, several people, odd sizes.

Usage: make_openpose_golden.py OUT_DIR   (writes OUT_DIR/openpose.safetensors)
"""
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import save_file

THRESHOLD = 0.02
FROM_COCO = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]


class Keypoint:
    def __init__(self, x, y):
        self.x, self.y = x, y


def draw_bodypose(canvas, keypoints):
    H, W, C = canvas.shape
    stickwidth = 4
    limbSeq = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13],
               [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18]]
    colors = [[255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
              [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
              [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]]
    for (k1_index, k2_index), color in zip(limbSeq, colors):
        keypoint1 = keypoints[k1_index - 1]
        keypoint2 = keypoints[k2_index - 1]
        if keypoint1 is None or keypoint2 is None:
            continue
        Y = np.array([keypoint1.x, keypoint2.x]) * float(W)
        X = np.array([keypoint1.y, keypoint2.y]) * float(H)
        mX = np.mean(X)
        mY = np.mean(Y)
        length = ((X[0] - X[1]) ** 2 + (Y[0] - Y[1]) ** 2) ** 0.5
        angle = math.degrees(math.atan2(X[0] - X[1], Y[0] - Y[1]))
        polygon = cv2.ellipse2Poly((int(mY), int(mX)), (int(length / 2), stickwidth), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, [int(float(c) * 0.6) for c in color])
    for keypoint, color in zip(keypoints, colors):
        if keypoint is None:
            continue
        x, y = keypoint.x, keypoint.y
        x = int(x * W)
        y = int(y * H)
        cv2.circle(canvas, (int(x), int(y)), 4, color, thickness=-1)
    return canvas


def to_openpose(person, w, h):
    """One COCO-17 person [17, 3] (pixels) -> 18 normalised Keypoints or None."""
    ok = lambda j: not (j[0] == -1 and j[1] == -1 and j[2] == 0) and j[2] > THRESHOLD  # noqa: E731
    out = []
    for k in FROM_COCO:
        if k >= 0:
            j = person[k]
            out.append(Keypoint(float(j[0]) / w, float(j[1]) / h) if ok(j) else None)
        else:
            l, r = person[5], person[6]
            if ok(l) and ok(r):
                out.append(Keypoint(float(np.float32((l[0] + r[0]) / 2)) / w, float(np.float32((l[1] + r[1]) / 2)) / h))
            else:
                out.append(None)
    return out


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    tensors = {}
    sizes = [(64, 64), (96, 160), (200, 120), (512, 512)]
    for case, (w, h) in enumerate(sizes):
        people = rng.integers(1, 4)
        kp = np.zeros((people, 17, 3), np.float32)
        kp[..., 0] = rng.uniform(-5, w + 5, (people, 17))
        kp[..., 1] = rng.uniform(-5, h + 5, (people, 17))
        kp[..., 2] = rng.choice([0.0, 0.01, 0.02, 0.5, 0.9], (people, 17), p=[0.1, 0.1, 0.1, 0.3, 0.4])
        kp[rng.random((people, 17)) < 0.1] = (-1, -1, 0)
        canvas = np.zeros((h, w, 3), np.uint8)
        for p in range(people):
            canvas = draw_bodypose(canvas, to_openpose(kp[p], w, h))
        tensors[f"case{case}.keypoints"] = torch.from_numpy(kp)
        tensors[f"case{case}.image"] = torch.from_numpy(canvas)
    save_file(tensors, str(out / "openpose.safetensors"))
    print(f"OpenPose references written to {out}")


if __name__ == "__main__":
    main()
