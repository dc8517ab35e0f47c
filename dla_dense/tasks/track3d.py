"""3D tracking, CenterTrack's ``tracking,ddd``: CenterTrack's tracker with the 3D heads of monocular detection on
KITTI tracking videos; each track carries the 3D box of its detection, scored with TrackEval's KITTI protocol."""

from __future__ import annotations

from dataclasses import replace

from ..config.schemas import TASK_SCHEMAS
from ..data.synthetic.kitti import make_synthetic_kitti_tracking
from ..heads import AmodalHead, CenterNetHeads, TrackBoxHead, TrackingHead
from ..heads.ddd import AmodalOffsetHead, DepthHead, DimensionHead, RotationHead
from .centernet import box_options, embedding_heads
from .registry import register_task
from .track import CenterTrackTask, TrackProbe
from .video import video_info


@register_task
class Track3dTask(CenterTrackTask):
    """CenterTrack on KITTI tracking with 3D heads: the box, tracking, rotation, dimension, (amodal offset) and
    depth heads; association in the image on each detection's unprojected centre moved by its tracking offset
    (CenterTrack's) or by BYTE on the 2D boxes; results carry 3D boxes and track ids."""

    name = "track3d"
    info = replace(
        video_info(
            "a CenterTrack 3D tracker (monocular)",
            "CenterTrack {backbone} node={node} with 3D heads",
            (384, 1280),
            docs="tasks/ddd.md",
            probe=TrackProbe,
        ),
        reports="HOTA, MOTA, IDF1 and ID switches of Car and Pedestrian (TrackEval's KITTI protocol), beside an "
        "IoU-only baseline",
        infer_output="the frames with projected 3D boxes and track ids beside a bird's-eye view, KITTI tracking "
        "txt with --save-txt",
        infer_suffix="tracks3d",
        synthetic=make_synthetic_kitti_tracking,
    )
    schemas = TASK_SCHEMAS["track3d"]

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """``TrackBoxHead``, ``TrackingHead``, (``AmodalHead`` with ``model.ltrb_amodal``), ``RotationHead``,
        ``DimensionHead``, (``AmodalOffsetHead`` with ``model.amodal_offset``), ``DepthHead`` and, with
        ``model.reid_dim``, the embedding head; the regression losses averaged over the objects as CenterTrack's."""
        m = self.cfg.model
        heads = [TrackBoxHead(m.num_classes, **box_options(self.cfg)), TrackingHead(weight=m.tracking_weight)]
        if m.ltrb_amodal:
            heads.append(AmodalHead(weight=m.ltrb_amodal_weight))
        heads += [RotationHead(weight=m.rot_weight), DimensionHead(reduction="objects", weight=m.dim_weight)]
        if m.amodal_offset:
            heads.append(AmodalOffsetHead(weight=m.amodel_offset_weight))
        depth = DepthHead(reduction="objects", weight=m.dep_weight)
        return CenterNetHeads([*heads, depth, *embedding_heads(self.cfg, self._num_identities)])
