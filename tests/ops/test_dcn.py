import functools
import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d

from dla_dense import DLADenseError
from dla_dense.ops import dcn
from dla_dense.ops.dcn import ModulatedDeformConv2d, modulated_deform_conv2d, resolve_impl


def _bilinear_dcn_reference(x, offset, mask, weight, bias, stride, padding, dilation):
    """Modulated deformable conv written out tap by tap: tap ``k = i * kw + j`` of group ``g`` samples
    ``x`` at ``(h * stride - padding + i * dilation + dy, w * stride - padding + j * dilation + dx)`` with
    ``dy, dx`` = offset channels ``2 * (g * K + k)`` and ``+ 1``, bilinearly with zeros outside (nothing
    when not ``-1 < y < H`` and ``-1 < x < W``), times ``mask[:, g * K + k]``."""
    n, c, h, w = x.shape
    out_channels, _, kh, kw = weight.shape
    ho, wo = offset.shape[-2:]
    groups = offset.shape[1] // (2 * kh * kw)
    image = x.reshape(n, groups, c // groups, h * w)
    offset = offset.reshape(n, groups, kh * kw, 2, ho, wo)
    mask = mask.reshape(n, groups, kh * kw, ho, wo)
    rows = (torch.arange(ho, dtype=x.dtype) * stride - padding).view(ho, 1)
    cols = (torch.arange(wo, dtype=x.dtype) * stride - padding).view(1, wo)
    taps = []
    for i in range(kh):
        for j in range(kw):
            k = i * kw + j
            y = rows + i * dilation + offset[:, :, k, 0]
            xx = cols + j * dilation + offset[:, :, k, 1]
            y0, x0 = y.floor(), xx.floor()
            value = torch.zeros(n, groups, c // groups, ho, wo, dtype=x.dtype)
            for yc, xc, weight_c in (
                (y0, x0, (y0 + 1 - y) * (x0 + 1 - xx)),
                (y0, x0 + 1, (y0 + 1 - y) * (xx - x0)),
                (y0 + 1, x0, (y - y0) * (x0 + 1 - xx)),
                (y0 + 1, x0 + 1, (y - y0) * (xx - x0)),
            ):
                inside = (yc >= 0) & (yc <= h - 1) & (xc >= 0) & (xc <= w - 1)
                index = (yc.clamp(0, h - 1) * w + xc.clamp(0, w - 1)).long().reshape(n, groups, 1, ho * wo)
                sampled = image.gather(3, index.expand(-1, -1, c // groups, -1)).reshape(value.shape)
                value = value + (weight_c * inside).unsqueeze(2) * sampled
            valid = (y > -1) & (y < h) & (xx > -1) & (xx < w)
            taps.append(value * (valid * mask[:, :, k]).unsqueeze(2))
    columns = torch.stack(taps, dim=3).reshape(n, c * kh * kw, ho * wo)
    out = torch.einsum("op,npl->nol", weight.reshape(out_channels, -1), columns) + bias.view(1, -1, 1)
    return out.reshape(n, out_channels, ho, wo)


def _inputs(
    *,
    n=2,
    channels=4,
    out_channels=6,
    size=(7, 6),
    kernel=(3, 3),
    stride=1,
    padding=1,
    dilation=1,
    offset_groups=1,
    groups=1,
    mask=True,
    bias=True,
    dtype=torch.float64,
    seed=0,
):
    """Random ``(x, offset, mask, weight, bias)`` and conv keywords; offsets spread 3 pixels, some go far outside."""
    g = torch.Generator().manual_seed(seed)
    (h, w), (kh, kw) = size, kernel
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    taps = offset_groups * kh * kw
    offset = 3 * torch.randn(n, 2 * taps, ho, wo, generator=g, dtype=dtype)
    offset[:, ::5] += h + 1
    tensors = [
        torch.randn(n, channels, h, w, generator=g, dtype=dtype),
        offset,
        torch.rand(n, taps, ho, wo, generator=g, dtype=dtype) if mask else None,
        torch.randn(out_channels, channels // groups, kh, kw, generator=g, dtype=dtype),
        torch.randn(out_channels, generator=g, dtype=dtype) if bias else None,
    ]
    tensors = [t.requires_grad_() if t is not None else None for t in tensors]
    return tensors, {"stride": stride, "padding": padding, "dilation": dilation}


def _assert_relative_close(actual, expected, tol, name=""):
    scale = expected.abs().max().clamp_min(1e-12)
    assert (actual - expected).abs().max() <= tol * scale, name


def _forward_and_grads(fn, tensors, kwargs, cotangent=None):
    out = fn(*tensors, **kwargs)
    cotangent = torch.randn_like(out) if cotangent is None else cotangent
    inputs = [t for t in tensors if t is not None]
    return out, torch.autograd.grad(out, inputs, cotangent), cotangent


def _torchvision(x, offset, mask, weight, bias, **kwargs):
    return deform_conv2d(x, offset, weight, bias, mask=mask, **kwargs)


sampling_deform_conv2d = functools.partial(modulated_deform_conv2d, impl="sampling")


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"stride": 2},
        {"dilation": 2, "padding": 2},
        {"padding": 0},
        {"offset_groups": 2},
        {"groups": 2},
        {"offset_groups": 2, "groups": 3, "channels": 6, "mask": False, "bias": False},
        {"size": (7, 5), "kernel": (3, 2), "stride": (2, 1), "padding": (0, 1), "dilation": (1, 2)},
        {"size": (6, 1)},
        {"size": (1, 5), "n": 1},
        {"channels": 32, "out_channels": 8, "size": (5, 9)},
        {"band_bytes": 2000, "offset_groups": 2, "groups": 2},
        {"band_bytes": 2000, "channels": 8},
        {"dtype": torch.float32},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "3x3",
)
def test_sampling_matches_torchvision(config, monkeypatch):
    config = dict(config)
    monkeypatch.setattr(dcn, "BAND_BYTES", config.pop("band_bytes", dcn.BAND_BYTES))  # small: several row bands
    dtype = config.get("dtype", torch.float64)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    tensors, kwargs = _inputs(**config)
    expected, expected_grads, cotangent = _forward_and_grads(_torchvision, tensors, kwargs)
    out, grads, _ = _forward_and_grads(sampling_deform_conv2d, tensors, kwargs, cotangent)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    _assert_relative_close(out, expected, tol, "out")
    names = [name for name, t in zip(["x", "offset", "mask", "weight", "bias"], tensors, strict=True) if t is not None]
    for name, grad, expected_grad in zip(names, grads, expected_grads, strict=True):
        _assert_relative_close(grad, expected_grad, tol, name)
    with torch.no_grad():  # inference gathers the samples instead
        _assert_relative_close(sampling_deform_conv2d(*tensors, **kwargs), expected, tol, "out without grad")


@pytest.mark.parametrize("grad", [True, False], ids=["grid_sample", "gather"])
def test_samples_on_and_beyond_the_border_match_torchvision(grad):
    """Taps on -1, -0.5, 0, H - 1, H - 0.5 and H (and beyond) give the border pixel no, half or full weight."""
    h, w = 4, 8  # powers of two: grid_sample's normalised coordinates are exact on integer positions
    x = torch.randn(1, 3, h, w, dtype=torch.float64, requires_grad=grad)
    weight = torch.randn(2, 3, 1, 1, dtype=torch.float64)
    ys = torch.tensor([-1, -0.5, 0, h - 1, h - 0.5, h, 1.25, -3], dtype=torch.float64)
    xs = torch.tensor([-1, -0.5, 0, w - 1, w - 0.5, w, 2.5, w + 2, -0.999, 1, 3.5, w - 2], dtype=torch.float64)
    # a 1x1 kernel with padding 2 has an 8x12 output grid; output pixel (i, j) samples (i - 2 + dy, j - 2 + dx)
    target_y, target_x = torch.meshgrid(ys, xs, indexing="ij")
    base_y, base_x = torch.meshgrid(torch.arange(8.0) - 2, torch.arange(12.0) - 2, indexing="ij")
    offset = torch.stack((target_y - base_y, target_x - base_x))[None]
    offset.requires_grad_(grad)
    expected = deform_conv2d(x, offset, weight, padding=2)
    out = sampling_deform_conv2d(x, offset, None, weight, None, padding=2)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    if grad:  # the derivatives on the border too
        cotangent = torch.randn_like(out)
        grads = torch.autograd.grad(out, (x, offset), cotangent)
        for actual, wanted in zip(grads, torch.autograd.grad(expected, (x, offset), cotangent), strict=True):
            torch.testing.assert_close(actual, wanted, rtol=0, atol=1e-12)
    out, expected = out.detach(), expected.detach()
    for i in (0, 5, 7):
        assert not out[..., i, :].any()
    for j in (0, 5, 7):
        assert not out[..., :, j].any()
    torch.testing.assert_close(out[..., 1, 2], 0.5 * out[..., 2, 2], rtol=0, atol=1e-12)
    torch.testing.assert_close(out[..., 4, 4], 0.25 * out[..., 3, 3], rtol=0, atol=1e-12)


def test_forward_gathers_and_backward_recomputes_with_grid_sample(monkeypatch):
    """Every forward gathers its samples; only a backward runs ``grid_sample``, and the forward keeps only its
    inputs for it (nothing the size of the samples); an empty batch works through both."""
    calls = []
    grid_sample = dcn._grid_sample_deform_conv2d
    monkeypatch.setattr(dcn, "_grid_sample_deform_conv2d", lambda *a: calls.append("grid_sample") or grid_sample(*a))
    tensors, kwargs = _inputs(dtype=torch.float32)
    with torch.no_grad():
        out = sampling_deform_conv2d(*tensors, **kwargs)
    frozen = [t.detach() if t is not None else None for t in tensors]
    torch.testing.assert_close(sampling_deform_conv2d(*frozen, **kwargs), out, rtol=0, atol=0)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        with_grad = sampling_deform_conv2d(*tensors, **kwargs)
    torch.testing.assert_close(with_grad, out, rtol=0, atol=0)
    assert not calls
    assert sorted(t.numel() for t in saved) == sorted(t.numel() for t in tensors if t is not None)
    with_grad.sum().backward()
    assert calls == ["grid_sample"]
    monkeypatch.undo()
    empty = [t[:0] if t is not None and i < 3 else t for i, t in enumerate(tensors)]
    assert sampling_deform_conv2d(*empty, **kwargs).shape == _torchvision(*empty, **kwargs).shape == (0, 6, 7, 6)
    with torch.no_grad():
        assert sampling_deform_conv2d(*empty, **kwargs).shape == (0, 6, 7, 6)


@pytest.mark.parametrize("band_bytes", [dcn.BAND_BYTES, 2000])
def test_channels_last_input_gives_channels_last_output(band_bytes, monkeypatch):
    monkeypatch.setattr(dcn, "BAND_BYTES", band_bytes)
    tensors, kwargs = _inputs(dtype=torch.float32, channels=8, groups=2)
    expected, expected_grads, cotangent = _forward_and_grads(sampling_deform_conv2d, tensors, kwargs)
    x = tensors[0].detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    out, grads, _ = _forward_and_grads(sampling_deform_conv2d, [x, *tensors[1:]], kwargs, cotangent)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        out = sampling_deform_conv2d(x, *tensors[1:], **kwargs)
    assert out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_bf16_autocast_runs_and_is_close():
    tensors, kwargs = _inputs(dtype=torch.float32, channels=16, out_channels=8)
    expected = sampling_deform_conv2d(*tensors, **kwargs)
    x, offset, mask, weight, bias = tensors
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = sampling_deform_conv2d(x.bfloat16(), offset.bfloat16(), mask.bfloat16(), weight, bias, **kwargs)
        conv = F.conv2d(x, weight, bias, padding=1)
    assert out.dtype == conv.dtype == torch.bfloat16
    _assert_relative_close(out.float(), expected, 3e-2)
    out.float().square().sum().backward()
    assert all(t.grad.dtype == torch.float32 and t.grad.isfinite().all() for t in tensors)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = sampling_deform_conv2d(x.bfloat16(), offset.bfloat16(), mask.bfloat16(), weight, bias, **kwargs)
    assert out.dtype == torch.bfloat16
    _assert_relative_close(out.float(), expected, 3e-2)


def test_module_gives_the_same_output_through_both_implementations(monkeypatch):
    torch.manual_seed(0)
    module = ModulatedDeformConv2d(8, 5, 3, stride=1, padding=1, deformable_groups=2)
    with torch.no_grad():
        module.conv_offset_mask.weight.normal_(0, 0.3)
        module.conv_offset_mask.bias.normal_(0, 2.5)
        module.bias.normal_()
    x = torch.randn(2, 8, 9, 7)
    outs = {}
    for impl in ("torchvision", "sampling"):
        monkeypatch.setenv(dcn.IMPL_ENV, impl)
        outs[impl] = module(x)
    _assert_relative_close(outs["sampling"], outs["torchvision"], 1e-4)


def test_impl_switch(monkeypatch):
    calls = []
    monkeypatch.setattr(dcn, "deform_conv2d", lambda *a, **k: calls.append("torchvision"))
    monkeypatch.setattr(dcn, "_sampling_deform_conv2d", lambda *a: calls.append("sampling"))
    monkeypatch.delenv(dcn.IMPL_ENV, raising=False)
    tensors, kwargs = _inputs(dtype=torch.float32)
    modulated_deform_conv2d(*tensors, **kwargs)
    modulated_deform_conv2d(*tensors, **kwargs, impl="torchvision")
    monkeypatch.setenv(dcn.IMPL_ENV, "torchvision")
    modulated_deform_conv2d(*tensors, **kwargs)
    modulated_deform_conv2d(*tensors, **kwargs, impl="sampling")
    monkeypatch.setenv(dcn.IMPL_ENV, " Sampling ")
    modulated_deform_conv2d(*tensors, **kwargs)
    assert calls == ["sampling", "torchvision", "torchvision", "sampling", "sampling"]
    monkeypatch.setenv(dcn.IMPL_ENV, "auto")
    assert resolve_impl(None, torch.device("cpu")) == "sampling"
    assert resolve_impl(None, torch.device("cuda", 0)) == "torchvision"
    assert resolve_impl("sampling", torch.device("cuda", 0)) == "sampling"
    with pytest.raises(DLADenseError, match="'dcnv2' is not one of auto, torchvision, sampling"):
        resolve_impl("dcnv2", torch.device("cpu"))


def test_export_keeps_the_torchvision_op(monkeypatch):
    monkeypatch.setenv(dcn.IMPL_ENV, "sampling")
    program = torch.export.export(ModulatedDeformConv2d(4, 4).eval(), (torch.randn(1, 4, 6, 6),))
    targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert "torchvision.deform_conv2d.default" in targets
    assert not any("grid_sampler" in t for t in targets)


def test_fresh_dcn_is_half_a_plain_conv():
    dcn = ModulatedDeformConv2d(6, 5)
    assert dcn.conv_offset_mask.weight.shape == (27, 6, 3, 3)
    assert not dcn.conv_offset_mask.weight.any() and not dcn.conv_offset_mask.bias.any() and not dcn.bias.any()
    assert dcn.weight.abs().max() <= 1 / math.sqrt(6 * 9)
    with torch.no_grad():
        dcn.bias.normal_()
    x = torch.randn(2, 6, 9, 7)
    expected = 0.5 * F.conv2d(x, dcn.weight, padding=1) + dcn.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(dcn(x), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("dtype", "stride", "padding", "dilation", "groups"),
    [
        (torch.float32, 1, 1, 1, 1),
        (torch.float64, 1, 1, 1, 1),
        (torch.float64, 2, 1, 1, 2),
        (torch.float64, 1, 2, 2, 1),
    ],
)
def test_dcn_matches_a_bilinear_reference(dtype, stride, padding, dilation, groups):
    dcn = ModulatedDeformConv2d(4, 3, 3, stride, padding, dilation, deformable_groups=groups).to(dtype)
    with torch.no_grad():
        dcn.conv_offset_mask.weight.normal_(0, 0.3)
        dcn.conv_offset_mask.bias.normal_(0, 2.5)
        dcn.bias.normal_()
    x = torch.randn(2, 4, 7, 6, dtype=dtype, requires_grad=True)
    offset_mask = dcn.conv_offset_mask(x)
    o1, o2, logits = torch.chunk(offset_mask, 3, dim=1)
    offset = torch.cat((o1, o2), 1)
    assert offset.abs().max() > 4
    expected = _bilinear_dcn_reference(
        x, offset, torch.sigmoid(logits), dcn.weight, dcn.bias, stride, padding, dilation
    )
    out = dcn(x)
    assert out.shape == expected.shape == (2, 3, (7 - 1) // stride + 1, (6 - 1) // stride + 1)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    cotangent = torch.randn_like(out)
    inputs = [x, dcn.weight, dcn.bias, dcn.conv_offset_mask.weight, dcn.conv_offset_mask.bias]
    grads = torch.autograd.grad((out * cotangent).sum(), inputs)
    expected_grads = torch.autograd.grad((expected * cotangent).sum(), inputs)
    for name, g, e in zip(["x", "weight", "bias", "offset_w", "offset_b"], grads, expected_grads, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-4, msg=name)
