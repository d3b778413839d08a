"""One Stable Diffusion 1.x checkpoint file in the original LDM (CompVis) layout (model.diffusion_model.*,
first_stage_model.*, cond_stage_model.transformer.*) as the diffusers U-Net and VAE and the transformers CLIP
text encoder, offline. The keys are converted by diffusers' single-file converters
(diffusers.loaders.single_file_utils), the architecture comes from an LDM inference YAML (configs/sd/
v1-inference.yaml unless --original-config) and the text encoder's from CLIP ViT-L/14's config shipped in
configs/sd/. diffusers' from_single_file is not used: without a YAML it fetches the model's diffusers config from
the Hugging Face Hub, and it always fetches the text encoder's config."""
import json
import pickle
import re
import zipfile
from pathlib import Path

import torch

from sd_source import ROOT, SD15_HINT, SD15_SCHEDULER, SourceError, check_weights_file, not_sd1, sha256

DEFAULT_YAML = ROOT / "configs" / "sd" / "v1-inference.yaml"
CLIP_L_CONFIG = ROOT / "configs" / "sd" / "clip-vit-large-patch14-text.json"
CLIP_L_NAME = "openai/clip-vit-large-patch14"  # FrozenCLIPEmbedder's default `version`
UNET, VAE, CLIP = "model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer."
LDM_KEYS = f"{UNET}*, {VAE}*, {CLIP}*"


def read_original_config(path):
    """The LDM YAML, checked to describe an SD 1.x-style text-to-image model."""
    import yaml
    try:
        cfg = yaml.safe_load(Path(path).read_text())
        params = cfg["model"]["params"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as e:
        raise SourceError(f"--original-config {path} is not an LDM model config",
                          expected="a YAML with model.params (unet_config, first_stage_config, cond_stage_config)",
                          found=f"{type(e).__name__}: {e}",
                          hint="pass the inference YAML the checkpoint was trained with") from None
    if "network_config" in params or "conditioner_config" in params or "sgm." in str(cfg["model"].get("target")):
        raise not_sd1(f"--original-config {path}", "an SDXL (sgm) config", found="model.params.network_config / "
                      "conditioner_config, target " + str(cfg["model"].get("target")))
    target = str((params.get("cond_stage_config") or {}).get("target", ""))
    if "OpenCLIP" in target:
        raise not_sd1(f"--original-config {path}", "a Stable Diffusion 2.x config", found=f"text encoder {target}")
    if params.get("parameterization", "eps") != "eps":
        raise not_sd1(f"--original-config {path}", "a v-prediction config (SD 2.x 768-v)",
                      expected="parameterization eps (the default)",
                      found=f"parameterization {params['parameterization']!r}")
    for section in ("unet_config", "first_stage_config", "cond_stage_config"):
        if not isinstance(params.get(section), dict):
            raise SourceError(f"--original-config {path} has no model.params.{section}",
                              expected="an LDM inference config like configs/sd/v1-inference.yaml",
                              found="sections: " + ", ".join(params), hint="pass the model's inference YAML")
    if params["unet_config"].get("params", {}).get("context_dim") == 1024:
        raise not_sd1(f"--original-config {path}", "a Stable Diffusion 2.x config", found="context_dim 1024")
    if not target.endswith("FrozenCLIPEmbedder") or (params["cond_stage_config"].get("params") or {}).get(
            "layer", "last") != "last":
        raise SourceError(f"--original-config {path}: a text encoder the exporter cannot build",
                          expected="ldm.modules.encoders.modules.FrozenCLIPEmbedder, last layer",
                          found=f"{target}, params {params['cond_stage_config'].get('params')}", hint=SD15_HINT)
    return cfg


class TrainingObject:
    """Stands in for a training-time object pickled beside the weights (Lightning's ModelCheckpoint in the
    `callbacks` of some released SD checkpoints): its state is dropped, none of its code runs."""

    def __setstate__(self, state):
        pass


LIGHTNING_OBJECTS = [(TrainingObject, f"{package}.callbacks.model_checkpoint.ModelCheckpoint")
                     for package in ("pytorch_lightning", "lightning.pytorch")]


def read_state_dict(path):
    check_weights_file(path)
    again = f"download {path.name} again"
    try:
        if path.suffix == ".safetensors":
            import safetensors.torch
            state = safetensors.torch.load_file(str(path))
        else:
            with torch.serialization.safe_globals(LIGHTNING_OBJECTS):
                state = torch.load(str(path), map_location="cpu", weights_only=True,
                                   mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise SourceError(f"{path} is truncated or corrupt", expected="a readable PyTorch checkpoint",
                              found=f"UnpicklingError: {str(e).splitlines()[0]}", hint=again) from None
        raise SourceError(f"{path} holds Python objects besides tensors, which safe loading refuses",
                          expected="tensors, numbers and containers only",
                          found=(re.findall(r"Unsupported global: GLOBAL [\w.]+", str(e)) or ["an object"])[0],
                          hint="in an environment you trust, load it and save only its state_dict (torch.save("
                               "{'state_dict': ckpt['state_dict']}, 'clean.ckpt')) or as .safetensors") from None
    except Exception as e:
        raise SourceError(f"{path} is truncated or corrupt", expected="a readable checkpoint",
                          found=f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}",
                          hint=again) from None
    while isinstance(state, dict) and isinstance(state.get("state_dict"), dict):  # Lightning checkpoints
        state = state["state_dict"]
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor) for v in state.values()):
        raise SourceError(f"{path} holds no state dict", expected=f"a dict of tensors ({LDM_KEYS})",
                          found=type(state).__name__, hint=SD15_HINT)
    return state


def check_keys(path, state):
    """The file is a whole SD 1.x model: SD 2.x, SDXL, inpainting U-Nets and partial files are named."""
    has = lambda prefix: any(k.startswith(prefix) for k in state)
    if has("conditioner.embedders."):
        raise not_sd1(str(path), "an SDXL checkpoint", found="conditioner.embedders.* keys (SDXL's text encoders)")
    if has("cond_stage_model.model."):
        raise not_sd1(str(path), "a Stable Diffusion 2.x checkpoint",
                      found="cond_stage_model.model.* keys (the OpenCLIP ViT-H/14 text encoder)")
    if not has(UNET):
        kinds = [(has("control_model."), "a ControlNet"), ("encoder.conv_in.weight" in state, "a VAE alone"),
                 (any("lora" in k for k in state), "a LoRA"), (has("text_model."), "a text encoder alone")]
        what = next((name for hit, name in kinds if hit), "not a Stable Diffusion checkpoint")
        raise SourceError(f"{path} holds no Stable Diffusion U-Net ({what})", expected=f"LDM keys {LDM_KEYS}",
                          found=f"{len(state)} keys such as " + ", ".join(list(state)[:3]), hint=SD15_HINT)
    to_k = state.get(UNET + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight")
    if to_k is not None and to_k.shape[-1] in (1024, 1280, 2048):
        kind = "a Stable Diffusion 2.x checkpoint" if to_k.shape[-1] == 1024 else "an SDXL checkpoint"
        raise not_sd1(str(path), kind, found=f"U-Net cross-attention on {to_k.shape[-1]}-wide text features")
    if has(UNET + "label_emb."):
        raise not_sd1(str(path), "a class- or size-conditioned U-Net (SDXL, unCLIP)", found=f"{UNET}label_emb.*")
    conv_in = state.get(UNET + "input_blocks.0.0.weight")
    if conv_in is not None and conv_in.shape[1] != 4:
        raise not_sd1(str(path), "an inpainting / image-conditioned U-Net", expected="4 latent input channels",
                      found=f"{conv_in.shape[1]} input channels")
    for prefix, what in ((VAE, "VAE"), (CLIP, "text encoder")):
        if not has(prefix):
            raise SourceError(f"{path} has no {what} weights", expected=f"keys {LDM_KEYS}",
                              found=f"no {prefix}* keys (a U-Net-only or pruned file)",
                              hint="use a complete checkpoint such as v1-5-pruned.ckpt, or a diffusers folder")


def unet_weights(path, state, params):
    """The U-Net's LDM keys: the EMA copy (model_ema.*, names without dots) when the YAML sets use_ema (LDM's
    default) and the file has one, else model.diffusion_model.* (use_ema: false, or an EMA-only file)."""
    own = {k: v for k, v in state.items() if k.startswith(UNET)}
    has_ema = any(k.startswith("model_ema.") and k not in ("model_ema.decay", "model_ema.num_updates")
                  for k in state)
    if not params.get("use_ema", True) or not has_ema:
        if has_ema:
            print(f"note: {path.name} also holds EMA weights (model_ema.*); the config says use_ema: false, so "
                  f"the U-Net exported is {UNET}* (use_ema: true in --original-config takes the EMA copy)")
        return own, "model.diffusion_model"
    ema = {}
    for key in own:
        flat = "model_ema." + ("diffusion_model." + key[len(UNET):]).replace(".", "")
        if flat not in state:
            raise SourceError(f"{path}: the EMA weights are incomplete", expected=f"{flat} (for {key})",
                              found="no such key", hint="set use_ema: false in --original-config to export "
                                                        f"the U-Net's own weights ({UNET}*)")
        ema[key] = state[flat]
    return ema, "model_ema"


def noise_schedule(path, params, state):
    """SD15_SCHEDULER with the YAML's betas: LDM's 'linear' schedule is diffusers' scaled_linear."""
    if params.get("beta_schedule", "linear") != "linear":
        raise SourceError(f"{path}: an unsupported noise schedule", expected="beta_schedule linear (SD 1.x)",
                          found=f"beta_schedule {params['beta_schedule']}", hint=SD15_HINT)
    if not all(k in params for k in ("linear_start", "linear_end", "timesteps")):
        print("note: the config gives no complete schedule (linear_start / linear_end / timesteps); using SD 1.5's")
    schedule = dict(SD15_SCHEDULER, num_train_timesteps=int(params.get("timesteps", 1000)),
                    beta_start=float(params.get("linear_start", 0.00085)),
                    beta_end=float(params.get("linear_end", 0.012)))
    if "betas" in state:  # LDM saves its schedule buffers: they must be the config's
        want = torch.linspace(schedule["beta_start"] ** 0.5, schedule["beta_end"] ** 0.5,
                              schedule["num_train_timesteps"], dtype=torch.float64) ** 2
        have = state["betas"].double()
        if have.shape != want.shape or not torch.allclose(have, want, rtol=1e-5, atol=0):
            raise SourceError(f"{path} was trained with another noise schedule than the config's",
                              expected=f"{schedule['num_train_timesteps']} betas from {schedule['beta_start']} to "
                                       f"{schedule['beta_end']}",
                              found=f"{have.numel()} betas from {have[0].item():.6g} to {have[-1].item():.6g}",
                              hint="pass the model's own YAML with --original-config")
    return schedule


def text_encoder(yaml_path, cfg):
    """CLIPTextModel for FrozenCLIPEmbedder's `version`: CLIP ViT-L/14 (the shipped config) or a local folder
    with a config.json, relative to the YAML's folder."""
    from transformers import CLIPTextConfig, CLIPTextModel
    version = (cfg["model"]["params"]["cond_stage_config"].get("params") or {}).get("version", CLIP_L_NAME)
    if version == CLIP_L_NAME:
        values = {k: v for k, v in json.loads(CLIP_L_CONFIG.read_text()).items() if not k.startswith("_")}
        return CLIPTextModel(CLIPTextConfig(**values, attn_implementation="eager"))
    folder = Path(yaml_path).parent / version
    if not (folder / "config.json").exists():
        raise SourceError(f"--original-config {yaml_path}: a text encoder that is not available offline",
                          expected=f"cond_stage_config.params.version {CLIP_L_NAME}, or a local folder with a "
                                   "CLIP config.json (relative to the YAML's folder)",
                          found=f"version {version!r}", hint="nothing is downloaded: point version at a folder")
    return CLIPTextModel(CLIPTextConfig.from_pretrained(str(folder), attn_implementation="eager"))


def check_fits(module, state, what, path, yaml_path):
    """Every tensor of `module` (built on the meta device: shapes only) is in `state` with its shape, and no more."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} (the config makes {tuple(own[k].shape)})"
             for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        found = "; ".join(text for text in (wrong[:1] and f"shape {wrong[0]}",
                                            missing[:3] and f"missing {', '.join(missing[:3])}",
                                            unexpected[:3] and f"unexpected {', '.join(unexpected[:3])}") if text)
        raise SourceError(f"{path}: the {what} weights do not fit the architecture of {yaml_path}",
                          expected=f"{len(own)} tensors of the configured shapes",
                          found=f"{len(missing)} missing, {len(unexpected)} unexpected, {len(wrong)} of another "
                                f"shape; first: {found}",
                          hint="pass the inference YAML the model was trained with (--original-config)")


def load(path, original_config=None):
    """(unet, vae, text, scheduler config), source record for model.json."""
    yaml_path = Path(original_config) if original_config else DEFAULT_YAML
    cfg = read_original_config(yaml_path)
    models, which = convert(path, read_state_dict(path), cfg, yaml_path)
    print(f"converted {path.name} (LDM layout) with {yaml_path.name}: U-Net weights {which}")
    source = dict(kind="single-file", path=str(path.resolve()), sha256=sha256(path), unet_weights=which,
                  original_config=str(yaml_path.resolve()), original_config_sha256=sha256(yaml_path))
    return models, source


def convert(path, state, cfg, yaml_path):
    """An LDM state dict as the diffusers / transformers modules of `cfg` (an LDM YAML, read_original_config),
    checked tensor by tensor; returns (unet, vae, text, scheduler config) and which U-Net weights were taken."""
    params = cfg["model"]["params"]
    check_keys(path, state)
    schedule = noise_schedule(path, params, state)
    unet_state, which = unet_weights(path, state, params)
    from diffusers import AutoencoderKL, UNet2DConditionModel  # after the checks: a slow import
    from diffusers.loaders import single_file_utils as sfu
    vae_state = {k: v for k, v in state.items() if k.startswith(VAE)}
    try:
        unet_cfg = sfu.create_unet_diffusers_config_from_ldm(cfg, unet_state)
        vae_cfg = sfu.create_vae_diffusers_config_from_ldm(cfg, vae_state)
    except (KeyError, TypeError) as e:
        raise SourceError(f"--original-config {yaml_path} lacks a U-Net or VAE setting", expected="the keys of "
                          "configs/sd/v1-inference.yaml", found=f"no {e}", hint="pass the model's inference YAML")
    # sample_size: the YAML's latent size (model.params.image_size), as diffusers' SD 1.5 configs record it.
    latent = int(params.get("image_size", 64))
    unet_cfg["sample_size"] = latent
    vae_cfg["sample_size"] = latent * 2 ** (len(vae_cfg["block_out_channels"]) - 1)
    build = (lambda: UNet2DConditionModel(**unet_cfg), lambda: AutoencoderKL(**vae_cfg),
             lambda: text_encoder(yaml_path, cfg))
    with torch.device("meta"):  # the architecture without allocating it, to compare with the file first
        shapes = [make() for make in build]
    # CLIPTextModel's keys lose the text_model. level in transformers 5; position_ids is a fixed index buffer
    # (stored as floats in some old files, where it no longer holds exact integers).
    wrapped = any(k.startswith("text_model.") for k in shapes[2].state_dict())
    clip = {}
    for key, value in sfu.convert_ldm_clip_checkpoint({k: v for k, v in state.items() if k.startswith(CLIP)}).items():
        key = key.removeprefix("text_model.")
        if not key.endswith("position_ids"):
            clip[("text_model." if wrapped else "") + key] = value
    try:
        converted = (sfu.convert_ldm_unet_checkpoint(unet_state, unet_cfg),
                     sfu.convert_ldm_vae_checkpoint(vae_state, vae_cfg), clip)
    except (KeyError, IndexError, AttributeError) as e:  # a layout the YAML's block structure does not have
        raise SourceError(f"{path}: the weights do not fit the architecture of {yaml_path}",
                          expected="the LDM blocks the config describes", found=f"{type(e).__name__}: {e}",
                          hint="pass the inference YAML the model was trained with (--original-config)") from None
    for module, weights, what in zip(shapes, converted, ("U-Net", "VAE", "text encoder")):
        check_fits(module, weights, what, path, yaml_path)
    unet, vae, text = (make() for make in build)
    for module, weights in zip((unet, vae, text), converted):
        module.load_state_dict(weights, strict=True)
    return (unet, vae, text, schedule), which
