"""The frozen models of the benchmark peers: export_sd.py's SD 1.5 (`full`) or tiny configuration, random
weights, built on the device (random init there takes seconds instead of a minute on the CPU)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from export_sd import SD15_SCHEDULER, sd15_configs, tiny_configs  # noqa: E402,F401  (SD15_SCHEDULER re-exported)


def random_sd_modules(config, device):
    """(UNet2DConditionModel, AutoencoderKL, CLIPTextModel), fp32, on `device`, seeded."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet_cfg, vae_cfg, text_cfg = tiny_configs() if config == "tiny" else sd15_configs()
    with torch.device(device):
        return UNet2DConditionModel(**unet_cfg), AutoencoderKL(**vae_cfg), CLIPTextModel(CLIPTextConfig(**text_cfg))
