"""Shared test helpers: the repository root, tool runs in a subprocess, tiny configs for every task."""

from __future__ import annotations

import copy
import hashlib
import math
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]

#: The smallest config of each task that trains and evaluates in seconds on a CPU (synthetic data under root).
TINY: dict[str, dict[str, dict[str, Any]]] = {
    "seg": {
        "model": dict(task="seg", backbone="dla46_c", num_classes=19, down_ratio=2),
        "data": dict(
            dataset="cityscapes",
            synthetic=dict(num_train=8, num_val=4, size=(64, 128), seed=0),
            crop_size=(64, 128),
            batch_size=2,
            val_batch_size=2,
            num_workers=0,
        ),
        "optim": dict(name="adam", lr=1e-3, warmup_iters=2),
        "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
    },
    "det": {
        "model": dict(task="det", backbone="dla46_c", num_classes=4, node="conv", head_conv=32),
        "data": dict(
            dataset="coco",
            synthetic=dict(num_train=8, num_val=4, size=(128, 128), seed=0),
            crop_size=(64, 64),
            batch_size=2,
            num_workers=0,
        ),
        "optim": dict(name="adam", lr=1e-3),
        "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
        "evaluation": dict(input_size=(64, 64), max_dets=20),
    },
    "pose": {
        "model": dict(task="pose", backbone="dla46_c", num_classes=1, node="conv", head_conv=32),
        "data": dict(
            dataset="coco",
            synthetic=dict(num_train=8, num_val=4, size=(128, 128), seed=0),
            crop_size=(64, 64),
            batch_size=2,
            num_workers=0,
        ),
        "optim": dict(name="adam", lr=1e-3),
        "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
        "evaluation": dict(input_size=(64, 64), max_dets=20, sigma_scale=4.0),
    },
    "track": {
        "model": dict(task="track", backbone="dla46_c", num_classes=2, node="conv", head_conv=32),
        "data": dict(
            dataset="mot",
            synthetic=dict(num_train=2, num_val=1, frames=6, size=(64, 96), seed=0),
            train_split="train",
            val_split="val",
            mot_classes=(1, 3),
            classes=("pedestrian", "car"),
            crop_size=(64, 96),
            max_objs=16,
            batch_size=2,
            num_workers=0,
        ),
        "optim": dict(name="adam", lr=1e-3),
        "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
        "evaluation": dict(input_size=(64, 96), max_dets=20),
    },
    "cls": {
        "model": dict(task="cls", backbone="dla46_c", num_classes=4, pretrained=False),
        "data": dict(
            dataset="imagefolder",
            synthetic=dict(num_train=3, num_val=2, size=32, seed=0),
            crop_size=(32, 32),
            batch_size=4,
            val_batch_size=8,
            num_workers=0,
        ),
        "optim": dict(name="adamw", lr=1e-3),
        "train": dict(max_iters=4, val_interval=2, checkpoint_interval=2, log_interval=2, seed=0),
    },
}
#: CenterNet ddd on a tiny synthetic KITTI-layout set.
TINY["ddd"] = {
    "model": dict(task="ddd", backbone="dla46_c", num_classes=3, node="conv", head_conv=32),
    "data": dict(
        synthetic=dict(num_train=4, num_val=2, size=(64, 192), seed=0),
        image_sets="ImageSets",
        crop_size=(64, 192),
        max_objs=16,
        batch_size=2,
        num_workers=0,
    ),
    "optim": dict(name="adam", lr=1e-3),
    "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
    "evaluation": dict(input_size=(64, 192), max_dets=20, score_thresh=0.0),
}
#: CenterTrack's 3D tracking on tiny synthetic KITTI tracking videos.
TINY["track3d"] = {
    "model": dict(task="track3d", backbone="dla46_c", num_classes=3, node="conv", head_conv=32),
    "data": dict(
        synthetic=dict(videos=2, frames=8, size=(64, 192), seed=0),
        crop_size=(64, 192),
        max_objs=16,
        batch_size=2,
        num_workers=0,
    ),
    "optim": dict(name="adam", lr=1e-3),
    "train": dict(max_iters=4, val_interval=4, checkpoint_interval=2, log_interval=2, seed=0),
    "evaluation": dict(input_size=(64, 192), max_dets=20),
}
#: FairMOT on the same tiny videos as CenterTrack: the track config with FairMOT's model.
TINY["fairmot"] = {
    **TINY["track"],
    "model": dict(task="fairmot", backbone="dla46_c", num_classes=2, node="conv", head_conv=32, reid_dim=16),
}


def tiny_config(task: str, root: str | os.PathLike, **changes: dict[str, Any]) -> str:
    """The text of ``task``'s tiny config with data under ``root``; ``changes`` maps a section to keys to set
    (``data=dict(num_workers=1)``) or removes a key given the value ``...``."""
    sections = copy.deepcopy(TINY[task])
    sections["data"]["root"] = str(root)
    for section, values in changes.items():
        target = sections.setdefault(section, {})
        for key, value in values.items():
            if value is ...:
                target.pop(key, None)
            else:
                target[key] = value
    return "".join(f"{name} = {values!r}\n" for name, values in sections.items())


def write_tiny_config(path: Path, task: str, root: str | os.PathLike | None = None, **changes: dict[str, Any]) -> Path:
    """Write :func:`tiny_config` to ``path`` (data in ``path.parent / 'data'`` by default); returns ``path``."""
    path.write_text(tiny_config(task, root or path.parent / "data", **changes))
    return path


def tool_env(**extra: str) -> dict[str, str]:
    """The environment tools run in: offline, one thread, unbuffered."""
    return dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)


def run_python(*args: str, timeout: float = 300, env: dict[str, str] | None = None, cwd: Path = ROOT):
    """Run ``python ARGS`` in a subprocess from ``cwd`` (the repository root); returns the completed process with
    text stdout and stderr."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env or tool_env(), timeout=timeout, cwd=cwd
    )


def run_tool(tool: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None, cwd: Path = ROOT):
    """Run ``tools/<tool>.py ARGS`` in a subprocess (see :func:`run_python`)."""
    return run_python(f"tools/{tool}.py", *args, timeout=timeout, env=env, cwd=cwd)


def run_main(tool: str, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ``tools/<tool>.py ARGS`` in this process through its ``main`` (``train_<task>`` / ``test_<task>``: the
    generic main restricted to the task), capturing stdout and stderr; returns what :func:`run_tool` returns, without
    the seconds a fresh interpreter takes to import torch. Relative paths are from the repository root, as for
    :func:`run_tool`; ``timeout`` is accepted for the same signature and not enforced. Use :func:`run_tool` where the
    process itself is tested (signals, exit without a traceback, environment variables)."""
    import contextlib
    import importlib
    import io

    name, _, task = tool.partition("_")
    module = importlib.import_module(f"dla_dense.cli.{name if name in ('train', 'test') else tool}")
    kwargs = {"task": task} if name in ("train", "test") and task else {}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = module.main(list(args), **kwargs)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return subprocess.CompletedProcess([tool, *args], code, out.getvalue(), err.getvalue())


def start_tool(tool: str, *args: str) -> subprocess.Popen:
    """Start ``tools/<tool>.py ARGS`` in the background (offline, one thread); stdout is dropped, stderr is a
    text pipe."""
    return subprocess.Popen(
        [sys.executable, f"tools/{tool}.py", *args],
        cwd=ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def random_state(model: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict of ``model``'s shapes with seeded random floats (``num_batches_tracked`` left out)."""
    g = torch.Generator().manual_seed(seed)
    return {
        k: torch.rand(v.shape, generator=g) + 0.5
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def assert_state_equal(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Every tensor of ``state`` equals ``model``'s (bitwise)."""
    own = model.state_dict()
    for k, v in state.items():
        torch.testing.assert_close(own[k], v, rtol=0, atol=0, msg=k)


def file_hashes(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of every file in ``paths`` (folders recursively): compare before and after to show that nothing
    on disk changed."""
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def deterministic_value(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A tensor that depends only on ``key`` and ``shape``, scaled so that activations stay moderate (the weights
    behind the golden outputs of CenterNet, ucbdrive/dla and FairMOT models).

    ``conv_offset_mask`` biases have a spread of 2 pixels, so deformable sampling leaves the grid and,
    on the small deep maps, the image; its mask logits spread the masks over (0, 1). A top-level ``fc``
    (ucbdrive/dla's 1x1 classifier over 19 classes) gets a larger gain, so its logits are not all near zero.
    """
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g)
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g)
    if len(shape) == 1:
        if "conv_offset_mask" in key:
            return 2.0 * torch.randn(shape, generator=g)
        if key.endswith(".weight"):
            return 0.75 + 0.5 * torch.rand(shape, generator=g)
        return 0.1 * torch.randn(shape, generator=g)
    gain = 24.0 if key.startswith("fc.") else 1.5
    return torch.randn(shape, generator=g) * math.sqrt(gain / (shape[1] * shape[2] * shape[3]))


def deterministic_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """:func:`deterministic_value` for every entry of ``model``'s state dict (``num_batches_tracked`` left out)."""
    return {
        k: deterministic_value(k, tuple(v.shape))
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


#: The largest backbones: checked in the full run (``-m slow`` too), the fast tier covers the others.
LARGE_BACKBONES = ("dla102", "dla102x", "dla102x2", "dla169")


def tiered(values, slow) -> list:
    """``values`` for ``pytest.mark.parametrize``, those in ``slow`` (or for which ``slow(value)`` holds) marked
    ``slow``: the fast tier runs the rest."""
    import pytest

    is_slow = slow if callable(slow) else (lambda value: value in slow)
    return [pytest.param(v, marks=pytest.mark.slow) if is_slow(v) else v for v in values]
