"""dla_dense: dense prediction and classification on Deep Layer Aggregation backbones."""

from .backbones import DLA_MODELS, DLABackbone, create_backbone, list_models
from .checkpoint import load_checkpoint
from .errors import DLADenseError
from .models.classifier import classify, create_classifier, imagenet_labels

__version__ = "0.1.0"

__all__ = [
    "DLA_MODELS",
    "DLABackbone",
    "DLADenseError",
    "classify",
    "create_backbone",
    "create_classifier",
    "imagenet_labels",
    "list_models",
    "load_checkpoint",
]
