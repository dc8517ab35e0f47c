"""DLA encoders for segmentation_models_pytorch: importing this module registers ``dla_dense-<name>`` for every
DLA variant, so that any smp decoder builds on DLA by name, DeepLabV3/V3+ (output stride 8 or 16) included::

    import segmentation_models_pytorch as smp
    import dla_dense.adapters.smp  # noqa: F401  (registers the encoders)

    model = smp.DeepLabV3Plus("dla_dense-dla34", encoder_weights=None, classes=19, encoder_output_stride=8)

``encoder_weights="imagenet"`` loads timm's ImageNet weights from the Hugging Face Hub (the same files as
``create_backbone(name, pretrained=True)``). smp's own ``tu-dla34`` works for Unet/FPN but not for decoders
that need an output stride other than 32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from segmentation_models_pytorch.encoders import encoders
from segmentation_models_pytorch.encoders._base import EncoderMixin
from timm.models import get_pretrained_cfg
from torch import nn

from ..backbones import DLA_MODELS, create_backbone, dilate_levels
from ..errors import InvalidArgumentError
from ..weights import to_timm_layout

PREFIX = "dla_dense-"


class DLAEncoder(nn.Module, EncoderMixin):
    """smp encoder on :func:`~dla_dense.create_backbone`: ``forward(x [N, 3, H, W])`` -> ``[x, level1, ...,
    level<depth>]`` at strides 1, 2, 4, ... (at most the output stride).

    It keeps smp's contract: an invalid ``depth`` or output stride raises a ``ValueError`` (a
    :class:`~dla_dense.DLADenseError` too); inputs of any size are taken (padded inside, see :meth:`forward`),
    so Unet predicts at any resolution, while the decoders that need divisible sizes raise smp's own
    ``RuntimeError``; it scripts with ``torch.jit.script``, exports with ``torch.export`` and compiles with
    ``torch.compile(fullgraph=True)``, as its capability flags say.
    """

    _is_torch_scriptable = True
    _is_torch_exportable = True
    _is_torch_compilable = True

    def __init__(self, name: str, depth: int = 5, output_stride: int = 32, **_: Any) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 5:
            raise InvalidArgumentError(f"{type(self).__name__} depth should be in range [1, 5], got {depth!r}")
        super().__init__()
        self.backbone = create_backbone(name, out_indices=tuple(range(1, depth + 1)))
        self._depth = depth
        self._in_channels = 3
        self._output_stride = 32
        self._out_channels = [3, *self.backbone.feature_info.channels()]
        if output_stride != 32:
            self.make_dilated(output_stride)

    def make_dilated(self, output_stride: int) -> None:
        """Dilate the levels below ``output_stride`` (:func:`~dla_dense.backbones.dilate_levels`)."""
        if output_stride != self._output_stride:
            dilate_levels(self.backbone, output_stride)
            self._output_stride = output_stride

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Features of ``x [N, C, H, W]`` of any size, as smp's any-resolution decoders (Unet) expect: a size
        that is not a multiple of the output stride is zero-padded at the bottom and right, and each map is
        cropped back to ``ceil(H / stride) x ceil(W / stride)``."""
        height, width = x.shape[-2], x.shape[-1]
        stride = self.backbone.max_stride
        pad_h, pad_w = (stride - height % stride) % stride, (stride - width % stride) % stride
        if pad_h == 0 and pad_w == 0:
            return [x] + self.backbone(x)
        features = [x]
        for feature in self.backbone(F.pad(x, (0, pad_w, 0, pad_h))):
            step = (height + pad_h) // feature.shape[-2]
            features.append(feature[:, :, : (height + step - 1) // step, : (width + step - 1) // step])
        return features

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor], strict: bool = True, assign: bool = False):
        """Load timm (or ucbdrive) DLA classifier weights into the backbone; the classifier is dropped."""
        state = {k: v for k, v in to_timm_layout(state_dict).items() if not k.startswith("fc.")}
        own = self.backbone.state_dict()
        state = {k: v for k, v in state.items() if k in own}
        return self.backbone.load_state_dict(state, strict=strict, assign=assign)


def _settings(name: str) -> dict[str, Any]:
    cfg = get_pretrained_cfg(name)
    if cfg is None or not cfg.hf_hub_id:
        return {}
    return {
        "imagenet": {
            "repo_id": cfg.hf_hub_id,
            "revision": None,
            "mean": list(cfg.mean),
            "std": list(cfg.std),
            "input_space": "RGB",
            "input_range": [0, 1],
        }
    }


def register() -> list[str]:
    """Register ``dla_dense-<name>`` for every DLA variant with smp (again is harmless); returns the names."""
    names = []
    for name in DLA_MODELS:
        encoders[PREFIX + name] = {
            "encoder": DLAEncoder,
            "pretrained_settings": _settings(name),
            "params": {"name": name},
        }
        names.append(PREFIX + name)
    return names


ENCODER_NAMES = register()
