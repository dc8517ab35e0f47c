"""FairMOT's loss (``MotLoss``), targets (``JointDataset``) and network outputs against golden values made by its
own code (``tests/golden/make_fairmot_golden.py``)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from support import deterministic_value

from dla_dense.config import load_config
from dla_dense.heads import BoxHead, CenterNetHeads, EmbeddingHead, fairmot_box_targets

GOLD = torch.load(Path(__file__).parents[1] / "golden" / "fairmot_golden.pt", weights_only=True)


def _heads(case, weighting):
    heads = CenterNetHeads([BoxHead(1), EmbeddingHead(16, num_identities=case["nID"], weighting=weighting)])
    criterion = heads.criterion()
    criterion["id"].classifier.load_state_dict(case["classifier"])
    if weighting == "uncertainty":
        with torch.no_grad():
            criterion["id"].s_det.fill_(case["s_det"])
            criterion["id"].s_id.fill_(case["s_id"])
    return heads, criterion


def _batch(case):
    batch = dict(case["batch"])
    batch["ids"] = torch.where(batch["reg_mask"] > 0, batch["ids"], -1)  # no identity where no object
    return batch


@pytest.mark.parametrize("weighting", ["uncertainty", "fixed"])
def test_loss_equals_motloss(weighting):
    case = GOLD["loss"][0]
    heads, criterion = _heads(case, weighting)
    terms = heads.loss(case["outputs"], _batch(case), criterion)
    expected = case["uncertainty" if weighting == "uncertainty" else "fix"]
    for name in ("hm_loss", "wh_loss", "off_loss", "id_loss"):
        torch.testing.assert_close(terms[name], expected[name].reshape(()), rtol=1e-5, atol=1e-6, msg=name)
    total = heads.total_loss(terms, criterion)
    torch.testing.assert_close(total.reshape(1), expected["loss"].reshape(1), rtol=1e-5, atol=1e-6)


def test_decoded_embeddings_are_fairmots_normalised_map_at_the_peaks():
    """FairMOT normalises the whole ``id`` map, then reads it at the peaks; the head reads, then normalises."""
    torch.manual_seed(0)
    heads = CenterNetHeads([BoxHead(1), EmbeddingHead(16, num_identities=5)])
    maps = {name: torch.randn(1, channels, 24, 40) * 3 for name, channels in heads.outputs.items()}
    found = heads.decode(maps, flip=False, k=30)
    hm = maps["hm"].sigmoid()
    keep = hm == torch.nn.functional.max_pool2d(hm, 3, stride=1, padding=1)
    inds = (hm * keep).view(-1).topk(30).indices
    expected = torch.nn.functional.normalize(maps["id"], dim=1).view(16, -1)[:, inds].T
    assert found["embeddings"].shape == (30, 16)
    torch.testing.assert_close(found["embeddings"], expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(found["embeddings"].norm(dim=-1), torch.ones(30))


def test_the_mot17_recipe_decodes_and_tracks_with_fairmots_test_options():
    """FairMOT's ``opts.py`` / ``track.py`` for MOT17: ``K`` 500 peaks, ``conf_thres`` 0.4, 1088 x 608 input, JDE."""
    cfg = load_config(str(Path(__file__).parents[2] / "configs" / "mot17_half_fairmot_dla34.py"))
    e = cfg.evaluation
    assert (e.max_dets, e.track_thresh, e.input_size, e.tracker) == (500, 0.4, (608, 1088), "jde")
    assert cfg.data.max_objs == 500


def test_emb_scale_is_fairmots():
    assert EmbeddingHead(num_identities=GOLD["loss"][0]["nID"]).emb_scale == pytest.approx(GOLD["emb_scale"])


@pytest.mark.parametrize("weighting", ["uncertainty", "fixed"])
def test_a_batch_without_identities_has_a_finite_loss_and_gradients(weighting):
    """FairMOT's loss is NaN here (cross-entropy over no target); the id term is 0 and the rest unchanged."""
    case = GOLD["loss"][1]
    expected = case["uncertainty" if weighting == "uncertainty" else "fix"]
    assert torch.isnan(expected["loss"]).all()
    heads, criterion = _heads(case, weighting)
    outputs = {k: v.clone().requires_grad_() for k, v in case["outputs"].items()}
    terms = heads.loss(outputs, _batch(case), criterion)
    assert terms["id_loss"].item() == 0.0
    total = heads.total_loss(terms, criterion)
    det = expected["hm_loss"] + 0.1 * expected["wh_loss"] + expected["off_loss"]
    if weighting == "uncertainty":
        det = 0.5 * (torch.exp(torch.tensor(-case["s_det"])) * det + case["s_det"] + case["s_id"])
    torch.testing.assert_close(total.reshape(()), det.reshape(()).float(), rtol=1e-5, atol=1e-6)
    total.backward()
    assert torch.isfinite(outputs["id"].grad).all() and criterion["id"].classifier.weight.grad is not None


def _jde_boxes(labels, output_size):
    """FairMOT label rows (class, identity, cx, cy, w, h normalised) -> output-map x1y1x2y2, computed in float32
    as ``JointDataset`` does."""
    height, width = output_size
    rows = np.asarray(labels, np.float32).reshape(-1, 6)
    cx, w = rows[:, 2] * np.float32(width), rows[:, 4] * np.float32(width)
    cy, h = rows[:, 3] * np.float32(height), rows[:, 5] * np.float32(height)
    x1, y1 = cx - w / np.float32(2), cy - h / np.float32(2)
    return np.stack([x1, y1, x1 + w, y1 + h], 1), rows[:, 0].astype(np.int64)


def test_targets_equal_jointdatasets():
    jde = GOLD["jde"]
    images = [labels for ds in ("a", "b") for labels in jde["labels"][ds]]
    assert len(images) == len(jde["items"])
    for labels, item in zip(images, jde["items"], strict=True):
        boxes, classes = _jde_boxes(labels, jde["output_size"])
        ours = fairmot_box_targets(
            boxes, classes, output_size=jde["output_size"], num_classes=1, max_objs=jde["max_objs"]
        )
        for name in ("ind", "reg_mask"):
            assert ours[name].tolist() == item[name].tolist(), name
        for name in ("hm", "wh", "reg"):
            torch.testing.assert_close(ours[name], item[name].float(), rtol=0, atol=1e-5, msg=name)


def test_a_fairmot_checkpoint_reproduces_its_head_maps_and_brings_its_input_normalisation(tmp_path):
    """``fairmot_dla34.pth`` layout (``{'epoch', 'state_dict'}``, ``module.`` prefix) of FairMOT's ``dlaconv_34``
    with heads hm 1, wh 4 (ltrb), id 128, reg 2; values from ``support.deterministic_value``; golden maps from
    FairMOT's model."""
    from dla_dense.config import default_config
    from dla_dense.tasks import FairMotTask
    from dla_dense.weights import load_checkpoint

    gold = GOLD["model"]
    state = {f"module.{k}": deterministic_value(k, tuple(s)) for k, s in zip(gold["keys"], gold["shapes"], strict=True)}
    path = tmp_path / "fairmot_dla34.pth"
    torch.save({"epoch": 30, "state_dict": state}, path)
    cfg = default_config("fairmot", backbone="dla34", node="conv", pretrained=False)
    cfg.data.mean, cfg.data.std, cfg.data.bgr = (0.4, 0.4, 0.4), (0.3, 0.3, 0.3), True
    task = FairMotTask(cfg)
    model = task.build_model().eval()
    task.adopt_checkpoint(load_checkpoint(model, path))
    assert (cfg.data.mean, cfg.data.std, cfg.data.bgr) == ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), False)
    with torch.no_grad():
        out = model(gold["input"])
    assert list(out) == ["hm", "wh", "reg", "id"]
    for name, expected in gold["outputs"].items():
        torch.testing.assert_close(out[name], expected, rtol=0, atol=1e-4, msg=name)
