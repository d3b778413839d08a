#!/usr/bin/env python3
"""Reference images of diffusers' StableDiffusionControlNetPipeline, for the `stablepose sample` parity tests.

With the tiny SD of scripts/export_sd.py (rebuilt from the same seed as OUT_DIR/tiny_sd) and a tiny
ControlNetModel.from_unet with every weight perturbed (saved with save_pretrained, so the C++ side loads the
same folder a user would pass), runs the whole pipeline on CPU in fp32 for DDIM and DPM-Solver++ (2M) with
classifier-free guidance (and Euler, whose fractional timesteps reach the U-Net as floats), a rendered skeleton as the control image, the official negative prompt and initial
noise torch.randn(1, 4, h, w, generator=torch.Generator().manual_seed(seed)) per image, and stores the decoded
images in [0, 1] (output_type="pt"). Writes OUT_DIR/sample/: controlnet/, skeleton.png, sample.safetensors and
cases.json (the settings of each case).

Usage: make_sample_golden.py OUT_DIR
"""
import json
import sys
from argparse import Namespace
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "reference"))
import export_sd  # noqa: E402
from make_tokenizer_golden import write_hf_files  # noqa: E402

NEGATIVE = ("longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, cropped, "
            "worst quality, low quality")
CASES = [
    # name, sampler, steps, width, height, guidance, control scale, control window, seeds, prompts
    dict(name="ddim", sampler="ddim", steps=10, width=64, height=64, guidance=7.5, control_scale=1.0,
         control_start=0.0, control_end=1.0, seeds=[42, 7], prompts=["a red figure on a sandy background"] * 2),
    dict(name="dpmpp", sampler="dpmpp_2m", steps=8, width=128, height=64, guidance=5.0, control_scale=0.8,
         control_start=0.0, control_end=1.0, seeds=[3], prompts=["two figures, a blue one and a yellow one"]),
    dict(name="euler", sampler="euler", steps=6, width=64, height=64, guidance=7.5, control_scale=1.0,
         control_start=0.0, control_end=1.0, seeds=[5], prompts=["a purple figure"]),
    dict(name="ddim_window", sampler="ddim", steps=10, width=64, height=64, guidance=7.5, control_scale=1.0,
         control_start=0.2, control_end=0.7, seeds=[11], prompts=["a green figure"]),
]


def skeleton(width, height, seed):
    """A few thick coloured limbs on black, drawn like the official renderer (lines + end circles)."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.uint8)
    for _ in range(5):
        a = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        b = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(40, 256, 3))
        cv2.line(img, a, b, colour, 4)
        cv2.circle(img, a, 2, colour, -1)
        cv2.circle(img, b, 2, colour, -1)
    return img


def main():
    out = Path(sys.argv[1]) / "sample"
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    from diffusers import (ControlNetModel, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler,
                           StableDiffusionControlNetPipeline)
    from transformers import CLIPTokenizer

    unet, vae, text, scheduler_config = export_sd.build_models(Namespace(source=None, tiny=True, seed=0))
    controlnet = ControlNetModel.from_unet(unet)
    gen = torch.Generator().manual_seed(5)
    for p in controlnet.parameters():
        p.add_(0.05 * torch.randn(p.shape, generator=gen))
    controlnet.save_pretrained(out / "controlnet", safe_serialization=True)
    write_hf_files(out / "clip_hf")
    tokenizer = CLIPTokenizer.from_pretrained(str(out / "clip_hf"), model_max_length=77)
    schedulers = {"ddim": DDIMScheduler, "dpmpp_2m": DPMSolverMultistepScheduler, "euler": EulerDiscreteScheduler}

    tensors = {}
    for case in CASES:
        control = skeleton(case["width"], case["height"], seed=len(case["name"]))
        png = out / f"skeleton_{case['name']}.png"
        cv2.imwrite(str(png), cv2.cvtColor(control, cv2.COLOR_RGB2BGR))
        pipe = StableDiffusionControlNetPipeline(
            vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, controlnet=controlnet,
            scheduler=schedulers[case["sampler"]].from_config(scheduler_config), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        h, w = case["height"] // 8, case["width"] // 8
        latents = torch.cat([torch.randn(1, 4, h, w, generator=torch.Generator().manual_seed(s))
                             for s in case["seeds"]])
        images = pipe(prompt=case["prompts"], negative_prompt=[NEGATIVE] * len(case["prompts"]),
                      image=Image.open(png).convert("RGB"), height=case["height"], width=case["width"],
                      num_inference_steps=case["steps"], guidance_scale=case["guidance"],
                      controlnet_conditioning_scale=case["control_scale"],
                      control_guidance_start=case["control_start"], control_guidance_end=case["control_end"],
                      latents=latents, output_type="pt").images
        tensors[f"{case['name']}.images"] = images.float().contiguous()
        tensors[f"{case['name']}.latents"] = latents.contiguous()
    save_file(tensors, str(out / "sample.safetensors"))
    (out / "cases.json").write_text(json.dumps(CASES, indent=1))
    print(f"sample references written to {out}")


if __name__ == "__main__":
    main()
