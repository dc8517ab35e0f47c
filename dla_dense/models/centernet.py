"""CenterNet detector (Zhou et al., arXiv 1904.07850) on a DLA backbone: xingyizhou/CenterNet ``pose_dla_dcn.py``.

The decoder is CenterNet's, not ucbdrive/dla's: each IDA stage projects and upsamples a map with a
3x3 node (deformable or plain), *adds* it to its finer neighbour and applies another node. Module names
(``base``, ``dla_up.ida_i.{proj,up,node}_j``, ``ida_up``, ``hm``/``wh``/``reg``) and the node layout
(``conv``, ``actf.0``) are those of CenterNet's ``DLASeg``, so its ``ctdet`` checkpoints load 1:1, and those
of FairMOT's ``pose_dla_conv.py`` for ``node="conv"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..backbones import NUM_LEVELS, create_backbone
from ..errors import DLADenseError
from ..ops.centernet import HM_BIAS
from ..ops.dcn import ModulatedDeformConv2d
from ..weights import WeightsSource
from .dla_up import bilinear_upsampler
from .fusion import fuse_conv_bn
from .inputs import IMAGE_INPUTS, model_inputs

NODE_TYPES = ("dcn", "conv")
#: The box outputs every CenterNet has unless ``heads`` gives them 0 channels.
DEFAULT_BOX_OUTPUTS = {"wh": 2, "reg": 2}
FIRST_LEVEL = 2


class IDANode(nn.Module):
    """3x3 node ``[N, in_channels, H, W] -> [N, out_channels, H, W]``: ``conv`` then ``actf`` (BN + ReLU).

    ``node="dcn"``: ``conv`` is a :class:`ModulatedDeformConv2d` with bias (CenterNet ``DeformConv``);
    ``node="conv"``: a plain ``Conv2d`` without bias (FairMOT ``pose_dla_conv``).
    """

    def __init__(self, in_channels: int, out_channels: int, node: str = "dcn") -> None:
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))
        if node == "dcn":
            self.conv = ModulatedDeformConv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [N, in_channels, H, W]`` -> ``[N, out_channels, H, W]``."""
        return self.actf(self.conv(x))


class CenterNetIDAUp(nn.Module):
    """CenterNet's IDA stage over maps ``layers[i]`` of ``[N, channels[i], H / up_factors[i], W / up_factors[i]]``.

    For i >= 1: ``out[i] = node_i(up_i(proj_i(layers[i])) + out[i - 1])`` with ``out[0] = layers[0]``, where
    ``proj_i`` and ``node_i`` are :class:`IDANode` (to ``out_dim`` channels) and ``up_i`` is a trainable
    depthwise transposed conv by ``up_factors[i]`` initialised to bilinear upsampling. ``layers[0]`` must
    have ``out_dim`` channels; it is neither projected nor upsampled.
    """

    def __init__(self, out_dim: int, channels: Sequence[int], up_factors: Sequence[int], node: str = "dcn") -> None:
        super().__init__()
        if len(channels) != len(up_factors):
            raise ValueError(f"{len(channels)} channel counts but {len(up_factors)} up factors")
        self.num_inputs = len(channels)
        for i in range(1, len(channels)):
            self.add_module(f"proj_{i}", IDANode(channels[i], out_dim, node))
            self.add_module(f"up_{i}", bilinear_upsampler(out_dim, int(up_factors[i])))
            self.add_module(f"node_{i}", IDANode(out_dim, out_dim, node))

    def forward(self, layers: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``layers`` as in the class docstring -> ``out``: ``len(layers)`` maps ``[N, out_dim, H, W]``
        (``out[0]`` is ``layers[0]``)."""
        if len(layers) != self.num_inputs:
            raise ValueError(f"CenterNetIDAUp expects {self.num_inputs} inputs, got {len(layers)}")
        out = [layers[0]]
        for i in range(1, len(layers)):
            up = getattr(self, f"up_{i}")(getattr(self, f"proj_{i}")(layers[i]))
            out.append(getattr(self, f"node_{i}")(up + out[-1]))
        return out


class CenterNetDLAUp(nn.Module):
    """CenterNet's ``DLAUp`` over maps ``[N, channels[k], H / scales[k], W / scales[k]]``, finest first.

    Stage ``ida_i`` (i = 0 .. n-2) rewrites the last ``i + 1`` maps: it merges maps ``n-i-2 .. n-1`` with a
    :class:`CenterNetIDAUp` into ``channels[n-i-2]`` channels at scale ``scales[n-i-2]``. Output: ``n`` maps,
    ``out[k] [N, channels[k], H / scales[k], W / scales[k]]``, where ``out[n-1]`` is the input's deepest map
    and ``out[k]`` for ``k < n-1`` the last map after stage ``n-k-2``.
    """

    def __init__(self, channels: Sequence[int], scales: Sequence[int], node: str = "dcn") -> None:
        super().__init__()
        if len(channels) < 2 or len(scales) != len(channels):
            raise ValueError(f"CenterNetDLAUp needs >= 2 levels with one scale each, got {channels} and {scales}")
        self.channels = list(channels)
        in_channels = list(channels)
        scales = [int(s) for s in scales]
        n = len(channels)
        for i in range(n - 1):
            j = n - i - 2
            up_factors = [s // scales[j] for s in scales[j:]]
            self.add_module(f"ida_{i}", CenterNetIDAUp(channels[j], in_channels[j:], up_factors, node))
            scales[j + 1 :] = [scales[j]] * (n - j - 1)
            in_channels[j + 1 :] = [channels[j]] * (n - j - 1)

    def forward(self, layers: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``layers`` as in the class docstring -> the ``n`` maps ``out``, finest first."""
        n = len(self.channels)
        if len(layers) != n:
            raise ValueError(f"CenterNetDLAUp expects {n} inputs, got {len(layers)}")
        layers = list(layers)
        out = [layers[-1]]
        for i in range(n - 1):
            layers[n - i - 2 :] = getattr(self, f"ida_{i}")(layers[n - i - 2 :])
            out.insert(0, layers[-1])
        return out


def head_branch(in_channels: int, out_channels: int, head_conv: int, *, prior: float | None = None) -> nn.Module:
    """Head ``[N, in_channels, H, W] -> [N, out_channels, H, W]``: 3x3 conv to ``head_conv`` + ReLU + 1x1 conv,
    or a single 1x1 conv when ``head_conv == 0``.

    A heatmap head gets final bias ``prior`` (-2.19: initial sigmoid 0.1); every bias of other heads starts at 0.
    """
    if head_conv > 0:
        branch = nn.Sequential(
            nn.Conv2d(in_channels, head_conv, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(head_conv, out_channels, kernel_size=1, stride=1, padding=0, bias=True),
        )
        last = branch[-1]
    else:
        branch = last = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=True)
    if prior is not None:
        nn.init.constant_(last.bias, prior)
    else:
        for m in branch.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.zeros_(m.bias)
    return branch


class CenterNet(nn.Module):
    """CenterNet ``DLASeg``: ``model(images [N, 3, H, W]) -> {'hm', 'wh', 'reg'}`` maps at stride 4.

    ``hm`` is ``[N, num_classes, H/4, W/4]`` (logits, before sigmoid), ``wh`` and ``reg`` ``[N, 2, H/4, W/4]``,
    the same in train and eval mode; H and W must be multiples of 32. ``base`` returns DLA levels 2..5
    (strides 4..32), ``dla_up`` (:class:`CenterNetDLAUp`) merges them, ``ida_up`` (:class:`CenterNetIDAUp`)
    merges its outputs at strides 4, 8 and 16 into ``[N, channels[0], H/4, W/4]``, and each head (see
    :func:`head_branch`) maps that to its output. ``heads`` adds heads or changes the channel count of the
    default ones, ``{'hm': num_classes, 'wh': 2, 'reg': 2}`` (``wh`` or ``reg`` given 0 channels is left out, as
    SMOKE has neither); a head whose name contains ``hm`` is a
    heatmap unless ``initial_bias`` (name -> final bias) says which outputs start at a prior. ``node``
    selects the decoder's 3x3 nodes: ``"dcn"`` (deformable, CenterNet) or ``"conv"``.
    """

    #: Input pixels per output-map pixel (the stride of DLA level ``FIRST_LEVEL``): targets and decoding use it.
    output_stride: int = 2**FIRST_LEVEL
    #: Named inputs (see :mod:`dla_dense.models.inputs`).
    inputs: Mapping[str, int] = IMAGE_INPUTS

    def __init__(
        self,
        backbone: str = "dla34",
        num_classes: int = 80,
        *,
        node: str = "dcn",
        head_conv: int = 256,
        pretrained: WeightsSource = False,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        heads: Mapping[str, int] | None = None,
        initial_bias: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        if node not in NODE_TYPES:
            raise DLADenseError(f"node='{node}' is not supported; use one of {', '.join(NODE_TYPES)}")
        if num_classes < 1:
            raise DLADenseError(f"num_classes={num_classes} is invalid; give the number of classes (>= 1)")
        if head_conv < 0:
            raise DLADenseError(f"head_conv={head_conv} is invalid; use 0 (single 1x1 conv heads) or a width >= 1")
        extra = dict(heads or {})
        if extra.get("hm", num_classes) != num_classes:
            raise DLADenseError(
                f"heads['hm']={extra['hm']} disagrees with num_classes={num_classes}; set num_classes instead"
            )
        dropped = {name for name in DEFAULT_BOX_OUTPUTS if extra.get(name) == 0}
        merged = {"hm": num_classes, **DEFAULT_BOX_OUTPUTS, **extra}
        self.heads = {name: channels for name, channels in merged.items() if name not in dropped}
        bad = {k: v for k, v in self.heads.items() if not (k.isidentifier() and isinstance(v, int) and v >= 1)}
        if bad:
            raise DLADenseError(f"heads {bad} are invalid; give each head a name and an output channel count >= 1")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.node = node
        self.base = create_backbone(
            backbone,
            pretrained=pretrained,
            out_indices=tuple(range(FIRST_LEVEL, NUM_LEVELS)),
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
        )
        channels = self.base.feature_info.channels()
        strides = self.base.feature_info.reduction()
        scales = [s // strides[0] for s in strides]
        self.dla_up = CenterNetDLAUp(channels, scales, node)
        self.ida_up = CenterNetIDAUp(channels[0], channels[:-1], scales[:-1], node)
        if initial_bias is None:
            initial_bias = {name: HM_BIAS for name in self.heads if "hm" in name}
        for name, out_channels in self.heads.items():
            self.add_module(name, head_branch(channels[0], out_channels, head_conv, prior=initial_bias.get(name)))

    def export_outputs(self) -> tuple[nn.Module, list[str], bool]:
        """This network for export (:class:`CenterNetTupleOutputs`: a tuple of the head maps), their names, and
        True: the network itself returns ``{name: map}``."""
        wrapper = CenterNetTupleOutputs(self)
        return wrapper, list(wrapper.output_names), True

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x [N, 3, H, W]`` (H, W multiples of 32) -> ``{head: [N, heads[head], H/4, W/4]}``."""
        features = self.ida_up(self.dla_up(self.base(x))[:-1])[-1]
        return {name: getattr(self, name)(features) for name in self.heads}

    def fuse(self) -> CenterNet:
        """Fold every BatchNorm into the convolution before it (eval mode only, in place); returns ``self``.

        Deformable nodes are folded like plain convolutions (their ``weight`` and ``bias`` absorb the
        BatchNorm). The fused model gives the same outputs; it cannot be trained or saved as a CenterNet
        checkpoint any more.
        """
        if self.training:
            raise DLADenseError(
                "CenterNet.fuse() needs eval mode (BatchNorm running statistics); call model.eval() first"
            )
        fuse_conv_bn(self)
        return self

    def extra_repr(self) -> str:
        return f"{self.backbone_name}, {self.num_classes} classes, node={self.node}"


class CenterNetTupleOutputs(nn.Module):
    """Wraps a :class:`CenterNet` for export: ``images [N, 3, H, W] -> tuple`` of the head maps in
    ``output_names`` order (``('hm', 'wh', 'reg')`` by default), as ONNX and TorchScript need."""

    def __init__(self, model: CenterNet) -> None:
        super().__init__()
        self.model = model
        self.inputs = model_inputs(model)
        self.output_names = tuple(model.heads)
        self.training = model.training

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The model's named inputs (``image [N, 3, H, W]``, ...) -> ``(hm, wh, reg, ...)``, each
        ``[N, channels, H/4, W/4]``."""
        outputs = self.model(*inputs)
        return tuple(outputs[name] for name in self.output_names)
