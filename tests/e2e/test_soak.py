"""Soak: ``tools/infer.py`` on a few hundred small images of mixed size, format and mode, with its memory watched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense.config import load_config
from dla_dense.tasks import build_model

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NUM_IMAGES = 200
#: Allowed RSS growth between the 100th and the last image: far below what keeping per-image buffers would add.
RSS_MARGIN = 16 * 2**20

CONFIG = """
model = dict(task="seg", backbone="dla46_c", num_classes=3, down_ratio=2)
data = dict(dataset="folder", root="unused", classes=("a", "b", "c"))
"""


def _write_images(folder: Path) -> list[Path]:
    """``NUM_IMAGES`` images of 32..96 pixels a side as PNG, JPEG and BMP; some grayscale, RGBA, palette, 16-bit.

    Two of them share a file stem (in different folders), so their outputs need distinct names.
    """
    rng = np.random.default_rng(0)
    paths = []
    for i in range(NUM_IMAGES):
        h, w = rng.integers(32, 97, 2)
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ext = ("png", "jpg", "bmp")[i % 3]
        image = Image.fromarray(rgb)
        if i % 7 == 0:
            image = image.convert("L")
        elif i % 11 == 0 and ext == "png":
            image = Image.fromarray(np.dstack([rgb, rgb[..., 0]]))
        elif i % 13 == 0 and ext == "png":
            image = Image.fromarray(rgb[..., 1].astype(np.uint16) * 257)
        elif i % 17 == 0 and ext != "jpg":
            image = image.convert("P")
        last = i == NUM_IMAGES - 1
        path = (folder / "again" if last else folder) / f"{i - 1 if last else i:03d}.{ext}"  # the last repeats a stem
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        paths.append(path)
    return paths


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.soak
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads RSS from /proc")
def test_infer_on_hundreds_of_images_writes_everything_with_flat_memory(tmp_path):
    images = _write_images(tmp_path / "images")
    config = tmp_path / "soak.py"
    config.write_text(CONFIG)
    checkpoint = tmp_path / "model.pth"
    torch.save({"model": build_model(load_config(config)).state_dict()}, checkpoint)
    out = tmp_path / "out"
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    argv = [sys.executable, "tools/infer.py", str(config), str(checkpoint), *map(str, images), "--out", str(out)]
    errors = (tmp_path / "stderr.txt").open("w+")  # a file: the progress bar must never fill a pipe
    proc = subprocess.Popen(
        [*argv, "--device", "cpu"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
    )
    rss, done = [], []
    for line in proc.stdout:
        if line.startswith("speed: "):
            continue
        done.append(line)
        rss.append(_rss(proc.pid))
    assert proc.wait(timeout=120) == 0
    errors.seek(0)
    err = errors.read()
    assert len(done) == NUM_IMAGES and "Traceback" not in err

    stems = [p.stem for p in images[:-1]] + [f"{images[-1].stem}-2"]
    assert len(set(stems)) == NUM_IMAGES
    for image, stem in zip(images, stems, strict=True):
        pred = out / f"{stem}_labelIds.png"
        assert pred.is_file() and (out / f"{stem}_overlay.jpg").is_file(), image
        assert Image.open(pred).size == Image.open(image).size
    assert len(list(out.iterdir())) == 2 * NUM_IMAGES

    growth = max(rss[100:]) - rss[99]
    assert growth < RSS_MARGIN, f"RSS grew by {growth / 2**20:.1f} MiB over the last 100 images"
