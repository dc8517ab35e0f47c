"""BatchNorm folding: every eval-mode BatchNorm that directly follows a convolution goes into its weights.

Conv -> BatchNorm pairs are found by running the model once on a small input and watching the tensors:
a BatchNorm is folded into a convolution when its input is exactly that convolution's output and nothing
else reads that output. This covers every structure (timm's DLA blocks, the DLA-up and CenterNet decoders,
other models) without knowing their module names, and never folds a pair whose convolution output is also
used elsewhere (a residual branch, a concatenation).
"""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..ops.dcn import ModulatedDeformConv2d

#: Modules whose output is ``sum(weight[o] * window) + bias[o]`` per output channel ``o`` (weight ``[O, ...]``).
FOLDABLE_CONVS = (nn.Conv2d, ModulatedDeformConv2d)


class _UseCounter(TorchDispatchMode):
    """Counts, per tracked tensor, the operators that read it outside the BatchNorm that consumes it."""

    def __init__(self, producers: dict[int, str], active_inputs: list[int]) -> None:
        super().__init__()
        self.producers = producers
        self.active_inputs = active_inputs
        self.external: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        for arg in tree_leaves((args, kwargs or {})):
            if isinstance(arg, torch.Tensor) and id(arg) in self.producers and id(arg) not in self.active_inputs:
                self.external[self.producers[id(arg)]] += 1
        return func(*args, **(kwargs or {}))


def _example_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    """``[1, C, 64, 64]`` random inputs, one per named input of the model (:mod:`dla_dense.models.inputs`; a
    model that declares none: ``C`` the input channels of its first convolution)."""
    param = next(model.parameters())
    generator = torch.Generator().manual_seed(0)
    declared = getattr(model, "inputs", None)
    if declared is None:
        conv = next(m for m in model.modules() if isinstance(m, FOLDABLE_CONVS))
        declared = {"image": conv.in_channels}
    return tuple(
        torch.randn(1, c, 64, 64, generator=generator).to(device=param.device, dtype=param.dtype)
        for c in declared.values()
    )


def find_conv_bn_pairs(model: nn.Module, example_input: torch.Tensor | None = None) -> list[tuple[str, str]]:
    """Names ``(conv, bn)`` of every eval-mode ``BatchNorm2d`` fed only by the output of one convolution.

    The model runs once on ``example_input`` (default ``[1, C, 64, 64]`` random, where C is the first
    convolution's input channels; H and W must suit the model) under ``no_grad``. A pair qualifies when the
    convolution (``Conv2d``, deformable) and the BatchNorm (eval mode, running statistics) each run exactly
    once, the BatchNorm's input is the convolution's output tensor itself and no other operator reads that
    tensor. Running statistics of BatchNorms in training mode are restored after the trace.
    """
    names = {m: n for n, m in model.named_modules()}
    if not any(isinstance(m, FOLDABLE_CONVS) for m in names) or not any(isinstance(m, nn.BatchNorm2d) for m in names):
        return []
    calls: Counter[nn.Module] = Counter()
    producers: dict[int, str] = {}
    keep_alive: list[torch.Tensor] = []
    active_inputs: list[int] = []
    bn_source: dict[str, str] = {}

    def after_conv(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls[module] += 1
        if isinstance(output, torch.Tensor):
            producers[id(output)] = names[module]
            keep_alive.append(output)

    def before_bn(module: nn.Module, inputs: tuple) -> None:
        calls[module] += 1
        x = inputs[0] if inputs else None
        active_inputs.append(id(x))
        if isinstance(x, torch.Tensor) and id(x) in producers:
            bn_source[names[module]] = producers[id(x)]

    def after_bn(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        active_inputs.pop()

    training_bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.training]
    saved = [{k: v.clone() for k, v in m.named_buffers()} for m in training_bns]
    handles = []
    for module in names:
        if isinstance(module, FOLDABLE_CONVS):
            handles.append(module.register_forward_hook(after_conv))
        elif isinstance(module, nn.BatchNorm2d):
            handles.append(module.register_forward_pre_hook(before_bn))
            handles.append(module.register_forward_hook(after_bn))
    counter = _UseCounter(producers, active_inputs)
    try:
        with torch.no_grad(), counter:
            model(*(_example_inputs(model) if example_input is None else (example_input,)))
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for module, buffers in zip(training_bns, saved, strict=True):
                for key, value in buffers.items():
                    module.get_buffer(key).copy_(value)
    modules = dict(model.named_modules())
    pairs = []
    for bn_name, conv_name in bn_source.items():
        bn, conv = modules[bn_name], modules[conv_name]
        if (
            not bn.training
            and bn.running_mean is not None
            and calls[bn] == calls[conv] == 1
            and counter.external[conv_name] == 0
        ):
            pairs.append((conv_name, bn_name))
    return pairs


@torch.no_grad()
def fold_bn_into_conv(conv: nn.Module, bn: nn.BatchNorm2d) -> None:
    """Scale ``conv.weight [O, ...]`` per output channel and shift ``conv.bias [O]`` (created if absent) so that
    ``conv(x) == bn(conv_before(x))`` for ``bn`` in eval mode; ``conv`` is changed in place."""
    weight, bias = fuse_conv_bn_weights(
        conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    conv.weight = weight
    conv.bias = bias


def fuse_conv_bn(model: nn.Module, example_input: torch.Tensor | None = None) -> list[tuple[str, str]]:
    """Fold every eval-mode ``BatchNorm2d`` that directly follows a convolution into it, in place.

    Pairs are found by :func:`find_conv_bn_pairs` (one traced forward on ``example_input``); each
    convolution gets the BatchNorm's scale and shift (a bias is added where it had none) and the BatchNorm
    is replaced by ``nn.Identity`` wherever it is registered. BatchNorms in training mode, or whose input is
    not a convolution's private output, are left alone. Returns the folded ``(conv, bn)`` names. The result
    computes the same function in eval mode; it cannot be trained like the original.
    """
    pairs = find_conv_bn_pairs(model, example_input)
    modules = dict(model.named_modules())
    folded = {id(modules[bn_name]) for _, bn_name in pairs}
    for conv_name, bn_name in pairs:
        fold_bn_into_conv(modules[conv_name], modules[bn_name])
    for name, module in list(model.named_modules(remove_duplicate=False)):
        if id(module) in folded:
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent), attr, nn.Identity())
    return pairs
