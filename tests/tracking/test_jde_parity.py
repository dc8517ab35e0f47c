"""The JDE tracker and ByteTrack's motion + re-ID tracker against FairMOT's ``JDETracker.update`` and ByteTrack's
``tutorials/fairmot/tracker.py`` on injected detections and embeddings (``tests/golden/make_fairmot_golden.py``)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dla_dense.errors import DLADenseError
from dla_dense.tracking import ByteReidTracker, JdeTracker

GOLD = torch.load(Path(__file__).parents[1] / "golden" / "fairmot_golden.pt", weights_only=True)


def _frames(labels=None):
    for k, frame in enumerate(GOLD["tracker_frames"]):
        dets = np.asarray(frame["dets"], np.float32).reshape(-1, 5)
        yield {
            "boxes": dets[:, :4],
            "scores": dets[:, 4],
            "labels": np.zeros(len(dets), np.int64) if labels is None else labels(k, len(dets)),
            "embeddings": np.asarray(frame["feats"], np.float32).reshape(len(dets), -1),
        }


@pytest.mark.parametrize(
    ("name", "tracker"),
    [
        ("jde_tracker", lambda: JdeTracker(conf_thresh=0.4)),
        ("jde_tracker_buffer2", lambda: JdeTracker(conf_thresh=0.4, track_buffer=2)),
        ("byte_reid_tracker", lambda: ByteReidTracker(conf_thresh=0.4, match_thresh=0.4)),
    ],
)
def test_tracker_equals_the_reference_frame_by_frame(name, tracker):
    tracker = tracker()
    for frame, expected in zip(_frames(), GOLD[name], strict=True):
        out = tracker.update(frame)
        assert out["track_ids"].tolist() == expected["ids"]
        np.testing.assert_allclose(out["boxes"], np.asarray(expected["tlbr"]).reshape(-1, 4), atol=1e-3)
        np.testing.assert_allclose(out["scores"], expected["scores"], atol=1e-6)


def test_the_sequence_exercises_re_finding_confirmation_and_removal():
    ids = [frame["ids"] for frame in GOLD["jde_tracker"]]
    assert 5 not in ids[4] and 5 in ids[7]  # occluded three frames, found again with its id
    assert 6 not in ids[3] and 6 in ids[4]  # entered on frame 4, output from its second match
    assert all(7 not in frame for frame in ids)  # the one-frame false positive never confirmed
    byte = [frame["ids"] for frame in GOLD["byte_reid_tracker"]]
    assert byte != ids  # the low-score stage and the higher new-track threshold change the outcome


def test_a_track_never_changes_class():
    """Two classes with the same embeddings: matching stays within a class, so every id keeps its class."""
    tracker = JdeTracker(conf_thresh=0.4)
    classes: dict[int, int] = {}
    for frame in _frames(labels=lambda k, n: (np.arange(n) + (k > 5)) % 2):
        out = tracker.update(frame)
        for track_id, label in zip(out["track_ids"], out["labels"], strict=True):
            assert classes.setdefault(int(track_id), int(label)) == label


def test_without_embeddings_the_jde_tracker_says_what_to_do():
    frame = next(_frames())
    del frame["embeddings"]
    with pytest.raises(DLADenseError, match="needs detections with embeddings"):
        JdeTracker().update(frame)
