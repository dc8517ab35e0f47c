"""SMOKE's normalisation of a CenterNet network (lzccccc/SMOKE ``smoke/modeling/make_layers.py``,
``backbone/dla.py``, ``heads/smoke_head/smoke_predictor.py``): GroupNorm wherever CenterNet has BatchNorm
(backbone and IDA nodes) and after the 3x3 convolution of every head."""

from __future__ import annotations

from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """SMOKE's GroupNorm of ``channels``: 32 groups when they divide the channels, else 16."""
    return nn.GroupNorm(32 if channels % 32 == 0 else 16, channels)


def _converted(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm2d below it replaced by :func:`group_norm` (its affine weights kept, as
    SMOKE loads ImageNet BatchNorm weights into its GroupNorm layers)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            norm = group_norm(child.num_features)
            norm.weight.data.copy_(child.weight.data)
            norm.bias.data.copy_(child.bias.data)
            setattr(module, name, norm)
        else:
            _converted(child)
    return module


def with_group_norm(model: nn.Module, heads: list[str]) -> nn.Module:
    """``model`` (a CenterNet network) with SMOKE's normalisation, in place: every BatchNorm2d becomes a
    GroupNorm, and each head in ``heads`` (``conv3x3, ReLU, conv1x1``) becomes ``conv3x3, GroupNorm, ReLU,
    conv1x1`` (SMOKE's layout and indices). Returns ``model``."""
    _converted(model)
    for name in heads:
        branch = getattr(model, name)
        if isinstance(branch, nn.Sequential) and len(branch) == 3:
            conv, relu, last = branch
            setattr(model, name, nn.Sequential(conv, group_norm(conv.out_channels), relu, last))
    return model
