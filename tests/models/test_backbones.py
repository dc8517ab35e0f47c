import math

import pytest
import timm
import torch
from support import LARGE_BACKBONES, tiered
from torch import nn

from dla_dense import DLA_MODELS, DLADenseError, create_backbone, list_models


def test_list_models_covers_all_timm_dla_variants():
    assert sorted(list_models()) == sorted(timm.list_models("dla*"))
    assert len(list_models()) == 12
    assert list_models("dla60*") == ["dla60x_c", "dla60", "dla60x", "dla60_res2net", "dla60_res2next"]


@pytest.mark.parametrize("name", tiered(DLA_MODELS, LARGE_BACKBONES))
def test_feature_contract_and_gradients(name):
    model = create_backbone(name)
    x = torch.randn(1, 3, 32, 96)  # the smallest input whose stride-32 map still has several values for BatchNorm
    feats = model(x)
    info = model.feature_info
    assert len(feats) == len(info.channels()) == 5
    assert info.reduction() == [2, 4, 8, 16, 32]
    for f, c, r in zip(feats, info.channels(), info.reduction(), strict=True):
        assert f.shape == (1, c, math.ceil(32 / r), math.ceil(96 / r))
        assert torch.isfinite(f).all()
    sum(f.float().pow(2).mean() for f in feats).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad, f"parameters without a finite gradient: {no_grad[:5]}"


def test_out_indices_select_levels_and_keep_timm_key_names():
    model = create_backbone("dla34", out_indices=(2, 3, 4, 5))
    assert model.feature_info.channels() == [64, 128, 256, 512]
    assert model.feature_info.reduction() == [4, 8, 16, 32]
    reference = timm.create_model("dla34", features_only=True, out_indices=(2, 3, 4, 5))
    assert list(model.state_dict()) == list(reference.state_dict())
    reference.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    reference.eval()
    for a, b in zip(model(x), reference(x), strict=True):
        torch.testing.assert_close(a, b)


def test_stride_one_level_is_available():
    feats = create_backbone("dla34", out_indices=(0, 1)).eval()(torch.randn(1, 3, 32, 32))
    assert [f.shape[1:] for f in feats] == [(16, 32, 32), (32, 16, 16)]


@pytest.mark.parametrize(
    "kwargs",
    [dict(out_indices=(2, 6)), dict(out_indices=(3, 2)), dict(out_indices=()), dict(frozen_stages=6)],
)
def test_invalid_arguments_are_clear_errors(kwargs):
    with pytest.raises(DLADenseError, match="out_indices|frozen_stages"):
        create_backbone("dla34", **kwargs)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(DLADenseError, match="unknown model 'dla35'; did you mean 'dla34'"):
        create_backbone("dla35")


def _bn_stats(module: nn.Module) -> list[torch.Tensor]:
    return [m.running_mean.clone() for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_frozen_stages_stop_learning():
    model = create_backbone("dla34", out_indices=(2, 3, 4, 5), frozen_stages=2).train()
    frozen = ["base_layer", "level0", "level1", "level2"]
    for name, p in model.named_parameters():
        assert p.requires_grad == (name.split(".")[0] not in frozen), name
    for name in frozen:
        assert not model[name].training
        assert all(not m.training for m in model[name].modules())
    assert model.level3.training and model.level5.training
    before_frozen, before_free = _bn_stats(model.level2), _bn_stats(model.level3)
    sum(f.mean() for f in model(torch.randn(2, 3, 64, 64))).backward()
    for a, b in zip(before_frozen, _bn_stats(model.level2), strict=True):
        torch.testing.assert_close(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(before_free, _bn_stats(model.level3), strict=True))
    assert all(p.grad is None for p in model.level2.parameters())
    assert all(p.grad is not None for p in model.level3.parameters())
    model.eval().train()
    assert not model.level1.training and model.level4.training


def test_norm_eval_keeps_batchnorm_statistics():
    model = create_backbone("dla34", norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns)
    assert model.training and model.level1[0].training
    before = _bn_stats(model)
    sum(f.mean() for f in model(torch.randn(2, 3, 64, 64))).backward()
    for a, b in zip(before, _bn_stats(model), strict=True):
        torch.testing.assert_close(a, b)
    assert all(p.grad is not None for p in model.parameters())


def test_input_size_must_be_divisible_by_the_largest_stride():
    model = create_backbone("dla34").eval()
    with pytest.raises(DLADenseError, match="input size 100x96 is not a multiple of 32"):
        model(torch.randn(1, 3, 100, 96))
    shallow = create_backbone("dla34", out_indices=(1, 2, 3)).eval()
    assert [f.shape[-1] for f in shallow(torch.randn(1, 3, 40, 40))] == [20, 10, 5]
