"""End to end: the detection tools on a tiny synthetic shapes set in COCO format."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
model = dict(task="det", backbone="dla46_c", num_classes=4, node="{node}", head_conv=32)
data = dict(
    dataset="coco",
    root={root!r},
    synthetic=dict(num_train=8, num_val=4, size=(128, 128), seed=0),
    crop_size=(64, 64),
    batch_size=2,
    num_workers=1,
)
optim = dict(name="adam", lr=1e-3)
train = dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0)
evaluation = dict(input_size=(64, 64), max_dets=20)
"""


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("det")
    config = base / "tiny_det.py"
    config.write_text(CONFIG.format(root=str(base / "shapes"), node="conv"))
    work = base / "run"
    result = _run("tools/train_det.py", str(config), "--work-dir", str(work), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def test_training_reports_coco_ap(trained):
    _, _, work, result = trained
    assert "Average Precision" in result.stderr and "circle" in result.stderr
    assert (work / "best.pth").is_file() and (work / "last_checkpoint").read_text() == "iter_0000004.pth"
    val = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert {"AP", "AP50", "AP75"} <= val[-1].keys()


def test_results_json_is_accepted_by_pycocotools_and_gives_the_printed_ap(trained):
    base, config, work, _ = trained
    out = base / "results.json"
    result = _run("tools/test_det.py", str(config), str(work / "best.pth"), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    printed = float(result.stderr.split("AP ")[-1].split()[0]) if "AP " in result.stderr else None
    gt = COCO(str(base / "shapes" / "annotations" / "instances_val.json"))
    detections = json.loads(out.read_text())
    assert detections and {"image_id", "category_id", "bbox", "score"} <= detections[0].keys()
    evaluator = COCOeval(gt, gt.loadRes(str(out)), "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert printed is not None and evaluator.stats[0] == pytest.approx(printed, abs=5e-5)


def test_flip_and_multiscale_test_run(trained):
    _, config, work, _ = trained
    result = _run("tools/test_det.py", str(config), str(work / "best.pth"), "--flip", "--scales", "0.5", "1.0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "AP50" in result.stderr


def test_dcn_node_trains_one_step(tmp_path):
    config = tmp_path / "dcn.py"
    config.write_text(CONFIG.format(root=str(tmp_path / "shapes"), node="dcn"))
    result = _run(
        "tools/train_det.py", str(config), "--work-dir", str(tmp_path / "w"), "--cfg-options", "train.max_iters=1"
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_infer_draws_boxes(trained):
    base, config, work, _ = trained
    images = sorted((base / "shapes" / "images" / "val").glob("*.png"))[:2]
    out = base / "boxes"
    result = _run(
        "tools/infer.py",
        str(config),
        str(work / "best.pth"),
        *map(str, images),
        "--out",
        str(out),
        "--score-thr",
        "0.0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(out.glob("*_boxes.jpg"))) == 2


@pytest.mark.parametrize("node", ["conv", "dcn"])
def test_export_tool_onnx_matches_pytorch(tmp_path, node):
    pytest.importorskip("onnxscript", minversion="0.7.1")
    pytest.importorskip("onnxruntime", minversion="1.25")
    import torch

    from dla_dense.config import load_config
    from dla_dense.tasks import build_model

    config = tmp_path / "det.py"
    config.write_text(CONFIG.format(root=str(tmp_path / "shapes"), node=node))
    ckpt = tmp_path / "model.pth"
    torch.save({"model": build_model(load_config(config)).state_dict()}, ckpt)
    out = tmp_path / "model.onnx"
    result = _run("tools/export.py", str(config), str(ckpt), "--out", str(out), "--input-size", "64", "64")
    assert result.returncode == 0, result.stderr[-3000:]
    diff = float(result.stdout.split("max abs diff")[-1])
    assert out.is_file() and diff <= 1e-3
