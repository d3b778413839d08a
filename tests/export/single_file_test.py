#!/usr/bin/env python3
"""export_sd.py --from FILE: a single LDM-layout checkpoint exports the same model as the diffusers folder.

    single_file_test.py WORK_DIR

The tiny SD 1.x is saved twice, as a diffusers folder (save_pretrained) and as one LDM checkpoint (.ckpt holding
{'state_dict': ...} and .safetensors) made by tiny_sources.py's own key map. export_sd.py --from FILE.ckpt
--original-config tiny.yaml and --from FOLDER, both with the network blocked, must give traced U-Net, VAE encoder,
VAE decoder and text encoder with the same outputs and model.json blocks that agree. Negative control: the
checkpoint with one U-Net tensor perturbed exports a U-Net that differs. In process: .safetensors converts to the
same tensors as .ckpt, use_ema: true takes the model_ema.* copy, and the shipped SD 1.x config with the shipped
CLIP ViT-L/14 config builds exactly the SD 1.5 architecture of export_sd.sd15_configs (on the meta device).
"""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

import tiny_sources as ts
from tiny_sources import REPO, export_sd

import ldm_checkpoint  # noqa: E402  (scripts/, on the path through tiny_sources)
import sd_source  # noqa: E402

TOLERANCE = 1e-6


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def run_exports(work, *arg_lists):
    """export_sd.py once per argument list, side by side (tracing is mostly one Python thread each)."""
    env = dict(ts.offline_env(work), OMP_NUM_THREADS="1")
    cmds = [[sys.executable, str(REPO / "scripts" / "export_sd.py"), *map(str, args), "--image-size", "64"]
            for args in arg_lists]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cmd in cmds]
    for cmd, proc in zip(cmds, procs):
        out, err = proc.communicate()
        if proc.returncode != 0:
            fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{out}\n{err}")


def traced_outputs(model_dir):
    """Each traced component on fixed inputs (the same for every folder)."""
    spec = json.loads((model_dir / "model.json").read_text())
    gen = torch.Generator().manual_seed(123)
    rnd = lambda *shape: torch.randn(*shape, generator=gen)
    h = w = 8
    res, mid = export_sd.residual_shapes(spec["unet"], h, w)
    unet_in = [rnd(2, 4, h, w), torch.tensor([10, 900]), rnd(2, 77, spec["text_encoder"]["hidden_size"])]
    unet_in += [rnd(2, *s) for s in res + [mid]]
    inputs = dict(unet=unet_in, vae_encoder=[rnd(2, 3, 64, 64).clamp(-1, 1)], vae_decoder=[rnd(2, 4, h, w)],
                  text_encoder=[torch.randint(0, 49408, (2, 77), generator=gen)])
    with torch.no_grad():
        return {name: torch.jit.load(str(model_dir / f"{name}.pt"))(*x) for name, x in inputs.items()}


def plain(config):
    return {k: v for k, v in config.items() if not k.startswith("_")}


def compare_exports(single, folder):
    """max |difference| per component; model.json's architecture blocks must agree."""
    a, b = (json.loads((d / "model.json").read_text()) for d in (single, folder))
    if plain(a["unet"]) != plain(b["unet"]):
        fail(f"model.json unet blocks differ: {plain(a['unet'])} vs {plain(b['unet'])}")
    va, vb = dict(a["vae"]), dict(b["vae"])
    if plain(va.pop("config")) != plain(vb.pop("config")) or va != vb:
        fail(f"model.json vae blocks differ: {a['vae']} vs {b['vae']}")
    if a["text_encoder"] != b["text_encoder"]:
        fail(f"model.json text_encoder blocks differ: {a['text_encoder']} vs {b['text_encoder']}")
    schedule = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type")
    if any(a["scheduler"][k] != b["scheduler"][k] for k in schedule):
        fail(f"noise schedules differ: {a['scheduler']} vs {b['scheduler']}")
    if a["tokenizer"] != b["tokenizer"]:
        fail(f"tokenizers differ: {a['tokenizer']} vs {b['tokenizer']}")
    out_a, out_b = traced_outputs(single), traced_outputs(folder)
    return {name: (out_a[name] - out_b[name]).abs().max().item() for name in out_a}


def same_tensors(m1, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    return s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)


def check_in_process(work, models, ema_models):
    ckpt, safe, yaml = work / "tiny.ckpt", work / "tiny.safetensors", work / "tiny.yaml"
    (u1, v1, t1, _), src1 = ldm_checkpoint.load(ckpt, yaml)
    (u2, v2, t2, _), src2 = ldm_checkpoint.load(safe, yaml)
    if not all(same_tensors(x, y) for x, y in ((u1, u2), (v1, v2), (t1, t2))):
        fail(".safetensors and .ckpt of the same weights convert to different tensors")
    if not all(same_tensors(x, y) for x, y in zip((u1, v1, t1), models)):
        fail("the converted modules are not the tensors the checkpoint was made from")
    if src2["sha256"] != sd_source.sha256(safe) or src2["kind"] != "single-file":
        fail(f"source record of the .safetensors: {src2}")
    ts.save_lightning_checkpoint(ldm_checkpoint.read_state_dict(ckpt), work / "lightning.ckpt")
    lightning = ldm_checkpoint.read_state_dict(work / "lightning.ckpt")
    plain_state = ldm_checkpoint.read_state_dict(ckpt)
    if lightning.keys() != plain_state.keys() or not all(torch.equal(lightning[k], plain_state[k]) for k in lightning):
        fail("a checkpoint with a pickled Lightning callback reads to other weights")
    ts.write_yaml(work / "tiny_ema.yaml", "tiny_clip", use_ema=True)
    (u3, _, _, _), src3 = ldm_checkpoint.load(ckpt, work / "tiny_ema.yaml")
    if not same_tensors(u3, ema_models[0]) or src3["unet_weights"] != "model_ema":
        fail("use_ema: true did not export the model_ema.* U-Net")
    if same_tensors(u3, u1):
        fail("negative control: the EMA and non-EMA U-Nets are equal, the EMA check proves nothing")


def check_sd15_architecture():
    """configs/sd/v1-inference.yaml + the shipped CLIP config = SD 1.5 (export_sd.sd15_configs), key for key."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    with torch.device("meta"):
        u, v, t = export_sd.sd15_configs()
        ref = (UNet2DConditionModel(**u), AutoencoderKL(**v),
               CLIPTextModel(CLIPTextConfig(**t, attn_implementation="eager")))
        state = ts.ldm_state_dict(ref)
        del state["betas"], state["alphas_cumprod"]  # no values on the meta device
        cfg = ldm_checkpoint.read_original_config(ldm_checkpoint.DEFAULT_YAML)
        (cu, cv, ct, schedule), _ = ldm_checkpoint.convert(Path("sd15-shapes"), state, cfg,
                                                           ldm_checkpoint.DEFAULT_YAML)
    norm = lambda c: {k: list(x) if isinstance(x, tuple) else x for k, x in plain(c).items()}
    for name, got, want in (("U-Net", cu, ref[0]), ("VAE", cv, ref[1])):
        if norm(got.config) != norm(want.config):
            fail(f"the shipped SD 1.x config makes another {name}: {norm(got.config)} vs {norm(want.config)}")
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "max_position_embeddings", "hidden_act", "layer_norm_eps"):
        if getattr(ct.config, key) != getattr(ref[2].config, key):
            fail(f"the shipped CLIP config's {key} is {getattr(ct.config, key)}, SD 1.5 has "
                 f"{getattr(ref[2].config, key)}")
    if schedule != export_sd.SD15_SCHEDULER:
        fail(f"the shipped SD 1.x config's schedule {schedule} is not SD 1.5's")


def main():
    start = time.time()
    work = Path(sys.argv[1]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    models, ema_models = ts.make_models(0), ts.make_models(1)
    ts.save_folder(models, work / "folder")
    state = ts.ldm_state_dict(models, ema_models)
    ts.save_checkpoint(state, work / "tiny.ckpt")
    ts.save_checkpoint(state, work / "tiny.safetensors")
    models[2].config.save_pretrained(work / "tiny_clip")
    ts.write_yaml(work / "tiny.yaml", "tiny_clip")
    bad = dict(state)
    key = "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight"
    bad[key] = bad[key] + 0.05 * torch.randn(bad[key].shape, generator=torch.Generator().manual_seed(7))
    ts.save_checkpoint(bad, work / "perturbed.ckpt")

    check_in_process(work, models, ema_models)
    check_sd15_architecture()
    print(f"in-process checks passed ({time.time() - start:.0f} s)")

    run_exports(work, ["--from", work / "tiny.ckpt", "--original-config", work / "tiny.yaml", work / "out_single"],
                ["--from", work / "folder", work / "out_folder"],
                ["--from", work / "perturbed.ckpt", "--original-config", work / "tiny.yaml", work / "out_perturbed"])
    source = json.loads((work / "out_single" / "model.json").read_text())["source"]
    if source["kind"] != "single-file" or source["sha256"] != sd_source.sha256(work / "tiny.ckpt") or \
            source["path"] != str(work / "tiny.ckpt"):
        fail(f"model.json source of the single-file export: {source}")

    diffs = compare_exports(work / "out_single", work / "out_folder")
    print("single file vs diffusers folder, max |diff|: " + ", ".join(f"{k} {v:.3g}" for k, v in diffs.items()))
    if max(diffs.values()) > TOLERANCE:
        fail(f"the single-file export differs from the folder's by more than {TOLERANCE}")
    control = compare_exports(work / "out_perturbed", work / "out_folder")
    print("negative control (one U-Net tensor perturbed): " +
          ", ".join(f"{k} {v:.3g}" for k, v in control.items()))
    if control["unet"] <= 1e-4:
        fail("negative control: a perturbed U-Net tensor was not detected")
    print(f"export_sd.py --from FILE: ok ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
