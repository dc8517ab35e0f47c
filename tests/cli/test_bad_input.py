"""Bad-input campaign: every tool meets each kind of broken input with one clear line or the documented handling.

Each case builds its broken input from tiny data written here, runs a tool in-process (``main(argv)``), and
checks the outcome: either exit status 2 with a single ``error: ...`` line that names the file or key and the
fix, no traceback; or success with the documented warning. Files that were on disk before (the dataset, a
work dir with its checkpoints, an output folder) must be byte for byte unchanged afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from support import file_hashes

from dla_dense.cli import classify, export, infer, test, train
from dla_dense.config import load_config
from dla_dense.engine.logging import LOGGER_NAME
from dla_dense.tasks import build_model

ROOT = Path(__file__).resolve().parents[2]
#: Each tool's entry point, as its tools/*.py shim calls it.
TOOLS = {
    "train_seg": train.seg_main,
    "train_det": train.det_main,
    "test_seg": test.seg_main,
    "test_det": test.det_main,
    "infer": infer.main,
    "classify": classify.main,
    "export": export.main,
}
CLASSES = ("sky", "road", "car")
NUM_TRAIN, NUM_VAL, SIZE = 12, 3, 32

SEG_CONFIG = """
model = dict(task="seg", backbone="dla46_c", num_classes=3, down_ratio=2)
data = dict(dataset="folder", root={root!r}, classes={classes!r}, crop_size=(32, 32), scale_range=None, rotate=0.0,
            color_jitter=0.0, batch_size=4, val_batch_size=1, num_workers=0)
optim = dict(name="adam", lr=1e-3)
train = dict(max_iters=1, val_interval=1, checkpoint_interval=1, log_interval=1, seed=0)
"""

DET_CONFIG = """
model = dict(task="det", backbone="dla46_c", num_classes=2, node="conv", head_conv=16)
data = dict(dataset="coco", root={root!r}, crop_size=(32, 32), batch_size=2, num_workers=0)
optim = dict(name="adam", lr=1e-3)
train = dict(max_iters=1, val_interval=1, checkpoint_interval=1, log_interval=1, seed=0)
evaluation = dict(input_size=(32, 32), max_dets=10)
"""


# --- tiny data ---------------------------------------------------------------------------------------------


def _write_seg_set(root: Path) -> None:
    rng = np.random.default_rng(0)
    for split, count in (("train", NUM_TRAIN), ("val", NUM_VAL)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(
                root / "images" / split / f"{i:02d}.png"
            )
            label = rng.integers(0, len(CLASSES), (SIZE, SIZE), dtype=np.uint8)
            Image.fromarray(label).save(root / "labels" / split / f"{i:02d}.png")


def _coco(num_images: int = 4) -> dict:
    """Images 48x64; image 0 has two boxes, image 1 one, the others none (kept)."""
    return {
        "images": [{"id": i, "file_name": f"{i}.png", "height": 48, "width": 64} for i in range(num_images)],
        "annotations": [
            {"id": 1, "image_id": 0, "category_id": 1, "bbox": [4, 4, 20, 16], "iscrowd": 0},
            {"id": 2, "image_id": 0, "category_id": 2, "bbox": [30, 10, 24, 30], "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [10, 20, 12, 12], "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "disc"}, {"id": 2, "name": "block"}],
    }


def _write_det_set(root: Path, data: dict | None = None) -> None:
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(
                root / "images" / split / f"{i}.png"
            )
    (root / "annotations").mkdir(exist_ok=True)
    for split in ("train", "val"):
        _write_json(root, split, data or _coco())


def _write_json(root: Path, split: str, data: dict) -> None:
    (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(data))


def _image_variants(folder: Path) -> list[Path]:
    """The same picture as grayscale, grayscale+alpha, RGBA, palette, 16-bit grayscale, 16-bit RGB, CMYK JPEG, BMP."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(2).integers(0, 256, (40, 72, 3), dtype=np.uint8)
    images = {
        "gray.png": Image.fromarray(rgb[..., 0]),
        "gray_alpha.png": Image.fromarray(rgb).convert("LA"),
        "rgba.png": Image.fromarray(np.dstack([rgb, rgb[..., :1]])),
        "palette.png": Image.fromarray(rgb).convert("P"),
        "gray16.png": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"),
        "plain.bmp": Image.fromarray(rgb),
    }
    for name, image in images.items():
        image.save(folder / name)
    cv2.imwrite(str(folder / "rgb16.png"), rgb.astype(np.uint16) * 257)
    assert Image.open(folder / "gray16.png").mode.startswith("I")
    return sorted(folder / name for name in [*images, "rgb16.png"])


def _truncated(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _jpeg(path: Path) -> Path:
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path, quality=90)
    return path


@dataclass
class Base:
    """What the module fixture prepared: tiny data sets, configs, a trained work dir and checkpoints."""

    dir: Path
    seg_root: Path
    seg_cfg: Path
    work: Path
    det_root: Path
    det_cfg: Path
    det_ckpt: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    d = tmp_path_factory.mktemp("bad_input")
    seg_root, det_root = d / "seg", d / "det"
    _write_seg_set(seg_root)
    _write_det_set(det_root)
    seg_cfg, det_cfg = d / "seg.py", d / "det.py"
    seg_cfg.write_text(SEG_CONFIG.format(root=str(seg_root), classes=CLASSES))
    det_cfg.write_text(DET_CONFIG.format(root=str(det_root)))
    work = d / "work"
    assert train.seg_main([str(seg_cfg), "--work-dir", str(work), "--device", "cpu"]) == 0
    det_ckpt = d / "det.pth"
    torch.save({"model": build_model(load_config(det_cfg)).state_dict()}, det_ckpt)
    _reset_logger()
    return Base(d, seg_root, seg_cfg, work, det_root, det_cfg, det_ckpt)


def _reset_logger() -> None:
    """Detach the handlers a tool gave the package logger (its run.log belongs to another test's work dir)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture(autouse=True)
def _fresh_logger():
    yield
    _reset_logger()


# --- cases -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One tool call: ``error`` lists what its one error line must say; ``check`` inspects a successful run."""

    tool: str
    argv: list[str]
    guard: list[Path] = field(default_factory=list)
    error: list[str] | None = None
    check: Callable[[str, str], None] | None = None


class Env:
    """Per-test paths: the shared base plus copies that a case may break."""

    def __init__(self, base: Base, tmp: Path) -> None:
        self.base, self.tmp = base, tmp

    def seg_copy(self) -> Path:
        return Path(shutil.copytree(self.base.seg_root, self.tmp / "seg"))

    def det_copy(self) -> Path:
        return Path(shutil.copytree(self.base.det_root, self.tmp / "det"))

    def work_copy(self) -> Path:
        return Path(shutil.copytree(self.base.work, self.tmp / "work"))

    @property
    def ckpt(self) -> Path:
        return self.base.work / "best.pth"

    @property
    def iter_ckpt(self) -> Path:
        return self.base.work / "iter_0000001.pth"

    def out_dir(self) -> Path:
        """An output folder that already holds results of an earlier run."""
        out = self.tmp / "out"
        out.mkdir()
        (out / "metrics.json").write_text('{"mIoU": 0.5}')
        (out / "earlier_overlay.jpg").write_bytes(b"earlier result")
        return out

    def test_seg(self, root: Path, *extra: str, ckpt: Path | None = None) -> list[str]:
        argv = [str(self.base.seg_cfg), str(ckpt or self.ckpt), "--device", "cpu"]
        return [*argv, "--cfg-options", f"data.root={str(root)!r}", *extra]

    def test_det(self, root: Path, *extra: str) -> list[str]:
        return [
            str(self.base.det_cfg),
            str(self.base.det_ckpt),
            "--device",
            "cpu",
            "--cfg-options",
            f"data.root={str(root)!r}",
            *extra,
        ]

    def train_seg(self, root: Path, work: Path, *options: str) -> list[str]:
        return self._train(self.base.seg_cfg, root, work, *options)

    def train_det(self, root: Path, work: Path, *options: str) -> list[str]:
        return self._train(self.base.det_cfg, root, work, *options)

    @staticmethod
    def _train(cfg: Path, root: Path, work: Path, *options: str) -> list[str]:
        root_option = f"data.root={str(root)!r}"
        return [str(cfg), "--work-dir", str(work), "--device", "cpu", "--cfg-options", root_option, *options]

    def config(self, text: str) -> Path:
        path = self.tmp / "bad_config.py"
        path.write_text(text)
        return path


CASES: dict[str, Callable[[Env], Run]] = {}


def case(fn: Callable[[Env], Run]) -> Callable[[Env], Run]:
    CASES[fn.__name__.removeprefix("case_").replace("_", "-")] = fn
    return fn


# datasets: segmentation folder pairs


@case
def case_seg_missing_dataset_root(env: Env) -> Run:
    work, missing = env.work_copy(), env.tmp / "no_such_data"
    return Run("train_seg", env.train_seg(missing, work), [work, env.base.seg_root], [f"'{missing}'", "check the path"])


@case
def case_seg_missing_dataset_root_at_test(env: Env) -> Run:
    missing, out = env.tmp / "no_such_data", env.out_dir()
    return Run(
        "test_seg", env.test_seg(missing, "--out", str(out)), [out, env.ckpt], [f"'{missing}'", "check the path"]
    )


@case
def case_seg_empty_split(env: Env) -> Run:
    root = env.seg_copy()
    for path in (root / "images" / "val").iterdir():
        path.unlink()
    return Run("test_seg", env.test_seg(root), [root], [f"'{root / 'images' / 'val'}'", "check the split"])


@case
def case_seg_missing_split_folder(env: Env) -> Run:
    root, work = env.seg_copy(), env.work_copy()
    argv = env.train_seg(root, work, "data.train_split='trian'")
    return Run("train_seg", argv, [root, work], [f"'{root / 'images' / 'trian'}'", "check the root, split"])


@case
def case_seg_image_without_label(env: Env) -> Run:
    root = env.seg_copy()
    (root / "labels" / "val" / "01.png").unlink()
    error = [f"'{root / 'images' / 'val' / '01.png'}'", f"expected '{root / 'labels' / 'val' / '01.png'}'"]
    return Run("test_seg", env.test_seg(root), [root], error)


@case
def case_seg_label_without_image(env: Env) -> Run:
    root = env.seg_copy()
    (root / "images" / "val" / "01.png").unlink()
    orphan = root / "labels" / "val" / "01.png"

    def check(out: str, err: str) -> None:
        lines = [line for line in err.splitlines() if "without an image" in line]
        assert len(lines) == 1 and "1 label file(s)" in lines[0] and str(orphan) in lines[0]
        assert "on 2 images" in err

    return Run("test_seg", env.test_seg(root), [root], check=check)


@case
def case_seg_corrupt_png(env: Env) -> Run:
    root, out = env.seg_copy(), env.out_dir()
    bad = root / "images" / "val" / "01.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    return Run("test_seg", env.test_seg(root, "--out", str(out)), [root, out], [f"cannot read image '{bad}'"])


@case
def case_seg_corrupt_png_read_by_an_eval_worker(env: Env) -> Run:
    root = env.seg_copy()
    bad = root / "images" / "val" / "01.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    argv = env.test_seg(root, "data.num_workers=1")
    return Run("test_seg", argv, [root], [f"cannot read image '{bad}'"])


@case
def case_seg_truncated_png(env: Env) -> Run:
    root = env.seg_copy()
    bad = _truncated(root / "images" / "val" / "02.png", env.base.seg_root / "images" / "val" / "02.png")
    return Run("test_seg", env.test_seg(root), [root], [f"cannot read image '{bad}'", "truncated"])


@case
def case_seg_corrupt_label(env: Env) -> Run:
    root = env.seg_copy()
    bad = _truncated(root / "labels" / "val" / "00.png", env.base.seg_root / "labels" / "val" / "00.png")
    return Run("test_seg", env.test_seg(root), [root], [f"cannot read label '{bad}'"])


@case
def case_seg_colour_label(env: Env) -> Run:
    root = env.seg_copy()
    bad = root / "labels" / "val" / "00.png"
    Image.open(bad).convert("RGB").save(bad)
    return Run("test_seg", env.test_seg(root), [], [f"'{bad}'", "mode RGB", "single-channel 8-bit PNG of class ids"])


@case
def case_seg_size_mismatch(env: Env) -> Run:
    root = env.seg_copy()
    label = root / "labels" / "val" / "01.png"
    Image.fromarray(np.zeros((16, 32), np.uint8)).save(label)
    image = root / "images" / "val" / "01.png"
    return Run("test_seg", env.test_seg(root), [root], ["size mismatch", f"'{image}' is 32x32", f"'{label}' is 32x16"])


@case
def case_seg_grayscale_rgba_16bit_images(env: Env) -> Run:
    root, out = env.seg_copy(), env.tmp / "pred"
    rgb = np.asarray(Image.open(root / "images" / "val" / "00.png"))
    Image.fromarray(rgb[..., 0]).save(root / "images" / "val" / "00.png")
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(root / "images" / "val" / "01.png")
    Image.fromarray(rgb[..., 1].astype(np.uint16) * 257).save(root / "images" / "val" / "02.png")

    def check(stdout: str, err: str) -> None:
        assert "on 3 images" in err and "mIoU" in err
        written = sorted(p.name for p in (out / "labelIds").iterdir())
        assert written == ["00.png", "01.png", "02.png"]
        assert all(Image.open(out / "labelIds" / name).size == (SIZE, SIZE) for name in written)

    return Run("test_seg", env.test_seg(root, "--out", str(out)), [root], check=check)


@case
def case_seg_label_ids_outside_the_classes(env: Env) -> Run:
    root = env.seg_copy()
    for name, value, rows in (("00.png", 7, 2), ("02.png", 200, 3)):
        label = np.asarray(Image.open(root / "labels" / "val" / name)).copy()
        label[:rows] = value
        Image.fromarray(label).save(root / "labels" / "val" / name)
    total = (2 + 3) * SIZE

    def check(stdout: str, err: str) -> None:
        warnings = [line for line in err.splitlines() if "outside the 3 classes" in line]
        assert len(warnings) == 1 and str(root / "labels" / "val" / "00.png") in warnings[0]
        assert f"{2 * SIZE} pixel(s) with value(s) 7" in warnings[0] and "ignore_index" in warnings[0]
        assert sum(f"{total} label pixels outside the classes" in line for line in err.splitlines()) == 1

    return Run("test_seg", env.test_seg(root), [root], check=check)


# datasets: COCO detection


@case
def case_coco_not_json(env: Env) -> Run:
    root = env.det_copy()
    ann = root / "annotations" / "instances_val.json"
    ann.write_text('{"images": [}')
    return Run("test_det", env.test_det(root), [root], [f"'{ann}' is not valid JSON", "line 1", "fix or re-export"])


@case
def case_coco_binary_file(env: Env) -> Run:
    root = env.det_copy()
    ann = root / "annotations" / "instances_train.json"
    ann.write_bytes(b"\xff\xfe\x00garbage")
    argv = env.train_det(root, env.tmp / "w")
    return Run("train_det", argv, [root], [f"'{ann}'", "pass a COCO instances json"])


@case
def case_coco_lacks_keys(env: Env) -> Run:
    root = env.det_copy()
    data = _coco()
    del data["annotations"]
    _write_json(root, "val", data)
    ann = root / "annotations" / "instances_val.json"
    return Run("test_det", env.test_det(root), [root], [f"'{ann}'", "missing 'annotations'", "needs 'images'"])


@case
def case_coco_entry_lacks_bbox(env: Env) -> Run:
    root = env.det_copy()
    data = _coco()
    del data["annotations"][1]["bbox"]
    _write_json(root, "val", data)
    return Run("test_det", env.test_det(root), [root], ["annotations[1] lacks 'bbox'", "needs id, image_id"])


@case
def case_coco_bad_boxes_dropped_and_counted(env: Env) -> Run:
    root = env.det_copy()
    data = _coco()
    bad = [[5, 5, 0, 10], [5, 5, 10, -3], [70, 5, 10, 10], [-40, -40, 20, 20], [60, 40, 30, 30]]
    for i, bbox in enumerate(bad):
        data["annotations"].append({"id": 10 + i, "image_id": 2, "category_id": 1, "bbox": bbox, "iscrowd": 0})
    _write_json(root, "val", data)
    ann = root / "annotations" / "instances_val.json"

    def check(stdout: str, err: str) -> None:
        lines = [line for line in err.splitlines() if "dropped" in line]
        assert len(lines) == 1 and str(ann) in lines[0]
        assert "dropped 4 boxes" in lines[0] and "clipped 1 boxes" in lines[0]
        assert "on 4 images" in err and "AP50" in err

    return Run("test_det", env.test_det(root), [root], check=check)


@case
def case_coco_images_without_boxes_are_kept(env: Env) -> Run:
    root, work = env.det_copy(), env.tmp / "w"
    data = _coco()
    for ann in data["annotations"]:
        del ann["iscrowd"]  # optional in COCO files
    _write_json(root, "train", data)
    _write_json(root, "val", data)

    def check(stdout: str, err: str) -> None:
        assert "4 train / 4 val images" in err
        assert (work / "iter_0000001.pth").is_file()

    return Run("train_det", env.train_det(root, work), [root], check=check)


@case
def case_coco_no_images(env: Env) -> Run:
    root = env.det_copy()
    _write_json(root, "train", {"images": [], "annotations": [], "categories": _coco()["categories"]})
    argv = env.train_det(root, env.tmp / "w")
    return Run("train_det", argv, [root], [f"'{root / 'annotations' / 'instances_train.json'}' lists no images"])


@case
def case_coco_image_file_missing(env: Env) -> Run:
    root = env.det_copy()
    (root / "images" / "val" / "2.png").unlink()
    return Run(
        "test_det", env.test_det(root), [root], ["image '2.png' listed in", "is missing from", "check the image folder"]
    )


@case
def case_coco_corrupt_image_read_by_an_eval_worker(env: Env) -> Run:
    root = env.det_copy()
    bad = root / "images" / "val" / "2.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    argv = env.test_det(root, "data.num_workers=1")
    return Run("test_det", argv, [root], [f"cannot read image '{bad}'"])


# configs and overrides


@case
def case_config_typo_key(env: Env) -> Run:
    work = env.work_copy()
    cfg = env.config(
        SEG_CONFIG.format(root=str(env.base.seg_root), classes=CLASSES).replace("batch_size=4", "batch_sise=4")
    )
    argv = [str(cfg), "--work-dir", str(work)]
    return Run("train_seg", argv, [work], [f"'{cfg}'", "unknown key 'data.batch_sise'", "did you mean 'batch_size'"])


@case
def case_config_unknown_section(env: Env) -> Run:
    cfg = env.config(SEG_CONFIG.format(root=str(env.base.seg_root), classes=CLASSES) + "\nevalution = dict()\n")
    return Run("test_seg", [str(cfg), str(env.ckpt)], [], ["unknown section 'evalution'", "did you mean 'evaluation'"])


@case
def case_config_wrong_type(env: Env) -> Run:
    work = env.work_copy()
    cfg = env.config(
        SEG_CONFIG.format(root=str(env.base.seg_root), classes=CLASSES).replace("max_iters=1", "max_iters='ten'")
    )
    return Run("train_seg", [str(cfg), "--work-dir", str(work)], [work], ["train.max_iters='ten'", "expected int"])


@case
def case_config_syntax_error(env: Env) -> Run:
    work = env.work_copy()
    cfg = env.config("model = dict(task='seg',\ndata = dict(\n")
    return Run(
        "train_seg", [str(cfg), "--work-dir", str(work)], [work], [f"config '{cfg}' line", "fix the Python syntax"]
    )


@case
def case_config_file_missing(env: Env) -> Run:
    missing = env.tmp / "nope.py"
    return Run(
        "infer",
        [str(missing), str(env.ckpt), str(env.base.seg_root / "images" / "val" / "00.png")],
        [],
        [f"config file not found: '{missing}'", "configs/demo_dla34.py"],
    )


@case
def case_cfg_options_unknown_key(env: Env) -> Run:
    work = env.work_copy()
    argv = [str(env.base.seg_cfg), "--work-dir", str(work), "--cfg-options", "optim.learning_rate=0.1"]
    return Run("train_seg", argv, [work], ["unknown key 'optim.learning_rate'", "known:"])


@case
def case_cfg_options_close_key(env: Env) -> Run:
    argv = [str(env.base.det_cfg), str(env.base.det_ckpt), "--cfg-options", "evaluation.max_det=5"]
    return Run("test_det", argv, [], ["unknown key 'evaluation.max_det'", "did you mean 'max_dets'"])


@case
def case_cfg_options_not_key_value(env: Env) -> Run:
    out = env.out_dir()
    argv = [str(env.base.seg_cfg), str(env.ckpt), "--out", str(out / "m.onnx"), "--cfg-options", "model.backbone"]
    return Run("export", argv, [out], ["'model.backbone' is not of the form section.key=value"])


# checkpoints


@case
def case_ckpt_other_class_count(env: Env) -> Run:
    cfg = load_config(env.base.seg_cfg, ["model.num_classes=5"])
    ckpt = env.tmp / "five.pth"
    torch.save({"model": build_model(cfg).state_dict()}, ckpt)
    out = env.out_dir()
    error = [f"'{ckpt}' does not fit", "shape mismatches", "fc.0.weight: file [5, 32, 1, 1] vs model [3, 32, 1, 1]"]
    return Run("test_seg", env.test_seg(env.base.seg_root, "--out", str(out), ckpt=ckpt), [out, ckpt], error)


@case
def case_ckpt_other_architecture(env: Env) -> Run:
    image = env.base.seg_root / "images" / "val" / "00.png"
    out = env.out_dir()
    argv = [str(env.base.seg_cfg), str(env.base.det_ckpt), str(image), "--out", str(out), "--device", "cpu"]
    return Run(
        "infer",
        argv,
        [out],
        [
            f"'{env.base.det_ckpt}' does not fit DLASeg",
            "missing (",
            "unexpected (",
            "pass a checkpoint saved from this model",
        ],
    )


@case
def case_ckpt_not_a_checkpoint(env: Env) -> Run:
    ckpt, out = env.tmp / "notes.pth", env.out_dir()
    ckpt.write_text("these are my notes, not weights\n")
    argv = [str(env.base.seg_cfg), str(ckpt), "--out", str(out / "model.onnx"), "--no-check"]
    return Run("export", argv, [out], [f"'{ckpt}' is not a PyTorch checkpoint", "torch.save"])


@case
def case_ckpt_truncated(env: Env) -> Run:
    ckpt = _truncated(env.tmp / "half.pth", env.ckpt)
    return Run(
        "test_det",
        [str(env.base.det_cfg), str(ckpt), "--device", "cpu"],
        [ckpt],
        [f"'{ckpt}' is not a PyTorch checkpoint"],
    )


@case
def case_ckpt_missing(env: Env) -> Run:
    missing = env.tmp / "best.pth"
    argv = env.test_seg(env.base.seg_root, ckpt=missing)
    return Run("test_seg", argv, [], [f"weights file not found: '{missing}'", "check the path"])


@case
def case_resume_other_class_count(env: Env) -> Run:
    work = env.work_copy()
    argv = env.train_seg(env.base.seg_root, work, "model.num_classes=5", "data.classes=('a', 'b', 'c', 'd', 'e')")
    error = [
        "iter_0000001.pth' does not fit this config's model",
        "fc.0.weight: file [3, 32, 1, 1] vs model [5, 32, 1, 1]",
        "resume with the config the run was started with",
    ]
    return Run("train_seg", [*argv, "--resume"], [work], error)


@case
def case_resume_other_architecture(env: Env) -> Run:
    work = env.work_copy()
    argv = env.train_seg(env.base.seg_root, work, "model.backbone='dla46x_c'")
    return Run(
        "train_seg",
        [*argv, "--resume"],
        [work],
        ["does not fit this config's model", "shape mismatches (base.", "file [32] vs model [64]"],
    )


@case
def case_resume_not_a_checkpoint(env: Env) -> Run:
    work = env.work_copy()
    (env.tmp / "x.pth").write_bytes(b"\x80\x02garbage")
    argv = [*env.train_seg(env.base.seg_root, work), "--resume", str(env.tmp / "x.pth")]
    return Run(
        "train_seg", argv, [work], [f"'{env.tmp / 'x.pth'}' is not a readable dla_dense checkpoint", "iter_*.pth"]
    )


@case
def case_resume_weights_only_file(env: Env) -> Run:
    work = env.work_copy()
    argv = [*env.train_seg(env.base.seg_root, work), "--resume", str(env.ckpt)]
    return Run("train_seg", argv, [work], [f"'{env.ckpt}' holds model weights but no training state", "iter_*.pth"])


@case
def case_classify_weights_of_another_model(env: Env) -> Run:
    argv = ["--model", "dla34", "--weights", str(env.ckpt), str(env.base.seg_root / "images" / "val" / "00.png")]
    return Run("classify", argv, [env.ckpt], [f"'{env.ckpt}' does not fit dla34", "pass weights saved from dla34"])


# images


@case
def case_infer_image_does_not_exist(env: Env) -> Run:
    out, missing = env.out_dir(), env.tmp / "street.jpg"
    argv = [str(env.base.seg_cfg), str(env.ckpt), str(missing), "--out", str(out)]
    return Run("infer", argv, [out], [f"source not found: '{missing}'"])


@case
def case_infer_corrupt_image(env: Env) -> Run:
    out, bad = env.out_dir(), env.tmp / "broken.png"
    bad.write_bytes(b"GIF89a" + bytes(50))
    argv = [str(env.base.det_cfg), str(env.base.det_ckpt), str(bad), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [out], [f"cannot read image '{bad}'", "not a valid image file"])


@case
def case_infer_folder_without_images(env: Env) -> Run:
    out, folder = env.out_dir(), env.tmp / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("no pictures here")
    argv = [str(env.base.seg_cfg), str(env.ckpt), str(folder), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [out], [f"folder '{folder}' has no images or videos", "recursively"])


@case
def case_infer_truncated_jpeg(env: Env) -> Run:
    out = env.out_dir()
    bad = _truncated(env.tmp / "half.jpg", _jpeg(env.tmp / "full.jpg"))
    argv = [str(env.base.seg_cfg), str(env.ckpt), str(bad), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [out], [f"cannot read image '{bad}'", "truncated"])


@case
def case_classify_truncated_jpeg(env: Env) -> Run:
    bad = _truncated(env.tmp / "half.jpg", _jpeg(env.tmp / "full.jpg"))
    return Run("classify", ["--model", "dla46_c", "--no-pretrained", str(bad)], [], [f"cannot read image '{bad}'"])


@case
def case_classify_image_does_not_exist(env: Env) -> Run:
    missing = env.tmp / "cat.png"
    return Run(
        "classify",
        ["--model", "dla46_c", "--no-pretrained", str(missing)],
        [],
        [f"image not found: '{missing}'", "check the path"],
    )


@case
def case_infer_converts_grayscale_rgba_16bit(env: Env) -> Run:
    images, out = _image_variants(env.tmp / "images"), env.out_dir()

    def check(stdout: str, err: str) -> None:
        for image in images:
            pred = out / f"{image.stem}_labelIds.png"
            assert pred.is_file() and (out / f"{image.stem}_overlay.jpg").is_file(), image.name
            assert Image.open(pred).size == (72, 40)
        lines = stdout.strip().splitlines()
        assert len(lines) == len(images) + 1 and lines[-1].startswith("speed: ")

    argv = [str(env.base.seg_cfg), str(env.ckpt), *map(str, images), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [out / "metrics.json", out / "earlier_overlay.jpg"], check=check)


@case
def case_infer_det_converts_grayscale_rgba_16bit(env: Env) -> Run:
    images, out = _image_variants(env.tmp / "images"), env.tmp / "boxes"

    def check(stdout: str, err: str) -> None:
        assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_boxes.jpg" for p in images)
        assert all(Image.open(out / f"{p.stem}_boxes.jpg").size == (72, 40) for p in images)

    argv = [str(env.base.det_cfg), str(env.base.det_ckpt), *map(str, images), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [env.base.det_ckpt], check=check)


@case
def case_classify_converts_grayscale_rgba_16bit(env: Env) -> Run:
    images = _image_variants(env.tmp / "images")

    def check(stdout: str, err: str) -> None:
        assert [line for line in stdout.splitlines() if line.startswith("== ")] == [f"== {p}" for p in images]

    return Run("classify", ["--model", "dla46_c", "--no-pretrained", "--topk", "2", *map(str, images)], check=check)


# output paths


@case
def case_infer_out_is_an_existing_file(env: Env) -> Run:
    out = env.tmp / "results"
    out.write_text("an earlier file")
    image = str(env.base.seg_root / "images" / "val" / "00.png")
    argv = [str(env.base.seg_cfg), str(env.ckpt), image, "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [out], [f"--out '{out}' is a file, not a folder"])


@case
def case_test_seg_out_is_an_existing_file(env: Env) -> Run:
    out = env.tmp / "results"
    out.write_text("an earlier file")
    return Run("test_seg", env.test_seg(env.base.seg_root, "--out", str(out)), [out], ["is a file, not a folder"])


@case
def case_test_det_out_is_a_folder(env: Env) -> Run:
    out = env.out_dir()
    argv = env.test_det(env.base.det_root, "--out", str(out))
    return Run("test_det", argv, [out / "metrics.json"], [f"--out '{out}' is a folder; pass a file name"])


@case
def case_export_out_below_a_file(env: Env) -> Run:
    blocker = env.tmp / "models"
    blocker.write_text("not a folder")
    argv = [str(env.base.seg_cfg), str(env.ckpt), "--out", str(blocker / "seg.onnx"), "--input-size", "32", "32"]
    return Run("export", argv, [blocker], [f"'{blocker}' is a file, so nothing can be written below it"])


@case
def case_export_out_of_another_format(env: Env) -> Run:
    out = env.tmp / "seg.onnx"
    argv = [str(env.base.seg_cfg), str(env.ckpt), "--out", str(out), "--format", "torchscript"]
    return Run("export", argv, [env.ckpt], ["ends in .onnx but this writes a .pt file", "seg.pt"])


@case
def case_export_adds_the_suffix_of_the_format(env: Env) -> Run:
    out = env.tmp / "model"

    def check(stdout: str, err: str) -> None:
        xml, weights = env.tmp / "model.xml", env.tmp / "model.bin"
        assert xml.is_file() and weights.is_file() and not out.exists()
        assert f"wrote {xml} and {weights} (openvino)" in stdout

    argv = [str(env.base.seg_cfg), str(env.ckpt), "--out", str(out), "--format", "openvino", "--input-size", "32", "32"]
    return Run("export", [*argv, "--no-check"], [env.ckpt], check=check)


# photos and undefined metrics


def _phone_photo(path: Path) -> np.ndarray:
    """A 72x40 JPEG stored sideways with EXIF orientation 6 (as phones write); returns the upright RGB pixels."""
    upright = np.zeros((72, 40, 3), np.uint8)
    upright[:36] = (200, 30, 30)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what orientation 6 turns back
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, exif=exif, quality=95)
    assert Image.open(path).size == (72, 40)
    return np.array(Image.open(path).transpose(Image.Transpose.ROTATE_270))


@case
def case_infer_applies_the_exif_orientation(env: Env) -> Run:
    photo, out = env.tmp / "phone.jpg", env.tmp / "pred"
    _phone_photo(photo)

    def check(stdout: str, err: str) -> None:
        assert Image.open(out / "phone_labelIds.png").size == (40, 72)
        assert Image.open(out / "phone_overlay.jpg").size[1] == 72

    argv = [str(env.base.seg_cfg), str(env.ckpt), str(photo), "--out", str(out), "--device", "cpu"]
    return Run("infer", argv, [photo], check=check)


@case
def case_train_val_split_without_labelled_pixels(env: Env) -> Run:
    root, work = env.seg_copy(), env.tmp / "w"
    for label in (root / "labels" / "val").glob("*.png"):
        Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)).save(label)

    def check(stdout: str, err: str) -> None:
        assert "nan" not in err.lower() and "best {}" not in err
        assert "aAcc: undefined  mIoU: undefined  mAcc: undefined  (no labelled pixel" in err
        assert "mIoU is undefined at iteration 2" in err and "no best.pth: mIoU was undefined" in err
        assert not (work / "best.pth").exists() and (work / "iter_0000002.pth").is_file()
        records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
        assert [r["mIoU"] for r in records if r["mode"] == "val"] == [None, None]

    argv = env.train_seg(root, work, "train.max_iters=2", "train.val_interval=1")
    return Run("train_seg", argv, [root / "images"], check=check)


# training: bad samples met mid-epoch


@case
def case_train_corrupt_image_is_skipped(env: Env) -> Run:
    root, work = env.seg_copy(), env.tmp / "w"
    bad = root / "images" / "train" / "05.png"
    bad.write_bytes(os.urandom(300))

    def check(stdout: str, err: str) -> None:
        lines = [line for line in err.splitlines() if "bad training sample skipped" in line]
        assert len(lines) == 1 and f"cannot read image '{bad}'" in lines[0]
        assert f"cannot read image '{bad}'" in (work / "run.log").read_text()
        assert (work / "last_checkpoint").read_text() == "iter_0000003.pth"

    return Run("train_seg", env.train_seg(root, work, "train.max_iters=3"), [root], check=check)


@case
def case_train_label_size_mismatch_is_skipped(env: Env) -> Run:
    root, work = env.seg_copy(), env.tmp / "w"
    label = root / "labels" / "train" / "03.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(label)

    def check(stdout: str, err: str) -> None:
        lines = [line for line in err.splitlines() if "bad training sample skipped" in line]
        assert len(lines) == 1 and f"'{label}' is 8x8" in lines[0]

    return Run("train_seg", env.train_seg(root, work, "train.max_iters=3"), [root], check=check)


@case
def case_train_corrupt_image_fails_when_asked(env: Env) -> Run:
    root, work = env.seg_copy(), env.tmp / "w"
    bad = root / "images" / "train" / "05.png"
    bad.write_bytes(os.urandom(300))
    argv = env.train_seg(root, work, "train.max_iters=3", "data.on_bad_sample='fail'")
    return Run("train_seg", argv, [root], [f"cannot read image '{bad}'", "data.on_bad_sample='skip'"])


@case
def case_train_too_many_bad_samples(env: Env) -> Run:
    root, work = env.seg_copy(), env.tmp / "w"
    for name in ("02.png", "07.png"):
        (root / "images" / "train" / name).write_bytes(b"not an image")
    error = ["2 of 12 training samples cannot be used", "data.max_bad_fraction=0.1", "fix the files named"]
    return Run("train_seg", env.train_seg(root, work, "train.max_iters=3"), [root], error)


# --- running the cases -------------------------------------------------------------------------------------


def _check_error_line(rc: int, err: str, needles: list[str]) -> None:
    lines = [line for line in re.split(r"[\r\n]+", err) if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    assert rc == 2, err[-3000:]
    assert lines and lines[-1].startswith("error: "), err[-3000:]
    assert sum("error:" in line for line in lines) == 1, err[-3000:]
    for needle in needles:
        assert needle in lines[-1], f"{needle!r} not in {lines[-1]!r}"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, base, tmp_path, capsys):
    run = CASES[name](Env(base, tmp_path))
    before = file_hashes(run.guard)
    assert before or not run.guard
    rc = TOOLS[run.tool](run.argv)
    out, err = capsys.readouterr()
    if run.error is not None:
        _check_error_line(rc, err, run.error)
    else:
        assert rc == 0 and "Traceback" not in err, err[-3000:]
        run.check(out, err)
    after = file_hashes(run.guard)
    assert {path: after.get(path) for path in before} == before, "files that were on disk changed"


# --- the same through the command line --------------------------------------------------------------------


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow  # the tool in a fresh process with data workers
def test_command_line_bad_sample_in_a_worker_is_one_line(base, tmp_path):
    env = Env(base, tmp_path)
    root, work = env.seg_copy(), env.tmp / "w"
    bad = root / "images" / "train" / "05.png"
    bad.write_bytes(os.urandom(300))
    argv = env.train_seg(root, work, "train.max_iters=3", "data.on_bad_sample='fail'", "data.num_workers=1")
    result = _tool("train_seg", *argv)
    _check_error_line(result.returncode, result.stderr, [f"cannot read image '{bad}'", "on_bad_sample='fail'"])
    assert "Caught" not in result.stderr and "worker" not in result.stderr


def test_resume_past_a_bad_sample_is_exact(base, tmp_path, capsys):
    env = Env(base, tmp_path)
    root = env.seg_copy()
    bad = root / "images" / "train" / "03.png"  # met by iteration 3 (draw 8), after the checkpoint at 2
    bad.write_bytes(b"\x00" * 64)
    options = ("train.max_iters=4", "train.checkpoint_interval=2", "train.val_interval=4", "data.rotate=10.0")
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert train.seg_main(env.train_seg(root, full, *options)) == 0
    start = str(full / "iter_0000002.pth")
    assert train.seg_main([*env.train_seg(root, resumed, *options), "--resume", start]) == 0
    err = capsys.readouterr().err
    assert [line.count(f"'{bad}'") > 0 for line in err.splitlines() if "bad training sample" in line] == [True, True]
    a, b = (torch.load(d / "iter_0000004.pth", weights_only=True)["model"] for d in (full, resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_infer_skips_an_unreadable_image_and_writes_the_others(base, tmp_path, capsys):
    env = Env(base, tmp_path)
    out, bad = env.out_dir(), env.tmp / "broken.png"
    bad.write_bytes(b"GIF89a" + bytes(50))
    good = [base.seg_root / "images" / "val" / name for name in ("00.png", "01.png")]
    argv = [str(base.seg_cfg), str(env.ckpt), str(good[0]), str(bad), str(good[1]), "--out", str(out)]
    rc = TOOLS["infer"]([*argv, "--device", "cpu"])
    err = capsys.readouterr().err
    _check_error_line(rc, err, ["1 of 3 input(s) could not be read and were skipped", f"cannot read image '{bad}'"])
    assert "skipped: cannot read image" in err
    for name in ("00", "01"):
        assert (out / f"{name}_overlay.jpg").is_file() and (out / f"{name}_labelIds.png").is_file()
    assert not list(out.glob("broken*"))


def test_infer_skips_an_unreadable_video_and_camera_and_writes_the_others(base, tmp_path, capsys):
    env = Env(base, tmp_path)
    folder, out = env.tmp / "inputs", env.out_dir()
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    shutil.copy(base.seg_root / "images" / "val" / "00.png", folder / "good.png")
    before = file_hashes([folder, out])
    argv = [str(base.seg_cfg), str(env.ckpt), str(folder), "--source", "97", "--out", str(out), "--device", "cpu"]
    rc = TOOLS["infer"](argv)
    err = capsys.readouterr().err
    _check_error_line(rc, err, ["2 of 3 input(s) could not be read and were skipped", "broken.mp4"])
    assert "skipped: cannot open video" in err and "skipped: cannot open webcam 97" in err
    assert (out / "good_overlay.jpg").is_file() and (out / "good_labelIds.png").is_file()
    assert not list(out.glob("broken*")) and not list(out.glob("webcam*"))
    after = file_hashes([folder, out])
    assert {path: after.get(path) for path in before} == before


def test_predictor_and_classify_see_photos_upright(base, tmp_path):
    from dla_dense import Predictor
    from dla_dense.images import load_image
    from dla_dense.models.classifier import classify, create_classifier

    photo = tmp_path / "phone.jpg"
    upright = _phone_photo(photo)
    assert np.asarray(load_image(photo)).shape == (40, 72, 3)  # datasets keep the stored pixels
    seen = np.asarray(load_image(photo, exif_transpose=True))
    np.testing.assert_array_equal(seen, upright)
    predictor = Predictor(base.seg_cfg, Env(base, tmp_path).ckpt, device="cpu")
    from_path, from_pil = predictor(photo), predictor(Image.open(photo))
    assert from_path.label_map.shape == from_pil.label_map.shape == (72, 40)
    np.testing.assert_array_equal(from_path.label_map, predictor(upright).label_map)
    model = create_classifier("dla46_c", pretrained=False, num_classes=3)
    assert classify(model, photo, labels=list(CLASSES)) == classify(
        model, Image.fromarray(upright), labels=list(CLASSES)
    )


def _failing_save(self, source, result):
    """Stands in for writing a picture: fails inside Pillow with an error that is not one of ours."""
    Image.new("RGB", (2, 2)).save(self.out / "x.img", format="NO-SUCH-FORMAT")


@pytest.mark.parametrize("debug", ["", "flag", "env"])
def test_an_unexpected_error_is_one_line_naming_the_input_and_library(debug, base, tmp_path, capsys, monkeypatch):
    env = Env(base, tmp_path)
    monkeypatch.setattr(infer._Run, "image", _failing_save)
    monkeypatch.setenv("DLA_DENSE_DEBUG", "1" if debug == "env" else "0")
    image = str(base.seg_root / "images" / "val" / "00.png")
    argv = [str(base.seg_cfg), str(env.ckpt), image, "--out", str(tmp_path / "o"), "--device", "cpu"]
    if debug:
        with pytest.raises(KeyError, match="NO-SUCH-FORMAT"):
            TOOLS["infer"]([*argv, "--debug"] if debug == "flag" else argv)
        return
    rc = TOOLS["infer"](argv)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 1 and "Traceback" not in "\n".join(lines)
    assert lines[-1].startswith(f"error: PIL failed on '{image}' (KeyError: 'NO-SUCH-FORMAT')")
    assert "--debug" in lines[-1] and "DLA_DENSE_DEBUG=1" in lines[-1]
