"""The official Stable-Pose adapter's state-dict layout (LDM names, `cldm/stable_pose_cldm.py`), with shapes,
for any SD 1.x U-Net configuration: written from the LDM module structure (input_blocks / middle_block /
zero_convs, ResBlock in_layers/emb_layers/out_layers/skip_connection, SpatialTransformer), independently of
the converter's rename table, so that a synthetic checkpoint tests that table.

The Stable-Pose parts follow the official constructors: the AttnResBlock at input block 1 builds its PMSA ViT
as PMSAViT(image_size=64, patch_size=2, dim=512, depth=2, heads=8, mlp_dim=512, channels=C0, dim_head=C0 // 8)
with C0 the U-Net's first block width, the ViT reduces to 128 channels before patchifying (patch vectors of
128 * 2 * 2 values), and the pose encoder ends in `inject_channels[0]` channels (192 in the released
configs)."""


def official_vit(unet_config):
    """The PMSA ViT hyper-parameters the official code builds for this U-Net (a few fixed, dim_head derived)."""
    c0 = unet_config["block_out_channels"][0]
    return {"reduced_channels": 128, "patch_size": 2, "dim": 512, "depth": 2, "heads": 8, "dim_head": c0 // 8,
            "mlp_dim": 512}


def _resblock(prefix, cin, cout, temb):
    s = {f"{prefix}.in_layers.0.weight": (cin,), f"{prefix}.in_layers.0.bias": (cin,),
         f"{prefix}.in_layers.2.weight": (cout, cin, 3, 3), f"{prefix}.in_layers.2.bias": (cout,),
         f"{prefix}.emb_layers.1.weight": (cout, temb), f"{prefix}.emb_layers.1.bias": (cout,),
         f"{prefix}.out_layers.0.weight": (cout,), f"{prefix}.out_layers.0.bias": (cout,),
         f"{prefix}.out_layers.3.weight": (cout, cout, 3, 3), f"{prefix}.out_layers.3.bias": (cout,)}
    if cin != cout:
        s[f"{prefix}.skip_connection.weight"] = (cout, cin, 1, 1)
        s[f"{prefix}.skip_connection.bias"] = (cout,)
    return s


def _spatial_transformer(prefix, c, ctx):
    s = {f"{prefix}.norm.weight": (c,), f"{prefix}.norm.bias": (c,),
         f"{prefix}.proj_in.weight": (c, c, 1, 1), f"{prefix}.proj_in.bias": (c,),
         f"{prefix}.proj_out.weight": (c, c, 1, 1), f"{prefix}.proj_out.bias": (c,)}
    b = f"{prefix}.transformer_blocks.0"
    for n in ("norm1", "norm2", "norm3"):
        s[f"{b}.{n}.weight"] = (c,)
        s[f"{b}.{n}.bias"] = (c,)
    for a, kv in (("attn1", c), ("attn2", ctx)):
        s[f"{b}.{a}.to_q.weight"] = (c, c)
        s[f"{b}.{a}.to_k.weight"] = (c, kv)
        s[f"{b}.{a}.to_v.weight"] = (c, kv)
        s[f"{b}.{a}.to_out.0.weight"] = (c, c)
        s[f"{b}.{a}.to_out.0.bias"] = (c,)
    s[f"{b}.ff.net.0.proj.weight"] = (8 * c, c)
    s[f"{b}.ff.net.0.proj.bias"] = (8 * c,)
    s[f"{b}.ff.net.2.weight"] = (c, 4 * c)
    s[f"{b}.ff.net.2.bias"] = (c,)
    return s


def _attn_res_block(prefix, c, temb, pose, vit):
    s = {f"{prefix}.in_layers.2.weight": (c, c, 3, 3), f"{prefix}.in_layers.2.bias": (c,),
         f"{prefix}.emb_layers.1.weight": (c, temb), f"{prefix}.emb_layers.1.bias": (c,),
         f"{prefix}.out_layers.3.weight": (c, c, 3, 3), f"{prefix}.out_layers.3.bias": (c,),
         f"{prefix}.cond_conv.weight": (c, pose, 3, 3), f"{prefix}.cond_conv.bias": (c,)}
    v = f"{prefix}.attn_layer"
    rc, dim, mlp = vit["reduced_channels"], vit["dim"], vit["mlp_dim"]
    patch = rc * vit["patch_size"] ** 2
    inner = vit["heads"] * vit["dim_head"]
    s.update({f"{v}.to_patch_embedding.0.weight": (rc, c, 3, 3), f"{v}.to_patch_embedding.0.bias": (rc,),
              f"{v}.to_patch_embedding.2.weight": (patch,), f"{v}.to_patch_embedding.2.bias": (patch,),
              f"{v}.to_patch_embedding.3.weight": (dim, patch), f"{v}.to_patch_embedding.3.bias": (dim,),
              f"{v}.to_patch_embedding.4.weight": (dim,), f"{v}.to_patch_embedding.4.bias": (dim,),
              f"{v}.to_out.1.weight": (c, rc, 3, 3), f"{v}.to_out.1.bias": (c,)})
    for layer in range(vit["depth"]):
        l = f"{v}.transformer.layers.{layer}"
        s.update({f"{l}.0.norm.weight": (dim,), f"{l}.0.norm.bias": (dim,),
                  f"{l}.0.to_qkv.weight": (3 * inner, dim), f"{l}.0.to_out.weight": (dim, inner),
                  f"{l}.1.net.0.weight": (dim,), f"{l}.1.net.0.bias": (dim,),
                  f"{l}.1.net.1.weight": (mlp, dim), f"{l}.1.net.1.bias": (mlp,),
                  f"{l}.1.net.3.weight": (dim, mlp), f"{l}.1.net.3.bias": (dim,)})
    return s


def official_adapter_shapes(unet_config, pose_channels=192, vit=None):
    """Key (after `stable_pose_adapter.`) -> shape for the Stable-Pose adapter of this U-Net config.
    `vit` replaces official_vit(unet_config), to build a checkpoint the official code would not make."""
    vit = vit or official_vit(unet_config)
    chans = list(unet_config["block_out_channels"])
    layers = unet_config["layers_per_block"]
    ctx = unet_config["cross_attention_dim"]
    c0, temb = chans[0], 4 * chans[0]
    s = {"time_embed.0.weight": (temb, c0), "time_embed.0.bias": (temb,),
         "time_embed.2.weight": (temb, temb), "time_embed.2.bias": (temb,),
         "input_blocks.0.0.weight": (c0, unet_config["in_channels"], 3, 3), "input_blocks.0.0.bias": (c0,)}
    zero_channels = [c0]
    n, cin = 1, c0
    for level, c in enumerate(chans):
        cross = unet_config["down_block_types"][level].startswith("CrossAttn")
        for _ in range(layers):
            if n == 1:
                s.update(_attn_res_block("input_blocks.1.0", c, temb, pose_channels, vit))
            else:
                s.update(_resblock(f"input_blocks.{n}.0", cin, c, temb))
            if cross:
                s.update(_spatial_transformer(f"input_blocks.{n}.1", c, ctx))
            zero_channels.append(c)
            n, cin = n + 1, c
        if level < len(chans) - 1:
            s[f"input_blocks.{n}.0.op.weight"] = (c, c, 3, 3)
            s[f"input_blocks.{n}.0.op.bias"] = (c,)
            zero_channels.append(c)
            n += 1
    cm = chans[-1]
    s.update(_resblock("middle_block.0", cm, cm, temb))
    s.update(_spatial_transformer("middle_block.1", cm, ctx))
    s.update(_resblock("middle_block.2", cm, cm, temb))
    for k, c in enumerate(zero_channels):
        s[f"zero_convs.{k}.0.weight"] = (c, c, 1, 1)
        s[f"zero_convs.{k}.0.bias"] = (c,)
    s["middle_block_out.0.weight"] = (cm, cm, 1, 1)
    s["middle_block_out.0.bias"] = (cm,)
    fe = [("pre_extractor.0", 32, 3), ("pre_extractor.2", 64, 32), ("pre_extractor.4", 64, 64),
          ("pre_extractor.6", 128, 64), ("pre_extractor.8", 128, 128),
          ("extractors.0.0", pose_channels, 128), ("zero_convs.0", pose_channels, pose_channels)]
    for name, cout, cin_fe in fe:
        s[f"feature_extractor.{name}.weight"] = (cout, cin_fe, 3, 3)
        s[f"feature_extractor.{name}.bias"] = (cout,)
    return s
