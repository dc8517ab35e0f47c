import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense.cli import plot_log
from dla_dense.errors import DLADenseError
from dla_dense.visualize import _read_metrics, colorize, overlay, plot_training_log

ROOT = Path(__file__).resolve().parents[1]
PALETTE = [(128, 64, 128), (244, 35, 232), (70, 70, 70)]


def test_colorize_maps_classes_and_ignore_to_black():
    label = np.array([[0, 1, 255], [2, 2, 0]])
    rgb = colorize(torch.from_numpy(label), PALETTE)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [128, 64, 128]
    assert rgb[0, 1].tolist() == [244, 35, 232]
    assert rgb[0, 2].tolist() == [0, 0, 0]
    assert rgb[1, 1].tolist() == [70, 70, 70]
    with pytest.raises(DLADenseError, match="label value 3 has no colour"):
        colorize(np.array([[3]]), PALETTE)


def test_overlay_blends_labelled_pixels_and_keeps_ignore_pixels():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    label = np.array([[0, 255], [2, 0]])
    out = overlay(Image.fromarray(image), label, PALETTE, alpha=0.5)
    assert isinstance(out, Image.Image) and out.size == (2, 2) and out.mode == "RGB"
    arr = np.asarray(out)
    assert arr[0, 0].tolist() == [114, 82, 114]  # (100 + (128, 64, 128)) / 2
    assert arr[0, 1].tolist() == [100, 100, 100]
    assert arr[1, 0].tolist() == [85, 85, 85]
    assert np.array_equal(np.asarray(overlay(image, label, PALETTE, alpha=0.0)), image)
    assert np.array_equal(np.asarray(overlay(image, np.full((2, 2), 255), PALETTE)), image)
    with pytest.raises(DLADenseError, match="differ in size"):
        overlay(image, np.zeros((3, 2), dtype=np.int64), PALETTE)


def _write_metrics(work_dir: Path, lines: list[str]) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "metrics.jsonl").write_text("\n".join(lines))


def _records(n_train: int = 20, val_every: int = 5) -> list[str]:
    lines = []
    for it in range(1, n_train + 1):
        lines.append(json.dumps({"mode": "train", "iter": it, "loss": 2.0 / it, "lr": 0.01 * (1 - it / 30)}))
        if it % val_every == 0:
            lines.append(json.dumps({"mode": "val", "iter": it, "mIoU": it / 40, "aAcc": 0.9, "mAcc": 0.5}))
    return lines


def test_plot_training_log_writes_curves_png(tmp_path):
    _write_metrics(tmp_path, _records())
    out = plot_training_log(tmp_path)
    assert out == tmp_path / "curves.png"
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > img.size[1] > 100
    assert not list(tmp_path.glob(".*tmp"))


def test_truncated_last_line_and_garbage_are_skipped(tmp_path):
    lines = _records()
    lines.insert(3, "not json at all")
    lines.insert(5, json.dumps([1, 2, 3]))
    lines.append('{"mode": "train", "iter": 21, "lo')
    _write_metrics(tmp_path, lines)
    train, val = _read_metrics(tmp_path / "metrics.jsonl")
    assert sorted(train) == list(range(1, 21)) and sorted(val) == [5, 10, 15, 20]
    out = plot_training_log(tmp_path, tmp_path / "plots" / "log.pdf")
    assert out.read_bytes().startswith(b"%PDF")


def test_resumed_run_keeps_the_last_record_per_iteration(tmp_path):
    lines = _records(10) + [json.dumps({"mode": "train", "iter": 8, "loss": 9.0, "lr": 0.001})]
    _write_metrics(tmp_path, lines)
    train, _ = _read_metrics(tmp_path / "metrics.jsonl")
    assert train[8]["loss"] == 9.0
    assert plot_training_log(tmp_path).is_file()


def test_train_only_log_is_plotted(tmp_path):
    _write_metrics(tmp_path, [json.dumps({"mode": "train", "iter": 1, "loss": 1.0})])
    assert plot_training_log(tmp_path).is_file()


def test_missing_or_empty_metrics_are_clear_errors(tmp_path):
    with pytest.raises(DLADenseError, match="metrics.jsonl' not found"):
        plot_training_log(tmp_path)
    with pytest.raises(DLADenseError, match="work dir .* not found"):
        plot_training_log(tmp_path / "nope")
    _write_metrics(tmp_path, ['{"mode": "train", "iter": 1, "lo'])
    with pytest.raises(DLADenseError, match="no train or val records"):
        plot_training_log(tmp_path)
    _write_metrics(tmp_path, _records())
    with pytest.raises(DLADenseError, match="unknown image format 'xyz'"):
        plot_training_log(tmp_path, tmp_path / "curves.xyz")


def test_plot_log_cli(tmp_path, capsys):
    _write_metrics(tmp_path, _records())
    assert plot_log.main([str(tmp_path), "--out", str(tmp_path / "c.png")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "c.png")
    assert plot_log.main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: work dir") and "\n" not in err


def test_plot_log_tool_shim(tmp_path, monkeypatch, capsys):
    _write_metrics(tmp_path, _records())
    monkeypatch.setattr(sys, "argv", ["plot_log.py", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(ROOT / "tools" / "plot_log.py"), run_name="__main__")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "curves.png")


def test_the_tasks_metric_is_plotted_and_read_from_the_work_dirs_config(tmp_path, capsys):
    lines = [json.dumps({"mode": "train", "iter": 1, "loss": 1.0})]
    lines += [json.dumps({"mode": "val", "iter": i, "kp_AP": i / 10, "AP": 0.1}) for i in (1, 2)]
    _write_metrics(tmp_path, lines)
    _, val = _read_metrics(tmp_path / "metrics.jsonl", "kp_AP")
    assert sorted(val) == [1, 2] and _read_metrics(tmp_path / "metrics.jsonl")[1] == {}
    (tmp_path / "config.py").write_text("model = dict(task='pose', num_classes=1, num_joints=17)\n")
    assert plot_log._task_metric(tmp_path) == "kp_AP"
    assert plot_log.main([str(tmp_path)]) == 0
    with Image.open(tmp_path / "curves.png") as img:
        assert img.size[0] > 2 * img.size[1]  # two panels: loss and the validation metric
