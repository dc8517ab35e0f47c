"""End to end: the segmentation tools on a tiny synthetic Cityscapes-layout set."""

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval
from support import ROOT, run_main, run_python, run_tool, start_tool, tool_env, write_tiny_config

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow

MAX_ITERS = 8


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("seg")
    config = write_tiny_config(
        base / "tiny_seg.py", "seg", data=dict(num_workers=1), train=dict(max_iters=MAX_ITERS, val_interval=4)
    )
    work = base / "run"
    result = run_tool("train_seg", str(config), "--work-dir", str(work), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    return base, config, work, result


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_training_writes_everything(setup):
    base, config, work, result = setup
    assert "Class" in result.stderr and "mIoU" in result.stderr and "eta" in result.stderr
    names = {p.name for p in work.iterdir()}
    assert {"config.py", "metrics.jsonl", "run.log", "best.pth", "last_checkpoint", "curves.png"} <= names
    assert (work / "last_checkpoint").read_text() == f"iter_{MAX_ITERS:07d}.pth"
    records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if r["mode"] == "val"] == [4, 8]
    assert all(0 <= r["mIoU"] <= 1 for r in records if r["mode"] == "val")
    assert "tiny_seg" in (work / "config.py").read_text()
    assert f"iter {MAX_ITERS}/{MAX_ITERS}" in (work / "run.log").read_text()


def test_sigkill_then_resume_equals_uninterrupted(setup):
    base, config, work, _ = setup
    killed = base / "killed"
    proc = subprocess.Popen(
        [sys.executable, "tools/train_seg.py", str(config), "--work-dir", str(killed), "--device", "cpu"],
        cwd=ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while not (killed / "last_checkpoint").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    pointer = (killed / "last_checkpoint").read_text()
    assert pointer != f"iter_{MAX_ITERS:07d}.pth", "the run finished before it could be killed"
    result = run_tool("train_seg", str(config), "--work-dir", str(killed), "--device", "cpu", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in result.stderr
    final = f"iter_{MAX_ITERS:07d}.pth"
    a, b = _weights(work / final), _weights(killed / final)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    val = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    ref = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert val[-1]["mIoU"] == ref[-1]["mIoU"]


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


def test_torchrun_two_processes_on_cpu(setup):
    base, config, _, _ = setup
    work = base / "ddp"
    result = run_python(
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "tools/train_seg.py",
        str(config),
        "--work-dir",
        str(work),
        "--device",
        "cpu",
        "--cfg-options",
        "train.max_iters=4",
        "train.sync_bn=True",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "last_checkpoint").read_text() == "iter_0000004.pth"
    assert "2 process(es)" in result.stderr
    assert "sync_bn is ignored on CPU" in result.stderr


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
