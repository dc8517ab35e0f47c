"""FairMOT (Zhang et al., arXiv 2004.01888): detection and re-identification in one CenterNet network on single
frames, tracked by the JDE tracker on appearance embeddings (``ifzhang/FairMOT``)."""

from __future__ import annotations

from typing import Any

from ..config.schemas import TASK_SCHEMAS
from ..data.video import VideoDataset
from ..heads import CenterNetHeads, JdeBoxHead
from .centernet import CenterNetSpec, box_options, embedding_heads
from .registry import register_task
from .video import VideoTask, video_info

#: FairMOT's input, which its checkpoints expect: RGB / 255, no mean or std.
FAIRMOT_INPUT = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0), "bgr": False}


@register_task
class FairMotTask(VideoTask):
    """FairMOT: :class:`~dla_dense.models.centernet.CenterNet` on one frame with FairMOT's box head (``hm``,
    ``wh`` as ltrb, ``reg``) and the embedding head (``id``), trained on single frames of the video sources (FairMOT's
    JDE label files among them), tracked with ``evaluation.tracker`` (the JDE tracker by default)."""

    name = "fairmot"
    info = video_info(
        "a FairMOT tracker (detection and re-identification in one network)",
        "FairMOT {backbone} node={node}",
        (608, 1088),
        docs="tasks/reid.md",
    )
    schemas = TASK_SCHEMAS["fairmot"]
    spec = CenterNetSpec(reference_input=FAIRMOT_INPUT, letterbox=True)

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """:class:`~dla_dense.heads.JdeBoxHead` (``model.ltrb``) and the embedding head (``model.reid_dim``)."""
        box = JdeBoxHead(self.cfg.model.num_classes, ltrb=self.cfg.model.ltrb, **box_options(self.cfg))
        return CenterNetHeads([box, *embedding_heads(self.cfg, self._num_identities)])

    def item_options(self) -> dict[str, Any]:
        """Single frames (FairMOT trains without the previous frame)."""
        return {"pairs": False}

    def train_set(self) -> VideoDataset:
        """Single frames with CenterNet's augmentation and FairMOT's targets and identities."""
        dataset = self.dataset(self.cfg.data.train_split, self.train_transform())
        self._num_identities = dataset.num_identities
        return dataset
