"""The Predictor (a trained model from a work dir, a checkpoint or a saved model folder, on images) and its
streams (the frames of one video in order)."""

from .predictor import ImageLike, Predictor, as_rgb
from .stream import Stream

__all__ = ["ImageLike", "Predictor", "Stream", "as_rgb"]
