"""The heads of monocular 3D detection, CenterNet's ``ddd`` (``datasets/sample/ddd.py``, ``trains/ddd.py``,
``utils/post_process.py``) with CenterTrack's amodal offset (``dataset/generic_dataset.py``):

- :class:`DddBoxHead`: ``hm``, ``wh``, ``reg`` as CenterNet's ``ddd`` sampler draws them (radius from the float box,
  ignore regions as a soft peak of 0.9999, L1 losses averaged over every slot);
- :class:`RotationHead`: ``rot``, two overlapping bins of the observation angle (8 channels, ``BinRotLoss``);
- :class:`DepthHead`: ``dep``, depth in metres through ``1 / sigmoid - 1``, which also places each box in 3D
  (unprojection with the image's camera matrix, ``rotation_y`` from ``alpha``);
- :class:`DimensionHead`: ``dim``, height, width and length in metres;
- :class:`AmodalOffsetHead`: ``amodel_offset``, from the integer centre to the projected 3D centre.

A training item gives, per object (the box head's order): ``boxes``, ``labels``, ``alpha``, ``dims`` (h, w, l),
``locations`` (bottom centre), and per image ``calib`` ``[3, 4]``; ``ignore_boxes`` / ``ignore_labels`` (-1: every
class) mark regions that are neither object nor background. A transform that scales or shifts the image sets the
field ``augmented`` (CenterNet trains depth and size only on unaugmented images) and may set ``depth_scale``
(CenterTrack scales depth with the crop).

``reduction="slots"`` (CenterNet's ``ddd``) averages a regression loss over every slot of the batch, used or not;
``"objects"`` (CenterTrack's) over the objects.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from ..ops.affine import affine_points
from ..ops.centernet import draw_gaussian, gaussian_radius, transpose_and_gather_feat, weighted_l1_loss
from ..ops.ddd import (
    alpha_to_rotation_y,
    bin_rot_loss,
    bins_to_alpha,
    default_calib,
    depth_from_output,
    project,
    rotation_bins,
    slot_l1_loss,
    unproject,
)
from .base import Fields, Maps, Peaks, Terms, ToImage, Warp, positive_slots
from .box import BoxHead
from .regression import RegressionHead

#: The heatmap value at the centre of an ignored region (CenterNet: not a positive, almost no negative weight).
IGNORE_PEAK = 0.9999
REDUCTIONS = ("slots", "objects")


def _l1(reduction: str, output: torch.Tensor, mask: torch.Tensor, ind: torch.Tensor, target: torch.Tensor):
    """L1 of ``output`` at ``ind`` against ``target [N, M, D]`` under the slot ``mask [N, M]``, averaged over every
    slot (``slots``) or over the objects (``objects``)."""
    if reduction == "slots":
        return slot_l1_loss(output, mask, ind, target)
    return weighted_l1_loss(output, mask.unsqueeze(2).expand_as(target).float(), ind, target)


def _valid(targets: Mapping[str, torch.Tensor], fields: Fields) -> torch.Tensor:
    """Slots ``[max_objs]`` whose depth and size train: objects of an unaugmented image (CenterNet's ``reg_mask``)."""
    return _slots(targets) * (0 if fields.get("augmented", False) else 1)


def _slots(targets: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``[max_objs]`` uint8: the slots holding an object (CenterNet's ``ddd`` box head or CenterTrack's)."""
    return positive_slots(targets).to(torch.uint8)


class DddBoxHead(BoxHead):
    """``hm``, ``wh``, ``reg`` with CenterNet's ``ddd`` targets: boxes clipped to the map, radius from the float box
    size, ``wh`` / ``reg`` / ``ind`` / ``reg_mask`` of the objects in slot order; ``ignore_boxes`` draw their gaussian
    with a peak of 0.9999 into their class's channel (``ignore_labels`` -1: all). Losses: focal, and L1 averaged
    over the slots (``reduction``). Back in the image a box is its centre plus and minus half of ``wh``, both mapped
    as points (CenterNet's ``ddd_post_process``, whose mapped size carries the affine's translation)."""

    item_fields = ("boxes", "labels")

    def __init__(self, num_classes: int, *, reduction: str = "slots", max_objs: int = 50, **weights: float) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction={reduction!r}; use one of {REDUCTIONS}")
        super().__init__(num_classes, max_objs=max_objs, **weights)
        self.reduction = reduction

    def warp(self, item: Fields, warp: Warp) -> Fields:
        fields = super().warp(item, warp)
        ignore = np.asarray(item.get("ignore_boxes", np.zeros((0, 4))), np.float32).reshape(-1, 4)
        moved = super().warp({"boxes": ignore, "labels": np.zeros(len(ignore))}, warp)["boxes"]
        labels = np.asarray(item.get("ignore_labels", -np.ones(len(ignore))), np.int64).reshape(-1)
        return {**fields, "ignore_boxes": moved, "ignore_labels": labels}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        height, width = output_size
        hm = torch.zeros(self.num_classes, height, width)
        wh, reg = torch.zeros(self.max_objs, 2), torch.zeros(self.max_objs, 2)
        ind = torch.zeros(self.max_objs, dtype=torch.int64)
        reg_mask = torch.zeros(self.max_objs, dtype=torch.uint8)
        boxes = np.asarray(fields["boxes"], np.float32).reshape(-1, 4)
        labels = np.asarray(fields["labels"], np.int64).reshape(-1)
        for k in range(min(len(boxes), self.max_objs)):
            found = _placed(boxes[k], width, height)
            if found is None:
                continue
            ct, radius, (w, h) = found
            cx, cy = int(ct[0]), int(ct[1])
            draw_gaussian(hm[labels[k]], (cx, cy), radius)
            wh[k] = torch.tensor([w, h])
            ind[k] = cy * width + cx
            reg[k] = torch.from_numpy(ct - ct.astype(np.int32))
            reg_mask[k] = 1
        ignore = np.asarray(fields.get("ignore_boxes", np.zeros((0, 4))), np.float32).reshape(-1, 4)
        for box, label in zip(ignore, np.asarray(fields.get("ignore_labels", [])).reshape(-1), strict=True):
            found = _placed(box, width, height)
            if found is None:
                continue
            ct, radius, _ = found
            cx, cy = int(ct[0]), int(ct[1])
            for channel in range(self.num_classes) if label < 0 else [int(label)]:
                draw_gaussian(hm[channel], (cx, cy), radius)
                hm[channel, cy, cx] = IGNORE_PEAK
        targets.update({"hm": hm, "wh": wh, "reg": reg, "ind": ind, "reg_mask": reg_mask})

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        terms = super().loss(outputs, batch)
        mask, ind = batch["reg_mask"], batch["ind"]
        terms["wh_loss"] = _l1(self.reduction, outputs["wh"], mask, ind, batch["wh"])
        terms["off_loss"] = _l1(self.reduction, outputs["reg"], mask, ind, batch["reg"])
        return terms

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        reg = transpose_and_gather_feat(outputs["reg"], peaks.inds)
        centers = torch.stack([peaks.xs, peaks.ys], 2) + reg
        sizes = transpose_and_gather_feat(outputs["wh"], peaks.inds)
        boxes = torch.cat([centers - sizes / 2, centers + sizes / 2], 2)
        return {"boxes": boxes, "scores": peaks.scores, "labels": peaks.classes, "centers": centers, "sizes": sizes}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        centers = torch.from_numpy(back.points(fields["centers"])) / back.scale
        sizes = torch.from_numpy(back.points(fields["sizes"])) / back.scale
        return {"boxes": torch.cat([centers - sizes / 2, centers + sizes / 2], 1), "centers": centers}


def image_camera(back: ToImage) -> np.ndarray:
    """The camera matrix ``[3, 4]`` of the image decoded fields go back to: its field ``calib``, else CenterTrack's
    default for its ``orig_size``."""
    if "calib" in back.fields:
        return np.asarray(back.fields["calib"], np.float64)
    if "orig_size" in back.fields:
        height, width = back.fields["orig_size"]
        return default_calib(int(width), int(height))
    raise ValueError("placing detections in 3D needs the image's calib (or its orig_size for the default)")


def _placed(box: np.ndarray, width: int, height: int) -> tuple[np.ndarray, int, tuple[float, float]] | None:
    """A box's float centre, gaussian radius and ``(w, h)`` once clipped to a ``width`` x ``height`` map, as
    CenterNet's ``ddd`` sampler computes them (float32); None when nothing of it is left."""
    box = box.copy()
    box[[0, 2]] = np.clip(box[[0, 2]], 0, width - 1)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, height - 1)
    h, w = box[3] - box[1], box[2] - box[0]
    if not (h > 0 and w > 0):
        return None
    radius = max(0, int(gaussian_radius((float(h), float(w)))))
    ct = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float32)
    return ct, radius, (float(w), float(h))


class RotationHead(RegressionHead):
    """``rot [N, 8, H/4, W/4]``: per bin two logits and the sin and cos of the residual (:func:`~dla_dense.ops.ddd.
    rotation_bins`). Targets ``rotbin`` / ``rotres [max_objs, 2]`` and ``rot_mask`` (every object, augmented or
    not); loss ``rot_loss`` (``BinRotLoss``); decodes ``alpha``."""

    item_fields = ("alpha",)
    fields = ("alpha",)
    output = "rot"
    channels = 8

    def warp(self, item: Fields, warp: Warp) -> Fields:
        """The observation angles, mirrored with a mirrored image (CenterTrack: ``pi - a`` for ``a > 0``, else
        ``-pi - a``)."""
        alpha = np.asarray(item["alpha"], np.float64).reshape(-1)
        if warp.flipped:
            alpha = np.where(alpha > 0, np.pi - alpha, -np.pi - alpha)
        return {"alpha": alpha}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        mask = _slots(targets)
        rotbin, rotres = torch.zeros(len(mask), 2, dtype=torch.int64), torch.zeros(len(mask), 2)
        slots = mask.nonzero().flatten()
        if len(slots):
            bins, residuals = rotation_bins(np.asarray(fields["alpha"])[slots.numpy()])
            rotbin[slots], rotres[slots] = torch.from_numpy(bins), torch.from_numpy(residuals)
        targets.update({"rotbin": rotbin, "rotres": rotres, "rot_mask": mask.clone()})

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Observation angles uniform on the circle."""
        return {"alpha": ((torch.rand(count, generator=generator) * 2 - 1) * np.pi).double().numpy()}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        return {
            "rot_loss": bin_rot_loss(outputs["rot"], batch["rot_mask"], batch["ind"], batch["rotbin"], batch["rotres"])
        }

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        return {"alpha": bins_to_alpha(self.gather(outputs, peaks))}


class MeasureHead(RegressionHead):
    """A measurement of each object in metres (its size, its depth), which CenterNet trains only on unaugmented
    images: target ``<output> [max_objs, channels]`` of :meth:`measure` and ``<output>_mask [max_objs]``; loss
    ``<output>_loss``, L1 of :meth:`prediction` in the head's ``reduction``."""

    def __init__(self, *, reduction: str = "slots", weight: float | None = None) -> None:
        super().__init__(weight=weight)
        self.reduction = reduction

    def measure(self, fields: Fields) -> np.ndarray:
        """The objects' measurement ``[M, channels]``: the head's field (its first of :attr:`fields`)."""
        return fields[self.fields[0]]

    def prediction(self, output: torch.Tensor) -> torch.Tensor:
        """The output map as the measurement (default: itself)."""
        return output

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        mask = _slots(targets)
        value = torch.zeros(len(mask), self.channels)
        slots = mask.nonzero().flatten()
        measured = np.asarray(self.measure(fields), np.float32).reshape(-1, self.channels)
        value[slots] = torch.from_numpy(measured[slots.numpy()])
        targets.update({self.output: value, f"{self.output}_mask": _valid(targets, fields)})

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        name = self.output
        predicted = self.prediction(outputs[name].float())
        return {f"{name}_loss": _l1(self.reduction, predicted, batch[f"{name}_mask"], batch["ind"], batch[name])}


class DimensionHead(MeasureHead):
    """``dim [N, 3, H/4, W/4]``: height, width and length in metres. Targets ``dim [max_objs, 3]`` and ``dim_mask``
    (objects of unaugmented images); loss ``dim_loss``; decodes ``dims``."""

    item_fields = ("dims",)
    fields = ("dims",)
    output = "dim"
    channels = 3

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {"dims": np.asarray(item["dims"], np.float32).reshape(-1, 3)}

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Sizes of 0.5-4.5 m."""
        return {"dims": (torch.rand(count, 3, generator=generator) * 4 + 0.5).numpy()}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        return {"dims": self.gather(outputs, peaks)}


class AmodalOffsetHead(RegressionHead):
    """CenterTrack's ``amodel_offset [N, 2, H/4, W/4]``: from the integer centre to the projected 3D centre
    ``P2 (x, y - h/2, z)`` in output pixels. Targets ``amodel_offset`` / ``amodel_offset_mask [max_objs, 2]``; loss
    ``amodel_offset_loss`` (CenterTrack's weighted L1); decodes ``centers3d``, the centre of the decoded box plus
    the offset (CenterTrack's ``generic_post_process``)."""

    item_fields = ("locations", "dims", "calib")
    fields = ("centers3d",)
    output = "amodel_offset"
    channels = 2

    def warp(self, item: Fields, warp: Warp) -> Fields:
        dims = np.asarray(item["dims"], np.float64).reshape(-1, 3)
        centers = np.asarray(item["locations"], np.float64).reshape(-1, 3) - np.stack(
            [np.zeros(len(dims)), dims[:, 0] / 2, np.zeros(len(dims))], 1
        )
        pixels = project(centers, item["calib"])
        if warp.flipped:
            pixels[:, 0] = warp.width - 1 - pixels[:, 0]
        return {"amodel_centers": affine_points(pixels, warp.matrix).astype(np.float32)}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        mask = _slots(targets)
        offset, offset_mask = torch.zeros(len(mask), 2), torch.zeros(len(mask), 2)
        width = output_size[1]
        for k in mask.nonzero().flatten().tolist():
            ct_int = torch.tensor([targets["ind"][k] % width, targets["ind"][k] // width], dtype=torch.float32)
            offset[k] = torch.from_numpy(np.asarray(fields["amodel_centers"][k], np.float32)) - ct_int
            offset_mask[k] = 1
        targets.update({"amodel_offset": offset, "amodel_offset_mask": offset_mask})

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Projected 3D centres within a few pixels of the boxes' centres."""
        boxes = torch.as_tensor(found["boxes"], dtype=torch.float32).reshape(-1, 4)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2 + torch.randn(count, 2, generator=generator)
        return {"amodel_centers": centres.numpy()}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        return {"centers3d": box_centers(found["boxes"]) + self.gather(outputs, peaks)}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        return {"centers3d": torch.from_numpy(back.points(fields["centers3d"])) / back.scale}


class DepthHead(MeasureHead):
    """``dep [N, 1, H/4, W/4]``: depth through ``1 / sigmoid(o) - 1``. Targets ``dep [max_objs, 1]`` (the location's
    z, times the item's ``depth_scale``) and ``dep_mask`` (objects of unaugmented images); loss ``dep_loss`` on the
    transformed output; decodes ``depth``.

    Back in the image it places each detection in 3D (CenterNet's ``ddd2locrot``): the 3D centre is the pixel
    ``centers3d`` (the amodal offset's) or the box centre unprojected at that depth with the image's ``calib``
    (without one: CenterTrack's focal 1200 at the centre of ``orig_size``), moved down by half the height to the
    bottom centre, ``locations [K, 3]``; ``rotation_y [K]`` is ``alpha + atan2(u - cx, fx)``; the pixel used is
    ``centers3d [K, 2]`` in the image (where CenterTrack's tracker places a 3D detection). It must come after the
    box, rotation and dimension heads."""

    item_fields = ("locations",)
    fields = ("depth", "locations", "rotation_y")
    output = "dep"
    channels = 1

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {"depth": np.asarray(item["locations"], np.float32).reshape(-1, 3)[:, 2]}

    def measure(self, fields: Fields) -> np.ndarray:
        return np.asarray(fields["depth"], np.float32) * np.float32(fields.get("depth_scale", 1.0))

    def prediction(self, output: torch.Tensor) -> torch.Tensor:
        return depth_from_output(output)

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Depths of 5-60 m."""
        return {"depth": (torch.rand(count, generator=generator) * 55 + 5).numpy()}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        return {"depth": depth_from_output(self.gather(outputs, peaks))[..., 0]}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        calib = image_camera(back)
        pixels = fields["centers3d"] if "centers3d" in fields else box_centers(fields["boxes"])
        centers = back.points(pixels) / back.scale
        dims = fields["dims"].double().numpy()
        locations = unproject(centers, fields["depth"].double().numpy(), calib)
        locations[:, 1] += dims[:, 0] / 2
        rotation_y = alpha_to_rotation_y(fields["alpha"].double().numpy(), centers[:, 0], calib)
        return {
            "locations": torch.from_numpy(locations).float(),
            "rotation_y": torch.from_numpy(rotation_y).float(),
            "centers3d": torch.from_numpy(centers).float(),
        }


def box_centers(boxes: torch.Tensor) -> torch.Tensor:
    """The centres ``[..., 2]`` of boxes ``[..., 4]`` (x1y1x2y2)."""
    return (boxes[..., :2] + boxes[..., 2:]) / 2
