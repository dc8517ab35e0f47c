"""SMOKE's heads (lzccccc/SMOKE ``smoke/data/datasets/kitti.py``, ``smoke/modeling/heads/smoke_head/``): one
keypoint heatmap and one 8-channel regression map.

- :class:`SmokeKeypointHead`: ``hm``, each object's peak at the projection of its 3D centre ``(x, y - h/2, z)``
  through the camera ``K`` (``P2`` without its 4th column, as SMOKE reads it) with SMOKE's (corrected) gaussian
  radius of the box around its projected corners; objects whose keypoint falls outside the map get no target;
- :class:`SmokeRegressionHead`: ``regression`` = [depth offset, keypoint offset (2), dimension offsets (3),
  orientation (2)], activated as SMOKE's predictor (``sigmoid - 0.5`` on the dimensions, the orientation pair
  normalised), trained with the disentangled corner L1 loss (:func:`~dla_dense.ops.smoke.disentangled_corner_loss`)
  and decoded with SMOKE's coder; back in the image it gives the 3D box, its observation angle and the 2D box
  around its projected corners.

A training item gives per object ``labels``, ``dims`` (h, w, l), ``locations`` (bottom centre), ``rotation_y``
and per image ``calib`` ``[3, 4]``. SMOKE mirrors an object with a mirrored image by negating ``x`` and the yaw
(the loss then turns the decoded yaw by pi, ``flip_mask``) and trains the regression only on images that were not
scaled or shifted (the item field ``augmented``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DLADenseError
from ..ops.centernet import HM_BIAS, draw_gaussian, focal_loss, gaussian_radius, transpose_and_gather_feat
from ..ops.ddd import project
from ..ops.smoke import (
    decode_depth,
    decode_dimension,
    decode_orientation,
    disentangled_corner_loss,
    encode_box3d,
)
from .base import Fields, Head, Maps, Peaks, Terms, ToImage, Warp
from .box import BoxHead
from .ddd import image_camera

#: SMOKE's (l, h, w) reference of each class, in metres.
DIM_REFS = {"Car": (3.88, 1.63, 1.53), "Cyclist": (1.78, 1.70, 0.58), "Pedestrian": (0.88, 1.73, 0.67)}
#: SMOKE's objects per image.
MAX_OBJECTS = 30
_DIM_CHANNELS, _ORIENTATION_CHANNELS = slice(3, 6), slice(6, 8)


def camera_k(calib: np.ndarray) -> np.ndarray:
    """SMOKE's ``K`` ``[3, 3]``: the first three columns of ``calib`` ``[3, 4]`` (or ``calib`` itself)."""
    return np.asarray(calib, np.float64)[:, :3]


def smoke_objects(item: Mapping, warp: Warp) -> Fields:
    """The item's objects as SMOKE encodes them, in output-map pixels: ``smoke_points [M, 2]`` (projected 3D
    centres), ``smoke_boxes [M, 4]`` (around the projected corners, clipped to nothing yet), ``smoke_corners
    [M, 3, 8]``, ``smoke_dims`` (l, h, w), ``smoke_locations``, ``smoke_rotys`` (negated, with ``x``, on a
    mirrored image), ``smoke_K [3, 3]`` (the output map's camera) and ``smoke_flipped``."""
    dims = np.asarray(item["dims"], np.float64).reshape(-1, 3)[:, [2, 0, 1]]
    locations = np.asarray(item["locations"], np.float64).reshape(-1, 3).copy()
    rotys = np.asarray(item["rotation_y"], np.float64).reshape(-1).copy()
    k = camera_k(item["calib"]).copy()
    if warp.flipped:
        locations[:, 0] *= -1
        rotys *= -1
        k[0, 2] = warp.width - 1 - k[0, 2]
    k = np.vstack([np.asarray(warp.matrix, np.float64), [0.0, 0.0, 1.0]]) @ k
    corners = encode_box3d(torch.from_numpy(rotys), torch.from_numpy(dims), torch.from_numpy(locations)).numpy()
    camera = np.hstack([k, np.zeros((3, 1))])
    centres = locations - np.stack([np.zeros(len(dims)), dims[:, 1] / 2, np.zeros(len(dims))], 1)
    pixels = project(corners.transpose(0, 2, 1).reshape(-1, 3), camera).reshape(-1, 8, 2)
    boxes = np.concatenate([pixels.min(1), pixels.max(1)], 1) if len(dims) else np.zeros((0, 4))
    return {
        "smoke_points": project(centres, camera).astype(np.float32),
        "smoke_boxes": boxes.astype(np.float32),
        "smoke_corners": corners.astype(np.float32),
        "smoke_dims": dims.astype(np.float32),
        "smoke_locations": locations.astype(np.float32),
        "smoke_rotys": rotys.astype(np.float32),
        "smoke_K": k.astype(np.float32),
        "smoke_flipped": bool(warp.flipped),
    }


class SmokeKeypointHead(BoxHead):
    """``hm [N, C, H/4, W/4]`` (logits) of the projected 3D centres, whose peaks are the box head's (SMOKE's
    ``nms_hm`` + ``select_topk`` are CenterNet's). Targets ``hm``, ``ind`` and ``reg_mask``
    (objects with a keypoint inside the map, on images not scaled or shifted) of ``max_objs`` slots in the item's
    object order; loss ``hm_loss`` (focal); decodes ``scores``, ``labels`` and ``centers`` (the peaks)."""

    item_fields = ("labels", "dims", "locations", "rotation_y", "calib")
    fields = ("scores", "labels", "centers")

    def __init__(self, num_classes: int, *, max_objs: int = MAX_OBJECTS, hm_weight: float = 1.0) -> None:
        super().__init__(num_classes, max_objs=max_objs, hm_weight=hm_weight)
        self.weights = {"hm_loss": hm_weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {"hm": self.num_classes}

    def initial_bias(self) -> dict[str, float]:
        return {"hm": HM_BIAS}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {**smoke_objects(item, warp), "labels": np.asarray(item["labels"], np.int64).reshape(-1)}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        height, width = output_size
        hm = torch.zeros(self.num_classes, height, width)
        ind = torch.zeros(self.max_objs, dtype=torch.int64)
        placed = torch.zeros(self.max_objs, dtype=torch.uint8)
        points = np.asarray(fields["smoke_points"], np.float32).reshape(-1, 2)
        boxes = np.asarray(fields["smoke_boxes"], np.float32).reshape(-1, 4)
        labels = np.asarray(fields["labels"], np.int64).reshape(-1)
        for k in range(min(len(points), self.max_objs)):
            x, y = points[k]
            if not (0 < x < width and 0 < y < height):
                continue
            box = boxes[k].copy()
            box[[0, 2]] = box[[0, 2]].clip(0, width - 1)
            box[[1, 3]] = box[[1, 3]].clip(0, height - 1)
            radius = max(0, int(gaussian_radius((box[3] - box[1], box[2] - box[0]), mode="corrected")))
            draw_gaussian(hm[labels[k]], (int(x), int(y)), radius)
            ind[k] = int(y) * width + int(x)
            placed[k] = 1
        trained = placed * (0 if fields.get("augmented", False) else 1)
        targets.update({"hm": hm, "ind": ind, "reg_mask": trained, "smoke_placed": placed})

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """``count`` objects of random classes 5-45 m ahead of a camera of focal ``W`` at the map's centre, each
        with its keypoint inside the map."""
        height, width = output_size
        points = torch.rand(count, 2, generator=generator).double() * torch.tensor([width - 2, height - 2]) + 1
        depth = torch.rand(count, generator=generator).double() * 40 + 5
        labels = torch.randint(0, self.num_classes, (count,), generator=generator)
        dims = (torch.rand(count, 3, generator=generator).double() * 0.6 + 0.7) * torch.tensor([1.5, 1.6, 3.5])
        k = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
        centres = (np.linalg.inv(k) @ np.hstack([points.numpy(), np.ones((count, 1))]).T).T * depth.numpy()[:, None]
        locations = centres + np.stack([np.zeros(count), dims[:, 0].numpy() / 2, np.zeros(count)], 1)
        rotys = ((torch.rand(count, generator=generator) * 2 - 1) * np.pi).double().numpy()
        item = {"dims": dims.numpy(), "locations": locations, "rotation_y": rotys, "calib": k}
        warp = Warp(width=width, flipped=False, matrix=np.eye(3)[:2])
        return {**smoke_objects(item, warp), "labels": labels.numpy()}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        return {"hm_loss": focal_loss(outputs["hm"].float(), batch["hm"])}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hm = outputs["hm"]
        return {"hm": (hm[:1] + hm[1:].flip(-1)) / 2}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        centers = torch.stack([peaks.xs, peaks.ys], 2)
        return {"scores": peaks.scores, "labels": peaks.classes, "centers": centers}

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        return {"centers": torch.from_numpy(back.points(fields["centers"])) / back.scale}


class SmokeRegressionHead(Head):
    """``regression [N, 8, H/4, W/4]``. Targets (the keypoint head's slots): ``smoke_K [3, 3]``, ``smoke_dims``,
    ``smoke_locations``, ``smoke_rotys``, ``smoke_corners [max_objs, 3, 8]``, ``smoke_labels`` and ``flip_mask``;
    loss ``reg_loss`` (SMOKE's ``DisL1``, divided by ``10 * max_objs``); decodes ``depth``, ``dims`` (h, w, l),
    and in the image ``locations`` (bottom centres), ``rotation_y``, ``alpha`` and ``boxes`` (the projected
    corners' box, clipped to the image). It must come after :class:`SmokeKeypointHead`."""

    item_fields = ("dims", "locations", "rotation_y", "calib")
    fields = ("depth", "dims", "locations", "rotation_y", "alpha", "boxes")
    output = "regression"

    def __init__(self, classes: Sequence[str], *, max_objs: int = MAX_OBJECTS, weight: float = 1.0) -> None:
        unknown = [name for name in classes if name not in DIM_REFS]
        if unknown:
            missing, known = ", ".join(unknown), ", ".join(DIM_REFS)
            raise DLADenseError(f"SMOKE has no reference size of {missing}; set data.classes to some of {known}")
        self.dim_refs = tuple(DIM_REFS[name] for name in classes)
        self.max_objs = max_objs
        self.weights = {"reg_loss": weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {self.output: 8}

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        n = self.max_objs
        placed = targets["smoke_placed"].bool()
        slots = placed.nonzero().flatten()
        chosen = slots.numpy()

        def slot(name: str, shape: tuple[int, ...], dtype=torch.float32) -> torch.Tensor:
            value = torch.zeros(n, *shape, dtype=dtype)
            value[slots] = torch.as_tensor(np.asarray(fields[name])[chosen], dtype=dtype).reshape(-1, *shape)
            return value

        flipped = bool(fields.get("smoke_flipped", False))
        targets.update(
            {
                "smoke_K": torch.as_tensor(np.asarray(fields["smoke_K"], np.float32)),
                "smoke_dims": slot("smoke_dims", (3,)),
                "smoke_locations": slot("smoke_locations", (3,)),
                "smoke_rotys": slot("smoke_rotys", ()),
                "smoke_corners": slot("smoke_corners", (3, 8)),
                "smoke_labels": slot("labels", (), torch.int64),
                "flip_mask": targets["reg_mask"] * int(flipped),
            }
        )

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Nothing beyond the keypoint head's objects."""
        return {}

    def activate(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """SMOKE's predictor: ``sigmoid - 0.5`` on the dimension offsets, the orientation pair normalised."""
        raw = outputs[self.output]
        return {
            self.output: torch.cat(
                [
                    raw[:, :3],
                    raw[:, _DIM_CHANNELS].sigmoid() - 0.5,
                    F.normalize(raw[:, _ORIENTATION_CHANNELS], dim=1),
                ],
                1,
            )
        }

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        regression = self.activate({self.output: outputs[self.output].float()})[self.output]
        ind, width = batch["ind"], regression.shape[-1]
        targets = {
            "points": torch.stack([ind % width, ind // width], -1),
            "K": batch["smoke_K"].float(),
            "trans": torch.eye(3).expand(len(ind), 3, 3),
            "labels": batch["smoke_labels"],
            "dims": batch["smoke_dims"],
            "locations": batch["smoke_locations"],
            "rotys": batch["smoke_rotys"],
            "corners": batch["smoke_corners"],
            "reg_mask": batch["reg_mask"],
            "flip_mask": batch["flip_mask"],
        }
        return {"reg_loss": disentangled_corner_loss(regression, targets, max_objs=self.max_objs, refs=self.dim_refs)}

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {self.output: outputs[self.output][:1]}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        values = transpose_and_gather_feat(outputs[self.output], peaks.inds)  # [N, K, 8]
        batch, k = peaks.inds.shape
        dims = decode_dimension(peaks.classes.reshape(-1), values[..., _DIM_CHANNELS].reshape(-1, 3), self.dim_refs)
        return {
            "depth": decode_depth(values[..., 0]),
            "centers": found["centers"] + values[..., 1:3],
            "dims": dims.reshape(batch, k, 3)[..., [1, 2, 0]],
            "orientation": values[..., _ORIENTATION_CHANNELS],
        }

    def to_image(self, fields: Fields, back: ToImage) -> Fields:
        calib = image_camera(back)
        pixels = back.points(fields["centers"]) / back.scale
        rays = np.hstack([pixels, np.ones((len(pixels), 1))]) @ np.linalg.inv(camera_k(calib)).T
        lhw = fields["dims"].double()[:, [2, 0, 1]]
        locations = torch.from_numpy(rays * fields["depth"].double().numpy()[:, None])
        locations[:, 1] += lhw[:, 1] / 2
        rotys, alphas = decode_orientation(fields["orientation"].double(), locations)
        boxes = _image_boxes(encode_box3d(rotys, lhw, locations), calib, back.fields.get("orig_size"))
        return {
            "locations": locations.float(),
            "rotation_y": rotys.float(),
            "alpha": alphas.float(),
            "boxes": torch.from_numpy(boxes).float(),
            "centers": torch.from_numpy(pixels).float(),
        }


def _image_boxes(corners: torch.Tensor, calib: np.ndarray, size: Sequence[int] | None) -> np.ndarray:
    """Boxes ``[K, 4]`` around the corners ``[K, 3, 8]`` projected with ``K`` of ``calib``, clipped to an image of
    ``size`` (H, W) when given (SMOKE's ``encode_box2d``)."""
    camera = np.hstack([camera_k(calib), np.zeros((3, 1))])
    pixels = project(corners.numpy().transpose(0, 2, 1).reshape(-1, 3), camera).reshape(-1, 8, 2)
    boxes = np.concatenate([pixels.min(1), pixels.max(1)], 1) if len(pixels) else np.zeros((0, 4))
    if size is not None:
        height, width = (int(v) for v in size)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    return boxes
