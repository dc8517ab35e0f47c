"""Modulated deformable convolution (DCNv2, Zhu et al., arXiv 1811.11168) without a compiled extension.

:class:`ModulatedDeformConv2d` has the parameters of CenterNet's ``DCN`` (``DCNv2/dcn_v2.py``): ``weight``,
``bias`` and the ``conv_offset_mask`` conv that predicts offsets and masks from the input, so its
checkpoints load 1:1. The offset layout is DCNv2's (channel ``2k`` is dy and ``2k + 1`` is dx of tap
``k = i * kw + j``), samples are bilinear with zeros outside the image, then multiplied by the mask.

:func:`modulated_deform_conv2d` has two implementations of the same function:

* ``"torchvision"``: ``torchvision.ops.deform_conv2d``. Fast on CUDA, slow on CPU; ONNX export maps it
  to ``DeformConv``.
* ``"sampling"``: bilinear samples of all taps of many output pixels at once
  (gathered with ``embedding_bag``; a backward recomputes them with ``grid_sample``) and 1x1-conv products;
  autograd provides every gradient. Several times faster on CPU.

``impl="auto"`` (the default) takes ``"torchvision"`` on CUDA and while exporting (``torch.export``, ONNX
export and TorchScript tracing, so that graphs keep ``DeformConv`` / OpenVINO's ``DeformableConvolution``),
``"sampling"`` elsewhere. The environment variable
``DLA_DENSE_DCN`` (``auto``, ``torchvision`` or ``sampling``), read at every call, sets the choice for
calls that do not pass ``impl``; exports always use ``"torchvision"``.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d

from ..errors import DLADenseError

IntPair = int | tuple[int, int]
#: ``(stride, padding, dilation)`` as pairs.
ConvGeometry = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

#: Environment variable choosing the implementation of :func:`modulated_deform_conv2d`.
IMPL_ENV = "DLA_DENSE_DCN"
IMPLS = ("auto", "torchvision", "sampling")


def _exporting() -> bool:
    """Whether a graph is being captured: torch.export, ONNX export or TorchScript tracing (which OpenVINO's
    ``convert_model`` uses)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)  # torch.export tracing; missing in old torch
    exporting = is_exporting is not None and is_exporting()
    return torch.onnx.is_in_onnx_export() or exporting or torch.jit.is_tracing()


def resolve_impl(impl: str | None, device: torch.device) -> str:
    """``"torchvision"`` or ``"sampling"``: what ``impl`` (None: ``DLA_DENSE_DCN``) picks for tensors on ``device``."""
    name = (os.environ.get(IMPL_ENV, "auto") if impl is None else impl).strip().lower() or "auto"
    if name not in IMPLS:
        raise DLADenseError(f"deformable conv implementation '{name}' is not one of {', '.join(IMPLS)} ({IMPL_ENV})")
    if _exporting():
        return "torchvision"
    if name == "auto":
        return "torchvision" if device.type == "cuda" else "sampling"
    return name


def modulated_deform_conv2d(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor | None,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    impl: str | None = None,
) -> torch.Tensor:
    """Deformable conv of ``x [N, C, H, W]`` by ``weight [O, C / groups, kh, kw]``, ``bias [O]`` -> ``[N, O, Ho, Wo]``.

    ``offset [N, 2 * G * kh * kw, Ho, Wo]`` moves tap ``k`` of offset group ``g`` by ``(dy, dx)`` = channels
    ``(2 * (g * kh * kw + k), 2 * (g * kh * kw + k) + 1)``; ``mask [N, G * kh * kw, Ho, Wo]`` (or None for
    ones) scales the bilinearly sampled values (zero outside the image). ``G`` offset groups split the ``C``
    input channels, as do the ``groups = C / weight.shape[1]`` weight groups. ``impl`` is ``"auto"``,
    ``"torchvision"`` or ``"sampling"`` (None: ``DLA_DENSE_DCN``, default ``"auto"``; see the module docstring).
    """
    if resolve_impl(impl, x.device) == "torchvision":
        return deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask)
    return _sampling_deform_conv2d(
        _Layer(x, offset, mask, weight, bias, (_pair(stride), _pair(padding), _pair(dilation)))
    )


def _sampling_grid(
    offset: torch.Tensor, size: tuple[int, int], kernel_size: tuple[int, int], conv: ConvGeometry, dtype: torch.dtype
) -> torch.Tensor:
    """``offset [N, 2 * G * K, Ho, Wo]`` -> ``grid_sample`` grid ``[N, G, K, Ho, Wo, 2]`` (``x, y`` in ``(-1, 1)``).

    Tap ``k = i * kw + j`` of output pixel ``(h, w)`` samples pixel ``(h * sh - ph + i * dh + dy,
    w * sw - pw + j * dw + dx)``; pixel ``p`` of a side of ``size`` pixels is ``(2 p + 1) / size - 1`` for
    ``grid_sample(align_corners=False)``.
    """
    n, _, ho, wo = offset.shape
    (h, w), (kh, kw), (stride, padding, dilation) = size, kernel_size, conv
    taps = kh * kw
    offset = offset.to(dtype).view(n, offset.shape[1] // (2 * taps), taps, 2, ho, wo)
    arange = functools.partial(torch.arange, device=offset.device, dtype=dtype)
    rows = (arange(kh) * dilation[0]).repeat_interleave(kw).view(taps, 1, 1) + arange(ho).view(ho, 1) * stride[0]
    cols = (arange(kw) * dilation[1]).repeat(kh).view(taps, 1, 1) + arange(wo) * stride[1]
    grid_y = torch.add((2 * (rows - padding[0]) + 1) / h - 1, offset[:, :, :, 0], alpha=2 / h)
    grid_x = torch.add((2 * (cols - padding[1]) + 1) / w - 1, offset[:, :, :, 1], alpha=2 / w)
    return torch.stack((grid_x, grid_y), dim=-1)


def _channel_block(channels: int, plane_bytes: int) -> int:
    """Channels per ``grid_sample`` batch entry: the largest divisor of ``channels`` that leaves at least 8 entries
    (and one per thread) of at most 512 KiB each. Smaller entries miss the cache less and spread over threads;
    fewer entries have fewer grid gradients to sum."""
    entries = max(8, torch.get_num_threads())
    fits = [d for d in range(1, channels // entries + 1) if channels % d == 0 and d * plane_bytes <= 1 << 19]
    return max(fits, default=1)


#: Largest sample tensor made at once, in bytes: bigger ones are sampled in bands of output pixels. Below glibc's
#: largest mmap threshold (32 MiB), so the buffers are reused from the heap instead of page-faulted anew.
BAND_BYTES = 16 << 20


class _Layer(NamedTuple):
    """One deformable conv's operands (shapes as in :func:`modulated_deform_conv2d`) and its geometry."""

    x: torch.Tensor
    offset: torch.Tensor
    mask: torch.Tensor | None
    weight: torch.Tensor
    bias: torch.Tensor | None
    conv: ConvGeometry

    @property
    def tensors(self) -> tuple[torch.Tensor | None, ...]:
        """``(x, offset, mask, weight, bias)``."""
        return self[:5]


class _Sizes(NamedTuple):
    """The sizes of a :class:`_Layer`: ``x [N, C, H, W]``, ``weight [O, C / groups, kh, kw]``, ``G`` offset groups,
    ``K = kh * kw`` taps, output ``[N, O, Ho, Wo]``."""

    n: int
    channels: int
    h: int
    w: int
    out_channels: int
    group_channels: int
    kernel: tuple[int, int]
    taps: int
    out_size: tuple[int, int]
    offset_groups: int
    groups: int
    per_offset_group: int

    @classmethod
    def of(cls, layer: _Layer) -> _Sizes:
        """The sizes of ``layer``."""
        n, channels, h, w = layer.x.shape
        out_channels, group_channels, kh, kw = layer.weight.shape
        offset_groups = layer.offset.shape[1] // (2 * kh * kw)
        return cls(
            n, channels, h, w, out_channels, group_channels, (kh, kw), kh * kw, tuple(layer.offset.shape[-2:]),
            offset_groups, channels // group_channels, channels // offset_groups,
        )  # fmt: skip


def _sampling_deform_conv2d(layer: _Layer) -> torch.Tensor:
    """:func:`modulated_deform_conv2d` from bilinear sampling and matrix products; ``[N, C, H, W] -> [N, O, Ho, Wo]``.

    The forward gathers the samples with ``embedding_bag`` (:func:`_gather_deform_conv2d`). Where gradients
    are needed, it keeps only its inputs and the backward recomputes the layer through ``grid_sample``
    (:func:`_grid_sample_deform_conv2d`, whose backward is the faster of the two) to differentiate it: the
    samples, nine times the size of the output, are not kept between the passes. Sampling runs in float32
    or wider; the product, like a conv, in the weight's dtype or autocast's. The result is channels-last when
    ``x`` is.
    """
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in layer.tensors):
        return _RecomputedDeformConv2d.apply(layer.conv, *layer.tensors)
    return _gather_deform_conv2d(layer)


class _RecomputedDeformConv2d(torch.autograd.Function):
    """The gathered forward, differentiated by recomputing the layer with ``grid_sample`` in the backward
    (under the forward's autocast state); first derivatives only."""

    @staticmethod
    def forward(ctx: Any, conv: ConvGeometry, *tensors: torch.Tensor | None) -> torch.Tensor:
        device = tensors[0].device.type
        ctx.conv = conv
        ctx.autocast = torch.is_autocast_enabled(device), torch.get_autocast_dtype(device)
        ctx.save_for_backward(*tensors)
        return _gather_deform_conv2d(_Layer(*tensors, conv))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved = ctx.saved_tensors
        inputs = [
            t.detach().requires_grad_(needs) if t is not None else None
            for t, needs in zip(saved, ctx.needs_input_grad[1:], strict=True)
        ]
        enabled, dtype = ctx.autocast
        with torch.enable_grad(), torch.autocast(saved[0].device.type, dtype=dtype, enabled=enabled):
            out = _grid_sample_deform_conv2d(_Layer(*inputs, ctx.conv))
        wanted = [t for t in inputs if t is not None and t.requires_grad]
        grads = iter(torch.autograd.grad(out, wanted, grad.to(out.dtype)) if wanted else ())
        return None, *(next(grads) if t is not None and t.requires_grad else None for t in inputs)


def _bilinear_bags(layer: _Layer, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The bilinear corners of every tap: ``(first, weights)``, ``[N, Ho * Wo, G, K]`` and ``[N, Ho * Wo, G, K, 4]``.

    ``first`` indexes the corner ``(r, c)`` among the ``(H + 2) * (W + 2)`` pixels (row-major) of one image with
    a one-pixel zero border, ``r`` the floor of the sample row clamped to ``[-1, H - 1]`` (so that corners
    beyond the image fall on the border), ``c`` likewise. ``weights`` are those of the corners ``(r, c),
    (r, c + 1), (r + 1, c), (r + 1, c + 1)``: the bilinear weights times the mask, zero for a tap whose two
    rows or two columns are both outside.
    """
    (stride, padding, dilation), mask = layer.conv, layer.mask
    n, _, h, w, _, _, (kh, kw), taps, (ho, wo), offset_groups, _, _ = _Sizes.of(layer)
    arange = functools.partial(torch.arange, device=layer.offset.device, dtype=dtype)
    # pixel-major copies, so that every tensor below is contiguous in the bags' order
    offset = layer.offset.to(dtype).permute(0, 2, 3, 1).contiguous().view(n, ho * wo, offset_groups, taps, 2)
    rows = (arange(ho) * stride[0] - padding[0]).view(ho, 1, 1, 1) + (arange(kh) * dilation[0]).repeat_interleave(kw)
    cols = (arange(wo) * stride[1] - padding[1]).view(wo, 1, 1) + (arange(kw) * dilation[1]).repeat(kh)
    y = offset[..., 0] + rows.expand(ho, wo, 1, taps).reshape(ho * wo, 1, taps)
    x = offset[..., 1] + cols.expand(ho, wo, 1, taps).reshape(ho * wo, 1, taps)  # [N, Ho * Wo, G, K]
    row, col = y.floor().clamp_(-1, h - 1), x.floor().clamp_(-1, w - 1)
    frac_y, frac_x = y - row, x - col
    scale = ((y >= -1) & (y < h) & (x >= -1) & (x < w)).to(dtype)  # both corners outside: no sample
    if mask is not None:
        scale.mul_(mask.to(dtype).permute(0, 2, 3, 1).contiguous().view(scale.shape))
    low_y = scale - frac_y.mul_(scale)  # frac_y becomes the weight of the lower row
    low_x = 1 - frac_x
    weights = torch.stack((low_y * low_x, low_y * frac_x, frac_y * low_x, frac_y.mul_(frac_x)), dim=-1)
    return row.add_(1).mul_(w + 2).add_(col).add_(1).long(), weights


def _gather_deform_conv2d(layer: _Layer) -> torch.Tensor:
    """:func:`_sampling_deform_conv2d` without gradients, ``[N, C, H, W] -> [N, O, Ho, Wo]``: the samples gathered
    as im2col columns, then multiplied.

    The table is ``x`` channels-last with a zero border, one row of ``C / G`` channels per pixel and offset
    group. Each tap of each output pixel is a bag of its four bilinear corners, so one ``embedding_bag`` call
    per band of output pixels gives the columns ``[P, K * C]`` (pixel-major) of an im2col convolution, the
    input of a grouped 1x1 conv (oneDNN's, faster than a batched product on CPUs that MKL does not tune for).
    """
    x, weight, bias = layer.x, layer.weight, layer.bias
    n, channels, h, w, out_channels, group_channels, _, taps, (ho, wo), offset_groups, groups, per_offset_group = (
        _Sizes.of(layer)
    )
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    dtype = torch.promote_types(x.dtype, torch.float32)
    table = F.pad(x.to(dtype).permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1)).view(-1, per_offset_group)
    first, weights = _bilinear_bags(layer, dtype)
    # table row of (image, pixel, group): (image * (H + 2) * (W + 2) + pixel) * G + g
    if n > 1:
        first += torch.arange(n, device=x.device).view(n, 1, 1, 1) * ((h + 2) * (w + 2))
    if offset_groups > 1:
        first = first.mul_(offset_groups).add_(torch.arange(offset_groups, device=x.device).view(-1, 1))
    corners = torch.tensor([0, 1, w + 2, w + 3], device=x.device) * offset_groups
    index, weights = (first.unsqueeze(-1) + corners).view(-1, 4), weights.view(-1, 4)
    autocast = torch.is_autocast_enabled(x.device.type)
    product_dtype = torch.get_autocast_dtype(x.device.type) if autocast else weight.dtype
    # a grouped 1x1 conv over the columns, its weight in (tap, channel) order like them
    weight = weight.to(product_dtype).view(out_channels, group_channels, taps).transpose(1, 2)
    weight = weight.reshape(out_channels, taps * group_channels, 1, 1)
    bias = None if bias is None else bias.to(product_dtype)
    out = x.new_empty(n, ho * wo, out_channels, dtype=product_dtype)
    bags = offset_groups * taps  # per output pixel
    band = max(1, BAND_BYTES // (channels * taps * table.element_size()))  # output pixels per band
    for image in range(n):
        for start in range(0, ho * wo, band):
            stop = min(start + band, ho * wo)
            first_bag = (image * ho * wo + start) * bags
            samples = F.embedding_bag(
                index[first_bag : first_bag + (stop - start) * bags],
                table,
                per_sample_weights=weights[first_bag : first_bag + (stop - start) * bags],
                mode="sum",
            )  # [P * G * K, C / G] -> columns [P, groups, K, C / groups], a channels-last [1, K * C, 1, P]
            columns = samples.view(-1, offset_groups, taps, per_offset_group).transpose(1, 2)
            columns = columns.reshape(-1, taps, groups, group_channels).transpose(1, 2)
            columns = columns.reshape(1, 1, stop - start, -1).permute(0, 3, 1, 2).to(product_dtype)
            product = F.conv2d(columns, weight, bias, groups=groups)  # [1, O, 1, P], channels-last
            out[image, start:stop] = product.permute(0, 2, 3, 1).reshape(stop - start, out_channels)
    out = out.view(n, ho, wo, out_channels).permute(0, 3, 1, 2)
    return out if channels_last else out.contiguous()


def _grid_sample_deform_conv2d(layer: _Layer) -> torch.Tensor:
    """The layer recomputed with gradients (the backward of :func:`_sampling_deform_conv2d`): ``grid_sample`` and
    products, ``[N, C, H, W] -> [N, O, Ho, Wo]`` (NCHW: only its gradients are used).

    Per image and band of ``R`` output rows, one ``grid_sample`` call reads all ``K = kh * kw`` taps as ``K * R``
    rows of samples ``[C, K * R, Wo]``, from blocks of channels that are its batch entries (all sharing one
    grid, not copied): cache-sized blocks sample faster and spread over threads. The mask scales the samples,
    which are then the columns ``[C * K, R, Wo]`` of an im2col convolution: a grouped 1x1 conv (oneDNN's, which
    is faster than a batched product on CPUs that MKL does not tune for) with ``weight`` as it is stored. On a
    sample position that is exactly an integer, the derivative by the offset is the one from above (as
    torchvision's) where the side is a power of two; on other sides ``grid_sample``'s normalised
    coordinate may round below the integer and give the derivative from below.
    """
    x, offset, mask, weight, bias = layer.tensors
    n, channels, h, w, out_channels, group_channels, kernel, taps, (ho, wo), offset_groups, groups, per_offset_group = (
        _Sizes.of(layer)
    )
    dtype = torch.promote_types(x.dtype, torch.float32)
    x = x.to(dtype).contiguous()
    block = _channel_block(per_offset_group, h * w * x.element_size())
    entries = per_offset_group // block  # grid_sample batch entries per offset group
    bands = max(1, -(-channels * taps * ho * wo * x.element_size() // BAND_BYTES))
    rows = -(-ho // bands)
    # per image, bands of rows; unbind and split (not indexing) keep the backward from zero-filling whole tensors
    grid = _sampling_grid(offset, (h, w), kernel, layer.conv, dtype)  # [N, G, K, Ho, Wo, 2]
    grids = [image_grid.split(rows, dim=2) for image_grid in grid.unbind()]
    if mask is None:
        masks = [[None] * len(image_grids) for image_grids in grids]
    else:
        mask = mask.contiguous().view(n, offset_groups, 1, taps, ho, wo)
        masks = [image_mask.split(rows, dim=3) for image_mask in mask.unbind()]
    weight = weight.reshape(out_channels, group_channels * taps, 1, 1)  # a 1x1 conv over the columns
    images = []
    for image, image_grids, image_masks in zip(x.unbind(), grids, masks, strict=True):
        outs = []
        for band_grid, band_mask in zip(image_grids, image_masks, strict=True):
            samples = F.grid_sample(
                image.view(-1, block, h, w),
                band_grid.reshape(offset_groups, 1, -1, wo, 2).expand(-1, entries, -1, -1, -1).flatten(0, 1),
                mode="bilinear",
                padding_mode="zeros",
                align_corners=False,
            )
            if band_mask is not None:
                samples = samples.view(offset_groups, per_offset_group, taps, -1, wo)
                samples = samples * band_mask
            columns = samples.view(1, channels * taps, -1, wo).to(weight.dtype)
            outs.append(F.conv2d(columns, weight, bias, groups=groups))
        images.append(torch.cat(outs, dim=2))
    if not images:
        return x.new_zeros(0, out_channels, ho, wo)
    return torch.cat(images)


class ModulatedDeformConv2d(nn.Module):
    """CenterNet's ``DCN``: ``[N, in_channels, H, W] -> [N, out_channels, Ho, Wo]`` (``Ho = H`` for 3x3, padding 1).

    ``conv_offset_mask`` (a plain conv with the same kernel, stride, padding and dilation) predicts
    ``3 * G * kh * kw`` channels, split into ``o1, o2, m`` by ``chunk(3)``; the offsets are ``cat(o1, o2)``
    and the mask is ``sigmoid(m)``. It starts at zero, so a fresh module is a plain conv scaled by 0.5.
    ``weight`` starts uniform in ``±1 / sqrt(in_channels * kh * kw)``, ``bias`` at zero, as in DCNv2.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair = 3,
        stride: IntPair = 1,
        padding: IntPair = 1,
        dilation: IntPair = 1,
        deformable_groups: int = 1,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.conv_offset_mask = nn.Conv2d(
            in_channels,
            deformable_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            bias=True,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """DCNv2 initialisation: uniform ``weight``, zero ``bias``, zero ``conv_offset_mask``."""
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, in_channels, H, W]`` -> ``[N, out_channels, Ho, Wo]``."""
        offset_mask = self.conv_offset_mask(x)
        mask_start = offset_mask.shape[1] // 3 * 2  # the mask follows both offset thirds, which join as they are
        return modulated_deform_conv2d(
            x,
            offset_mask[:, :mask_start],
            torch.sigmoid(offset_mask[:, mask_start:]),
            self.weight,
            self.bias,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, deformable_groups={self.deformable_groups}"
        )
