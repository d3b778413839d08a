"""Textures without anybody for the toy detector (docs/toyworld.md, "Textured negatives"): smeared
multi-colour noise like the backgrounds the small toy base model paints, used by train_detector.py's
--empty-texture / --texture-overlay options and to count the people a detector finds where there are none
(printed by tests/toyworld/detector_ap_test.py)."""
import cv2
import numpy as np
import torch

from detector_net import INPUT_HEIGHT


def texture(rng, h, w):
    """Smeared multi-colour noise like the backgrounds a small diffusion model paints (docs/toyworld.md, "What
    the surplus is"): a random base colour plus octaves of cubic-upsampled uniform noise on 2 to 32 cells
    (sometimes stretched into streaks), and pixel noise. float32 [H, W, 3] in [0, 1]. The detector trained
    without such images found 1.4 people per texture image on average."""
    x = np.zeros((h, w, 3), np.float32)
    for cells, amplitude in ((2, 0.5), (4, 0.35), (8, 0.25), (16, 0.15), (32, 0.08)):
        across = max(2, cells // 4) if rng.random() < 0.3 else cells
        field = rng.uniform(-1, 1, (cells, across, 3)).astype(np.float32)
        x += amplitude * rng.uniform(0.3, 1.0) * cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    x = rng.uniform(0, 1, 3).astype(np.float32) + x * rng.uniform(0.3, 0.8)
    x += rng.normal(0, rng.uniform(0.0, 0.05), x.shape).astype(np.float32)
    return np.clip(x, 0, 1)


def false_people_on_textures(module, count, seed):
    """People the detector finds on `count` texture images without anybody (seeded by `seed`): mean per image
    and the share of images with any."""
    rng = np.random.default_rng([seed, 7])
    found = []
    with torch.no_grad():
        for _ in range(count):
            image = np.rint(texture(rng, INPUT_HEIGHT, INPUT_HEIGHT) * 255).astype(np.uint8)
            found.append(int(module(torch.from_numpy(image))[1].numel()))
    return {"textures": count, "people_per_image": round(float(np.mean(found)), 4),
            "images_with_people": round(float(np.mean(np.array(found) > 0)), 4)}
