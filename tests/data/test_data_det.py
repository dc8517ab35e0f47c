import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools.coco import COCO

from dla_dense.data.coco import CocoDetDataset
from dla_dense.data.det_transforms import (
    CENTERNET_COCO_MEAN,
    CENTERNET_COCO_STD,
    CenterNetEvalTransform,
    CenterNetTrainTransform,
    _normalize,
    get_affine_transform,
    normalization_table,
    normalize_uint8,
)
from dla_dense.data.synthetic import shapes as synthetic_shapes
from dla_dense.data.synthetic.shapes import make_synthetic_shapes, synthetic_shapes_split
from dla_dense.errors import DLADenseError
from dla_dense.evaluation.coco import COCO_METRICS, coco_evaluate, coco_results
from dla_dense.heads import BoxHead, CenterNetHeads
from dla_dense.inference.detection import transform_preds


def boxes_only(num_classes: int) -> CenterNetHeads:
    """The heads of a detector: the box head only."""
    return CenterNetHeads([BoxHead(num_classes)])


SHAPES = dict(num_train=24, num_val=6, size=(64, 64), seed=0)


def _write_image(path: Path, h: int, w: int, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)


def _tiny_coco() -> dict:
    """Three images (h 40, w 60); categories with ids 7 and 3 (labels: 3 -> 0, 7 -> 1)."""
    ann = [
        (1, 1, 7, [10, 5, 20, 10], 0),  # kept
        (2, 1, 3, [30, 20, 10, 10], 0),  # kept
        (3, 1, 3, [0, 0, 60, 40], 1),  # crowd: ignored
        (4, 1, 7, [5, 5, 0, 10], 0),  # zero width: dropped
        (5, 1, 7, [5, 5, 10, -3], 0),  # negative height: dropped
        (6, 1, 3, [70, 5, 10, 10], 0),  # entirely right of the image: dropped
        (7, 1, 3, [50, -5, 20, 15], 0),  # partly outside: clipped to [50, 0, 60, 10]
        (8, 3, 7, [1, 1, 5, 5], 1),  # crowd only
    ]
    return {
        "images": [{"id": i, "file_name": f"im{i}.png", "height": 40, "width": 60} for i in (1, 2, 3)],
        "annotations": [
            {"id": a, "image_id": im, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": crowd}
            for a, im, c, b, crowd in ann
        ],
        "categories": [{"id": 7, "name": "seven"}, {"id": 3, "name": "three"}],
    }


@pytest.fixture
def tiny_coco(tmp_path) -> tuple[Path, Path]:
    img_dir = tmp_path / "images"
    for i in (1, 2, 3):
        _write_image(img_dir / f"im{i}.png", 40, 60, value=10 * i)
    ann_file = tmp_path / "instances.json"
    ann_file.write_text(json.dumps(_tiny_coco(), indent=1))
    return ann_file, img_dir


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory) -> Path:
    return make_synthetic_shapes(tmp_path_factory.mktemp("shapes") / "set", **SHAPES)


# --- COCO dataset ----------------------------------------------------------------------------------------


def test_coco_dataset_items_and_box_cleaning(tiny_coco, caplog):
    ann_file, img_dir = tiny_coco
    with caplog.at_level(logging.WARNING):
        ds = CocoDetDataset(ann_file, img_dir)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(ann_file) in warnings[0]
    assert "dropped 3" in warnings[0] and "clipped 1" in warnings[0]
    assert (ds.num_dropped, ds.num_clipped) == (3, 1)
    assert ds.classes == ("three", "seven") and ds.cat_ids == (3, 7) and ds.num_classes == 2
    assert len(ds) == 3 and ds.image_ids == [1, 2, 3]

    item = ds[0]
    assert set(item) == {"image", "boxes", "labels", "identities", "image_id", "name"}
    assert item["identities"].tolist() == [-1] * len(item["boxes"])  # no track_id in a plain COCO json
    assert item["image"].shape == (40, 60, 3) and item["image"].dtype == np.uint8 and item["image"][0, 0, 0] == 10
    assert item["boxes"].dtype == np.float32 and item["labels"].dtype == np.int64
    np.testing.assert_array_equal(item["boxes"], [[10, 5, 30, 15], [30, 20, 40, 30], [50, 0, 60, 10]])
    np.testing.assert_array_equal(item["labels"], [1, 0, 0])
    assert item["image_id"] == 1 and item["name"] == "im1.png"
    for index in (1, 2):  # no boxes / crowd only: kept, empty
        assert ds[index]["boxes"].shape == (0, 4) and ds[index]["labels"].shape == (0,)

    data = _tiny_coco()
    del data["images"][1]["height"], data["images"][1]["width"]
    ann_file.write_text(json.dumps(data))
    assert CocoDetDataset(ann_file, img_dir).image_sizes[1] == (40, 60)  # read from the image file

    seen = []
    wrapped = CocoDetDataset(ann_file, img_dir, transform=lambda it: seen.append(it) or "out")
    assert wrapped[0] == "out" and seen[0]["image_id"] == 1


def test_coco_dataset_class_subset(tiny_coco):
    ann_file, img_dir = tiny_coco
    ds = CocoDetDataset(ann_file, img_dir, classes=["seven"])
    assert ds.classes == ("seven",) and ds.cat_ids == (7,)
    np.testing.assert_array_equal(ds[0]["labels"], [0])
    with pytest.raises(DLADenseError, match="'eight' is not a category.*seven"):
        CocoDetDataset(ann_file, img_dir, classes=["eight"])


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_coco_errors(tiny_coco, tmp_path):
    ann_file, img_dir = tiny_coco
    with pytest.raises(DLADenseError) as e:
        CocoDetDataset(tmp_path / "nope.json", img_dir)
    assert "annotation file not found" in _one_line(e) and "nope.json" in str(e.value)
    with pytest.raises(DLADenseError) as e:
        CocoDetDataset(ann_file, tmp_path / "no_images")
    assert "image folder not found" in _one_line(e) and "no_images" in str(e.value)

    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "images": [],\n  "annotations": [,]\n}')
    with pytest.raises(DLADenseError) as e:
        CocoDetDataset(bad, img_dir)
    assert "bad.json" in _one_line(e) and "not valid JSON" in str(e.value) and "line 3" in str(e.value)

    for key in ("images", "annotations", "categories"):
        data = _tiny_coco()
        del data[key]
        bad.write_text(json.dumps(data))
        with pytest.raises(DLADenseError) as e:
            CocoDetDataset(bad, img_dir)
        assert f"missing '{key}'" in _one_line(e) and "bad.json" in str(e.value)

    data = _tiny_coco()
    data["images"].append({"id": 9, "file_name": "ghost.jpg", "height": 4, "width": 4})
    bad.write_text(json.dumps(data))
    with pytest.raises(DLADenseError) as e:
        CocoDetDataset(bad, img_dir)
    assert "'ghost.jpg'" in _one_line(e) and "missing" in str(e.value)

    data = _tiny_coco()
    data["annotations"][0]["category_id"] = 99
    bad.write_text(json.dumps(data))
    with pytest.raises(DLADenseError, match="category_id 99"):
        CocoDetDataset(bad, img_dir)

    data = _tiny_coco()
    del data["annotations"][1]["bbox"]
    bad.write_text(json.dumps(data))
    with pytest.raises(DLADenseError, match=r"annotations\[1\] lacks 'bbox'"):
        CocoDetDataset(bad, img_dir)

    _write_image(img_dir / "im2.png", 30, 60)
    with pytest.raises(DLADenseError, match="im2.png' is 60x30 but .* says 60x40"):
        CocoDetDataset(ann_file, img_dir)[1]


# --- training transform ----------------------------------------------------------------------------------


def _square_item(box: list[int], size: tuple[int, int] = (128, 128)) -> dict:
    image = np.zeros((*size, 3), np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255
    return {
        "image": image,
        "boxes": np.array([box], np.float32),
        "labels": np.array([1]),
        "image_id": 5,
        "name": "x.png",
    }


def test_train_transform_shapes_and_identity_targets():
    item = _square_item([40, 20, 80, 60])
    plain = dict(input_size=(128, 128), scale_range=None, color_aug=False)
    out = CenterNetTrainTransform(boxes_only(3), flip=0.0, **plain)(item)
    assert set(out) == {"image", "hm", "wh", "reg", "ind", "reg_mask", "image_id"} and out["image_id"] == 5
    assert out["image"].shape == (3, 128, 128) and out["image"].dtype == torch.float32
    assert out["hm"].shape == (3, 32, 32) and out["hm"].dtype == torch.float32
    assert out["wh"].shape == (128, 2) and out["reg"].shape == (128, 2)
    assert out["ind"].shape == (128,) and out["ind"].dtype == torch.int64 and out["reg_mask"].dtype == torch.uint8
    # identity input affine: the image is only normalised; output coords = input / 4
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = (item["image"] / 255.0 - mean) / std
    np.testing.assert_allclose(out["image"].permute(1, 2, 0).numpy(), expected, atol=1e-5)
    assert out["hm"][1, 10, 15] == 1.0 and out["hm"][1].argmax() == 10 * 32 + 15
    assert out["hm"][0].max() == 0 and out["hm"][2].max() == 0
    assert out["reg_mask"][0] == 1 and out["reg_mask"][1:].sum() == 0 and out["ind"][0] == 10 * 32 + 15
    np.testing.assert_allclose(out["wh"][0].numpy(), [10, 10])

    flipped = CenterNetTrainTransform(boxes_only(3), flip=1.0, **plain)(item)
    # as in CenterNet, boxes flip to x -> W - x - 1 and the crop centre to W - c - 1, so the net map is
    # x -> W - x for image and boxes alike: box [48, 20, 88, 60] -> centre (17, 10) in output coords
    assert flipped["hm"][1, 10, 17] == 1.0 and flipped["hm"][1].argmax() == 10 * 32 + 17
    np.testing.assert_allclose(flipped["reg"][0].numpy(), [0.0, 0.0])
    img = flipped["image"].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(img[:, 1:], expected[:, ::-1][:, :-1], atol=1e-5)


def test_train_transform_random_crops_keep_boxes_on_objects():
    item = _square_item([60, 30, 100, 70], size=(120, 160))
    transform = CenterNetTrainTransform(
        boxes_only(2), input_size=(96, 96), color_aug=False, border=32, mean=(0, 0, 0), std=(1, 1, 1)
    )
    checked = 0
    for seed in range(12):
        transform.set_random_seed(seed)
        out = transform(item)
        bright = out["image"][0].numpy() > 0.5
        if out["reg_mask"][0] == 0 or not bright.any():
            continue
        ys, xs = np.nonzero(bright)
        if xs.min() == 0 or ys.min() == 0 or xs.max() == 95 or ys.max() == 95:
            continue  # cut by the crop: its drawn extent is not the whole box
        centre = ((xs.min() + xs.max() + 1) / 8, (ys.min() + ys.max() + 1) / 8)
        ct = np.array([out["ind"][0] % 24, out["ind"][0] // 24]) + out["reg"][0].numpy()
        np.testing.assert_allclose(ct, centre, atol=0.5)
        np.testing.assert_allclose(
            out["wh"][0].numpy(), [(xs.max() - xs.min() + 1) / 4, (ys.max() - ys.min() + 1) / 4], atol=0.6
        )
        checked += 1
    assert checked >= 4


def test_train_transform_reproducible_with_set_random_seed(shapes_root):
    ann_file, img_dir = synthetic_shapes_split(shapes_root, "train")
    transform = CenterNetTrainTransform(boxes_only(4), input_size=(64, 64))
    ds = CocoDetDataset(ann_file, img_dir, transform=transform)
    outs = []
    for seed in (3, 3, 4):
        transform.set_random_seed(seed)
        outs.append(ds[1])
    for key in ("image", "hm", "wh", "reg", "ind", "reg_mask"):
        assert torch.equal(outs[0][key], outs[1][key]), key
    assert not torch.equal(outs[0]["image"], outs[2]["image"])


def test_bgr_flag_reorders_channels():
    rng = np.random.default_rng(0)
    item = {"image": rng.integers(0, 256, (32, 48, 3), dtype=np.uint8), "image_id": 1}
    rgb = CenterNetEvalTransform(input_size=(32, 48), mean=(0, 0, 0), std=(1, 1, 1))(item)["image"]
    bgr = CenterNetEvalTransform(input_size=(32, 48), mean=(0, 0, 0), std=(1, 1, 1), bgr=True)(item)["image"]
    assert torch.equal(bgr, rgb.flip(0))
    coco = CenterNetEvalTransform(input_size=(32, 48), mean=CENTERNET_COCO_MEAN, std=CENTERNET_COCO_STD, bgr=True)
    mean, std = torch.tensor(CENTERNET_COCO_MEAN)[:, None, None], torch.tensor(CENTERNET_COCO_STD)[:, None, None]
    torch.testing.assert_close(coco(item)["image"], (rgb.flip(0) - mean) / std)

    train_item = {**item, "boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}
    plain = dict(input_size=(32, 48), scale_range=None, flip=0.0, mean=(0, 0, 0), std=(1, 1, 1))
    a = CenterNetTrainTransform(boxes_only(1), **plain, color_aug=True, seed=1)(train_item)["image"]
    b = CenterNetTrainTransform(boxes_only(1), **plain, color_aug=True, bgr=True, seed=1)(train_item)["image"]
    assert torch.equal(b, a.flip(0))


# --- evaluation transform --------------------------------------------------------------------------------


@pytest.mark.parametrize("bgr", [False, True])
def test_uint8_lookup_normalisation_is_bitwise_the_float_formula(bgr):
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image[0, :3] = [[0, 0, 0], [255, 255, 255], [1, 128, 254]]
    mean, std = np.asarray(CENTERNET_COCO_MEAN, np.float32), np.asarray(CENTERNET_COCO_STD, np.float32)
    expected = _normalize(image.astype(np.float32) / 255.0, mean, std, bgr)
    got = normalize_uint8(image, normalization_table(mean, std), bgr)
    assert got.dtype == torch.float32 and got.shape == (3, 37, 53)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("input_size", [None, (64, 64), (96, 128)])
def test_eval_transform_and_transform_preds_round_trip(input_size):
    item = _square_item([30, 12, 70, 52], size=(75, 100))
    out = CenterNetEvalTransform(input_size=input_size, mean=(0, 0, 0), std=(1, 1, 1))(item)
    meta = out["meta"]
    in_h, in_w = (96, 128) if input_size is None else input_size  # keep_res: (h | 31) + 1
    assert out["image"].shape == (3, in_h, in_w) and out["image_id"] == 5
    assert (meta["out_height"], meta["out_width"]) == (in_h // 4, in_w // 4)

    box = np.array([[30, 12, 70, 52]], np.float64)
    trans = get_affine_transform(meta["c"], meta["s"], (meta["out_width"], meta["out_height"]))
    in_out = np.concatenate([box[:, :2] @ trans[:, :2].T + trans[:, 2], box[:, 2:] @ trans[:, :2].T + trans[:, 2]], 1)
    np.testing.assert_allclose(transform_preds(in_out, meta), box, atol=1e-4)
    np.testing.assert_allclose(transform_preds(torch.from_numpy(in_out), meta, down_ratio=4), box, atol=1e-4)

    # the box found in the warped image, in output coords, maps back onto the drawn square
    ys, xs = np.nonzero(out["image"][0].numpy() > 0.5)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]) / 4
    np.testing.assert_allclose(transform_preds(found, meta), box, atol=1.0)

    collated = torch.utils.data.default_collate([out, out])
    one = {key: value[0] for key, value in collated["meta"].items()}
    np.testing.assert_allclose(transform_preds(in_out, one), box, atol=1e-4)


def _project(calib: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Pixels ``[M, 2]`` of camera points ``[M, 3]`` through ``calib`` ``[3, 4]``."""
    uvw = np.concatenate([points, np.ones((len(points), 1))], 1) @ np.asarray(calib, np.float64).T
    return uvw[:, :2] / uvw[:, 2:]


CALIB = np.array([[700.0, 0.0, 48.0, 45.0], [0.0, 700.0, 36.0, -0.3], [0.0, 0.0, 1.0, 0.005]])
POINTS = np.array([[1.5, 1.2, 20.0], [-3.0, 0.4, 35.0], [0.2, -1.0, 8.0]])


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_train_transform_moves_the_camera_with_the_image(flip):
    """A camera point's pixel, mirrored and warped as the image is, is where the sample's camera projects it."""
    item = {**_square_item([30, 12, 70, 52], size=(75, 100)), "calib": CALIB}
    transform = CenterNetTrainTransform(boxes_only(3), input_size=(64, 64), flip=flip, color_aug=False, seed=3)
    out = transform(item)
    seen = []

    class Spy(CenterNetHeads):
        def warp(self, item, warp):
            seen.append(warp)
            return super().warp(item, warp)

    transform.heads = Spy([BoxHead(3)])
    transform.set_random_seed(3)
    transform(item)
    warp = seen[0]
    pixels = _project(CALIB, POINTS)
    if warp.flipped:
        pixels[:, 0] = 100 - 1 - pixels[:, 0]
    expected = pixels @ warp.matrix[:, :2].T + warp.matrix[:, 2]
    assert out["calib"].shape == (3, 4) and out["calib"].dtype == np.float32 and warp.flipped == bool(flip)
    np.testing.assert_allclose(_project(out["calib"], POINTS), expected, atol=1e-3)


def test_eval_transform_keeps_the_image_fields_and_gives_the_input_to_image_affine():
    item = {**_square_item([30, 12, 70, 52], size=(75, 100)), "calib": CALIB, "frame_id": 4}
    out = CenterNetEvalTransform(input_size=(64, 96))(item)
    assert out["calib"] is CALIB and out["frame_id"] == 4 and out["image_id"] == 5 and "boxes" not in out
    meta = out["meta"]
    to_input = get_affine_transform(meta["c"], meta["s"], (96, 64))
    corners = np.array([[0.0, 0.0], [99.0, 74.0], [50.0, 37.5]])
    in_input = corners @ to_input[:, :2].T + to_input[:, 2]
    np.testing.assert_allclose(in_input @ out["affine"][:, :2].T + out["affine"][:, 2], corners, atol=1e-6)


def test_transform_preds_with_other_down_ratio():
    item = _square_item([10, 10, 20, 20], size=(64, 64))
    meta = CenterNetEvalTransform(input_size=(64, 64))(item)["meta"]
    np.testing.assert_allclose(transform_preds(np.array([[5, 5, 10, 10]]), meta, down_ratio=2), [[10, 10, 20, 20]])


# --- synthetic shapes, COCO results and evaluation -------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_synthetic_shapes_valid_and_deterministic(shapes_root, tmp_path, monkeypatch):
    for split, num in (("train", 24), ("val", 6)):
        ann_file, img_dir = synthetic_shapes_split(shapes_root, split)
        coco = COCO(str(ann_file))
        assert len(coco.getImgIds()) == num and len(list(img_dir.glob("*.png"))) == num
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["circle", "square", "triangle", "cross"]
        for ann in coco.dataset["annotations"]:
            x, y, w, h = ann["bbox"]
            assert ann["iscrowd"] == 0 and 0 < ann["area"] <= w * h and w >= 4 and h >= 4
            assert x >= 0 and y >= 0 and x + w <= 64 and y + h <= 64
    train = CocoDetDataset(*synthetic_shapes_split(shapes_root, "train"))
    counts = [len(train[i]["boxes"]) for i in range(len(train))]
    assert min(counts) == 0 and max(counts) > 1
    assert {int(label) for i in range(len(train)) for label in train[i]["labels"]} == {0, 1, 2, 3}
    assert train.num_dropped == train.num_clipped == 0

    assert _files(make_synthetic_shapes(tmp_path / "again", **SHAPES)) == _files(shapes_root)
    monkeypatch.setattr(synthetic_shapes, "_write_set", lambda *a: pytest.fail("a complete set was rewritten"))
    assert make_synthetic_shapes(shapes_root, **SHAPES) == shapes_root


def test_synthetic_shapes_atomic_and_guarded(tmp_path, monkeypatch):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(DLADenseError, match="not a synthetic shapes set"):
        make_synthetic_shapes(tmp_path / "other", num_train=1, num_val=0)
    with pytest.raises(DLADenseError, match="unknown shape class 'hexagon'"):
        make_synthetic_shapes(tmp_path / "x", classes=("circle", "hexagon"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic_shapes, "render_shapes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_shapes(tmp_path / "set", num_train=2, num_val=1, size=(32, 32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


def test_coco_evaluate_perfect_and_empty(shapes_root):
    ann_file, img_dir = synthetic_shapes_split(shapes_root, "val")
    ds = CocoDetDataset(ann_file, img_dir)
    detections = {}
    for index in range(len(ds)):
        item = ds[index]
        detections[item["image_id"]] = {
            "boxes": item["boxes"],
            "scores": np.ones(len(item["boxes"])),
            "labels": item["labels"],
        }
    results = coco_results(detections, ds)
    assert len(results) == sum(len(d["boxes"]) for d in detections.values())
    first = next(r for r in results)
    assert set(first) == {"image_id", "category_id", "bbox", "score"} and first["category_id"] in (1, 2, 3, 4)
    perfect = coco_evaluate(ds, results)
    assert set(COCO_METRICS) <= set(perfect) and perfect["AP"] == pytest.approx(1.0)
    assert perfect["AP50"] == pytest.approx(1.0)
    assert all(ap in (-1.0, pytest.approx(1.0)) for ap in perfect["per_class"].values())
    assert "Average Precision" in perfect["table"] and "circle" in perfect["table"]

    as_array = {
        k: np.concatenate([d["boxes"], d["scores"][:, None], d["labels"][:, None]], 1) for k, d in detections.items()
    }
    assert coco_results(as_array, ds) == results
    assert coco_evaluate(ann_file, results)["AP"] == pytest.approx(1.0)

    empty = coco_evaluate(ds, [])
    assert empty["AP"] == 0.0 and empty["AP50"] == 0.0
    assert all(ap in (-1.0, 0.0) for ap in empty["per_class"].values())
