"""dla_dense: dense prediction and classification on Deep Layer Aggregation backbones."""

from torch import nn

from .backbones import DLA_MODELS, DLABackbone, create_backbone, list_models
from .config import Config, load_config
from .errors import DLADenseError
from .models.classifier import classify, create_classifier, imagenet_labels
from .weights import load_checkpoint

__version__ = "0.1.0"


def build_model(cfg: Config) -> nn.Module:
    """The network a :class:`~dla_dense.config.Config` describes, built by its task (``dla_dense.tasks.TASKS``)."""
    from .tasks import build_model as _build_model

    return _build_model(cfg)


#: Names imported on first use (they pull in every task): ``from dla_dense import Predictor``.
_LAZY = {
    "Predictor": ".predictor",
    "SegResult": ".inference.results",
    "DetResult": ".inference.results",
    "PoseResult": ".inference.results",
    "ClsResult": ".inference.results",
    "save_pretrained": ".pretrained",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'dla_dense' has no attribute '{name}'")


__all__ = [
    "ClsResult",
    "DetResult",
    "PoseResult",
    "Predictor",
    "SegResult",
    "save_pretrained",
    "DLA_MODELS",
    "DLABackbone",
    "DLADenseError",
    "build_model",
    "classify",
    "create_backbone",
    "create_classifier",
    "imagenet_labels",
    "list_models",
    "load_config",
    "load_checkpoint",
]
