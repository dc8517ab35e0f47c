"""Named model inputs. A model declares ``inputs``: name -> channels, in the order of its ``forward`` arguments,
each ``[N, channels, H, W]`` at the input resolution. Single-image models take ``{"image": 3}``; a tracker adds
the previous frame and a heatmap of the previous objects. Export, the engines and int8 calibration use these
names (ONNX / OpenVINO input names)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

#: The inputs of a single-image model.
IMAGE_INPUTS: Mapping[str, int] = {"image": 3}


def model_inputs(model: nn.Module) -> dict[str, int]:
    """``model.inputs`` (name -> channels), or :data:`IMAGE_INPUTS` for a model that declares none (timm's)."""
    return dict(getattr(model, "inputs", IMAGE_INPUTS))


def example_inputs(model: nn.Module, size: tuple[int, int], batch: int = 1) -> dict[str, torch.Tensor]:
    """Random inputs ``{name: [batch, channels, *size]}`` of ``model``, in its argument order."""
    return {name: torch.randn(batch, channels, *size) for name, channels in model_inputs(model).items()}


def batch_inputs(model: nn.Module, batch: Mapping[str, torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """The tensors of ``batch`` that ``model`` takes, by name and in its argument order, on ``device`` (a
    ``DistributedDataParallel`` wrapper is looked through)."""
    names = model_inputs(getattr(model, "module", model))
    return [batch[name].to(device, non_blocking=True) for name in names]
