#!/usr/bin/env python3
"""The VAE's ceiling on pose accuracy: encode and decode the real held-out images of a demo run with the toy
base model's VAE (posterior mean), and score them next to the real images with `stablepose eval report` and
the toy detector, under the demo's protocol. No generated image can be read better than its decoder draws.

    scripts/toyworld/vae_roundtrip.py [--demo out/demo] [--model assets/toyworld/base_model]
                                      [--detector assets/toyworld/detector] [--out DEMO/vae_roundtrip]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--demo", default=str(ROOT / "out" / "demo"), help="a scripts/demo.sh run folder")
    p.add_argument("--model", default=str(ROOT / "assets" / "toyworld" / "base_model"))
    p.add_argument("--detector", default=str(ROOT / "assets" / "toyworld" / "detector"))
    p.add_argument("--stablepose", default=str(ROOT / "build" / "stablepose"))
    p.add_argument("--out", default=None, help="default: DEMO/vae_roundtrip")
    args = p.parse_args(argv)
    demo, model = Path(args.demo), Path(args.model)
    out = Path(args.out) if args.out else demo / "vae_roundtrip"
    real = demo / "real" / "manifest.jsonl"
    if not real.exists():
        sys.exit(f"vae_roundtrip: {real} is missing: run scripts/demo.sh (its 'real' manifest) first")
    scaling = json.loads((model / "model.json").read_text())["vae"]["scaling_factor"]
    encoder = torch.jit.load(str(model / "vae_encoder.pt"))
    decoder = torch.jit.load(str(model / "vae_decoder.pt"))
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, line in enumerate(real.read_text().splitlines()):
        entry = json.loads(line)
        bgr = cv2.imread(str(real.parent / entry["image"]), cv2.IMREAD_COLOR)
        if bgr is None:
            sys.exit(f"vae_roundtrip: cannot read {real.parent / entry['image']}")
        x = torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0)
        with torch.no_grad():
            moments = encoder(x.permute(2, 0, 1)[None])  # [1, 8, h, w]: mean, logvar
            y = decoder(moments[:, :moments.shape[1] // 2] * scaling)[0]
        rgb = ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        name = f"images/{i:05d}.png"
        cv2.imwrite(str(out / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        entry["image"] = name
        lines.append(json.dumps(entry))
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    cmd = [args.stablepose, "eval", "report", "--detector", args.detector, "--device", "cpu",
           "-o", str(out / "report"), "--run", f"real={real.parent}", "--run", f"vae_roundtrip={out}"]
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
