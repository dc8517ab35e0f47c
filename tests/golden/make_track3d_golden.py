# ruff: noqa: E402
"""Writes tests/golden/track3d_golden.json from CenterTrack's own code, run on CPU (not part of the suite).

Usage: python make_track3d_golden.py SRC OUT.json, where SRC holds CenterTrack e4e7534's ``src/lib`` (as
``SRC/src/lib``, e.g. from ``git archive``). Recorded, for three consecutive frames of seeded random outputs of a
``tracking,ddd`` model (``hm`` 3 classes, ``reg``, ``wh``, ``tracking``, ``rot``, ``dim``, ``dep`` before its
``1 / sigmoid - 1``, ``amodel_offset``; 16 x 24 maps, K 100): ``generic_decode`` then ``generic_post_process`` with
(c, s), KITTI's P2 and ``out_thresh`` (per detection: score, class, ct (the amodal centre in the image), tracking,
bbox, dep, dim, alpha, loc, rot_y), then ``Tracker.step`` of each frame (tracking ids, greedy matching, new_thresh,
max_age -1), once with the amodal offset and once without (ct = the image box centre).
"""

import json
import sys
from pathlib import Path

import numpy as np

np.float = float  # reference code predates NumPy 1.24
SRC = sys.argv[1]
sys.path[:0] = [f"{SRC}/src/lib", str(Path(__file__).parent)]
from reference_harness import stub

# stubs for imports the pure-numpy parts do not use
stub("sklearn")
stub("sklearn.utils")
stub("sklearn.utils.linear_assignment_", linear_assignment=None)
stub("numba", jit=lambda *a, **k: lambda f: f)

import torch
from model.decode import generic_decode
from utils.post_process import generic_post_process
from utils.tracker import Tracker

P2 = np.array([[707.0493, 0, 604.0814, 45.75831], [0, 707.0493, 180.5066, -0.3454157], [0, 0, 1, 0.004981016]],
              np.float32)  # fmt: skip


class Opt:
    zero_tracking = False
    out_thresh = 0.3
    new_thresh = 0.35
    hungarian = False
    public_det = False
    max_age = -1


def frame_maps(seed: int, amodal: bool, base: dict | None) -> dict:
    """Seeded outputs; later frames are the first frame's maps shifted one column right with a little noise, so
    objects move and most keep their tracks."""
    g = torch.Generator().manual_seed(seed)
    if base is None:
        maps = {
            "hm": torch.randn(1, 3, 16, 24, generator=g) * 2 - 5.5,
            "reg": torch.rand(1, 2, 16, 24, generator=g),
            "wh": torch.randn(1, 2, 16, 24, generator=g) * 3 + 5,
            "tracking": torch.randn(1, 2, 16, 24, generator=g) * 0.5,
            "rot": torch.randn(1, 8, 16, 24, generator=g),
            "dim": torch.rand(1, 3, 16, 24, generator=g) * 3 + 0.5,
            "dep": torch.randn(1, 1, 16, 24, generator=g) * 2 - 3,
        }
        if amodal:
            maps["amodel_offset"] = torch.randn(1, 2, 16, 24, generator=g)
        return maps
    moved = {k: torch.roll(v, 1, dims=3) for k, v in base.items()}
    moved["tracking"][:, 0] = -1.0  # where each object was: one column left
    moved["tracking"] = moved["tracking"] + torch.randn(moved["tracking"].shape, generator=g) * 0.2
    moved["hm"] = moved["hm"] + torch.randn(moved["hm"].shape, generator=g) * 0.2
    return moved


gold = {"calib": P2.tolist(), "cases": []}
for amodal in (True, False):
    tracker = Tracker(Opt)
    frames, base = [], None
    for k in range(3):
        maps = frame_maps(11 + k + 10 * amodal, amodal, base)
        base = base or maps
        out = {name: v.clone() for name, v in maps.items()}
        out["hm"] = out["hm"].sigmoid()
        out["dep"] = 1.0 / (out["dep"].sigmoid() + 1e-6) - 1.0
        dets = {name: v.numpy() for name, v in generic_decode(out, K=100, opt=Opt).items()}
        center, scale = np.array([600.0, 180.0], np.float32), 1248.0
        results = generic_post_process(Opt, dets, [center], [scale], 16, 24, 3, calibs=[P2])[0]
        found = [
            {
                "score": float(r["score"]),
                "class": r["class"],
                "ct": [float(v) for v in r["ct"]],
                "tracking": [float(v) for v in r["tracking"]],
                "bbox": [float(v) for v in r["bbox"]],
                "dep": float(r["dep"][0]),
                "dim": [float(v) for v in r["dim"]],
                "alpha": float(r["alpha"]),
                "loc": [float(v) for v in r["loc"]],
                "rot_y": float(r["rot_y"]),
            }
            for r in results
        ]
        tracks = tracker.step([dict(r) for r in results])
        frames.append(
            {
                "maps": {name: v.tolist() for name, v in maps.items()},
                "results": found,
                "tracks": [
                    {"tracking_id": t["tracking_id"], "score": float(t["score"]), "active": t["active"]} for t in tracks
                ],
            }
        )
    gold["cases"].append({"amodal": amodal, "center": [600.0, 180.0], "scale": 1248.0, "frames": frames})

with open(sys.argv[2], "w") as f:
    json.dump(gold, f)
print("written", [[len(fr["results"]) for fr in c["frames"]] for c in gold["cases"]],
      [[len(fr["tracks"]) for fr in c["frames"]] for c in gold["cases"]])  # fmt: skip
