"""DLA + FPN backbones for torchvision's detection models.

:func:`dla_fpn_backbone` is the DLA counterpart of torchvision's ``resnet_fpn_backbone``: a DLA feature
extractor with a :class:`torchvision.ops.FeaturePyramidNetwork` on top, exposing the ``out_channels``
attribute and the ``OrderedDict[str, Tensor]`` output that ``FasterRCNN``, ``MaskRCNN``, ``KeypointRCNN``,
``RetinaNet`` and ``FCOS`` expect from their ``backbone`` argument.

Inputs are not normalised here: the detection models' ``GeneralizedRCNNTransform`` already normalises
images (0..1 floats) with the ImageNet mean and std that timm's DLA weights were trained with.

Faster R-CNN (the default anchors and RoI pooling expect 4 levels + ``'pool'``)::

    from torchvision.models.detection import FasterRCNN
    from dla_dense.adapters.torchvision import dla_fpn_backbone

    backbone = dla_fpn_backbone("dla34", pretrained=True)  # levels 2..5 + max-pool: strides 4..64
    model = FasterRCNN(backbone, num_classes=91)

RetinaNet / FCOS (levels 3..5 + P6/P7, strides 8..128, with one anchor size per map)::

    from torchvision.models.detection import FCOS, RetinaNet
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    backbone = dla_fpn_backbone(
        "dla34", pretrained=True, returned_levels=(3, 4, 5), extra_blocks=LastLevelP6P7(256, 256)
    )
    sizes = tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3))) for s in (32, 64, 128, 256, 512))
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
    retinanet = RetinaNet(backbone, num_classes=91, anchor_generator=anchors)

    backbone = dla_fpn_backbone(
        "dla34", pretrained=True, returned_levels=(3, 4, 5), extra_blocks=LastLevelP6P7(256, 256)
    )
    fcos_anchors = AnchorGenerator(((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5)
    fcos = FCOS(backbone, num_classes=91, anchor_generator=fcos_anchors)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool

from ..backbones import NUM_LEVELS, DLABackbone, create_backbone
from ..errors import InvalidArgumentError, InvalidTypeError
from ..weights import WeightsSource

__all__ = ["DLAWithFPN", "dla_fpn_backbone"]

#: Largest ``trainable_levels``: every backbone parameter trains (torchvision's ``trainable_layers=5``).
MAX_TRAINABLE_LEVELS = 5


class DLAWithFPN(nn.Module):
    """A DLA feature extractor (``body``) followed by a feature pyramid network (``fpn``).

    The counterpart of torchvision's ``BackboneWithFPN``. ``forward`` maps images ``[N, 3, H, W]`` to an
    ``OrderedDict`` with keys ``'0'``, ``'1'``, ... (one per backbone level, finest first) followed by the
    names the extra block adds (``'pool'`` for ``LastLevelMaxPool``, ``'p6', 'p7'`` for ``LastLevelP6P7``).
    Every map has ``out_channels`` channels; the map of level i is ``[N, out_channels, H / 2**i, W / 2**i]``
    (rounded up), and each extra map halves the previous one.

    Attributes:
        body: the :class:`~dla_dense.backbones.DLABackbone`; ``body.feature_info`` describes its levels.
        fpn: the :class:`torchvision.ops.FeaturePyramidNetwork`.
        out_channels: channels of every output map (the attribute torchvision's detectors read).
    """

    def __init__(
        self,
        body: DLABackbone,
        out_channels: int = 256,
        extra_blocks: ExtraFPNBlock | None = None,
    ) -> None:
        super().__init__()
        if extra_blocks is None:
            extra_blocks = LastLevelMaxPool()
        self.body = body
        self.fpn = FeaturePyramidNetwork(
            in_channels_list=list(body.feature_info.channels()),
            out_channels=out_channels,
            extra_blocks=extra_blocks,
        )
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Map images ``[N, 3, H, W]`` to FPN maps ``{'0': [N, C, H/s0, W/s0], ...}``, C = out_channels."""
        named: dict[str, Tensor] = OrderedDict()
        for i, feature in enumerate(self.body(x)):
            named[str(i)] = feature
        return self.fpn(named)


def dla_fpn_backbone(
    name: str = "dla34",
    *,
    pretrained: WeightsSource = False,
    returned_levels: Sequence[int] = (2, 3, 4, 5),
    out_channels: int = 256,
    extra_blocks: ExtraFPNBlock | None = None,
    trainable_levels: int | None = None,
    norm_eval: bool | None = None,
) -> DLAWithFPN:
    """Build DLA backbone ``name`` with an FPN on top, ready for torchvision's detection models.

    Mirrors torchvision's ``resnet_fpn_backbone``: the result has an int ``out_channels`` and returns an
    ``OrderedDict[str, Tensor]`` (see :class:`DLAWithFPN` for keys and shapes).

    Args:
        name: a DLA variant (see :data:`dla_dense.backbones.DLA_MODELS`).
        pretrained: False (random init), True (timm's ImageNet weights from the Hugging Face hub or its
            cache), or a path to a local weights file in timm, ucbdrive/dla or CenterNet layout.
        returned_levels: increasing DLA levels in 1..5 fed to the FPN; level i has stride 2**i.
            The default (2, 3, 4, 5) gives strides 4..32, plus 64 from the default extra block.
        out_channels: channels of every FPN map.
        extra_blocks: an extra FPN block such as ``LastLevelP6P7(256, 256)``; default
            ``LastLevelMaxPool()`` (adds ``'pool'``), as in torchvision.
        trainable_levels: how many backbone stages train, counted from the deepest, as torchvision's
            ``trainable_layers``: 5 trains everything; k < 5 freezes the stem (``base_layer``, ``level0``)
            and ``level1`` .. ``level{5-k}`` (so 4 trains level2..5 and 0 freezes the whole backbone).
            Default: 3 with pretrained weights, else 5.
        norm_eval: keep the backbone's BatchNorms in eval mode during training (running statistics
            frozen, as torchvision's ``FrozenBatchNorm2d`` does for pretrained backbones). Default:
            True with pretrained weights, else False.

    Raises:
        InvalidArgumentError: (a ``ValueError``, as torchvision raises) on an unknown model name, invalid
            levels, channel counts or ``trainable_levels``.
        InvalidTypeError: (a ``TypeError``) when ``extra_blocks`` is not an ``ExtraFPNBlock``.
        DLADenseError: on unreadable weights.
    """
    levels = _check_levels(returned_levels)
    if isinstance(out_channels, bool) or not isinstance(out_channels, int) or out_channels <= 0:
        raise InvalidArgumentError(f"out_channels={out_channels!r} is invalid; give a positive int such as 256")
    if extra_blocks is not None and not isinstance(extra_blocks, ExtraFPNBlock):
        raise InvalidTypeError(
            f"extra_blocks must be a torchvision.ops.feature_pyramid_network.ExtraFPNBlock (e.g. "
            f"LastLevelMaxPool() or LastLevelP6P7(256, 256)) or None, not {type(extra_blocks).__name__}"
        )
    if trainable_levels is None:
        trainable_levels = 3 if pretrained else MAX_TRAINABLE_LEVELS
    if (
        isinstance(trainable_levels, bool)
        or not isinstance(trainable_levels, int)
        or not 0 <= trainable_levels <= MAX_TRAINABLE_LEVELS
    ):
        raise InvalidArgumentError(
            f"trainable_levels={trainable_levels!r} is invalid; use 0..{MAX_TRAINABLE_LEVELS} "
            f"({MAX_TRAINABLE_LEVELS} trains the whole backbone, 0 freezes it)"
        )
    if norm_eval is None:
        norm_eval = bool(pretrained)
    frozen_stages = -1 if trainable_levels == MAX_TRAINABLE_LEVELS else MAX_TRAINABLE_LEVELS - trainable_levels
    body = create_backbone(
        name,
        pretrained=pretrained,
        out_indices=levels,
        frozen_stages=frozen_stages,
        norm_eval=bool(norm_eval),
    )
    return DLAWithFPN(body, out_channels=out_channels, extra_blocks=extra_blocks)


def _check_levels(returned_levels: Sequence[int]) -> tuple[int, ...]:
    try:
        levels = tuple(returned_levels)
    except TypeError:
        levels = ()
    valid = (
        bool(levels)
        and all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i < NUM_LEVELS for i in levels)
        and list(levels) == sorted(set(levels))
    )
    if not valid:
        raise InvalidArgumentError(
            f"returned_levels={returned_levels!r} is invalid; give increasing levels from "
            f"1..{NUM_LEVELS - 1}, e.g. (2, 3, 4, 5) for strides 4..32 or (3, 4, 5) for RetinaNet/FCOS"
        )
    return levels
