"""The base of a regression head: one output map read at the object centres, trained with CenterTrack's weighted
L1 loss (``<output>_mask`` weighs each component), merged in the flip test by keeping the unflipped pass.

A regression head is a short declaration: its :attr:`~RegressionHead.output` name and ``channels``, the default
weight of its ``<output>_loss``, how it encodes one item's targets (:meth:`~Head.encode`) and what it decodes from
the values gathered at the peaks (:meth:`~RegressionHead.decode`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from ..ops.centernet import transpose_and_gather_feat, weighted_l1_loss
from .base import Head, Maps, Peaks, Terms


class RegressionHead(Head):
    """``<output> [N, channels, H/4, W/4]``; targets ``<output>`` / ``<output>_mask [max_objs, channels]`` at the
    box head's ``ind``; loss ``<output>_loss`` weighted ``weight``."""

    #: The output map's name (the reference's module name).
    output: ClassVar[str]
    #: Its channels.
    channels: ClassVar[int]
    #: The weight of its loss term when none is given.
    default_weight: ClassVar[float] = 1.0

    def __init__(self, *, weight: float | None = None) -> None:
        self.weights = {f"{self.output}_loss": self.default_weight if weight is None else weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {self.output: self.channels}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        name = self.output
        return {f"{name}_loss": weighted_l1_loss(outputs[name], batch[f"{name}_mask"], batch["ind"], batch[name])}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {self.output: outputs[self.output][:1]}

    def gather(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks) -> torch.Tensor:
        """The output's values ``[N, K, channels]`` at ``peaks``."""
        return transpose_and_gather_feat(outputs[self.output], peaks.inds)
