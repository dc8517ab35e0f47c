"""The input normalisation a detection checkpoint expects follows the checkpoint, not only the config."""

import torch

from dla_dense.config import load_config
from dla_dense.data.det_transforms import CENTERNET_COCO_MEAN, CENTERNET_COCO_STD
from dla_dense.models.centernet import CenterNet
from dla_dense.tasks.centernet import checkpoint_input
from dla_dense.tasks.det import DetTask
from dla_dense.weights import load_checkpoint


def test_checkpoint_input_from_meta_centernet_layout_or_none():
    meta = {"mean": [0.1, 0.2, 0.3], "std": [0.4, 0.5, 0.6], "bgr": False}
    assert checkpoint_input({"meta": meta, "iteration": 5}) == {
        "mean": (0.1, 0.2, 0.3),
        "std": (0.4, 0.5, 0.6),
        "bgr": False,
    }
    assert checkpoint_input({"epoch": 140}) == {"mean": CENTERNET_COCO_MEAN, "std": CENTERNET_COCO_STD, "bgr": True}
    assert checkpoint_input({}) is None
    assert checkpoint_input({"meta": {"task": "det"}, "iteration": 3}) is None


def test_converted_centernet_checkpoint_gets_bgr_coco_statistics(tmp_path):
    model = CenterNet("dla34", 4, node="conv", head_conv=8, pretrained=False)
    path = tmp_path / "ctdet_shapes.pth"
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": state}, path)
    cfg = load_config(
        "configs/demo_centernet_dla34.py", ["model.head_conv=8", f"data.root={str(tmp_path / 'shapes')!r}"]
    )
    task = DetTask(cfg)
    fresh = CenterNet("dla34", 4, node="conv", head_conv=8, pretrained=False)
    task.adopt_checkpoint(load_checkpoint(fresh, path))
    transform = task.eval_transform()
    assert transform.bgr is True
    assert tuple(transform.mean.ravel().tolist()) == tuple(torch.tensor(CENTERNET_COCO_MEAN).tolist())
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
