"""Training with an embedding head: the identity classifier and FairMOT's uncertainty weights are training state,
so a run stopped after its first checkpoint and resumed ends bitwise where an uninterrupted run ends, and the
logged id loss continues where it was (FairMOT#214, #364: its resume reset them and the id loss jumped)."""

import json

import pytest
import torch
from support import write_tiny_config

from dla_dense.config import load_config
from dla_dense.engine.checkpoint import load_training_state
from dla_dense.engine.trainer import train
from dla_dense.tasks import build_task
from dla_dense.tasks.track import TrackTask

#: training runs: the slow tier.
pytestmark = pytest.mark.slow


class Stop(Exception):
    """Stands for the process dying in the middle of an iteration."""


def _losses(work):
    rows = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    return {row["iter"]: (row["id_loss"], row["loss"]) for row in rows if row["mode"] == "train"}


def test_a_resumed_run_ends_with_the_uninterrupted_runs_weights_classifier_and_uncertainty(tmp_path, monkeypatch):
    config = write_tiny_config(
        tmp_path / "reid.py",
        "track",
        model=dict(reid_dim=8),
        train=dict(max_iters=4, val_interval=100, checkpoint_interval=2, log_interval=1, seed=0),
    )
    cfg = load_config(config)
    train(cfg, build_task, work_dir=tmp_path / "full", device="cpu")

    loss, calls = TrackTask.loss, []

    def dying_loss(self, *args):
        calls.append(1)
        if len(calls) == 3:  # the iteration after the first checkpoint
            raise Stop
        return loss(self, *args)

    monkeypatch.setattr(TrackTask, "loss", dying_loss)
    with pytest.raises(Stop):
        train(load_config(config), build_task, work_dir=tmp_path / "killed", device="cpu")
    monkeypatch.setattr(TrackTask, "loss", loss)
    assert not (tmp_path / "killed" / "iter_0000004.pth").exists()
    train(load_config(config), build_task, work_dir=tmp_path / "killed", resume="auto", device="cpu")

    full = load_training_state(tmp_path / "full" / "iter_0000004.pth")
    resumed = load_training_state(tmp_path / "killed" / "iter_0000004.pth")
    assert set(full["criterion"]) == {"id.classifier.weight", "id.classifier.bias", "id.s_det", "id.s_id"}
    first = load_training_state(tmp_path / "full" / "iter_0000002.pth")["criterion"]
    assert not torch.equal(first["id.s_det"], full["criterion"]["id.s_det"])  # they train
    for part in ("model", "criterion"):
        for key, value in full[part].items():
            assert torch.equal(value, resumed[part][key]), (part, key)
    assert _losses(tmp_path / "killed")[3] == _losses(tmp_path / "full")[3]  # id loss and total go on unchanged
