"""Detection primitives: CenterNet gaussian targets, decoding and losses."""

from .centernet import (
    ctdet_decode,
    draw_gaussian,
    focal_loss,
    gather_feat,
    gaussian_radius,
    reg_l1_loss,
    transpose_and_gather_feat,
)

__all__ = [
    "ctdet_decode",
    "draw_gaussian",
    "focal_loss",
    "gather_feat",
    "gaussian_radius",
    "reg_l1_loss",
    "transpose_and_gather_feat",
]
