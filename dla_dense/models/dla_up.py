"""DLA-up decoder of ucbdrive/dla ``dla_up.py``: iterative deep aggregation (IDA) stages.

Module names, ``nn.Sequential`` index layout and initialisation follow the reference, so its
``dla_up.*`` state-dict keys load 1:1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def fill_up_weights(up: nn.ConvTranspose2d) -> None:
    """Set a depthwise ``ConvTranspose2d`` (weight ``[C, 1, 2f, 2f]``) to bilinear upsampling by ``f``.

    For ``f = 2`` every channel gets the separable kernel ``[.25, .75, .75, .25]``. With stride ``f`` and
    padding ``f // 2`` this is bilinear interpolation inside the map; borders see implicit zero padding.
    """
    size = up.weight.shape[2]
    f = math.ceil(size / 2)
    center = (2 * f - 1 - f % 2) / (2.0 * f)
    taps = 1 - (torch.arange(size, dtype=torch.float64) / f - center).abs()
    with torch.no_grad():
        up.weight.copy_(torch.outer(taps, taps).expand_as(up.weight))


class DepthwiseUp(nn.ConvTranspose2d):
    """A depthwise ``ConvTranspose2d`` that runs in fp32 under CPU autocast.

    PyTorch's CPU kernel for grouped transposed convolutions in bfloat16 is 20-70x slower than the fp32 one,
    so under CPU autocast the input is cast to fp32 and the output stays fp32, or, without ``float_output``,
    goes back to the input's dtype. ucbdrive's IDA nodes concatenate the output with a bf16 map, so rounding
    it here gives the node's conv the same input (an fp32 output would make that concatenation, twice the
    channels at the highest resolution, fp32 as well); CenterNet's nodes add it to a bf16 map, and that sum
    is more exact in fp32. Parameters and state-dict keys are those of ``nn.ConvTranspose2d``.
    """

    float_output = True

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        """``[N, C, H, W] -> [N, C, H', W']``; fp32 under CPU autocast (``x``'s dtype without ``float_output``)."""
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                out = super().forward(x.float(), output_size)
            return out if self.float_output else out.to(x.dtype)
        return super().forward(x, output_size)


def bilinear_upsampler(channels: int, factor: int, *, float_output: bool = True) -> nn.ConvTranspose2d:
    """Depthwise transposed conv ``[N, C, H, W] -> [N, C, H*factor, W*factor]``, initialised bilinear; see
    :class:`DepthwiseUp` for ``float_output``."""
    up = DepthwiseUp(
        channels,
        channels,
        kernel_size=factor * 2,
        stride=factor,
        padding=factor // 2,
        output_padding=0,
        groups=channels,
        bias=False,
    )
    up.float_output = float_output
    fill_up_weights(up)
    return up


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """``Sequential(Conv2d(k, no bias), BatchNorm2d, ReLU)``, keys ``0.weight`` and ``1.*``; keeps H, W."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def init_conv_bn(module: nn.Module) -> None:
    """ucbdrive/dla init: every ``Conv2d`` weight ~ N(0, sqrt(2 / (k*k*out))), BatchNorm 1 / 0.

    ``ConvTranspose2d`` is not a ``Conv2d``, so bilinear upsamplers keep their weights.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class IDAUp(nn.Module):
    """One iterative deep aggregation stage.

    Input i (``[N, channels[i], H_i, W_i]`` with ``H_i * up_factors[i]`` equal for all i) goes through
    ``proj_i`` (1x1 conv + BN + ReLU to ``out_dim``, identity when ``channels[i] == out_dim``) and ``up_i``
    (trainable depthwise transposed conv by ``up_factors[i]``, bilinear init; identity for factor 1). Then
    ``x = node_i(cat([x, input_i]))`` for i >= 1, a ``node_kernel`` conv + BN + ReLU from ``2 * out_dim`` to
    ``out_dim`` channels, starting from ``x = input_0``.
    """

    def __init__(self, node_kernel: int, out_dim: int, channels: Sequence[int], up_factors: Sequence[int]) -> None:
        super().__init__()
        if len(channels) != len(up_factors):
            raise ValueError(f"{len(channels)} channel counts but {len(up_factors)} up factors")
        self.channels = list(channels)
        self.out_dim = out_dim
        for i, (c, f) in enumerate(zip(channels, up_factors, strict=True)):
            proj = nn.Identity() if c == out_dim else conv_bn_relu(c, out_dim, 1)
            # the node concatenates the upsampled map: it may stay in autocast's dtype
            up = nn.Identity() if int(f) == 1 else bilinear_upsampler(out_dim, int(f), float_output=False)
            self.add_module(f"proj_{i}", proj)
            self.add_module(f"up_{i}", up)
        for i in range(1, len(channels)):
            self.add_module(f"node_{i}", conv_bn_relu(out_dim * 2, out_dim, node_kernel))
        init_conv_bn(self)

    def forward(self, layers: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``layers`` as in the class docstring -> ``(x, y)``: the last node output ``[N, out_dim, H, W]``
        and the list of all ``len(layers) - 1`` node outputs, each ``[N, out_dim, H, W]``."""
        if len(layers) != len(self.channels):
            raise ValueError(f"IDAUp expects {len(self.channels)} inputs, got {len(layers)}")
        ups = [getattr(self, f"up_{i}")(getattr(self, f"proj_{i}")(t)) for i, t in enumerate(layers)]
        x = ups[0]
        y = []
        for i in range(1, len(ups)):
            x = getattr(self, f"node_{i}")(torch.cat([x, ups[i]], 1))
            y.append(x)
        return x, y


class DLAUp(nn.Module):
    """Decoder that merges multi-scale features from deepest to finest with ``len(channels) - 1`` IDAUps.

    Input: maps ``[N, in_channels[k], H / scales[k], W / scales[k]]`` (``in_channels`` defaults to
    ``channels``), finest first, e.g. DLA levels 1..5 with ``scales = [1, 2, 4, 8, 16]``. Stage ``ida_i``
    merges the last ``i + 2`` maps into ``channels[-i-2]`` channels at scale ``scales[-i-2]``, with 3x3
    nodes and up factors ``[1, 2, 2, ...]`` (ratios of neighbouring scales). Output: ``[N, channels[0],
    H / scales[0], W / scales[0]]``.
    """

    def __init__(
        self, channels: Sequence[int], scales: Sequence[int], in_channels: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if len(channels) < 2 or len(scales) != len(channels):
            raise ValueError(f"DLAUp needs >= 2 levels with one scale each, got {channels} and {scales}")
        self.channels = list(channels)
        in_channels = list(channels if in_channels is None else in_channels)
        scales = [int(s) for s in scales]
        n = len(channels)
        for i in range(n - 1):
            j = n - i - 2
            up_factors = [s // scales[j] for s in scales[j:]]
            self.add_module(f"ida_{i}", IDAUp(3, channels[j], in_channels[j:], up_factors))
            scales[j + 1 :] = [scales[j]] * (n - j - 1)
            in_channels[j + 1 :] = [channels[j]] * (n - j - 1)

    def forward(self, layers: Sequence[torch.Tensor]) -> torch.Tensor:
        """``layers`` as in the class docstring -> ``[N, channels[0], H / scales[0], W / scales[0]]``."""
        if len(layers) != len(self.channels):
            raise ValueError(f"DLAUp expects {len(self.channels)} inputs, got {len(layers)}")
        layers = list(layers)
        for i in range(len(layers) - 1):
            x, y = getattr(self, f"ida_{i}")(layers[-i - 2 :])
            layers[-i - 1 :] = y
        return x
