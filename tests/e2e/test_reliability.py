"""Faults and inputs that used to end in a traceback, a stopped run or a silent clash: all-void batches, work
dirs that cannot be created or written, a full disk during a checkpoint, two runs in one work dir, file
permissions, and training across two (local) nodes."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from support import ROOT, file_hashes, run_main, start_tool, tool_env, write_tiny_config

from dla_dense.cli.train import seg_main
from dla_dense.engine import checkpoint
from dla_dense.engine.checkpoint import atomic_write, load_training_state, save_checkpoint

#: end-to-end runs of the tools in fresh processes: the slow tier.
pytestmark = pytest.mark.slow


def _void_folder_set(root: Path) -> None:
    """A folder-pairs set whose every label pixel is 255 (unlabelled frames)."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 4), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                root / "images" / split / f"{i}.png"
            )
            Image.fromarray(np.full((32, 32), 255, np.uint8)).save(root / "labels" / split / f"{i}.png")


def _folder_config(path: Path, root: Path, **train) -> Path:
    data = dict(dataset="folder", classes=("a", "b", "c"), crop_size=(32, 32), synthetic=..., rotate=0.0)
    return write_tiny_config(path, "seg", root, model=dict(num_classes=3), data=data, train=train)


def test_all_void_batches_train_with_zero_loss_and_are_counted(tmp_path):
    _void_folder_set(tmp_path / "void")
    config = _folder_config(tmp_path / "void.py", tmp_path / "void", max_iters=2, log_interval=1)
    result = run_main("train_seg", str(config), "--work-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr[-3000:]
    train = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() if '"train"' in x]
    assert [(r["loss"], r["unlabelled_batches"]) for r in train] == [(0.0, 1), (0.0, 1)]
    assert (
        "unlabelled_batches 1" in result.stderr and "loss 0.0000" in result.stderr and "became nan" not in result.stderr
    )


def test_work_dir_below_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    config = _folder_config(tmp_path / "cfg.py", tmp_path / "void")
    before = file_hashes([tmp_path])
    result = run_main("train_seg", str(config), "--work-dir", str(blocker / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    fix = "nothing can be written below it; pass another path"
    assert line == f"error: --work-dir '{blocker / 'run'}': '{blocker}' is a file, so {fix}"
    assert file_hashes([tmp_path]) == before


def test_read_only_work_dir_is_one_line(tmp_path, monkeypatch, capsys):
    work = tmp_path / "run"
    work.mkdir()
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).startswith(str(work)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    config = _folder_config(tmp_path / "cfg.py", tmp_path / "void")
    assert seg_main([str(config), "--work-dir", str(work)]) == 2
    err = capsys.readouterr().err.strip()
    fix = "pass --work-dir a folder you can write to"
    assert err == f"error: cannot write into the work dir '{work}' (Read-only file system); {fix}"
    assert not any(work.iterdir())


class _DiskFull(io.FileIO):
    """A file that accepts ``capacity`` bytes, then fails like a full disk (ENOSPC)."""

    capacity = 4096

    def write(self, data) -> int:
        if self.tell() + len(data) > self.capacity:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_full_disk_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch, capsys):
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if ".iter_0000004.pth." in name:
            return _DiskFull(fd, "wb")
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoint.os, "fdopen", fdopen)
    config = write_tiny_config(tmp_path / "seg.py", "seg", train=dict(val_interval=100))
    work = tmp_path / "run"
    assert seg_main([str(config), "--work-dir", str(work)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    reason = "the write failed; is the disk full?"
    assert err == f"error: could not write '{work / 'iter_0000004.pth'}' ({reason}); the previous file is intact"
    assert (work / "last_checkpoint").read_text() == "iter_0000002.pth"
    assert load_training_state(work / "iter_0000002.pth")["iteration"] == 2
    assert not (work / "iter_0000004.pth").exists()
    assert not list(work.glob(".*.tmp")) and not (work / ".lock").exists()


def test_a_plain_write_failure_is_one_line_too(tmp_path, monkeypatch):
    target = tmp_path / "model.pth"
    save_checkpoint(target, {"a": torch.zeros(3)})
    before = file_hashes([tmp_path])

    def fail(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(
        Exception, match=r"could not write '.*model.pth' \(No space left on device\); the previous file is intact"
    ):
        atomic_write(target, fail)
    assert file_hashes([tmp_path]) == before


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_checkpoints_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = save_checkpoint(tmp_path / "iter_0000001.pth", {"a": torch.zeros(3)})
        plain = tmp_path / "plain"
        plain.write_bytes(b"x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~umask


def test_second_run_in_a_work_dir_is_refused_and_a_killed_runs_lock_is_taken_over(tmp_path):
    config = write_tiny_config(
        tmp_path / "seg.py", "seg", train=dict(max_iters=400, checkpoint_interval=1, val_interval=400)
    )
    work = tmp_path / "run"
    first = start_tool("train_seg", str(config), "--work-dir", str(work))
    try:
        deadline = time.monotonic() + 240
        while not (work / "last_checkpoint").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (work / "last_checkpoint").exists(), first.stderr.read()[-3000:] if first.poll() is not None else ""
        holder = json.loads((work / ".lock").read_text())
        assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()

        second = run_main("train_seg", str(config), "--work-dir", str(work))
        assert second.returncode == 2 and "Traceback" not in second.stderr
        line = second.stderr.strip()
        assert "\n" not in line and line.startswith(f"error: the work dir '{work}' is in use by another training run")
        assert f"pid {first.pid} on host {socket.gethostname()}" in line
        assert json.loads((work / ".lock").read_text())["pid"] == first.pid
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    done = load_training_state(work / (work / "last_checkpoint").read_text())["iteration"]
    resumed = run_main(
        "train_seg", str(config), "--work-dir", str(work), "--resume", "--cfg-options", f"train.max_iters={done + 2}"
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    took_over = f"took over the lock of '{work}' left by a run that ended without releasing it (pid {first.pid}"
    assert took_over in resumed.stderr
    assert not (work / ".lock").exists()
    last = work / (work / "last_checkpoint").read_text()
    assert last.name == f"iter_{done + 2:07d}.pth" and last.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_nodes(config: Path, works: tuple[Path, Path], *extra: str) -> list[subprocess.CompletedProcess]:
    """Train on two local "nodes" (one process each, c10d rendezvous on localhost, gloo)."""
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes=2",
                "--nproc_per_node=1",
                f"--node_rank={rank}",
                "--rdzv_backend=c10d",
                f"--rdzv_endpoint=127.0.0.1:{port}",
                "--rdzv_id=dla_dense_test",
                "tools/train_seg.py",
                str(config),
                "--work-dir",
                str(works[rank]),
                "--device",
                "cpu",
                *extra,
            ],
            cwd=ROOT,
            env=tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=400)
        outs.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return outs


def test_two_nodes_train_and_resume_with_only_global_rank_0_writing(tmp_path):
    train = dict(max_iters=4, checkpoint_interval=2, sync_bn=True)
    config = write_tiny_config(tmp_path / "seg.py", "seg", train=train)
    node0, node1 = tmp_path / "node0", tmp_path / "node1"
    for result in _two_nodes(config, (node0, node1)):
        assert result.returncode == 0, result.stderr[-3000:]
    log = (node0 / "run.log").read_text()
    assert "2 process(es)" in log and "sync_bn is ignored on CPU" in log
    assert (node0 / "last_checkpoint").read_text() == "iter_0000004.pth" and not node1.exists()
    final = load_training_state(node0 / "iter_0000004.pth")["model"]

    (node0 / "iter_0000004.pth").unlink()
    (node0 / "last_checkpoint").write_text("iter_0000002.pth")
    start = str(node0 / "iter_0000002.pth")
    for result in _two_nodes(config, (node0, node1), "--resume", start):
        assert result.returncode == 0, result.stderr[-3000:]
    assert not node1.exists()
    resumed = load_training_state(node0 / "iter_0000004.pth")["model"]
    for key, value in final.items():
        torch.testing.assert_close(resumed[key], value, rtol=0, atol=0, msg=key)


def test_docs_show_multi_node_and_slurm_launches():
    page = (ROOT / "docs" / "training.md").read_text()
    assert "--nnodes=2" in page and "srun" in page and "--rdzv_backend=c10d" in page
