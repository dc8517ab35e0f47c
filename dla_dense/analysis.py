"""Model size and compute: parameters and multiply-accumulates (MACs)."""

from __future__ import annotations

from math import prod

import torch
import torchvision.ops  # noqa: F401  (registers torch.ops.torchvision)
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .models.inputs import model_inputs

_aten = torch.ops.aten


def _batch_norm_flops(*args, out_shape=None, **kwargs) -> int:
    # Inference BatchNorm is one scale-and-shift per output element: 1 MAC = 2 FLOPs.
    return 2 * prod(out_shape[0])


def _deform_conv_flops(input_shape, weight_shape, *args, out_shape=None, **kwargs) -> int:
    # torchvision's deformable conv: the products of a convolution with the same kernel (sampling not counted),
    # as the grid_sample implementation's matrix product counts.
    return 2 * prod(out_shape) * prod(weight_shape[1:])


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: nn.Module, input_size: tuple[int, int, int] = (3, 224, 224)) -> int:
    """Multiply-accumulates of one eval forward pass on a ``[1, *input_size]`` input (zeros; a model with several
    named inputs gets each at ``input_size``'s height and width).

    Counts convolutions and matrix products (``torch.utils.flop_counter``), deformable convolutions as the
    convolution they compute (either implementation), plus one MAC per element of each inference BatchNorm;
    elementwise additions, activations, pooling and bilinear sampling are not counted.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(
        display=False,
        custom_mapping={
            _aten._native_batch_norm_legit_no_training: _batch_norm_flops,
            torch.ops.torchvision.deform_conv2d: _deform_conv_flops,
        },
    )
    with counter:
        if hasattr(model, "inputs"):
            model(*(torch.zeros(1, c, *input_size[1:], device=device) for c in model_inputs(model).values()))
        else:
            model(torch.zeros(1, *input_size, device=device))
    model.train(was_training)
    return counter.get_total_flops() // 2
