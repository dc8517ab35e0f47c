import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import labels as cs_labels
from cityscapesscripts.helpers.labels import name2label
from PIL import Image

from dla_dense.cli import make_demo_data
from dla_dense.data import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_PALETTE,
    ID_TO_TRAIN_ID,
    SYNTHETIC_CLASSES,
    CityscapesSegDataset,
    SegFolderDataset,
    build_seg_eval_transform,
    build_seg_train_transform,
    default_palette,
    make_synthetic_cityscapes,
    synthetic_cityscapes_exists,
)
from dla_dense.data.synthetic import cityscapes as synthetic
from dla_dense.errors import DLADenseError

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(num_train=4, num_val=2, size=(64, 128), seed=0)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return make_synthetic_cityscapes(tmp_path_factory.mktemp("synthetic") / "cs", **TINY)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.endswith((".tmp", ".old"))]


# --- Cityscapes label mapping -------------------------------------------------------------------------


def test_label_id_to_train_id_matches_cityscapesscripts():
    assert len(cs_labels) == 35
    assert ID_TO_TRAIN_ID.shape == (256,) and ID_TO_TRAIN_ID.dtype == np.uint8
    table_ids = set()
    for label in cs_labels:
        expected = label.trainId if 0 <= label.trainId < 255 else 255
        if label.id < 0:
            assert expected == 255
            continue
        table_ids.add(label.id)
        assert ID_TO_TRAIN_ID[label.id] == expected, label.name
        if expected != 255:
            assert CITYSCAPES_CLASSES[expected] == label.name
            assert CITYSCAPES_PALETTE[expected] == label.color
    assert all(ID_TO_TRAIN_ID[i] == 255 for i in range(256) if i not in table_ids)
    assert len(CITYSCAPES_CLASSES) == len(CITYSCAPES_PALETTE) == 19
    assert sorted(set(ID_TO_TRAIN_ID.tolist()) - {255}) == list(range(19))


# --- synthetic scenes and the Cityscapes dataset ----------------------------------------------------------


def test_dataset_items(tiny_root):
    train = CityscapesSegDataset(tiny_root, "train")
    val = CityscapesSegDataset(tiny_root, "val")
    assert len(train) == 4 and len(val) == 2
    assert CityscapesSegDataset.ignore_index == 255 and train.classes == CITYSCAPES_CLASSES
    item = train[1]
    assert set(item) == {"image", "label", "name"}
    assert item["image"].shape == (3, 64, 128) and item["image"].dtype == torch.uint8
    assert item["label"].shape == (64, 128) and item["label"].dtype == torch.int64
    assert set(item["label"].unique().tolist()) <= set(range(19)) | {255}
    assert 255 in item["label"].unique().tolist()
    city, stem = item["name"].split("/")
    assert stem.startswith(f"{city}_000000_") and not stem.endswith("_leftImg8bit")
    assert train.image_path(1) == tiny_root / "leftImg8bit" / "train" / f"{item['name']}_leftImg8bit.png"
    assert len({n.split("/")[0] for n in train.names}) == 2
    assert val.names[0].split("/")[0] not in {n.split("/")[0] for n in train.names}

    ids = np.asarray(Image.open(train.label_path(1)))
    assert torch.equal(item["label"], torch.from_numpy(ID_TO_TRAIN_ID[ids]).long())
    raw = np.array(Image.open(train.image_path(1)).convert("RGB"))
    assert torch.equal(item["image"], torch.from_numpy(raw).permute(2, 0, 1))

    ev = CityscapesSegDataset(tiny_root, "val", transform=build_seg_eval_transform())[0]
    assert ev["image"].shape == (3, 64, 128) and ev["image"].dtype == torch.float32
    assert ev["label"].dtype == torch.int64
    tr = CityscapesSegDataset(tiny_root, "train", transform=build_seg_train_transform(crop_size=(32, 48)))[0]
    assert tr["image"].shape == (3, 32, 48) and tr["label"].shape == (32, 48)


def test_all_nine_classes_and_unlabeled_appear(tiny_root):
    ids = set()
    for path in (tiny_root / "gtFine").rglob("*_gtFine_labelIds.png"):
        ids |= set(np.unique(np.asarray(Image.open(path))).tolist())
    expected = {name2label[name].id for name in SYNTHETIC_CLASSES}
    assert {7, 8, 11, 17, 20, 21, 23, 24, 26} == expected
    assert ids == expected | {name2label["unlabeled"].id}


def test_synthetic_generator_is_deterministic(tiny_root, tmp_path):
    again = make_synthetic_cityscapes(tmp_path / "again", **TINY)
    assert _files(again) == _files(tiny_root)
    scene = synthetic.render_scene(np.random.default_rng([0, 0, 0]), 64, 128)
    other = synthetic.render_scene(np.random.default_rng([0, 0, 1]), 64, 128)
    assert not np.array_equal(scene[0], other[0]) and not np.array_equal(scene[1], other[1])
    reseeded = make_synthetic_cityscapes(tmp_path / "seed1", **{**TINY, "num_train": 1, "num_val": 0, "seed": 1})
    name = "leftImg8bit/train/synthburg/synthburg_000000_000000_leftImg8bit.png"
    assert (reseeded / name).read_bytes() != (tiny_root / name).read_bytes()


def test_generation_is_idempotent(tiny_root, monkeypatch):
    before = {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")}

    def fail(*args, **kwargs):
        raise AssertionError("a complete set must not be rewritten")

    monkeypatch.setattr(synthetic, "_write_set", fail)
    assert make_synthetic_cityscapes(tiny_root, **TINY) == tiny_root
    assert synthetic_cityscapes_exists(tiny_root, **TINY)
    assert {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")} == before


def test_other_or_partial_set_is_replaced(tmp_path):
    root = make_synthetic_cityscapes(tmp_path / "cs", **{**TINY, "num_train": 3})
    make_synthetic_cityscapes(root, **TINY)
    assert synthetic_cityscapes_exists(root, **TINY)
    assert json.loads((root / ".synthetic_done").read_text())["num_train"] == 4
    assert len(list((root / "leftImg8bit" / "train").rglob("*.png"))) == 4

    missing = next((root / "gtFine" / "val").rglob("*.png"))
    missing.unlink()
    assert not synthetic_cityscapes_exists(root, **TINY)
    make_synthetic_cityscapes(root, **TINY)
    assert missing.is_file()

    (root / ".synthetic_done").unlink()
    make_synthetic_cityscapes(root, **TINY)
    assert synthetic_cityscapes_exists(root, **TINY)
    assert _leftovers(tmp_path) == []


def test_interrupted_generation_leaves_no_half_set(tmp_path, monkeypatch):
    small = {**TINY, "num_train": 2, "num_val": 1}
    root = make_synthetic_cityscapes(tmp_path / "cs", **small)
    before = _files(root)
    render, calls = synthetic.render_scene, []

    def interrupted(*args):
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return render(*args)

    monkeypatch.setattr(synthetic, "render_scene", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_cityscapes(root, **TINY)
    assert _files(root) == before
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_cityscapes(tmp_path / "fresh", **TINY)
    assert not (tmp_path / "fresh").exists()
    assert _leftovers(tmp_path) == []


def test_generation_never_replaces_foreign_data(tmp_path):
    root = tmp_path / "real"
    (root / "leftImg8bit" / "train" / "aachen").mkdir(parents=True)
    keep = root / "leftImg8bit" / "train" / "aachen" / "aachen_000000_000019_leftImg8bit.png"
    keep.write_bytes(b"mine")
    with pytest.raises(DLADenseError, match=str(root)):
        make_synthetic_cityscapes(root, **TINY)
    assert keep.read_bytes() == b"mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(DLADenseError, match="file"):
        make_synthetic_cityscapes(tmp_path / "file", **TINY)
    with pytest.raises(DLADenseError, match="size"):
        make_synthetic_cityscapes(tmp_path / "x", size=(8, 8))
    with pytest.raises(DLADenseError, match="size"):
        make_synthetic_cityscapes(tmp_path / "x", size=64)


# --- transforms -------------------------------------------------------------------------------------------


def _sample(h: int = 64, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 19, (h, w), dtype=np.uint8)


def test_train_transform_output_shapes():
    image, mask = _sample()
    out = build_seg_train_transform(crop_size=(48, 80))(image=image, mask=mask)
    assert out["image"].shape == (3, 48, 80) and out["image"].dtype == torch.float32
    assert out["mask"].shape == (48, 80)
    assert set(out["mask"].unique().tolist()) <= set(range(19)) | {255}


def test_train_transform_pads_with_ignore_when_scaling_down():
    image, _ = _sample()
    mask = np.ones((64, 128), np.uint8)
    transform = build_seg_train_transform(
        crop_size=(64, 128), scale_range=(0.5, 0.5), rotate=0, color_jitter=0, hflip=False
    )
    out = transform(image=image, mask=mask)
    assert (out["mask"] == 1).sum() == 32 * 64
    assert (out["mask"] == 255).sum() == 64 * 128 - 32 * 64
    assert out["mask"][0, 0] == 255
    black = (0 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(out["image"][:, 0, 0], black, atol=1e-5)


def test_train_transform_rotation_fills_ignore_and_keeps_label_values():
    image, _ = _sample()
    mask = np.where(np.arange(128)[None, :] % 7 < 3, 3, 9).repeat(64, 0).astype(np.uint8)
    transform = build_seg_train_transform(
        crop_size=(64, 128), scale_range=None, rotate=45.0, color_jitter=0, hflip=False
    )
    for seed in range(3):
        transform.set_random_seed(seed)
        out = transform(image=image, mask=mask)["mask"]
        assert set(out.unique().tolist()) == {3, 9, 255}
        assert out[0, 0] == 255 or out[-1, 0] == 255


def test_train_transform_reproducible_with_set_random_seed():
    image, mask = _sample()
    transform = build_seg_train_transform(crop_size=(48, 80))
    outs = []
    for seed in (3, 3, 4):
        transform.set_random_seed(seed)
        outs.append(transform(image=image, mask=mask))
    assert torch.equal(outs[0]["image"], outs[1]["image"]) and torch.equal(outs[0]["mask"], outs[1]["mask"])
    assert not torch.equal(outs[0]["image"], outs[2]["image"])


def test_train_transform_steps_are_switchable():
    steps = dict(scale_range=(0.5, 2.0), rotate=10.0, color_jitter=0.3, hflip=True)
    off = dict(scale_range=None, rotate=0, color_jitter=0, hflip=False)
    names = {"scale_range": "RandomScale", "rotate": "Rotate", "color_jitter": "ColorJitter", "hflip": "HorizontalFlip"}

    def kinds(transform) -> list[str]:
        return [type(t).__name__ for t in transform.transforms]

    assert kinds(build_seg_train_transform(crop_size=(8, 8), **off)) == [
        "PadIfNeeded",
        "RandomCrop",
        "Normalize",
        "ToTensorV2",
    ]
    for key, value in steps.items():
        assert names[key] in kinds(build_seg_train_transform(crop_size=(8, 8), **{**off, key: value}))
        assert names[key] not in kinds(build_seg_train_transform(crop_size=(8, 8), **{**steps, key: off[key]}))

    image, mask = _sample()
    plain = build_seg_train_transform(crop_size=(64, 128), **off)(image=image, mask=mask)
    reference = build_seg_eval_transform()(image=image, mask=mask)
    assert torch.equal(plain["image"], reference["image"]) and torch.equal(plain["mask"], reference["mask"])


# --- folder dataset -------------------------------------------------------------------------------------


def _write_pair(root: Path, name: str, label: np.ndarray, *, split: str = "train", mode: str = "L") -> None:
    h, w = label.shape
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(root / "images" / split / f"{name}.png")
    img = Image.frombytes(mode, (w, h), label.astype(np.uint8).tobytes())
    if mode == "P":
        img.putpalette([c for rgb in default_palette(256) for c in rgb])
    img.save(root / "labels" / split / f"{name}.png")


def test_folder_dataset_maps_out_of_range_labels_to_ignore_once(tmp_path, caplog):
    _write_pair(tmp_path, "a", np.array([[0, 1, 2, 7], [255, 1, 1, 0]]))
    _write_pair(tmp_path, "b", np.array([[9, 9, 2, 2], [0, 0, 0, 0]]), mode="P")
    _write_pair(tmp_path, "c", np.array([[0, 1], [2, 255]]))
    ds = SegFolderDataset(tmp_path, "train", ["sky", "road", "car"])
    assert len(ds) == 3 and ds.names == ["a", "b", "c"] and ds.ignore_index == 255
    assert ds.palette == default_palette(3) and len(set(ds.palette)) == 3
    with caplog.at_level(logging.WARNING):
        items = [ds[i] for i in range(3)]
    assert items[0]["label"].tolist() == [[0, 1, 2, 255], [255, 1, 1, 0]]
    assert items[1]["label"].tolist() == [[255, 255, 2, 2], [0, 0, 0, 0]]
    assert items[0]["label"].dtype == torch.int64 and items[0]["image"].shape == (3, 2, 4)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(tmp_path / "labels" / "train" / "a.png") in warnings[0].getMessage()
    assert "7" in warnings[0].getMessage()
    assert ds.invalid_label_pixels == 3
    assert len(set(default_palette(40))) == 40


def test_folder_dataset_errors_name_the_path(tmp_path):
    classes = ["a", "b"]
    with pytest.raises(DLADenseError, match=str(tmp_path / "nowhere")):
        SegFolderDataset(tmp_path / "nowhere", "train", classes)
    _write_pair(tmp_path, "x", np.zeros((4, 4)))
    with pytest.raises(DLADenseError, match=str(tmp_path / "images" / "val")):
        SegFolderDataset(tmp_path, "val", classes)
    (tmp_path / "images" / "empty").mkdir()
    with pytest.raises(DLADenseError, match="no \\*.png images"):
        SegFolderDataset(tmp_path, "empty", classes)
    with pytest.raises(DLADenseError, match="ignore_index"):
        SegFolderDataset(tmp_path, "train", classes, ignore_index=1)

    (tmp_path / "images" / "train" / "y.png").write_bytes(b"not a png")
    with pytest.raises(DLADenseError) as e:
        SegFolderDataset(tmp_path, "train", classes)
    assert str(tmp_path / "images" / "train" / "y.png") in str(e.value)
    assert str(tmp_path / "labels" / "train" / "y.png") in str(e.value)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "labels" / "train" / "y.png")
    ds = SegFolderDataset(tmp_path, "train", classes)
    with pytest.raises(DLADenseError, match=f"cannot read image '{tmp_path / 'images' / 'train' / 'y.png'}'"):
        ds[1]
    _write_pair(tmp_path, "y", np.zeros((4, 4)))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "labels" / "train" / "y.png")
    with pytest.raises(DLADenseError, match="mode RGB") as e:
        ds[1]
    assert str(tmp_path / "labels" / "train" / "y.png") in str(e.value)


# --- Cityscapes errors ------------------------------------------------------------------------------------


def _cityscapes(root: Path, *, label_size: tuple[int, int] = (8, 16)) -> tuple[Path, Path]:
    image = root / "leftImg8bit" / "train" / "ulm" / "ulm_000000_000001_leftImg8bit.png"
    label = root / "gtFine" / "train" / "ulm" / "ulm_000000_000001_gtFine_labelIds.png"
    image.parent.mkdir(parents=True)
    label.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(image)
    Image.fromarray(np.full(label_size, 7, np.uint8)).save(label)
    return image, label


def test_cityscapes_missing_root_says_how_to_get_it(tmp_path):
    root = tmp_path / "cityscapes"
    with pytest.raises(DLADenseError) as e:
        CityscapesSegDataset(root)
    message = str(e.value)
    assert f"Cityscapes not found at '{root}'" in message and "\n" not in message
    for hint in ("leftImg8bit/", "gtFine/", "cityscapes-dataset.com/downloads", "configs/demo_dla34.py"):
        assert hint in message


def test_cityscapes_errors_name_the_path(tmp_path):
    image, label = _cityscapes(tmp_path)
    assert CityscapesSegDataset(tmp_path)[0]["label"].unique().tolist() == [0]
    with pytest.raises(DLADenseError, match=f"'{tmp_path / 'leftImg8bit' / 'val'}' does not exist"):
        CityscapesSegDataset(tmp_path, "val")
    (tmp_path / "leftImg8bit" / "test" / "bonn").mkdir(parents=True)
    with pytest.raises(DLADenseError, match="is empty") as e:
        CityscapesSegDataset(tmp_path, "test")
    assert str(tmp_path / "leftImg8bit" / "test") in str(e.value)

    label.rename(label.with_suffix(".bak"))
    with pytest.raises(DLADenseError) as e:
        CityscapesSegDataset(tmp_path)
    assert str(image) in str(e.value) and str(label) in str(e.value)

    Image.fromarray(np.full((4, 16), 7, np.uint8)).save(label)
    ds = CityscapesSegDataset(tmp_path)
    with pytest.raises(DLADenseError, match="size mismatch") as e:
        ds[0]
    assert str(image) in str(e.value) and str(label) in str(e.value)

    label.write_bytes(b"broken")
    with pytest.raises(DLADenseError, match=f"cannot read label '{label}'"):
        ds[0]
    image.write_bytes(b"broken")
    with pytest.raises(DLADenseError, match=f"cannot read image '{image}'"):
        ds[0]


# --- make_demo_data tool ----------------------------------------------------------------------------------


def test_make_demo_data_cli(tmp_path, capsys):
    root = tmp_path / "demo"
    args = ["--root", str(root), "--num-train", "3", "--num-val", "1", "--height", "32", "--width", "64"]
    assert make_demo_data.main(args) == 0
    out = capsys.readouterr().out
    assert str(root) in out and "3 train + 1 val" in out
    assert synthetic_cityscapes_exists(root, num_train=3, num_val=1, size=(32, 64), seed=0)
    assert len(CityscapesSegDataset(root, "train")) == 3
    assert make_demo_data.main(args) == 0
    assert "nothing written" in capsys.readouterr().out

    (tmp_path / "taken").write_text("x")
    assert make_demo_data.main(["--root", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(tmp_path / "taken") in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # the tool in a fresh process
def test_make_demo_data_tool_shim(tmp_path):
    root = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_demo_data.py"), "--root", str(root), "--num-train", "1"]
        + ["--num-val", "1", "--height", "32", "--width", "32"],
        capture_output=True,
        text=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 1 train + 1 val images" in result.stdout
    assert (root / ".synthetic_done").is_file()
