"""The CenterNet heads against CenterNet's own outputs (tests/golden): decoding into named fields, loss terms and
weights, and targets; their composition rules."""

from pathlib import Path

import pytest
import torch

from dla_dense.errors import DLADenseError
from dla_dense.heads import BoxHead, CenterNetHeads, KeypointHead, multi_pose_targets

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "centernet_pose_golden.pt"


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


def _pose_heads(num_classes: int, joints: int, **options) -> CenterNetHeads:
    return CenterNetHeads([BoxHead(num_classes, **options), KeypointHead(joints, max_objs=options.get("max_objs", 32))])


@pytest.mark.parametrize("case", range(3))
def test_decoded_fields_equal_centernets_rows(golden, case):
    data = golden["decode"][case]
    x, k = data["inputs"], data["K"]
    heads = _pose_heads(x["heat"].shape[1], x["kps"].shape[1] // 2)
    maps = {"hm": x["heat"], "wh": x["wh"], "reg": x["reg"], "hps": x["kps"], "hm_hp": x["hm_hp"]}
    maps["hp_offset"] = x["hp_offset"]
    peaks = heads.box.peaks(maps, k)
    found: dict = {}
    for head in heads:
        found.update(head.decode(maps, peaks, found))
    rows = data["full"]
    assert set(found) == {"boxes", "scores", "labels", "keypoints"} == set(heads.fields)
    torch.testing.assert_close(found["boxes"], rows[..., :4], rtol=0, atol=0)
    torch.testing.assert_close(found["scores"], rows[..., 4], rtol=0, atol=0)
    torch.testing.assert_close(found["keypoints"], rows[..., 5:-1].reshape(*rows.shape[:2], -1, 2), rtol=0, atol=0)
    assert found["labels"].dtype == torch.int64 and torch.equal(found["labels"], rows[..., -1].long())


def test_box_head_alone_decodes_ctdet(golden):
    data = golden["decode"][0]
    x, k = data["inputs"], data["K"]
    head = BoxHead(x["heat"].shape[1])
    maps = {"hm": x["heat"], "wh": x["wh"], "reg": x["reg"]}
    found = head.decode(maps, head.peaks(maps, k), {})
    torch.testing.assert_close(found["boxes"], data["full"][..., :4], rtol=0, atol=0)


def test_loss_terms_and_weights_equal_centernets_multi_pose_trainer(golden):
    case = golden["multi_pose_loss"]
    joints = case["outputs"]["hm_hp"].shape[1]
    heads = _pose_heads(case["outputs"]["hm"].shape[1], joints)
    terms = heads.loss(case["outputs"], case["batch"])
    assert list(terms) == ["hm_loss", "wh_loss", "off_loss", "hp_loss", "hm_hp_loss", "hp_offset_loss"]
    for name, value in terms.items():
        torch.testing.assert_close(value, case["expected"][name], rtol=1e-6, atol=0, msg=name)
    weights = heads.loss_weights()
    assert weights == {n: 0.1 if n == "wh_loss" else 1.0 for n in terms}
    total = sum(weights[name] * value for name, value in terms.items())
    torch.testing.assert_close(total, case["expected"]["loss"], rtol=1e-6, atol=0)


@pytest.mark.parametrize("rotated", [False, True])
def test_composed_targets_equal_multi_pose_targets(rotated):
    generator = torch.Generator().manual_seed(3)
    heads = _pose_heads(2, 5, max_objs=6)
    fields = {**heads.random_fields(5, (24, 32), generator), "rotated": rotated}
    got = heads.encode(fields, output_size=(24, 32))
    expected = multi_pose_targets(
        fields["boxes"],
        fields["labels"],
        fields["keypoints"],
        output_size=(24, 32),
        num_classes=2,
        max_objs=6,
        rotated=rotated,
    )
    assert list(got) == list(expected)
    for name in expected:
        assert torch.equal(got[name], expected[name]), name


def test_outputs_bias_and_export_names_follow_head_order():
    heads = _pose_heads(3, 4)
    assert heads.outputs == {"hm": 3, "wh": 2, "reg": 2, "hps": 8, "hm_hp": 4, "hp_offset": 2}
    assert heads.export_names() == list(heads.outputs)
    assert heads.initial_bias() == {"hm": -2.19, "hm_hp": -2.19}
    assert heads.item_fields == ("boxes", "labels", "keypoints") and heads.rotates
    assert not CenterNetHeads([BoxHead(3)]).rotates


def test_flip_merge_of_each_head():
    torch.manual_seed(0)
    heads = _pose_heads(2, 3)
    heads.heads[1].flip_pairs = ((0, 1),)
    maps = {name: torch.rand(2, c, 4, 5) for name, c in heads.outputs.items()}
    merged = {}
    for head in heads:
        merged.update(head.merge_flip(maps))
    assert {k: tuple(v.shape[:2]) for k, v in merged.items()} == {k: (1, c) for k, c in heads.outputs.items()}
    torch.testing.assert_close(merged["hm"], (maps["hm"][:1] + maps["hm"][1:].flip(-1)) / 2)
    torch.testing.assert_close(merged["reg"], maps["reg"][:1])
    mirrored = maps["hm_hp"][1:].flip(-1)[:, [1, 0, 2]]
    torch.testing.assert_close(merged["hm_hp"], (maps["hm_hp"][:1] + mirrored) / 2)
    hps = maps["hps"][1:].flip(-1).reshape(1, 3, 2, 4, 5)[:, [1, 0, 2]]
    hps = torch.stack([-hps[:, :, 0], hps[:, :, 1]], 2).reshape(1, 6, 4, 5)
    torch.testing.assert_close(merged["hps"], (maps["hps"][:1] + hps) / 2)


def test_composition_rules():
    with pytest.raises(DLADenseError, match="first head must be a BoxHead"):
        CenterNetHeads([KeypointHead(3)])
    with pytest.raises(DLADenseError, match="same name"):
        CenterNetHeads([BoxHead(2), BoxHead(2)])
    unweighted = KeypointHead(3)
    del unweighted.weights
    with pytest.raises(DLADenseError, match="head KeypointHead has no loss weights; set self.weights"):
        CenterNetHeads([BoxHead(2), unweighted])
    with pytest.raises(DLADenseError, match="lacks keypoints"):
        _pose_heads(1, 2).warp({"boxes": [[0, 0, 1, 1]], "labels": [0]}, None)
