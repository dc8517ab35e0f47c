"""Keypoint schemas from COCO categories, the keypoint dataset and the flip of the multi_pose training transform."""

import json

import numpy as np
import pytest
from PIL import Image

from dla_dense.data.det_transforms import CenterNetTrainTransform
from dla_dense.data.keypoints import (
    COCO_PERSON_KEYPOINTS,
    COCO_PERSON_SIGMAS,
    CocoKeypointDataset,
    flip_pairs_from_names,
    schema_of,
)
from dla_dense.errors import DLADenseError
from dla_dense.heads import BoxHead, CenterNetHeads, KeypointHead


def test_flip_pairs_from_names():
    pairs = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]  # CenterNet's flip_idx
    assert [list(p) for p in flip_pairs_from_names(COCO_PERSON_KEYPOINTS)] == pairs
    assert flip_pairs_from_names(["Left Tip", "Right Tip", "centre"]) == ((0, 1),)
    assert flip_pairs_from_names(["a", "b"]) == ()


def test_schema_of_categories():
    cats = [{"id": 1, "name": "person", "keypoints": list(COCO_PERSON_KEYPOINTS), "skeleton": [[16, 14], [1, 2]]}]
    schema = schema_of(cats, "x.json")
    assert schema.num_joints == 17 and schema.skeleton == ((15, 13), (0, 1))
    assert schema.default_sigmas() == COCO_PERSON_SIGMAS
    assert schema_of(cats, "x.json", flip_pairs=[(0, 1)]).flip_pairs == ((0, 1),)
    plate = schema_of([{"id": 1, "name": "plate", "keypoints": ["a", "b", "c", "d"]}], "x.json")
    assert plate.default_sigmas() is None


@pytest.mark.parametrize(
    "cats, message",
    [
        ([{"id": 1, "name": "person"}], r"category 'person' of 'x.json' has no 'keypoints' list"),
        (
            [{"id": 1, "name": "a", "keypoints": ["p", "q"]}, {"id": 2, "name": "b", "keypoints": ["p", "q", "r"]}],
            r"categories 'a' and 'b' of 'x.json' have different keypoint schemas",
        ),
        ([{"id": 1, "name": "a", "keypoints": ["p"], "skeleton": [[1, 3]]}], r"names joints that do not exist"),
    ],
)
def test_bad_schemas_are_one_line_errors(cats, message):
    with pytest.raises(DLADenseError, match=message) as err:
        schema_of(cats, "x.json")
    assert "\n" not in str(err.value)


def _tiny_set(tmp_path, keypoints):
    (tmp_path / "img").mkdir(parents=True)
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "img" / "a.png")
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 60}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 5, 20, 30], "iscrowd": 0,
                         "area": 600, "keypoints": keypoints}],
        "categories": [{"id": 1, "name": "thing", "keypoints": ["left_end", "right_end", "top"]}],
    }  # fmt: skip
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    return tmp_path / "ann.json", tmp_path / "img"


def test_dataset_items_carry_keypoints_and_wrong_lengths_are_refused(tmp_path):
    ann, img = _tiny_set(tmp_path, [12, 10, 2, 28, 10, 1, 20, 6, 0])
    item = CocoKeypointDataset(ann, img)[0]
    assert item["keypoints"].shape == (1, 3, 3) and item["keypoints"][0, 1].tolist() == [28, 10, 1]
    ann, img = _tiny_set(tmp_path / "bad", [12, 10, 2])
    message = r"annotation 1 of image .a.png. .* does not have 3 keypoints as \(x, y, v\) triples"
    with pytest.raises(DLADenseError, match=message):
        CocoKeypointDataset(ann, img)


def test_training_flip_mirrors_joints_and_swaps_pairs():
    image = np.zeros((64, 64, 3), np.uint8)
    item = {
        "image": image,
        "boxes": np.array([[10, 10, 40, 50]], np.float32),
        "labels": np.array([0]),
        "keypoints": np.array([[[12, 20, 2], [36, 20, 2], [24, 12, 2]]], np.float32),
        "image_id": 1,
    }
    heads = CenterNetHeads([BoxHead(1, max_objs=4), KeypointHead(3, [(0, 1)], max_objs=4)])
    plain = dict(input_size=(64, 64), scale_range=None, color_aug=False)
    kept = CenterNetTrainTransform(heads, **plain, flip=0.0)(item)
    flipped = CenterNetTrainTransform(heads, **plain, flip=1.0)(item)
    # Output map 16x16 (stride 4): joint 0 of the flipped sample is the mirror of joint 1, and vice versa.
    x0, x1 = kept["hps"][0, 0] + kept["ind"][0] % 16, kept["hps"][0, 2] + kept["ind"][0] % 16
    fx0, fx1 = flipped["hps"][0, 0] + flipped["ind"][0] % 16, flipped["hps"][0, 2] + flipped["ind"][0] % 16
    # CenterNet flips the image and its crop centre (width - x - 1 both), so on the map x becomes 16 - x.
    assert fx0.item() == pytest.approx(16 - x1.item(), abs=1e-5)
    assert fx1.item() == pytest.approx(16 - x0.item(), abs=1e-5)
    assert kept["hm_hp"].shape == (3, 16, 16) and kept["hp_mask"][:3].tolist() == [1, 1, 1]
