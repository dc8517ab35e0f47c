"""End to end: classification fine-tuning on a tiny synthetic ImageFolder."""

import json
from pathlib import Path

import pytest

from dla_dense.data.imagefolder import ImageFolderDataset
from dla_dense.data.synthetic.imagefolder import SHAPES, make_synthetic_imagefolder

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


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


def test_train_cls_tool_reports_top1_and_writes_tensorboard(tmp_path, tiny_config, tool):
    config = tiny_config("cls", train=dict(tensorboard=True))
    work = tmp_path / "run"
    result = tool("train_cls", str(config), "--work-dir", str(work))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "top-1" in result.stderr and "top-5" in result.stderr
    val = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert [r["iter"] for r in val] == [2, 4] and all(0 <= r["top1"] <= 1 and r["top5"] == 1.0 for r in val)
    train = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines() if '"train"' in x]
    assert all(r["ce_loss"] == r["loss"] for r in train)
    assert list((work / "tensorboard").glob("events.out.tfevents.*"))
    assert (work / "best.pth").is_file()


def test_train_cls_refuses_a_segmentation_config(tool):
    result = tool("train_cls", "configs/demo_dla34.py", timeout=120)
    assert result.returncode == 2
    assert "is a 'seg' config; use tools/train_seg.py" in result.stderr
