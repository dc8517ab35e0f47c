"""Semantic segmentation: DLA backbone + DLA-up decoder, as ucbdrive/dla ``DLASeg``."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from ..backbones import NUM_LEVELS, create_backbone
from ..errors import DLADenseError
from ..weights import WeightsSource
from .dla_up import DLAUp, bilinear_upsampler
from .fusion import fuse_conv_bn
from .inputs import IMAGE_INPUTS

DOWN_RATIOS = (2, 4, 8)


class DLASeg(nn.Module):
    """``model(images [N, 3, H, W]) -> logits [N, num_classes, H, W]`` (before softmax, train and eval).

    H and W must be multiples of 32. ``base`` returns DLA levels ``first_level..5`` (``first_level =
    log2(down_ratio)``), ``dla_up`` merges them into ``[N, C, H / down_ratio, W / down_ratio]``, ``fc``
    (1x1 conv with bias) gives class scores and ``up`` (fixed bilinear transposed conv,
    ``requires_grad=False``) brings them to the input resolution. Names and key layout are those of
    ucbdrive/dla ``DLASeg``, whose forward returns ``log_softmax`` of these logits.
    """

    #: Named inputs (see :mod:`dla_dense.models.inputs`).
    inputs: Mapping[str, int] = IMAGE_INPUTS

    def __init__(
        self,
        backbone: str = "dla34",
        num_classes: int = 19,
        *,
        down_ratio: int = 2,
        pretrained: WeightsSource = False,
        frozen_stages: int = -1,
        norm_eval: bool = False,
    ) -> None:
        super().__init__()
        if down_ratio not in DOWN_RATIOS:
            raise DLADenseError(
                f"down_ratio={down_ratio} is not supported; use one of {', '.join(map(str, DOWN_RATIOS))}"
            )
        if num_classes < 1:
            raise DLADenseError(f"num_classes={num_classes} is invalid; give the number of classes (>= 1)")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.down_ratio = down_ratio
        self.first_level = int(math.log2(down_ratio))
        self.base = create_backbone(
            backbone,
            pretrained=pretrained,
            out_indices=tuple(range(self.first_level, NUM_LEVELS)),
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
        )
        channels = self.base.feature_info.channels()
        strides = self.base.feature_info.reduction()
        self.dla_up = DLAUp(channels, scales=[s // strides[0] for s in strides])
        self.fc = nn.Sequential(nn.Conv2d(channels[0], num_classes, kernel_size=1, bias=True))
        nn.init.normal_(self.fc[0].weight, 0, math.sqrt(2.0 / num_classes))
        self.up = bilinear_upsampler(num_classes, strides[0])
        self.up.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, 3, H, W]`` (H, W multiples of 32) -> logits ``[N, num_classes, H, W]``."""
        return self.up(self.fc(self.dla_up(self.base(x))))

    def fuse(self) -> DLASeg:
        """Fold every BatchNorm into the convolution before it (eval mode only, in place); returns ``self``.

        The fused model gives the same logits for ``[N, 3, H, W]`` inputs with fewer operations; it cannot be
        trained or saved as a ucbdrive-compatible state dict any more.
        """
        if self.training:
            raise DLADenseError("DLASeg.fuse() needs eval mode (BatchNorm running statistics); call model.eval() first")
        fuse_conv_bn(self)
        return self

    def extra_repr(self) -> str:
        return f"{self.backbone_name}, {self.num_classes} classes, down_ratio={self.down_ratio}"
