"""End to end: the segmentation tools on a tiny synthetic Cityscapes-layout set."""

import copy
import json
import signal
import time

import pytest
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval
from support import run_main, run_tool, start_tool, write_tiny_config

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow

MAX_ITERS = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("seg")
    config = write_tiny_config(
        base / "tiny_seg.py", "seg", data=dict(num_workers=1), train=dict(max_iters=MAX_ITERS, val_interval=2)
    )
    work = base / "run"
    result = run_tool("train_seg", str(config), "--work-dir", str(work), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def test_training_writes_everything(setup):
    base, config, work, result = setup
    assert "Class" in result.stderr and "mIoU" in result.stderr and "eta" in result.stderr
    names = {p.name for p in work.iterdir()}
    assert {"config.py", "metrics.jsonl", "run.log", "best.pth", "last_checkpoint", "curves.png"} <= names
    assert (work / "last_checkpoint").read_text() == f"iter_{MAX_ITERS:07d}.pth"
    records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if r["mode"] == "val"] == [2, 4]
    assert all(0 <= r["mIoU"] <= 1 for r in records if r["mode"] == "val")
    assert "tiny_seg" in (work / "config.py").read_text()
    assert f"iter {MAX_ITERS}/{MAX_ITERS}" in (work / "run.log").read_text()


def test_test_seg_labelids_agree_with_official_evaluation(setup):
    base, config, work, _ = setup
    out = base / "test_out"
    result = run_main("test_seg", str(config), str(work / "best.pth"), "--out", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads((out / "metrics.json").read_text())["mIoU"]
    assert f"mIoU {printed:.4f}" in result.stderr
    preds = sorted((out / "labelIds").rglob("*.png"))
    gts = sorted((base / "data" / "gtFine" / "val").rglob("*_gtFine_labelIds.png"))
    assert len(preds) == len(gts) == 4
    assert len(list((out / "overlays").rglob("*.jpg"))) == 4
    args = copy.copy(cs_eval.args)
    args.quiet, args.JSONOutput, args.evalInstLevelScore = True, False, False
    args.predictionPath = str(out / "labelIds")
    official = cs_eval.evaluateImgLists([cs_eval.getPrediction(args, str(g)) for g in gts], [str(g) for g in gts], args)
    assert official["averageScoreClasses"] == pytest.approx(printed, abs=1e-6)


def test_tta_and_slide_evaluation_run(setup):
    base, config, work, _ = setup
    result = run_main(
        "test_seg",
        str(config),
        str(work / "best.pth"),
        "--tta",
        "--mode",
        "slide",
        "--cfg-options",
        "evaluation.crop_size=(64, 64)",
        "evaluation.stride=(32, 32)",
        "evaluation.tta_scales=(0.5, 1.0)",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mIoU" in result.stderr


def test_infer_writes_overlays(setup):
    base, config, work, _ = setup
    images = sorted((base / "data" / "leftImg8bit" / "val").rglob("*.png"))[:2]
    out = base / "infer"
    result = run_main("infer", str(config), str(work / "best.pth"), *map(str, images), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(out.glob("*_overlay.jpg"))) == 2 and len(list(out.glob("*_labelIds.png"))) == 2


def test_missing_cityscapes_is_one_line_with_the_demo_hint(tmp_path):
    result = run_main(
        "train_seg",
        "configs/cityscapes_dla34.py",
        "--work-dir",
        str(tmp_path / "w"),
        "--cfg-options",
        f"data.root={str(tmp_path / 'nowhere')!r}",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cityscapes not found" in lines[0] and "configs/demo_dla34.py" in lines[0]


def test_sigterm_saves_and_exits_cleanly(setup):
    base, config, _, _ = setup
    work = base / "term"
    proc = start_tool(
        "train_seg",
        str(config),
        "--work-dir",
        str(work),
        "--device",
        "cpu",
        "--cfg-options",
        "train.max_iters=200",
        "train.checkpoint_interval=100",
    )
    deadline = time.monotonic() + 240
    while not (work / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "stopped by SIGTERM" in err
    state = torch.load(work / (work / "last_checkpoint").read_text(), weights_only=True)
    assert 0 < state["iteration"] < 200


def test_output_names_cannot_escape_the_output_folder(tmp_path):
    from dla_dense import DLADenseError
    from dla_dense.tasks.seg import safe_output_path

    assert safe_output_path(tmp_path, "labelIds/city/a.png") == (tmp_path / "labelIds/city/a.png").resolve()
    for name in ("../outside.png", "labelIds/../../x.png", "/etc/passwd"):
        with pytest.raises(DLADenseError, match="outside"):
            safe_output_path(tmp_path, name)
