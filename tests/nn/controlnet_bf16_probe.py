"""The reference figure behind StablePoseAdapter.RunsWithItsWeightsCastToBf16AsTheSamplerCastsThem: diffusers'
ControlNetModel on the tiny test U-Net config, weights perturbed by 0.02 * randn (zero convs off zero), run in
fp32 and again with weights and inputs cast to bf16; prints the relative error of residuals 0-11 and of the mid
residual, for seeds 0-4 (the U-Net's initialisation, the perturbation and the inputs). The CPU's bf16 kernels
matter: compare a run with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (no AMX).

  .venv/bin/python tests/nn/controlnet_bf16_probe.py build/golden/tiny_sd/model.json
"""
import json
import sys

import torch
from diffusers import ControlNetModel, UNet2DConditionModel

config = json.load(open(sys.argv[1]))["unet"]
for seed in range(5):
    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32, 96, 256))
    with torch.no_grad():
        for p in controlnet.parameters():
            p.add_(0.02 * torch.randn_like(p))
    skeleton = torch.rand(2, 3, 64, 64) * 2 - 1
    latents, context = torch.randn(2, 4, 8, 8), torch.randn(2, 77, config["cross_attention_dim"])
    t = torch.tensor([5, 700])
    with torch.no_grad():
        down, mid = controlnet(latents, t, context, controlnet_cond=skeleton, return_dict=False)
        fp32 = list(down) + [mid]
        controlnet.to(torch.bfloat16)
        down, mid = controlnet(latents.bfloat16(), t, context.bfloat16(), controlnet_cond=skeleton.bfloat16(),
                               return_dict=False)
        bf16 = list(down) + [mid]
    err = [((a.double() - b.double()).norm() / b.double().norm()).item() for a, b in zip(bf16, fp32)]
    print(f"seed {seed}: residuals 0-{len(err) - 2}: {min(err[:-1]):.4f}-{max(err[:-1]):.4f}, mid {err[-1]:.4f}")
