#!/usr/bin/env python3
"""Export the evaluation networks (FID/KID Inception, CLIP-score towers) to TorchScript for the C++ metrics.

    export_metric_models.py inception --weights PTH OUT_DIR     torch-fidelity / pytorch-fid Inception weights
    export_metric_models.py inception --random-init OUT_DIR     same architecture, random weights (tests)
    export_metric_models.py clip --from HF_DIR OUT_DIR          a local transformers CLIP (openai/clip-vit-base-patch16)
    export_metric_models.py clip --tiny OUT_DIR                 a small random CLIP with the real vocabulary (tests)

Options: --seed N (random weights), --device cpu|cuda. No network access: the weights come from local files
(weights-inception-2015-12-05-6726825d.pth of torch-fidelity, or pytorch-fid's pt_inception-2015-12-05-6726825d.pth,
which holds the same tensors; a CLIP folder saved by transformers' save_pretrained / a hub snapshot).

Inception (spec evaluation.md §8.1): OUT_DIR/inception.pt + inception.json. forward(images uint8 [B, 3, H, W])
-> (features_64 [B, 64], features_2048 [B, 2048]) float32, computed by torch-fidelity's FeatureExtractorInceptionV3
(the TF-compatible 2015-12-05 graph): TF1 bilinear resize to 299, (x - 128) / 128, the 64-d features after MaxPool_1
and the 2048-d pool3 features. With --random-init the random state dict is saved too (inception_weights.pth), so
torch-fidelity / torchmetrics can load the same network through feature_extractor_weights_path.

CLIP (spec §9): OUT_DIR/clip_image.pt, clip_text.pt, tokenizer/ and clip.json. clip_image: pixel_values float32
[B, 3, 224, 224] (CLIP-normalised) -> image_embeds [B, P] (get_image_features: after visual_projection, not
normalised); clip_text: input_ids int64 [B, 77] -> text_embeds [B, P] (EOT pooling, after text_projection). The
text tower needs no attention mask: its attention is causal, so padding after the first EOT cannot reach it.

Every module is traced (never scripted, except the Inception's resize, see below), in fp32, outside autocast, with
frozen parameters and eager attention (runtime.md §2.6-2.7). The sidecar JSON holds format name and version, torch
and library versions, sha256 of every file, the input/output signatures and the verified batch sizes.
"""
import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from torch import Tensor, nn

FORMAT = "stablepose.metric-network"
FORMAT_VERSION = 1
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from export_sd import sha256  # noqa: E402  (one file-hash helper for all exporters)
VENDORED_VOCAB = ROOT / "assets" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
INCEPTION_SIZE = 299
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]  # OPENAI_CLIP_MEAN / _STD of transformers' image processors
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def freeze(module):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def has_device_constants(traced):
    """True when tracing baked a device into the graph (then the file only runs on the device it was traced on)."""
    graphs = [traced.inlined_graph] if hasattr(traced, "inlined_graph") else [traced.graph]
    for graph in graphs:
        for node in graph.nodes():
            if node.kind() == "prim::Constant" and node.output().type().kind() == "DeviceObjType":
                return True
    return False


def trace_and_save(module, inputs, path):
    freeze(module)
    with torch.no_grad():
        traced = torch.jit.trace(module, inputs, check_trace=False)
    for p in traced.parameters():
        p.requires_grad_(False)
    traced.save(str(path))
    return torch.jit.load(str(path), map_location=inputs[0].device)


# ---------------------------------------------------------------------------------------------------------------
# Inception (torch-fidelity FeatureExtractorInceptionV3, "inception-v3-compat")
# ---------------------------------------------------------------------------------------------------------------

@torch.jit.script
def resize_bilinear_tf1(x: Tensor, out_h: int, out_w: int) -> Tensor:
    """torch-fidelity's interpolate_bilinear_2d_like_tensorflow1x(align_corners=False, method="slow"), line by line.

    Scripted rather than traced: a trace would bake the input size and the device of the index grids into the
    graph, and the C++ side feeds images of any size on CPU or CUDA. x: [B, C, H, W] float; returns [B, C, out_h,
    out_w]. For output index o the source is o * (in / out) in float32, no half-pixel offset.
    """
    in_h, in_w = x.shape[2], x.shape[3]
    scale_x = torch.tensor(in_w / out_w, dtype=torch.float32, device=x.device)
    scale_y = torch.tensor(in_h / out_h, dtype=torch.float32, device=x.device)
    grid_x = torch.arange(0, out_w, 1, dtype=x.dtype, device=x.device) * scale_x
    grid_x_lo = grid_x.long()
    grid_x_hi = (grid_x_lo + 1).clamp_max(in_w - 1)
    grid_dx = grid_x - grid_x_lo.float()
    grid_y = torch.arange(0, out_h, 1, dtype=x.dtype, device=x.device) * scale_y
    grid_y_lo = grid_y.long()
    grid_y_hi = (grid_y_lo + 1).clamp_max(in_h - 1)
    grid_dy = grid_y - grid_y_lo.float()
    in_00 = x[:, :, grid_y_lo, :][:, :, :, grid_x_lo]
    in_01 = x[:, :, grid_y_lo, :][:, :, :, grid_x_hi]
    in_10 = x[:, :, grid_y_hi, :][:, :, :, grid_x_lo]
    in_11 = x[:, :, grid_y_hi, :][:, :, :, grid_x_hi]
    in_0 = in_00 + (in_01 - in_00) * grid_dx.view(1, 1, 1, out_w)
    in_1 = in_10 + (in_11 - in_10) * grid_dx.view(1, 1, 1, out_w)
    return in_0 + (in_1 - in_0) * grid_dy.view(1, 1, out_h, 1)


class InceptionFeatures(nn.Module):
    """images uint8 [B, 3, H, W] -> (features_64 [B, 64], features_2048 [B, 2048]) float32.

    The body of FeatureExtractorInceptionV3.forward with both feature points returned from one pass; the blocks
    are the torch-fidelity instance's own modules (so the parameter names are torch-fidelity's state-dict keys).
    """

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, images):
        n = self.net
        x = images.to(torch.float32)
        x = resize_bilinear_tf1(x, INCEPTION_SIZE, INCEPTION_SIZE)
        x = (x - 128) / 128
        x = n.MaxPool_1(n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x))))
        f64 = torch.nn.functional.adaptive_avg_pool2d(x, output_size=(1, 1)).squeeze(-1).squeeze(-1)
        x = n.MaxPool_2(n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x)))
        for block in (n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                      n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = block(x)
        f2048 = torch.flatten(n.AvgPool(x), 1)
        return f64, f2048


def random_inception_state_dict(seed):
    """A random state dict for FeatureExtractorInceptionV3 with every tensor drawn from `seed`.

    He-normal convolutions and BatchNorm statistics near identity keep activations of order one through the 94
    layers, so the 64-d and 2048-d features are neither vanishing nor saturated.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Skeleton(FeatureExtractorInceptionV3):  # the architecture without torch-fidelity's weight loading
        def load_state_dict(self, state_dict, strict=True, assign=False):
            return None

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.pth"
        torch.save({}, empty)
        skeleton = Skeleton("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, t in skeleton.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = t.clone()
        elif key.endswith("conv.weight"):
            fan_in = t[0].numel()
            state[key] = torch.randn(t.shape, generator=gen) * (2.0 / fan_in) ** 0.5
        elif key.endswith("bn.weight") or key.endswith("bn.running_var"):
            state[key] = 0.5 + torch.rand(t.shape, generator=gen)
        elif key.endswith("bn.bias") or key.endswith("bn.running_mean"):
            state[key] = 0.1 * torch.randn(t.shape, generator=gen)
        else:  # fc
            state[key] = torch.randn(t.shape, generator=gen) * 0.02
    return state


def load_fidelity_inception(weights_path):
    """torch-fidelity's own module, loaded from a local weights file (never downloaded)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", ["64", "2048"],
                                      feature_extractor_weights_path=str(weights_path))
    return freeze(net)


def export_inception(args, out):
    import torch_fidelity

    device = torch.device(args.device)
    if args.random_init:
        weights = out / "inception_weights.pth"
        torch.save(random_inception_state_dict(args.seed), weights)
        source = dict(kind="random-init", seed=args.seed, weights=weights.name, weights_sha256=sha256(weights))
    else:
        weights = Path(args.weights)
        if not weights.is_file():
            sys.exit(f"error: no Inception weights at {weights}\n  hint: torch-fidelity's "
                     "weights-inception-2015-12-05-6726825d.pth or pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
        source = dict(kind="pretrained", weights=str(weights), weights_sha256=sha256(weights))
    net = load_fidelity_inception(weights).to(device)
    wrapper = InceptionFeatures(net)
    gen = torch.Generator().manual_seed(args.seed + 1)
    images = torch.randint(0, 256, (2, 3, 64, 80), generator=gen, dtype=torch.uint8).to(device)
    path = out / "inception.pt"
    traced = trace_and_save(wrapper, [images], path)

    # The exported graph against torch-fidelity's own forward, at several sizes and batch sizes.
    worst = 0.0
    verified = []
    with torch.no_grad():
        for b, h, w in ((1, 299, 299), (2, 64, 80), (4, 120, 96), (8, 50, 50)):
            x = torch.randint(0, 256, (b, 3, h, w), generator=gen, dtype=torch.uint8).to(device)
            ours = traced(x)
            ref = net(x)
            worst = max(worst, max(float((a - r).abs().max()) for a, r in zip(ours, ref)))
            verified.append(b)
    if worst > 1e-4:
        sys.exit(f"error: the traced Inception differs from torch-fidelity's by {worst:g}")
    spec = dict(
        format=FORMAT, format_version=FORMAT_VERSION, component="fid_inception",
        architecture="torch-fidelity FeatureExtractorInceptionV3 (inception-v3-compat, TF 2015-12-05 graph)",
        torch_version=torch.__version__, cuda_version=torch.version.cuda,
        torch_fidelity_version=torch_fidelity.__version__, device=args.device, dtype="fp32",
        device_portable=not has_device_constants(traced),
        file=path.name, sha256=sha256(path),
        inputs=[dict(name="images", dtype="uint8", shape=["B", 3, "H", "W"])],
        outputs=[dict(name="features_64", dtype="fp32", shape=["B", 64]),
                 dict(name="features_2048", dtype="fp32", shape=["B", 2048])],
        preprocessing=dict(resize="tf1-bilinear", size=INCEPTION_SIZE, scale="(x - 128) / 128"),
        verified_batch_sizes=verified, max_abs_diff_vs_torch_fidelity=worst, requires_grad=False,
        trace=dict(check_trace=False, autocast=False, scripted=["resize_bilinear_tf1"]),
        source=source, exporter=dict(script="scripts/export_metric_models.py", argv=sys.argv[1:]))
    (out / "inception.json").write_text(json.dumps(spec, indent=2) + "\n")
    print(f"exported {source['kind']} Inception to {path} (max |diff| vs torch-fidelity {worst:g})")


# ---------------------------------------------------------------------------------------------------------------
# CLIP (transformers CLIPModel, ViT-B/16 for CLIP-score)
# ---------------------------------------------------------------------------------------------------------------

def tiny_clip_config():
    """Small but structurally CLIP ViT-B/16: 224 px, 16 px patches, the real 49,408-id vocabulary, 77 positions."""
    from transformers import CLIPConfig

    text = dict(vocab_size=49408, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407,
                pad_token_id=49407)
    vision = dict(image_size=224, patch_size=16, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4, hidden_act="quick_gelu")
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


def build_clip(args):
    """The transformers CLIPModel (eager attention): loaded from --from, or the tiny random one of --seed."""
    from transformers import CLIPModel

    if args.source:
        return freeze(CLIPModel.from_pretrained(args.source, attn_implementation="eager"))
    torch.manual_seed(args.seed)
    config = tiny_clip_config()
    config._attn_implementation = "eager"
    model = CLIPModel(config)
    # transformers' init leaves LayerNorms at identity and biases at zero; perturbing every parameter makes
    # each one matter in the parity tests (as scripts/export_sd.py does for the tiny SD).
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return freeze(model)


class ClipImageEmbeds(nn.Module):
    """pixel_values [B, 3, 224, 224] (CLIP-normalised) -> image_embeds [B, P] (projected, not normalised)."""

    def __init__(self, model):
        super().__init__()
        self.vision_model, self.visual_projection = model.vision_model, model.visual_projection

    def forward(self, pixel_values):
        pooled = self.vision_model(pixel_values=pixel_values, return_dict=True).pooler_output
        return self.visual_projection(pooled)


class ClipTextEmbeds(nn.Module):
    """input_ids [B, 77] int64 -> text_embeds [B, P] (EOT-pooled, projected, not normalised)."""

    def __init__(self, model):
        super().__init__()
        self.text_model, self.text_projection = model.text_model, model.text_projection

    def forward(self, input_ids):
        pooled = self.text_model(input_ids=input_ids, return_dict=True).pooler_output
        return self.text_projection(pooled)


def copy_tokenizer(args, out):
    tok_dir = out / "tokenizer"
    tok_dir.mkdir(exist_ok=True)
    src = Path(args.source) if args.source else None
    if src and (src / "vocab.json").exists() and (src / "merges.txt").exists():
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(src / f, tok_dir / f)
        return dict(vocab="tokenizer/vocab.json", merges="tokenizer/merges.txt")
    shutil.copy(VENDORED_VOCAB, tok_dir / VENDORED_VOCAB.name)
    return dict(bpe=f"tokenizer/{VENDORED_VOCAB.name}")


def export_clip(args, out):
    import transformers

    device = torch.device(args.device)
    model = build_clip(args).to(device)
    cfg = model.config
    if cfg.vision_config.image_size != 224 or cfg.text_config.max_position_embeddings != 77:
        sys.exit(f"error: CLIP-score expects 224 px images and 77 text positions, found "
                 f"{cfg.vision_config.image_size} px and {cfg.text_config.max_position_embeddings}")
    gen = torch.Generator().manual_seed(args.seed + 1)
    proj = cfg.projection_dim
    pixels = torch.randn(2, 3, 224, 224, generator=gen).to(device)
    ids = torch.full((2, 77), 49407, dtype=torch.int64)
    ids[:, 0] = 49406
    ids[:, 1:6] = torch.randint(0, 49406, (2, 5), generator=gen)
    ids = ids.to(device)
    components = {}
    worst = 0.0
    for name, module, example, ref_fn, spec_in in (
            ("clip_image", ClipImageEmbeds(model), pixels,
             lambda x: model.get_image_features(pixel_values=x).pooler_output,
             dict(name="pixel_values", dtype="fp32", shape=["B", 3, 224, 224])),
            ("clip_text", ClipTextEmbeds(model), ids,
             lambda x: model.get_text_features(input_ids=x).pooler_output,
             dict(name="input_ids", dtype="int64", shape=["B", 77]))):
        path = out / f"{name}.pt"
        traced = trace_and_save(module, [example], path)
        verified = []
        with torch.no_grad():
            for b in (1, 2, 4, 8):
                probe = example[:1].repeat(b, *([1] * (example.dim() - 1)))
                if name == "clip_text":  # a different EOT position per row
                    probe = probe.clone()
                    for r in range(b):
                        probe[r, 2 + r:] = 49407
                else:
                    probe = torch.randn(probe.shape, generator=gen).to(device)
                diff = float((traced(probe) - ref_fn(probe)).abs().max())
                worst = max(worst, diff)
                verified.append(b)
        components[name] = dict(file=path.name, sha256=sha256(path), inputs=[spec_in],
                                outputs=[dict(name=name.replace("clip_", "") + "_embeds", dtype="fp32",
                                              shape=["B", proj])],
                                verified_batch_sizes=verified, device_portable=not has_device_constants(traced))
    if worst > 1e-4:
        sys.exit(f"error: the traced CLIP towers differ from transformers' by {worst:g}")
    spec = dict(
        format=FORMAT, format_version=FORMAT_VERSION, component="clip",
        torch_version=torch.__version__, cuda_version=torch.version.cuda,
        transformers_version=transformers.__version__, device=args.device, dtype="fp32", attention="eager",
        projection_dim=proj, image_size=224, max_length=77, eos_token_id=49407, pad_token_id=49407,
        preprocessing=dict(resize_shortest_edge=224, resample="bicubic", crop=224, mean=CLIP_MEAN, std=CLIP_STD),
        tokenizer=copy_tokenizer(args, out), components=components, max_abs_diff_vs_transformers=worst,
        requires_grad=False, trace=dict(check_trace=False, autocast=False),
        source=dict(kind="pretrained" if args.source else "tiny", path=str(args.source) if args.source else None,
                    seed=None if args.source else args.seed),
        exporter=dict(script="scripts/export_metric_models.py", argv=sys.argv[1:]))
    (out / "clip.json").write_text(json.dumps(spec, indent=2) + "\n")
    print(f"exported {spec['source']['kind']} CLIP to {out} (max |diff| vs transformers {worst:g})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="network", required=True)
    inc = sub.add_parser("inception", help="FID/KID Inception (torch-fidelity architecture)")
    mode = inc.add_mutually_exclusive_group(required=True)
    mode.add_argument("--weights", help="weights-inception-2015-12-05-6726825d.pth (or pytorch-fid's pt_inception-…)")
    mode.add_argument("--random-init", action="store_true", help="random weights (tests)")
    clip = sub.add_parser("clip", help="CLIP image and text towers with projections (CLIP-score)")
    mode = clip.add_mutually_exclusive_group(required=True)
    mode.add_argument("--from", dest="source", help="local transformers CLIP folder (openai/clip-vit-base-patch16)")
    mode.add_argument("--tiny", action="store_true", help="small random CLIP with the real vocabulary (tests)")
    for s in (inc, clip):
        s.add_argument("out_dir")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--device", default="cpu")
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda asked for, but torch sees no CUDA device")
    torch.set_grad_enabled(False)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_inception(args, out) if args.network == "inception" else export_clip(args, out)


if __name__ == "__main__":
    main()
