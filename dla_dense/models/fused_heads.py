"""A CenterNet's heads as one function for inference: one 3x3 convolution for all of them, then a grouped 1x1.

Every head of a CenterNet reads the same map ``[N, C, H, W]`` through its own 3x3 conv to ``head_conv`` channels,
a ReLU and a 1x1 conv (:func:`~dla_dense.models.centernet.head_branch`). Concatenating the 3x3 convs' output
channels gives one conv ``C -> heads * head_conv``; the 1x1 convs become one grouped conv (a group per head, its
outputs padded with zero rows to the widest head's), and slicing each group's first channels gives the heads'
maps: the same function in two large convolutions instead of ten small ones. Heads that are a single 1x1 conv
(``head_conv=0``) become one 1x1 conv.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class FusedHeads(nn.Module):
    """``features [N, C, H, W] -> {name: [N, channels[name], H, W]}``, equal to the heads it was built from.

    Build it with :func:`fuse_heads`; ``conv`` is the concatenated 3x3 conv (None for 1x1-only heads), ``out`` the
    1x1 conv (grouped after ``conv``) whose output channels ``starts[i] .. starts[i] + channels`` are head ``i``'s.
    """

    def __init__(self, conv: nn.Conv2d | None, out: nn.Conv2d, channels: Mapping[str, int], starts: list[int]) -> None:
        super().__init__()
        self.conv = conv
        self.out = out
        self.channels = dict(channels)
        self.starts = starts

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """``features [N, C, H, W]`` -> ``{name: [N, channels[name], H, W]}`` (channel slices of one map)."""
        x = features if self.conv is None else torch.relu(self.conv(features))
        y = self.out(x)
        return {
            name: y[:, start : start + channels]
            for start, (name, channels) in zip(self.starts, self.channels.items(), strict=True)
        }


def _parts(head: nn.Module) -> tuple[nn.Conv2d | None, nn.Conv2d] | None:
    """``(3x3 conv, 1x1 conv)`` of a head branch, ``(None, 1x1 conv)`` of a single-conv head, None otherwise."""
    if isinstance(head, nn.Conv2d) and head.kernel_size == (1, 1) and head.groups == 1:
        return None, head
    if (
        isinstance(head, nn.Sequential)
        and len(head) == 3
        and isinstance(head[0], nn.Conv2d)
        and isinstance(head[1], nn.ReLU)
        and isinstance(head[2], nn.Conv2d)
        and head[2].kernel_size == (1, 1)
        and head[0].groups == head[2].groups == 1
    ):
        return head[0], head[2]
    return None


def _same_layout(convs: list[nn.Conv2d]) -> bool:
    first = convs[0]
    keys = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "padding_mode")
    return all(all(getattr(c, k) == getattr(first, k) for k in keys) and c.bias is not None for c in convs)


@torch.no_grad()
def fuse_heads(heads: Mapping[str, nn.Module]) -> FusedHeads | None:
    """The :class:`FusedHeads` of ``heads`` (name -> head module, in output order), or None when they are not all
    head branches of one shape (the same 3x3 conv layout and width, or all single 1x1 convs, with biases)."""
    parts = [_parts(head) for head in heads.values()]
    if not parts or any(p is None for p in parts):
        return None
    firsts, lasts = [p[0] for p in parts], [p[1] for p in parts]
    if any(c.bias is None for c in lasts) or len({c.in_channels for c in lasts}) != 1:
        return None
    reference = lasts[0].weight
    channels = {name: last.out_channels for name, last in zip(heads, lasts, strict=True)}
    if all(c is None for c in firsts):
        out = nn.Conv2d(lasts[0].in_channels, sum(channels.values()), 1).to(reference)
        out.weight.copy_(torch.cat([c.weight for c in lasts]))
        out.bias.copy_(torch.cat([c.bias for c in lasts]))
        starts = [sum(list(channels.values())[:i]) for i in range(len(channels))]
        return FusedHeads(None, out, channels, starts)
    if any(c is None for c in firsts) or not _same_layout(firsts):
        return None
    first = firsts[0]
    conv = nn.Conv2d(
        first.in_channels,
        first.out_channels * len(firsts),
        first.kernel_size,
        stride=first.stride,
        padding=first.padding,
        dilation=first.dilation,
        padding_mode=first.padding_mode,
    ).to(reference)
    conv.weight.copy_(torch.cat([c.weight for c in firsts]))
    conv.bias.copy_(torch.cat([c.bias for c in firsts]))
    width = max(channels.values())
    out = nn.Conv2d(conv.out_channels, width * len(lasts), 1, groups=len(lasts)).to(reference)
    out.weight.zero_()
    out.bias.zero_()
    for i, last in enumerate(lasts):
        out.weight[i * width : i * width + last.out_channels] = last.weight
        out.bias[i * width : i * width + last.out_channels] = last.bias
    return FusedHeads(conv, out, channels, [i * width for i in range(len(lasts))])
