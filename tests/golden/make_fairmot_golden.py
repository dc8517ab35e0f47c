# ruff: noqa: E402
"""Writes tests/golden/fairmot_golden.pt from the reference code itself, run on CPU (not part of the suite).

Usage: python make_fairmot_golden.py SRC OUT.pt, where SRC holds ifzhang/FairMOT 4aa6297's ``src/lib`` (as
``SRC/src/lib``) and ByteTrack d1bf019's ``tutorials/fairmot/tracker.py`` (as ``SRC/byte_reid_tracker.py``), e.g.
from ``git archive``. Unused imports of the references (DCNv2, fvcore, cython_bbox, opts, training utilities) are
stubbed; ``cython_bbox.bbox_overlaps`` by its +1-pixel definition; ImageNet loading is switched off.

Recorded: ``MotLoss.forward`` on random maps and targets (both weightings, identities -1 mixed in, a batch without
identities), ``JointDataset``'s targets and identity offsets, ``JDETracker.update`` and ByteTrack's motion + re-ID
tracker on injected detections and embeddings, and the head maps of FairMOT's ``dlaconv_34`` with deterministic
weights (``tests/support.py``'s ``deterministic_value``).
"""

import importlib.util
import math
import sys
import tempfile
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

np.float = float  # reference code predates NumPy 1.24
SRC, OUT = sys.argv[1], sys.argv[2]
sys.path[:0] = [f"{SRC}/src/lib", str(Path(__file__).parent)]
from reference_harness import bbox_overlaps, run_jde_tracker, stub

stub("cython_bbox", bbox_overlaps=bbox_overlaps)
stub("dcn_v2", DCN=None)
stub("fvcore")
stub("fvcore.nn", sigmoid_focal_loss_jit=None)
stub("opts", opts=None)
stub("progress")
stub("progress.bar", Bar=None)
stub("models.model", create_model=None, load_model=None)
stub("models.data_parallel", DataParallel=None)
stub("tracking_utils.utils")
stub("utils.utils", xyxy2xywh=None, generate_anchors=None, xywh2xyxy=None, encode_delta=None, AverageMeter=None)

import datasets.dataset.jde as jde
import tracker.multitracker as mt
from models.networks import pose_dla_conv
from tracker.basetrack import BaseTrack
from trains.mot import MotLoss

spec = importlib.util.spec_from_file_location("tracker.byte_reid", f"{SRC}/byte_reid_tracker.py")
byte_reid = importlib.util.module_from_spec(spec)
spec.loader.exec_module(byte_reid)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support import deterministic_value

gold = {}
rng = np.random.default_rng(0)
gen = torch.Generator().manual_seed(0)


# --- MotLoss ---------------------------------------------------------------------------------------
def loss_opt(multi_loss, n_id, dim):
    return types.SimpleNamespace(
        mse_loss=False, reg_loss="l1", dense_wh=False, norm_wh=False, cat_spec_wh=False, reid_dim=dim, nID=n_id,
        id_loss="ce", num_stacks=1, hm_weight=1.0, wh_weight=0.1, off_weight=1.0, id_weight=1.0, reg_offset=True,
        multi_loss=multi_loss,
    )  # fmt: skip


def loss_case(ids):
    n, h, w, dim, k = 2, 12, 16, 16, 6
    outputs = {
        "hm": torch.randn(n, 1, h, w, generator=gen),
        "wh": torch.randn(n, 4, h, w, generator=gen) * 4,
        "reg": torch.rand(n, 2, h, w, generator=gen),
        "id": torch.randn(n, dim, h, w, generator=gen),
    }
    hm = torch.rand(n, 1, h, w, generator=gen) * 0.9
    ind = torch.randint(0, h * w, (n, k), generator=gen)
    reg_mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.uint8)
    for b in range(n):
        for j in range(k):
            if reg_mask[b, j]:
                hm[b, 0].view(-1)[ind[b, j]] = 1.0
    batch = {
        "hm": hm,
        "ind": ind,
        "reg_mask": reg_mask,
        "wh": torch.rand(n, k, 4, generator=gen) * 10,
        "reg": torch.rand(n, k, 2, generator=gen),
        "ids": torch.tensor(ids, dtype=torch.int64),
    }
    return outputs, batch


n_id = 9
gold["loss"] = []
for name, ids in [
    ("mixed", [[3, -1, 0, 8, 0, 0], [5, 5, -1, 0, 0, 0]]),
    ("no_identity", [[-1, -1, -1, -1, 0, 0], [-1, -1, -1, 0, 0, 0]]),
]:
    outputs, batch = loss_case(ids)
    case = {"name": name, "outputs": {k: v.clone() for k, v in outputs.items()}, "batch": batch}
    for weighting in ("uncertainty", "fix"):
        torch.manual_seed(1)
        crit = MotLoss(loss_opt(weighting, n_id, 16))
        with torch.no_grad():
            crit.s_det.fill_(-1.7)
            crit.s_id.fill_(-0.9)
        loss, stats = crit([{k: v.clone() for k, v in outputs.items()}], batch)
        case["classifier"] = {k: v.detach().clone() for k, v in crit.classifier.state_dict().items()}
        case[weighting] = {k: torch.as_tensor(v).detach().clone().float() for k, v in stats.items()}
    case["s_det"], case["s_id"], case["nID"] = -1.7, -0.9, n_id
    gold["loss"].append(case)


# --- JointDataset targets and identity offsets -------------------------------------------------------
def joint_dataset(labels_by_ds, tmp):
    """A JointDataset over datasets ``{name: [label array per image]}`` written as JDE files under ``tmp``."""
    paths = OrderedDict()
    for ds, images in labels_by_ds.items():
        lines = []
        for i, labels in enumerate(images):
            img = Path(tmp) / ds / "images" / f"{i:06d}.jpg"
            lab = Path(tmp) / ds / "labels_with_ids" / f"{i:06d}.txt"
            lab.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(lab, np.asarray(labels, np.float64).reshape(-1, 6), fmt="%.6f")
            lines.append(str(img.relative_to(tmp)))
        (Path(tmp) / f"{ds}.train").write_text("\n".join(lines) + "\n")
        paths[ds] = str(Path(tmp) / f"{ds}.train")
    opt = types.SimpleNamespace(K=4, down_ratio=4, ltrb=True, mse_loss=False)
    dataset = jde.JointDataset(opt, tmp, paths, img_size=(96, 64), augment=False)

    def get_data(img_path, label_path):
        return torch.zeros(3, 64, 96), np.loadtxt(label_path).reshape(-1, 6).astype(np.float32), img_path, (64, 96)

    dataset.get_data = get_data
    return dataset


datasets = OrderedDict(
    a=[
        [[0, 0, 0.5, 0.5, 0.2, 0.4], [0, 3, 0.1, 0.2, 0.3, 0.3], [0, -1, 0.97, 0.9, 0.2, 0.3]],
        [[0, 1, 0.5, 0.55, 0.1, 0.5], [0, 2, 0.3, 0.3, 0.05, 0.1]],
    ],
    b=[
        [[0, 0, 0.25, 0.5, 0.3, 0.5], [0, 6, 0.75, 0.5, 0.2, 0.6], [0, -1, 0.6, 0.6, 0.1, 0.1],
         [0, 2, 0.4, 0.1, 0.1, 0.1], [0, 4, 0.9, 0.9, 0.1, 0.1]],
        [[0, 1, 1.02, 0.5, 0.2, 0.4], [0, 5, 0.5, -0.01, 0.3, 0.2]],
    ],
)  # fmt: skip
with tempfile.TemporaryDirectory() as tmp:
    dataset = joint_dataset(datasets, tmp)
    items = [dataset[i] for i in range(len(dataset))]
gold["jde"] = {
    "labels": {k: [np.asarray(v, np.float32).tolist() for v in images] for k, images in datasets.items()},
    "tid_num": {k: int(v) for k, v in dataset.tid_num.items()},
    "tid_start_index": {k: int(v) for k, v in dataset.tid_start_index.items()},
    "nID": int(dataset.nID),
    "items": [{k: torch.as_tensor(np.asarray(v)) for k, v in item.items() if k != "input"} for item in items],
    "output_size": (16, 24),
    "max_objs": 4,
}


# --- JDE tracker and ByteTrack's motion + re-ID tracker on injected detections ----------------------------
def tracker_frames():
    """Twelve frames of 5 objects with embeddings: steady walkers, two that cross, one occluded for three
    frames, one entering late, a one-frame false positive, and low-score detections."""
    dim = 8
    base = rng.normal(size=(6, dim))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    frames = []
    for f in range(12):
        dets, feats = [], []

        def add(box, score, who, noise=0.05, dets=dets, feats=feats):
            feat = base[who] + noise * rng.normal(size=dim)
            dets.append([*box, score])
            feats.append(feat / np.linalg.norm(feat))

        add([100 + 6 * f, 100, 140 + 6 * f, 200], 0.9, 0)  # steady
        add([300 - 3 * f, 120, 340 - 3 * f, 220], 0.8 - 0.01 * f, 1)  # steady, slowly fading score
        add([200 + 10 * f, 300, 240 + 10 * f, 400], 0.85, 2)  # crosses object 3
        add([320 - 10 * f, 305, 360 - 10 * f, 405], 0.7, 3)
        if f not in (4, 5, 6):
            add([500, 50 + 2 * f, 550, 150 + 2 * f], 0.75, 4)  # occluded for three frames
        if f >= 3:
            add([600 + 4 * f, 200, 640 + 4 * f, 290], 0.65 if f > 3 else 0.45, 5)  # enters late
        if f == 7:
            add([700, 400, 730, 460], 0.5, 4, noise=1.0)  # false positive
        if f in (8, 9):
            add([120, 350, 160, 430], 0.3, 1, noise=1.0)  # low score
        frames.append((np.array(dets, np.float32), np.array(feats, np.float32)))
    return frames


def run_tracker(module, frames, conf, match_thres=0.4, track_buffer=30):
    det_thresh = conf if module is mt else conf + 0.1
    return run_jde_tracker(module, BaseTrack, frames, conf=conf, det_thresh=det_thresh, match_thres=match_thres,
                           track_buffer=track_buffer)  # fmt: skip


frames = tracker_frames()
gold["tracker_frames"] = [{"dets": d.tolist(), "feats": e.tolist()} for d, e in frames]
gold["jde_tracker"] = run_tracker(mt, frames, conf=0.4)
gold["jde_tracker_buffer2"] = run_tracker(mt, frames, conf=0.4, track_buffer=2)
gold["byte_reid_tracker"] = run_tracker(byte_reid, frames, conf=0.4, match_thres=0.4)

# --- FairMOT dlaconv_34 head maps ------------------------------------------------------------------------
pose_dla_conv.DLA.load_pretrained_model = lambda self, *a, **k: None
heads = {"hm": 1, "wh": 4, "id": 128, "reg": 2}
ref = pose_dla_conv.get_pose_net(34, heads, head_conv=256).eval()
state = ref.state_dict()
keys = [k for k in state if not k.endswith("num_batches_tracked")]
ref.load_state_dict({k: deterministic_value(k, tuple(state[k].shape)) for k in keys}, strict=False)
x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    maps = ref(x)[0]
gold["model"] = {"keys": keys, "shapes": [list(state[k].shape) for k in keys], "input": x, "heads": heads,
                 "outputs": {k: v.clone() for k, v in maps.items()}}  # fmt: skip
gold["emb_scale"] = math.sqrt(2) * math.log(n_id - 1)
torch.save(gold, OUT)
print("written", OUT)
