"""The figure behind docs/render.md's note on the official fp16 masks: the coarse (k = 23) and fine (k = 13)
training masks as we build them (the background-relative form, float32: tests/reference/make_golden.py's
pose_masks) against an emulation of the official training's blur under fp16 autocast (input and kernel rounded
to fp16, fp32 accumulation, fp16 output, then "> -1"), on 20 random skeletons of make_golden.py.
Prints the cell counts and the cells one has and the other lacks.

  .venv/bin/python tests/pose/fp16_mask_probe.py
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import make_golden as mg  # noqa: E402


def fp16_autocast_blur(hint, k, sigma=3.0):
    """torchvision's 2-D Gaussian kernel and reflect padding; conv inputs in fp16, fp32 accumulation, fp16 out."""
    x = torch.linspace(-(k - 1) / 2, (k - 1) / 2, k)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).half().float().expand(3, 1, k, k)
    padded = F.pad(hint.half().float(), [k // 2] * 4, mode="reflect")
    return F.conv2d(padded, kernel, groups=3).half()


def official_fp16_masks(hint, kernels):
    out = []
    for k in kernels:
        selected = (fp16_autocast_blur(hint, k) > -1).any(dim=1)
        out.append(F.max_pool2d(selected.float()[:, None], 8)[:, 0])
    return torch.cat(out)


def main():
    rng = np.random.default_rng(0)
    totals = {23: [0, 0, 0, 0], 13: [0, 0, 0, 0]}  # ours, fp16, ours only, fp16 only
    for _ in range(20):
        poses = mg.random_poses(rng, int(rng.integers(1, 4)), 512, 512)
        hint = torch.from_numpy(mg.render(poses, 512, 512) / 255.0 * 2.0 - 1.0).float().permute(2, 0, 1)[None]
        ours = mg.pose_masks(hint, [23, 13], -1.0, background_relative=True) > 0
        theirs = official_fp16_masks(hint, [23, 13]) > 0
        for i, k in enumerate([23, 13]):
            o, t = ours[i], theirs[i]
            for j, v in enumerate([o.sum(), t.sum(), (o & ~t).sum(), (t & ~o).sum()]):
                totals[k][j] += int(v)
    for k, (o, t, o_only, t_only) in totals.items():
        print(f"k = {k}: ours {o} cells, official fp16 emulation {t}; only ours {o_only} ({o_only / o:.1%}), "
              f"only fp16 {t_only}")


if __name__ == "__main__":
    main()
