"""CenterNet ctdet detection (``pose_dla_dcn.py``): COCO-format data, focal + L1 losses, ctdet decode, COCO AP."""

from __future__ import annotations

from ..config.schemas import TASK_SCHEMAS
from ..data.synthetic.shapes import make_synthetic_shapes
from .centernet import DET_BENCH, CenterNetTask, DetProbe, DetTest
from .parts import TaskInfo
from .registry import register_task


@register_task
class DetTask(CenterNetTask):
    """CenterNet ctdet on a COCO-format dataset: the box head (``hm``, ``wh``, ``reg``), COCO box AP."""

    name = "det"
    info = TaskInfo(
        title="a CenterNet detector",
        reports="COCOeval AP table with per-class AP",
        infer_output="the image with labelled boxes (<stem>_boxes.jpg)",
        infer_suffix="boxes",
        network="CenterNet {backbone} node={node}",
        docs="tasks/detection.md",
        synthetic=make_synthetic_shapes,
        test=DetTest,
        bench=DET_BENCH,
        probe=DetProbe,
    )
    metric = "AP"
    schemas = TASK_SCHEMAS["det"]
