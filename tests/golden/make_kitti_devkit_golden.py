"""Writes tests/golden/kitti_devkit_golden.json from KITTI's official object devkit itself (not part of the suite).

Usage: python make_kitti_devkit_golden.py EVALUATE_OBJECT_CPP OUT.json, where EVALUATE_OBJECT_CPP is
``cpp/evaluate_object.cpp`` of the cvlibs object devkit (sunnyln/kitti-devkit 83cde86, with its ``mail.h`` beside
it). It is compiled with g++ and Boost (Debian: ``apt install g++ libboost-dev``), its number of test images set to
each case's, and run on label and result files written from fixed random cases:
- ``mixed``: 60 images of every KITTI type (Van, Truck, Person_sitting, Tram, Misc and DontCare regions included),
  truncated and occluded objects, small boxes; detections found, moved, turned, duplicated, missed, of the wrong
  class, lower than the minimum height, inside DontCare regions, and false positives;
- ``perfect``: the ground truth as detections, more than 40 objects per class and difficulty (every AP is 100);
- ``few``: 6 images with a handful of objects (the devkit's recall sampling with fewer than 40 objects);
- ``no_aos``: ``mixed`` with one detection's alpha at -10 (no AOS);
- ``boxes_only``: ``mixed`` with 2D boxes only (no 3D box: the bird's-eye view and 3D are not evaluated).
Recorded per case: the text of every label and result file (``labels`` names another case whose labels it
shares), and the devkit's 41-point curves (its ``stats_<class>_detection*.txt`` and ``_orientation.txt``) keyed
``<Class>/<2d|bev|3d|aos>/<difficulty>``.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SOURCE, OUT = Path(sys.argv[1]), Path(sys.argv[2])
SIZE = {
    "Car": (1.53, 1.63, 3.88),
    "Van": (2.2, 1.9, 5.0),
    "Truck": (3.2, 2.6, 10.0),
    "Pedestrian": (1.76, 0.66, 0.84),
    "Person_sitting": (1.27, 0.54, 0.8),
    "Cyclist": (1.74, 0.6, 1.76),
    "Tram": (3.5, 2.6, 16.0),
    "Misc": (1.9, 1.5, 3.6),
}
TYPES = list(SIZE)
WEIGHTS = np.array([8, 1, 1, 5, 1, 4, 0.5, 0.5])


def project_box(dims, loc, ry, P2):
    """The image box of the projected corners of a 3D box (h, w, l; bottom centre; yaw)."""
    h, w, length = dims
    x = np.array([length, length, -length, -length] * 2) / 2
    y = np.array([0, 0, 0, 0, -h, -h, -h, -h])
    z = np.array([w, -w, -w, w, w, -w, -w, w]) / 2
    c, s = np.cos(ry), np.sin(ry)
    pts = np.stack([c * x + s * z + loc[0], y + loc[1], -s * x + c * z + loc[2], np.ones(8)])
    uvw = P2 @ pts
    u, v = uvw[0] / uvw[2], uvw[1] / uvw[2]
    return np.array([u.min(), v.min(), u.max(), v.max()])


P2 = np.array([[707.0493, 0, 604.0814, 45.75831], [0, 707.0493, 180.5066, -0.3454157], [0, 0, 1, 0.004981016]])


def random_object(rng):
    kind = TYPES[rng.choice(len(TYPES), p=WEIGHTS / WEIGHTS.sum())]
    dims = np.array(SIZE[kind]) * rng.uniform(0.85, 1.15, 3)
    loc = np.array([rng.uniform(-12, 12), rng.uniform(1.4, 1.9), rng.uniform(4, 55)])
    ry = rng.uniform(-np.pi, np.pi)
    box = project_box(dims, loc, ry, P2)
    box = np.clip(box, [0, 0, 0, 0], [1241, 374, 1241, 374])
    alpha = ry - np.arctan2(loc[0], loc[2])
    alpha = (alpha + np.pi) % (2 * np.pi) - np.pi
    truncated = float(rng.choice([0.0, 0.0, 0.0, 0.1, 0.2, 0.4, 0.7]))
    occluded = int(rng.choice([0, 0, 1, 1, 2, 3]))
    return {
        "type": kind,
        "trunc": truncated,
        "occ": occluded,
        "alpha": alpha,
        "box": box,
        "dims": dims,
        "loc": loc,
        "ry": ry,
    }


def dontcare(rng):
    x1, y1 = rng.uniform(0, 1100), rng.uniform(100, 300)
    box = np.array([x1, y1, x1 + rng.uniform(20, 140), y1 + rng.uniform(10, 70)])
    return {
        "type": "DontCare",
        "trunc": -1.0,
        "occ": -1,
        "alpha": -10.0,
        "box": box,
        "dims": np.array([-1.0] * 3),
        "loc": np.array([-1000.0] * 3),
        "ry": -10.0,
    }


def label_line(o, score=None):
    line = f"{o['type']} {o['trunc']:.2f} {o['occ']} {o['alpha']:.2f} " + " ".join(
        f"{v:.2f}" for v in [*o["box"], *o["dims"], *o["loc"], o["ry"]]
    )
    return line + ("" if score is None else f" {score:.6f}") + "\n"


def moved(rng, o, scale):
    d = dict(o)
    d["box"] = o["box"] + rng.normal(0, 3 * scale, 4)
    d["dims"] = o["dims"] * rng.uniform(1 - 0.1 * scale, 1 + 0.1 * scale, 3)
    d["loc"] = o["loc"] + rng.normal(0, 0.4 * scale, 3) * np.array([1, 0.2, 1 + o["loc"][2] / 40])
    d["ry"] = o["ry"] + rng.normal(0, 0.3 * scale)
    d["alpha"] = o["alpha"] + rng.normal(0, 0.3 * scale) + (np.pi if rng.random() < 0.1 else 0)
    return d


def mixed(rng, images=60):
    labels, results = [], []
    for _ in range(images):
        gt = [random_object(rng) for _ in range(rng.integers(0, 12))]
        gt += [dontcare(rng) for _ in range(rng.integers(0, 3))]
        det = []
        for o in gt:
            if o["type"] == "DontCare" or rng.random() < 0.15:
                continue
            d = moved(rng, o, rng.choice([0.1, 0.3, 1.0, 2.0]))
            if rng.random() < 0.08:
                d["type"] = rng.choice(["Car", "Pedestrian", "Cyclist"])
            det.append((d, rng.uniform(0.05, 1.0)))
            if rng.random() < 0.1:
                det.append((moved(rng, o, 0.5), rng.uniform(0.05, 1.0)))
        for o in gt:
            if o["type"] == "DontCare" and rng.random() < 0.7:
                inner = random_object(rng)
                cx, cy = (o["box"][:2] + o["box"][2:]) / 2
                inner["box"] = np.array([cx - 8, cy - 14, cx + 8, cy + 30])
                inner["type"] = rng.choice(["Car", "Pedestrian"])
                det.append((inner, rng.uniform(0.05, 1.0)))
        for _ in range(rng.integers(0, 3)):
            fp = random_object(rng)
            fp["type"] = rng.choice(["Car", "Pedestrian", "Cyclist"])
            det.append((fp, rng.uniform(0.05, 1.0)))
        labels.append("".join(label_line(o) for o in gt))
        results.append("".join(label_line(d, s) for d, s in det))
    return labels, results


def perfect(rng, images=120):
    labels, results = [], []
    for _ in range(images):
        gt = []
        for kind in ("Car", "Car", "Pedestrian", "Cyclist", "Van", "Car", "Pedestrian", "Cyclist"):
            o = random_object(rng)
            o["type"], o["trunc"], o["occ"] = kind, 0.0, 0
            o["loc"][2] = rng.uniform(4, 18)
            o["box"] = project_box(o["dims"], o["loc"], o["ry"], P2)
            inside = (o["box"][:2] > 0).all() and o["box"][2] < 1241 and o["box"][3] < 374
            apart = all(min(o["box"][2], g["box"][2]) <= max(o["box"][0], g["box"][0]) for g in gt)
            if inside and apart and o["box"][3] - o["box"][1] > 45:  # whole, tall enough for Easy, apart
                gt.append(o)
        labels.append("".join(label_line(o) for o in gt))
        results.append("".join(label_line(o, rng.uniform(0.1, 1.0)) for o in gt))
    return labels, results


def edit(results, change):
    out = []
    for text in results:
        rows = [line.split() for line in text.splitlines()]
        out.append("".join(" ".join(change(row)) + "\n" for row in rows))
    return out


def run_devkit(binary, labels, results):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data/object/label_2").mkdir(parents=True)
        (root / "results/case/data").mkdir(parents=True)
        for i, (label, result) in enumerate(zip(labels, results, strict=True)):
            (root / f"data/object/label_2/{i:06d}.txt").write_text(label)
            (root / f"results/case/data/{i:06d}.txt").write_text(result)
        subprocess.run([str(binary), "case"], cwd=root, check=True, capture_output=True)
        curves = {}
        for cls in ("car", "pedestrian", "cyclist"):
            for suffix, measure in (
                ("detection", "2d"),
                ("orientation", "aos"),
                ("detection_ground", "bev"),
                ("detection_3d", "3d"),
            ):
                path = root / f"results/case/stats_{cls}_{suffix}.txt"
                if not path.exists():
                    continue
                rows = [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]
                for level, row in zip(("easy", "moderate", "hard"), rows, strict=True):
                    curves[f"{cls.capitalize()}/{measure}/{level}"] = row
        return curves


BUILT = {}


def build(images):
    """The devkit compiled for ``images`` test images (once per count)."""
    if images in BUILT:
        return BUILT[images]
    work = Path(tempfile.mkdtemp())
    cpp = SOURCE.read_text().replace("const int32_t N_TESTIMAGES = 7518;", f"const int32_t N_TESTIMAGES = {images};")
    (work / "evaluate_object.cpp").write_text(cpp)
    shutil.copy(SOURCE.parent / "mail.h", work / "mail.h")
    subprocess.run(["g++", "-O2", "-o", str(work / "evaluate_object"), str(work / "evaluate_object.cpp")], check=True)
    BUILT[images] = work / "evaluate_object"
    return BUILT[images]


def main():
    rng = np.random.default_rng(2026)
    cases = {"mixed": mixed(rng), "perfect": perfect(rng), "few": mixed(np.random.default_rng(7), images=6)}
    labels, results = cases["mixed"]
    no_aos = list(results)
    first = next(i for i, text in enumerate(no_aos) if text)
    rows = no_aos[first].splitlines()
    parts = rows[0].split()
    parts[3] = "-10"
    no_aos[first] = "\n".join([" ".join(parts), *rows[1:]]) + "\n"
    cases["no_aos"] = (labels, no_aos)
    cases["boxes_only"] = (
        labels,
        edit(results, lambda r: r[:8] + ["-1", "-1", "-1", "-1000", "-1000", "-1000", "-10", r[15]]),
    )
    golden = {}
    for name, (labels, results) in cases.items():
        binary = build(len(labels))
        shared = "mixed" if name in ("no_aos", "boxes_only") else labels  # the same labels are stored once
        golden[name] = {"labels": shared, "results": results, "curves": run_devkit(binary, labels, results)}
        print(name, len(labels), "images,", len(golden[name]["curves"]), "curves")
    OUT.write_text(json.dumps(golden, indent=None) + "\n")


main()
