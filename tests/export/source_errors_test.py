#!/usr/bin/env python3
"""export_sd.py --from refuses what users get wrong, with a message instead of a traceback.

    source_errors_test.py WORK_DIR

Each case makes one wrong source from the tiny SD 1.x (an SD 2.x or SDXL model, a missing component, a
half-downloaded file, a folder from a newer diffusers, the wrong Python environment, ...), runs export_sd.py on
it and asserts: a non-zero exit, no "Traceback" on stderr, the key words of the message (what is wrong, what was
expected, what to do), and no output folder left behind (the checks run before anything is written).
"""
import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

import tiny_sources as ts
from tiny_sources import REPO


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def edit_json(path, **changes):
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg))


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


class Cases:
    """Builds the wrong sources under WORK_DIR; each case: name, export_sd.py arguments, extra environment,
    the words its message must contain."""

    def __init__(self, work):
        self.work = work
        self.models = ts.make_models(0)
        ts.save_folder(self.models, work / "good_folder")
        self.state = ts.ldm_state_dict(self.models)
        self.models[2].config.save_pretrained(work / "tiny_clip")
        ts.write_yaml(work / "tiny.yaml", "tiny_clip")
        self.list = []

    def folder(self, name, change):
        path = self.work / name
        shutil.copytree(self.work / "good_folder", path)
        change(path)
        return path

    def single(self, name, state):
        path = self.work / name
        ts.save_checkpoint(state, path)
        return path

    def add(self, name, args, words, env=None):
        self.list.append((name, [str(a) for a in args], words, env or {}))


def build_cases(work):
    c = Cases(work)
    sd2 = lambda p: edit_json(p / "unet" / "config.json", cross_attention_dim=1024)
    c.add("SD 2.x folder", ["--from", c.folder("sd2", sd2)],
          ["Stable Diffusion 2.x", "not Stable Diffusion 1.x", "cross_attention_dim 1024", "Stable Diffusion 1.5"])

    def sdxl(p):
        (p / "text_encoder_2").mkdir()
        edit_json(p / "unet" / "config.json", addition_embed_type="text_time")
    c.add("SDXL folder", ["--from", c.folder("sdxl", sdxl)], ["SDXL", "text_encoder_2", "Stable Diffusion 1.5"])
    vpred = lambda p: edit_json(p / "scheduler" / "scheduler_config.json", prediction_type="v_prediction")
    c.add("v-prediction folder", ["--from", c.folder("vpred", vpred)], ["v-prediction", "v_prediction", "epsilon"])
    c.add("no vae/", ["--from", c.folder("no_vae", lambda p: shutil.rmtree(p / "vae"))],
          ["not a complete diffusers", "missing: vae/", "download the whole pipeline folder", "expected: "])
    no_weights = lambda p: (p / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    c.add("no U-Net weights", ["--from", c.folder("no_unet_weights", no_weights)],
          ["unet has no weights file", "diffusion_pytorch_model.safetensors", "config.json", "download"])
    cut = lambda p: truncate(p / "unet" / "diffusion_pytorch_model.safetensors")
    c.add("truncated folder .safetensors", ["--from", c.folder("cut_unet", cut)],
          ["diffusion_pytorch_model.safetensors is truncated", "bytes", "download"])

    def cut_bin(p):  # older pipelines ship torch.save'd pytorch_model.bin files
        (p / "text_encoder" / "model.safetensors").unlink()
        torch.save(c.models[2].state_dict(), p / "text_encoder" / "pytorch_model.bin")
        truncate(p / "text_encoder" / "pytorch_model.bin")
    c.add("truncated folder .bin", ["--from", c.folder("cut_text_bin", cut_bin)],
          ["pytorch_model.bin is truncated or corrupt", "download pytorch_model.bin again"])
    newer = lambda p: edit_json(p / "unet" / "config.json", _diffusers_version="9.1.0")
    c.add("folder from a newer diffusers", ["--from", c.folder("newer", newer)],
          ["newer diffusers", "_diffusers_version 9.1.0", "0.42.1"])
    fake = work / "other_python" / "diffusers-0.30.0.dist-info"
    fake.mkdir(parents=True)
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: diffusers\nVersion: 0.30.0\n")
    c.add("another diffusers in the interpreter", ["--from", work / "good_folder"],
          ["does not have the project's diffusers", "diffusers 0.42.1", "diffusers 0.30.0", ".venv/bin/python"],
          env={"PYTHONPATH": str(fake.parent)})

    prefix = "cond_stage_model.transformer."
    c.add("SD 2.x single file", ["--from", c.single("sd2.safetensors", {
        k.replace(prefix, "cond_stage_model.model.") if k.startswith(prefix) else k: v for k, v in c.state.items()})],
          ["Stable Diffusion 2.x", "cond_stage_model.model", "OpenCLIP", "v1-5-pruned"])
    sdxl_key = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"
    c.add("SDXL single file", ["--from", c.single("sdxl.ckpt", dict(c.state, **{sdxl_key: c.state["betas"]}))],
          ["SDXL", "conditioner.embedders", "Stable Diffusion 1.5"])
    no_vae = {k: v for k, v in c.state.items() if not k.startswith("first_stage_model.")}
    c.add("single file without VAE", ["--from", c.single("no_vae.ckpt", no_vae), "--original-config",
                                      work / "tiny.yaml"], ["no VAE weights", "first_stage_model", "complete"])
    vae_only = {k[len("first_stage_model."):]: v for k, v in c.state.items() if k.startswith("first_stage_model.")}
    c.add("a VAE file", ["--from", c.single("vae.safetensors", vae_only)],
          ["holds no Stable Diffusion U-Net", "a VAE alone", "model.diffusion_model"])
    truncate(c.single("cut.safetensors", c.state))
    c.add("truncated single .safetensors", ["--from", work / "cut.safetensors"],
          ["cut.safetensors is truncated", "download cut.safetensors again"])
    truncate(c.single("cut.ckpt", c.state))
    c.add("truncated single .ckpt", ["--from", work / "cut.ckpt"],
          ["cut.ckpt is truncated or corrupt", "zip", "download cut.ckpt again"])
    (work / "pointer.ckpt").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 7703807346\n")
    c.add("Git LFS pointer", ["--from", work / "pointer.ckpt"], ["Git LFS pointer", "git lfs pull"])
    torch.save({"state_dict": c.state, "hyper_parameters": argparse.Namespace(lr=1e-5)}, work / "objects.ckpt")
    c.add("checkpoint with Python objects", ["--from", work / "objects.ckpt"],
          ["Python objects besides tensors", "argparse.Namespace", "state_dict", ".safetensors"])
    ts.write_yaml(work / "vpred.yaml", "tiny_clip", parameterization="v")
    c.add("v-prediction config", ["--from", c.single("good.ckpt", c.state), "--original-config", work / "vpred.yaml"],
          ["v-prediction", "parameterization eps", "Stable Diffusion 1.5"])
    c.add("tiny file with the SD 1.x config", ["--from", work / "good.ckpt"],
          ["do not fit the architecture of", "v1-inference.yaml", "of another shape", "--original-config"])
    c.add("--original-config with a folder", ["--from", work / "good_folder", "--original-config", work / "tiny.yaml"],
          ["describes a single checkpoint file", "drop --original-config"])
    c.add("no such path", ["--from", work / "nowhere"], ["no such file or folder", "check the path"])
    return c.list


def run_case(work, index, case):
    import os
    name, args, words, env = case
    out = work / f"out_{index}"
    cmd = [sys.executable, str(REPO / "scripts" / "export_sd.py"), *args, str(out), "--image-size", "64"]
    full_env = dict(ts.offline_env(work), OMP_NUM_THREADS="1")
    if "PYTHONPATH" in env:
        full_env["PYTHONPATH"] = env["PYTHONPATH"] + os.pathsep + full_env["PYTHONPATH"]
    result = subprocess.run(cmd, env=full_env, capture_output=True, text=True)
    problems = []
    if result.returncode == 0:
        problems.append("exit status 0")
    if "Traceback" in result.stderr:
        problems.append("a Python traceback on stderr")
    problems += [f"no {w!r} in the message" for w in words if w not in result.stderr]
    if out.exists():
        problems.append(f"{out} was created")
    return name, problems, result.stderr.strip()


def main():
    start = time.time()
    work = Path(sys.argv[1]).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cases = build_cases(work)
    with ThreadPoolExecutor(max_workers=2) as pool:  # each case is mostly Python start-up
        results = list(pool.map(lambda ic: run_case(work, *ic), enumerate(cases)))
    failed = 0
    for name, problems, message in results:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}" + (f": {'; '.join(problems)}" if problems else ""))
        if problems:
            failed += 1
            print("     " + message.replace("\n", "\n     "))
    if failed:
        fail(f"{failed} of {len(results)} cases")
    print(f"export_sd.py --from errors: {len(results)} cases ok ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
