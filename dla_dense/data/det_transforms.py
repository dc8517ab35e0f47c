"""CenterNet ``ctdet`` input pipeline: random-crop affine training transform, test-time affine and its inverse.

The transforms take the items of :class:`~dla_dense.data.coco.CocoDetDataset` (``image`` HxWx3 uint8 RGB,
``boxes`` [M, 4] x1y1x2y2 in image pixels, ``labels`` [M], ``image_id``). As in CenterNet
(``datasets/sample/ctdet.py``, ``detectors/base_detector.py``), every geometric step is one affine map
``p' = k * (p - c) + size / 2`` with ``k = size_w / s``, built by :func:`get_affine_transform`.

Normalisation: ``mean``/``std`` are in RGB order (default: ImageNet, for models trained here). With
``bgr=True`` the channels are put in BGR order first and then normalised with the given stats, which is
what a converted CenterNet checkpoint expects: its images were read with cv2 and normalised with the COCO
stats in BGR order, ``mean=CENTERNET_COCO_MEAN, std=CENTERNET_COCO_STD, bgr=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..fields import Fields, image_fields
from ..ops.affine import Warp, affine_boxes, affine_points, get_affine_transform

__all__ = [
    "CENTERNET_COCO_MEAN",
    "CENTERNET_COCO_STD",
    "CenterNetEvalTransform",
    "CenterNetTrainTransform",
    "affine_boxes",
    "affine_points",
    "get_affine_transform",
]

#: CenterNet's COCO mean and std (``datasets/dataset/coco.py``), in **BGR** order; use with ``bgr=True``.
CENTERNET_COCO_MEAN: tuple[float, float, float] = (0.40789654, 0.44719302, 0.47026115)
CENTERNET_COCO_STD: tuple[float, float, float] = (0.28863828, 0.27408164, 0.27809835)

#: PCA lighting of CenterNet's colour augmentation; eigenvector rows are channels in BGR order.
_EIG_VAL = np.array([0.2141788, 0.01817699, 0.00341571], dtype=np.float32)
_EIG_VEC_BGR = np.array(
    [
        [-0.58752847, -0.69563484, 0.41340352],
        [-0.5832747, 0.00994535, -0.81221408],
        [-0.56089297, 0.71832671, 0.41158938],
    ],
    dtype=np.float32,
)
_COLOR_VAR = 0.4
_LIGHTING_STD = 0.1


class TargetEncoder(Protocol):
    """What a training transform needs from the heads it trains (:class:`~dla_dense.heads.CenterNetHeads`): the
    item's fields moved by the augmentation's warp, and the targets of those fields."""

    #: Whether some head's fields follow a rotation of the image (then rotation may be drawn).
    rotates: bool

    def warp(self, item: Fields, warp: Warp) -> Fields:
        """The heads' fields of ``item`` moved by ``warp`` into output-map pixels."""
        ...

    def encode(self, fields: Fields, *, output_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """The heads' training targets of one item's output-map ``fields``."""
        ...


def _get_border(border: int, size: int) -> int:
    """CenterNet's ``_get_border``: halve ``border`` until it fits twice into ``size``."""
    i = 1
    while size - border // i <= border // i:
        i *= 2
    return border // i


def _normalize(image: np.ndarray, mean: np.ndarray, std: np.ndarray, bgr: bool) -> torch.Tensor:
    """HxWx3 float RGB in [0, 1] -> normalised float32 tensor [3, H, W] (channels reversed first if ``bgr``)."""
    if bgr:
        image = image[:, :, ::-1]
    image = (image - mean) / std
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


def normalization_table(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``[3, 256]`` float32: row ``c`` holds what :func:`_normalize` makes of each uint8 value of the image channel
    that becomes input channel ``c`` (``(v / 255 - mean[c]) / std[c]``, float32 steps alike)."""
    values = np.arange(256, dtype=np.float32) / 255.0
    return np.stack([(values - m) / s for m, s in zip(mean, std, strict=True)]).astype(np.float32)


def normalize_uint8(image: np.ndarray, table: np.ndarray, bgr: bool) -> torch.Tensor:
    """uint8 RGB ``image [H, W, 3]`` -> the normalised float32 tensor ``[3, H, W]`` by lookup in ``table`` (from
    :func:`normalization_table`): equal to scaling to [0, 1] and :func:`_normalize`, in one pass per channel."""
    out = np.empty((3, *image.shape[:2]), dtype=np.float32)
    for c in range(3):  # "clip" (a no-op on uint8 indices) writes straight into ``out``; "raise" buffers it
        np.take(table[c], image[:, :, 2 - c if bgr else c], out=out[c], mode="clip")
    return torch.from_numpy(out)


def _color_aug(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """CenterNet's ``color_aug`` on an RGB float image in [0, 1]: brightness, contrast and saturation
    (factor ``1 + U(-0.4, 0.4)``, random order, blending with the grey image of the input) then PCA lighting.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray_mean = float(gray.mean())
    for op in rng.permutation(3):
        alpha = 1.0 + rng.uniform(-_COLOR_VAR, _COLOR_VAR)
        if op == 0:
            image = image * alpha
        elif op == 1:
            image = image * alpha + gray_mean * (1 - alpha)
        else:
            image = image * alpha + gray[:, :, None] * (1 - alpha)
    lighting = _EIG_VEC_BGR[::-1] @ (_EIG_VAL * rng.normal(0.0, _LIGHTING_STD, 3))
    return (image + lighting).astype(np.float32)


def random_crop(
    rng: np.random.Generator, width: int, height: int, scales: np.ndarray | None, border: int = 128
) -> tuple[np.ndarray, float]:
    """CenterNet's crop draw: centre ``[2]`` and side of the crop of a ``width`` x ``height`` image. The side is
    ``max(height, width)`` times a draw from ``scales`` and the centre uniform inside a ``border`` margin
    (halved until it fits), in that order of draws; ``scales=None``: the whole image, centred, nothing drawn."""
    center = np.array([width / 2.0, height / 2.0], np.float32)
    scale = float(max(height, width))
    if scales is not None:
        scale *= float(rng.choice(scales))
        center[0] = rng.integers(_get_border(border, width), width - _get_border(border, width))
        center[1] = rng.integers(_get_border(border, height), height - _get_border(border, height))
    return center, scale


def network_input(
    image: np.ndarray,
    matrix: np.ndarray,
    input_size: tuple[int, int],
    *,
    mean: np.ndarray,
    std: np.ndarray,
    bgr: bool,
    flipped: bool = False,
    color_rng: np.random.Generator | None = None,
) -> torch.Tensor:
    """The training input ``[3, H, W]`` of uint8 RGB ``image``: mirrored when ``flipped``, warped by the affine
    ``matrix`` to ``input_size`` (H, W; bilinear, black outside), scaled to [0, 1], colour-augmented with
    ``color_rng`` (None: not) and normalised."""
    in_h, in_w = input_size
    if flipped:
        image = image[:, ::-1]
    inp = cv2.warpAffine(np.ascontiguousarray(image), matrix, (in_w, in_h), flags=cv2.INTER_LINEAR)
    inp = inp.astype(np.float32) / 255.0
    if color_rng is not None:
        inp = _color_aug(color_rng, inp)
    return _normalize(inp, mean, std, bgr)


class TrainInput:
    """What the training transforms share: the ``heads`` whose targets they encode, the network input
    ``input_size`` (H, W) and its normalisation (``mean``/``std``, ``bgr``), the output stride ``down_ratio``, and
    one numpy Generator for every random draw, reseeded by :meth:`set_random_seed`."""

    def __init__(
        self,
        heads: TargetEncoder,
        *,
        input_size: tuple[int, int],
        down_ratio: int,
        mean: Sequence[float],
        std: Sequence[float],
        bgr: bool,
        seed: int | None,
    ) -> None:
        self.heads = heads
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.down_ratio = down_ratio
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.bgr = bgr
        self.rng = np.random.default_rng(seed)

    def set_random_seed(self, seed: int) -> None:
        """Restart the random stream: the same seed gives the same augmentation."""
        self.rng = np.random.default_rng(seed)

    def network_input(
        self, image: np.ndarray, matrix: np.ndarray, *, flipped: bool = False, color: bool = False
    ) -> torch.Tensor:
        """:func:`network_input` of ``image`` warped by ``matrix`` with this transform's size and normalisation
        (colour-augmented from :attr:`rng` when ``color``)."""
        return network_input(
            image,
            matrix,
            self.input_size,
            mean=self.mean,
            std=self.std,
            bgr=self.bgr,
            flipped=flipped,
            color_rng=self.rng if color else None,
        )

    def sample(self, item: Mapping[str, Any], inp: torch.Tensor, warp: Warp, marks: Mapping[str, Any]) -> dict:
        """The training sample of ``item``: the network input ``inp``, the heads' targets of its fields moved by
        ``warp`` (with the augmentation's ``marks``, e.g. ``rotated``), its ``image_id`` and, when it has one, its
        camera as the camera of the output map (``calib [3, 4]``)."""
        fields = {**self.heads.warp(item, warp), **marks}
        height, width = self.input_size
        targets = self.heads.encode(fields, output_size=(height // self.down_ratio, width // self.down_ratio))
        sample = {"image": inp, **targets, "image_id": item["image_id"]}
        if "calib" in item:
            sample["calib"] = warp.camera(item["calib"]).astype(np.float32)
        return sample


class CenterNetTrainTransform(TrainInput):
    """CenterNet's training input: random scale/shift crop, flip, colour augmentation, and the targets of
    ``heads`` (the heads own them; :class:`TargetEncoder`).

    ``input_size`` is (H, W); targets are at (H // down_ratio, W // down_ratio). The crop side is
    ``max(h, w) * scale`` with scale drawn from ``np.arange(*scale_range, scale_step)`` (default 0.6 … 1.3), its
    centre uniform inside a ``border`` margin (halved until it fits, CenterNet's ``_get_border``);
    ``scale_range=None`` keeps the whole image centred. Horizontal flip with probability ``flip``. The image is
    warped with ``cv2.warpAffine`` (bilinear, black outside); each head moves its fields of the item (boxes,
    joints with their flip pairs swapped, ...) through the same :class:`~dla_dense.ops.affine.Warp` to the output
    map and encodes its targets there. When some head's fields follow a rotation (``heads.rotates``: joints), the
    image may also be rotated (CenterNet's ``aug_rot``, off by default): with probability ``rotate_prob`` it turns
    by ``clip(N(0, rotate), -2 rotate, 2 rotate)`` degrees, and the item is marked ``rotated`` for the heads.

    Returns ``{"image": float32 [3, H, W] normalised, "image_id": int, **targets}`` (the box head's: ``hm [C,
    H/r, W/r]``, ``wh``/``reg [max_objs, 2]``, ``ind``/``reg_mask [max_objs]``) and, when the item has a camera
    matrix, ``calib`` float32 [3, 4] moved with the image into output-map pixels (:meth:`Warp.camera`). The
    randomness comes from one numpy Generator, reseeded by :meth:`set_random_seed`.
    """

    def __init__(
        self,
        heads: TargetEncoder,
        *,
        input_size: tuple[int, int] = (512, 512),
        down_ratio: int = 4,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        bgr: bool = False,
        scale_range: tuple[float, float] | None = (0.6, 1.4),
        scale_step: float = 0.1,
        border: int = 128,
        flip: float = 0.5,
        color_aug: bool = True,
        rotate_prob: float = 0.0,
        rotate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        normalise = {"mean": mean, "std": std, "bgr": bgr}
        super().__init__(heads, input_size=input_size, down_ratio=down_ratio, seed=seed, **normalise)
        self.scales = None if scale_range is None else np.arange(scale_range[0], scale_range[1], scale_step)
        self.border = border
        self.flip = flip
        self.color_aug = color_aug
        self.rotate_prob = rotate_prob
        self.rotate = rotate

    def __call__(self, item: Mapping[str, Any]) -> dict[str, Any]:
        image = np.asarray(item["image"])
        height, width = image.shape[:2]
        in_h, in_w = self.input_size
        out_h, out_w = in_h // self.down_ratio, in_w // self.down_ratio

        center, scale = random_crop(self.rng, width, height, self.scales, self.border)
        rot = 0.0
        if self.heads.rotates and self.rotate_prob and self.rng.random() < self.rotate_prob:
            rot = float(np.clip(self.rng.normal() * self.rotate, -2 * self.rotate, 2 * self.rotate))
        flipped = bool(self.flip and self.rng.random() < self.flip)
        if flipped:
            center[0] = width - center[0] - 1

        trans_input = get_affine_transform(center, scale, (in_w, in_h), rot=rot)
        inp = self.network_input(image, trans_input, flipped=flipped, color=self.color_aug)

        warp = Warp(
            width=width,
            flipped=flipped,
            matrix=get_affine_transform(center, scale, (out_w, out_h)),
            rotated=get_affine_transform(center, scale, (out_w, out_h), rot=rot) if rot else None,
        )
        # the crop's side over the image's longer side: CenterTrack scales depth targets by it
        depth_scale = scale / max(height, width)
        return self.sample(item, inp, warp, {"rotated": rot != 0, "depth_scale": depth_scale})


class CenterNetEvalTransform:
    """CenterNet test-time input (``base_detector.pre_process`` at scale 1).

    ``input_size=(H, W)``: the image is fitted into that size by a centred affine keeping its aspect
    (``fix_res``: its longer side scaled to ``W``; with ``whole``, FairMOT's letterbox: the whole image inside).
    ``input_size=None``: the image keeps its resolution and is padded to ``(h | pad) + 1`` x
    ``(w | pad) + 1`` around its centre (``keep_res``, the reference's test default for COCO with pad 31).

    Returns ``{"image": float32 [3, H, W] normalised, "meta": {"c": [2], "s": [2], "out_height", "out_width",
    "input_height", "input_width"}, "affine": [2, 3]}`` and the item's own fields (``image_id``, ``calib``, ...,
    :data:`~dla_dense.fields.IMAGE_FIELDS`, unchanged: in pixels of the original image, where decoding maps the
    detections back). ``affine`` maps network-input pixels to image pixels;
    :func:`~dla_dense.inference.detection.transform_preds` maps decoded boxes back with ``meta``.
    """

    def __init__(
        self,
        *,
        input_size: tuple[int, int] | None = None,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        bgr: bool = False,
        pad: int = 31,
        down_ratio: int = 4,
        whole: bool = False,
    ) -> None:
        self.input_size = None if input_size is None else (int(input_size[0]), int(input_size[1]))
        self.whole = whole
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.bgr = bgr
        self.table = normalization_table(self.mean, self.std)
        self.pad = pad
        self.down_ratio = down_ratio

    def __call__(self, item: Mapping[str, Any]) -> dict[str, Any]:
        image = np.asarray(item["image"])
        height, width = image.shape[:2]
        if self.input_size is None:
            in_h, in_w = (height | self.pad) + 1, (width | self.pad) + 1
            center = np.array([width // 2, height // 2], dtype=np.float32)
            scale = np.array([in_w, in_h], dtype=np.float32)
        else:
            in_h, in_w = self.input_size
            center = np.array([width / 2.0, height / 2.0], dtype=np.float32)
            side = max(in_w / in_h * height, width) if self.whole else max(height, width)
            scale = np.full(2, side, dtype=np.float32)
        trans_input = get_affine_transform(center, scale, (in_w, in_h))
        inp = cv2.warpAffine(np.ascontiguousarray(image), trans_input, (in_w, in_h), flags=cv2.INTER_LINEAR)
        meta = {
            "c": center,
            "s": scale,
            "out_height": in_h // self.down_ratio,
            "out_width": in_w // self.down_ratio,
            "input_height": in_h,
            "input_width": in_w,
        }
        if inp.dtype == np.uint8:
            image_tensor = normalize_uint8(inp, self.table, self.bgr)
        else:
            image_tensor = _normalize(inp.astype(np.float32) / 255.0, self.mean, self.std, self.bgr)
        affine = get_affine_transform(center, scale, (in_w, in_h), inverse=True)
        return {"image": image_tensor, "meta": meta, "affine": affine, **image_fields(item)}
