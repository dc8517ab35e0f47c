"""What the golden-value scripts share to run the references' own code on CPU (not part of the suite): module
stubs for their unused imports, ``cython_bbox.bbox_overlaps`` by its definition, and FairMOT's ``JDETracker.update``
(or ByteTrack's re-ID tracker's) fed injected detections and embeddings instead of a network."""

from __future__ import annotations

import types
from collections.abc import Sequence

import numpy as np


def stub(name: str, **attrs) -> types.ModuleType:
    """Register an empty module ``name`` (with ``attrs``) in ``sys.modules``."""
    import sys

    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def bbox_overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """samson-wang/cython_bbox semantics: IoU ``[len(a), len(b)]`` with the +1-pixel convention."""
    out = np.zeros((len(a), len(b)))
    for k in range(len(b)):
        area = (b[k, 2] - b[k, 0] + 1) * (b[k, 3] - b[k, 1] + 1)
        for n in range(len(a)):
            iw = min(a[n, 2], b[k, 2]) - max(a[n, 0], b[k, 0]) + 1
            if iw > 0:
                ih = min(a[n, 3], b[k, 3]) - max(a[n, 1], b[k, 1]) + 1
                if ih > 0:
                    ua = (a[n, 2] - a[n, 0] + 1) * (a[n, 3] - a[n, 1] + 1) + area - iw * ih
                    out[n, k] = iw * ih / ua
    return out


def run_jde_tracker(
    module,
    base_track,
    frames: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    conf: float,
    det_thresh: float,
    match_thres: float = 0.4,
    track_buffer: int = 30,
) -> list[dict]:
    """``module.JDETracker.update`` on ``frames`` of ``(dets [N, 5] float32, embeddings [N, D] float32)``, with the
    network, decoding and post-processing replaced by them; per frame the output tracks' ids, boxes and scores.
    ``base_track``: the module's ``BaseTrack`` (its id counter is reset)."""
    import torch

    base_track._count = 0
    opt = types.SimpleNamespace(conf_thres=conf, match_thres=match_thres, K=500, down_ratio=4, ltrb=True,
                                reg_offset=True, num_classes=1)  # fmt: skip
    tracker = module.JDETracker.__new__(module.JDETracker)
    tracker.opt = opt
    tracker.tracked_stracks, tracker.lost_stracks, tracker.removed_stracks = [], [], []
    tracker.frame_id = 0
    tracker.det_thresh = det_thresh
    tracker.buffer_size = tracker.max_time_lost = int(30 / 30.0 * track_buffer)
    tracker.max_per_image = opt.K
    tracker.kalman_filter = module.KalmanFilter()
    out = []
    for dets, feats in frames:
        fake = {"hm": torch.zeros(1, 1, 2, 2), "wh": torch.zeros(1, 4, 2, 2), "reg": torch.zeros(1, 2, 2, 2),
                "id": torch.zeros(1, feats.shape[1], 2, 2)}  # fmt: skip
        tracker.model = lambda x, fake=fake: [dict(fake)]
        module.mot_decode = lambda *a, **k: (torch.zeros(1, 1, 6), None)
        module._tranpose_and_gather_feat = lambda feat, inds, feats=feats: torch.from_numpy(feats.copy())[None]
        tracker.post_process = lambda d, meta: None
        tracker.merge_outputs = lambda d, dets=dets: {1: dets.copy()}
        tracks = tracker.update(torch.zeros(1, 3, 8, 8), np.zeros((8, 8, 3), np.uint8))
        out.append({"ids": [int(t.track_id) for t in tracks], "tlbr": [t.tlbr.tolist() for t in tracks],
                    "scores": [float(t.score) for t in tracks]})  # fmt: skip
    return out
