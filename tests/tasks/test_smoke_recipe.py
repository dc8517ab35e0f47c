"""The ``ddd`` task with SMOKE's recipe on the tiny synthetic KITTI set: a real training batch gives a finite
``hm_loss`` and ``reg_loss`` whose gradients reach every parameter; random batches have the real items' keys and
shapes; evaluation gives the KITTI metric; predictions are 3D results that a saved checkpoint reproduces through
the Predictor; CenterTrack's crops are refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from support import write_tiny_config
from torch.utils.data import default_collate

from dla_dense import Predictor
from dla_dense.config import load_config
from dla_dense.dist import DistInfo
from dla_dense.engine.checkpoint import save_checkpoint
from dla_dense.errors import DLADenseError
from dla_dense.inference.results3d import Det3dResult
from dla_dense.tasks import TASKS
from dla_dense.tasks.parts import probe

SMOKE = dict(
    model=dict(recipe="smoke"),
    data=dict(augmentation="smoke", hflip=True, aug=0.3, shift=0.2, classes=("Car", "Cyclist", "Pedestrian")),
)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke_recipe")
    cfg = load_config(write_tiny_config(base / "smoke.py", "ddd", base / "kitti", **SMOKE))
    task = TASKS["ddd"](cfg)
    task.prepare()
    return task


def test_a_real_batch_trains_every_parameter(task):
    torch.manual_seed(0)
    model = task.build_model().train()
    train = task.train_set()
    batch = default_collate([train[i] for i in range(len(train))])
    assert batch["reg_mask"].any()
    terms = task.loss(model, batch, torch.device("cpu"))
    assert set(terms) == {"hm_loss", "reg_loss"} and all(torch.isfinite(t) and t > 0 for t in terms.values())
    task.total_loss(terms).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.regression[3].weight.grad.abs().sum() > 0  # SMOKE layout: conv, GroupNorm, ReLU, conv

    random = probe(task).random_batch(2, tuple(batch["image"].shape[-2:]), torch.device("cpu"))
    assert set(random) <= set(batch), set(random) - set(batch)
    for key, value in random.items():
        assert value.shape[1:] == batch[key].shape[1:], key


def test_evaluate_predict_and_a_saved_checkpoint_agree(task, tmp_path):
    torch.manual_seed(0)
    model = task.build_model().eval()
    metrics = task.evaluate(model, task.val_set(), DistInfo(device=torch.device("cpu")))
    assert task.metric in metrics
    images = [np.random.default_rng(i).integers(0, 256, (64, 192, 3), dtype=np.uint8) for i in range(2)]
    with torch.no_grad():
        results = task.predict(model, images)
    assert all(isinstance(r, Det3dResult) and r.boxes3d.shape[1] == 7 for r in results)
    path = save_checkpoint(tmp_path / "model.pth", {"model": model.state_dict(), "meta": task.meta()})
    again = Predictor(task.cfg, path, device="cpu")(images)
    for a, b in zip(results, again, strict=True):
        assert json.dumps(a.to_json()) == json.dumps(b.to_json())


def test_centertrack_crops_are_refused_in_one_line(task):
    task.cfg.data.augmentation = "centertrack"
    try:
        with pytest.raises(DLADenseError, match="data.augmentation='smoke'"):
            task.train_transform()
    finally:
        task.cfg.data.augmentation = "smoke"


def test_a_class_without_a_smoke_reference_size_is_one_line(task):
    task.cfg.data.classes = ("Car", "Van")
    try:
        with pytest.raises(DLADenseError, match="SMOKE has no reference size of Van; set data.classes"):
            task.build_model()
    finally:
        task.cfg.data.classes = ("Car", "Cyclist", "Pedestrian")
