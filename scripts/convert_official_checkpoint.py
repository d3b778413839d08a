#!/usr/bin/env python3
"""Convert an official Stable-Pose checkpoint (LDM key names) to our adapter safetensors (diffusers names).

    convert_official_checkpoint.py CHECKPOINT OUT.safetensors [--model-json MODEL_DIR/model.json]

CHECKPOINT is the official `final.pth` / a released `.pth` (a full-model state dict) or a Lightning `.ckpt`
(nested under "state_dict"). Only the `stable_pose_adapter.` keys are converted, from the LDM names to
diffusers' ControlNetModel names (the Stable-Pose parts keep their official names); the frozen SD parts
(model.diffusion_model.*, first_stage_model.*, ...) are skipped. The input-block numbering is derived from
the U-Net configuration (SD 1.5 unless --model-json names another).

The adapter's architecture is written into the metadata (`adapter_config`, read by the C++ loader), as the
official code builds it: its AttnResBlock makes the PMSA ViT with patch 2, dim 512, depth 2, 8 heads, MLP 512
and dim_head = C0 // 8 (C0: the U-Net's first block width; 320 // 8 = 40 in SD 1.5), reducing to 128
channels before patchifying; the pose channels are the training config's inject_channels[0] (192 in the
released configs), read from the checkpoint. Every Stable-Pose tensor's shape is checked against that
architecture.

Fails on any adapter key it cannot map, on two keys mapping to one name and on a Stable-Pose shape that is
not the official architecture's for this U-Net; the encoder copy's shapes and missing keys are checked when
the C++ side loads the file (strictly, naming the first mismatch).
"""
import argparse
import json
import re
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

PREFIX = "stable_pose_adapter."
SD15_UNET = {"block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
             "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"]}
# The PMSA ViT as the official AttnResBlock builds it; only dim_head depends on the U-Net (official_config).
OFFICIAL_VIT = {"reduced_channels": 128, "patch_size": 2, "dim": 512, "depth": 2, "heads": 8, "mlp_dim": 512}
ATTN_RES_BLOCK = PREFIX + "input_blocks.1.0."
POSE_OUT = PREFIX + "feature_extractor.extractors.0.0.weight"
RESBLOCK_NAMES = {"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
                  "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}


def input_block_table(unet):
    """LDM input block index -> ("resnet", level, j) | ("downsample", level)."""
    table, n = {}, 1
    levels = len(unet["block_out_channels"])
    for level in range(levels):
        for j in range(unet["layers_per_block"]):
            table[n] = ("resnet", level, j)
            n += 1
        if level < levels - 1:
            table[n] = ("downsample", level)
            n += 1
    return table


def map_resblock(rest):
    for ours, theirs in RESBLOCK_NAMES.items():
        if rest == ours or rest.startswith(ours + "."):
            return theirs + rest[len(ours):]
    return None


def map_key(key, table):
    """Official key (prefix removed) -> our key, or None when unmapped."""
    if key.startswith("feature_extractor."):
        return key
    fixed = {"time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
             "input_blocks.0.0": "conv_in", "middle_block_out.0": "controlnet_mid_block"}
    for theirs, ours in fixed.items():
        if key.startswith(theirs + "."):
            return ours + key[len(theirs):]
    m = re.fullmatch(r"zero_convs\.(\d+)\.0\.(weight|bias)", key)
    if m:
        return f"controlnet_down_blocks.{m[1]}.{m[2]}"
    m = re.fullmatch(r"middle_block\.([012])\.(.+)", key)
    if m:
        if m[1] == "1":
            return f"mid_block.attentions.0.{m[2]}"
        rest = map_resblock(m[2])
        return None if rest is None else f"mid_block.resnets.{0 if m[1] == '0' else 1}.{rest}"
    m = re.fullmatch(r"input_blocks\.(\d+)\.([01])\.(.+)", key)
    if not m or int(m[1]) not in table:
        return None
    kind = table[int(m[1])]
    if kind[0] == "downsample":
        return f"down_blocks.{kind[1]}.downsamplers.0.conv.{m[3][3:]}" if m[2] == "0" and m[3].startswith("op.") else None
    _, level, j = kind
    if m[2] == "1":
        return f"down_blocks.{level}.attentions.{j}.{m[3]}"
    if level == 0 and j == 0:  # the AttnResBlock keeps the official sub-names
        return f"down_blocks.0.resnets.0.{m[3]}"
    rest = map_resblock(m[3])
    return None if rest is None else f"down_blocks.{level}.resnets.{j}.{rest}"


def convert(state, unet):
    table = input_block_table(unet)
    out, unmapped = {}, []
    for key, value in state.items():
        if not key.startswith(PREFIX):
            continue
        ours = map_key(key[len(PREFIX):], table)
        if ours is None:
            unmapped.append(key)
            continue
        if ours in out:
            raise SystemExit(f"error: two official keys map to '{ours}' (second: {key})")
        out[ours] = value.detach().to(torch.float32).contiguous()
    if unmapped:
        raise SystemExit(f"error: {len(unmapped)} adapter keys have no mapping, e.g. {unmapped[:3]}\n"
                         "hint: the checkpoint is not a Stable-Pose adapter of this U-Net configuration "
                         "(pass --model-json for a non-SD-1.5 architecture)")
    if not out:
        raise SystemExit(f"error: no '{PREFIX}' keys in the checkpoint; is it a Stable-Pose checkpoint?")
    return out


def official_config(state, unet):
    """The adapter_config metadata for this checkpoint: the official architecture for the U-Net's first block
    width, with the pose channels read from the pose encoder's last conv."""
    if POSE_OUT not in state:
        raise SystemExit(f"error: the checkpoint has no '{POSE_OUT}'\n"
                         "hint: only Stable-Pose checkpoints (the pose encoder and the AttnResBlock) convert")
    c0 = unet["block_out_channels"][0]
    return {"mode": "stable_pose", "pose_channels": int(state[POSE_OUT].shape[0]),
            "vit": dict(OFFICIAL_VIT, dim_head=c0 // 8, fill_scope="batch")}


def stable_pose_shapes(config, c0):
    """Official key -> shape of the parts sized by the adapter config (AttnResBlock's ViT and pose input)."""
    v, pose = config["vit"], config["pose_channels"]
    rc, dim, mlp = v["reduced_channels"], v["dim"], v["mlp_dim"]
    patch, inner = rc * v["patch_size"] ** 2, v["heads"] * v["dim_head"]
    vit = ATTN_RES_BLOCK + "attn_layer."
    s = {ATTN_RES_BLOCK + "cond_conv.weight": (c0, pose, 3, 3),
         PREFIX + "feature_extractor.zero_convs.0.weight": (pose, pose, 3, 3),
         vit + "to_patch_embedding.0.weight": (rc, c0, 3, 3),
         vit + "to_patch_embedding.2.weight": (patch,), vit + "to_patch_embedding.3.weight": (dim, patch),
         vit + "to_patch_embedding.4.weight": (dim,), vit + "to_out.1.weight": (c0, rc, 3, 3)}
    for layer in range(v["depth"]):
        t = f"{vit}transformer.layers.{layer}."
        s.update({t + "0.to_qkv.weight": (3 * inner, dim), t + "0.to_out.weight": (dim, inner),
                  t + "1.net.1.weight": (mlp, dim), t + "1.net.3.weight": (dim, mlp)})
    return s


def check_architecture(state, config, c0):
    """Fails, naming the first disagreement, when the checkpoint is not the official architecture."""
    v = config["vit"]
    derivation = (f"PMSA ViT dim {v['dim']}, depth {v['depth']}, {v['heads']} heads x dim_head {v['dim_head']} "
                  f"(= first block width {c0} // 8), MLP {v['mlp_dim']}, {v['reduced_channels']} channels "
                  f"patchified {v['patch_size']}x{v['patch_size']}; pose channels {config['pose_channels']}")
    hint = ("hint: check --model-json (the frozen model this adapter was trained on); a checkpoint trained "
            "with a modified Stable-Pose architecture cannot be converted")
    layers = {int(m[1]) for k in state
              if (m := re.match(re.escape(ATTN_RES_BLOCK) + r"attn_layer\.transformer\.layers\.(\d+)\.", k))}
    if layers != set(range(v["depth"])):
        raise SystemExit(f"error: the checkpoint's PMSA ViT has layers {sorted(layers)}; the official "
                         f"architecture has {v['depth']}\n{hint}")
    for key, shape in stable_pose_shapes(config, c0).items():
        found = f"has shape {list(state[key].shape)}" if key in state else "is missing"
        if key not in state or tuple(state[key].shape) != shape:
            raise SystemExit(f"error: '{key}' {found}; expected {list(shape)}\n"
                             f"  official architecture for this U-Net: {derivation}\n{hint}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--model-json", help="model.json of the frozen SD export (default: the SD 1.5 layout)")
    args = p.parse_args()
    unet = json.loads(Path(args.model_json).read_text())["unet"] if args.model_json else SD15_UNET
    try:
        ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - report any reading problem as one clear error
        raise SystemExit(f"error: cannot read checkpoint '{args.checkpoint}': {e}")
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise SystemExit("error: expected a state dict (or a Lightning checkpoint with 'state_dict')")
    weights = convert(state, unet)
    config = official_config(state, unet)
    check_architecture(state, config, unet["block_out_channels"][0])
    save_file(weights, args.output, metadata={"format": "stablepose.adapter", "mode": "stable_pose",
                                              "adapter_config": json.dumps(config), "condition_range": "[-1,1]",
                                              "source": Path(args.checkpoint).name})
    print(f"wrote {len(weights)} tensors to {args.output}")


if __name__ == "__main__":
    sys.exit(main())
