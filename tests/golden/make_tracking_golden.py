# ruff: noqa: E402
"""Writes tests/golden/tracking_golden.json from the reference code itself, run on CPU (not part of the suite).

Usage: python make_tracking_golden.py SRC OUT.json, where SRC holds CenterTrack e4e7534's ``src/lib`` (as
``SRC/src/lib``) and ByteTrack d1bf019's ``yolox/tracker`` (as ``SRC/yolox/tracker``), e.g. from ``git archive``.
The references' unused imports (scikit-learn's removed ``linear_assignment_``, numba, cython_bbox) are stubbed;
``cython_bbox.bbox_overlaps`` by its +1-pixel definition.
"""

import json
import sys
import types
from pathlib import Path

import numpy as np

np.float = float  # reference code predates NumPy 1.24
SRC = sys.argv[1]
sys.path[:0] = [f"{SRC}/src/lib", SRC, str(Path(__file__).parent)]
from reference_harness import bbox_overlaps

# stubs for imports the pure-numpy parts do not use
sk = types.ModuleType("sklearn.utils.linear_assignment_")
sk.linear_assignment = None
sys.modules.update(
    {
        "sklearn": types.ModuleType("sklearn"),
        "sklearn.utils": types.ModuleType("sklearn.utils"),
        "sklearn.utils.linear_assignment_": sk,
    }
)
nb = types.ModuleType("numba")
nb.jit = lambda *a, **k: lambda f: f
sys.modules["numba"] = nb
cb = types.ModuleType("cython_bbox")


cb.bbox_overlaps = bbox_overlaps
sys.modules["cython_bbox"] = cb
yt = types.ModuleType("yolox")
yt.__path__ = [f"{SRC}/yolox"]
sys.modules["yolox"] = yt

from dataset.generic_dataset import GenericDataset
from utils.tracker import Tracker
from yolox.tracker import matching
from yolox.tracker.basetrack import BaseTrack
from yolox.tracker.byte_tracker import BYTETracker

gold = {}

# --- lapjv cost-limit semantics -------------------------------------------------------------------
cases = [
    ([[0.1, 0.35], [0.35, 0.9]], 0.4),
    ([[0.2, 0.9, 0.3]], 0.5),
    ([[0.5], [0.2], [0.45]], 0.5),
    ([[0.3, 0.3], [0.3, 0.3]], 0.8),
]
gold["lapjv"] = []
for cost, t in cases:
    m, ua, ub = matching.linear_assignment(np.array(cost), t)
    gold["lapjv"].append(
        {"cost": cost, "thresh": t, "matches": m.tolist(), "ua": list(map(int, ua)), "ub": list(map(int, ub))}
    )


# --- BYTE on injected detections -------------------------------------------------------------------
def byte_frames(rng):
    frames = []
    for f in range(14):
        dets = []
        # A: steady, fast mover
        dets.append([20 + 12 * f, 40, 60 + 12 * f, 120, 0.9])
        # B: slows down, low score for frames 4-6 (second association), missing 8-9 (lost, refound)
        if f not in (8, 9):
            x = 300 - 6 * min(f, 6) - 2 * max(f - 6, 0)
            dets.append([x, 60, x + 40, 140, 0.3 if 4 <= f <= 6 else 0.8])
        # C: appears at frame 3 (unconfirmed, confirmed next frame), score exactly track_thresh at 7
        if f >= 3:
            dets.append([150, 200 + 3 * f, 190, 280 + 3 * f, 0.6 if f == 7 else 0.75])
        # D: a one-frame blip at 5 (unconfirmed, then removed)
        if f == 5:
            dets.append([400, 300, 430, 360, 0.95])
        # E: score just above 0.1 floor: ignored when no track
        dets.append([500, 10, 520, 50, 0.12])
        d = np.array(dets, np.float64)
        d[:, :4] += rng.normal(0, 0.5, (len(d), 4))
        frames.append(d)
    return frames


class Args:  # ByteTrack's argparse options
    track_thresh = 0.6
    track_buffer = 2
    match_thresh = 0.8
    mot20 = False


gold["byte"] = []
for mot20 in (False, True):
    Args.mot20 = mot20
    BaseTrack._count = 0
    tracker = BYTETracker(Args, frame_rate=30)
    frames = byte_frames(np.random.RandomState(0))
    out = []
    for d in frames:
        tracks = tracker.update(d.copy(), (1000, 1000), (1000, 1000))
        out.append([[int(t.track_id), [float(v) for v in t.tlbr], float(t.score)] for t in tracks])
    gold["byte"].append(
        {
            "mot20": mot20,
            "track_thresh": 0.6,
            "track_buffer": 2,
            "match_thresh": 0.8,
            "frames": [d.tolist() for d in frames],
            "tracks": out,
        }
    )


# --- CenterTrack tracker step -----------------------------------------------------------------------
class Opt:
    new_thresh = 0.4
    max_age = -1
    hungarian = False
    public_det = False


def ct_case(frames, max_age=-1, public=None):
    Opt.max_age = max_age
    Opt.public_det = public is not None
    tr = Tracker(Opt)
    out = []
    for i, dets in enumerate(frames):
        results = [
            {
                "bbox": np.array(d["bbox"], np.float32),
                "score": d["score"],
                "class": d["class"],
                "ct": np.array(d["ct"], np.float32),
                "tracking": np.array(d["tracking"], np.float32),
            }
            for d in dets
        ]
        pub = None if public is None else [{"ct": np.array(c, np.float32)} for c in public[i]]
        ret = tr.step(results, pub)
        out.append(
            [
                {
                    "id": int(t["tracking_id"]),
                    "bbox": [float(v) for v in t["bbox"]],
                    "score": float(t["score"]),
                    "active": int(t["active"]),
                    "age": int(t["age"]),
                }
                for t in ret
            ]
        )
    return {"frames": frames, "max_age": max_age, "public": public, "tracks": out}


def det(x, y, w, h, s, c=1, t=(0.0, 0.0)):
    return {
        "bbox": [x - w / 2, y - h / 2, x + w / 2, y + h / 2],
        "score": s,
        "class": c,
        "ct": [x, y],
        "tracking": list(t),
    }


seq = [
    [det(100, 100, 20, 40, 0.9), det(200, 100, 20, 40, 0.8), det(300, 300, 10, 10, 0.7, c=2), det(50, 50, 8, 8, 0.4)],
    # two detections compete for track 1 (both predict ~(100,100)); higher score first wins
    [
        det(110, 100, 20, 40, 0.95, t=(-10, 0)),
        det(104, 100, 20, 40, 0.85, t=(-3, 0)),
        # track 2 moved 25 px, within sqrt(area) = 28.28 of its previous centre
        det(225, 100, 20, 40, 0.8, t=(0, 0)),
        # class mismatch with track 3 at the same place
        det(300, 300, 10, 10, 0.9, c=1),
    ],
    # dist > det area (small det far from track) and dist <= track area
    [det(110, 100, 20, 40, 0.9), det(240, 100, 4, 4, 0.8, t=(-10, 0)), det(400, 400, 10, 10, 0.4)],
    [det(112, 100, 20, 40, 0.9, t=(-2, 0))],
]
gold["centertrack"] = [
    ct_case(seq),
    ct_case(seq, max_age=2),
    ct_case(seq, public=[[], [[300, 300]], [[400, 402], [240, 100]], []]),
]


# --- CenterTrack pre heatmap and targets --------------------------------------------------------------
class DOpt:
    input_h, input_w, output_h, output_w, down_ratio = 64, 96, 16, 24, 4
    num_classes = 2
    pre_hm = True
    hm_disturb = 0.0
    lost_disturb = 0.0
    fp_disturb = 0.0
    heads = {"hm": 2, "reg": 2, "wh": 2, "tracking": 2, "ltrb_amodal": 4}
    dense_reg = 1


ds = GenericDataset.__new__(GenericDataset)
ds.opt = DOpt
ds.max_objs = 6
ds.cat_ids = {1: 1, 2: 2, -1: -1, 0: 0}
ds.num_joints = 17


def run_targets(pre_anns, anns, trans_in, trans_out, disturb, seed):
    DOpt.hm_disturb, DOpt.lost_disturb, DOpt.fp_disturb = disturb
    np.random.seed(seed)
    pre_hm, pre_cts, track_ids = ds._get_pre_dets(pre_anns, trans_in, trans_out)
    ret, gt_det = {}, {"bboxes": [], "scores": [], "clses": [], "cts": []}
    ds._init_ret(ret, gt_det)
    for k, ann in enumerate(anns[: ds.max_objs]):
        cls_id = int(ds.cat_ids[ann["category_id"]])
        bbox, bbox_amodal = ds._get_bbox_output(ann["bbox"], trans_out, 0, 0)
        if cls_id <= 0 or ann.get("iscrowd", 0) > 0:
            ds._mask_ignore_or_crowd(ret, cls_id, bbox)
            continue
        ds._add_instance(ret, gt_det, k, cls_id, bbox, bbox_amodal, ann, trans_out, 1, None, pre_cts, track_ids)
    keys = [
        "hm",
        "ind",
        "cat",
        "mask",
        "reg",
        "reg_mask",
        "wh",
        "wh_mask",
        "tracking",
        "tracking_mask",
        "ltrb_amodal",
        "ltrb_amodal_mask",
    ]
    return {
        "pre_hm": pre_hm.tolist(),
        "pre_cts": [c.tolist() for c in pre_cts],
        "track_ids": track_ids,
        **{k: ret[k].tolist() for k in keys},
    }


from utils.image import get_affine_transform

c, s = np.array([60.0, 40.0], np.float32), 120.0
tin = get_affine_transform(c, s, 0, [96, 64])
tout = get_affine_transform(c, s, 0, [24, 16])
pre = [
    {"bbox": [10, 10, 20, 30], "category_id": 1, "track_id": 1},  # in both frames
    {"bbox": [50, 20, 16, 16], "category_id": 2, "track_id": 2},  # only previous
    {"bbox": [70, 40, 12, 20], "category_id": -1, "track_id": 9},  # ignore: drawn in pre_hm
    {"bbox": [90, 5, 10, 10], "category_id": 1, "track_id": 7, "iscrowd": 1},
    {"bbox": [100, 50, 20, 20], "category_id": 1, "track_id": 3},  # crosses the border
    {"bbox": [30, 50, 14, 18], "category_id": 2, "track_id": 4},
]
cur = [
    {"bbox": [14, 12, 20, 30], "category_id": 1, "track_id": 1},
    {"bbox": [70, 40, 12, 20], "category_id": -1, "track_id": 9},
    {"bbox": [105, 52, 30, 20], "category_id": 1, "track_id": 3},  # amodal box leaves the map
    {"bbox": [40, 60, 10, 0.1], "category_id": 2, "track_id": 5},  # vanishes after clipping
    {"bbox": [5, 5, 8, 8], "category_id": 2, "track_id": 6},  # new object
    {"bbox": [0, 0, 120, 80], "category_id": 1, "track_id": 8, "iscrowd": 1},
    {"bbox": [31, 51, 14, 18], "category_id": 2, "track_id": 4},  # beyond max_objs (slot 6)
]
gold["targets"] = {
    "center": c.tolist(),
    "scale": s,
    "input_size": [64, 96],
    "output_size": [16, 24],
    "max_objs": 6,
    "num_classes": 2,
    "pre": pre,
    "cur": cur,
    "cases": [],
}
for disturb, seed in [((0, 0, 0), 0), ((0.05, 0.4, 0.1), 1), ((0.3, 0.5, 0.9), 2), ((0.8, 0.0, 0.0), 3)]:
    r = run_targets(pre, cur, tin, tout, disturb, seed)
    gold["targets"]["cases"].append({"disturb": list(disturb), "seed": seed, **r})

# --- CenterTrack decode and post-process ---------------------------------------------------------------
import torch  # noqa: E402
from model.decode import generic_decode  # noqa: E402
from utils.post_process import generic_post_process  # noqa: E402


class TOpt:
    zero_tracking = False
    out_thresh = 0.3


gold["decode"] = []
for amodal in (False, True):
    g = torch.Generator().manual_seed(7 + amodal)
    maps = {
        "hm": torch.randn(1, 2, 16, 24, generator=g) * 2 - 2,
        "reg": torch.rand(1, 2, 16, 24, generator=g),
        "wh": torch.randn(1, 2, 16, 24, generator=g) * 3 + 4,
        "tracking": torch.randn(1, 2, 16, 24, generator=g),
    }
    if amodal:
        maps["ltrb_amodal"] = torch.randn(1, 4, 16, 24, generator=g) * 3
    out = {k: v.clone() for k, v in maps.items()}
    out["hm"] = out["hm"].sigmoid()
    dets = generic_decode(out, K=100, opt=TOpt)
    dets = {k: v.numpy() for k, v in dets.items()}
    center, scale = np.array([70.0, 40.0], np.float32), 140.0
    results = generic_post_process(TOpt, dets, [center], [scale], 16, 24, 2)[0]
    gold["decode"].append(
        {
            "maps": {k: v.tolist() for k, v in maps.items()},
            "center": center.tolist(),
            "scale": scale,
            "out_thresh": TOpt.out_thresh,
            "results": [
                {
                    "score": float(r["score"]),
                    "class": r["class"],
                    "ct": [float(v) for v in r["ct"]],
                    "tracking": [float(v) for v in r["tracking"]],
                    "bbox": [float(v) for v in r["bbox"]],
                }
                for r in results
            ],
        }
    )

with open(sys.argv[2], "w") as f:
    json.dump(gold, f)
print("written", {k: len(v) for k, v in gold.items()})
