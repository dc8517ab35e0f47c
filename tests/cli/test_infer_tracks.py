"""``tools/infer.py`` on folders of video frames: MOT rows numbered by frame even past an unreadable frame, output
paths checked before any frame is predicted; a stream refuses an empty frame in one line; drawing tracks warns of
nothing. An untrained tiny CenterTrack whose heatmap fires everywhere stands in for a trained one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from dla_dense import DLADenseError, build_model, load_config
from dla_dense.cli import infer
from dla_dense.drawing import draw_tracks
from dla_dense.predictor import Predictor


@pytest.fixture
def loud_track(tiny_config, tmp_path):
    """``(config, checkpoint, frames folder)``: frames ``seq/img1/000001..5.jpg``, the third unreadable."""
    config = tiny_config("track")
    model = build_model(load_config(config))
    state = model.state_dict()
    state["hm.2.bias"] = torch.full_like(state["hm.2.bias"], 4.0)
    checkpoint = tmp_path / "loud.pth"
    torch.save({"model": state}, checkpoint)
    folder = tmp_path / "frames" / "seq" / "img1"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(1, 6):
        path = folder / f"{k:06d}.jpg"
        if k == 3:
            path.write_bytes(b"not a jpeg")
        else:
            Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(path)
    return config, checkpoint, folder


def test_save_txt_numbers_rows_by_frame_past_an_unreadable_frame(loud_track, tmp_path, capsys):
    config, checkpoint, folder = loud_track
    out = tmp_path / "out"
    assert infer.main([str(config), str(checkpoint), str(folder), "--out", str(out), "--save-txt"]) == 2
    assert "1 of 5 input(s) could not be read" in capsys.readouterr().err
    frames = {int(line.split(",")[0]) for line in (out / "seq.txt").read_text().splitlines()}
    assert frames <= {1, 2, 4, 5} and {4, 5} <= frames  # the MOT rows line up with the ground truth's frames


def test_a_text_output_that_is_a_folder_is_refused_before_any_frame(loud_track, tmp_path, capsys):
    config, checkpoint, folder = loud_track
    out = tmp_path / "out"
    (out / "seq.txt").mkdir(parents=True)
    assert infer.main([str(config), str(checkpoint), str(folder), "--out", str(out), "--save-txt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --save-txt:") and "seq.txt' is a folder" in err[-1]
    assert not list(out.glob("*.jpg"))  # nothing predicted or drawn


def test_a_stream_refuses_an_empty_frame_in_one_line(tiny_config):
    stream = Predictor(tiny_config("track")).stream()
    with pytest.raises(DLADenseError, match="the image is empty \\(0 x 10 pixels\\)"):
        stream(np.zeros((0, 10, 3), np.uint8))
    assert stream(np.zeros((32, 48, 3), np.uint8)) is not None  # the stream goes on


def test_drawing_tracks_gives_no_library_warning():
    image = np.full((40, 60, 3), 90, np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawn = draw_tracks(image, np.array([[5, 5, 30, 30]], np.float32), np.array([3]), np.array([0]), ("person",))
    assert drawn.shape == image.shape and (drawn != image).any()


def test_an_inverted_box_of_an_early_model_is_drawn_not_a_crash():
    image = np.full((40, 60, 3), 90, np.uint8)
    drawn = draw_tracks(image, np.array([[30, 30, 5, 5]], np.float32), np.array([1]), np.array([0]), ("person",))
    assert (drawn != image).any()


def test_a_stream_follows_objects_with_the_tracker_it_is_given(loud_track, tiny_config, tmp_path, capsys):
    config, checkpoint, folder = loud_track
    predictor = Predictor(config, checkpoint)
    frame = np.array(Image.open(folder / "000001.jpg"))
    for name, kind in [(None, "CenterTrackTracker"), ("byte", "ByteTracker"), ("iou", "IouTracker")]:
        stream = predictor.stream(tracker=name)
        first, _ = stream(frame), stream(frame)
        assert type(stream.state.main).__name__ == kind and list(stream.state.trackers) == [name or "centertrack"]
        assert len(first.track_ids) and stream.frames == 2
    with pytest.raises(DLADenseError, match="evaluation.tracker='jde' associates by appearance embeddings"):
        predictor.stream(tracker="jde")
    with pytest.raises(DLADenseError, match="unknown tracker 'sort'; use one of"):
        predictor.stream(tracker="sort")
    with pytest.raises(DLADenseError, match="task 'det' does not follow objects through a video"):
        Predictor(tiny_config("det")).stream(tracker="byte")

    out = tmp_path / "out"
    assert infer.main([str(config), str(checkpoint), str(folder), "--out", str(out), "--tracker", "jde"]) == 2
    assert "appearance embeddings" in capsys.readouterr().err and not any(out.glob("*"))
    args = [str(config), str(checkpoint), str(folder / "000001.jpg"), "--out", str(out), "--tracker", "iou"]
    assert infer.main(args) == 0 and (out / "000001_tracks.jpg").is_file()
