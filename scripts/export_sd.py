#!/usr/bin/env python3
"""Export a frozen Stable Diffusion 1.x to the TorchScript model directory the C++ runtime loads.

    export_sd.py --from PATH OUT_DIR      a local diffusers SD 1.x folder (unet/, vae/, text_encoder/, tokenizer/)
                                          or one LDM checkpoint file (v1-5-pruned.ckpt, .safetensors), offline
    export_sd.py --tiny OUT_DIR           a small random configuration of the real classes (tests)
    export_sd.py --random-full OUT_DIR    the full SD 1.5 architecture with random weights (benchmarks)
    export_sd.py --retarget MODEL_DIR OUT_DIR   an exported folder again, same weights, for another
                                          --device / --dtype (a traced model runs only where it was traced)

Options: --dtype fp32|fp16|bf16, --device cpu|cuda, --channels-last, --seed N, --batch N (trace batch),
--image-size PX (trace size), --original-config YAML (the LDM config of a single file whose architecture is not
SD 1.x's). Writes OUT_DIR/{unet,vae_encoder,vae_decoder,text_encoder}.pt, tokenizer/, and model.json
(docs/export.md). Every module is traced, never scripted, in the target dtype and device, outside autocast,
with frozen parameters. sd_source.py reads and checks the --from sources; errors exit with a message, not a
traceback.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path, PurePath

import torch
from torch import nn

import sd_source
from sd_source import SD15_SCHEDULER, sha256  # noqa: F401  (re-exported: toyworld, bench and metric exporters)

FORMAT = "stablepose.frozen-sd"
FORMAT_VERSION = 1
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
ROOT = Path(__file__).resolve().parent.parent
VENDORED_VOCAB = ROOT / "assets" / "clip" / "bpe_simple_vocab_16e6.txt.gz"


# The CLIPTextConfig fields model.json records (text_encoder.config), enough to rebuild the module.
TEXT_CONFIG_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "max_position_embeddings", "hidden_act", "layer_norm_eps", "bos_token_id", "eos_token_id",
                    "pad_token_id")


def tiny_configs():
    """Small but structurally SD 1.x: 3 cross-attention down blocks + 1 plain, 12 residuals, VAE factor 8."""
    unet = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=2,
                block_out_channels=(32, 32, 64, 64),
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32)
    vae = dict(in_channels=3, out_channels=3, block_out_channels=(32, 32, 32, 32), layers_per_block=1,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
               latent_channels=4, norm_num_groups=32, sample_size=64)
    text = dict(vocab_size=49408, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
                pad_token_id=49407)
    return unet, vae, text


def sd15_configs():
    unet = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                block_out_channels=(320, 640, 1280, 1280),
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
                cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32)
    vae = dict(in_channels=3, out_channels=3, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
               latent_channels=4, norm_num_groups=32, sample_size=512)
    text = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                bos_token_id=49406, eos_token_id=49407, pad_token_id=1)
    return unet, vae, text


def build_models(args):
    """(unet, vae, text, scheduler config) for --from, --tiny or --random-full."""
    return load_models(args)[0]


def load_models(args):
    """build_models(args) and model.json's source record. --from raises sd_source.SourceError for a source it
    cannot use."""
    if args.source:
        return sd_source.load(args.source, getattr(args, "original_config", None))
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(args.seed)
    unet_cfg, vae_cfg, text_cfg = tiny_configs() if args.tiny else sd15_configs()
    unet = UNet2DConditionModel(**unet_cfg)
    vae = AutoencoderKL(**vae_cfg)
    text = CLIPTextModel(CLIPTextConfig(**text_cfg, attn_implementation="eager"))
    if args.tiny:
        # diffusers' default init leaves some outputs tiny; a gentle perturbation of every parameter makes
        # each one matter in the parity tests.
        with torch.no_grad():
            for module in (unet, vae, text):
                for p in module.parameters():
                    p.add_(0.02 * torch.randn_like(p))
    source = dict(kind="tiny" if args.tiny else "random-full", path=None, seed=args.seed)
    return (unet, vae, text, dict(SD15_SCHEDULER)), source


def load_exported_models(src):
    """Rebuilds the diffusers / transformers modules of an exported folder from its model.json configs and the
    weights inside its TorchScript files, so that the same model can be traced for another device or dtype."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    src = Path(src)
    spec = json.loads((src / "model.json").read_text())
    if spec.get("format") != FORMAT:
        sys.exit(f"{src}/model.json: not a {FORMAT} folder (format {spec.get('format')!r})")
    text_cfg = spec["text_encoder"].get("config")
    if text_cfg is None and (src / "recipe.json").exists():  # the toy base model records it in its recipe
        text_cfg = json.loads((src / "recipe.json").read_text()).get("architecture", {}).get("text_encoder")
    if text_cfg is None:
        sys.exit(f"{src}/model.json has no text_encoder.config (an export older than --retarget) and no "
                 "recipe.json: export again from the diffusers folder with --from")
    # Every recorded value is meant: diffusers' "_use_default_values" would reset those keys to the class
    # defaults (the toy VAE's scaling_factor, set by register_to_config, is listed there).
    recorded = lambda cfg: {k: v for k, v in cfg.items() if not k.startswith("_")}
    unet = UNet2DConditionModel.from_config(recorded(spec["unet"]))
    vae = AutoencoderKL.from_config(recorded(spec["vae"]["config"]))
    if abs(vae.config.scaling_factor - spec["vae"]["scaling_factor"]) > 1e-12:
        sys.exit(f"{src}: model.json's vae.scaling_factor {spec['vae']['scaling_factor']} and its vae.config "
                 f"disagree ({vae.config.scaling_factor})")
    text = CLIPTextModel(CLIPTextConfig(**text_cfg, attn_implementation="eager"))

    def weights(name, strip=""):
        state = torch.jit.load(str(src / spec["components"][name]["file"]), map_location="cpu").state_dict()
        return {k[len(strip):] if strip and k.startswith(strip) else k: v.float() for k, v in state.items()}

    for module, state, what in ((unet, weights("unet", "unet."), "unet"),
                                (vae, {**weights("vae_encoder"), **weights("vae_decoder")}, "vae"),
                                (text, weights("text_encoder", "text."), "text_encoder")):
        missing, unexpected = module.load_state_dict(state, strict=False)
        unexpected = [k for k in unexpected if not k.endswith("position_ids")]  # a non-persistent buffer
        if missing or unexpected:
            sys.exit(f"{src}: the {what} weights do not fit the config in model.json: missing {missing[:5]}, "
                     f"unexpected {unexpected[:5]}")
    source = dict(kind="retarget", path=str(src), from_device=spec["device"], from_dtype=spec["dtype"],
                  original=spec.get("source"))
    size = spec["components"]["unet"].get("traced_shapes", {}).get("image_size", [None])[0]
    return (unet, vae, text, spec["scheduler"]), source, size


class UNetWithResiduals(nn.Module):
    """forward(sample, timestep[B], encoder_hidden_states, r0, ..., r{n-1}, mid) -> eps: the adapter's residuals are
    added inside the U-Net (diffusers' down_block_additional_residuals / mid_block_additional_residual)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, *residuals):
        return self.unet(sample, timestep, encoder_hidden_states,
                         down_block_additional_residuals=tuple(residuals[:-1]),
                         mid_block_additional_residual=residuals[-1], return_dict=False)[0]


class VaeEncoderMoments(nn.Module):
    """x [B, 3, H, W] in [-1, 1] -> moments [B, 2*latent, H/8, W/8] (mean, logvar)."""

    def __init__(self, vae):
        super().__init__()
        self.encoder, self.quant_conv = vae.encoder, vae.quant_conv

    def forward(self, x):
        return self.quant_conv(self.encoder(x))


class VaeDecoderScaled(nn.Module):
    """scaled latents [B, 4, h, w] -> image [B, 3, 8h, 8w] in about [-1, 1]."""

    def __init__(self, vae, scaling_factor):
        super().__init__()
        self.decoder, self.post_quant_conv, self.scaling_factor = vae.decoder, vae.post_quant_conv, scaling_factor

    def forward(self, z):
        return self.decoder(self.post_quant_conv(z / self.scaling_factor))


class TextEncoderLastHidden(nn.Module):
    """input_ids [B, 77] int64 -> last_hidden_state [B, 77, hidden] (after the final LayerNorm)."""

    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids):
        return self.text(input_ids=input_ids, return_dict=False)[0]


def residual_shapes(unet_cfg, h, w):
    """Channels and sizes of the down-block residuals (conv_in, each resnet, each downsampler) and mid."""
    chans, shapes = unet_cfg["block_out_channels"], []
    shapes.append((chans[0], h, w))
    for i, c in enumerate(chans):
        for _ in range(unet_cfg["layers_per_block"]):
            shapes.append((c, h, w))
        if i < len(chans) - 1:
            h, w = (h + 1) // 2, (w + 1) // 2
            shapes.append((c, h, w))
    return shapes, (chans[-1], h, w)


def json_config(config):
    """A diffusers / transformers config as plain JSON values. diffusers keeps the path a model was loaded from
    (`_name_or_path`) as given, a pathlib.Path when it was given one; tuples become lists."""
    def plain(value):
        if isinstance(value, PurePath):
            return str(value)
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value
    return json.loads(json.dumps(plain(dict(config))))


def trace_and_save(module, inputs, path):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        traced = torch.jit.trace(module, inputs, check_trace=False)
    for p in traced.parameters():
        p.requires_grad_(False)
    traced.save(str(path))
    return traced


def write_bpe_files(src, out):
    """vocab.json + merges.txt of a source tokenizer folder into `out`; False when it has neither them nor a BPE
    tokenizer.json. A folder saved by transformers 5 holds only tokenizer.json (its fast tokenizer), whose BPE
    model carries the same vocabulary and merges."""
    if (src / "vocab.json").exists() and (src / "merges.txt").exists():
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(src / f, out / f)
        return True
    if not (src / "tokenizer.json").exists():
        return False
    model = json.loads((src / "tokenizer.json").read_text(encoding="utf-8")).get("model", {})
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        return False
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    (out / "vocab.json").write_text(json.dumps(model["vocab"], ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(m + "\n" for m in merges), encoding="utf-8")
    return True


def export(args, models=None, source=None):
    """Trace and write the model folder. `models` = (unet, vae, text, scheduler config) exports in-memory models
    (scripts/toyworld/train_base.py) instead of build_models(args); `source` then replaces model.json's source."""
    if models is None:
        models, source = load_models(args)
    elif source is None:
        source = dict(kind="tiny" if getattr(args, "tiny", False) else "random-full", path=None, seed=args.seed)
    import diffusers
    import transformers

    unet, vae, text, scheduler = models
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dtype, device = DTYPES[args.dtype], torch.device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    scaling = float(getattr(vae.config, "scaling_factor", 0.18215))
    for m in (unet, vae, text):
        m.to(device=device, dtype=dtype).eval()
        m.requires_grad_(False)
    unet.to(memory_format=memory_format)
    vae.to(memory_format=memory_format)
    if hasattr(unet, "disable_gradient_checkpointing"):
        unet.disable_gradient_checkpointing()
    if args.attention == "eager":
        unet.set_default_attn_processor()  # plain bmm + softmax, for debugging and parity checks

    b, px = args.batch, args.image_size
    h = w = px // 8
    unet_cfg = dict(unet.config)
    hidden = text.config.hidden_size
    gen = torch.Generator().manual_seed(args.seed + 1)
    rnd = lambda *shape: torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)
    res_shapes, mid_shape = residual_shapes(unet_cfg, h, w)
    sample = rnd(b, unet_cfg["in_channels"], h, w).contiguous(memory_format=memory_format)
    timestep = torch.full((b,), 500, dtype=torch.int64, device=device)
    context = rnd(b, 77, hidden)
    residuals = [rnd(b, *s).contiguous(memory_format=memory_format) for s in res_shapes + [mid_shape]]

    components = {}

    def record(name, module, inputs, input_specs, output_spec, extra=None):
        path = out / f"{name}.pt"
        traced = trace_and_save(module, inputs, path)
        with torch.no_grad():
            verified = []
            for vb in (1, 2, 4, 8):  # the batch dimension stays dynamic; check it runs at these sizes
                probe = [x[:1].repeat(vb, *([1] * (x.dim() - 1))) for x in inputs]
                y = traced(*probe)
                if y.shape[0] == vb:
                    verified.append(vb)
        components[name] = dict(file=path.name, sha256=sha256(path), inputs=input_specs, outputs=[output_spec],
                                traced_shapes=dict(batch=b, image_size=[px, px], latent_size=[h, w]),
                                verified_batch_sizes=verified, requires_grad=False,
                                trace=dict(check_trace=False, gradient_checkpointing=False, autocast=False),
                                **(extra or {}))

    latent = unet_cfg["in_channels"]
    res_specs = [dict(name=f"r{i}", dtype=args.dtype, shape=["B", c, f"h/{h // hh}" if hh != h else "h",
                                                               f"w/{w // ww}" if ww != w else "w"])
                 for i, (c, hh, ww) in enumerate(res_shapes)]
    record("unet", UNetWithResiduals(unet), [sample, timestep, context] + residuals,
           [dict(name="sample", dtype=args.dtype, shape=["B", latent, "h", "w"]),
            dict(name="timestep", dtype="int64", shape=["B"]),
            dict(name="encoder_hidden_states", dtype=args.dtype, shape=["B", 77, hidden])] + res_specs +
           [dict(name="mid", dtype=args.dtype, shape=["B", mid_shape[0], f"h/{h // mid_shape[1]}",
                                                        f"w/{w // mid_shape[2]}"])],
           dict(name="eps", dtype=args.dtype, shape=["B", latent, "h", "w"]),
           dict(attention=args.attention))
    image = rnd(b, 3, px, px).clamp(-1, 1).contiguous(memory_format=memory_format)
    lat_ch = vae.config.latent_channels
    record("vae_encoder", VaeEncoderMoments(vae), [image],
           [dict(name="image", dtype=args.dtype, shape=["B", 3, "H", "W"])],
           dict(name="moments", dtype=args.dtype, shape=["B", 2 * lat_ch, "H/8", "W/8"]))
    record("vae_decoder", VaeDecoderScaled(vae, scaling), [rnd(b, lat_ch, h, w).contiguous(memory_format=memory_format)],
           [dict(name="latents", dtype=args.dtype, shape=["B", lat_ch, "h", "w"])],
           dict(name="image", dtype=args.dtype, shape=["B", 3, "8h", "8w"]), dict(decoder_input="scaled_latents"))
    ids = torch.randint(0, text.config.vocab_size, (b, 77), generator=gen).to(device)
    record("text_encoder", TextEncoderLastHidden(text), [ids],
           [dict(name="input_ids", dtype="int64", shape=["B", 77])],
           dict(name="last_hidden_state", dtype=args.dtype, shape=["B", 77, hidden]))

    tok_dir = out / "tokenizer"
    tok_dir.mkdir(exist_ok=True)
    if getattr(args, "retarget", None):
        src = Path(args.retarget)
        tokenizer = dict(json.loads((src / "model.json").read_text())["tokenizer"])
        for value in tokenizer.values():
            if isinstance(value, str) and value.startswith("tokenizer/"):
                shutil.copy(src / value, out / value)
    elif args.source and write_bpe_files(Path(args.source) / "tokenizer", tok_dir):
        tokenizer = dict(vocab="tokenizer/vocab.json", merges="tokenizer/merges.txt")
    else:
        shutil.copy(VENDORED_VOCAB, tok_dir / VENDORED_VOCAB.name)
        tokenizer = dict(bpe=f"tokenizer/{VENDORED_VOCAB.name}")
    tokenizer["model_max_length"] = 77

    model = dict(
        format=FORMAT, format_version=FORMAT_VERSION,
        torch_version=torch.__version__, cuda_version=torch.version.cuda,
        diffusers_version=diffusers.__version__, transformers_version=transformers.__version__,
        device=args.device, dtype=args.dtype,
        memory_format="channels_last" if args.channels_last else "contiguous",
        source=source,
        unet=json_config(unet_cfg),
        vae=dict(scaling_factor=scaling, latent_channels=lat_ch, downsample_factor=8,
                 config=json_config(vae.config)),
        text_encoder=dict(hidden_size=hidden, max_length=77, vocab_size=text.config.vocab_size,
                          config={k: getattr(text.config, k) for k in TEXT_CONFIG_KEYS}),
        scheduler=scheduler, tokenizer=tokenizer, components=components,
        exporter=dict(script="scripts/export_sd.py", argv=sys.argv[1:] if models is None else None))
    (out / "model.json").write_text(json.dumps(model, indent=2) + "\n")
    print(f"exported {model['source']['kind']} SD to {out} ({args.dtype}, {args.device})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--from", dest="source", metavar="PATH",
                      help="local diffusers SD 1.x folder, or one LDM checkpoint file (.ckpt / .safetensors)")
    mode.add_argument("--tiny", action="store_true", help="small random configuration (tests)")
    mode.add_argument("--random-full", action="store_true", help="full SD 1.5 architecture, random weights")
    mode.add_argument("--retarget", metavar="MODEL_DIR",
                      help="an exported folder: the same weights traced again for --device / --dtype")
    p.add_argument("out_dir")
    p.add_argument("--original-config", metavar="YAML",
                   help="with --from FILE: the LDM inference config of the checkpoint (default "
                        "configs/sd/v1-inference.yaml, SD 1.x)")
    p.add_argument("--dtype", choices=DTYPES, default="fp32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--attention", choices=["sdpa", "eager"], default="sdpa")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--image-size", type=int, default=None, help="trace size in pixels (default 64 tiny, 512 full)")
    args = p.parse_args()
    if args.original_config and not args.source:
        p.error("--original-config goes with --from FILE")
    retarget = None
    if args.retarget:
        models, source, size = load_exported_models(args.retarget)
        retarget = (models, source)
        if args.image_size is None:
            args.image_size = size
    if args.image_size is None:
        args.image_size = 64 if args.tiny else 512
    if args.image_size % 64:
        p.error(f"--image-size must be a multiple of 64, got {args.image_size}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda asked for, but torch sees no CUDA device")
    torch.set_grad_enabled(False)
    if retarget:
        export(args, models=retarget[0], source=retarget[1])
        return
    try:
        if args.source:
            sd_source.check_environment()
        export(args)
    except sd_source.SourceError as e:
        sys.exit(f"export_sd.py: error: {e}")


if __name__ == "__main__":
    main()
