"""Datasets, image reading and transforms."""

from .images import load_image, sample_image_path

__all__ = ["load_image", "sample_image_path"]
