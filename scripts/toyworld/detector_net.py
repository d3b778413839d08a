"""The toy keypoint detector's network and its TorchScript decoder (the exported module), split from
train_detector.py, which trains it: PoseNet predicts the heatmaps and vector fields on a stride-4 grid, ToyDetector
decodes them into people with 17 joints (docs/evaluate.md "Detector contract"); see train_detector.py's
docstring for the channel layout and the decoding."""
import copy
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]  # COCO-17 left <-> right
# Joint types (left and right share one): nose, eye, ear, shoulder, elbow, wrist, hip, knee, ankle.
TYPE = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]
TYPES = 9
# Limb joints and the joint they hang from (elbow -> shoulder, wrist -> elbow, knee -> hip, ankle -> knee).
PARENT = [-1, -1, -1, -1, -1, -1, -1, 5, 6, 7, 8, -1, -1, 11, 12, 13, 14]
# Decoding order: every parent before its children.
ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 13, 14, 9, 10, 15, 16]
# Output channels: centre heatmap, 17 joint heatmaps, then (dx, dy) fields: per joint the sub-cell offset; per
# joint type the vector to the person's centre and (limbs) the vector to the parent joint; per joint the vector
# from the centre. Type fields carry no left/right: a limb is tied to its side by its parent, not its heatmap.
OFFSET, BACK, LINK, REG = 18, 18 + 34, 18 + 34 + 2 * TYPES, 18 + 34 + 4 * TYPES
# Last, the person's (cos, sin) yaw around its head (face or hair is the evidence): whether it faces the camera
# decides its left and right.
YAW = REG + 34
CHANNELS = YAW + 2
STRIDE = 4
INPUT_HEIGHT = 128


def conv_bn(cin, cout, stride=1, k=3, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Residual(nn.Module):
    """Basic block (mid == c) or bottleneck 1x1 -> 3x3 -> 1x1 (mid < c)."""

    def __init__(self, c: int, mid: int):
        super().__init__()
        if mid == c:
            self.body = nn.Sequential(conv_bn(c, c), conv_bn(c, c, relu=False))
        else:
            self.body = nn.Sequential(conv_bn(c, mid, k=1), conv_bn(mid, mid), conv_bn(mid, c, k=1, relu=False))

    def forward(self, x):
        return F.relu(x + self.body(x))


class PoseNet(nn.Module):
    """Encoder to stride 16, two upsampling steps back to stride 4; heads as in `targets`.
    x: [B, 3, H, W] normalised, H and W multiples of 16; returns [B, CHANNELS, H/4, W/4] (the channels
    of `targets`, heatmaps as logits)."""

    def __init__(self, width: int = 48):
        super().__init__()
        c4, c8, c16, head = width, 2 * width, 128, 64
        self.stem = nn.Sequential(conv_bn(3, 16, 2), conv_bn(16, 32, 2))
        self.s4 = nn.Sequential(conv_bn(32, c4), Residual(c4, c4))
        self.s8 = nn.Sequential(conv_bn(c4, c8, 2), Residual(c8, c8))
        self.s16 = nn.Sequential(conv_bn(c8, c16, 2), Residual(c16, 64), Residual(c16, 64))
        self.lat16 = conv_bn(c16, c8, k=1)
        self.up8 = conv_bn(c8, c8)
        self.lat8 = conv_bn(c8, head, k=1)
        self.lat4 = conv_bn(c4, head, k=1)
        self.up4 = conv_bn(head, head)
        self.head = nn.Sequential(conv_bn(head, head), nn.Conv2d(head, CHANNELS, 1))
        nn.init.constant_(self.head[-1].bias[:18], -2.19)  # CenterNet's heatmap prior (p = 0.1)
        nn.init.zeros_(self.head[-1].bias[18:])

    def forward(self, x):
        x4 = self.s4(self.stem(x))
        x8 = self.s8(x4)
        x16 = self.s16(x8)
        y8 = self.up8(F.interpolate(self.lat16(x16), scale_factor=2.0, mode="nearest") + x8)
        y4 = self.up4(F.interpolate(self.lat8(y8), scale_factor=2.0, mode="nearest") + self.lat4(x4))
        return self.head(y4)


def normalise(x):
    return (x - 0.5) / 0.25


class ToyDetector(nn.Module):
    """forward(image: uint8 [H, W, 3] RGB) -> (keypoints float32 [P, 17, 3] (x, y, score) in input pixels,
    scores float32 [P]), P <= top_k people whose centre score reaches min_score.

    The image is resized to 128 px height (width padded to a multiple of 16) and, with `flip`, averaged with
    its mirror image. People are the 3x3 maxima of the centre heatmap. Joint candidates are the top
    `candidates` 3x3 maxima of each joint heatmap, refined by their sub-cell offsets. Joints are decoded in
    ORDER; each person takes the candidate maximising
        value * exp(-|centre vote - centre|^2 / 2 (vote * size)^2) * exp(-|candidate - regressed|^2 / 2 (near * size)^2)
              [* exp(-|parent vote - decoded parent|^2 / 2 (link * size)^2) for limbs]
    where size is the extent of the person's regressed joints (centre + centre-to-joint vectors). A limb joint
    looks at the candidates of both its own and its mirror joint's heatmap: its side comes from the parent it
    points to. Below min_joint the regressed joint stays (score 0.01 x person score). Last, a person whose
    yaw, read at its decoded head, is clearly frontal or clearly from behind (|cos yaw| > yaw_gate) but whose
    decoded shoulders (hips) say otherwise (facing the camera, the person's left is on the image right) has the
    left and right joints of its upper (lower) body swapped."""

    def __init__(self, net: PoseNet, top_k: int = 10, min_score: float = 0.1, candidates: int = 20,
                 vote: float = 0.1, near: float = 1.0, link: float = 0.08, min_joint: float = 0.05,
                 yaw_gate: float = 0.2, flip: bool = True):
        super().__init__()
        self.net = net
        self.top_k = top_k
        self.min_score = min_score
        self.candidates = candidates
        self.vote = vote
        self.near = near
        self.link = link
        self.min_joint = min_joint
        self.yaw_gate = yaw_gate
        self.flip = flip
        self.input_height = INPUT_HEIGHT
        self.stride = STRIDE
        self.order = ORDER
        self.parent = PARENT
        self.mirror = FLIP
        self.joint_type = TYPE
        self.types = TYPES
        self.fields = [OFFSET, BACK, LINK, REG, YAW]
        # flip test: channel c of the output for the mirrored image is channel flip_channels[c] of this one,
        # and every field's dx changes sign, as does sin yaw
        per_joint = lambda base: [base + 2 * j + c for j in FLIP for c in (0, 1)]  # noqa: E731
        channels = ([0] + [1 + j for j in FLIP] + per_joint(OFFSET) + list(range(BACK, REG)) + per_joint(REG)
                    + [YAW, YAW + 1])
        self.register_buffer("flip_channels", torch.tensor(channels), persistent=False)
        sign = torch.ones(CHANNELS)
        sign[OFFSET:YAW:2] = -1.0
        sign[YAW + 1] = -1.0
        self.register_buffer("flip_sign", sign[:, None, None], persistent=False)

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        height, width = image.shape[0], image.shape[1]
        x = image.permute(2, 0, 1).unsqueeze(0).float() / 255.0
        scale = float(self.input_height) / float(height)
        nw = max(16, int(round(width * scale)))
        if height != self.input_height or nw != width:
            x = F.interpolate(x, size=[self.input_height, nw], mode="bilinear", align_corners=False, antialias=True)
        pw = (16 - nw % 16) % 16
        if pw > 0:
            x = F.pad(x, [0, pw, 0, 0], mode="replicate")
        x = (x - 0.5) / 0.25
        if self.flip:
            both = self.net(torch.cat([x, x.flip(3)]))
            mirrored = both[1].flip(2)[self.flip_channels] * self.flip_sign
            out = torch.cat([torch.sigmoid(both[0, :18]) + torch.sigmoid(mirrored[:18]),
                             both[0, 18:] + mirrored[18:]]) * 0.5
        else:
            raw = self.net(x)[0]
            out = torch.cat([torch.sigmoid(raw[:18]), raw[18:]])
        h, w = out.shape[1], out.shape[2]
        # people
        heat = out[0]
        peaks = F.max_pool2d(heat[None, None], 3, 1, 1)[0, 0] == heat
        scores, idx = torch.topk(torch.where(peaks, heat, torch.zeros_like(heat)).flatten(), min(self.top_k, h * w))
        keep = scores >= self.min_score
        scores, idx = scores[keep], idx[keep]
        k = idx.numel()
        if k == 0:
            return torch.zeros(0, 17, 3), torch.zeros(0)
        ci, cj = (idx // w).float(), (idx % w).float()
        offset_at, back_at, link_at, reg_at, yaw_at = self.fields
        reg = out[reg_at:yaw_at].reshape(17, 2, h * w)[:, :, idx].permute(2, 0, 1)  # [K, 17, 2] cells
        rx, ry = cj[:, None] + reg[:, :, 0], ci[:, None] + reg[:, :, 1]
        size = torch.maximum(rx.max(1)[0] - rx.min(1)[0], ry.max(1)[0] - ry.min(1)[0]).clamp(min=4.0)[:, None]
        # joint candidates [17, M]: value, refined position, centre vote, parent vote (type fields)
        joints = out[1:18]
        jpeaks = F.max_pool2d(joints[None], 3, 1, 1)[0] == joints
        pv, pidx = torch.topk(torch.where(jpeaks, joints, torch.zeros_like(joints)).flatten(1),
                              min(self.candidates, h * w), dim=1)
        pi, pj = (pidx // w).float(), (pidx % w).float()
        types = torch.tensor(self.joint_type)
        type_fields = out[back_at:reg_at].reshape(2, self.types, 2, h * w)[:, types]  # [2, 17, 2, HW]
        fields = torch.cat([out[offset_at:back_at].reshape(1, 17, 2, h * w), type_fields])  # [3, 17, 2, HW]
        sampled = fields.gather(3, pidx[None, :, None, :].expand(3, 17, 2, pidx.shape[1]))  # [3, 17, 2, M]
        px, py = pj + sampled[0, :, 0], pi + sampled[0, :, 1]
        qx, qy = pj + sampled[1, :, 0], pi + sampled[1, :, 1]
        ax, ay = pj + sampled[2, :, 0], pi + sampled[2, :, 1]
        gx, gy, val = rx.clone(), ry.clone(), torch.full_like(rx, 0.01)
        for j in self.order:
            q = self.parent[j]
            sources = [j] if q < 0 else [j, self.mirror[j]]
            cv, cx, cy = pv[sources].flatten(), px[sources].flatten(), py[sources].flatten()
            vx, vy = qx[sources].flatten(), qy[sources].flatten()
            logit = -((vx[None] - cj[:, None]) ** 2 + (vy[None] - ci[:, None]) ** 2) / (2 * (self.vote * size) ** 2)
            d_near = (cx[None] - rx[:, j:j + 1]) ** 2 + (cy[None] - ry[:, j:j + 1]) ** 2
            logit = logit - d_near / (2 * (self.near * size) ** 2)
            if q >= 0:
                lx, ly = ax[sources].flatten(), ay[sources].flatten()
                d_link = (lx[None] - gx[:, q:q + 1]) ** 2 + (ly[None] - gy[:, q:q + 1]) ** 2
                logit = logit - d_link / (2 * (self.link * size) ** 2)
            best, m = (cv[None] * torch.exp(logit)).max(1)  # [K]
            snap = best >= self.min_joint
            gx[:, j] = torch.where(snap, cx[m], rx[:, j])
            gy[:, j] = torch.where(snap, cy[m], ry[:, j])
            val[:, j] = torch.where(snap, cv[m], val[:, j])
        # left and right from the yaw: facing the camera, the left shoulder is right of the right one (upper body:
        # face, arms), and so is the left hip (lower body: legs)
        hx = gx[:, :5].mean(1).round().clamp(0, w - 1).long()
        hy = gy[:, :5].mean(1).round().clamp(0, h - 1).long()
        cos_yaw = out[yaw_at][hy, hx]
        sure = cos_yaw.abs() > self.yaw_gate
        swap_upper = ((gx[:, 5] - gx[:, 6]) * cos_yaw < 0) & sure
        swap_lower = ((gx[:, 11] - gx[:, 12]) * cos_yaw < 0) & sure
        swap = torch.cat([swap_upper[:, None].expand(k, 11), swap_lower[:, None].expand(k, 6)], 1)  # [K, 17]
        mirror = torch.tensor(self.mirror)
        gx = torch.where(swap, gx[:, mirror], gx)
        gy = torch.where(swap, gy[:, mirror], gy)
        val = torch.where(swap, val[:, mirror], val)
        # stride-4 cells to resized-image pixel centres, then to the input's (align_corners=False)
        gx = ((gx * self.stride + 1.5) + 0.5) / scale - 0.5
        gy = ((gy * self.stride + 1.5) + 0.5) / scale - 0.5
        return torch.stack([gx, gy, (val * scores[:, None]).clamp(min=1e-4)], 2), scores


DECODE_DEFAULTS = {"top_k": 10, "min_score": 0.1, "candidates": 20, "vote": 0.1, "near": 1.0, "link": 0.08,
                   "min_joint": 0.05, "yaw_gate": 0.2, "flip": True}


def export(net, path, decode):
    """Scripted and frozen (batch norm folded), saved to `path`, read back."""
    module = torch.jit.freeze(torch.jit.script(ToyDetector(copy.deepcopy(net).eval(), **decode).eval()))
    module.save(str(path))
    return torch.jit.load(str(path))
