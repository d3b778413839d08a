#!/usr/bin/env python3
"""Convert an official Stable-Pose checkpoint (LDM key names) to our adapter safetensors (diffusers names).

    convert_official_checkpoint.py CHECKPOINT OUT.safetensors [--model-json MODEL_DIR/model.json]

CHECKPOINT is the official `final.pth` / a released `.pth` (a full-model state dict) or a Lightning `.ckpt`
(nested under "state_dict"). Only the `stable_pose_adapter.` keys are converted, with the key map of
stable-pose.md §14.3; the frozen SD parts (model.diffusion_model.*, first_stage_model.*, ...) are skipped.
The input-block numbering is derived from the U-Net configuration (SD 1.5 unless --model-json names another).
Fails on any adapter key it cannot map and on two keys mapping to one name; shapes and missing keys are
checked when the C++ side loads the file (strictly, naming the first mismatch).
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
    save_file(weights, args.output, metadata={"format": "stablepose.adapter", "mode": "stable_pose",
                                              "source": Path(args.checkpoint).name})
    print(f"wrote {len(weights)} tensors to {args.output}")


if __name__ == "__main__":
    sys.exit(main())
