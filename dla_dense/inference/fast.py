"""Fast inference: BatchNorm folded into the convolution before it (:mod:`dla_dense.models.fusion`),
channels-last, bf16 autocast, compile."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ..errors import DLADenseError
from ..models.fusion import fuse_conv_bn

#: The DLA stem: the backbone's full- and half-resolution layers, which see the image itself.
STEM_MODULES = ("base_layer", "level0", "level1")


def keep_stem_float32(model: nn.Module) -> list[str]:
    """Make the DLA stem modules of ``model`` (:data:`STEM_MODULES`) run in float32 under autocast; returns
    their names.

    In bf16 the normalised input keeps only about 3 significant digits, less than the steps between pixel
    values, and the error reaches the predictions; the stem costs a few percent of the network's time. The
    last stem module hands its output on in autocast's dtype: every reader rounds it to that dtype anyway
    (the next level's conv, or the concatenation of a DLA-up node, which would otherwise be float32 at the
    highest resolution).
    """
    names = [name for name, _ in model.named_modules() if name.rsplit(".", 1)[-1] in STEM_MODULES]
    for name in names:
        saved: list[tuple[str, bool]] = []

        def enter(module: nn.Module, args: tuple, saved: list[tuple[str, bool]] = saved) -> tuple:
            device_type = args[0].device.type
            saved.append((device_type, torch.is_autocast_enabled(device_type)))
            torch.set_autocast_enabled(device_type, False)
            return tuple(a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args)

        def leave(
            module: nn.Module,
            args: tuple,
            output: torch.Tensor,
            saved: list[tuple[str, bool]] = saved,
            last: bool = name.rsplit(".", 1)[-1] == STEM_MODULES[-1],
        ) -> torch.Tensor:
            device_type, enabled = saved.pop()
            torch.set_autocast_enabled(device_type, enabled)
            return output.to(torch.get_autocast_dtype(device_type)) if enabled and last else output

        module = model.get_submodule(name)
        module.register_forward_pre_hook(enter)
        module.register_forward_hook(leave)
    return names


def prepare_for_inference(
    model: nn.Module, *, fuse: bool = True, channels_last: bool = True, compile: bool = False, bf16: bool = False
) -> nn.Module:
    """Put ``model`` in eval mode and speed it up for ``model(images [N, 3, H, W])``.

    ``fuse`` folds BatchNorm into convolutions (:func:`fuse_conv_bn`, in place), ``channels_last`` stores the
    4-d weights in NHWC order (outputs follow; inputs may stay NCHW), ``bf16`` prepares for bf16 autocast by
    keeping the stem in float32 (:func:`keep_stem_float32`), ``compile`` wraps the model in ``torch.compile``
    (the first calls of each input shape compile). Returns the model to call, which is the compiled wrapper
    when ``compile`` is set and ``model`` itself otherwise.
    """
    model.eval()
    if fuse:
        fuse_conv_bn(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if bf16:
        keep_stem_float32(model)
    return torch.compile(model) if compile else model


def bf16_autocast(device: torch.device | str, enabled: bool = True) -> contextlib.AbstractContextManager:
    """``torch.autocast`` to bfloat16 on ``device`` ('cpu' or 'cuda'), or a no-op context when not ``enabled``.

    Convolutions and matrix products run in bf16 (outputs are bf16 tensors); reductions such as softmax stay
    float32 where autocast keeps them so.
    """
    if not enabled:
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    if device_type not in ("cpu", "cuda"):
        raise DLADenseError(f"bf16 autocast runs on cpu or cuda, not '{device_type}'")
    return torch.autocast(device_type, dtype=torch.bfloat16)
