"""Modulated deformable convolution (DCNv2, Zhu et al., arXiv 1811.11168) without a compiled extension.

:class:`ModulatedDeformConv2d` has the parameters of CenterNet's ``DCN`` (``DCNv2/dcn_v2.py``): ``weight``,
``bias`` and the ``conv_offset_mask`` conv that predicts offsets and masks from the input, so its
checkpoints load 1:1. The sampling is ``torchvision.ops.deform_conv2d``, which shares the DCNv2 kernel's
offset layout (channel ``2k`` is dy and ``2k + 1`` is dx of tap ``k = i * kw + j``), its zero padding outside
the image and its mask product.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.utils import _pair
from torchvision.ops import deform_conv2d

IntPair = int | tuple[int, int]


def modulated_deform_conv2d(
    x: torch.Tensor,
    offset: torch.Tensor,
    mask: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """Deformable conv of ``x [N, C, H, W]`` with ``weight [O, C, kh, kw]`` and ``bias [O]`` -> ``[N, O, Ho, Wo]``.

    ``offset [N, 2 * G * kh * kw, Ho, Wo]`` moves tap ``k`` of group ``g`` by ``(dy, dx)`` = channels
    ``(2 * (g * kh * kw + k), 2 * (g * kh * kw + k) + 1)``; ``mask [N, G * kh * kw, Ho, Wo]`` scales the
    bilinearly sampled values (zero outside the image). ``G`` groups split the ``C`` input channels.
    """
    return deform_conv2d(x, offset, weight, bias, stride=stride, padding=padding, dilation=dilation, mask=mask)


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
        o1, o2, mask = torch.chunk(self.conv_offset_mask(x), 3, dim=1)
        return modulated_deform_conv2d(
            x,
            torch.cat((o1, o2), dim=1),
            torch.sigmoid(mask),
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
