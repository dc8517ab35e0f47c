"""CenterNet multi_pose (``pose_dla_dcn.py`` with keypoint heads) on COCO-format keypoint data of any schema.

The network is the detector's with three more heads: ``hps`` (2J joint offsets from the centre), ``hm_hp``
(J joint heatmaps) and ``hp_offset`` (2, sub-pixel joint offsets). Targets, losses, decoding and the flip test
are CenterNet's, owned by the box and keypoint heads (:class:`~dla_dense.heads.BoxHead`,
:class:`~dla_dense.heads.KeypointHead`); evaluation is COCOeval ``keypoints`` (OKS) and ``bbox``. J, joint names,
skeleton and flip pairs come from the COCO categories' ``keypoints``/``skeleton`` (:mod:`dla_dense.data.keypoints`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..config.schemas import TASK_SCHEMAS
from ..data.det_transforms import CenterNetTrainTransform
from ..data.keypoints import CocoKeypointDataset, KeypointSchema
from ..data.synthetic.people import make_synthetic_people
from ..errors import DLADenseError
from ..evaluation import CocoKeypointEvaluator
from ..evaluation.undefined import format_metric
from ..heads import BoxHead, CenterNetHeads, Fields, KeypointHead
from ..inference.results import PoseResult
from .base import Task
from .centernet import (
    DET_BENCH,
    CenterNetSpec,
    CenterNetTask,
    DetProbe,
    DetTest,
    box_options,
    crop_options,
    embedding_heads,
)
from .parts import TaskInfo
from .registry import register_task


class PoseTest(DetTest):
    """The keypoint test tool: the detector's flags, keypoint AP first in its last line."""

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """``kp_AP .. (sigmas xS) [kp_AP at standard OKS ..]  AP50 ..`` (boxes)."""
        scale = task.cfg.evaluation.sigma_scale
        line = f"kp_AP {format_metric(metrics['kp_AP'])} (sigmas x{scale:g})"
        if "kp_std_AP" in metrics:
            line += f"  kp_AP {format_metric(metrics['kp_std_AP'])} (standard sigmas)"
        return f"{line}  box AP {format_metric(metrics['AP'])}  AP50 {format_metric(metrics['AP50'])}"


@register_task
class PoseTask(CenterNetTask):
    """CenterNet multi_pose on a COCO keypoints dataset (``data.root`` + ``coco_ann_file``/``coco_img_dir``)."""

    name = "pose"
    info = TaskInfo(
        title="a CenterNet keypoint model",
        reports="COCOeval keypoint (OKS) and box AP tables",
        infer_output="the image with labelled boxes and skeletons (<stem>_pose.jpg)",
        infer_suffix="pose",
        network="CenterNet multi_pose {backbone} node={node}",
        docs="tasks/pose.md",
        synthetic=make_synthetic_people,
        test=PoseTest,
        bench=DET_BENCH,
        probe=DetProbe,
    )
    metric = "kp_AP"
    spec = CenterNetSpec(random_objects=4)
    schemas = TASK_SCHEMAS["pose"]

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self._schema: KeypointSchema | None = None

    def _open_dataset(self, ann_file: Path, img_dir: Path, **kwargs: Any) -> CocoKeypointDataset:
        dataset = CocoKeypointDataset(ann_file, img_dir, flip_pairs=self.cfg.data.flip_pairs, **kwargs)
        joints = dataset.schema.num_joints
        if joints != self.cfg.model.num_joints:
            raise DLADenseError(
                f"model.num_joints={self.cfg.model.num_joints} but '{ann_file}' has {joints} keypoints per "
                f"category; set model.num_joints={joints}"
            )
        self._schema = dataset.schema
        return dataset

    @property
    def schema(self) -> KeypointSchema:
        """The data's keypoint schema (read from the validation annotations when no dataset was opened yet)."""
        if self._schema is None:
            self.dataset(self.cfg.data.val_split)
        return self._schema

    def val_set(self) -> CocoKeypointDataset:
        """The validation split; its schema must have OKS sigmas (checked before any training)."""
        dataset = super().val_set()
        self._sigmas()
        return dataset

    def train_transform(self) -> CenterNetTrainTransform:
        """CenterNet's augmentation with its optional rotation (``data.rotate_prob``, ``data.rotate``) and the heads'
        targets."""
        d = self.cfg.data
        heads = self.heads(with_data=True)
        return CenterNetTrainTransform(heads, **crop_options(self.cfg), rotate_prob=d.rotate_prob, rotate=d.rotate)

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """The box head and the keypoint head (``hps`` 2J, ``hm_hp`` J, ``hp_offset`` 2); ``with_data``: with the
        schema's left/right joint pairs (read from the data or the checkpoint) for the flip and its test."""
        m = self.cfg.model
        pairs = self.schema.flip_pairs if with_data else ()
        keypoints = KeypointHead(
            m.num_joints,
            pairs,
            max_objs=self.cfg.data.max_objs,
            hp_weight=m.hp_weight,
            hm_hp_weight=m.hm_hp_weight,
            hp_offset_weight=m.off_weight,
        )
        box = BoxHead(m.num_classes, radius_mode=self.cfg.data.radius_mode, **box_options(self.cfg))
        return CenterNetHeads([box, keypoints, *embedding_heads(self.cfg, self._num_identities)])

    def meta(self) -> dict[str, Any]:
        """The detector's meta plus the keypoint schema."""
        s = self.schema
        skeleton, pairs = [list(e) for e in s.skeleton], [list(p) for p in s.flip_pairs]
        return {**super().meta(), "keypoints": list(s.names), "skeleton": skeleton, "flip_pairs": pairs}

    def _sigmas(self) -> tuple[float, ...]:
        e = self.cfg.evaluation
        sigmas = e.sigmas or self.schema.default_sigmas()
        if sigmas is None:
            raise DLADenseError(
                "evaluation.sigmas is needed for this keypoint schema (only COCO's person schema has default OKS "
                f"sigmas); give {self.schema.num_joints} values, e.g. 0.05 each"
            )
        if len(sigmas) != self.schema.num_joints:
            raise DLADenseError(
                f"evaluation.sigmas has {len(sigmas)} values but the schema has {self.schema.num_joints} joints"
            )
        return tuple(sigmas)

    def evaluator(self, dataset: CocoKeypointDataset) -> CocoKeypointEvaluator:
        """Keypoint AP at the declared tolerance (``kp_*``), at standard OKS when scaled (``kp_std_*``) and box AP."""
        return CocoKeypointEvaluator(dataset, self._sigmas(), self.cfg.evaluation.sigma_scale)

    def result_of(self, image: np.ndarray, fields: Fields) -> PoseResult:
        """The :class:`PoseResult` of one image's decoded fields (joints with visibility 1)."""
        boxes = super().result_of(image, fields)
        joints = fields["keypoints"].numpy().astype(np.float32)
        keypoints = np.concatenate([joints, np.ones((*joints.shape[:2], 1), np.float32)], 2)
        s = self.schema
        return PoseResult(
            **vars(boxes), keypoints=keypoints.astype(np.float32), keypoint_names=s.names, skeleton=s.skeleton
        )

    def adopt_checkpoint(self, extras: Mapping[str, Any]) -> None:
        """The detector's, plus the keypoint schema a checkpoint of this task stores (so that no data is
        needed to predict)."""
        super().adopt_checkpoint(extras)
        meta = extras.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("keypoints"), list) and self._schema is None:
            names = tuple(meta["keypoints"])
            if len(names) == self.cfg.model.num_joints:
                self._schema = KeypointSchema(
                    names=names,
                    skeleton=tuple(tuple(e) for e in meta.get("skeleton") or ()),
                    flip_pairs=tuple(tuple(p) for p in meta.get("flip_pairs") or ()),
                )
