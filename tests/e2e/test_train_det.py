"""End to end: the detection tools on a tiny synthetic shapes set in COCO format."""

import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from support import run_main, write_tiny_config

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


def _config(path: Path, node: str) -> Path:
    """The tiny det config with ``node`` nodes, one loader worker, data under ``path.parent / 'shapes'``."""
    return write_tiny_config(path, "det", path.parent / "shapes", model=dict(node=node), data=dict(num_workers=1))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("det")
    config = _config(base / "tiny_det.py", "conv")
    work = base / "run"
    result = run_main("train_det", str(config), "--work-dir", str(work), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def test_training_reports_coco_ap(trained):
    _, _, work, result = trained
    assert "Average Precision" in result.stderr and "circle" in result.stderr
    assert (work / "best.pth").is_file() and (work / "last_checkpoint").read_text() == "iter_0000004.pth"
    records = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines()]
    assert {"AP", "AP50", "AP75"} <= [r for r in records if r["mode"] == "val"][-1].keys()
    train = [r for r in records if r["mode"] == "train"]
    assert [r["iter"] for r in train] == [2, 4]
    for record in train:  # CenterNet's terms beside the weighted total, on every log line
        assert {"loss", "hm_loss", "wh_loss", "off_loss"} <= record.keys()
        weighted = record["hm_loss"] + 0.1 * record["wh_loss"] + record["off_loss"]
        assert record["loss"] == pytest.approx(weighted, rel=1e-5)
    assert "hm_loss" in result.stderr and "off_loss" in result.stderr


def test_results_json_is_accepted_by_pycocotools_and_gives_the_printed_ap(trained):
    base, config, work, _ = trained
    out = base / "results.json"
    result = run_main("test_det", str(config), str(work / "best.pth"), "--out", str(out))
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
    result = run_main("test_det", str(config), str(work / "best.pth"), "--flip", "--scales", "0.5", "1.0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "AP50" in result.stderr


def test_dcn_node_trains_one_step(tmp_path):
    config = _config(tmp_path / "dcn.py", "dcn")
    result = run_main("train_det", str(config), "--work-dir", str(tmp_path / "w"), "--cfg-options", "train.max_iters=1")
    assert result.returncode == 0, result.stderr[-3000:]


def test_infer_draws_boxes(trained):
    base, config, work, _ = trained
    images = sorted((base / "shapes" / "images" / "val").glob("*.png"))[:2]
    out = base / "boxes"
    result = run_main(
        "infer",
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
    assert "Warning" not in result.stderr and "not writable" not in result.stderr


def test_export_tool_onnx_matches_pytorch(tmp_path):
    """Deformable nodes through the tool (plain-conv ONNX export: the track, pose and ddd e2e tests)."""
    pytest.importorskip("onnxscript", minversion="0.7.1")
    pytest.importorskip("onnxruntime", minversion="1.25")
    import torch

    from dla_dense.config import load_config
    from dla_dense.tasks import build_model

    config = _config(tmp_path / "det.py", "dcn")
    ckpt = tmp_path / "model.pth"
    torch.save({"model": build_model(load_config(config)).state_dict()}, ckpt)
    out = tmp_path / "model.onnx"
    result = run_main("export", str(config), str(ckpt), "--out", str(out), "--input-size", "64", "64")
    assert result.returncode == 0, result.stderr[-3000:]
    diff = float(result.stdout.split("max abs diff")[-1])
    assert out.is_file() and diff <= 1e-3
