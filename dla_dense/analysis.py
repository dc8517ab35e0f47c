"""Model size and compute: parameters and multiply-accumulates (MACs)."""

from __future__ import annotations

from math import prod

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

_aten = torch.ops.aten


def _batch_norm_flops(*args, out_shape=None, **kwargs) -> int:
    # Inference BatchNorm is one scale-and-shift per output element: 1 MAC = 2 FLOPs.
    return 2 * prod(out_shape[0])


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: nn.Module, input_size: tuple[int, int, int] = (3, 224, 224)) -> int:
    """Multiply-accumulates of one eval forward pass on a ``[1, *input_size]`` input.

    Counts convolutions and matrix products (``torch.utils.flop_counter``) plus one MAC per element of
    each inference BatchNorm; elementwise additions, activations and pooling are not counted.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(
        display=False, custom_mapping={_aten._native_batch_norm_legit_no_training: _batch_norm_flops}
    )
    with counter:
        model(torch.zeros(1, *input_size, device=device))
    model.train(was_training)
    return counter.get_total_flops() // 2
