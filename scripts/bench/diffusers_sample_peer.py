#!/usr/bin/env python3
"""The PyTorch peer of `stablepose bench sample`: diffusers' StableDiffusionControlNetPipeline with random
weights of the same shapes, timed the same way.

    diffusers_sample_peer.py [--config full|tiny] [--dtype bf16|fp16|fp32] [--batch-size N] [--steps 50]
                             [--guidance 7.5] [--size 512] [--warmup 1] [--repeats 3] [--channels-last]
                             [--compile] [--flops] [--device cuda|cpu]

The U-Net, VAE and text encoder are export_sd.py's configurations (--random-full is `full`, --tiny is
`tiny`); the ControlNet is ControlNetModel.from_unet of that U-Net, as the official ControlNet is made. DDIM
with SD 1.5's schedule, classifier-free guidance, output as tensors (no PIL), so the timed work is the one
`stablepose bench sample` times: text encoder (prompt and negative), ControlNet + U-Net per step, VAE decode.
Tokenisation is left out (fixed ids): it is CPU microseconds. Prints one JSON line per batch size.
"""
import argparse
import json
import sys
import time
import torch

from random_sd import SD15_SCHEDULER, random_sd_modules

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def build_pipeline(args):
    from diffusers import ControlNetModel, DDIMScheduler, StableDiffusionControlNetPipeline

    unet, vae, text = random_sd_modules(args.config, args.device)
    with torch.device(args.device):
        controlnet = ControlNetModel.from_unet(unet)
    scheduler = DDIMScheduler(**SD15_SCHEDULER)
    pipe = StableDiffusionControlNetPipeline(vae=vae, text_encoder=text, tokenizer=None, unet=unet,
                                             controlnet=controlnet, scheduler=scheduler, safety_checker=None,
                                             feature_extractor=None, requires_safety_checker=False)
    pipe = pipe.to(args.device, DTYPES[args.dtype])
    pipe.set_progress_bar_config(disable=True)
    if args.channels_last:
        for m in (pipe.unet, pipe.controlnet, pipe.vae):
            m.to(memory_format=torch.channels_last)
    return pipe


def count_step_flops(pipe, args, batch):
    """FLOPs of one denoising step (ControlNet + U-Net on the CFG batch of 2 x batch), by torch's counter."""
    from torch.utils.flop_counter import FlopCounterMode

    dtype, dev = DTYPES[args.dtype], args.device
    h = args.size // 8
    x = torch.randn(2 * batch, 4, h, h, device=dev, dtype=dtype)
    ctx = torch.randn(2 * batch, 77, pipe.text_encoder.config.hidden_size, device=dev, dtype=dtype)
    cond = torch.rand(2 * batch, 3, args.size, args.size, device=dev, dtype=dtype)
    t = torch.full((2 * batch,), 500, device=dev)
    with torch.no_grad():
        with FlopCounterMode(display=False) as unet_only:
            pipe.unet(x, t, ctx)
        with FlopCounterMode(display=False) as both:
            down, mid = pipe.controlnet(x, t, ctx, controlnet_cond=cond, return_dict=False)
            pipe.unet(x, t, ctx, down_block_additional_residuals=down, mid_block_additional_residual=mid)
    return unet_only.get_total_flops(), both.get_total_flops()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=["full", "tiny"], default="full")
    p.add_argument("--dtype", choices=list(DTYPES), default="bf16")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch-size", default="1", help="one batch size, or several: 1,8 (one JSON line each)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--guidance", type=float, default=7.5)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the U-Net and ControlNet")
    p.add_argument("--compile-mode", default="reduce-overhead")
    p.add_argument("--flops", action="store_true", help="also count the FLOPs of one denoising step")
    args = p.parse_args()
    if args.device == "cpu" and args.dtype != "fp32":
        p.error("--device cpu needs --dtype fp32")

    pipe = build_pipeline(args)
    if args.compile:
        pipe.unet = torch.compile(pipe.unet, mode=args.compile_mode, fullgraph=True)
        pipe.controlnet = torch.compile(pipe.controlnet, mode=args.compile_mode, fullgraph=True)
    for b in [int(x) for x in args.batch_size.split(",")]:
        print(json.dumps(measure(pipe, args, b)), flush=True)


def measure(pipe, args, b):
    dev = args.device
    ids = torch.full((b, 77), 49407, dtype=torch.long, device=dev)
    ids[:, 0] = 49406
    ids[:, 1:6] = torch.tensor([320, 1125, 539, 1237, 9919])  # "a photo of two people ..."
    control = torch.rand(b, 3, args.size, args.size, device=dev, dtype=DTYPES[args.dtype])
    cuda = dev.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def run(seed):
        with torch.no_grad():
            prompt = pipe.text_encoder(ids)[0]
            negative = pipe.text_encoder(ids)[0]
        g = torch.Generator(dev).manual_seed(seed)
        kwargs = dict(prompt_embeds=prompt, negative_prompt_embeds=negative, image=control,
                      num_inference_steps=args.steps, guidance_scale=args.guidance, height=args.size,
                      width=args.size, generator=g, output_type="pt")
        return pipe(**kwargs).images

    sync()
    t0 = time.perf_counter()
    for i in range(args.warmup):
        run(i)
    sync()
    warmup_seconds = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for i in range(args.repeats):
        out = run(100 + i)
    sync()
    seconds = (time.perf_counter() - t0) / args.repeats
    kind = " (torch.compile " + args.compile_mode + ")" if args.compile else " (eager)"
    result = dict(peer="diffusers StableDiffusionControlNetPipeline" + kind, config=args.config, dtype=args.dtype,
                  device=torch.cuda.get_device_name() if cuda else "cpu", batch_size=b, steps=args.steps,
                  guidance=args.guidance, size=args.size, channels_last=args.channels_last, warmup=args.warmup,
                  repeats=args.repeats, seconds_per_batch=seconds, seconds_per_image=seconds / b,
                  output_shape=list(out.shape), peak_memory_bytes=torch.cuda.max_memory_allocated() if cuda else None,
                  warmup_seconds=warmup_seconds,
                  versions=dict(torch=torch.__version__, diffusers=__import__("diffusers").__version__,
                                transformers=__import__("transformers").__version__),
                  command="scripts/bench/diffusers_sample_peer.py " + " ".join(sys.argv[1:]))
    if args.flops and not args.compile:
        unet_flops, step_flops = count_step_flops(pipe, args, b)
        result["flops_per_step"] = dict(unet=unet_flops, controlnet_and_unet=step_flops, cfg_batch=2 * b)
    return result


if __name__ == "__main__":
    main()
