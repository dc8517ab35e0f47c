"""CenterTrack's training input of a frame pair (``dataset/generic_dataset.py`` ``__getitem__``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..ops.affine import Warp, affine_boxes, get_affine_transform
from ..ops.pre_heatmap import pre_heatmap
from .det_transforms import TargetEncoder, TrainInput, random_crop


class CenterTrackTrainTransform(TrainInput):
    """A frame and a previous frame -> ``image``, ``pre_image`` (``[3, H, W]`` normalised alike), ``pre_hm``
    (``[1, H, W]``, when ``pre_hm``) and the heads' targets at ``(H // down_ratio, W // down_ratio)``.

    Random draws, in this order: the previous frame (:meth:`previous`, called by the dataset before the
    transform; CenterTrack draws it after the flip, from the same distribution), the crop (scale from
    ``np.arange(*scale_range, 0.1)``, centre inside a 128-pixel border; ``scale_range=None``: the whole frame), a
    rotation draw (unused), the flip (both frames) — after the previous frame, CenterTrack's order.
    The previous frame takes the same affine when ``same_aug`` and it is another frame, else the affine disturbed
    by ``shift`` / ``scale`` (static images: the same image under two affines). Its objects other than crowds,
    mapped to the input, are drawn into ``pre_hm`` with the ``hm_disturb`` / ``lost_disturb`` / ``fp_disturb``
    noise (:func:`~dla_dense.ops.pre_heatmap.pre_heatmap`); their centres and ids feed the tracking target. A 3D
    head's depth target is scaled by the crop (``depth_scale``: crop side / longer image side), and a frame's camera
    comes along as the output map's ``calib`` (:meth:`TrainInput.sample`).
    """

    def __init__(
        self,
        heads: TargetEncoder,
        *,
        input_size: tuple[int, int],
        down_ratio: int = 4,
        mean: Sequence[float],
        std: Sequence[float],
        bgr: bool = True,
        scale_range: tuple[float, float] | None = (0.6, 1.4),
        flip: float = 0.5,
        color_aug: bool = True,
        same_aug: bool = True,
        shift: float = 0.05,
        scale: float = 0.05,
        hm_disturb: float = 0.05,
        lost_disturb: float = 0.4,
        fp_disturb: float = 0.1,
        pre_hm: bool = True,
        seed: int | None = None,
    ) -> None:
        normalise = {"mean": mean, "std": std, "bgr": bgr}
        super().__init__(heads, input_size=input_size, down_ratio=down_ratio, seed=seed, **normalise)
        self.scales = None if scale_range is None else np.arange(scale_range[0], scale_range[1], 0.1)
        self.flip = flip
        self.color_aug = color_aug
        self.same_aug = same_aug
        self.shift = shift
        self.scale = scale
        self.disturb = {"hm_disturb": hm_disturb, "lost_disturb": lost_disturb, "fp_disturb": fp_disturb}
        self.pre_hm = pre_hm

    def previous(self, count: int) -> int:
        """Which of ``count`` candidate frames is the previous frame (uniform)."""
        return int(self.rng.integers(count))

    def _disturbed(self, center: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
        c = center.copy()
        c[0] += scale * np.clip(self.rng.standard_normal() * self.shift, -2 * self.shift, 2 * self.shift)
        c[1] += scale * np.clip(self.rng.standard_normal() * self.shift, -2 * self.shift, 2 * self.shift)
        s = scale * float(np.clip(self.rng.standard_normal() * self.scale + 1, 1 - self.scale, 1 + self.scale))
        self.rng.random()
        return c, s

    def _input(self, image: np.ndarray, matrix: np.ndarray, flipped: bool) -> torch.Tensor:
        return self.network_input(image, matrix, flipped=flipped, color=self.color_aug)

    def __call__(self, item: Mapping[str, Any]) -> dict[str, Any]:
        image = np.asarray(item["image"])
        height, width = image.shape[:2]
        in_h, in_w = self.input_size
        out_h, out_w = in_h // self.down_ratio, in_w // self.down_ratio
        center, scale = random_crop(self.rng, width, height, self.scales)
        self.rng.random()  # CenterTrack's rotation draw (aug_rot 0 for tracking)
        flipped = bool(self.flip and self.rng.random() < self.flip)
        trans_in = get_affine_transform(center, scale, (in_w, in_h))
        trans_out = get_affine_transform(center, scale, (out_w, out_h))
        out: dict[str, Any] = {"image": self._input(image, trans_in, flipped)}

        pre = item["pre"]
        if self.same_aug and item["frame_dist"] != 0:
            pre_in = trans_in
        else:
            pre_in = get_affine_transform(*self._disturbed(center, scale), (in_w, in_h))
        out["pre_image"] = self._input(np.asarray(pre["image"]), pre_in, flipped)
        drawn = ~np.asarray(pre["crowd"], bool)
        boxes = np.asarray(pre["boxes"], np.float32).reshape(-1, 4)[drawn].copy()
        if flipped:
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]] - 1
        hm, centers, kept = pre_heatmap(
            affine_boxes(boxes, pre_in), (in_h, in_w), down_ratio=self.down_ratio, rng=self.rng, **self.disturb
        )
        if self.pre_hm:
            out["pre_hm"] = torch.from_numpy(hm)
        warp = Warp(width=width, flipped=flipped, matrix=trans_out)
        marks = {
            "pre_centers": centers,
            "pre_ids": np.asarray(pre["track_ids"], np.int64)[drawn][kept].tolist(),
            "depth_scale": scale / max(height, width),
        }
        item = {**item, "ignore": np.asarray(item["ignore"]) | np.asarray(item["crowd"])}
        out.update(self.sample(item, out["image"], warp, marks))
        return out
