import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dla_dense.models import CenterNet, DLASeg, DLAUp, IDAUp
from dla_dense.models.dla_up import DepthwiseUp, bilinear_upsampler, fill_up_weights


def test_factor_2_kernel_is_the_separable_bilinear_kernel():
    up = nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1, groups=3, bias=False)
    fill_up_weights(up)
    taps = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(up.weight, torch.outer(taps, taps).expand(3, 1, 4, 4), rtol=0, atol=0)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_upsampler_is_bilinear_inside_the_map(factor):
    up = bilinear_upsampler(2, factor)
    assert (up.kernel_size, up.stride, up.padding, up.groups) == (
        (2 * factor,) * 2,
        (factor,) * 2,
        (factor // 2,) * 2,
        2,
    )
    assert up.bias is None and up.weight.requires_grad
    x = torch.randn(1, 2, 6, 5)
    y = up(x)
    expected = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    assert y.shape == expected.shape == (1, 2, 6 * factor, 5 * factor)
    inner = (..., slice(factor, -factor), slice(factor, -factor))
    torch.testing.assert_close(y[inner], expected[inner])
    assert not torch.allclose(y, expected)  # implicit zero padding darkens the border, as in the reference


@pytest.mark.parametrize("float_output", [False, True])
@pytest.mark.parametrize("factor", [2, 4])
def test_upsampler_runs_fp32_under_cpu_autocast(factor, float_output):
    """CPU bf16 grouped transposed convolutions are very slow: the upsampler computes in fp32 under CPU autocast
    and returns the input's dtype (fp32 with ``float_output``, for a network's last layer)."""
    torch.manual_seed(0)
    up = bilinear_upsampler(8, factor, float_output=float_output)
    with torch.no_grad():
        up.weight.add_(torch.randn_like(up.weight) * 0.1)
    assert isinstance(up, nn.ConvTranspose2d)
    assert list(up.state_dict()) == ["weight"]
    x = torch.randn(2, 8, 5, 6, requires_grad=True)
    reference = nn.functional.conv_transpose2d(x, up.weight, stride=factor, padding=factor // 2, groups=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = up(x.bfloat16())
    assert y.dtype == (torch.float32 if float_output else torch.bfloat16)
    assert y.shape == (2, 8, 5 * factor, 6 * factor)
    # fp32 arithmetic: only the input (and a bf16 output) was rounded
    torch.testing.assert_close(y.float(), reference, atol=0.05, rtol=0.02 if float_output else 0.03)
    expected = nn.functional.conv_transpose2d(
        x.bfloat16().float(), up.weight, stride=factor, padding=factor // 2, groups=8
    )
    torch.testing.assert_close(y, expected.to(y.dtype), atol=0, rtol=0)
    y.float().sum().backward()
    assert x.grad is not None and up.weight.grad is not None and torch.isfinite(up.weight.grad).all()
    assert up(x).dtype == torch.float32  # outside autocast: the plain transposed convolution
    torch.testing.assert_close(up(x), reference)


def test_ida_up_layout_shapes_and_init():
    torch.manual_seed(0)
    ida = IDAUp(3, 64, [64, 128, 256], [1, 2, 4])
    assert isinstance(ida.proj_0, nn.Identity) and isinstance(ida.up_0, nn.Identity)
    assert [type(m) for m in ida.proj_1] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert ida.proj_1[0].kernel_size == (1, 1) and ida.proj_1[0].bias is None
    assert ida.up_2.stride == (4, 4) and ida.up_2.groups == 64
    assert ida.node_1[0].in_channels == 128 and ida.node_1[0].kernel_size == (3, 3)
    assert ida.node_1[0].bias is None
    assert not hasattr(ida, "node_0")
    assert sorted(k for k in ida.state_dict() if not k.endswith(("running_mean", "running_var", "tracked"))) == [
        "node_1.0.weight",
        "node_1.1.bias",
        "node_1.1.weight",
        "node_2.0.weight",
        "node_2.1.bias",
        "node_2.1.weight",
        "proj_1.0.weight",
        "proj_1.1.bias",
        "proj_1.1.weight",
        "proj_2.0.weight",
        "proj_2.1.bias",
        "proj_2.1.weight",
        "up_1.weight",
        "up_2.weight",
    ]
    torch.testing.assert_close(ida.node_2[0].weight.std().item(), (2 / (9 * 64)) ** 0.5, rtol=0.05, atol=0)
    assert torch.all(ida.node_2[1].weight == 1) and torch.all(ida.node_2[1].bias == 0)
    assert ida.up_1.weight[0, 0, 1, 1] == 0.75**2

    x, y = ida([torch.randn(2, 64, 16, 12), torch.randn(2, 128, 8, 6), torch.randn(2, 256, 4, 3)])
    assert x.shape == (2, 64, 16, 12)
    assert len(y) == 2 and all(t.shape == (2, 64, 16, 12) for t in y)
    assert y[-1] is x


def test_dla_up_stages_and_output():
    up = DLAUp([32, 64, 128, 256, 512], [1, 2, 4, 8, 16])
    assert [name for name, _ in up.named_children()] == ["ida_0", "ida_1", "ida_2", "ida_3"]
    assert up.ida_0.channels == [256, 512] and up.ida_0.out_dim == 256
    assert up.ida_3.channels == [32, 64, 64, 64, 64] and up.ida_3.out_dim == 32
    for ida in up.children():
        assert isinstance(ida.up_0, nn.Identity)
        assert all(getattr(ida, f"up_{i}").stride == (2, 2) for i in range(1, len(ida.channels)))
    shapes = zip([32, 64, 128, 256, 512], [1, 2, 4, 8, 16], strict=True)
    out = up([torch.randn(1, c, 32 // s, 48 // s) for c, s in shapes])
    assert out.shape == (1, 32, 32, 48)
    out.mean().backward()
    assert all(p.grad is not None for p in up.parameters())


def test_dla_up_with_other_input_channels():
    up = DLAUp([64, 128, 256], [1, 2, 4], in_channels=[48, 96, 192])
    assert up.ida_0.channels == [96, 192] and up.ida_1.channels == [48, 96, 128]
    out = up([torch.randn(1, 48, 16, 16), torch.randn(1, 96, 8, 8), torch.randn(1, 192, 4, 4)])
    assert out.shape == (1, 64, 16, 16)


def test_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="expects 3 inputs, got 2"):
        DLAUp([16, 32, 64], [1, 2, 4])([torch.randn(1, 16, 8, 8), torch.randn(1, 32, 4, 4)])
    with pytest.raises(ValueError, match="2 channel counts but 1 up factors"):
        IDAUp(3, 16, [16, 32], [1])


def test_upsamplers_return_autocast_dtype_only_where_a_concatenation_follows():
    """ucbdrive's IDA nodes concatenate the upsampled map (bf16 is what their conv reads anyway); CenterNet's add
    it to the previous node's output, and DLASeg's last upsampler gives the logits: those stay fp32."""
    seg = DLASeg("dla34", 3)
    det = CenterNet("dla34", 2, node="conv", head_conv=8)
    ida_ups = [m for name, m in seg.dla_up.named_modules() if isinstance(m, DepthwiseUp)]
    assert ida_ups and not any(m.float_output for m in ida_ups)
    assert seg.up.float_output
    det_ups = [m for m in det.modules() if isinstance(m, DepthwiseUp)]
    assert det_ups and all(m.float_output for m in det_ups)
