#!/usr/bin/env python3
"""The PyTorch peer of `stablepose bench train`: one ControlNet training step as diffusers'
examples/controlnet/train_controlnet.py does it, on random weights of the SD 1.5 shapes.

    diffusers_train_peer.py [--config full|tiny] [--runs 4,8,4:gc] [--size 512] [--warmup 2] [--steps 5]
                            [--device cuda|cpu] [--precision bf16|fp32]

Per step, as train_controlnet.py with --mixed_precision bf16: the frozen VAE (bf16) encodes the images and
samples latents, the frozen text encoder (bf16) encodes the ids, noise and a uniform timestep are drawn, the
ControlNet (fp32 master weights, bf16 autocast, SDPA) gives the residuals, the frozen U-Net (bf16) predicts
the noise, MSE loss in fp32, backward, AdamW (lr 1e-5, weight decay 0.01), zero_grad(set_to_none).
--runs lists batch sizes, one measurement each (a fresh ControlNet and optimizer); ":gc" adds
train_controlnet.py's --gradient_checkpointing (controlnet.enable_gradient_checkpointing()).
Prints one JSON line per run: samples per second and the CUDA allocator's peak over the timed steps.
"""
import argparse
import copy
import json
import sys
import time
import torch
import torch.nn.functional as F

from random_sd import SD15_SCHEDULER, random_sd_modules


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=["full", "tiny"], default="full")
    p.add_argument("--device", default="cuda")
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--runs", default="4", help="batch sizes, e.g. 4,8,4:gc")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    from diffusers import ControlNetModel, DDPMScheduler

    dev = args.device
    cuda = dev.startswith("cuda")
    weight_dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    unet, vae, text = random_sd_modules(args.config, dev)
    scheduler = DDPMScheduler(**{k: v for k, v in SD15_SCHEDULER.items() if k != "set_alpha_to_one"})
    with torch.device(dev):
        template = ControlNetModel.from_unet(unet)  # fp32, before the frozen models are cast
    for m in (unet, vae, text):
        m.requires_grad_(False)
        m.to(dev, weight_dtype)
    for run in args.runs.split(","):
        b, gc = int(run.split(":")[0]), run.endswith(":gc")
        controlnet = copy.deepcopy(template).train()
        print(json.dumps(measure(args, unet, controlnet, vae, text, scheduler, b, gc, weight_dtype)), flush=True)
        del controlnet
        if cuda:
            torch.cuda.empty_cache()


def measure(args, unet, controlnet, vae, text, scheduler, b, gradient_checkpointing, weight_dtype):
    dev = args.device
    cuda = dev.startswith("cuda")
    if gradient_checkpointing:
        controlnet.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW(controlnet.parameters(), lr=1e-5, weight_decay=0.01)
    alphas = scheduler.alphas_cumprod.to(dev)

    images = torch.rand(b, 3, args.size, args.size, device=dev) * 2 - 1
    control = torch.rand(b, 3, args.size, args.size, device=dev)
    ids = torch.full((b, 77), 49407, dtype=torch.long, device=dev)
    ids[:, 0] = 49406

    def step():
        with torch.no_grad():
            latents = vae.encode(images.to(weight_dtype)).latent_dist.sample() * vae.config.scaling_factor
            context = text(ids, return_dict=False)[0]
        noise = torch.randn_like(latents)
        t = torch.randint(0, 1000, (b,), device=dev).long()
        a = alphas[t].view(-1, 1, 1, 1).to(latents.dtype)
        noisy = a.sqrt() * latents + (1 - a).sqrt() * noise
        with torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            down, mid = controlnet(noisy, t, context, controlnet_cond=control.to(weight_dtype), return_dict=False)
            pred = unet(noisy, t, context, down_block_additional_residuals=[r.to(weight_dtype) for r in down],
                        mid_block_additional_residual=mid.to(weight_dtype), return_dict=False)[0]
        loss = F.mse_loss(pred.float(), noise.float(), reduction="mean")
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(args.warmup):
        step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    losses = [step() for _ in range(args.steps)]
    sync()
    seconds = (time.perf_counter() - t0) / args.steps
    peak = torch.cuda.max_memory_allocated() if cuda else None
    return dict(peer="diffusers ControlNetModel training step (train_controlnet.py recipe)", config=args.config,
                device=torch.cuda.get_device_name() if cuda else "cpu", precision=args.precision, batch_size=b,
                size=args.size, gradient_checkpointing=gradient_checkpointing, warmup=args.warmup,
                steps=args.steps, seconds_per_step=seconds, samples_per_s=b / seconds, peak_memory_bytes=peak,
                peak_memory_mib=peak / 2**20 if cuda else None, mean_loss=sum(losses) / len(losses),
                versions=dict(torch=torch.__version__, diffusers=__import__("diffusers").__version__),
                command="scripts/bench/diffusers_train_peer.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
