"""A CenterNet-family network's heads, composed: detection is ``[BoxHead]``, pose ``[BoxHead, KeypointHead]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..errors import DLADenseError
from ..ops.losses import weighted_sum
from .base import Fields, Head, Maps, Terms, ToImage, Warp
from .box import BoxHead


class CenterNetHeads:
    """The heads of one network, the first a :class:`BoxHead` (it finds the centres the others decode at).

    Each step runs the heads in order and joins what they give: output maps, item fields, targets (a later
    head may refine an earlier one's, as the keypoint head masks boxes without joints), loss terms and
    weights, decoded fields.
    """

    def __init__(self, heads: Sequence[Head]) -> None:
        if not heads or not isinstance(heads[0], BoxHead):
            raise DLADenseError("a CenterNet network's first head must be a BoxHead (it finds the object centres)")
        self.heads = tuple(heads)
        self.box = heads[0]
        names = [name for head in heads for name in head.outputs]
        if len(set(names)) != len(names):
            raise DLADenseError(f"two heads give an output of the same name: {names}")
        unweighted = [type(head).__name__ for head in heads if not isinstance(getattr(head, "weights", None), dict)]
        if unweighted:
            raise DLADenseError(
                f"head {unweighted[0]} has no loss weights; set self.weights = {{'<term>_loss': weight, ...}} in its "
                "constructor"
            )

    def __iter__(self):
        return iter(self.heads)

    @property
    def outputs(self) -> dict[str, int]:
        """Every output map, name -> channels, in head order (the export's output order)."""
        return {name: channels for head in self.heads for name, channels in head.outputs.items()}

    def initial_bias(self) -> dict[str, float]:
        """Outputs whose last bias starts at a prior (the heatmaps)."""
        return {name: bias for head in self.heads for name, bias in head.initial_bias().items()}

    @property
    def rotates(self) -> bool:
        """Whether any head trains on rotated images (CenterNet's ``aug_rot``)."""
        return any(head.rotates for head in self.heads)

    @property
    def item_fields(self) -> tuple[str, ...]:
        """The fields a training item must have."""
        return tuple(name for head in self.heads for name in head.item_fields)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of a decoded detection."""
        return tuple(name for head in self.heads for name in head.fields)

    def warp(self, item: Mapping, warp: Warp) -> Fields:
        """The item's fields moved by ``warp`` into output-map pixels (each head moves its own)."""
        missing = [name for name in self.item_fields if name not in item]
        if missing:
            raise DLADenseError(f"a training item lacks {', '.join(missing)}, which this model's heads train on")
        fields: Fields = {}
        for head in self.heads:
            fields.update(head.warp(item, warp))
        return fields

    def encode(self, fields: Fields, *, output_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """The training targets of one item's fields (output-map pixels, ``output_size = (H, W)``)."""
        targets: dict[str, torch.Tensor] = {}
        for head in self.heads:
            head.encode(fields, targets, output_size=output_size)
        return targets

    def random_fields(self, count: int, output_size: tuple[int, int], generator: torch.Generator | None) -> Fields:
        """Item fields of ``count`` random objects on an ``(H, W)`` map, in output-map pixels."""
        fields: Fields = {}
        for head in self.heads:
            fields.update(head.random_fields(fields, count, output_size, generator))
        return fields

    def random_targets(
        self, count: int, output_size: tuple[int, int], generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Targets of ``count`` random objects on an ``(H, W)`` map (benchmark, contract tests)."""
        return self.encode(self.random_fields(count, output_size, generator), output_size=output_size)

    @staticmethod
    def _key(head: Head) -> str:
        return next(iter(head.outputs))

    def criterion(self) -> nn.ModuleDict | None:
        """The learned parts of the heads' losses (see :meth:`Head.criterion`), keyed by each head's first output
        name (``id``); None when no head has one."""
        modules = {self._key(head): module for head in self.heads if (module := head.criterion()) is not None}
        return nn.ModuleDict(modules) if modules else None

    def _learned(self, head: Head, criterion: nn.ModuleDict | None) -> nn.Module | None:
        key = self._key(head)
        return criterion[key] if criterion is not None and key in criterion else None

    def loss(self, outputs: Maps, batch: Maps, criterion: nn.ModuleDict | None = None) -> Terms:
        """Every head's unweighted loss terms, in head order (``criterion``: :meth:`criterion`'s modules)."""
        return {
            name: value
            for head in self.heads
            for name, value in head.loss(outputs, batch, self._learned(head, criterion)).items()
        }

    def loss_weights(self) -> dict[str, float]:
        """The weight of every loss term."""
        return {name: value for head in self.heads for name, value in head.loss_weights().items()}

    def total_loss(self, terms: Mapping[str, torch.Tensor], criterion: nn.ModuleDict | None = None) -> torch.Tensor:
        """The minimised total of ``terms``: their weighted sum, unless a head weighs it (:meth:`Head.combine`)."""
        weights = self.loss_weights()
        for head in self.heads:
            own = {name: terms[name] for name in head.loss_weights() if name in terms}
            rest = {name: value for name, value in terms.items() if name not in own}
            if own and rest:
                total = head.combine(weighted_sum(rest, weights), own, self._learned(head, criterion))
                if total is not None:
                    return total
        return weighted_sum(terms, weights)

    def decode(self, outputs: Mapping[str, torch.Tensor], *, flip: bool, k: int) -> Fields:
        """The ``k`` best detections of one image, fields ``[k, ...]`` in output-map pixels. ``outputs`` hold one
        image (``[1, ...]``), or with ``flip`` the image and its mirror (``[2, ...]``), merged as each head's
        flip test says."""
        maps = {name: value.float() for name, value in outputs.items()}
        for head in self.heads:
            maps.update(head.activate(maps))
        if flip:
            for head in self.heads:
                maps.update(head.merge_flip(maps))
        peaks = self.box.peaks(maps, k)
        found: Fields = {}
        for head in self.heads:
            found.update(head.decode(maps, peaks, found))
        return {name: value[0] for name, value in found.items()}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        """Decoded fields of one image mapped back to its pixels."""
        mapped = dict(fields)
        for head in self.heads:
            mapped.update(head.to_image(fields, back))
        return mapped

    def export_names(self) -> list[str]:
        """The model's output names, in export order."""
        return list(self.outputs)
