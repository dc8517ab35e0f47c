import copy

import pytest
import torch
from torch import nn

from dla_dense.models import CenterNet
from dla_dense.models.centernet import head_branch
from dla_dense.models.centertrack import CenterTrack
from dla_dense.models.fused_heads import fuse_heads


def _randomised(module: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    return module.eval()


@pytest.mark.parametrize("head_conv", [16, 0])
def test_fused_heads_equal_the_heads_they_come_from(head_conv: int) -> None:
    channels = {"hm": 3, "wh": 2, "reg": 2, "hps": 34, "ltrb_amodal": 4}
    heads = {name: _randomised(head_branch(8, c, head_conv)) for name, c in channels.items()}
    x = torch.randn(2, 8, 12, 20)
    fused = fuse_heads(heads)
    assert fused is not None
    expected_convs = (1 if head_conv else 0) + 1
    assert sum(isinstance(m, nn.Conv2d) for m in fused.modules()) == expected_convs
    with torch.no_grad():
        got = fused(x)
        for name, head in heads.items():
            assert got[name].shape == (2, channels[name], 12, 20)
            torch.testing.assert_close(got[name], head(x), rtol=1e-5, atol=1e-5)
    assert list(got) == list(channels)


def test_heads_of_different_shapes_are_not_fused() -> None:
    assert fuse_heads({"hm": head_branch(8, 3, 16), "wh": head_branch(8, 2, 32)}) is None
    assert fuse_heads({"hm": head_branch(8, 3, 16), "wh": head_branch(8, 2, 0)}) is None
    other = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.Conv2d(16, 2, 1))
    assert fuse_heads({"hm": head_branch(8, 3, 16), "dep": other}) is None


def test_fused_centertrack_and_its_export_run_the_fused_heads_with_the_same_outputs() -> None:
    model = CenterTrack("dla34", 1, node="dcn", head_conv=16, heads={"tracking": 2, "ltrb_amodal": 4})
    model = _randomised(model)
    inputs = (torch.randn(1, 3, 64, 96), torch.randn(1, 3, 64, 96), torch.rand(1, 1, 64, 96))
    with torch.no_grad():
        expected = model(*inputs)
        wrapper, names, _ = model.export_outputs()
        assert wrapper.fused_heads is not None and model.fused_heads is None  # exporting leaves the model alone
        exported = dict(zip(names, wrapper(*inputs), strict=True))
        fused = copy.deepcopy(model).fuse()
        assert fused.fused_heads is not None
        got = fused(*inputs)
    assert list(got) == list(expected) == names
    for name in names:
        torch.testing.assert_close(exported[name], expected[name], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-4)


def test_fast_inference_fuses_a_centernets_heads() -> None:
    from dla_dense.inference import prepare_for_inference

    model = prepare_for_inference(CenterNet("dla34", 2, node="conv", head_conv=8), fuse=True, channels_last=False)
    assert model.fused_heads is not None
