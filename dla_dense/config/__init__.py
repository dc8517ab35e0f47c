"""Configs: plain Python (or JSON) files of sections ``model``, ``data``, ``optim``, ``train``, ``evaluation``,
validated per task (:mod:`.schemas`), with ``section.key=value`` overrides (:func:`load_config`)."""

from .base import (
    AT_LEAST_0,
    AT_LEAST_1,
    FRACTION,
    IMAGENET_MEAN,
    IMAGENET_STD,
    POSITIVE,
    SECTIONS,
    STRIDE_32,
    Bound,
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    ranges,
)
from .loading import default_config, load_config, task_schemas

__all__ = [
    "AT_LEAST_0",
    "AT_LEAST_1",
    "Bound",
    "Config",
    "DataConfig",
    "EvalConfig",
    "FRACTION",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelConfig",
    "OptimConfig",
    "POSITIVE",
    "SECTIONS",
    "STRIDE_32",
    "TrainConfig",
    "ranges",
    "default_config",
    "load_config",
    "task_schemas",
]
