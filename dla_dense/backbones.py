"""DLA backbones as multi-scale feature extractors (timm's ``features_only`` contract)."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence

import timm
import torch
from timm.models import FeatureListNet
from torch import nn

from .errors import InputSizeError, InvalidArgumentError
from .weights import WeightsSource, load_into, resolve_pretrained

#: Every DLA variant timm defines, in the order of its model table.
DLA_MODELS: tuple[str, ...] = (
    "dla34",
    "dla46_c",
    "dla46x_c",
    "dla60x_c",
    "dla60",
    "dla60x",
    "dla102",
    "dla102x",
    "dla102x2",
    "dla169",
    "dla60_res2net",
    "dla60_res2next",
)
#: Feature levels: index i is the output of ``level{i}`` at stride 2**i.
NUM_LEVELS = 6


def list_models(pattern: str = "*") -> list[str]:
    """Names of the DLA backbones that can be built, filtered by a shell-style ``pattern``."""
    return [n for n in DLA_MODELS if fnmatch.fnmatch(n, pattern)]


def check_model_name(name: str) -> None:
    """Raise :class:`~dla_dense.errors.InvalidArgumentError` (a ``ValueError``) naming the closest known model
    when ``name`` is not a DLA variant."""
    if name not in DLA_MODELS:
        close = difflib.get_close_matches(name, DLA_MODELS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise InvalidArgumentError(f"unknown model '{name}'; {hint}choose one of: {', '.join(DLA_MODELS)}")


def create_imagenet_model(name: str, *, pretrained: WeightsSource = False, **kwargs) -> nn.Module:
    """Full timm DLA classifier ``name`` with weights from ``pretrained`` (False, True = hub, or a path)."""
    check_model_name(name)
    path = resolve_pretrained(name, pretrained)
    model = timm.create_model(name, pretrained=False, **kwargs)
    if path is not None:
        load_into(model, path, name=name)
    return model


class DLABackbone(FeatureListNet):
    """Multi-scale DLA feature extractor.

    ``forward(x)`` maps images ``[N, 3, H, W]`` to a list with one map per ``out_indices`` entry i:
    ``[N, feature_info.channels()[k], H / 2**i, W / 2**i]`` (rounded up). Index i is ``level{i}``;
    ``feature_info`` is timm's, with ``channels()``, ``reduction()`` and ``module_name()``.

    ``frozen_stages=k`` (k >= 0) stops the stem (``base_layer``, ``level0``) and ``level1..k`` from
    learning: no gradients, and their BatchNorms stay in eval mode. ``norm_eval=True`` keeps every
    BatchNorm in eval mode after ``.train()`` (running statistics frozen), as mmdet backbones do.
    """

    def __init__(
        self,
        model: nn.Module,
        out_indices: Sequence[int] = (1, 2, 3, 4, 5),
        *,
        frozen_stages: int = -1,
        norm_eval: bool = False,
    ) -> None:
        super().__init__(model, out_indices=tuple(out_indices))
        self.pretrained_cfg = model.pretrained_cfg
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        #: The largest stride of the returned maps: input sizes must be multiples of it.
        self.max_stride: int = max(self.feature_info.reduction())
        for module in self._frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        self.train()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x [N, 3, H, W]`` with H, W multiples of the largest stride -> one map per level."""
        self._check_size(x)
        return list(self._collect(x).values())  # timm's FeatureListNet.forward, spelled out for TorchScript

    def _check_size(self, x: torch.Tensor) -> None:
        stride = self.max_stride
        if x.shape[-2] % stride != 0 or x.shape[-1] % stride != 0:
            raise InputSizeError(
                f"input size {x.shape[-2]}x{x.shape[-1]} is not a multiple of {stride}; pad or resize the "
                f"images (DLA's stride-2 levels need sizes divisible by {stride})"
            )

    def add_stem_input(self, name: str, channels: int) -> None:
        """Add a branch ``name`` that maps an extra input ``[N, channels, H, W]`` (input resolution) to the stem's
        channels, 7x7 conv (no bias) + BatchNorm + ReLU, as CenterTrack's ``pre_img_layer`` / ``pre_hm_layer``;
        :meth:`forward_with` adds its output to the stem's (``base_layer``) before ``level0``."""
        stem_channels = self["base_layer"][0].out_channels
        self[name] = nn.Sequential(
            nn.Conv2d(channels, stem_channels, kernel_size=7, stride=1, padding=3, bias=False),
            nn.BatchNorm2d(stem_channels, momentum=0.1),
            nn.ReLU(inplace=True),
        )
        self.stem_inputs = (*self.stem_inputs, name)

    #: Names of the extra-input branches (:meth:`add_stem_input`), in :meth:`forward_with`'s argument order.
    stem_inputs: tuple[str, ...] = ()

    def forward_with(self, x: torch.Tensor, extra: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """:meth:`forward` of ``x [N, 3, H, W]`` with one extra input per :attr:`stem_inputs` branch, each
        ``[N, channels, H, W]``, whose branch outputs are added to the stem's output (plain sums)."""
        if len(extra) != len(self.stem_inputs):
            raise ValueError(f"{len(self.stem_inputs)} extra inputs expected ({self.stem_inputs}), got {len(extra)}")
        self._check_size(x)
        out = []
        for name, module in self.items():
            if name in self.stem_inputs:
                continue
            x = module(x)
            if name == "base_layer":
                for branch, value in zip(self.stem_inputs, extra, strict=True):
                    x = x + self[branch](value)
            if name in self.return_layers:
                out.append(x)
        return out

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        names = ["base_layer", "level0"] + [f"level{i}" for i in range(1, self.frozen_stages + 1)]
        return [self[n] for n in names if n in self]

    def train(self, mode: bool = True) -> DLABackbone:
        """Set train/eval mode, keeping frozen stages (and all BatchNorms if ``norm_eval``) in eval."""
        super().train(mode)
        if mode:
            for module in self._frozen_modules():
                module.eval()
            if self.norm_eval:
                for module in self.modules():
                    if isinstance(module, nn.modules.batchnorm._BatchNorm):
                        module.eval()
        return self


def create_backbone(
    name: str,
    *,
    pretrained: WeightsSource = False,
    out_indices: Sequence[int] = (1, 2, 3, 4, 5),
    frozen_stages: int = -1,
    norm_eval: bool = False,
    output_stride: int = 32,
) -> DLABackbone:
    """Build DLA backbone ``name`` that returns the feature maps of ``out_indices`` (levels 0..5).

    ``pretrained``: False (random init), True (timm's ImageNet weights from the Hugging Face hub or its
    cache), or a path to a local ``.pth``/``.safetensors`` file in timm, ucbdrive/dla or CenterNet layout.
    ``output_stride`` 8 or 16 dilates the levels that would go below it (:func:`dilate_levels`), as
    DeepLab-style decoders need.
    """
    out_indices = tuple(out_indices)
    if (
        not out_indices
        or any(not 0 <= i < NUM_LEVELS for i in out_indices)
        or list(out_indices) != sorted(set(out_indices))
    ):
        raise InvalidArgumentError(
            f"out_indices={out_indices} is invalid; give increasing levels from 0..{NUM_LEVELS - 1}, "
            "e.g. (2, 3, 4, 5) for strides 4..32"
        )
    if not -1 <= frozen_stages < NUM_LEVELS:
        raise InvalidArgumentError(f"frozen_stages={frozen_stages} is invalid; use -1 (none) or 0..{NUM_LEVELS - 1}")
    if output_stride not in OUTPUT_STRIDES:
        raise InvalidArgumentError(f"output_stride={output_stride} is invalid; use one of {OUTPUT_STRIDES}")
    model = create_imagenet_model(name, pretrained=pretrained)
    backbone = DLABackbone(model, out_indices, frozen_stages=frozen_stages, norm_eval=norm_eval)
    if output_stride != 32:
        dilate_levels(backbone, output_stride)
    return backbone


#: The output strides :func:`create_backbone` builds (32: DLA as published).
OUTPUT_STRIDES = (8, 16, 32)


def dilate_levels(backbone: DLABackbone, output_stride: int) -> None:
    """Keep the feature maps of ``backbone`` at ``output_stride`` (8 or 16) at most, in place: in every level of
    stride ``2**i > output_stride`` the strided convolutions and pools get stride 1, and its convolutions
    dilation ``2**i // output_stride`` (padding to match), as torchvision's ``replace_stride_with_dilation``
    and smp's ``make_dilated`` do. The weights stay; ``feature_info.reduction()`` reports the new strides."""
    if output_stride not in (8, 16):
        raise InvalidArgumentError(f"output_stride={output_stride} is invalid for dilation; use 8 or 16")
    for i in range(NUM_LEVELS):
        rate = 2**i // output_stride
        if rate < 2 or f"level{i}" not in backbone:
            continue
        for module in backbone[f"level{i}"].modules():
            if isinstance(module, nn.Conv2d):
                module.stride = (1, 1)
                if module.kernel_size != (1, 1):
                    module.dilation = (rate, rate)
                    module.padding = tuple(k // 2 * rate for k in module.kernel_size)
            elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and module.stride not in (1, (1, 1)):
                if module.kernel_size == module.stride:
                    module.kernel_size = 1
                module.stride = 1
    for info in backbone.feature_info.info:
        info["reduction"] = min(info["reduction"], output_stride)
    backbone.max_stride = max(backbone.feature_info.reduction())
