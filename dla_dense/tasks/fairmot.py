"""FairMOT (Zhang et al., arXiv 2004.01888): detection and re-identification in one CenterNet network on single
frames, tracked by the JDE tracker on appearance embeddings (``ifzhang/FairMOT``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config.schemas import TASK_SCHEMAS
from ..data.det_transforms import CenterNetEvalTransform, CenterNetTrainTransform
from ..data.video import VideoDataset
from ..heads import CenterNetHeads, JdeBoxHead
from ..models.centernet import CenterNet
from .video import VideoTask

#: FairMOT's input: RGB / 255, no mean or std.
FAIRMOT_INPUT = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0), "bgr": False}


def fairmot_checkpoint(extras: Mapping[str, Any]) -> bool:
    """Whether ``load_checkpoint``'s return value is that of a FairMOT training checkpoint
    (``{'epoch', 'state_dict'}`` without dla_dense's ``meta``)."""
    return extras.get("meta") is None and "epoch" in extras and "iteration" not in extras


class FairMotTask(VideoTask):
    """FairMOT: :class:`~dla_dense.models.centernet.CenterNet` on one frame with FairMOT's box head (``hm``,
    ``wh`` as ltrb, ``reg``) and the embedding head (``id``), trained on single frames of the video sources (FairMOT's
    JDE label files among them), tracked with ``evaluation.tracker`` (the JDE tracker by default)."""

    name = "fairmot"
    title = "a FairMOT tracker (detection and re-identification in one network)"
    schemas = TASK_SCHEMAS["fairmot"]
    benchmark_input_size = (608, 1088)
    benchmark_compare = ("bf16", "openvino-int8")

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """:class:`~dla_dense.heads.JdeBoxHead` (``model.ltrb``) and the embedding head (``model.reid_dim``)."""
        m, d = self.cfg.model, self.cfg.data
        box = JdeBoxHead(
            m.num_classes,
            ltrb=m.ltrb,
            max_objs=d.max_objs,
            hm_weight=m.hm_weight,
            wh_weight=m.wh_weight,
            off_weight=m.off_weight,
        )
        return CenterNetHeads([box, *self.embedding_heads()])

    network = CenterNet

    def describe(self) -> str:
        """``FairMOT <backbone> node=<node>``."""
        return f"FairMOT {self.cfg.model.backbone} node={self.cfg.model.node}"

    def item_options(self) -> dict[str, Any]:
        """Single frames (FairMOT trains without the previous frame)."""
        return {"pairs": False}

    def train_set(self) -> VideoDataset:
        """Single frames with CenterNet's augmentation and FairMOT's targets and identities."""
        d = self.cfg.data
        transform = CenterNetTrainTransform(
            self.heads(with_data=True),
            input_size=d.crop_size,
            down_ratio=CenterNet.output_stride,
            mean=d.mean,
            std=d.std,
            bgr=d.bgr,
            scale_range=d.crop_scale_range,
            flip=0.5 if d.hflip else 0.0,
            color_aug=d.color_aug,
        )
        dataset = self.dataset(d.train_split, transform)
        self._num_identities = dataset.num_identities
        return dataset

    def eval_transform(self) -> CenterNetEvalTransform:
        """The whole frame fitted into ``evaluation.input_size`` (FairMOT's letterbox)."""
        d = self.cfg.data
        return CenterNetEvalTransform(
            input_size=self.cfg.evaluation.input_size,
            mean=d.mean,
            std=d.std,
            bgr=d.bgr,
            down_ratio=CenterNet.output_stride,
            whole=True,
        )

    def adopt_checkpoint(self, extras: Mapping[str, Any]) -> None:
        """A FairMOT training checkpoint expects RGB / 255 input (no mean or std): use that, whatever the config
        says; dla_dense checkpoints as for detection."""
        if not fairmot_checkpoint(extras):
            super().adopt_checkpoint(extras)
            return
        d = self.cfg.data
        if (tuple(d.mean), tuple(d.std), d.bgr) != (FAIRMOT_INPUT["mean"], FAIRMOT_INPUT["std"], FAIRMOT_INPUT["bgr"]):
            self.logger.info(
                "the checkpoint is FairMOT's: RGB / 255 input without mean or std, instead of the config's"
            )
        d.mean, d.std, d.bgr = FAIRMOT_INPUT["mean"], FAIRMOT_INPUT["std"], FAIRMOT_INPUT["bgr"]
