"""Detection and pose primitives: CenterNet gaussian targets, decoding and losses."""

from .centernet import (
    ctdet_decode,
    draw_gaussian,
    focal_loss,
    gather_feat,
    gaussian_radius,
    reg_l1_loss,
    transpose_and_gather_feat,
)
from .pose import MULTI_POSE_WEIGHTS, flip_lr, flip_lr_off, multi_pose_decode, multi_pose_loss, reg_weighted_l1_loss

__all__ = [
    "ctdet_decode",
    "flip_lr",
    "flip_lr_off",
    "MULTI_POSE_WEIGHTS",
    "multi_pose_decode",
    "multi_pose_loss",
    "reg_weighted_l1_loss",
    "draw_gaussian",
    "focal_loss",
    "gather_feat",
    "gaussian_radius",
    "reg_l1_loss",
    "transpose_and_gather_feat",
]
