# ruff: noqa: E402
"""Writes tests/golden/tracker_classes_golden.json from the reference trackers themselves, run on CPU (not part of
the suite).

Usage: python make_tracker_classes_golden.py SRC OUT.json, where SRC holds ifzhang/FairMOT 4aa6297's ``src/lib``
(as ``SRC/src/lib``), ByteTrack d1bf019's ``yolox/tracker`` (as ``SRC/yolox/tracker``) and its
``tutorials/fairmot/tracker.py`` (as ``SRC/byte_reid_tracker.py``), e.g. from ``git archive``. Run with NumPy 2.

Recorded, on injected detections (float32, as a detector gives them) and embeddings:
- ``classes``: a multi-class video (a rider and its bicycle sharing one box, the bicycle missed and then scored
  low; objects of different classes crossing; an object leaving and coming back; a class that appears late), with
  each reference tracker (BYTE, FairMOT's JDE tracker, ByteTrack's motion + re-ID tracker) run once per class on
  that class's detections — the way the references track several classes;
- ``thresholds``: one class with scores exactly at every threshold in float32 (BYTE's 0.1 / track_thresh /
  track_thresh + 0.1, JDE's conf_thres, the re-ID tracker's 0.2 / conf_thres / conf_thres + 0.1).
Unused imports of the references are stubbed; ``cython_bbox.bbox_overlaps`` by its +1-pixel definition.
"""

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np

np.float = float  # reference code predates NumPy 1.24
SRC, OUT = sys.argv[1], sys.argv[2]
sys.path[:0] = [f"{SRC}/src/lib", SRC, str(Path(__file__).parent)]
from reference_harness import bbox_overlaps, run_jde_tracker, stub

stub("cython_bbox", bbox_overlaps=bbox_overlaps)
stub("dcn_v2", DCN=None)
stub("fvcore")
stub("fvcore.nn", sigmoid_focal_loss_jit=None)
stub("models.model", create_model=None, load_model=None)
stub("tracking_utils.utils")
stub("utils.utils", xyxy2xywh=None, generate_anchors=None, xywh2xyxy=None, encode_delta=None, AverageMeter=None)
yolox = stub("yolox")
yolox.__path__ = [f"{SRC}/yolox"]

import tracker.multitracker as mt
from tracker.basetrack import BaseTrack
from yolox.tracker.basetrack import BaseTrack as ByteBaseTrack
from yolox.tracker.byte_tracker import BYTETracker

spec = importlib.util.spec_from_file_location("tracker.byte_reid", f"{SRC}/byte_reid_tracker.py")
byte_reid = importlib.util.module_from_spec(spec)
spec.loader.exec_module(byte_reid)

rng = np.random.default_rng(3)
DIM = 8
BASE = rng.normal(size=(10, DIM))
BASE /= np.linalg.norm(BASE, axis=1, keepdims=True)


def class_frames():
    """24 frames of ``(boxes+score [N, 5] float32, labels [N], embeddings [N, D] float32)``."""
    frames = []
    for f in range(24):
        rows = []

        def add(box, score, label, who, rows=rows):
            rows.append((box, score, label, who))

        rider = [100 + 5 * f, 100, 150 + 5 * f, 220]
        add(rider, 0.9, 0, 0)  # rider (class 0)
        if f not in (6, 7, 8):  # its bicycle (class 1), same box: missed 6-8, scored low 12-13
            add([rider[0] + 1, rider[1] + 2, rider[2] + 1, rider[3] + 1], 0.3 if f in (12, 13) else 0.8, 1, 1)
        add([300 + 8 * f, 300, 340 + 8 * f, 380], 0.85, 0, 2)  # walker (class 0) crossing a car (class 2)
        add([500 - 8 * f, 305, 560 - 8 * f, 365], 0.75, 2, 3)
        if f < 9 or f > 14:  # class 1 object leaving for six frames, coming back nearby
            add([600, 50 + 2 * f, 640, 120 + 2 * f], 0.7, 1, 4)
        if f >= 5:  # class 2 appearing late, a one-frame blip of class 0 at 10
            add([50, 400 - 3 * f, 110, 450 - 3 * f], 0.65 if f > 5 else 0.45, 2, 5)
        if f == 10:
            add([700, 400, 730, 460], 0.95, 0, 6)
        boxes = np.array([r[0] for r in rows], np.float64) + rng.normal(0, 0.5, (len(rows), 4))
        dets = np.concatenate([boxes, [[r[1]] for r in rows]], 1).astype(np.float32)
        feats = BASE[[r[3] for r in rows]] + 0.05 * rng.normal(size=(len(rows), DIM))
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        frames.append((dets, np.array([r[2] for r in rows]), feats.astype(np.float32)))
    return frames


def threshold_frames(byte_floor, high, start):
    """12 frames of one class, each object scored exactly at one threshold (float32) in some frames."""
    at = np.float32
    frames = []
    for f in range(12):
        rows = [([100 + 4 * f, 100, 140 + 4 * f, 200], at(0.9), 0)]  # steady
        rows.append(([300, 100 + 3 * f, 340, 200 + 3 * f], at(high) if f in (3, 4) else at(0.9), 1))
        rows.append(([500 - 4 * f, 300, 540 - 4 * f, 400], at(start) if f < 3 else at(0.95), 2))  # starts at start
        rows.append(([100, 400, 140, 480], at(byte_floor), 3))  # exactly at the low floor
        if f >= 4:
            rows.append(([600, 300 + 2 * f, 640, 380 + 2 * f], at(start) if f in (4, 5) else at(0.8), 4))
        if 6 <= f < 10:  # a track kept by low-score detections just above / exactly at the floor
            rows[1] = (rows[1][0], at(byte_floor) if f in (6, 7) else at(byte_floor + 0.05), 1)
        boxes = np.array([r[0] for r in rows], np.float64) + rng.normal(0, 0.5, (len(rows), 4))
        dets = np.concatenate([boxes, np.zeros((len(rows), 1))], 1).astype(np.float32)
        dets[:, 4] = [r[1] for r in rows]
        feats = BASE[[r[2] for r in rows]] + 0.05 * rng.normal(size=(len(rows), DIM))
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        frames.append((dets, np.zeros(len(rows), np.int64), feats.astype(np.float32)))
    return frames


def run_byte(frames, track_thresh=0.6, match_thresh=0.8, track_buffer=30):
    ByteBaseTrack._count = 0
    args = types.SimpleNamespace(track_thresh=track_thresh, track_buffer=track_buffer, match_thresh=match_thresh,
                                 mot20=False)  # fmt: skip
    tracker = BYTETracker(args, frame_rate=30)
    out = []
    for dets, _, _ in frames:
        tracks = tracker.update(dets.copy(), (1000, 1000), (1000, 1000))
        out.append({"ids": [int(t.track_id) for t in tracks], "tlbr": [t.tlbr.tolist() for t in tracks],
                    "scores": [float(t.score) for t in tracks]})  # fmt: skip
    return out


def run_reid(module, frames, conf, match_thres=0.4, track_buffer=30):
    """FairMOT's ``JDETracker.update`` (or the re-ID tracker's, whose new tracks need ``conf + 0.1``)."""
    det_thresh = conf if module is mt else conf + 0.1
    pairs = [(dets, feats) for dets, _, feats in frames]
    return run_jde_tracker(module, BaseTrack, pairs, conf=conf, det_thresh=det_thresh, match_thres=match_thres,
                           track_buffer=track_buffer)  # fmt: skip


def per_class(run, frames, **options):
    """The reference run once per class on that class's detections: ``{label: per-frame tracks}``."""
    labels = sorted({int(c) for _, cls, _ in frames for c in cls})
    return {str(c): run([(d[cls == c], cls[cls == c], e[cls == c]) for d, cls, e in frames], **options) for c in labels}


def frames_json(frames):
    return [{"dets": d.tolist(), "labels": c.tolist(), "feats": e.tolist()} for d, c, e in frames]


gold = {}
frames = class_frames()
gold["classes"] = {
    "frames": frames_json(frames),
    "byte": {"options": {"track_thresh": 0.6, "match_thresh": 0.8, "track_buffer": 30},
             "tracks": per_class(run_byte, frames, track_thresh=0.6, match_thresh=0.8, track_buffer=30)},
    "jde": {"options": {"conf_thresh": 0.4, "match_thresh": 0.4, "track_buffer": 30},
            "tracks": per_class(lambda fr, **o: run_reid(mt, fr, **o), frames, conf=0.4)},
    "byte_reid": {"options": {"conf_thresh": 0.4, "match_thresh": 0.4, "track_buffer": 30},
                  "tracks": per_class(lambda fr, **o: run_reid(byte_reid, fr, **o), frames, conf=0.4)},
}  # fmt: skip
byte_frames = threshold_frames(0.1, 0.6, 0.7)
jde_frames = threshold_frames(0.2, 0.4, 0.4)
reid_frames = threshold_frames(0.2, 0.6, 0.7)
gold["thresholds"] = {
    "byte": {"options": {"track_thresh": 0.6, "match_thresh": 0.8, "track_buffer": 30},
             "frames": frames_json(byte_frames), "tracks": run_byte(byte_frames)},
    "jde": {"options": {"conf_thresh": 0.4, "match_thresh": 0.4, "track_buffer": 30},
            "frames": frames_json(jde_frames), "tracks": run_reid(mt, jde_frames, conf=0.4)},
    "byte_reid": {"options": {"conf_thresh": 0.6, "match_thresh": 0.4, "track_buffer": 30},
                  "frames": frames_json(reid_frames), "tracks": run_reid(byte_reid, reid_frames, conf=0.6)},
}  # fmt: skip
with open(OUT, "w") as f:
    json.dump(gold, f)
print("written", OUT, "numpy", np.__version__)
