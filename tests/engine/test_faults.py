"""Faults: training killed with SIGKILL at three planned points, resumed each time, ends bitwise equal.

A driver process (written below) imports the package once and runs each training stage in a forked child;
the child SIGKILLs itself at the planned point: in the middle of an iteration, half-way through writing a
checkpoint's temporary file, or right after a checkpoint was renamed into place but before the
``last_checkpoint`` pointer names it. After every kill each checkpoint file on disk must load, and the
resumed run must end with the same weights as a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense.engine.checkpoint import load_training_state
from dla_dense.weights import read_checkpoint

#: training killed with SIGKILL and resumed: the slow tier.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MAX_ITERS = 6

CONFIG = """
model = dict(task="seg", backbone="dla46_c", num_classes=3, down_ratio=2)
data = dict(dataset="folder", root={root!r}, classes=("a", "b", "c"), crop_size=(32, 32), scale_range=(0.75, 1.25),
            rotate=5.0, batch_size=2, val_batch_size=1, num_workers=0)
optim = dict(name="sgd", lr=0.01, momentum=0.9)
train = dict(max_iters={max_iters}, val_interval=3, checkpoint_interval=1, keep_checkpoints=2, log_interval=1, seed=3)
"""

DRIVER = '''
"""Reads one JSON stage per line: trains in a forked child that SIGKILLs itself at the planned point."""
import io, json, os, signal, sys

import torch

from dla_dense.tasks import SegTask
from dla_dense.cli.train import seg_main
from dla_dense.engine import checkpoint, hooks


def die():
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(kill):
    if kill is None:
        return
    point, n = kill
    name = f"iter_{n:07d}.pth"
    if point == "iteration":  # inside the forward pass of the n-th iteration of this run
        loss, calls = SegTask.loss, []

        def patched_loss(self, *args):
            calls.append(1)
            if len(calls) == n:
                die()
            return loss(self, *args)

        SegTask.loss = patched_loss
    elif point == "write":  # half of checkpoint n written to its temporary file
        save = hooks.save_checkpoint

        def patched_save(path, state):
            if path.name != name:
                return save(path, state)

            def half(f):
                buffer = io.BytesIO()
                torch.save(state, buffer)
                f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                f.flush()
                os.fsync(f.fileno())
                die()

            return checkpoint.atomic_write(path, half)

        hooks.save_checkpoint = patched_save
    elif point == "pointer":  # checkpoint n renamed into place, pointer not yet updated
        pointer = hooks.write_last_pointer

        def patched_pointer(work_dir, path):
            if path.name == name:
                die()
            return pointer(work_dir, path)

        hooks.write_last_pointer = patched_pointer


for line in sys.stdin:
    stage = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.dup2(2, 1)
        arm(stage["kill"])
        code = seg_main(stage["argv"])
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(json.dumps({"killed": killed, "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}), flush=True)
'''


def _write_set(root: Path) -> None:
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("val", 3)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / "images" / split / f"{i}.png")
            Image.fromarray((image[..., 0] // 86).astype(np.uint8)).save(root / "labels" / split / f"{i}.png")


class Driver:
    """The driver process: ``stage(argv, kill)`` trains in a fresh child and says whether it was killed."""

    def __init__(self, tmp: Path) -> None:
        script = tmp / "driver.py"
        script.write_text(DRIVER)
        env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.log = open(tmp / "driver.log", "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.tmp = tmp

    def stage(self, argv: list[str], kill: tuple[str, int] | None = None) -> dict:
        self.proc.stdin.write(json.dumps({"argv": argv, "kill": kill}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, (self.tmp / "driver.log").read_text()[-3000:]
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log.close()


def _checkpoints_all_load(work: Path) -> list[str]:
    """Load every checkpoint file in ``work`` (a torn one raises); return their names."""
    names = sorted(p.name for p in work.glob("*.pth"))
    for name in names:
        if name.startswith("iter_"):
            assert load_training_state(work / name)["iteration"] == int(name[5:12])
        else:
            read_checkpoint(work / name)
    pointer = (work / "last_checkpoint").read_text()
    assert pointer in names
    return names


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_three_points_then_resume_equals_uninterrupted(tmp_path):
    _write_set(tmp_path / "data")
    config = tmp_path / "faults.py"
    config.write_text(CONFIG.format(root=str(tmp_path / "data"), max_iters=MAX_ITERS))
    ref, work = tmp_path / "ref", tmp_path / "work"
    driver = Driver(tmp_path)

    def train(work_dir: Path, *extra: str) -> list[str]:
        return [str(config), "--work-dir", str(work_dir), "--device", "cpu", *extra]

    try:
        assert driver.stage(train(ref)) == {"killed": False, "exit": 0}

        # 1. mid-iteration 3, after checkpoints 1 and 2 were written
        assert driver.stage(train(work), ("iteration", 3))["killed"]
        assert _checkpoints_all_load(work) == ["iter_0000001.pth", "iter_0000002.pth"]
        assert (work / "last_checkpoint").read_text() == "iter_0000002.pth"

        # 2. resumed at 2; killed half-way through writing checkpoint 4
        assert driver.stage(train(work, "--resume"), ("write", 4))["killed"]
        torn = list(work.glob(".iter_0000004.pth.*.tmp"))
        assert len(torn) == 1 and torn[0].stat().st_size > 0
        with pytest.raises(Exception):  # noqa: B017 - the torn file is not loadable, whatever the error
            torch.load(torn[0], weights_only=True)
        assert _checkpoints_all_load(work) == ["best.pth", "iter_0000002.pth", "iter_0000003.pth"]
        assert (work / "last_checkpoint").read_text() == "iter_0000003.pth"

        # 3. resumed at 3 (the torn file is cleaned up); killed after checkpoint 5 was renamed into place
        assert driver.stage(train(work, "--resume"), ("pointer", 5))["killed"]
        assert not list(work.glob(".*.tmp"))
        assert "half-written" in (work / "run.log").read_text()
        assert _checkpoints_all_load(work) == ["best.pth", "iter_0000003.pth", "iter_0000004.pth", "iter_0000005.pth"]
        assert (work / "last_checkpoint").read_text() == "iter_0000004.pth"

        # 4. resumed at 4 (the pointer's checkpoint), runs to the end
        assert driver.stage(train(work, "--resume")) == {"killed": False, "exit": 0}
    finally:
        driver.close()
    final = f"iter_{MAX_ITERS:07d}.pth"
    assert (work / "last_checkpoint").read_text() == final
    a, b = _weights(ref / final), _weights(work / final)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the uninterrupted run"
    assert torch.equal(
        load_training_state(ref / final)["optimizer"]["state"][0]["momentum_buffer"],
        load_training_state(work / final)["optimizer"]["state"][0]["momentum_buffer"],
    )
    resumed = [line for line in (work / "run.log").read_text().splitlines() if "resumed from" in line]
    assert [line.split("iteration ")[-1] for line in resumed] == ["2", "3", "4"]
