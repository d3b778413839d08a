#!/usr/bin/env python3
"""Train the toy world's small base text-to-image latent diffusion model and export it (docs/toyworld.md).

    train_base.py [--out assets/toyworld/base_model] [--seed 0] [--stablepose build/stablepose] [--work DIR]

The real Stable Diffusion 1.x classes at a small size: diffusers AutoencoderKL (factor 8, 4 latent channels),
UNet2DConditionModel (3 cross-attention down blocks + 1 plain, 2 layers each: the 12 + 1 residuals the
Stable-Pose adapter feeds) and transformers CLIPTextModel over the real CLIP vocabulary. Trained on CPU on toy-world
images with their captions and no pose input:

  1. data: `stablepose toyworld generate` (count, seed), captions tokenized by `stablepose tokenize`, the exact
     tokenizer the C++ runtime uses;
  2. VAE: L1 + MSE + image-gradient L1 + small KL on random crops, random horizontal flips;
  3. latents of every image cached (posterior means), scaling_factor = 1 / their std
     (SD's 0.18215 was found the same way);
  3b. the decoder alone, the encoder frozen (so the latents stay valid), on whole images from those latents;
  4. U-Net and text encoder jointly: min-SNR weighted epsilon objective on SD 1.5's schedule (1000 steps,
     scaled_linear), 10% empty captions for classifier-free guidance, AdamW, EMA weights exported;
  5. export with scripts/export_sd.py's export() (TorchScript folder, runtime.md §2-3), fp32 CPU; recipe.json,
     training_log.txt and a sample panel made by `stablepose sample` (samples.png).

Deterministic per --seed on one thread (torch.set_num_threads(1) unless --threads says otherwise).
"""
import argparse
import hashlib
import json
import math
import platform
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import export_sd  # noqa: E402  (the exporter's configs, schedule and export())

PAD_ID = 49407  # the C++ tokenizer pads with <|endoftext|>
SAMPLE_PROMPTS = [
    "a red figure on a grassy background",
    "a blue figure on a sandy background",
    "a yellow figure on a brick background",
    "a green figure on a sky background",
    "two figures, a blue one and a yellow one, on a snowy background",
    "two figures, a red one and a white one, on a wooden background",
    "three figures, a green one, a purple one and an orange one, on a tiled background",
    "a figure in pink on a sky background",
]


def configs(args):
    """The architecture: SD 1.x structure (export_sd.tiny_configs), sizes chosen for a 128 px CPU model. The U-Net
    has 2 attention heads (diffusers' attention_head_dim is the head count): CPU attention with heads of 4-8
    channels costs twice as much."""
    unet = dict(sample_size=args.size // 8, in_channels=4, out_channels=4, layers_per_block=2,
                block_out_channels=(32, 64, 64, 64),
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                cross_attention_dim=64, attention_head_dim=2, norm_num_groups=16)
    vae = dict(in_channels=3, out_channels=3, block_out_channels=(16, 32, 64, 64), layers_per_block=1,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
               latent_channels=4, norm_num_groups=8, sample_size=args.size)
    text = dict(vocab_size=49408, hidden_size=64, intermediate_size=256, num_hidden_layers=3,
                num_attention_heads=4, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
                pad_token_id=49407)
    return unet, vae, text


class Log:
    """Prints and appends to training_log.txt, each line with the elapsed seconds."""

    def __init__(self, path):
        self.path, self.start = path, time.time()
        path.write_text("")

    def __call__(self, msg):
        line = f"[{time.time() - self.start:7.1f}s] {msg}"
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def make_data(args, log):
    """Generate (or reuse) the toy-world split; return uint8 images [N, 3, S, S], prompts, ids per prompt."""
    data = Path(args.data) if args.data else Path(args.work) / "data"
    mapping_path = data / "mapping_file_training.json"
    meta_path = data / "toyworld_training.json"
    reuse = False
    if mapping_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        reuse = meta["seed"] == args.data_seed and meta["count"] == args.count and meta["width"] == args.size
    if not reuse:
        cmd = [args.stablepose, "toyworld", "generate", "--out", str(data), "--count", str(args.count),
               "--size", str(args.size), "--seed", str(args.data_seed), "--split-name", "training",
               "--threads", str(args.threads)]
        log("running " + " ".join(cmd))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    mapping = json.loads(mapping_path.read_text())
    ids = sorted(mapping)
    images = np.stack([np.asarray(Image.open(data / mapping[i]["img_path"]).convert("RGB")) for i in ids])
    prompts = [mapping[i]["prompt"] for i in ids]
    log(f"data: {len(ids)} images {images.shape[1]}x{images.shape[2]} from {data} "
        f"({'reused' if reuse else 'generated'}), {len(set(prompts))} distinct captions")
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), prompts, data


def tokenize(args, texts, work):
    """Token ids [len(texts), 77] from `stablepose tokenize` (the runtime's tokenizer, ftfy normalisation)."""
    path = work / "prompts.txt"
    path.write_text("".join(t + "\n" for t in texts))
    out = subprocess.run([args.stablepose, "tokenize", "--file", str(path)], check=True, capture_output=True,
                         text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(rows) != len(texts):
        raise SystemExit(f"stablepose tokenize returned {len(rows)} rows for {len(texts)} prompts")
    return torch.tensor(rows, dtype=torch.int64)


def to_unit(x):
    return x.float() / 127.5 - 1.0  # uint8 -> [-1, 1]


def lr_at(step, total, peak, warmup):
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def reconstruction_terms(y, x):
    """L1, MSE and the L1 of the horizontal + vertical image-gradient differences, each a mean over pixels."""
    grad = (y.diff(dim=-1) - x.diff(dim=-1)).abs().mean() + (y.diff(dim=-2) - x.diff(dim=-2)).abs().mean()
    return (y - x).abs().mean(), F.mse_loss(y, x), grad


def train_vae(args, vae, images, gen, log):
    """Reconstruction on random crops (the VAE is convolutional; crops are 4x cheaper than full images)."""
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    n, c = images.shape[0], args.vae_crop
    running, history = [], []
    vae.train()
    for step in range(args.vae_steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.vae_steps, args.vae_lr, 50)
        idx = torch.randint(0, n, (args.vae_batch,), generator=gen)
        oy, ox = torch.randint(0, args.size - c + 1, (2,), generator=gen).tolist()
        x = to_unit(images[idx, :, oy:oy + c, ox:ox + c])
        flip = torch.rand(args.vae_batch, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        y = vae.decode(z).sample
        l1, mse, grad = reconstruction_terms(y, x)
        # SD's LDM weighs the per-image KL sum by 1e-6 against the per-image summed reconstruction loss; the
        # reconstruction here is a per-pixel mean, so the KL sum is divided by the pixel count.
        kl = post.kl().mean()
        loss = l1 + mse + args.vae_grad_weight * grad + args.vae_kl_weight * kl / x[0].numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        running.append((l1.item(), mse.item(), grad.item(), kl.item()))
        if (step + 1) % args.log_every == 0 or step + 1 == args.vae_steps:
            m = np.mean(running, axis=0)
            history.append(dict(step=step + 1, l1=float(m[0]), mse=float(m[1]), grad=float(m[2]), kl=float(m[3])))
            log(f"vae step {step + 1}/{args.vae_steps}: l1 {m[0]:.4f} mse {m[1]:.4f} grad {m[2]:.4f} kl {m[3]:.1f}")
            running = []
    vae.eval()
    return history


def finetune_decoder(args, vae, latents, images, gen, log):
    """Decoder only, the encoder frozen: the latent space, and so the U-Net's targets, stays as the VAE stage left it,
    while the decoder keeps learning the details (limbs, faces, exact colours) that stage left blurry. Same loss as
    the VAE stage, on whole images decoded from their cached posterior means (what the sampler's latents stand for)."""
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    opt = torch.optim.AdamW(params, lr=args.decoder_lr, weight_decay=0.0)
    n = images.shape[0]
    running, history = [], []
    vae.train()
    for step in range(args.decoder_steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.decoder_steps, args.decoder_lr, 50)
        idx = torch.randint(0, n, (args.decoder_batch,), generator=gen)
        x = to_unit(images[idx])
        y = vae.decode(latents[idx]).sample
        l1, mse, grad = reconstruction_terms(y, x)
        loss = l1 + mse + args.vae_grad_weight * grad
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        running.append((l1.item(), mse.item(), grad.item()))
        if (step + 1) % args.log_every == 0 or step + 1 == args.decoder_steps:
            m = np.mean(running, axis=0)
            history.append(dict(step=step + 1, l1=float(m[0]), mse=float(m[1]), grad=float(m[2])))
            log(f"decoder step {step + 1}/{args.decoder_steps}: l1 {m[0]:.4f} mse {m[1]:.4f} grad {m[2]:.4f}")
            running = []
    vae.eval()
    return history


@torch.inference_mode()
def cache_latents(args, vae, images, log):
    """Posterior means of every image: [N, 4, S/8, S/8], unscaled."""
    lat = torch.cat([vae.encode(to_unit(images[i:i + 64])).latent_dist.mean for i in range(0, images.shape[0], 64)])
    rec = vae.decode(lat[:16]).sample
    err = (rec - to_unit(images[:16])).abs().mean().item()
    log(f"latents: {tuple(lat.shape)}, mean {lat.mean():.3f}, std {lat.std():.3f}; recon L1 of 16 images {err:.4f}")
    return lat, err


def alphas_cumprod():
    s = export_sd.SD15_SCHEDULER
    betas = torch.linspace(s["beta_start"] ** 0.5, s["beta_end"] ** 0.5, s["num_train_timesteps"],
                           dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def train_unet(args, unet, text, latents, prompt_index, prompt_ids, empty_ids, gen, log):
    """Epsilon prediction with min-SNR weighting (Hang et al. 2023: min(SNR, gamma) / SNR, which lowers the weight
    of the nearly noise-free steps and converges several times faster); U-Net and text encoder together; caption
    dropout; EMA of both."""
    params = list(unet.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=args.weight_decay)
    ema = [p.detach().clone() for p in params]
    acp = alphas_cumprod()
    n = prompt_index.shape[0]
    running, history = [], []
    unet.train()
    text.train()
    for step in range(args.unet_steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.unet_steps, args.unet_lr, 100)
        idx = torch.randint(0, n, (args.unet_batch,), generator=gen)
        z0 = latents[idx] * args.scaling_factor
        ids = prompt_ids[prompt_index[idx]]
        drop = torch.rand(args.unet_batch, generator=gen) < args.caption_dropout
        ids = torch.where(drop[:, None], empty_ids[None], ids)
        t = torch.randint(0, acp.shape[0], (args.unet_batch,), generator=gen)
        eps = torch.randn(z0.shape, generator=gen)
        a = acp[t].view(-1, 1, 1, 1)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        ctx = text(input_ids=ids, return_dict=False)[0]
        per_image = (unet(zt, t, ctx, return_dict=False)[0] - eps).pow(2).mean(dim=(1, 2, 3))
        snr = acp[t] / (1 - acp[t])
        weight = snr.clamp(max=args.min_snr_gamma) / snr if args.min_snr_gamma > 0 else torch.ones_like(snr)
        loss = (weight * per_image).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.lerp_(p, 1 - decay)
        running.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.unet_steps:
            history.append(dict(step=step + 1, loss=float(np.mean(running))))
            lr = opt.param_groups[0]["lr"]
            log(f"unet step {step + 1}/{args.unet_steps}: loss {np.mean(running):.4f} lr {lr:.2e}")
            running = []
    with torch.no_grad():
        for e, p in zip(ema, params):
            p.copy_(e)
    unet.eval()
    text.eval()
    return history


def sample_panel(args, out, log):
    """samples.png: SAMPLE_PROMPTS x 2 seeds from the exported folder with the C++ sampler (no adapter; the job
    format needs a pose, which only an adapter would read)."""
    jobs = dict(defaults=dict(width=args.size, height=args.size, steps=20, guidance_scale=5.0, negative_prompt="",
                              seeds=[1, 2]),
                jobs=[dict(name=f"p{i}", prompt=p, pose=str(ROOT / "assets" / "examples" / "two_people.json"))
                      for i, p in enumerate(SAMPLE_PROMPTS)])
    work = Path(args.work) / "samples"
    work.mkdir(parents=True, exist_ok=True)
    (work / "jobs.json").write_text(json.dumps(jobs, indent=1))
    subprocess.run([args.stablepose, "sample", str(work / "jobs.json"), "--model", str(out), "-o", str(work / "out"),
                    "--overwrite", "--device", "cpu"], check=True, stdout=subprocess.DEVNULL)
    s = args.size
    panel = Image.new("RGB", (len(SAMPLE_PROMPTS) * s, 2 * s))
    for i in range(len(SAMPLE_PROMPTS)):
        for r, seed in enumerate((1, 2)):
            panel.paste(Image.open(work / "out" / "images" / f"p{i}_s{seed}.png").convert("RGB"), (i * s, r * s))
    panel.save(out / "samples.png", optimize=True)
    log(f"wrote {out / 'samples.png'} (columns: {SAMPLE_PROMPTS}; rows: seeds 1, 2; ddim 20 steps, guidance 5, "
        "empty negative prompt)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "assets" / "toyworld" / "base_model"))
    p.add_argument("--work", default="/tmp/toyworld_base_work", help="data, token files, sample outputs")
    p.add_argument("--data", default=None, help="an existing toy-world folder (reused when its seed/count match)")
    p.add_argument("--stablepose", default=str(ROOT / "build" / "stablepose"))
    p.add_argument("--seed", type=int, default=0, help="weights, batches, noise")
    p.add_argument("--data-seed", type=int, default=0, help="toyworld generate --seed")
    p.add_argument("--count", type=int, default=4000)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vae-steps", type=int, default=1500)
    p.add_argument("--vae-batch", type=int, default=16)
    p.add_argument("--vae-crop", type=int, default=64)
    p.add_argument("--vae-lr", type=float, default=2e-3)
    p.add_argument("--vae-kl-weight", type=float, default=1e-6)
    p.add_argument("--vae-grad-weight", type=float, default=0.5)
    p.add_argument("--decoder-steps", type=int, default=1500, help="decoder-only fine-tuning after the VAE stage")
    p.add_argument("--decoder-batch", type=int, default=8)
    p.add_argument("--decoder-lr", type=float, default=1e-3)
    p.add_argument("--unet-steps", type=int, default=3000)
    p.add_argument("--unet-batch", type=int, default=32)
    p.add_argument("--unet-lr", type=float, default=1e-3)
    p.add_argument("--min-snr-gamma", type=float, default=5.0, help="0: plain epsilon MSE")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--caption-dropout", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--no-samples", action="store_true", help="skip samples.png")
    args = p.parse_args()

    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    log = Log(out / "training_log.txt")
    log(f"train_base.py {' '.join(sys.argv[1:])}; torch {torch.__version__}, {args.threads} thread(s), "
        f"{platform.processor() or platform.machine()}")
    times = {}
    t0 = time.time()
    images, prompts, _ = make_data(args, log)
    distinct = sorted(set(prompts))
    ids = tokenize(args, distinct + [""], work)
    prompt_ids, empty_ids = ids[:-1], ids[-1]
    pos = {t: i for i, t in enumerate(distinct)}
    prompt_index = torch.tensor([pos[t] for t in prompts])
    times["data_s"] = time.time() - t0

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    unet_cfg, vae_cfg, text_cfg = configs(args)
    vae = AutoencoderKL(**vae_cfg)
    unet = UNet2DConditionModel(**unet_cfg)
    text = CLIPTextModel(CLIPTextConfig(**text_cfg, attn_implementation="eager"))
    # Rows of tokens no caption uses would never be trained; zero them so an unknown word is neutral (only its
    # position embedding) rather than random noise (and the file compresses).
    used = torch.zeros(text_cfg["vocab_size"], dtype=torch.bool)
    used[ids.unique()] = True
    with torch.no_grad():
        text.get_input_embeddings().weight[~used] = 0
    counts = {name: sum(p.numel() for p in m.parameters()) for name, m in
              (("unet", unet), ("vae", vae), ("text_encoder", text))}
    log(f"parameters: {counts}; {int(used.sum())} vocabulary rows used")

    t0 = time.time()
    # The VAE stage is a pure function of the data and these settings: cached in --work to iterate on the U-Net.
    vae_key = {k: getattr(args, k) for k in ("seed", "data_seed", "count", "size", "vae_steps", "vae_batch",
                                              "vae_crop", "vae_lr", "vae_kl_weight", "vae_grad_weight")}
    cache = work / f"vae_{hashlib.sha256(json.dumps(vae_key, sort_keys=True).encode()).hexdigest()[:16]}.pt"
    vae_cached = cache.exists()
    if vae_cached:
        saved = torch.load(cache)
        vae.load_state_dict(saved["vae"])
        vae_history, latents, recon_l1 = saved["history"], saved["latents"], saved["recon_l1"]
        gen.set_state(saved["gen"])
        log(f"VAE and latents loaded from {cache} (same data and VAE settings)")
    else:
        vae_history = train_vae(args, vae, images, gen, log)
        times["vae_s"] = time.time() - t0
        t0 = time.time()
        latents, recon_l1 = cache_latents(args, vae, images, log)
        torch.save(dict(vae=vae.state_dict(), history=vae_history, latents=latents, recon_l1=recon_l1,
                        gen=gen.get_state(), key=vae_key), cache)
    vae.eval()
    args.scaling_factor = float(1.0 / latents.std())
    vae.register_to_config(scaling_factor=args.scaling_factor)
    log(f"scaling_factor {args.scaling_factor:.5f}")
    times["latents_s"] = time.time() - t0
    decoder_history = []
    if args.decoder_steps > 0:
        t0 = time.time()
        decoder_history = finetune_decoder(args, vae, latents.clone(), images, gen, log)  # not an inference tensor
        with torch.no_grad():
            rec = vae.decode(latents[:16]).sample
        recon_l1 = (rec - to_unit(images[:16])).abs().mean().item()
        log(f"decoder fine-tuned: recon L1 of 16 images {recon_l1:.4f}")
        times["decoder_s"] = time.time() - t0
    t0 = time.time()
    unet_history = train_unet(args, unet, text, latents, prompt_index, prompt_ids, empty_ids, gen, log)
    times["unet_s"] = time.time() - t0

    t0 = time.time()
    source = dict(kind="toyworld-base", script="scripts/toyworld/train_base.py", argv=sys.argv[1:],
                  seed=args.seed, recipe="recipe.json")
    export_args = Namespace(out_dir=str(out), dtype="fp32", device="cpu", channels_last=False, attention="sdpa",
                            seed=args.seed, batch=2, image_size=args.size, source=None, tiny=False)
    with torch.no_grad():
        export_sd.export(export_args, models=(unet, vae, text, dict(export_sd.SD15_SCHEDULER)), source=source)
    times["export_s"] = time.time() - t0
    if not args.no_samples:
        t0 = time.time()
        sample_panel(args, out, log)
        times["samples_s"] = time.time() - t0
    times["total_s"] = sum(times.values())
    log("times: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    recipe = dict(
        description="toy-world base text-to-image LDM (docs/toyworld.md, 'The toy base model')",
        command="scripts/toyworld/train_base.py " + " ".join(sys.argv[1:]),
        args={k: v for k, v in vars(args).items() if k not in ("work", "data", "stablepose", "out")},
        data=dict(generator="stablepose toyworld generate", seed=args.data_seed, count=args.count, size=args.size,
                  split="training", distinct_captions=len(distinct), horizontal_flip="VAE only"),
        architecture=dict(unet=unet_cfg, vae=vae_cfg, text_encoder=text_cfg, parameters=counts,
                          vocabulary_rows_used=int(used.sum())),
        objective=dict(vae="L1 + MSE + vae_grad_weight * L1(image gradients) + vae_kl_weight * KL, random crops",
                       decoder="decoder only (encoder frozen, latents unchanged): L1 + MSE + vae_grad_weight * "
                               "L1(image gradients) on whole images from their cached posterior means",
                       unet="epsilon MSE with min-SNR weighting (min_snr_gamma), SD 1.5 schedule, U-Net + text "
                            "encoder jointly, EMA weights exported",
                       scheduler=export_sd.SD15_SCHEDULER),
        scaling_factor=args.scaling_factor, vae_recon_l1_16_images=recon_l1,
        vae_from_cache=vae_cached,  # then times_s lacks the VAE stage (see the run that made the cache)
        history=dict(vae=vae_history, decoder=decoder_history, unet=unet_history),
        times_s={k: round(v, 1) for k, v in times.items()},
        environment=dict(torch=torch.__version__, python=platform.python_version(), threads=args.threads))
    (out / "recipe.json").write_text(json.dumps(recipe, indent=1, default=list) + "\n")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
