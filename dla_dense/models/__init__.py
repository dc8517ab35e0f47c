"""Models built on DLA backbones."""

from .centernet import CenterNet
from .classifier import classify, create_classifier, imagenet_labels
from .dla_up import DLAUp, IDAUp
from .segmentor import DLASeg

__all__ = ["CenterNet", "DLASeg", "DLAUp", "IDAUp", "classify", "create_classifier", "imagenet_labels"]
