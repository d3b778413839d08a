#!/usr/bin/env python3
"""Reference values for the C++ image metrics (spec evaluation.md §8-9), from the Python libraries that define them.

- FID: torchmetrics FrechetInceptionDistance on fixed feature matrices (fed through an identity feature module),
  computed from float64 features so the reference value carries full precision; scipy.linalg.sqrtm's value too
  (torchmetrics 0.11's method).
- KID: torchmetrics KernelInceptionDistance with its torch.randperm calls recorded, so the C++ side gets the exact
  subset indices; also the plain seeded call (torch.manual_seed), which the C++ generator reproduces.
- Per-scenario averaging: Stable-Pose's eval_quality.py loop transcribed (FID per scenario, KID per scenario unless
  #fakes <= subset_size, unweighted means).
- Inception: scripts/export_metric_models.py inception --random-init, then torch-fidelity's FeatureExtractorInceptionV3
  loaded from the same random weights file gives the 64-d and 2048-d features of a few PNG images; torchmetrics
  FID (antialias=False, the torch-fidelity resize) over two small image folders.
- The uint8 wrap quirk: a transcription of the reference (torchvision Resize(299) + CenterCrop(299) on the PIL image,
  ToTensor, ImageNet Normalize, x255, cast through int64); Pillow's BILINEAR resize and torchvision's
  Resize + CenterCrop on images of several sizes (shrinking, enlarging, odd crops).
- CLIP-score: scripts/export_metric_models.py clip --tiny, then torchmetrics CLIPScore with the same transformers
  model and a CLIPProcessor (CLIPImageProcessor defaults of ViT-B/16, the tokenizer from the vendored vocabulary).

Usage: make_metrics_golden.py OUT_DIR   (writes OUT_DIR/metrics.safetensors, OUT_DIR/metrics.json, OUT_DIR/metrics/)
Deterministic; CPU; about a minute on two cores.
"""
import json
import subprocess
import sys
import warnings
from argparse import Namespace
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "reference"))
import export_metric_models  # noqa: E402
from make_tokenizer_golden import write_hf_files  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Features(nn.Module):
    """Identity 'feature extractor': torchmetrics' metrics then run on given feature matrices."""

    def __init__(self, d):
        super().__init__()
        self.num_features = d

    def forward(self, x):
        return x


def feature_sets(gen, n_real, n_fake, d):
    """Non-negative, correlated, shifted feature matrices (like pooled ReLU activations), float32."""
    mix = torch.randn(d, d, generator=gen, dtype=torch.float64) / d ** 0.5
    real = torch.relu(torch.randn(n_real, d, generator=gen, dtype=torch.float64) @ mix + 0.3)
    fake = torch.relu(1.1 * torch.randn(n_fake, d, generator=gen, dtype=torch.float64) @ mix + 0.35)
    return real.float(), fake.float()


def torchmetrics_fid(real, fake):
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=Features(real.shape[1]), normalize=False)
    fid.update(real.double(), real=True)  # float64 in: compute() returns float64 (same states as float32 in)
    fid.update(fake.double(), real=False)
    return float(fid.compute())


def scipy_fid(real, fake):
    """torchmetrics 0.11's formula: scipy.linalg.sqrtm of the product, real part, trace."""
    r, f = real.double().numpy(), fake.double().numpy()
    mu1, mu2 = r.mean(0), f.mean(0)
    s1, s2 = np.cov(r, rowvar=False), np.cov(f, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def torchmetrics_kid(real, fake, subset_size, subsets, seed, record=None):
    """KID mean and std; `record` collects the first subset_size entries of every randperm draw."""
    from torchmetrics.image.kid import KernelInceptionDistance

    kid = KernelInceptionDistance(feature=Features(real.shape[1]), subsets=subsets, subset_size=subset_size)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    original = torch.randperm

    def recording(n, *args, **kwargs):
        perm = original(n, *args, **kwargs)
        if record is not None:
            record.append(perm[:subset_size].clone())
        return perm

    torch.manual_seed(seed)
    torch.randperm = recording
    try:
        mean, std = kid.compute()
    finally:
        torch.randperm = original
    return float(mean), float(std)


def fid_kid_goldens(t, meta):
    gen = torch.Generator().manual_seed(1)
    # 64-d with N > d (the reference FID), 256-d, and 1024-d with N < d (rank-deficient covariances).
    for name, (n_real, n_fake, d) in {"d64": (300, 250, 64), "d256": (400, 350, 256),
                                      "d1024": (160, 150, 1024)}.items():
        real, fake = feature_sets(gen, n_real, n_fake, d)
        t[f"fid.{name}.real"], t[f"fid.{name}.fake"] = real, fake
        t[f"fid.{name}.torchmetrics"] = torch.tensor(torchmetrics_fid(real, fake), dtype=torch.float64)
        t[f"fid.{name}.scipy"] = torch.tensor(scipy_fid(real, fake), dtype=torch.float64)

    # KID on 2048-d features: fixed (recorded) subsets, float64 and float32 references, and the seeded draw.
    real, fake = feature_sets(gen, 120, 110, 2048)
    t["kid.real"], t["kid.fake"] = real, fake
    m, subsets, seed = 50, 100, 7
    drawn = []
    mean64, std64 = torchmetrics_kid(real.double(), fake.double(), m, subsets, seed, drawn)
    t["kid.real_idx"] = torch.stack(drawn[0::2])
    t["kid.fake_idx"] = torch.stack(drawn[1::2])
    t["kid.mean64"], t["kid.std64"] = torch.tensor(mean64, dtype=torch.float64), torch.tensor(std64, dtype=torch.float64)
    mean32, std32 = torchmetrics_kid(real, fake, m, subsets, seed)
    t["kid.mean32"], t["kid.std32"] = torch.tensor(mean32, dtype=torch.float64), torch.tensor(std32, dtype=torch.float64)
    meta["kid"] = dict(subset_size=m, subsets=subsets, seed=seed)

    # Per-scenario averaging (Stable-Pose eval_quality.py): scenario "b" has too few fakes for KID. The sets are
    # interleaved so the C++ side has to group by label; each scenario keeps its images in set order, and its KID
    # subsets are drawn after torch.manual_seed(seed), as the C++ side seeds one generator per scenario.
    sizes = {"a": (80, 70), "b": (60, 30), "c": (90, 75)}
    sub = 40
    parts = {label: (feature_sets(gen, nr, nf, 64), feature_sets(gen, nr, nf, 2048)) for label, (nr, nf) in
             sizes.items()}
    rl = [label for label, (nr, _) in sizes.items() for _ in range(nr)]
    fl = [label for label, (_, nf) in sizes.items() for _ in range(nf)]
    perm_r = torch.randperm(len(rl), generator=gen)
    perm_f = torch.randperm(len(fl), generator=gen)
    real64 = torch.cat([p[0][0] for p in parts.values()])[perm_r]
    real2048 = torch.cat([p[1][0] for p in parts.values()])[perm_r]
    fake64 = torch.cat([p[0][1] for p in parts.values()])[perm_f]
    fake2048 = torch.cat([p[1][1] for p in parts.values()])[perm_f]
    rl, fl = [rl[i] for i in perm_r], [fl[i] for i in perm_f]
    fid_values, kid_values = {}, {}
    for label in sizes:
        ri = torch.tensor([i for i, l in enumerate(rl) if l == label])
        fi = torch.tensor([i for i, l in enumerate(fl) if l == label])
        fid_values[label] = torchmetrics_fid(real64[ri], fake64[fi])
        kid_values[label] = (torchmetrics_kid(real2048[ri].double(), fake2048[fi].double(), sub, 100, seed)[0]
                             if len(fi) > sub else None)
    t["scenario.real64"], t["scenario.real2048"] = real64, real2048
    t["scenario.fake64"], t["scenario.fake2048"] = fake64, fake2048
    kids = [v for v in kid_values.values() if v is not None]
    meta["scenario"] = dict(real_labels=rl, fake_labels=fl, subset_size=sub, seed=seed, fid=fid_values,
                            kid=kid_values, fid_mean=sum(fid_values.values()) / len(fid_values),
                            kid_mean=sum(kids) / len(kids))


def test_image(rng, h, w):
    """Smooth colour gradients, blobs and noise: images whose features differ from one another."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        fx, fy, phase = rng.uniform(0.005, 0.05), rng.uniform(0.005, 0.05), rng.uniform(0, 6.3)
        img[..., c] = 127 + 90 * np.sin(fx * x + phase) * np.cos(fy * y)
    for _ in range(4):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(10, 80)
        img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_images(folder, rng, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = []
    for i, (h, w) in enumerate(sizes):
        arr = test_image(rng, h, w)
        Image.fromarray(arr).save(folder / f"img_{i:02d}.png")
        arrays.append(np.asarray(Image.open(folder / f"img_{i:02d}.png").convert("RGB")))
    return arrays


def inception_goldens(t, meta, out):
    from torchmetrics.image.fid import FrechetInceptionDistance

    inc_dir = out / "inception"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_metric_models.py"), "inception", "--random-init",
                    str(inc_dir), "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
    weights = inc_dir / "inception_weights.pth"
    net = export_metric_models.load_fidelity_inception(weights)  # torch-fidelity's own module
    rng = np.random.default_rng(3)
    real = write_images(out / "real", rng, [(299, 299), (512, 512), (256, 320), (512, 512), (299, 299)])
    fake = write_images(out / "fake", rng, [(512, 512), (512, 512), (300, 200), (512, 512)])
    for name, arrays in (("real", real), ("fake", fake)):
        f64, f2048 = [], []
        for arr in arrays:
            x = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
            a, b = net(x)
            f64.append(a), f2048.append(b)
        t[f"inception.{name}.f64"], t[f"inception.{name}.f2048"] = torch.cat(f64), torch.cat(f2048)

    # torchmetrics FID on the two folders (torch-fidelity resize: antialias=False), 64-d, uint8 input.
    # Its float32 result is kept next to the float64 value from the same features (identity module).
    fid = FrechetInceptionDistance(feature=64, feature_extractor_weights_path=str(weights), antialias=False)
    for arrays, is_real in ((real, True), (fake, False)):
        for arr in arrays:
            fid.update(torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous(), real=is_real)
    t["inception.fid64_f32"] = torch.tensor(float(fid.compute()), dtype=torch.float64)
    t["inception.fid64"] = torch.tensor(torchmetrics_fid(t["inception.real.f64"], t["inception.fake.f64"]),
                                        dtype=torch.float64)

    # The wrap quirk, transcribed: Resize(299) -> CenterCrop(299) -> ToTensor -> Normalize -> x255 -> float->int64
    # (truncation) -> mod 256 -> uint8. real[0] is 299x299, real[1] 512x512.
    from torchvision import transforms as T
    prepare = T.Compose([T.Resize(299), T.CenterCrop(299), T.ToTensor()])
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    wrapped = []
    for arr in real[:2]:
        x = prepare(Image.fromarray(arr))
        v = ((x - mean) / std) * 255
        wrapped.append(torch.remainder(v.to(torch.int64), 256).to(torch.uint8))
    t["wrap.img0"], t["wrap.img1"] = wrapped
    ramp = torch.linspace(0, 1, 256).view(1, 1, 256).repeat(3, 1, 1)  # every grey level of every channel
    t["wrap.ramp"] = ramp
    t["wrap.ramp_u8"] = torch.remainder((((ramp - mean) / std) * 255).to(torch.int64), 256).to(torch.uint8)
    meta["wrap"] = dict(today_torch_byte_cast_wraps=bool(torch.equal((((ramp - mean) / std) * 255).byte(),
                                                                     t["wrap.ramp_u8"])))
    # Pillow's BILINEAR resize (antialiased when shrinking) to given sizes, and torchvision's Resize(299) +
    # CenterCrop(299): (h, w) of the input, and (h, w) of the plain resize.
    resize_cases = [((512, 512), (299, 299)), ((427, 640), (100, 37)), ((256, 320), (299, 373)), ((300, 200), (61, 1)),
                    ((150, 200), (150, 411)), ((37, 61), (300, 200)), ((299, 299), (299, 299)), ((1, 3), (5, 2))]
    prng = np.random.default_rng(11)
    for i, ((h, w), (rh, rw)) in enumerate(resize_cases):
        arr = test_image(prng, h, w)
        t[f"pil_resize.{i}.input"] = torch.from_numpy(arr)
        t[f"pil_resize.{i}.resized"] = torch.from_numpy(np.asarray(Image.fromarray(arr).resize((rw, rh), Image.BILINEAR)))
        t[f"pil_resize.{i}.resize_crop_299"] = torch.from_numpy(
            np.asarray(T.CenterCrop(299)(T.Resize(299)(Image.fromarray(arr)))))
    meta["pil_resize"] = dict(cases=len(resize_cases), pillow=Image.__version__)
    # Wrapped inputs through the network: the reference-compat features of the real set.
    t["inception.real_wrap.f64"] = torch.cat([net(w.unsqueeze(0))[0] for w in wrapped])

    # A TorchScript file with the wrong signature behind a valid sidecar (one output instead of two).
    class OneOutput(nn.Module):
        def forward(self, images):
            return images.float().mean(dim=(2, 3))

    wrong = out / "wrong_outputs"
    wrong.mkdir(exist_ok=True)
    torch.jit.trace(OneOutput(), [torch.zeros(1, 3, 8, 8, dtype=torch.uint8)]).save(str(wrong / "inception.pt"))
    spec = json.loads((inc_dir / "inception.json").read_text())
    spec["sha256"] = export_metric_models.sha256(wrong / "inception.pt")
    (wrong / "inception.json").write_text(json.dumps(spec))

    class TwoInputs(nn.Module):
        def forward(self, images, scale):
            return images.float() * scale

    two = out / "wrong_inputs"
    two.mkdir(exist_ok=True)
    torch.jit.trace(TwoInputs(), [torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.ones(1)]).save(
        str(two / "inception.pt"))
    spec["sha256"] = export_metric_models.sha256(two / "inception.pt")
    (two / "inception.json").write_text(json.dumps(spec))


PROMPTS = [
    "a photo of a dancer on a stage",
    "Two people, dancing!! 2024",
    "oil painting of girls dancing on the stage, warm light, highly detailed, trending on artstation, 4k",
    "a man in a red coat doing acrobatics in front of a crowd of people at a street festival in the evening",
    "kids drawing of a cat",
]
CLIP_SIZES = [(512, 512), (300, 400), (480, 640), (512, 512), (224, 224)]  # (H, W): even crop margins


class TensorFeatures(nn.Module):
    """CLIPModel whose get_*_features return the projected tensor, as transformers 4.x did.

    transformers 5 returns a BaseModelOutputWithPooling (embeddings in pooler_output), which torchmetrics 1.9's
    CLIPScore cannot normalise; the numbers are the same model's.
    """

    def __init__(self, model):
        super().__init__()
        self.model, self.config = model, model.config

    def get_image_features(self, pixel_values):
        return self.model.get_image_features(pixel_values=pixel_values).pooler_output

    def get_text_features(self, input_ids, attention_mask=None):
        return self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output


def clip_goldens(t, meta, out):
    import transformers
    from torchmetrics.multimodal.clip_score import CLIPScore
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update

    clip_dir = out / "clip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_metric_models.py"), "clip", "--tiny",
                    str(clip_dir), "--seed", "0"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model = export_metric_models.build_clip(Namespace(source=None, seed=0))
    traced = torch.jit.load(str(clip_dir / "clip_image.pt"))
    assert torch.equal(dict(traced.named_parameters())["visual_projection.weight"], model.visual_projection.weight), \
        "rebuilt CLIP differs from the exported one"
    hf = out / "clip_hf_tokenizer"
    write_hf_files(hf)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(hf))
    processor = transformers.CLIPProcessor(image_processor=transformers.CLIPImageProcessor(), tokenizer=tokenizer)

    rng = np.random.default_rng(5)
    images = write_images(out / "clip_set", rng, CLIP_SIZES)
    with open(out / "clip_set" / "manifest.jsonl", "w") as f:
        for i, p in enumerate(PROMPTS):
            f.write(json.dumps({"path": f"img_{i:02d}.png", "prompt": p}) + "\n")
    tensors = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in images]  # uint8: no double rescale

    pixel = processor(images=tensors, return_tensors="pt")["pixel_values"]
    for i in range(len(tensors)):
        t[f"clip.pixel_values.{i}"] = pixel[i]
    # Pillow's BICUBIC (what transformers 4.19 ran) for the same resize, to bound the LibTorch path's distance.
    for i, arr in enumerate(images):
        h, w = arr.shape[:2]
        short, long = min(h, w), max(h, w)
        nh, nw = (224, int(224 * long / short)) if h <= w else (int(224 * long / short), 224)
        t[f"clip.pil_resized.{i}"] = torch.from_numpy(
            np.asarray(Image.fromarray(arr).resize((nw, nh), Image.BICUBIC))).permute(2, 0, 1).contiguous()

    wrapped = TensorFeatures(model)

    def score(prompts):
        metric = CLIPScore(model_name_or_path=lambda: (wrapped, processor))
        metric.update(tensors, prompts)
        per_image, _ = _clip_score_update(tensors, prompts, wrapped, processor)
        return float(metric.compute()), per_image.double()

    t["clip.score"], t["clip.per_image"] = (lambda s: (torch.tensor(s[0], dtype=torch.float64), s[1]))(score(PROMPTS))
    cut = [p[:77] for p in PROMPTS]  # Stable-Pose: text[:77]
    s, per = score(cut)
    t["clip.score_reference"], t["clip.per_image_reference"] = torch.tensor(s, dtype=torch.float64), per
    meta["clip"] = dict(prompts=PROMPTS, transformers=transformers.__version__,
                        token_counts=[len(tokenizer(p)["input_ids"]) for p in PROMPTS])


def main():
    import time
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    warnings.filterwarnings("ignore")
    root = Path(sys.argv[1])
    out = root / "metrics"
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    torch.set_grad_enabled(False)
    t, meta = {}, {}
    for part in (lambda: fid_kid_goldens(t, meta), lambda: inception_goldens(t, meta, out),
                 lambda: clip_goldens(t, meta, out)):
        start = time.process_time()
        part()
        print(f"{len(t)} tensors, {time.process_time() - start:.1f} s CPU", flush=True)
    save_file({k: v.contiguous() for k, v in t.items()}, str(root / "metrics.safetensors"))
    (root / "metrics.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(t)} tensors to {root / 'metrics.safetensors'}")


if __name__ == "__main__":
    main()
