"""SMOKE's box coder (``smoke/modeling/smoke_coder.py``): depth from its offset, the 3D location from the keypoint
(the projected 3D centre) through the inverse output affine and the camera ``K`` ``[3, 3]``, dimensions as class
references times ``exp(offset)``, the yaw from the (sin, cos) pair and the viewing ray, and the 8 corners in SMOKE's
order. Its constants are kept, ``PI = 3.14159`` included, so decoded angles equal SMOKE's."""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: SMOKE's depth reference (mean, scale): ``z = 28.01 + 16.32 * offset``.
DEPTH_REF = (28.01, 16.32)
#: SMOKE's (l, h, w) references of Car, Cyclist, Pedestrian (its class order).
DIM_REF = ((3.88, 1.63, 1.53), (1.78, 1.70, 0.58), (0.88, 1.73, 0.67))
#: SMOKE's pi.
PI = 3.14159


def decode_depth(offset: torch.Tensor, ref: tuple[float, float] = DEPTH_REF) -> torch.Tensor:
    """Depth ``[N]`` of the raw depth channel ``offset [N]``."""
    return offset * ref[1] + ref[0]


def decode_location(
    points: torch.Tensor, offsets: torch.Tensor, depths: torch.Tensor, k: torch.Tensor, trans: torch.Tensor
) -> torch.Tensor:
    """3D centres ``[N, 3]`` of keypoints ``points [N, 2]`` (integer output pixels) plus ``offsets [N, 2]``, mapped
    back to the image by the inverse of ``trans`` (image -> output map) and lifted to ``depths [N]`` through the
    inverse of ``k``; ``k`` and ``trans`` are ``[3, 3]`` or one per point ``[N, 3, 3]``."""
    n = len(points)
    projected = torch.cat([points.reshape(-1, 2).float() + offsets, torch.ones(n, 1, dtype=offsets.dtype)], 1)
    image = torch.linalg.inv(trans.float()) @ projected.unsqueeze(-1)
    return (torch.linalg.inv(k.float()) @ (image * depths.view(n, 1, 1))).squeeze(2)


def decode_dimension(labels: torch.Tensor, offsets: torch.Tensor, ref=DIM_REF) -> torch.Tensor:
    """(l, h, w) ``[N, 3]``: the class references of ``labels [N]`` times ``exp(offsets [N, 3])``."""
    return offsets.exp() * torch.as_tensor(ref, dtype=offsets.dtype)[labels.flatten().long()]


def decode_orientation(
    vector: torch.Tensor, locations: torch.Tensor, flipped: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rotation_y [N], alpha [N])`` of the (sin, cos) pairs ``vector [N, 2]`` at ``locations [N, 3]``: ``alpha =
    atan(s / c) -/+ pi/2`` (cos >= 0 / < 0) and ``rotation_y = alpha + atan(x / z)``, wrapped once. Where
    ``flipped [N]`` (training on a mirrored image) the yaw moves by pi towards zero, as SMOKE's loss decodes it."""
    rays = torch.atan(locations[:, 0] / (locations[:, 2] + 1e-7))
    alphas = torch.atan(vector[:, 0] / (vector[:, 1] + 1e-7))
    alphas = torch.where(vector[:, 1] >= 0, alphas - PI / 2, alphas + PI / 2)
    rotys = alphas + rays
    rotys = torch.where(rotys > PI, rotys - 2 * PI, rotys)
    rotys = torch.where(rotys < -PI, rotys + 2 * PI, rotys)
    if flipped is not None:
        turned = rotys - PI * torch.sign(rotys)
        rotys = torch.where(flipped.flatten().bool(), turned, rotys)
    return rotys, alphas


#: SMOKE's corner order, as signs of (l/2, h, w/2) before the yaw (y down: -1 is the top face).
CORNER_SIGNS = (
    (-1, 1, 1, 1, 1, -1, -1, -1),
    (-1, -1, 0, 0, -1, -1, 0, 0),
    (-1, -1, -1, 1, 1, 1, 1, -1),
)


def encode_box3d(rotys: torch.Tensor, dims: torch.Tensor, locations: torch.Tensor) -> torch.Tensor:
    """The corners ``[N, 3, 8]`` of boxes of yaw ``rotys [N]``, (l, h, w) ``dims [N, 3]`` and bottom centres
    ``locations [N, 3]``, in SMOKE's order (:data:`CORNER_SIGNS`)."""
    signs = torch.tensor(CORNER_SIGNS, dtype=dims.dtype)
    scale = torch.stack([dims[:, 0] / 2, dims[:, 1], dims[:, 2] / 2], 1)  # [N, 3]
    local = signs.unsqueeze(0) * scale.unsqueeze(-1)  # [N, 3, 8]
    rotys = rotys.flatten()
    cos, sin = rotys.cos().unsqueeze(1), rotys.sin().unsqueeze(1)
    x, y, z = local[:, 0], local[:, 1], local[:, 2]
    corners = torch.stack([cos * x + sin * z, y, -sin * x + cos * z], 1)
    return corners + locations.unsqueeze(-1)


def disentangled_corner_loss(
    regression: torch.Tensor,
    targets: dict[str, torch.Tensor],
    *,
    max_objs: int,
    weight: float = 10.0,
    refs: Sequence[Sequence[float]] = DIM_REF,
) -> torch.Tensor:
    """SMOKE's ``DisL1`` loss of the activated regression map ``[N, 8, H, W]`` (depth offset, keypoint offset, 3
    dimension offsets, normalised (sin, cos)) read at the target keypoints: three corner sets, each with one
    predicted group (yaw, dimensions, location) and the others from the targets, against the target corners,
    L1 under ``reg_mask``, each summed and divided by ``weight * max_objs``. ``targets``: ``points [N, M, 2]``,
    ``K`` / ``trans [N, 3, 3]``, ``labels``, ``dims`` (l, h, w), ``locations``, ``rotys``, ``corners [N, M, 3, 8]``,
    ``reg_mask`` and ``flip_mask [N, M]``; ``refs`` the (l, h, w) of each label."""
    batch, channels, _, width = regression.shape
    points = targets["points"]
    count = points.shape[1]
    index = (points[..., 1] * width + points[..., 0]).long()
    flat = regression.permute(0, 2, 3, 1).reshape(batch, -1, channels)
    pois = flat.gather(1, index.unsqueeze(-1).expand(-1, -1, channels)).reshape(-1, channels)
    image = torch.arange(batch).repeat_interleave(count)
    depths = decode_depth(pois[:, 0])
    located = decode_location(points.reshape(-1, 2), pois[:, 1:3], depths, targets["K"][image], targets["trans"][image])
    dims = decode_dimension(targets["labels"], pois[:, 3:6], refs)
    located = located + torch.stack([torch.zeros_like(depths), dims[:, 1] / 2, torch.zeros_like(depths)], 1)
    true_dims, true_locations = targets["dims"].reshape(-1, 3), targets["locations"].reshape(-1, 3)
    true_rotys = targets["rotys"].reshape(-1)
    rotys, _ = decode_orientation(pois[:, 6:], true_locations, targets["flip_mask"])
    mask = targets["reg_mask"].reshape(-1, 1, 1).float()
    goal = targets["corners"].reshape(-1, 3, 8) * mask
    total = regression.new_zeros(())
    for boxes in (
        encode_box3d(rotys, true_dims, true_locations),
        encode_box3d(true_rotys, dims, true_locations),
        encode_box3d(true_rotys, true_dims, located),
    ):
        total = total + torch.nn.functional.l1_loss(boxes * mask, goal, reduction="sum") / (weight * max_objs)
    return total
