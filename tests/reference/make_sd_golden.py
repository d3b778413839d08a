#!/usr/bin/env python3
"""Reference outputs of the frozen SD parts and of diffusers' ControlNetModel, for the C++ runtime tests.

Exports the tiny SD model with scripts/export_sd.py into OUT_DIR/tiny_sd, rebuilds the same Python modules
(same seed), and records with diffusers / transformers on fixed inputs (fp32, CPU):
- ControlNetModel.from_unet(unet) with every weight perturbed: its 13 residuals;
- the U-Net fed with those residuals: the noise prediction (the whole training/sampling step);
- gradients of a fixed scalar of the U-Net output with respect to the 13 residuals;
- VAE encoder moments, decoder images and text-encoder hidden states at batch sizes 1, 2 and 4;
- a synthetic checkpoint with the official Stable-Pose (LDM) key layout for the tiny architecture, converted
  (the C++ test loads it through the adapter_config metadata: the tiny width gives the ViT dim_head 32 // 8 = 4,
  not SD 1.5's 40); one whose ViT has SD 1.5's dim_head must be refused by the converter.

Usage: make_sd_golden.py OUT_DIR
"""
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import export_sd  # noqa: E402
sys.path.insert(0, str(ROOT / "tests" / "reference"))
from official_layout import official_adapter_shapes, official_vit  # noqa: E402


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    sd_dir = out / "tiny_sd"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_sd.py"), "--tiny", str(sd_dir), "--seed", "0"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    torch.set_grad_enabled(False)
    unet, vae, text, _ = export_sd.build_models(Namespace(source=None, tiny=True, seed=0))
    for m in (unet, vae, text):
        m.eval()
    traced = torch.jit.load(str(sd_dir / "unet.pt"))
    assert torch.equal(dict(traced.named_parameters())["unet.conv_in.weight"], unet.conv_in.weight), \
        "rebuilt U-Net differs from the exported one"

    from diffusers import ControlNetModel
    controlnet = ControlNetModel.from_unet(unet).eval()
    gen = torch.Generator().manual_seed(21)
    for p in controlnet.parameters():
        p.add_(0.05 * torch.randn(p.shape, generator=gen))
    t = {f"controlnet.{k}": v.contiguous() for k, v in controlnet.state_dict().items()}

    b = 2
    sample = torch.randn(b, 4, 8, 8, generator=gen)
    timesteps = torch.tensor([10, 900])
    context = torch.randn(b, 77, 32, generator=gen)
    cond = torch.rand(b, 3, 64, 64, generator=gen) * 2 - 1
    down, mid = controlnet(sample, timesteps, context, cond, return_dict=False)
    residuals = list(down) + [mid]
    t.update({"step.sample": sample, "step.timesteps": timesteps, "step.context": context, "step.cond": cond})
    t.update({f"step.residual.{k}": r for k, r in enumerate(residuals)})
    eps = unet(sample, timesteps, context, down_block_additional_residuals=tuple(down),
               mid_block_additional_residual=mid, return_dict=False)[0]
    t["step.eps"] = eps

    with torch.enable_grad():
        leaves = [r.detach().clone().requires_grad_(True) for r in residuals]
        weight = torch.randn(eps.shape, generator=gen)
        out_eps = unet(sample, timesteps, context, down_block_additional_residuals=tuple(leaves[:-1]),
                       mid_block_additional_residual=leaves[-1], return_dict=False)[0]
        grads = torch.autograd.grad((out_eps * weight).sum(), leaves)
    t["grad.weight"] = weight
    t.update({f"grad.residual.{k}": g for k, g in enumerate(grads)})

    for bs in (1, 2, 4):
        image = torch.rand(bs, 3, 64, 64, generator=gen) * 2 - 1
        latents = torch.randn(bs, 4, 8, 8, generator=gen)
        ids = torch.randint(0, 49408, (bs, 77), generator=gen)
        t[f"vae.image.{bs}"] = image
        t[f"vae.moments.{bs}"] = vae.quant_conv(vae.encoder(image))
        t[f"vae.latents.{bs}"] = latents
        t[f"vae.decoded.{bs}"] = vae.decoder(vae.post_quant_conv(latents / vae.config.scaling_factor))
        t[f"text.ids.{bs}"] = ids
        t[f"text.hidden.{bs}"] = text(input_ids=ids, return_dict=False)[0]
    save_file({k: v.contiguous() for k, v in t.items()}, str(out / "sd.safetensors"))

    # A synthetic official checkpoint (LDM names, tiny shapes), as a Lightning .ckpt would nest it.
    converter = [sys.executable, str(ROOT / "scripts" / "convert_official_checkpoint.py")]
    model_json = ["--model-json", str(sd_dir / "model.json")]
    official = {f"stable_pose_adapter.{k}": torch.randn(shape, generator=gen)
                for k, shape in official_adapter_shapes(dict(unet.config)).items()}
    official["model.diffusion_model.input_blocks.0.0.weight"] = torch.zeros(1)  # frozen SD parts are ignored
    official["first_stage_model.encoder.conv_in.weight"] = torch.zeros(1)
    torch.save({"state_dict": official}, out / "official_tiny.ckpt")
    subprocess.run(converter + [str(out / "official_tiny.ckpt"), str(out / "official_tiny.safetensors")]
                   + model_json, check=True)
    # The ViT of SD 1.5 (dim_head 40) on the tiny encoder is no official architecture: refused, naming the key.
    sd15_vit = dict(official_vit(dict(unet.config)), dim_head=40)
    wrong = {f"stable_pose_adapter.{k}": torch.zeros(shape)
             for k, shape in official_adapter_shapes(dict(unet.config), vit=sd15_vit).items()}
    torch.save({"state_dict": wrong}, out / "official_tiny_sd15_vit.ckpt")
    refused = subprocess.run(converter + [str(out / "official_tiny_sd15_vit.ckpt"),
                                          str(out / "refused.safetensors")] + model_json,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "layers.0.0.to_qkv.weight' has shape [960, 512]; expected [96, 512]" in \
        refused.stderr, f"the converter accepted a non-official ViT width: {refused.stderr}"
    print(f"SD reference tensors written to {out}")


if __name__ == "__main__":
    main()
