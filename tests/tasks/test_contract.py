"""Contract of every registered task x a few backbones on tiny inputs (as timm's test_models and smp's
BaseModelTester): output shapes, a loss of finite named terms, a backward pass with finite gradients that
reach the model, a state-dict round trip, and config schemas that are the task's own."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from support import tiered, write_tiny_config

from dla_dense.config import default_config, load_config
from dla_dense.export import export_outputs
from dla_dense.inference.results import DrawOptions
from dla_dense.models.inputs import example_inputs
from dla_dense.tasks import TASKS
from dla_dense.tasks.parts import probe
from dla_dense.tracking import build_tracker

BACKBONES = ("dla46_c", "dla34")
SIZE = (64, 96)
NUM_CLASSES = 3

#: The model's output for images ``[N, 3, H, W]``: a shape or a dict of shapes (stride 4 for CenterNet).
EXPECTED = {
    "ddd": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 2, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
        "rot": (n, 8, h // 4, w // 4),
        "dim": (n, 3, h // 4, w // 4),
        "dep": (n, 1, h // 4, w // 4),
    },
    "seg": lambda n, h, w: (n, NUM_CLASSES, h, w),
    "det": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 2, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
    },
    "cls": lambda n, h, w: (n, NUM_CLASSES),
    "track": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 2, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
        "tracking": (n, 2, h // 4, w // 4),
        "ltrb_amodal": (n, 4, h // 4, w // 4),
    },
    "track3d": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 2, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
        "tracking": (n, 2, h // 4, w // 4),
        "rot": (n, 8, h // 4, w // 4),
        "dim": (n, 3, h // 4, w // 4),
        "amodel_offset": (n, 2, h // 4, w // 4),
        "dep": (n, 1, h // 4, w // 4),
    },
    "fairmot": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 4, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
        "id": (n, 128, h // 4, w // 4),
    },
    "pose": lambda n, h, w: {
        "hm": (n, NUM_CLASSES, h // 4, w // 4),
        "wh": (n, 2, h // 4, w // 4),
        "reg": (n, 2, h // 4, w // 4),
        "hps": (n, 34, h // 4, w // 4),
        "hm_hp": (n, 17, h // 4, w // 4),
        "hp_offset": (n, 2, h // 4, w // 4),
    },
}


def _task(name: str, backbone: str):
    model = {"backbone": backbone, "num_classes": NUM_CLASSES, "pretrained": False}
    if "head_conv" in {f.name for f in dataclasses.fields(TASKS[name].schemas["model"])}:
        model["head_conv"] = 16
    cfg = default_config(name, **model)
    cfg.data.classes = ("road", "sidewalk", "building")  # names every task accepts, so meta() needs no dataset
    return TASKS[name](cfg)


def _shapes(out):
    return {k: tuple(v.shape) for k, v in out.items()} if isinstance(out, dict) else tuple(out.shape)


def test_every_task_has_an_expected_output():
    assert set(EXPECTED) == set(TASKS)


@pytest.mark.parametrize("backbone", tiered(BACKBONES, ["dla34"]))  # the full DLA-34 in the full run
@pytest.mark.parametrize("name", list(TASKS))
def test_forward_loss_backward_round_trip(name, backbone):
    task = _task(name, backbone)
    model = task.build_model()
    criterion = task.build_criterion(identities=12)
    batch = probe(task).random_batch(2, SIZE, torch.device("cpu"))
    model.train()
    terms = task.loss(model, batch, torch.device("cpu"))
    assert terms and all(t.dim() == 0 and torch.isfinite(t) for t in terms.values()), terms
    weights = task.loss_weights() if hasattr(task, "loss_weights") else {}  # the heads' (CenterNet family)
    assert set(weights) <= set(terms)
    total = task.total_loss(terms)
    if criterion is None:  # the learned weighting of an embedding head: test_an_embedding_head_on_every_box_task
        expected_total = sum(weights.get(k, 1.0) * v for k, v in terms.items())
        torch.testing.assert_close(total, expected_total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0

    model.eval()
    x = list(example_inputs(model, SIZE, 2).values())
    with torch.no_grad():
        out = model(*x)
    assert _shapes(out) == EXPECTED[name](2, *SIZE)
    again = task.build_model()
    again.load_state_dict(model.state_dict())
    again.eval()
    with torch.no_grad():
        out_again = again(*x)
    for a, b in zip(*(list(o.values()) if isinstance(o, dict) else [o] for o in (out, out_again)), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("name", list(TASKS))
def test_meta_and_export_outputs(name, tmp_path):
    task = TASKS[name](load_config(write_tiny_config(tmp_path / "tiny.py", name)))
    task.prepare()
    meta = task.meta()
    assert meta["task"] == name and len(meta["mean"]) == len(meta["std"]) == 3
    model = task.build_model().eval()
    module, names, _ = export_outputs(model)
    with torch.no_grad():
        out = module(*example_inputs(model, SIZE).values())
    assert len(out if isinstance(out, tuple) else (out,)) == len(names)
    expected = EXPECTED[name](1, *SIZE)
    if isinstance(expected, dict):  # the exported outputs' names, in the heads' order
        assert names == list(expected)


@pytest.mark.parametrize("name", list(TASKS))
def test_schemas_are_the_tasks_own(name):
    schemas = TASKS[name].schemas
    assert set(schemas) == {"model", "data", "evaluation"}
    cfg = default_config(name)
    assert cfg.model.task == name
    for section, schema in schemas.items():
        assert isinstance(getattr(cfg, section), schema)


@pytest.mark.parametrize("name", list(TASKS))
def test_random_batch_predict_evaluate_and_checkpoint_round_trip(name, tmp_path):
    """On the task's tiny synthetic set: ``random_batch`` has the keys and shapes of a real training item;
    ``predict`` gives one typed result per image; ``evaluate`` gives the task's metric; a checkpoint saved with
    the task's meta predicts the same through :class:`~dla_dense.Predictor`."""
    from dla_dense import Predictor
    from dla_dense.dist import DistInfo
    from dla_dense.engine.checkpoint import save_checkpoint
    from dla_dense.inference.results import ResultBase

    cfg = load_config(write_tiny_config(tmp_path / f"{name}.py", name))
    task = TASKS[name](cfg)
    task.prepare()
    real = task.train_set()[0]
    size = tuple(real["image"].shape[-2:])
    batch = probe(task).random_batch(2, size, torch.device("cpu"))
    assert set(batch) <= set(real), set(batch) - set(real)
    for key, value in batch.items():
        expected = tuple(real[key].shape) if isinstance(real[key], torch.Tensor) else ()
        assert tuple(value.shape) == (2, *expected), key

    torch.manual_seed(0)
    model = task.build_model().eval()
    metrics = task.evaluate(model, task.val_set(), DistInfo(device=torch.device("cpu")))
    assert task.metric in metrics

    images = [np.random.default_rng(i).integers(0, 256, (48, 80, 3), dtype=np.uint8) for i in range(2)]
    with torch.no_grad():
        results = task.predict(model, images)
    assert len(results) == 2 and all(isinstance(r, ResultBase) for r in results)
    assert all(r.draw(DrawOptions()).shape[0] == 48 for r in results)  # the image's height (a legend may widen it)

    path = save_checkpoint(tmp_path / "model.pth", {"model": model.state_dict(), "meta": task.meta()})
    again = Predictor(cfg, path, device="cpu")(images)
    for a, b in zip(results, again, strict=True):
        assert type(a) is type(b)
        assert json.dumps(a.to_json()) == json.dumps(b.to_json())


@pytest.mark.parametrize("name", ["det", "track", "pose", "fairmot"])
def test_an_embedding_head_on_every_box_task(name):
    """``model.reid_dim`` adds the ``id`` map; its loss trains the network, the identity classifier and FairMOT's
    uncertainty weights, whose total is ``0.5 * (exp(-s_det) * det + exp(-s_id) * id + s_det + s_id)``."""
    task = _task(name, "dla46_c")
    task.cfg.model.reid_dim, task.cfg.model.num_identities = 8, 12
    model = task.build_model()
    criterion = task.build_criterion()
    assert task.criterion is criterion and {"id"} == set(criterion)
    batch = probe(task).random_batch(2, SIZE, torch.device("cpu"))
    assert batch["ids"].shape == (2, task.cfg.data.max_objs) and (batch["ids"] >= 0).any()
    terms = task.loss(model, batch, torch.device("cpu"))
    assert "id_loss" in terms and all(torch.isfinite(t) for t in terms.values())
    weights = task.loss_weights()
    det = sum(weights[k] * v for k, v in terms.items() if k != "id_loss")
    s_det, s_id = criterion["id"].s_det[0], criterion["id"].s_id[0]
    expected = 0.5 * (torch.exp(-s_det) * det + torch.exp(-s_id) * terms["id_loss"] + s_det + s_id)
    total = task.total_loss(terms)
    torch.testing.assert_close(total, expected)
    total.backward()
    for param in (criterion["id"].classifier.weight, criterion["id"].s_det, criterion["id"].s_id, model.id[-1].weight):
        assert param.grad is not None and float(param.grad.abs().sum()) > 0
    model.eval()
    x = list(example_inputs(model, SIZE, 1).values())
    with torch.no_grad():
        out = model(*x)
    assert out["id"].shape == (1, 8, SIZE[0] // 4, SIZE[1] // 4)
    found = task.heads().decode(out, flip=False, k=5)
    torch.testing.assert_close(found["embeddings"].norm(dim=1), torch.ones(5))
    if name in ("track", "fairmot"):  # its trackers include those that associate by the embeddings
        fields = task.heads().fields
        assert all(build_tracker(n, task.cfg.evaluation, fields).needs_embeddings for n in ("jde", "byte_reid"))


def test_too_few_identities_for_the_data_is_one_clear_line(tmp_path):
    from dla_dense.errors import DLADenseError

    task = TASKS["fairmot"](
        load_config(write_tiny_config(tmp_path / "fairmot.py", "fairmot", model=dict(num_identities=3)))
    )
    task.prepare()
    task.train_set()
    with pytest.raises(DLADenseError, match=r"model.num_identities=3 but the training data has \d+ identities"):
        task.build_criterion()
