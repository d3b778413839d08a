#!/usr/bin/env python3
"""Reference outputs for the C++ tests, computed with the Python libraries that define the behaviour.

- Skeleton rendering: OpenCV's cv2.line / cv2.circle on a float64 canvas, as the official loader
  (ldm/data/dataset_pose.py) draws, with the person-sum and confidence rules of stable-pose.md §12.
- Pose masks: torchvision.transforms.GaussianBlur(k, sigma=3), threshold, 8x8 any-pooling (§6).
- PMSA ViT, pose encoder and AttnResBlock: written here from stable-pose.md §3-5 with einops and plain
  PyTorch modules carrying the official parameter names; random weights, saved with the inputs and outputs.

Usage: make_golden.py OUT_DIR   (writes OUT_DIR/*.safetensors; deterministic)
"""
import colorsys
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision.transforms as T
from einops import rearrange
from einops.layers.torch import Rearrange
from safetensors.torch import save_file
from torch import nn

# ---------------------------------------------------------------------------------------------------------
# Skeleton rendering and masks
# ---------------------------------------------------------------------------------------------------------

COCO_LIMBS = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7), (6, 8), (7, 9), (8, 10), (5, 11),
              (6, 12), (11, 13), (12, 14), (13, 15), (14, 16)]
THRESH = 0.02


def hls_palette(n, h=0.01, l=0.6, s=0.65):
    # seaborn.hls_palette: np.linspace(0, 1, n + 1)[:-1] + h, wrapped, then colorsys.hls_to_rgb.
    hues = np.linspace(0, 1, n + 1)[:-1]
    hues += h
    hues %= 1
    hues -= hues.astype(int)
    return [colorsys.hls_to_rgb(h_i, l, s) for h_i in hues]


def render(poses, height, width, width_px=10):
    """poses: [P, 17, 3] with missing joints (-1, -1, 0); returns HxWx3 float64 canvas (0..255), RGB."""
    colours = hls_palette(len(COCO_LIMBS))
    canvas = np.zeros((height, width, 3))
    for person in poses[:10]:
        if np.sum(person) <= 0:
            continue
        for idx, (a, b) in enumerate(COCO_LIMBS):
            ka, kb = person[a], person[b]
            if (int(ka[0]) != -1 and int(ka[1]) != -1 and int(kb[0]) != -1 and int(kb[1]) != -1
                    and ka[2] > THRESH and kb[2] > THRESH):
                colour = tuple(int(255 * c) for c in colours[idx])
                pa, pb = (int(ka[0]), int(ka[1])), (int(kb[0]), int(kb[1]))
                cv2.line(canvas, pa, pb, colour, width_px)
                cv2.circle(canvas, pa, width_px // 2, colour, -1)
                cv2.circle(canvas, pb, width_px // 2, colour, -1)
    return canvas


def random_poses(rng, people, height, width):
    poses = np.zeros((people, 17, 3), dtype=np.float32)
    for p in range(people):
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        spread = rng.uniform(0.08, 0.3) * min(width, height)
        poses[p, :, 0] = cx + rng.normal(0, spread, 17)
        poses[p, :, 1] = cy + rng.normal(0, spread, 17)
        poses[p, :, 2] = rng.uniform(0.0, 1.0, 17)
        poses[p, rng.uniform(size=17) < 0.15, 2] = 0.01  # below the threshold
        missing = rng.uniform(size=17) < 0.1
        poses[p, missing] = (-1.0, -1.0, 0.0)
    return poses


def pose_masks(hint, kernels, threshold, background_relative):
    """hint: [B, 3, H, W] in [-1, 1]; official get_input / gen_pose_mask.

    The literal form blurs the hint and compares with the threshold. In float32 the k=23 kernel sums to
    0.99999982, so a blank region blurs to -0.99999982 > -1 and the literal training mask selects every
    pixel; the background-relative form blurs hint + 1 (blank stays exactly 0) and compares with
    threshold + 1, which is the same test in exact arithmetic.
    """
    out = []
    b, _, h, w = hint.shape
    for k in kernels:
        if background_relative:
            selected = (T.GaussianBlur(kernel_size=k, sigma=3)(hint + 1) > threshold + 1).any(dim=1)
        else:
            selected = (T.GaussianBlur(kernel_size=k, sigma=3)(hint) > threshold).any(dim=1)  # [B, H, W]
        cells = torch.zeros(b, h // 8, w // 8)
        for i in range(b):
            rows, cols = torch.where(selected[i])
            cells[i, rows // 8, cols // 8] = 1
        out.append(cells)
    return torch.cat(out, 0)


def make_render_and_masks(out_dir):
    rng = np.random.default_rng(1234)
    tensors = {}
    cases = [(512, 512, 2), (384, 640, 3), (256, 256, 1), (512, 512, 12)]
    for i, (h, w, people) in enumerate(cases):
        poses = random_poses(rng, people, h, w)
        if i == 2:
            poses[0, :, 0] = -0.5  # int(-0.5) == 0: drawn at x = 0, as the official code does
        canvas = render(poses, h, w)
        hint = torch.from_numpy((canvas / 255 * 2 - 1).astype(np.float32)).permute(2, 0, 1)[None]
        tensors[f"case{i}.poses"] = torch.from_numpy(poses)
        tensors[f"case{i}.skeleton"] = torch.from_numpy(canvas.astype(np.uint8))
        tensors[f"case{i}.blur23"] = T.GaussianBlur(kernel_size=23, sigma=3)(hint)[0]
        tensors[f"case{i}.masks_train"] = pose_masks(hint, [23, 13], -1.0, True)
        tensors[f"case{i}.masks_infer"] = pose_masks(hint, [23, 13], -0.99, True)
        tensors[f"case{i}.masks_train_literal"] = pose_masks(hint, [23, 13], -1.0, False)
        tensors[f"case{i}.masks_infer_literal"] = pose_masks(hint, [23, 13], -0.99, False)
    tensors["palette16"] = torch.tensor([[int(255 * c) for c in rgb] for rgb in hls_palette(16)], dtype=torch.int32)
    save_file(tensors, str(out_dir / "render_masks.safetensors"))


# ---------------------------------------------------------------------------------------------------------
# Networks (stable-pose.md §3-5), official parameter names
# ---------------------------------------------------------------------------------------------------------

def posemb_sincos_2d(h, w, dim, temperature=10000):
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    omega = torch.arange(dim // 4) / (dim // 4 - 1)
    omega = 1.0 / (temperature ** omega)
    y = y.flatten()[:, None] * omega[None, :]
    x = x.flatten()[:, None] * omega[None, :]
    return torch.cat((x.sin(), x.cos(), y.sin(), y.cos()), dim=1)


def allowed_from_latent_mask(mask, p):
    """mask: [B, H, W] 0/1 -> [B, N, N] bool, fg-or rule with any-pooling over p x p cells."""
    b, h, w = mask.shape
    fg = torch.zeros(b, h // p, w // p, dtype=torch.bool)
    for i in range(b):
        rows, cols = torch.where(mask[i] == 1)
        fg[i, rows // p, cols // p] = True
    fg = fg.view(b, -1)
    return fg[:, :, None] | fg[:, None, :]


class Attention(nn.Module):
    def __init__(self, dim, heads, dim_head):
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, heads * dim_head * 3, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x, allowed):
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in self.to_qkv(self.norm(x)).chunk(3, -1))
        dots = q @ k.transpose(-1, -2) * self.scale
        if allowed is not None:
            dots = dots.masked_fill(~allowed[:, None], dots.min().detach())
        return self.to_out(rearrange(dots.softmax(-1) @ v, "b h n d -> b n (h d)"))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([Attention(dim, heads, dim_head), FeedForward(dim, mlp_dim)]) for _ in range(depth))

    def forward(self, x, allowed):
        for i, (attn, ff) in enumerate(self.layers):
            x = attn(x, None if allowed is None else allowed[i]) + x
            x = ff(x) + x
        return x


class PMSAViT(nn.Module):
    def __init__(self, patch=2, dim=512, depth=2, heads=8, dim_head=40, mlp_dim=512, channels=320):
        super().__init__()
        self.patch, self.dim = patch, dim
        self.to_patch_embedding = nn.Sequential(
            nn.Conv2d(channels, 128, 3, padding=1),
            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch),
            nn.LayerNorm(128 * patch * patch), nn.Linear(128 * patch * patch, dim), nn.LayerNorm(dim))
        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim)
        self.to_out = nn.Sequential(nn.Identity(), nn.Conv2d(128, channels, 3, padding=1))

    def forward(self, img, masks=None):
        b, _, H, W = img.shape
        h, w = H // self.patch, W // self.patch
        x = self.to_patch_embedding(img) + posemb_sincos_2d(h, w, self.dim).to(img.dtype)
        allowed = None if masks is None else [allowed_from_latent_mask(m, self.patch) for m in masks.split(b)]
        x = self.transformer(x, allowed)
        x = rearrange(x, "b (h w) (p1 p2 c) -> b c (h p1) (w p2)", h=h, p1=self.patch, p2=self.patch)
        return self.to_out[1](x)


class FeatureExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        c = lambda i, o, s: nn.Conv2d(i, o, 3, stride=s, padding=1)
        self.pre_extractor = nn.Sequential(c(3, 32, 1), nn.SiLU(), c(32, 64, 2), nn.SiLU(), c(64, 64, 1), nn.SiLU(),
                                           c(64, 128, 2), nn.SiLU(), c(128, 128, 1), nn.SiLU())
        self.extractors = nn.ModuleList([nn.Sequential(c(128, 192, 2), nn.SiLU())])
        self.zero_convs = nn.ModuleList([c(192, 192, 1)])

    def forward(self, x):
        return self.zero_convs[0](self.extractors[0](self.pre_extractor(x)))


class AttnResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.in_layers = nn.Sequential(nn.Identity(), nn.SiLU(), nn.Conv2d(320, 320, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(1280, 320))
        self.attn_layer = PMSAViT()
        self.norm = nn.GroupNorm(32, 320, affine=False)
        self.cond_conv = nn.Conv2d(192, 320, 3, padding=1)
        self.out_layers = nn.Sequential(nn.Identity(), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(320, 320, 3, padding=1))

    def forward(self, x, emb, pose, masks):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        h = self.norm(self.attn_layer(h, masks)) + self.cond_conv(pose)
        return x + self.out_layers(h)


def randomise_norms(module, gen):
    # Default LayerNorm init is (1, 0); random affine parameters make the name mapping matter.
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))


def blob_masks(gen, rows, h, w):
    masks = torch.zeros(rows, h, w)
    for r in range(rows):
        y0, x0 = torch.randint(0, h - 2, (2,), generator=gen).tolist()
        masks[r, y0:y0 + h // 3, x0:x0 + w // 4] = 1
    return masks


def prefixed(prefix, state):
    return {prefix + k: v.contiguous() for k, v in state.items()}


def make_networks(out_dir):
    gen = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    tensors = {}
    vit = PMSAViT().eval()
    randomise_norms(vit, gen)
    tensors.update(prefixed("vit.", vit.state_dict()))
    for name, (b, h, w) in {"square": (2, 16, 16), "wide": (2, 8, 12)}.items():
        img = torch.randn(b, 320, h, w, generator=gen)
        masks = blob_masks(gen, 2 * b, h, w)
        masks[1] = 0  # coarse mask of image 1 empty
        masks[b + 1] = 0  # fine mask of image 1 empty: no foreground at all
        with torch.no_grad():
            tensors[f"{name}.input"] = img
            tensors[f"{name}.masks"] = masks
            tensors[f"{name}.out_masked"] = vit(img, masks)
            tensors[f"{name}.out_plain"] = vit(img)
            tensors[f"{name}.out_ones"] = vit(img, torch.ones_like(masks))
    tensors["posemb_16x24"] = posemb_sincos_2d(16, 24, 512)

    encoder, block = FeatureExtractor().eval(), AttnResBlock().eval()
    randomise_norms(block, gen)
    skeleton = torch.rand(2, 3, 64, 96, generator=gen) * 2 - 1
    x = torch.randn(2, 320, 8, 12, generator=gen)
    emb = torch.randn(2, 1280, generator=gen)
    masks = blob_masks(gen, 4, 8, 12)
    with torch.no_grad():
        tensors["encoder.input"] = skeleton
        tensors["encoder.out"] = encoder(skeleton)
        tensors.update(prefixed("encoder.weights.", encoder.state_dict()))
        tensors["block.x"], tensors["block.emb"], tensors["block.masks"] = x, emb, masks
        tensors["block.pose"] = torch.randn(2, 192, 8, 12, generator=gen)
        tensors["block.out"] = block(x, emb, tensors["block.pose"], masks)
        tensors.update(prefixed("block.weights.", block.state_dict()))
    save_file(tensors, str(out_dir / "networks.safetensors"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reductions
    make_render_and_masks(out_dir)
    make_networks(out_dir)
    print(f"reference tensors written to {out_dir}")


if __name__ == "__main__":
    main()
