"""Colouring label maps, overlaying them on images, and plotting training curves from ``metrics.jsonl``."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image
from torchvision.utils import draw_segmentation_masks

from .errors import DLADenseError

Palette = Sequence[tuple[int, int, int]]


def _label_array(label: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(label, torch.Tensor):
        label = label.detach().cpu().numpy()
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise DLADenseError(f"expected an integer label map [H, W], got {label.dtype} array {label.shape}")
    return label


def _check_palette(label: np.ndarray, palette: Palette, ignore_index: int) -> np.ndarray:
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    bad = (label != ignore_index) & ((label < 0) | (label >= len(colours)))
    if bad.any():
        raise DLADenseError(
            f"label value {int(label[bad][0])} has no colour: the palette has {len(colours)} entries "
            f"(ignore_index {ignore_index})"
        )
    return colours


def colorize(label: np.ndarray | torch.Tensor, palette: Palette, ignore_index: int = 255) -> np.ndarray:
    """RGB image uint8 ``[H, W, 3]`` of a label map ``[H, W]``: ``palette[c]`` per class, black for ignore."""
    label = _label_array(label)
    colours = _check_palette(label, palette, ignore_index)
    out = np.zeros((*label.shape, 3), dtype=np.uint8)
    valid = label != ignore_index
    out[valid] = colours[label[valid]]
    return out


def overlay(
    image: np.ndarray | Image.Image,
    label: np.ndarray | torch.Tensor,
    palette: Palette,
    alpha: float = 0.5,
    ignore_index: int = 255,
) -> Image.Image:
    """Blend ``palette`` colours over an RGB image (uint8 ``[H, W, 3]`` or PIL) where ``label [H, W]`` is set.

    Each labelled pixel becomes ``(1 - alpha) * image + alpha * colour``; ignore pixels keep the image.
    """
    rgb = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise DLADenseError(f"expected an RGB image uint8 [H, W, 3], got {rgb.dtype} array {rgb.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise DLADenseError(f"alpha must be in [0, 1], got {alpha}")
    label = _label_array(label)
    if label.shape != rgb.shape[:2]:
        raise DLADenseError(f"label map {label.shape} and image {rgb.shape[:2]} differ in size")
    colours = _check_palette(label, palette, ignore_index)
    classes = [int(c) for c in np.unique(label) if c != ignore_index]
    if not classes:
        return Image.fromarray(rgb)
    masks = torch.from_numpy(label)[None] == torch.tensor(classes)[:, None, None]
    drawn = draw_segmentation_masks(
        torch.from_numpy(rgb.copy()).permute(2, 0, 1),
        masks,
        alpha=alpha,
        colors=[tuple(int(v) for v in colours[c]) for c in classes],
    )
    return Image.fromarray(drawn.permute(1, 2, 0).numpy())


def _read_metrics(path: Path, metric: str = "mIoU") -> tuple[dict[int, dict], dict[int, dict]]:
    """Train and val records (those with ``metric``) by iteration (a later line for the same iteration wins, as
    after a resume)."""
    train: dict[int, dict] = {}
    val: dict[int, dict] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict) or not isinstance(record.get("iter"), int):
                continue
            if record.get("mode") == "train" and _is_number(record.get("loss")):
                train[record["iter"]] = record
            elif record.get("mode") == "val" and _is_number(record.get(metric)):
                val[record["iter"]] = record
    return train, val


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def plot_training_log(
    work_dir: str | os.PathLike, out: str | os.PathLike | None = None, *, metric: str = "mIoU"
) -> Path:
    """Plot ``WORK_DIR/metrics.jsonl``: loss (and lr) and the validation ``metric`` (the task's headline:
    ``mIoU``, ``AP``, ``kp_AP``, ``top1``) against iteration; returns the image path.

    Writes ``out`` (default ``WORK_DIR/curves.png``; the suffix picks the format). Unreadable lines, such as
    a truncated last line of a killed run, are skipped.
    """
    work_dir = Path(work_dir)
    metrics = work_dir / "metrics.jsonl"
    if not work_dir.is_dir():
        raise DLADenseError(f"work dir '{work_dir}' not found; pass the folder a training run wrote")
    if not metrics.is_file():
        raise DLADenseError(f"'{metrics}' not found; pass the work dir of a training run that has logged")
    train, val = _read_metrics(metrics, metric)
    if not train and not val:
        raise DLADenseError(f"'{metrics}' has no train or val records yet; plot again after some iterations")
    out = work_dir / "curves.png" if out is None else Path(out)
    fmt = out.suffix.lstrip(".").lower() or "png"
    fig = Figure(figsize=(12 if val and train else 6, 4), layout="constrained")
    if fmt not in fig.canvas.get_supported_filetypes():
        raise DLADenseError(f"cannot write '{out}': unknown image format '{fmt}'; use .png, .pdf or .svg")
    axes = fig.subplots(1, int(bool(train)) + int(bool(val)), squeeze=False)[0]
    if train:
        iters = sorted(train)
        ax = axes[0]
        ax.plot(iters, [train[i]["loss"] for i in iters], color="tab:blue", linewidth=1)
        ax.set(xlabel="iteration", title="training loss")
        ax.set_ylabel("loss", color="tab:blue")
        ax.grid(alpha=0.3)
        lr_iters = [i for i in iters if _is_number(train[i].get("lr"))]
        if lr_iters:
            lr_ax = ax.twinx()
            lr_ax.plot(lr_iters, [train[i]["lr"] for i in lr_iters], color="tab:orange", linewidth=1)
            lr_ax.set_ylabel("lr", color="tab:orange")
    if val:
        iters = sorted(val)
        ax = axes[-1]
        ax.plot(iters, [val[i][metric] for i in iters], marker="o", color="tab:green")
        ax.set(xlabel="iteration", ylabel=metric, title=f"validation {metric}")
        ax.grid(alpha=0.3)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    fig.savefig(tmp, format=fmt, dpi=100)
    os.replace(tmp, out)
    return out
