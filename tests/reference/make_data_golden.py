#!/usr/bin/env python3
"""Reference data for the C++ data tests (tests/data/*_test.cpp), written by the libraries that define it.

- Pose .npz files written by numpy as HumanSD's MMPose pipeline wrote them (np.savez of an object array of
  result dicts: float32 keypoints 17x3, score, area): the numpy 1.x form (pickle protocol 3, module
  numpy.core.multiarray), numpy 2's own np.savez / np.savez_compressed (protocol 4, numpy._core), the empty
  file np.savez(path, []) writes, float64 and Fortran-ordered keypoints; hostile pickles that must be refused.
- A small dataset in each supported format (HumanSD mapping + npz, Human-Art COCO JSON, JSONL manifest),
  with images written by cv2 and the expected samples.
- The geometric and colour transforms of albumentations 1.3.0 (the functions the official loader calls,
  transcribed below with cv2/numpy) on fixed parameters, and the official loader's pose semantics (§11.3).

Usage: make_data_golden.py OUT_DIR   (writes OUT_DIR/data/...; deterministic apart from zip timestamps)
"""
import io
import json
import pickle
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import save_file

COCO_FLIP_PAIRS = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]


# ---------------------------------------------------------------------------------------------------------
# Pose .npz files
# ---------------------------------------------------------------------------------------------------------

def mmpose_people(rng, count, width=640, height=480):
    """MMPose bottom-up results: keypoints float32 (17, 3), score and area float32 scalars."""
    people = []
    for _ in range(count):
        k = np.empty((17, 3), np.float32)
        k[:, 0] = rng.uniform(-20, width + 20, 17)  # a few joints outside the image, as detectors produce
        k[:, 1] = rng.uniform(-20, height + 20, 17)
        k[:, 2] = rng.uniform(0, 1, 17)
        people.append({"keypoints": k, "score": np.float32(rng.uniform()), "area": np.float32(rng.uniform(1, 1e5))})
    return people


def object_array(people):
    arr = np.empty(len(people), dtype=object)
    for i, person in enumerate(people):
        arr[i] = person
    return arr


def numpy1_npy(arr):
    """The .npy numpy 1.x wrote for an object array: pickle protocol 3 under the module numpy.core.multiarray."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(arr))
    if arr.dtype == object:
        buf.write(pickle.dumps(arr, protocol=3).replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    else:
        buf.write(arr.tobytes())
    return buf.getvalue()


def write_zip(path, npy, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr("arr_0.npy", npy)


def object_npy_with_pickle(pickle_bytes, count=1):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (count,)})
    return header.getvalue() + pickle_bytes


class Evil:
    def __init__(self, module_call):
        self.call = module_call

    def __reduce__(self):
        return self.call, ("echo refused",)


def make_npz(out):
    d = out / "npz"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    tensors = {}
    for count in (0, 1, 9, 40):
        people = mmpose_people(rng, count)
        arr = np.array(people) if count else np.array([])  # exactly what np.savez(path, results) stores
        tensors[f"keypoints_p{count}"] = torch.from_numpy(np.stack([p["keypoints"] for p in people]) if count
                                                          else np.zeros((0, 17, 3), np.float32))
        tensors[f"score_p{count}"] = torch.tensor([float(p["score"]) for p in people], dtype=torch.float32)
        tensors[f"area_p{count}"] = torch.tensor([float(p["area"]) for p in people], dtype=torch.float32)
        write_zip(d / f"humansd_p{count}.npz", numpy1_npy(arr))
        (d / f"humansd_p{count}.npy").write_bytes(numpy1_npy(arr))  # the writer must produce these bytes
        np.savez(d / f"savez_p{count}.npz", arr)
        np.savez_compressed(d / f"compressed_p{count}.npz", arr)
        write_zip(d / f"deflate_p{count}.npz", numpy1_npy(arr), zipfile.ZIP_DEFLATED)

    people = mmpose_people(rng, 2)
    tensors["keypoints_variants"] = torch.from_numpy(np.stack([p["keypoints"] for p in people]))
    f64 = [dict(p, keypoints=p["keypoints"].astype(np.float64), score=np.float64(p["score"])) for p in people]
    np.savez(d / "float64_p2.npz", object_array(f64))
    fortran = [dict(p, keypoints=np.asfortranarray(p["keypoints"])) for p in people]
    assert np.isfortran(fortran[0]["keypoints"])
    write_zip(d / "fortran_p2.npz", numpy1_npy(object_array(fortran)))
    no_score = [{"keypoints": p["keypoints"]} for p in people]
    write_zip(d / "keypoints_only_p2.npz", numpy1_npy(object_array(no_score)))
    save_file(tensors, str(d / "expected.safetensors"))

    # Hostile or malformed files and a fragment of the message each must produce.
    import os
    import builtins
    good = numpy1_npy(object_array(mmpose_people(rng, 1)))
    pickle_start = good.index(b"\x80\x03")
    hostile = {
        "os_system.npz": (object_npy_with_pickle(pickle.dumps(object_array([Evil(os.system)]), protocol=3)),
                          "GLOBAL 'posix.system' is not allowed"),
        "eval.npz": (object_npy_with_pickle(pickle.dumps(object_array([{"keypoints": Evil(builtins.eval)}]),
                                                         protocol=3)), "GLOBAL 'builtins.eval' is not allowed"),
        "binfloat.npz": (object_npy_with_pickle(pickle.dumps(object_array([{"keypoints": 1.5}]), protocol=3)),
                         "opcode BINFLOAT"),
        "set.npz": (object_npy_with_pickle(pickle.dumps(object_array([{"keypoints": set()}]), protocol=4)),
                    "opcode EMPTY_SET"),
        "truncated.npz": (good[:pickle_start + (len(good) - pickle_start) // 2], "truncated"),
        "no_stop.npz": (good[:-1], "ends without STOP"),
        "keypoints_16.npz": (numpy1_npy(object_array([{"keypoints": np.zeros((16, 3), np.float32)}])),
                             "shape (17, 3)"),
        "keypoints_17x2.npz": (numpy1_npy(object_array([{"keypoints": np.zeros((17, 2), np.float32)}])),
                               "shape (17, 3)"),
        "keypoints_int.npz": (numpy1_npy(object_array([{"keypoints": np.zeros((17, 3), np.int32)}])),
                              "dtype not supported"),
        "not_a_dict.npz": (numpy1_npy(object_array([[1, 2]])), "is not a dict"),
        "dense_float.npz": (numpy1_npy(np.zeros((2, 17, 3), np.float32)), "not an object array"),
        "big_endian.npz": (numpy1_npy(object_array([{"keypoints": np.zeros((17, 3), ">f4")}])), "byte order"),
    }
    for name, (npy, _) in hostile.items():
        write_zip(d / name, npy)
    zipfile.ZipFile(d / "no_arr0.npz", "w").writestr("poses.npy", good)
    hostile["no_arr0.npz"] = (None, "no member 'arr_0.npy'")
    (d / "hostile.json").write_text(json.dumps({k: v[1] for k, v in hostile.items()}, indent=1))
    # Sanity: numpy itself still loads what we call valid and the pickles really are hostile.
    assert len(np.load(d / "humansd_p9.npz", allow_pickle=True)["arr_0"]) == 9


# ---------------------------------------------------------------------------------------------------------
# A small dataset in each format
# ---------------------------------------------------------------------------------------------------------

def test_image(rng, height, width):
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 255 // max(width - 1, 1)), (yy * 255 // max(height - 1, 1)), (xx + yy) % 256], -1)
    img = (img + rng.integers(0, 40, img.shape)).clip(0, 255).astype(np.uint8)
    return img  # RGB


def write_rgb(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def make_datasets(out):
    root = out / "datasets"
    rng = np.random.default_rng(7)
    expected = {"humansd": [], "coco": [], "jsonl": []}
    tensors = {}

    # HumanSD: keys deliberately not sorted; the mapping's order is the sample order.
    base = root / "humansd"
    mapping = {}
    for i, (key, scenario, size, count) in enumerate(
            [("1000000000303", "cartoon", (96, 128), 2), ("00000_000000000", "dance", (120, 80), 0),
             ("0999", "oil_painting", (64, 64), 1)]):
        img_rel, pose_rel = f"images/real_human/{scenario}/{key}.png", f"pose/real_human/{scenario}/{key}.npz"
        write_rgb(base / img_rel, test_image(rng, *size))
        people = mmpose_people(rng, count, size[1], size[0])
        (base / pose_rel).parent.mkdir(parents=True, exist_ok=True)
        np.savez(base / pose_rel, np.array(people) if count else np.array([]))
        mapping[key] = {"img_path": img_rel, "pose_path": pose_rel, "prompt": f"{scenario}, sample {i}"}
        tensors[f"humansd_{i}"] = torch.from_numpy(np.stack([p["keypoints"] for p in people]) if count
                                                   else np.zeros((0, 17, 3), np.float32))
        expected["humansd"].append({"id": key, "image": img_rel, "pose": pose_rel, "caption": mapping[key]["prompt"],
                                    "people": count})
    (base / "mapping_file_training.json").write_text(json.dumps(mapping, indent=1))

    # Human-Art COCO: annotations/ beside images/; v in {0, 1, 2}.
    base = root / "humanart"
    images, annotations = [], []
    for i, (image_id, size, count) in enumerate([(17, (100, 150), 2), (3, (90, 60), 1), (5, (64, 64), 0)]):
        file_name = f"images/2D_virtual_human/cartoon/{image_id:012d}.png"
        write_rgb(base / file_name, test_image(rng, *size))
        images.append({"file_name": file_name, "height": size[0], "width": size[1], "id": image_id,
                       "page_url": "", "image_url": "", "picture_name": "", "author": "",
                       "description": f"a cartoon of {count} people", "category": "cartoon"})
        expect = np.full((count, 17, 3), -1.0, np.float32)
        expect[:, :, 2] = 0
        for p in range(count):
            kp = []
            for j in range(17):
                v = int(rng.integers(0, 3))
                x, y = (round(float(rng.uniform(0, size[1])), 2), round(float(rng.uniform(0, size[0])), 2)) if v else (0, 0)
                kp += [x, y, v]
                if v:
                    expect[p, j] = (x, y, 1.0)
            annotations.append({"keypoints": kp, "num_keypoints": sum(1 for v in kp[2::3] if v), "iscrowd": 0,
                                "image_id": image_id, "area": 100.0, "bbox": [0, 0, 10, 10], "category_id": 1,
                                "id": 1000 + len(annotations)})
        tensors[f"coco_{image_id}"] = torch.from_numpy(expect)
        expected["coco"].append({"id": str(image_id), "image": file_name, "caption": images[-1]["description"],
                                 "scenario": "cartoon", "width": size[1], "height": size[0], "people": count})
    (base / "annotations").mkdir(parents=True, exist_ok=True)
    (base / "annotations" / "training_humanart_cartoon.json").write_text(
        json.dumps({"info": {}, "images": images, "annotations": annotations, "categories": []}))

    # JSONL manifest with a blank line and a missing joint.
    base = root / "manifest"
    lines = []
    for i, (size, count) in enumerate([((80, 64), 1), ((64, 100), 3)]):
        rel = f"photos/{i}.png"
        write_rgb(base / rel, test_image(rng, *size))
        people = np.round(rng.uniform(0, 60, (count, 17, 3)), 3).astype(np.float32)
        people[:, :, 2] = np.round(rng.uniform(0, 1, (count, 17)), 3)
        people[0, 4] = (-1, -1, 0)
        lines.append(json.dumps({"image": rel, "caption": f"person {i}", "people": people.tolist()}))
        tensors[f"jsonl_{i}"] = torch.from_numpy(people)
        expected["jsonl"].append({"image": rel, "caption": f"person {i}", "people": count})
    (base / "manifest.jsonl").write_text(lines[0] + "\n\n" + lines[1] + "\n")
    (root / "expected.json").write_text(json.dumps(expected, indent=1))
    save_file(tensors, str(root / "expected.safetensors"))


# ---------------------------------------------------------------------------------------------------------
# albumentations 1.3.0, transcribed (augmentations/geometric/functional.py, crops/functional.py, functional.py)
# ---------------------------------------------------------------------------------------------------------

def py3round(number):
    if abs(round(number) - number) == 0.5:
        return int(2.0 * round(number / 2.0))
    return int(round(number))


def alb_geometry(img, points, c):
    """HorizontalFlip, Rotate, SmallestMaxSize(INTER_AREA), RandomCrop/CenterCrop with keypoints filtered after
    every transform (KeypointParams remove_invisible=True, check_each_transform=True)."""
    pts = np.asarray(points, np.float64).copy()
    kept = np.ones(len(pts), bool)

    def filter_(image):
        h, w = image.shape[:2]
        kept[:] &= (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)

    filter_(img)
    if c["flip"]:
        img = cv2.flip(img, 1)  # hflip_cv2
        pts[:, 0] = (img.shape[1] - 1) - pts[:, 0]  # keypoint_hflip
        filter_(img)
    if c["rotate"]:
        h, w = img.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), c["angle"], 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        mk = cv2.getRotationMatrix2D(((w - 1) * 0.5, (h - 1) * 0.5), c["angle"], 1.0)
        for i in range(len(pts)):
            pts[i] = cv2.transform(np.array([[pts[i]]]), mk).squeeze()
        filter_(img)
    h, w = img.shape[:2]
    if c["width"] == c["height"]:
        scale = c["width"] / float(min(w, h))  # SmallestMaxSize(max_size)
    else:
        scale = max(c["width"] / w, c["height"] / h)  # our generalisation to a non-square training size
    if scale != 1.0:
        img = cv2.resize(img, (py3round(w * scale), py3round(h * scale)), interpolation=cv2.INTER_AREA)
        pts *= scale
        filter_(img)
    h, w = img.shape[:2]
    if c["centre"]:
        x1, y1 = (w - c["width"]) // 2, (h - c["height"]) // 2  # CenterCrop
    else:
        y1 = int((h - c["height"] + 1) * c["crop_y"])
        x1 = int((w - c["width"] + 1) * c["crop_x"])
    img = img[y1:y1 + c["height"], x1:x1 + c["width"]]
    pts -= (x1, y1)
    filter_(img)
    return np.ascontiguousarray(img), pts, kept


def alb_colour(img, c):
    if c["colour"] == "hsv":
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hue, sat, val = cv2.split(hsv)
        hue = cv2.LUT(hue, np.mod(np.arange(0, 256, dtype=np.int16) + c["hue"], 180).astype(np.uint8))
        sat = cv2.LUT(sat, np.clip(np.arange(0, 256, dtype=np.int16) + c["sat"], 0, 255).astype(np.uint8))
        val = cv2.LUT(val, np.clip(np.arange(0, 256, dtype=np.int16) + c["val"], 0, 255).astype(np.uint8))
        img = cv2.cvtColor(cv2.merge((hue, sat, val)).astype(np.uint8), cv2.COLOR_HSV2RGB)
    elif c["colour"] == "rgb":
        out = np.empty_like(img)
        for i, shift in enumerate((c["r"], c["g"], c["b"])):
            lut = np.arange(0, 256).astype("float32")
            lut += shift
            out[..., i] = cv2.LUT(img[..., i], np.clip(lut, 0, 255).astype(np.uint8))
        img = out
    if c["bc"]:
        lut = np.arange(0, 256).astype("float32")
        lut *= c["alpha"]
        lut += c["beta"] * 255
        img = cv2.LUT(img, np.clip(lut, 0, 255).astype(np.uint8))
    return img


def official_pose(people, width, height, transform, swap):
    """dataset_pose.py: out-of-image joints to (0, 0) before, (-1, -1, 0) unless kept and conf > 0.02 after."""
    pts = np.zeros((10 * 17, 2))
    for p, person in enumerate(people[:10]):
        for j, (x, y, _) in enumerate(person):
            if 0 <= x < width and 0 <= y < height:
                pts[p * 17 + j] = (x, y)
    moved, kept = transform(pts)
    out = np.full((10, 17, 3), -1.0, np.float32)
    out[:, :, 2] = 0
    perm = list(range(17))
    if swap:
        for l, r in COCO_FLIP_PAIRS:
            perm[l], perm[r] = r, l
    for p, person in enumerate(people[:10]):
        for j in range(17):
            src = perm[j]
            if kept[p * 17 + src] and person[src][2] > 0.02:
                out[p, j] = (moved[p * 17 + src][0], moved[p * 17 + src][1], person[src][2])
    return out


def make_transforms(out):
    d = out / "transforms"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    sizes = [(150, 200), (260, 150), (257, 333), (64, 64)]
    cases = [
        dict(image=0, width=128, height=128, flip=False, rotate=False, angle=0, centre=True, crop_x=0, crop_y=0,
             colour="none", bc=False),
        dict(image=0, width=128, height=128, flip=True, rotate=False, angle=0, centre=False, crop_x=0.73, crop_y=0.2,
             colour="hsv", hue=-13.7, sat=21.2, val=-7.9, bc=False),
        dict(image=1, width=128, height=128, flip=False, rotate=True, angle=37.25, centre=False, crop_x=0.1,
             crop_y=0.999, colour="rgb", r=12.6, g=-19.4, b=3.3, bc=True, alpha=1.13, beta=-0.07),
        dict(image=2, width=192, height=128, flip=True, rotate=True, angle=-81.5, centre=False, crop_x=0.5,
             crop_y=0.31, colour="none", bc=True, alpha=0.85, beta=0.15),
        dict(image=2, width=128, height=256, flip=False, rotate=True, angle=90.0, centre=True, crop_x=0, crop_y=0,
             colour="hsv", hue=19.99, sat=-30, val=20, bc=False),
        dict(image=3, width=64, height=64, flip=True, rotate=False, angle=0, centre=False, crop_x=0.9, crop_y=0.9,
             colour="none", bc=False),
    ]
    tensors = {}
    for i, (h, w) in enumerate(sizes):
        write_rgb(d / f"image_{i}.png", test_image(rng, h, w))
    for n, c in enumerate(cases):
        for k in ("hue", "sat", "val", "r", "g", "b", "alpha", "beta"):
            c.setdefault(k, 0.0 if k != "alpha" else 1.0)
        rgb = cv2.cvtColor(cv2.imread(str(d / f"image_{c['image']}.png")), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        points = np.concatenate([rng.uniform((0, 0), (w, h), (60, 2)),
                                 [[0, 0], [w - 1, h - 1], [w - 0.5, 3], [2, h - 0.25], [w / 2, h / 2]]])
        geo, moved, kept = alb_geometry(rgb, points, c)
        write_rgb(d / f"case_{n}_geometry.png", geo)
        write_rgb(d / f"case_{n}_colour.png", alb_colour(geo, c))
        tensors[f"case_{n}.points"] = torch.from_numpy(points)
        tensors[f"case_{n}.moved"] = torch.from_numpy(moved)
        tensors[f"case_{n}.kept"] = torch.from_numpy(kept.astype(np.uint8))
        # The loader's pose: people with out-of-image joints and low confidences; both flip behaviours.
        people = np.stack([np.stack([rng.uniform(-30, w + 30, 17), rng.uniform(-30, h + 30, 17),
                                     rng.choice([0.0, 0.01, 0.02, 0.021, 0.5, 0.9], 17)], -1) for _ in range(12)])
        people = people.astype(np.float32)
        tensors[f"case_{n}.people"] = torch.from_numpy(people)

        def transform(pts, c=c, rgb=rgb):
            _, moved_, kept_ = alb_geometry(rgb, pts, c)
            return moved_, kept_

        tensors[f"case_{n}.pose_official"] = torch.from_numpy(official_pose(people, w, h, transform, False))
        tensors[f"case_{n}.pose_swapped"] = torch.from_numpy(official_pose(people, w, h, transform, c["flip"]))
    (d / "cases.json").write_text(json.dumps(cases, indent=1))
    save_file(tensors, str(d / "expected.safetensors"))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1]) / "data"
    out.mkdir(parents=True, exist_ok=True)
    make_npz(out)
    make_datasets(out)
    make_transforms(out)
    print(f"data reference files written to {out}")


if __name__ == "__main__":
    main()
