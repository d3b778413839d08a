"""The sources export_sd.py --from reads: a local diffusers SD 1.x folder or one checkpoint file in the original
LDM (CompVis) layout (ldm_checkpoint.py converts it). Everything a user can get wrong is checked here before
the slow tracing: the Python environment, the kind of model (SD 1.x, not SD 2.x or SDXL), missing components,
truncated downloads. A problem raises SourceError, which export_sd.py prints without a traceback."""
import hashlib
import importlib.metadata
import json
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "scripts" / "requirements.txt"
SD15_HINT = ("Stable-Pose is built on Stable Diffusion 1.5: export the diffusers folder of "
             "stable-diffusion-v1-5/stable-diffusion-v1-5, or its single file v1-5-pruned.ckpt / "
             "v1-5-pruned-emaonly.safetensors")
# SD 1.5's scheduler_config.json (stable-diffusion-v1-5), the schedule the U-Net was trained with.
SD15_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                  "beta_schedule": "scaled_linear", "prediction_type": "epsilon", "steps_offset": 1,
                  "set_alpha_to_one": False, "clip_sample": False}
SINGLE_FILE_SUFFIXES = (".ckpt", ".safetensors", ".pt", ".pth", ".bin")
# Weights file names per diffusers component, in the order diffusers / transformers prefer them.
WEIGHT_NAMES = {"unet": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"),
                "vae": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"),
                "text_encoder": ("model.safetensors", "pytorch_model.bin")}


class SourceError(Exception):
    """A source export_sd.py cannot use: what is wrong, what was expected, what was found and what to do."""

    def __init__(self, problem, expected="", found="", hint=""):
        lines = [problem] + [f"  {name:<9} {text}" for name, text in
                             (("expected:", expected), ("found:", found), ("hint:", hint)) if text]
        super().__init__("\n".join(lines))


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_version(package):
    for line in REQUIREMENTS.read_text().splitlines():
        if line.split("==")[0].strip().lower() == package:
            return line.split("==")[1].strip()
    raise SourceError(f"{REQUIREMENTS} pins no version of {package}")


def check_environment():
    """The interpreter runs the diffusers / transformers the project pins: the traced graphs are their code, and
    their single-file converters and config handling change between releases."""
    for package in ("diffusers", "transformers"):
        want = pinned_version(package)
        try:
            have = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            raise SourceError(f"this Python does not have the project's {package}",
                              expected=f"{package} {want} (scripts/requirements.txt)", found=f"{package} {have}",
                              hint="run the exporter with the project's environment: .venv/bin/python "
                                   "scripts/export_sd.py ... (scripts/setup.sh creates .venv)")


def check_weights_file(path):
    """A weights file that can be read to its end: catches half-finished downloads and Git LFS pointers before
    any library tries to parse them."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
    again = f"download {path.name} again (the copy is incomplete or damaged)"
    if head.startswith(b"version https://git-lfs"):
        raise SourceError(f"{path} is a Git LFS pointer, not the weights",
                          expected="the weights file", found=f"a {size}-byte text file naming an LFS object",
                          hint="run `git lfs pull` in the cloned repository, or download the file itself")
    if path.suffix == ".safetensors":
        _check_safetensors(path, size, head, again)
    elif head.startswith(b"PK\x03\x04"):  # torch.save's zip format
        try:
            with zipfile.ZipFile(path) as z:
                z.namelist()
        except (zipfile.BadZipFile, OSError) as e:
            raise SourceError(f"{path} is truncated or corrupt", expected="a complete PyTorch zip checkpoint",
                              found=f"{size} bytes that do not end in a zip directory ({e})", hint=again)
    elif not head.startswith(b"\x80"):  # neither zip nor the legacy pickle format
        raise SourceError(f"{path} is not a PyTorch checkpoint",
                          expected="a torch.save file (zip or pickle) or a .safetensors file",
                          found=f"a {size}-byte file starting with {head[:16]!r}", hint=again)


def _check_safetensors(path, size, head, again):
    header_len = int.from_bytes(head[:8], "little") if len(head) >= 8 else None
    if header_len is None or header_len > size - 8:
        raise SourceError(f"{path} is truncated or corrupt", expected="a safetensors header",
                          found=f"{size} bytes" + ("" if header_len is None else f", the header length field "
                                                   f"says {header_len} bytes"), hint=again)
    try:
        with open(path, "rb") as f:
            f.seek(8)
            header = json.loads(f.read(header_len))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise SourceError(f"{path} is corrupt", expected="a safetensors JSON header",
                          found=f"an unreadable header ({e})", hint=again)
    if 8 + header_len + end > size:
        raise SourceError(f"{path} is truncated", expected=f"{8 + header_len + end} bytes (from its header)",
                          found=f"{size} bytes", hint=again)


def not_sd1(what, kind, found, expected="Stable Diffusion 1.x (U-Net cross_attention_dim 768, CLIP ViT-L/14)"):
    return SourceError(f"{what} is {kind}, not Stable Diffusion 1.x", expected=expected, found=found,
                       hint=SD15_HINT)


def _version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SourceError(f"{path} cannot be read", expected="a JSON config", found=str(e),
                          hint="download the folder again")


def find_weights(folder, component):
    """(file name, variant) of a component's weights, a single file or a sharded index; every file checked."""
    names = WEIGHT_NAMES[component]
    for variant in (None, "fp16"):
        for name in names:
            name = name if variant is None else name.replace(".", f".{variant}.", 1)
            for candidate in (name, name + ".index.json"):
                if (folder / candidate).exists():
                    if candidate.endswith(".index.json"):
                        shards = sorted(set(read_json(folder / candidate).get("weight_map", {}).values()))
                        for shard in shards:
                            if not (folder / shard).exists():
                                raise SourceError(f"{folder / candidate} lists a shard that is missing",
                                                  expected=f"{folder / shard}", found="no such file",
                                                  hint="download the missing shard")
                            check_weights_file(folder / shard)
                    else:
                        check_weights_file(folder / candidate)
                    return candidate, variant
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    raise SourceError(f"{folder} has no weights file", expected=f"{names[0]} (or {names[1]})",
                      found=", ".join(present) or "an empty folder",
                      hint="download the component's weights into the folder (a partial download can leave "
                           "only the config)")


def check_folder(src):
    """The diffusers folder is SD 1.x, complete and readable; returns each component's weights variant."""
    index = read_json(src / "model_index.json") if (src / "model_index.json").exists() else {}
    if "text_encoder_2" in index or (src / "text_encoder_2").is_dir() or "XL" in str(index.get("_class_name")):
        raise not_sd1(str(src), "an SDXL pipeline", found=f"{index.get('_class_name', 'a folder')} with a second "
                      "text encoder (text_encoder_2/)")
    missing = [c for c in ("unet", "vae", "text_encoder") if not (src / c / "config.json").exists()]
    if missing:
        raise SourceError(f"{src} is not a complete diffusers Stable Diffusion folder",
                          expected="unet/, vae/ and text_encoder/, each with config.json and weights "
                                   "(tokenizer/ and scheduler/ are read when present)",
                          found="missing: " + ", ".join(f"{c}/" if not (src / c).is_dir() else f"{c}/config.json"
                                                         for c in missing),
                          hint="download the whole pipeline folder (model_index.json, unet/, vae/, text_encoder/, "
                               "tokenizer/, scheduler/), or pass a single .ckpt / .safetensors file")
    configs = {c: read_json(src / c / "config.json") for c in ("unet", "vae", "text_encoder")}
    scheduler = src / "scheduler" / "scheduler_config.json"
    if scheduler.exists():
        configs["scheduler"] = read_json(scheduler)
    installed = importlib.metadata.version("diffusers")
    for name, cfg in [("model_index.json", index)] + [(f"{c}/config.json", v) for c, v in configs.items()]:
        saved = cfg.get("_diffusers_version")
        if saved and _version_tuple(saved) > _version_tuple(installed):
            raise SourceError(f"{src / name} was written by a newer diffusers than this one",
                              expected=f"_diffusers_version {installed} or older (the project's diffusers)",
                              found=f"_diffusers_version {saved}",
                              hint="a newer library can add config keys that this one would ignore silently: "
                                   "use a folder saved by diffusers <= " + installed + ", or the model's single "
                                   ".ckpt / .safetensors file")
    unet, text = configs["unet"], configs["text_encoder"]
    found_unet = (f"unet/config.json: cross_attention_dim {unet.get('cross_attention_dim')}, addition_embed_type "
                  f"{unet.get('addition_embed_type')}")
    if unet.get("addition_embed_type") == "text_time" or unet.get("cross_attention_dim") in (1280, 2048):
        raise not_sd1(str(src), "an SDXL model", found=found_unet)
    if unet.get("cross_attention_dim") == 1024 or text.get("hidden_size") == 1024:
        raise not_sd1(str(src), "a Stable Diffusion 2.x model (OpenCLIP ViT-H/14 text encoder)",
                      found=f"{found_unet}; text_encoder hidden_size {text.get('hidden_size')}")
    if configs.get("scheduler", {}).get("prediction_type") == "v_prediction":
        raise not_sd1(str(src), "a v-prediction model (SD 2.x 768-v)", expected="prediction_type epsilon",
                      found="scheduler/scheduler_config.json: prediction_type v_prediction")
    if unet.get("in_channels", 4) != 4:
        raise not_sd1(str(src), "an inpainting / image-conditioned U-Net", expected="in_channels 4",
                      found=f"unet/config.json: in_channels {unet.get('in_channels')}")
    if unet.get("cross_attention_dim") != text.get("hidden_size"):
        raise SourceError(f"{src}: the U-Net and the text encoder do not belong together",
                          expected="unet cross_attention_dim = text_encoder hidden_size",
                          found=f"{unet.get('cross_attention_dim')} and {text.get('hidden_size')}", hint=SD15_HINT)
    return {c: find_weights(src / c, c)[1] for c in ("unet", "vae", "text_encoder")}


def _from_pretrained(cls, src, component, variant, **kwargs):
    try:
        return cls.from_pretrained(src, subfolder=component, variant=variant, local_files_only=True, **kwargs)
    except Exception as e:  # a library's own error text, kept, without its traceback
        raise SourceError(f"{src / component} could not be loaded", expected=f"a diffusers {cls.__name__}",
                          found=f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}",
                          hint="download the component again") from None


def load_folder(src):
    """(unet, vae, text, scheduler config), source record."""
    variants = check_folder(src)
    from diffusers import AutoencoderKL, UNet2DConditionModel  # after the checks: a slow import
    from transformers import CLIPTextModel

    unet = _from_pretrained(UNet2DConditionModel, src, "unet", variants["unet"])
    vae = _from_pretrained(AutoencoderKL, src, "vae", variants["vae"])
    text = _from_pretrained(CLIPTextModel, src, "text_encoder", variants["text_encoder"],
                            attn_implementation="eager")
    scheduler_file = src / "scheduler" / "scheduler_config.json"
    if scheduler_file.exists():
        scheduler = read_json(scheduler_file)
    else:
        print(f"note: {src} has no scheduler/scheduler_config.json; recording SD 1.5's noise schedule")
        scheduler = dict(SD15_SCHEDULER)
    if not any((src / "tokenizer" / f).exists() for f in ("vocab.json", "tokenizer.json")):
        print(f"note: {src} has no tokenizer/vocab.json or tokenizer.json; using the vendored CLIP BPE vocabulary "
              "(SD 1.x's)")
    source = dict(kind="pretrained", path=str(src), seed=None)
    if any(variants.values()):
        source["variants"] = variants
    return (unet, vae, text, scheduler), source


def load(path, original_config=None):
    """The models and model.json's source record for --from PATH (a folder or a single checkpoint file)."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"--from {path}: no such file or folder",
                          expected="a diffusers SD 1.x folder or a .ckpt / .safetensors file",
                          found="nothing at that path", hint="check the path")
    if path.is_dir():
        if original_config:
            raise SourceError("--original-config describes a single checkpoint file, not a diffusers folder",
                              expected="--from FILE.ckpt / FILE.safetensors with --original-config",
                              found=f"--from {path} (a folder)",
                              hint="drop --original-config: a diffusers folder has its own config.json files")
        return load_folder(path)
    if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
        raise SourceError(f"--from {path}: not a checkpoint file",
                          expected="a folder, or a file ending in " + " / ".join(SINGLE_FILE_SUFFIXES),
                          found=f"a file ending in '{path.suffix}'", hint="pass the model's weights file")
    import ldm_checkpoint
    return ldm_checkpoint.load(path, original_config)
