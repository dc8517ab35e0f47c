"""COCO-format keypoint data: the keypoint schema of the categories and a dataset that adds keypoints to boxes.

A schema is what COCO's ``categories`` entries say: ``keypoints`` (joint names) and ``skeleton`` (1-based
joint pairs). Several categories may share one schema (CenterNet's multi_pose with any number of classes);
categories with different schemas in one file are refused. Left/right flip pairs come from joint names
(``left_eye`` <-> ``right_eye``, ``left wrist`` <-> ``right wrist``) unless given.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DLADenseError
from .coco import CocoDetDataset, is_number

#: COCO's per-joint OKS sigmas of its 17-joint person schema (``pycocotools`` COCOeval).
COCO_PERSON_SIGMAS: tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
    0.089, 0.089,
)  # fmt: skip
COCO_PERSON_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip


@dataclass(frozen=True)
class KeypointSchema:
    """Joint names, skeleton edges (0-based joint pairs) and left/right flip pairs of a set of categories."""

    names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def default_sigmas(self) -> tuple[float, ...] | None:
        """COCO's sigmas for COCO's person schema; None for any other schema (the config must give them)."""
        return COCO_PERSON_SIGMAS if self.names == COCO_PERSON_KEYPOINTS else None


def flip_pairs_from_names(names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Pairs ``(i, j)``, ``i < j``, of joints whose names differ only by ``left`` / ``right`` (any case)."""
    index = {name: i for i, name in enumerate(names)}
    pairs = set()
    for i, name in enumerate(names):
        twin = name.replace("left", "right").replace("Left", "Right").replace("LEFT", "RIGHT")
        if twin != name and twin in index:
            pairs.add((min(i, index[twin]), max(i, index[twin])))
    return tuple(sorted(pairs))


def _skeleton(category: dict[str, Any], source: str | os.PathLike) -> tuple[tuple[int, ...], ...]:
    """The 0-based joint pairs of a category's 1-based ``skeleton`` (none when absent)."""
    edges = category.get("skeleton", [])
    valid = isinstance(edges, list) and all(
        isinstance(e, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in e) for e in edges
    )
    if not valid:
        raise DLADenseError(
            f"category '{category.get('name')}' of '{source}' has skeleton {edges!r}; it must be a list of "
            "[joint, joint] pairs of 1-based joint numbers"
        )
    return tuple(tuple(v - 1 for v in edge) for edge in edges)


def schema_of(categories: Sequence[dict[str, Any]], source: str | os.PathLike, flip_pairs=None) -> KeypointSchema:
    """The shared :class:`KeypointSchema` of COCO ``categories`` (one-line errors for missing or differing ones)."""
    lacking = [str(cat.get("name")) for cat in categories if not isinstance(cat.get("keypoints"), list)]
    lacking += [str(cat.get("name")) for cat in categories if not cat.get("keypoints")]
    if lacking:
        raise DLADenseError(
            f"category '{lacking[0]}' of '{source}' has no 'keypoints' list; a keypoint dataset needs the joint "
            "names of every category"
        )
    first = categories[0]
    names = tuple(str(n) for n in first["keypoints"])
    skeleton = _skeleton(first, source)
    for cat in categories[1:]:
        if tuple(str(n) for n in cat["keypoints"]) != names or _skeleton(cat, source) != skeleton:
            raise DLADenseError(
                f"categories '{first['name']}' and '{cat['name']}' of '{source}' have different keypoint schemas; "
                "train them in separate configs (data.classes) or give them one schema"
            )
    bad = [edge for edge in skeleton if len(edge) != 2 or not all(0 <= v < len(names) for v in edge)]
    if bad:
        raise DLADenseError(f"skeleton of '{first['name']}' in '{source}' names joints that do not exist: {bad[0]}")
    pairs = flip_pairs_from_names(names) if flip_pairs is None else tuple(tuple(p) for p in flip_pairs)
    return KeypointSchema(names, skeleton, pairs)


class CocoKeypointDataset(CocoDetDataset):
    """:class:`~dla_dense.data.coco.CocoDetDataset` whose items also hold ``keypoints``: float32 ``[M, J, 3]``
    (x, y in input-image pixels, COCO visibility 0/1/2), one row per box. ``schema`` is the categories'
    :class:`KeypointSchema`; ``flip_pairs`` overrides the pairs found from the joint names."""

    def __init__(self, *args: Any, flip_pairs: Sequence[tuple[int, int]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = [self.coco.cats[cat_id] for cat_id in self.cat_ids]
        self.schema = schema_of(chosen, self.ann_file, flip_pairs)
        joints = self.schema.num_joints
        self._keypoints: list[np.ndarray] = []
        for name, anns in zip(self.file_names, self._anns, strict=True):
            rows = [ann.get("keypoints") or [0.0] * 3 * joints for ann in anns]
            for ann, row in zip(anns, rows, strict=True):
                valid = isinstance(row, list) and all(is_number(v) and math.isfinite(v) for v in row)
                if not valid or len(row) != 3 * joints:
                    raise DLADenseError(
                        f"annotation {ann.get('id')} of image '{name}' in '{self.ann_file}' does not have {joints} "
                        "keypoints as (x, y, v) triples of finite numbers; fix its 'keypoints' list"
                    )
            self._keypoints.append(np.asarray(rows, np.float32).reshape(-1, joints, 3))

    def raw_item(self, index: int) -> dict[str, Any]:
        """The detection item plus ``keypoints [M, J, 3]``."""
        return {**super().raw_item(index), "keypoints": self._keypoints[index].copy()}
