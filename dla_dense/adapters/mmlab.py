"""DLA backbones for OpenMMLab (mmdetection 3.x, mmsegmentation 1.x) configs.

Importing this module registers :class:`MMDLABackbone` as ``'DLABackbone'`` in the root model registry
``mmengine.registry.MODELS``. mmdet's and mmseg's ``MODELS`` registries are its children, so both find it
by ``type='DLABackbone'`` (or ``type='mmengine.DLABackbone'``). Load it from a config with
``custom_imports``::

    custom_imports = dict(imports=["dla_dense.adapters.mmlab"], allow_failed_imports=False)
    model = dict(
        backbone=dict(
            _delete_=True,
            type="DLABackbone",
            arch="dla34",
            out_indices=(2, 3, 4, 5),  # strides 4..32, channels [64, 128, 256, 512] for dla34
            frozen_stages=1,
            norm_eval=True,
            pretrained=True,  # or a local weights file in timm, ucbdrive/dla or CenterNet layout
        ),
        neck=dict(type="FPN", in_channels=[64, 128, 256, 512], out_channels=256, num_outs=5),
    )

Requires mmengine: ``pip install 'dla_dense[mmlab]'``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from ..backbones import create_backbone
from ..errors import DLADenseError
from ..weights import WeightsSource

try:
    from mmengine.model import BaseModule
    from mmengine.registry import MODELS
except ImportError as e:  # pragma: no cover - exercised by simulating a missing mmengine
    raise DLADenseError(
        f"dla_dense.adapters.mmlab needs mmengine, which could not be imported ({e}); "
        "install the extra: pip install 'dla_dense[mmlab]'"
    ) from None

__all__ = ["MMDLABackbone"]


@MODELS.register_module(name="DLABackbone")
class MMDLABackbone(BaseModule):
    """A DLA feature extractor following the mmdet/mmseg backbone conventions.

    ``forward(x)`` maps images ``[N, 3, H, W]`` to a tuple with one map per ``out_indices`` entry i:
    ``[N, feature_info.channels()[k], H / 2**i, W / 2**i]`` (rounded up). Index i is DLA's ``level{i}``
    (0..5, stride 2**i); the default (2, 3, 4, 5) gives strides 4..32, the levels an FPN neck takes.
    Inputs are expected normalised by the data preprocessor (ImageNet mean/std, RGB).

    Args:
        arch: the DLA variant, e.g. ``'dla34'`` (see :data:`dla_dense.backbones.DLA_MODELS`).
        out_indices: increasing DLA levels in 0..5 to return.
        frozen_stages: -1 freezes nothing; k >= 0 freezes the stem (``base_layer``, ``level0``) and
            ``level1`` .. ``level{k}``: no gradients, and their BatchNorms stay in eval mode.
        norm_eval: keep every BatchNorm in eval mode after ``train()`` (running statistics frozen).
        pretrained: False (random init), True (timm's ImageNet weights from the Hugging Face hub or its
            cache), or a path to a weights file in timm, ucbdrive/dla or CenterNet layout. The weights are
            loaded at construction, and ``init_weights()`` then leaves them alone.
        init_cfg: mmengine initialisation config, applied by ``init_weights()`` when ``pretrained`` is
            False. A ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` loads this backbone
            from a detector or segmentor checkpoint trained with it.

    Attributes:
        body: the :class:`~dla_dense.backbones.DLABackbone` doing the work.
        feature_info: ``body.feature_info`` (``channels()``, ``reduction()``) for the returned levels.
    """

    def __init__(
        self,
        arch: str = "dla34",
        out_indices: Sequence[int] = (2, 3, 4, 5),
        frozen_stages: int = -1,
        norm_eval: bool = False,
        pretrained: WeightsSource = False,
        init_cfg: dict | list[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch = arch
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.body = create_backbone(
            arch,
            pretrained=pretrained,
            out_indices=self.out_indices,
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
        )
        self.feature_info = self.body.feature_info
        if pretrained:
            self._is_init = True

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """Map images ``[N, 3, H, W]`` to a tuple of feature maps, one per ``out_indices`` entry."""
        return tuple(self.body(x))

    def train(self, mode: bool = True) -> MMDLABackbone:
        """Set train/eval mode; frozen stages (and every BatchNorm if ``norm_eval``) stay in eval mode."""
        super().train(mode)
        self.body.train(mode)
        return self
