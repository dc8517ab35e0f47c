"""3D results: KITTI rows, JSON, the picture of projected cuboids beside a bird's-eye view; the Predictor places
detections with the camera given per image (``calib=``) and with CenterTrack's default camera without one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dla_dense import Predictor, build_model, load_config
from dla_dense.data.kitti_format import parse_kitti_objects
from dla_dense.inference.results import DrawOptions
from dla_dense.inference.results3d import Det3dResult, Track3dResult

P2 = np.array([[350.0, 0, 200, 20], [0, 350, 60, 0], [0, 0, 1, 0.005]])


def _result() -> Det3dResult:
    return Det3dResult(
        image=np.full((120, 400, 3), 90, np.uint8),
        boxes=np.array([[150, 50, 230, 90], [300, 55, 320, 80]], np.float32),
        scores=np.array([0.9, 0.2], np.float32),
        labels=np.array([1, 0]),
        class_names=("Pedestrian", "Car", "Cyclist"),
        alpha=np.array([-1.6, 0.3], np.float32),
        dims=np.array([[1.5, 1.6, 3.9], [1.7, 0.6, 0.8]], np.float32),
        locations=np.array([[0.5, 1.6, 12.0], [4.0, 1.6, 20.0]], np.float32),
        rotation_y=np.array([-1.55, 0.5], np.float32),
        calib=P2,
    )


def test_kitti_rows_json_and_boxes3d():
    result = _result()
    rows = parse_kitti_objects(result.to_kitti(), "result", scores=True)
    assert rows.types == ("Car", "Pedestrian") and rows.scores.tolist() == pytest.approx([0.9, 0.2])
    np.testing.assert_allclose(rows.locations, result.locations, atol=1e-4)
    np.testing.assert_allclose(result.boxes3d[0], [0.5, 1.6, 12.0, 3.9, 1.6, 1.5, -1.55], atol=1e-6)
    entry = result.to_json()[0]
    assert entry["class"] == "Car" and entry["location"] == [0.5, 1.6, 12.0] and entry["dims"] == [1.5, 1.6, 3.9]
    assert len(result.above(0.5)) == 1


def test_the_picture_has_the_cuboids_and_a_birds_eye_view_beside_them():
    result = _result()
    picture = result.draw(DrawOptions(score_thr=0.1))
    assert picture.shape == (120, 400 + 120, 3)
    image, view = picture[:, :400], picture[:, 400:]
    assert (image != 90).any(axis=2).sum() > 200  # edges of two cuboids and their labels
    assert (view[:-10] != 32).any(axis=2).sum() > 50  # the grid and two rectangles
    only_car = result.draw(DrawOptions(score_thr=0.5))[:, 400:]
    assert (only_car != 32).any(axis=2).sum() < (view != 32).any(axis=2).sum()


def test_tracks_are_all_drawn_with_their_ids_and_written_as_kitti_tracking_rows():
    base = _result()
    tracks = Track3dResult(**{**base.fields_of(), "image": base.image, "class_names": base.class_names},
                           calib=P2, track_ids=np.array([4, 7]), frame=3)  # fmt: skip
    # the tracker chose the tracks: a low-scoring one is drawn whatever the drawing threshold
    assert np.array_equal(tracks.draw(DrawOptions(score_thr=0.5)), tracks.draw(DrawOptions(score_thr=0.1)))
    assert not np.array_equal(tracks.draw(DrawOptions(score_thr=0.5)), base.draw(DrawOptions(score_thr=0.1)))
    rows = [row.split() for row in tracks.text_rows(3)]
    assert [r[:3] for r in rows] == [["2", "4", "Car"], ["2", "7", "Pedestrian"]]  # frame 0-based in label_02
    assert [float(v) for v in rows[1][13:16]] == pytest.approx([4.0, 1.6, 20.0])
    assert [entry["id"] for entry in tracks.to_json()] == [4, 7]


def test_the_predictor_places_boxes_with_the_camera_of_each_image(tiny_config):
    config = tiny_config("ddd")
    model = build_model(load_config(config))
    state = model.state_dict()
    state["hm.2.bias"] = torch.full_like(state["hm.2.bias"], 4.0)  # every location fires
    predictor = Predictor(config, model=model.eval(), device="cpu")
    predictor.model.load_state_dict(state)
    image = np.random.default_rng(0).integers(0, 256, (64, 192, 3), dtype=np.uint8)
    near = predictor(image, calib=P2)
    default = predictor(image)
    assert isinstance(near, Det3dResult) and len(near) and near.fields["calib"] is P2
    np.testing.assert_allclose(near.calib, P2)
    np.testing.assert_allclose(default.calib[0, 0], 1200)
    np.testing.assert_allclose(near.locations[:, 2], default.locations[:, 2] - P2[2, 3], atol=1e-4)  # same depth
    assert not np.allclose(near.locations[:, 0], default.locations[:, 0])  # another focal length: other x
    # the unprojected bottom centre, lifted by half the height, projects back onto the box centre
    centre = near.locations + np.stack([np.zeros(len(near)), -near.dims[:, 0] / 2, np.zeros(len(near))], 1)
    uvw = np.concatenate([centre, np.ones((len(near), 1))], 1) @ P2.T
    boxes = near.boxes
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], (boxes[:, :2] + boxes[:, 2:]) / 2, atol=0.05)
