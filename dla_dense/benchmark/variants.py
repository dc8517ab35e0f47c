"""The benchmark's variants: which network (the config's, the other node type, smp's) with which speed-ups."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..backbones import check_model_name
from ..config import Config, default_config, load_config
from ..errors import DLADenseError
from ..tasks import TASKS, Task, build_model, build_task
from ..tasks.parts import describe


@dataclass(frozen=True)
class Variant:
    """One way of running a network: which network (``arch``) and which speed-ups.

    ``arch`` is ``"dla"`` (the config's model), ``"node"`` (the detector with the other node type),
    ``"smp-unet"`` or ``"smp-fpn"`` (segmentation_models_pytorch on timm's DLA encoder); a variant of another
    ``arch`` applies to the tasks that list it in ``bench.archs``. ``fuse`` (BatchNorm
    folding) applies to inference only; ``channels_last``, ``bf16`` (autocast) and ``compile`` to both modes.
    ``engine`` "onnxruntime" or "openvino" runs an export of the network instead of PyTorch (inference only:
    these variants have no training row; OpenVINO at f32, or bf16 with ``bf16``); ``int8`` quantizes the
    OpenVINO export with NNCF, calibrated on perturbed copies of the benchmark input (enough for timing; the
    accuracy of int8 comes from ``tools/test.py --int8`` calibrated on training images).
    """

    name: str
    arch: str = "dla"
    fuse: bool = False
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False
    engine: str = "torch"
    int8: bool = False


#: Every variant ``--compare`` accepts; ``eager`` (plain fp32, NCHW) is the baseline and always runs first.
VARIANTS: dict[str, Variant] = {
    "eager": Variant("eager"),
    "fast": Variant("fast", fuse=True, channels_last=True),
    "bf16": Variant("bf16", fuse=True, channels_last=True, bf16=True),
    "compile": Variant("compile", fuse=True, channels_last=True, compile=True),
    "ort": Variant("ort", engine="onnxruntime"),
    "openvino": Variant("openvino", engine="openvino"),
    "openvino-bf16": Variant("openvino-bf16", engine="openvino", bf16=True),
    "openvino-int8": Variant("openvino-int8", engine="openvino", int8=True),
    "node": Variant("node", arch="node"),
    "smp-unet": Variant("smp-unet", arch="smp-unet"),
    "smp-fpn": Variant("smp-fpn", arch="smp-fpn"),
}


def resolve_target(target: str, overrides: Sequence[str] = ()) -> Config:
    """The config of ``target``: a config file (with ``section.key=value`` overrides) or a model spec.

    A spec is ``TASK:BACKBONE`` or ``TASK:BACKBONE:NODE`` for a task with decoder node types (e.g.
    ``det:dla34:conv``), with the task's default config otherwise (19 classes for seg, 80 for det). Weights
    are random (``pretrained=False``) either way: they do not change the speed, and the benchmark runs offline.
    """
    covered = [name for name, task_cls in TASKS.items() if task_cls.info.bench.input_size]
    if target.endswith(".py") or Path(target).is_file():
        cfg = load_config(target, overrides)
    else:
        if overrides:
            raise DLADenseError("--cfg-options needs a config file; a model spec has no config to override")
        parts = target.split(":")
        if len(parts) not in (2, 3) or parts[0] not in covered:
            raise DLADenseError(
                f"'{target}' is neither a config file nor a model spec; use e.g. configs/demo_dla34.py, "
                "seg:dla34 or det:dla34:dcn"
            )
        check_model_name(parts[1])
        model: dict[str, Any] = {"backbone": parts[1]}
        if len(parts) == 3:
            nodes = _node_types(TASKS[parts[0]])
            if parts[2] not in nodes:
                raise DLADenseError(f"unknown node '{parts[2]}' in '{target}'; use {' or '.join(nodes) or 'no node'}")
            model["node"] = parts[2]
        cfg = default_config(parts[0], name=target, **model)
    if cfg.model.task not in covered:
        raise DLADenseError(
            f"'{target}' is a {cfg.model.task} config; the benchmark covers {' and '.join(covered)} models"
        )
    cfg.model.pretrained = False
    return cfg


def _node_types(task: type[Task]) -> tuple[str, ...]:
    """The decoder node types of ``task``'s model schema (empty when it has no ``node`` key)."""
    hints = typing.get_type_hints(task.schemas["model"])
    return typing.get_args(hints["node"]) if "node" in hints else ()


def select_variants(task: str, compare: Sequence[str] | None) -> list[Variant]:
    """``eager`` followed by the ``compare`` variants (None: eager alone, empty: the task's
    ``bench.compare``)."""
    names = [] if compare is None else list(compare) or list(TASKS[task].info.bench.compare)
    chosen = [VARIANTS["eager"]]
    for name in names:
        if name not in VARIANTS:
            raise DLADenseError(f"unknown variant '{name}'; choose from {', '.join(VARIANTS)}")
        arch = VARIANTS[name].arch
        if arch != "dla" and arch not in TASKS[task].info.bench.archs:
            only = [other for other, task_cls in TASKS.items() if arch in task_cls.info.bench.archs]
            raise DLADenseError(f"variant '{name}' is for {' and '.join(only)} models, not {task}")
        if VARIANTS[name] not in chosen:
            chosen.append(VARIANTS[name])
    return chosen


def _other_node(cfg: Config) -> str:
    return "conv" if cfg.model.node == "dcn" else "dcn"


def variant_label(variant: Variant, cfg: Config) -> str:
    """The name shown for ``variant``: ``node`` becomes ``node=conv`` or ``node=dcn``."""
    return f"node={_other_node(cfg)}" if variant.arch == "node" else variant.name


def arch_name(cfg: Config, arch: str) -> str:
    """A short description of the network of ``arch``, e.g. ``DLASeg dla34`` or ``CenterNet dla34 node=conv``."""
    if arch in ("dla", "node"):
        return describe(build_task(_arch_config(cfg, arch)))
    return f"{arch} tu-{cfg.model.backbone}"


def _arch_config(cfg: Config, arch: str) -> Config:
    """``cfg``, or for ``node`` the same config with the other decoder node type."""
    if arch != "node":
        return cfg
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, node=_other_node(cfg)))


def build_arch(cfg: Config, arch: str) -> nn.Module:
    """The network of ``arch`` (see :class:`Variant`) for ``cfg``, with random weights."""
    if arch in ("dla", "node"):
        return build_model(_arch_config(cfg, arch))
    import segmentation_models_pytorch as smp

    cls = {"smp-unet": smp.Unet, "smp-fpn": smp.FPN}[arch]
    return cls(f"tu-{cfg.model.backbone}", encoder_weights=None, classes=cfg.model.num_classes)


@torch.no_grad()
def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm random (seeded) statistics and affine parameters, and put the model in eval mode.

    A fresh network has mean 0 / variance 1 statistics and unit scale, which makes BatchNorm folding a no-op;
    with these values folding changes every convolution. Running means ~ N(0, 0.2), variances and scales
    ~ U(0.5, 1.5), shifts ~ N(0, 0.2).
    """
    generator = torch.Generator().manual_seed(seed)
    for bn in model.modules():
        if isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.running_mean is not None:
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
            bn.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            if bn.affine:
                bn.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                bn.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    model.eval()
