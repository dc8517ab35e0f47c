"""End to end: CenterTrack's 3D tracking on tiny synthetic KITTI tracking videos (trained once per session by
``trained_tiny``): the test tool scores with TrackEval's KITTI protocol and writes KITTI tracking result files with
3D boxes; infer on a sequence folder with the calib folder (its sequence's file) draws 3D tracks beside a bird's-eye
view and writes KITTI rows; a stream gives 3D tracks with the camera it is given."""

import numpy as np
import pytest

from dla_dense import Predictor
from dla_dense.cli import infer, test
from dla_dense.data.kitti_format import read_kitti_calib
from dla_dense.images import load_image
from dla_dense.inference.results3d import Track3dResult

#: end-to-end runs of the tools: the slow tier.
pytestmark = pytest.mark.slow
#: A floor that lets the barely trained tiny model's detections become tracks.
LOW = ["--cfg-options", "evaluation.track_thresh=0.0", "evaluation.pre_thresh=0.0"]


def test_test_scores_with_kittis_protocol_and_writes_kitti_tracking_files(trained_tiny, tmp_path, capsys):
    config, work = trained_tiny("track3d")
    out = tmp_path / "results"
    assert test.main([str(config), str(work / "best.pth"), "--out", str(out), "--device", "cpu", *LOW]) == 0
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("HOTA ") and "Car" in err and "Pedestrian" in err
    assert "Cyclist " not in err  # the protocol scores Car and Pedestrian
    files = sorted(out.glob("*.txt"))
    assert [f.stem for f in files] == ["0000", "0001"]
    rows = [line.split() for f in files for line in f.read_text().splitlines()]
    assert rows and all(len(r) == 18 and r[2] in ("Pedestrian", "Car", "Cyclist") for r in rows)
    assert all(0 <= int(r[0]) < 4 for r in rows)  # frames 0-based within val_half (4 of 8 frames)
    assert any(float(r[15]) > 0 for r in rows)  # a depth, not KITTI's "not given"


def test_infer_on_a_sequence_with_its_calib_draws_3d_tracks(trained_tiny, tmp_path):
    config, work = trained_tiny("track3d")
    data = config.parent / "data" / "training"
    out = tmp_path / "out"
    args = [str(config), str(work / "best.pth"), str(data / "image_02" / "0000"), "--out", str(out)]
    assert infer.main([*args, "--calib", str(data / "calib"), "--save-txt", *LOW]) == 0  # the sequence's file
    drawn = sorted(out.glob("*_tracks3d.jpg"))
    assert len(drawn) == 8
    assert load_image(drawn[0]).size == (192 + 64, 64)  # the frame beside a bird's-eye view as high as it
    lines = (out / "0000.txt").read_text().splitlines()
    assert lines and all(len(line.split()) == 18 for line in lines)


def test_a_stream_gives_3d_tracks_with_the_camera_it_is_given(trained_tiny):
    config, work = trained_tiny("track3d")
    data = config.parent / "data" / "training"
    calib = read_kitti_calib(data / "calib" / "0001.txt")
    predictor = Predictor(config, work / "best.pth", device="cpu", cfg_options=LOW[1:])
    stream = predictor.stream()
    frames = [np.asarray(load_image(p)) for p in sorted((data / "image_02" / "0001").glob("*.png"))[:3]]
    results = [stream(frame, calib=calib) for frame in frames]
    assert all(isinstance(r, Track3dResult) for r in results) and [r.frame for r in results] == [1, 2, 3]
    assert len(results[-1]) > 0
    np.testing.assert_allclose(results[-1].calib, calib)
    boxes3d = results[-1].boxes3d
    assert boxes3d.shape == (len(results[-1]), 7) and np.isfinite(boxes3d).all()
    assert {"id", "location", "dims"} <= set(results[-1].to_json()[0])
