"""Fingerprint of training behaviour: each demo config trained a few iterations with one seed.

usage: python tests/golden/fingerprint_demos.py OUT.json [--iters N] [--only seg,det,...]

For each demo config (seg, det, pose, track, fairmot) it runs ``tools/train.py`` for N iterations (evaluation at
the end) in a temporary work dir and records the SHA-256 of every tensor of the final checkpoint's weights (and of
the learned loss, FairMOT's identity classifier) and the logged metrics. Run it on two commits and compare the JSON
files: a restructure that changes no behaviour gives identical files (``diff a.json b.json``).
"""

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
DEMOS = {
    "seg": "configs/demo_dla34.py",
    "det": "configs/demo_centernet_dla34.py",
    "pose": "configs/demo_pose_dla34.py",
    "track": "configs/demo_track_dla34.py",
    "fairmot": "configs/demo_fairmot_dla34.py",
}


def fingerprint(name: str, config: str, iters: int, work: Path) -> dict:
    """Train ``config`` ``iters`` iterations in ``work``; the weights' hashes and the metrics records."""
    cmd = [
        sys.executable,
        "tools/train.py",
        config,
        "--work-dir",
        str(work),
        "--seed",
        "0",
        "--amp",
        "none",
        "--cfg-options",
        f"train.max_iters={iters}",
        f"train.val_interval={iters}",
        f"train.checkpoint_interval={iters}",
        "train.log_interval=1",
        "data.num_workers=0",
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    saved = torch.load(work / f"iter_{iters:07d}.pth", map_location="cpu", weights_only=True)
    learned = {f"criterion.{k}": v for k, v in (saved.get("criterion") or {}).items()}  # FairMOT's id classifier
    weights = {
        k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest()[:16]
        for k, v in {**saved["model"], **learned}.items()
    }
    records = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    for r in records:
        for k in [k for k in r if "time" in k or k in ("eta", "sec_per_iter", "s_per_iter", "lr_time")]:
            r.pop(k)
    return {"weights": weights, "metrics": records}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--only", default=",".join(DEMOS))
    args = ap.parse_args()
    out = {}
    for name in args.only.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = fingerprint(name, DEMOS[name], args.iters, Path(tmp))
        print(name, "done", flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
