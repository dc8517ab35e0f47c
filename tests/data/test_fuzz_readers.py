"""Property-based tests of the file readers: COCO json (boxes and keypoints), segmentation folder pairs, ImageFolder,
configs (Python and JSON, with overrides) and the video readers (video-COCO, MOT layout, CrowdHuman, JDE labels) fed
truncated, mistyped, duplicated, out-of-range and random content end in one :class:`DLADenseError` or a valid
result, never another exception. Readers added later join this file.

The examples are derandomized (the same in every run, see ``tests/conftest.py``); ``HYPOTHESIS_PROFILE=fuzz``
searches far longer.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from dla_dense import DLADenseError
from dla_dense.config import SECTIONS, Config, load_config
from dla_dense.data.coco import CocoDetDataset
from dla_dense.data.folder import SegFolderDataset
from dla_dense.data.imagefolder import ImageFolderDataset

#: Any JSON value: what a mistyped field may hold.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
NAMES = st.sampled_from(["0.png", "1.png", "missing.png", "", "../0.png", "0.png/x"])


def _maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly valid values, sometimes anything JSON holds."""
    return st.one_of(valid, valid, valid, JSON)


def _entry(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """A dict of ``fields``, each possibly mistyped, some possibly missing."""
    return st.fixed_dictionaries({}, optional={k: _maybe(v) for k, v in fields.items()}) | st.fixed_dictionaries(
        {k: _maybe(v) for k, v in fields.items()}
    )


COCO_IMAGE = _entry(
    {"id": st.integers(0, 3), "file_name": NAMES, "height": st.integers(0, 40), "width": st.integers(0, 40)}
)
COCO_ANN = _entry(
    {
        "id": st.integers(0, 9),
        "image_id": st.integers(0, 3),
        "category_id": st.integers(0, 3),
        "bbox": st.lists(st.floats(-50, 80) | st.just(math.nan), min_size=3, max_size=5),
        "iscrowd": st.integers(0, 1),
        "area": st.floats(-1, 100),
    }
)
COCO_CAT = _entry({"id": st.integers(0, 3), "name": st.text(max_size=4)})
COCO = st.fixed_dictionaries(
    {},
    optional={
        "images": _maybe(st.lists(COCO_IMAGE, max_size=3)),
        "annotations": _maybe(st.lists(COCO_ANN, max_size=4)),
        "categories": _maybe(st.lists(COCO_CAT, max_size=3)),
    },
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A scratch folder with two 32x40 images, ``0.png`` and ``1.png``."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "images").mkdir()
    for name in ("0.png", "1.png"):
        Image.fromarray(np.full((40, 32, 3), 90, np.uint8)).save(root / "images" / name)
    return root


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _mangled(data: bytes, cut: float | None, noise: bytes) -> bytes:
    """``data`` truncated at fraction ``cut`` or with ``noise`` written into its middle."""
    if cut is not None:
        return data[: int(len(data) * cut)]
    middle = len(data) // 2
    return data[:middle] + noise + data[middle + len(noise) :]


FILE_DAMAGE = st.tuples(st.none() | st.floats(0, 1), st.binary(max_size=16))


def _check_coco_items(dataset: CocoDetDataset) -> None:
    for index in range(len(dataset)):
        try:
            item = dataset.raw_item(index)
        except DLADenseError:
            continue
        boxes, labels = item["boxes"], item["labels"]
        assert boxes.dtype == np.float32 and boxes.shape == (len(labels), 4) and np.isfinite(boxes).all()
        assert ((boxes[:, 2:] > boxes[:, :2]).all()) and ((labels >= 0) & (labels < dataset.num_classes)).all()


@given(data=COCO | JSON)
def test_coco_json_with_random_content(folder, data):
    path = folder / "instances.json"
    path.write_text(json.dumps(data))
    try:
        dataset = CocoDetDataset(path, folder / "images")
    except DLADenseError:
        return
    _check_coco_items(dataset)


@given(cut=st.floats(0, 1), classes=st.none() | st.lists(st.text(max_size=3), max_size=2))
def test_coco_json_truncated_or_with_classes(folder, cut, classes):
    valid = {
        "images": [{"id": 0, "file_name": "0.png", "height": 40, "width": 32}],
        "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [2, 3, 10, 12]}],
        "categories": [{"id": 1, "name": "a"}],
    }
    text = json.dumps(valid)
    path = folder / "instances.json"
    path.write_bytes(text.encode()[: int(len(text) * cut)])
    try:
        dataset = CocoDetDataset(path, folder / "images", classes=classes)
    except DLADenseError:
        return
    _check_coco_items(dataset)


LABEL = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(0, 255)),  # height, width, value (mode L)
    st.just("rgb"),
    st.just("16bit"),
)


@given(label=LABEL, image_damage=st.none() | FILE_DAMAGE, label_damage=st.none() | FILE_DAMAGE)
def test_segmentation_folder_pairs_with_damaged_files(folder, label, image_damage, label_damage):
    root = folder / "seg"
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("images/val", "labels/val"):
        (root / sub).mkdir(parents=True)
    image = _png(np.full((40, 32, 3), 120, np.uint8))
    if label == "rgb":
        label_png = _png(np.zeros((40, 32, 3), np.uint8))
    elif label == "16bit":
        label_png = _png(np.full((40, 32), 1000, np.uint16))
    else:
        label_png = _png(np.full(label[:2], label[2], np.uint8))
    (root / "images/val/a.png").write_bytes(_mangled(image, *image_damage) if image_damage else image)
    (root / "labels/val/a.png").write_bytes(_mangled(label_png, *label_damage) if label_damage else label_png)
    try:
        item = SegFolderDataset(root, "val", ("x", "y", "z"))[0]
    except DLADenseError:
        return
    values = set(np.unique(item["label"].numpy()).tolist())
    assert tuple(item["label"].shape) == (40, 32) and values <= {0, 1, 2, 255}


FOLDER_NAME = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=5)
CONTENT = st.one_of(st.just("png"), st.just("empty"), st.binary(max_size=40))


@given(
    layout=st.dictionaries(
        FOLDER_NAME, st.lists(st.tuples(st.sampled_from([".png", ".jpg", ".txt", ""]), CONTENT), max_size=3), max_size=3
    )
)
def test_imagefolder_with_random_layouts(folder, layout):
    root = folder / "imagefolder"
    shutil.rmtree(root, ignore_errors=True)
    (root / "train").mkdir(parents=True)
    for class_name, files in layout.items():
        (root / "train" / class_name).mkdir(exist_ok=True)
        for i, (suffix, content) in enumerate(files):
            data = _png(np.zeros((4, 4, 3), np.uint8)) if content == "png" else b"" if content == "empty" else content
            (root / "train" / class_name / f"{i}{suffix}").write_bytes(data)
    try:
        dataset = ImageFolderDataset(root, "train")
    except DLADenseError:
        return
    for index in range(len(dataset)):
        try:
            item = dataset[index]
        except DLADenseError:
            continue
        assert item["image"].mode == "RGB" and 0 <= item["label"] < len(dataset.classes)


TASK = st.sampled_from(["seg", "det", "pose", "cls"])
SECTION = st.dictionaries(
    st.sampled_from(["task", "backbone", "num_classes", "crop_size", "lr", "max_iters", "dataset", "mean", "x"]),
    _maybe(
        st.integers(-2, 600) | st.sampled_from(["dla34", "seg", "det", "coco", "sgd"]) | st.tuples(st.integers(-1, 64))
    ),
    max_size=4,
)
CONFIG = st.dictionaries(st.sampled_from([*SECTIONS, "name", "other"]), _maybe(SECTION), max_size=4)


def _valid(cfg: Config) -> None:
    assert isinstance(cfg, Config) and cfg.model.task in ("seg", "det", "pose", "cls")
    for key in ("crop_size", "mean"):
        value = getattr(cfg.data, key)
        assert isinstance(value, tuple) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)


@given(config=CONFIG, task=TASK, overrides=st.lists(st.text(max_size=20), max_size=2))
def test_json_configs_with_random_content(folder, config, task, overrides):
    if isinstance(config.get("model"), dict):
        config["model"].setdefault("task", task)
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    with contextlib.suppress(DLADenseError):
        _valid(load_config(path, overrides))


@given(config=CONFIG, cut=st.none() | st.floats(0, 1))
def test_python_configs_with_random_literals(folder, config, cut):
    text = "\n".join(f"{name} = {value!r}" for name, value in config.items())
    path = folder / "config.py"
    path.write_text(text if cut is None else text[: int(len(text) * cut)])
    with contextlib.suppress(DLADenseError):
        _valid(load_config(path))


@given(data=st.binary(max_size=64))
def test_configs_of_random_bytes(folder, data):
    for name in ("bytes.json", "bytes.py"):
        path = folder / name
        path.write_bytes(data)
        with contextlib.suppress(DLADenseError):
            _valid(load_config(path))


# --- structured mutations and the video readers ---------------------------------------------------------------------
def _paths(value, prefix=()) -> list[tuple]:
    """Every path (keys and indices) into the containers of ``value``, itself included."""
    out = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out += _paths(child, (*prefix, key))
    return out


def _apply(document, mutations) -> object:
    """``document`` after each ``(path, operation, value)``: drop the entry, replace it with ``value``, duplicate
    it (a list entry is repeated), or set an integer just out of range; paths gone by then are skipped."""
    document = copy.deepcopy(document)
    for path, operation, value in mutations:
        if not path:
            continue
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            target = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        key = path[-1]
        if operation == "drop":
            del parent[key]
        elif operation == "replace":
            parent[key] = value
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(target))
        elif operation == "edge" and isinstance(target, int | float) and not isinstance(target, bool):
            parent[key] = value if isinstance(value, int) and not isinstance(value, bool) else -target
    return document


def _mutations(document) -> st.SearchStrategy:
    """``document`` with up to four structured mutations: missing and extra fields, wrong types, duplicates,
    out-of-range numbers."""
    value = st.one_of(JSON, st.integers(-2, 6), st.just(0), st.just(math.inf))
    operation = st.sampled_from(["drop", "replace", "duplicate", "edge"])
    mutation = st.tuples(st.sampled_from(_paths(document)), operation, value)
    return st.lists(mutation, max_size=4).map(lambda m: _apply(document, m))


def _check_frames(frames, num_classes: int) -> None:
    """What every video reader promises of the frames it gives."""
    from dla_dense.data.video_sources import video_truth
    from dla_dense.evaluation.mot import MotEvaluator

    keys = [(f.video, f.frame_id) for f in frames]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for f in frames:
        m = len(f.labels)
        assert f.boxes.dtype == np.float32 and f.boxes.shape == (m, 4) and np.isfinite(f.boxes).all()
        assert (f.boxes[:, 2:] >= f.boxes[:, :2]).all() and f.frame_id >= 1
        assert f.ignore.shape == f.crowd.shape == f.track_ids.shape == (m,)
        assert ((f.labels >= -1) & (f.labels < num_classes)).all() and (f.labels[~f.ignore] >= 0).all()
        if f.identities is not None:
            assert (f.identities >= -1).all()
    with contextlib.suppress(DLADenseError):  # ground truth TrackEval cannot score is one line too
        MotEvaluator(video_truth(frames), [f"c{k}" for k in range(num_classes)], range(1, num_classes + 1))


VIDEO_COCO = {
    "videos": [{"id": 1, "file_name": "a"}, {"id": 2, "file_name": "b"}],
    "images": [
        {"id": 1, "file_name": "0.png", "video_id": 1, "frame_id": 1},
        {"id": 2, "file_name": "1.png", "video_id": 1, "frame_id": 2},
        {"id": 3, "file_name": "0.png", "video_id": 2, "frame_id": 1},
    ],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "track_id": 1},
        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [3, 3, 10, 12], "track_id": 1, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 2, "bbox": [20, 5, 8, 8], "track_id": 2},
        {"id": 4, "image_id": 3, "category_id": -1, "bbox": [0, 0, 9, 9], "track_id": 3},
        {"id": 5, "image_id": 3, "category_id": 0, "bbox": [1, 1, 4, 4], "track_id": 4},
    ],
    "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}],
}


@given(
    data=_mutations(VIDEO_COCO) | JSON,
    cut=st.none() | st.floats(0, 1),
    classes=st.none() | st.lists(st.sampled_from(["person", "car", "bus"]), max_size=2),
)
def test_video_coco_with_structured_mutations(folder, data, cut, classes):
    from dla_dense.data.video import read_video_coco

    text = json.dumps(data)
    path = folder / "video.json"
    path.write_text(text if cut is None else text[: int(len(text) * cut)])
    try:
        frames, names = read_video_coco(path, folder / "images", classes)
    except DLADenseError:
        return
    _check_frames(frames, len(names))


MOT_ROWS = [
    [1, 1, 2.5, 3, 10, 20, 1, 1, 1.0],
    [1, 2, 20, 3, 10, 20, 1, 3, 0.5],
    [2, 1, 3.5, 3, 10, 20, 1, 1, 0.9],
    [2, 3, 30, 8, 10, 10, 1, 8, 1.0],
    [3, 2, 21, 3, 10, 20, 0, 3, 1.0],
    [4, 1, 4.5, 3, 10, 20, 1, 1, 0.2],
]


@given(
    rows=_mutations(MOT_ROWS),
    length=st.sampled_from(["4", "0", "-2", "x", "", "4.5", None]),
    classes=st.sampled_from([(1,), (1, 3)]),
    split=st.sampled_from(["train", "train_half", "val_half"]),
)
def test_mot_layout_with_structured_mutations(folder, rows, length, classes, split):
    from dla_dense.data.video import read_mot

    root = folder / "mot"
    shutil.rmtree(root, ignore_errors=True)
    seq = root / "train" / "SEQ-01"
    (seq / "gt").mkdir(parents=True)
    info = "[Sequence]\nname=SEQ-01\nimDir=img1\nimExt=.jpg\n" + ("" if length is None else f"seqLength={length}\n")
    (seq / "seqinfo.ini").write_text(info)
    lines = [",".join(map(str, r)) if isinstance(r, list) else json.dumps(r) for r in rows]
    (seq / "gt" / "gt.txt").write_text("\n".join(lines))
    try:
        frames, truth = read_mot(root, split, mot_classes=classes)
    except DLADenseError:
        return
    _check_frames(frames, len(classes))
    for gt in truth.values():
        assert gt.rows.shape[1] == 9 and np.isfinite(gt.rows).all()
        assert ((gt.rows[:, 0] >= 1) & (gt.rows[:, 0] <= gt.length)).all()


ODGT = [
    {"ID": "a", "gtboxes": [{"tag": "person", "fbox": [1, 2, 10, 20], "extra": {}}]},
    {"ID": "b", "gtboxes": [{"tag": "mask", "fbox": [0, 0, 5, 5], "extra": {"ignore": 1}}, {"fbox": [3, 3, 4, 4]}]},
]


@given(records=_mutations(ODGT), cut=st.none() | st.floats(0, 1))
def test_crowdhuman_odgt_with_structured_mutations(folder, records, cut):
    from dla_dense.data.video import read_crowdhuman

    path = folder / "train.odgt"
    text = "\n".join(json.dumps(r) for r in records) if isinstance(records, list) else json.dumps(records)
    path.write_text(text if cut is None else text[: int(len(text) * cut)])
    try:
        frames = read_crowdhuman(path, folder / "images")
    except DLADenseError:
        return
    for f in frames:
        assert f.boxes.shape == (len(f.labels), 4) and np.isfinite(f.boxes).all() and (f.labels == 0).all()
        assert (f.boxes[:, 2:] >= f.boxes[:, :2]).all()


JDE_ROWS = [[0, 1, 0.5, 0.5, 0.2, 0.4], [1, -1, 0.2, 0.3, 0.1, 0.1], [0, 4, 0.8, 0.6, 0.1, 0.3]]


@given(rows=_mutations(JDE_ROWS), missing=st.booleans(), damage=st.none() | FILE_DAMAGE)
def test_jde_labels_with_structured_mutations(folder, rows, missing, damage):
    from dla_dense.data.video import read_jde

    root = folder / "jde"
    shutil.rmtree(root, ignore_errors=True)
    image = root / "images" / "seq" / "img1" / "000001.jpg"
    image.parent.mkdir(parents=True)
    data = _png(np.zeros((20, 40, 3), np.uint8))
    image.write_bytes(_mangled(data, *damage) if damage else data)
    label = root / "labels_with_ids" / "seq" / "img1" / "000001.txt"
    label.parent.mkdir(parents=True)
    lines = [" ".join(map(str, r)) if isinstance(r, list) else json.dumps(r) for r in rows]
    label.write_text("\n".join(lines))
    (root / "list.txt").write_text("images/seq/img1/000001.jpg\n" + ("images/seq/img1/000002.jpg\n" if missing else ""))
    try:
        frames = read_jde(root, {"set": "list.txt"})
    except DLADenseError:
        return
    _check_frames(frames, 1 + max((int(f.labels.max()) for f in frames if len(f.labels)), default=0))


KEYPOINTS_COCO = {
    "images": [{"id": 1, "file_name": "0.png", "height": 40, "width": 32}, {"id": 2, "file_name": "1.png"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 12], "keypoints": [4, 5, 2, 0, 0, 0, 8, 6, 1]},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [12, 3, 10, 12], "num_keypoints": 0},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [5, 5, 9, 9], "keypoints": [6, 6, 2, 7, 6, 2, 8, 6, 2]},
    ],
    "categories": [{"id": 1, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"], "skeleton": [[1, 2]]}],
}


@given(data=_mutations(KEYPOINTS_COCO))
def test_coco_keypoints_with_structured_mutations(folder, data):
    from dla_dense.data.keypoints import CocoKeypointDataset

    path = folder / "person_keypoints.json"
    path.write_text(json.dumps(data))
    try:
        dataset = CocoKeypointDataset(path, folder / "images")
    except DLADenseError:
        return
    _check_coco_items(dataset)
    joints = dataset.schema.num_joints
    for index in range(len(dataset)):
        with contextlib.suppress(DLADenseError):
            item = dataset.raw_item(index)
            assert item["keypoints"].shape == (len(item["labels"]), joints, 3)
            assert np.isfinite(item["keypoints"]).all()
