"""End to end: classification fine-tuning on a tiny synthetic ImageFolder."""

import json
import os
import subprocess
import sys
from pathlib import Path

from dla_dense.data.imagefolder import SHAPES, ImageFolderDataset, make_synthetic_imagefolder

ROOT = Path(__file__).resolve().parents[1]


def test_synthetic_imagefolder_is_deterministic_and_idempotent(tmp_path):
    a = make_synthetic_imagefolder(tmp_path / "a", num_train=2, num_val=1, size=32, seed=1)
    b = make_synthetic_imagefolder(tmp_path / "b", num_train=2, num_val=1, size=32, seed=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 2 * len(SHAPES) + len(SHAPES)
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    stamp = (a / "train" / "circle" / "circle_0000.png").stat().st_mtime_ns
    make_synthetic_imagefolder(a, num_train=2, num_val=1, size=32, seed=1)
    assert (a / "train" / "circle" / "circle_0000.png").stat().st_mtime_ns == stamp
    dataset = ImageFolderDataset(a, "val")
    assert dataset.classes == tuple(sorted(SHAPES)) and len(dataset) == len(SHAPES)


def test_train_cls_tool_reports_top1_and_writes_tensorboard(tmp_path):
    config = tmp_path / "tiny_cls.py"
    config.write_text(
        f"""
model = dict(task="cls", backbone="dla46_c", num_classes=4, pretrained=False)
data = dict(dataset="imagefolder", root={str(tmp_path / "shapes")!r}, crop_size=(32, 32), batch_size=4,
            val_batch_size=8, num_workers=0, synthetic=dict(num_train=3, num_val=2, size=32, seed=0))
optim = dict(name="adamw", lr=1e-3)
train = dict(max_iters=4, val_interval=2, checkpoint_interval=2, log_interval=2, tensorboard=True)
"""
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    work = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "tools/train_cls.py", str(config), "--work-dir", str(work)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "top-1" in result.stderr and "top-5" in result.stderr
    val = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert [r["iter"] for r in val] == [2, 4] and all(0 <= r["top1"] <= 1 and r["top5"] == 1.0 for r in val)
    assert list((work / "tensorboard").glob("events.out.tfevents.*"))
    assert (work / "best.pth").is_file()


def test_train_cls_refuses_a_segmentation_config():
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "tools/train_cls.py", "configs/demo_dla34.py"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "is a 'seg' config; use tools/train_seg.py" in result.stderr
