"""OpenMMLab adapter: ``type='DLABackbone'`` built through mmengine registries (mmengine only, no mmdet)."""

from __future__ import annotations

import importlib
import sys

import pytest
import torch
from torch import nn

from dla_dense import DLADenseError
from dla_dense.backbones import create_imagenet_model

STAGES = ("base_layer", "level0", "level1", "level2", "level3", "level4", "level5")


@pytest.fixture(scope="module")
def mmlab():
    pytest.importorskip("mmengine")
    return importlib.import_module("dla_dense.adapters.mmlab")


@pytest.fixture(scope="module")
def child_registry(mmlab):
    from mmengine.registry import MODELS, Registry

    # How mmdet and mmseg declare theirs: Registry('model', parent=MMENGINE_MODELS, ...).
    return Registry("model", parent=MODELS, scope="dla_dense_tests")


def _check_outputs(model, levels: tuple[int, ...], size: int = 64) -> None:
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, size, size))
    assert isinstance(out, tuple) and len(out) == len(levels)
    channels = model.feature_info.channels()
    reductions = model.feature_info.reduction()
    assert reductions == [2**i for i in levels]
    for t, c, r in zip(out, channels, reductions, strict=True):
        assert t.shape == (2, c, size // r, size // r)


@pytest.mark.parametrize("type_name", ["DLABackbone", "mmengine.DLABackbone"])
def test_build_from_child_registry(mmlab, child_registry, type_name: str) -> None:
    from mmengine.model import BaseModule

    model = child_registry.build(dict(type=type_name, arch="dla34", out_indices=(2, 3, 4, 5)))
    assert isinstance(model, mmlab.MMDLABackbone) and isinstance(model, BaseModule)
    assert model.feature_info.channels() == [64, 128, 256, 512]
    _check_outputs(model, (2, 3, 4, 5))


def test_build_from_root_registry_with_other_levels(mmlab) -> None:
    from mmengine.registry import MODELS

    model = MODELS.build(dict(type="DLABackbone", arch="dla34", out_indices=(1, 3, 5)))
    assert model.feature_info.channels() == [32, 128, 512]
    _check_outputs(model, (1, 3, 5))


def test_defaults(mmlab) -> None:
    model = mmlab.MMDLABackbone()
    assert model.out_indices == (2, 3, 4, 5)
    assert model.frozen_stages == -1 and model.norm_eval is False
    assert all(p.requires_grad for p in model.parameters())
    model.train()
    assert all(m.training for m in model.modules())


def test_frozen_stages(child_registry) -> None:
    model = child_registry.build(dict(type="DLABackbone", frozen_stages=2))
    frozen = {"base_layer", "level0", "level1", "level2"}
    model.train()
    assert model.training
    for stage in STAGES:
        assert {p.requires_grad for p in model.body[stage].parameters()} == {stage not in frozen}, stage
        assert model.body[stage].training == (stage not in frozen), stage


def test_norm_eval(child_registry) -> None:
    model = child_registry.build(dict(type="DLABackbone", norm_eval=True))
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert model.training and model.body.level5.tree1.conv1.training
    assert all(p.requires_grad for p in model.parameters())
    model.eval()
    model.train(True)
    assert not any(m.training for m in bns)


def test_pretrained_file_is_loaded_and_kept_by_init_weights(child_registry, tmp_path) -> None:
    classifier = create_imagenet_model("dla34")
    weights = tmp_path / "dla34.pth"
    torch.save(classifier.state_dict(), weights)
    model = child_registry.build(dict(type="DLABackbone", pretrained=str(weights)))
    assert model.is_init
    model.init_weights()
    for n, p in model.body.named_parameters():
        assert torch.equal(p, classifier.get_parameter(n)), n


def test_init_cfg_pretrained_loads_a_detector_checkpoint(child_registry, tmp_path) -> None:
    trained = child_registry.build(dict(type="DLABackbone"))
    checkpoint = tmp_path / "detector.pth"
    state = {f"backbone.{k}": v for k, v in trained.state_dict().items()}
    state["neck.conv.weight"] = torch.zeros(1)
    torch.save({"state_dict": state}, checkpoint)
    init_cfg = dict(type="Pretrained", checkpoint=str(checkpoint), prefix="backbone.")
    model = child_registry.build(dict(type="DLABackbone", init_cfg=init_cfg))
    assert not torch.equal(model.body.level5.root.conv.weight, trained.body.level5.root.conv.weight)
    model.init_weights()
    for n, p in model.named_parameters():
        assert torch.equal(p, trained.get_parameter(n)), n


def test_bad_arguments_raise_dla_dense_error(child_registry) -> None:
    with pytest.raises(DLADenseError, match="unknown model 'dla35'"):
        child_registry.build(dict(type="DLABackbone", arch="dla35"))
    with pytest.raises(DLADenseError, match="out_indices"):
        child_registry.build(dict(type="DLABackbone", out_indices=(5, 2)))
    with pytest.raises(DLADenseError, match="frozen_stages"):
        child_registry.build(dict(type="DLABackbone", frozen_stages=7))


def test_missing_mmengine_gives_install_hint(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "dla_dense.adapters.mmlab", raising=False)
    for name in ("mmengine", "mmengine.model", "mmengine.registry"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(DLADenseError, match=r"pip install 'dla_dense\[mmlab\]'"):
        importlib.import_module("dla_dense.adapters.mmlab")
