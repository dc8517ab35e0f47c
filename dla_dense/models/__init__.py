"""Models built on DLA backbones."""

from .classifier import classify, create_classifier, imagenet_labels

__all__ = ["classify", "create_classifier", "imagenet_labels"]
