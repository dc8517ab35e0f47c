"""The contract of a CenterNet-family head and the values heads pass to each other.

A head owns a few output maps of the network (name -> channels, initial bias), the training targets it encodes
for one item from that item's named fields, its loss terms and their weights, its part of decoding (named
fields of the detections, in output-map pixels), its share of the flip test and the mapping of its fields
back to image pixels. Heads are composed by :class:`~dla_dense.heads.composed.CenterNetHeads`; the first is
the one that finds the object centres (:class:`~dla_dense.heads.box.BoxHead`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ..fields import Fields
from ..ops.affine import Warp

#: Named tensors: a network's output maps, or a batch of training targets, by name.
Maps = Mapping[str, torch.Tensor]
#: Loss terms by name, each a scalar tensor.
Terms = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Peaks:
    """The ``K`` best centre peaks of a batch's heatmap, each ``[N, K]``, best first: ``scores`` (after
    sigmoid), ``inds`` (flat ``y * W + x``, int64), ``classes`` (int64), ``xs`` / ``ys`` (integer pixel of the
    peak, in the maps' float dtype)."""

    scores: torch.Tensor
    inds: torch.Tensor
    classes: torch.Tensor
    xs: torch.Tensor
    ys: torch.Tensor


@dataclass(frozen=True)
class ToImage:
    """How decoded fields go back to the original image: ``points(xy [..., 2]) -> [..., 2]`` through the inverse
    test affine (output-map pixels to pixels of the resized input), then divided by ``scale`` (the test scale).
    ``fields`` are the image's own named fields given with it (a camera matrix ``calib``, ``image_id``, ...), in
    pixels of the original image, for heads whose decoding needs them."""

    boxes: Any
    points: Any
    scale: float
    fields: Mapping[str, Any] = field(default_factory=dict)


class Head(ABC):
    """One head of a CenterNet-family network (see the module docstring)."""

    #: Fields of a training item this head reads (e.g. ``("boxes", "labels")``).
    item_fields: ClassVar[tuple[str, ...]] = ()
    #: Fields of a detection this head writes when decoding.
    fields: ClassVar[tuple[str, ...]] = ()
    #: Whether this head's fields follow a rotation of the image (CenterNet's ``aug_rot`` trains only those).
    rotates: ClassVar[bool] = False
    #: The weight of each of its loss terms, set by the head's constructor.
    weights: dict[str, float]

    @property
    @abstractmethod
    def outputs(self) -> dict[str, int]:
        """Output maps of this head, name -> channels (the names are the references' module names)."""

    def initial_bias(self) -> dict[str, float]:
        """Final-layer bias of outputs that start at a prior (heatmaps: -2.19, sigmoid 0.1); others start at 0."""
        return {}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        """This head's ``item_fields`` of a training item moved by ``warp`` into output-map pixels."""
        return {}

    @abstractmethod
    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        """Add this head's training targets of one item to ``targets`` (in place; earlier heads' are there).
        ``fields`` are the item's fields in output-map pixels (``output_size = (H, W)``)."""

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Random item fields of this head for ``count`` objects on an ``(H, W)`` map, beside the fields earlier
        heads made (``found``); for the benchmark and the contract tests."""
        return {}

    @abstractmethod
    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        """Unweighted loss terms ``{name: scalar}`` of this head's ``outputs`` against a batch of its targets;
        ``learned`` is this head's :meth:`criterion` module (None for heads without one)."""

    def criterion(self) -> nn.Module | None:
        """The learned part of this head's loss (e.g. an identity classifier), trained with the network and kept in
        training checkpoints; None (the default): the loss has no parameters."""
        return None

    def combine(
        self, rest: torch.Tensor, own: Mapping[str, torch.Tensor], learned: nn.Module | None
    ) -> torch.Tensor | None:
        """The total loss from the other heads' weighted sum ``rest`` and this head's unweighted terms ``own``, when
        this head weighs the total itself (FairMOT's uncertainty weighting); None (the default): the plain weighted
        sum."""
        return None

    def loss_weights(self) -> dict[str, float]:
        """The weight of each of this head's loss terms (its :attr:`weights`)."""
        return dict(self.weights)

    def activate(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This head's outputs that decoding reads as probabilities, after their activation (heatmaps: sigmoid)."""
        return {}

    @abstractmethod
    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """This head's outputs of a batch ``[2, ...]`` (an image and its mirror) merged into ``[1, ...]`` as the
        reference's flip test merges them."""

    @abstractmethod
    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        """This head's fields ``[N, K, ...]`` (output-map pixels) of the detections at ``peaks``; ``found`` holds
        the fields earlier heads decoded."""

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        """This head's decoded fields of one image mapped back to image pixels (default: unchanged)."""
        return {}


def positive_slots(targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``[max_objs]`` bool: the object slots a box head made positives of (its ``reg_mask``, per object as
    CenterNet's or per component as CenterTrack's)."""
    mask = targets["reg_mask"]
    return (mask if mask.dim() == 1 else mask[..., 0]) > 0


def slot_centers(targets: Mapping[str, torch.Tensor], width: int) -> torch.Tensor:
    """The integer centre ``[max_objs, 2]`` (x, y) of every target slot, from ``ind`` of a map ``width`` wide."""
    ind = targets["ind"]
    return torch.stack([ind % width, torch.div(ind, width, rounding_mode="floor")], 1).float()
