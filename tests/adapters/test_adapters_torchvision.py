"""torchvision detection adapter: DLA + FPN inside FasterRCNN, RetinaNet and FCOS (CPU, random weights)."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from support import tiered
from torch import nn
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

from dla_dense import DLADenseError
from dla_dense.adapters.torchvision import DLAWithFPN, dla_fpn_backbone
from dla_dense.backbones import create_imagenet_model

NUM_CLASSES = 3
STAGES = ("base_layer", "level0", "level1", "level2", "level3", "level4", "level5")


def _retina_anchors() -> AnchorGenerator:
    sizes = tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3))) for s in (32, 64, 128, 256, 512))
    return AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))


def _fcos_anchors() -> AnchorGenerator:
    return AnchorGenerator(((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5)


def _p3_p7_backbone() -> DLAWithFPN:
    return dla_fpn_backbone("dla34", returned_levels=(3, 4, 5), extra_blocks=LastLevelP6P7(256, 256))


def _faster_rcnn() -> nn.Module:
    return FasterRCNN(
        dla_fpn_backbone("dla34"),
        num_classes=NUM_CLASSES,
        min_size=224,
        max_size=320,
        rpn_pre_nms_top_n_train=500,
        rpn_post_nms_top_n_train=250,
        rpn_pre_nms_top_n_test=300,
        rpn_post_nms_top_n_test=150,
        box_batch_size_per_image=128,
    )


def _retinanet() -> nn.Module:
    return RetinaNet(
        _p3_p7_backbone(),
        num_classes=NUM_CLASSES,
        anchor_generator=_retina_anchors(),
        min_size=224,
        max_size=320,
    )


def _fcos() -> nn.Module:
    return FCOS(
        _p3_p7_backbone(),
        num_classes=NUM_CLASSES,
        anchor_generator=_fcos_anchors(),
        min_size=224,
        max_size=320,
    )


DETECTORS = {
    "faster_rcnn": (
        _faster_rcnn,
        {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"},
    ),
    "retinanet": (_retinanet, {"classification", "bbox_regression"}),
    "fcos": (_fcos, {"classification", "bbox_regression", "bbox_ctrness"}),
}


def _batch() -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    images = [torch.rand(3, 256, 320), torch.rand(3, 240, 320)]
    targets = [
        {
            "boxes": torch.tensor([[20.0, 30.0, 120.0, 150.0], [150.0, 60.0, 300.0, 220.0]]),
            "labels": torch.tensor([1, 2]),
        },
        {
            "boxes": torch.tensor([[10.0, 10.0, 90.0, 100.0], [100.0, 120.0, 260.0, 230.0]]),
            "labels": torch.tensor([2, 1]),
        },
    ]
    return images, targets


@pytest.mark.parametrize("kind", tiered(list(DETECTORS), lambda kind: kind != "fcos"))  # one in the fast tier
def test_detector_train_step_and_eval(kind: str) -> None:
    torch.manual_seed(0)
    build, loss_keys = DETECTORS[kind]
    model = build()
    images, targets = _batch()
    body = model.backbone.body
    watched = {n: p.detach().clone() for n, p in body.named_parameters() if n.startswith(("base_layer", "level5"))}
    assert watched and all(p.requires_grad for p in body.parameters())

    model.train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    losses = model(images, targets)
    assert set(losses) == loss_keys
    assert all(torch.isfinite(v).item() for v in losses.values()), losses
    optimizer.zero_grad()
    sum(losses.values()).backward()
    optimizer.step()

    params = dict(body.named_parameters())
    for prefix in ("base_layer", "level5"):
        assert any(not torch.equal(params[n], before) for n, before in watched.items() if n.startswith(prefix)), (
            f"no {prefix} parameter changed after the step"
        )

    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert len(detections) == len(images)
    for det in detections:
        assert set(det) == {"boxes", "labels", "scores"}
        k = det["boxes"].shape[0]
        assert det["boxes"].shape == (k, 4)
        assert det["labels"].shape == (k,)
        assert det["scores"].shape == (k,)
        assert torch.isfinite(det["boxes"]).all()


def test_default_outputs_are_an_ordered_dict_with_torchvision_keys() -> None:
    model = dla_fpn_backbone("dla34").eval()
    assert isinstance(model, DLAWithFPN)
    assert model.out_channels == 256 and isinstance(model.out_channels, int)
    assert isinstance(model.fpn.extra_blocks, LastLevelMaxPool)
    assert model.body.feature_info.channels() == [64, 128, 256, 512]
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 96))
    assert isinstance(out, OrderedDict)
    assert list(out) == ["0", "1", "2", "3", "pool"]
    shapes = [tuple(v.shape) for v in out.values()]
    assert shapes == [(2, 256, 16, 24), (2, 256, 8, 12), (2, 256, 4, 6), (2, 256, 2, 3), (2, 256, 1, 2)]


def test_p6_p7_keys_and_custom_out_channels() -> None:
    model = dla_fpn_backbone(
        "dla34", returned_levels=(3, 4, 5), out_channels=128, extra_blocks=LastLevelP6P7(128, 128)
    ).eval()
    assert model.out_channels == 128
    with torch.no_grad():
        out = model(torch.rand(1, 3, 128, 128))
    assert list(out) == ["0", "1", "2", "p6", "p7"]
    assert [tuple(v.shape[1:]) for v in out.values()] == [
        (128, 16, 16),
        (128, 8, 8),
        (128, 4, 4),
        (128, 2, 2),
        (128, 1, 1),
    ]


@pytest.mark.parametrize(
    ("trainable_levels", "frozen"),
    [
        (5, set()),
        (4, {"base_layer", "level0", "level1"}),
        (3, {"base_layer", "level0", "level1", "level2"}),
        (0, set(STAGES)),
    ],
)
def test_trainable_levels_freeze_the_first_stages(trainable_levels: int, frozen: set[str]) -> None:
    model = dla_fpn_backbone("dla34", trainable_levels=trainable_levels)
    for stage in STAGES:
        flags = {p.requires_grad for p in model.body[stage].parameters()}
        assert flags == {stage not in frozen}, stage
    assert all(p.requires_grad for p in model.fpn.parameters())
    model.train()
    for stage in STAGES:
        assert model.body[stage].training == (stage not in frozen), stage


def test_defaults_follow_pretrained(tmp_path) -> None:
    scratch = dla_fpn_backbone("dla34")
    assert scratch.body.frozen_stages == -1 and scratch.body.norm_eval is False

    classifier = create_imagenet_model("dla34")
    weights = tmp_path / "dla34.pth"
    torch.save(classifier.state_dict(), weights)
    model = dla_fpn_backbone("dla34", pretrained=weights)
    assert model.body.frozen_stages == 2 and model.body.norm_eval is True
    for n, p in model.body.named_parameters():
        assert torch.equal(p, classifier.get_parameter(n)), n
    model.train()
    bns = [m for m in model.body.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)


def test_norm_eval_keeps_batchnorm_in_eval_mode() -> None:
    model = dla_fpn_backbone("dla34", norm_eval=True).train()
    assert model.training and model.body.training
    assert not any(m.training for m in model.body.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(p.requires_grad for p in model.body.parameters())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "dla35"}, "unknown model 'dla35'; did you mean 'dla34'"),
        ({"returned_levels": ()}, "returned_levels"),
        ({"returned_levels": (5, 4)}, "returned_levels"),
        ({"returned_levels": (0, 1)}, "returned_levels"),
        ({"returned_levels": (2, 6)}, "returned_levels"),
        ({"returned_levels": (2, 2, 3)}, "returned_levels"),
        ({"trainable_levels": 6}, "trainable_levels=6"),
        ({"trainable_levels": -1}, "trainable_levels=-1"),
        ({"out_channels": 0}, "out_channels=0"),
        ({"out_channels": 256.0}, "out_channels"),
        ({"extra_blocks": nn.Identity()}, "extra_blocks"),
    ],
)
def test_argument_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(DLADenseError, match=match):
        dla_fpn_backbone(**kwargs)
