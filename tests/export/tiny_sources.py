"""What a user downloads, made small: the tiny SD 1.x (export_sd.tiny_configs) as a diffusers folder written by
save_pretrained, and the same weights as one checkpoint file in the original LDM (CompVis) layout.

The diffusers -> LDM key map here is written from the LDM modules (ldm.modules.diffusionmodules.openaimodel's
UNetModel, ldm.modules.diffusionmodules.model's Encoder / Decoder, FrozenCLIPEmbedder's transformers CLIP), not
from the converter under test, so that the parity test checks the converter against an independent account."""
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import export_sd  # noqa: E402

RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
          "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}


def make_models(seed=0):
    """The tiny U-Net, VAE and CLIP text encoder with every parameter perturbed (so that each one matters)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(seed)
    unet_cfg, vae_cfg, text_cfg = export_sd.tiny_configs()
    models = (UNet2DConditionModel(**unet_cfg), AutoencoderKL(**vae_cfg),
              CLIPTextModel(CLIPTextConfig(**text_cfg, attn_implementation="eager")))
    with torch.no_grad():
        for module in models:
            for p in module.parameters():
                p.add_(0.02 * torch.randn_like(p))
    return models


def save_folder(models, folder):
    """A diffusers pipeline folder as save_pretrained writes it (no tokenizer/: the export uses the vendored one)."""
    import diffusers
    from diffusers import DDIMScheduler
    unet, vae, text = models
    folder = Path(folder)
    unet.save_pretrained(folder / "unet")
    vae.save_pretrained(folder / "vae")
    text.save_pretrained(folder / "text_encoder")
    DDIMScheduler(**export_sd.SD15_SCHEDULER).save_pretrained(folder / "scheduler")
    index = dict(_class_name="StableDiffusionPipeline", _diffusers_version=diffusers.__version__,
                 unet=["diffusers", "UNet2DConditionModel"], vae=["diffusers", "AutoencoderKL"],
                 text_encoder=["transformers", "CLIPTextModel"], scheduler=["diffusers", "DDIMScheduler"])
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))


def ldm_unet_key(key, layers, up_attention):
    """diffusers UNet2DConditionModel key -> LDM UNetModel key. Each LDM level holds `layers` (ResBlock,
    SpatialTransformer) pairs in input_blocks and then one Downsample; output_blocks hold layers + 1 entries per
    level, the last one ending in Upsample (after the SpatialTransformer where the level has one)."""
    p = key.split(".")
    if p[0] == "time_embedding":
        return f"time_embed.{ {'linear_1': 0, 'linear_2': 2}[p[1]] }." + ".".join(p[2:])
    if p[0] in ("conv_in", "conv_norm_out", "conv_out"):
        return {"conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}[p[0]] + "." + p[1]
    resnet = lambda rest: ".".join([RESNET[rest[0]]] + rest[1:])
    if p[0] == "mid_block":
        block = {"resnets": {"0": 0, "1": 2}, "attentions": {"0": 1}}[p[1]][p[2]]
        return f"middle_block.{block}." + (resnet(p[3:]) if p[1] == "resnets" else ".".join(p[3:]))
    level, kind, j = int(p[1]), p[2], int(p[3])
    if p[0] == "down_blocks":
        if kind == "downsamplers":  # Downsample's conv is named op
            return f"input_blocks.{1 + level * (layers + 1) + layers}.0.op." + ".".join(p[5:])
        block = 1 + level * (layers + 1) + j
        return f"input_blocks.{block}." + ("0." + resnet(p[4:]) if kind == "resnets" else "1." + ".".join(p[4:]))
    if kind == "upsamplers":
        return f"output_blocks.{level * (layers + 1) + layers}.{2 if up_attention[level] else 1}." + ".".join(p[4:])
    block = level * (layers + 1) + j
    return f"output_blocks.{block}." + ("0." + resnet(p[4:]) if kind == "resnets" else "1." + ".".join(p[4:]))


def ldm_vae_key(key, levels):
    """diffusers AutoencoderKL key -> LDM AutoencoderKL key (Encoder.down[i] / Decoder.up[i], whose up levels are
    numbered from the lowest resolution, the reverse of diffusers' up_blocks)."""
    p = key.split(".")
    if p[0] in ("quant_conv", "post_quant_conv"):
        return key
    side, rest = p[0], p[1:]
    if rest[0] in ("conv_in", "conv_out"):
        return key
    if rest[0] == "conv_norm_out":
        return f"{side}.norm_out." + rest[1]
    shortcut = lambda names: ".".join("nin_shortcut" if n == "conv_shortcut" else n for n in names)
    if rest[0] == "mid_block":
        if rest[1] == "resnets":
            return f"{side}.mid.block_{int(rest[2]) + 1}." + shortcut(rest[3:])
        return f"{side}.mid.attn_1.{VAE_ATTENTION[rest[3]]}." + rest[-1]
    i = int(rest[1])
    level = i if rest[0] == "down_blocks" else levels - 1 - i
    name = "down" if rest[0] == "down_blocks" else "up"
    if rest[2] in ("downsamplers", "upsamplers"):
        return f"{side}.{name}.{level}.{'downsample' if name == 'down' else 'upsample'}.conv." + rest[-1]
    return f"{side}.{name}.{level}.block.{rest[3]}." + shortcut(rest[4:])


def ldm_state_dict(models, ema_models=None):
    """The LDM checkpoint's state dict: U-Net, VAE (attention as 1x1 convolutions), CLIP under FrozenCLIPEmbedder,
    LDM's schedule buffers, and with `ema_models` the EMA copy of their U-Net (LitEma: model_ema.<name without
    dots>)."""
    unet, vae, text = models
    cfg = unet.config
    layers = cfg.layers_per_block
    up_attention = [t.startswith("CrossAttn") for t in cfg.up_block_types]
    state = {}
    for k, v in unet.state_dict().items():
        state["model.diffusion_model." + ldm_unet_key(k, layers, up_attention)] = v.clone()
    for k, v in vae.state_dict().items():
        ldm = ldm_vae_key(k, len(vae.config.block_out_channels))
        state["first_stage_model." + ldm] = (v[:, :, None, None] if ".attn_1." in ldm and v.dim() == 2 else v).clone()
    for k, v in text.state_dict().items():
        state["cond_stage_model.transformer.text_model." + k] = v.clone()
    state["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77)[None]
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    state["betas"] = betas.float()
    state["alphas_cumprod"] = torch.cumprod(1 - betas, 0).float()
    if ema_models is not None:
        state["model_ema.decay"] = torch.tensor(0.9999)
        state["model_ema.num_updates"] = torch.tensor(1000, dtype=torch.int32)
        for k, v in ema_models[0].state_dict().items():
            name = "diffusion_model." + ldm_unet_key(k, layers, up_attention)
            state["model_ema." + name.replace(".", "")] = v.clone()
    return state


def save_checkpoint(state, path):
    """.safetensors (plain state dict) or a torch.save Lightning-style {'state_dict': ...} file."""
    path = Path(path)
    if path.suffix == ".safetensors":
        import safetensors.torch
        safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": state, "global_step": 0, "epoch": 0}, path)


def save_lightning_checkpoint(state, path):
    """A checkpoint as PyTorch Lightning writes one: the weights beside a pickled ModelCheckpoint callback (a class
    faked here under Lightning's module name, which the exporter must read without importing)."""
    import types
    names = ("pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint")
    saved = {n: sys.modules.get(n) for n in names}
    for n in names:
        sys.modules[n] = types.ModuleType(n)
    ModelCheckpoint = type("ModelCheckpoint", (), {"__module__": names[-1]})
    sys.modules[names[-1]].ModelCheckpoint = ModelCheckpoint
    callback = ModelCheckpoint()
    callback.monitor, callback.best_model_score = "val/loss_simple_ema", torch.tensor(0.1)
    try:
        torch.save({"state_dict": state, "global_step": 470000, "callbacks": {ModelCheckpoint: callback}}, path)
    finally:
        for n, module in saved.items():
            if module is None:
                del sys.modules[n]
            else:
                sys.modules[n] = module


def write_yaml(path, text_config_dir, use_ema=False, **overrides):
    """The tiny model's LDM config (configs/sd/v1-inference.yaml's structure); the text encoder's `version` is a
    folder holding the tiny CLIP's config.json, relative to the YAML."""
    unet_cfg, vae_cfg, _ = export_sd.tiny_configs()
    base = unet_cfg["block_out_channels"][0]
    params = dict(linear_start=0.00085, linear_end=0.012, timesteps=1000, image_size=unet_cfg["sample_size"],
                  channels=4, conditioning_key="crossattn", scale_factor=0.18215, use_ema=use_ema)
    params.update(overrides)
    lines = ["model:", "  target: ldm.models.diffusion.ddpm.LatentDiffusion", "  params:"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in params.items()]
    lines += ["    unet_config:", "      target: ldm.modules.diffusionmodules.openaimodel.UNetModel", "      params:",
              "        in_channels: 4", "        out_channels: 4", f"        model_channels: {base}",
              "        attention_resolutions: [4, 2, 1]", f"        num_res_blocks: {unet_cfg['layers_per_block']}",
              f"        channel_mult: {[c // base for c in unet_cfg['block_out_channels']]}",
              f"        num_heads: {unet_cfg['attention_head_dim']}", "        use_spatial_transformer: true",
              "        transformer_depth: 1", f"        context_dim: {unet_cfg['cross_attention_dim']}",
              "        legacy: false",
              "    first_stage_config:", "      target: ldm.models.autoencoder.AutoencoderKL", "      params:",
              "        embed_dim: 4", "        ddconfig:", "          double_z: true", "          z_channels: 4",
              "          in_channels: 3", "          out_ch: 3", f"          ch: {vae_cfg['block_out_channels'][0]}",
              f"          ch_mult: {[c // vae_cfg['block_out_channels'][0] for c in vae_cfg['block_out_channels']]}",
              f"          num_res_blocks: {vae_cfg['layers_per_block']}", "          attn_resolutions: []",
              "    cond_stage_config:", "      target: ldm.modules.encoders.modules.FrozenCLIPEmbedder",
              "      params:", f"        version: {json.dumps(str(text_config_dir))}"]
    Path(path).write_text("\n".join(lines) + "\n")


NO_NETWORK = '''import socket
def _refuse(*args, **kwargs):
    raise OSError("network access attempted during an offline export")
socket.socket.connect = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
'''


def offline_env(work):
    """Environment for export_sd.py runs: Hugging Face offline, and a sitecustomize that makes any socket
    connection fail, so that a conversion that reached for the network would not pass."""
    import os
    guard = Path(work) / "no_network"
    guard.mkdir(parents=True, exist_ok=True)
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="2")
    env["PYTHONPATH"] = str(guard) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env

