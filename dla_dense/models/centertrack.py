"""CenterTrack (Zhou et al., arXiv 2004.01177): the CenterNet ``DLASeg`` with the previous frame as input.

Two branches in the backbone, ``base.pre_img_layer`` (previous image, 3 channels) and ``base.pre_hm_layer``
(a heatmap of the previous frame's objects at input resolution, 1 channel), each a 7x7 conv (16 channels for
DLA-34) + BatchNorm + ReLU, are added to the stem's output before ``level0``, as CenterTrack's ``dla.py``. Module
names follow CenterTrack, so its checkpoints (``mot17_half.pth``, ``coco_tracking.pth``) load 1:1.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .centernet import CenterNet

#: The inputs of a CenterTrack model, in ``forward`` order: the frame, the previous frame, the previous heatmap.
TRACK_INPUTS: Mapping[str, int] = {"image": 3, "pre_image": 3, "pre_hm": 1}
#: Backbone branch of each extra input (CenterTrack's module names).
_BRANCHES = {"pre_image": "pre_img_layer", "pre_hm": "pre_hm_layer"}


class CenterTrack(CenterNet):
    """``model(image, pre_image, pre_hm) -> {'hm', 'reg', 'wh', 'tracking'[, 'ltrb_amodal']}`` at stride 4.

    ``image`` and ``pre_image`` are ``[N, 3, H, W]`` normalised alike, ``pre_hm`` ``[N, 1, H, W]`` in ``[0, 1]``
    (input resolution; all zeros on a video's first frame, which still passes through its branch as in the
    reference). ``pre_hm=False`` builds the network without the heatmap input (CenterTrack without
    ``--pre_hm``). Other arguments as :class:`CenterNet`; ``heads`` must include ``tracking``.
    """

    def __init__(self, *args, pre_hm: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inputs = {name: c for name, c in TRACK_INPUTS.items() if pre_hm or name != "pre_hm"}
        for name, channels in self.inputs.items():
            if name in _BRANCHES:
                self.base.add_stem_input(_BRANCHES[name], channels)

    def forward(self, image: torch.Tensor, pre_image: torch.Tensor, pre_hm: torch.Tensor | None = None):
        """``image``, ``pre_image`` ``[N, 3, H, W]``, ``pre_hm`` ``[N, 1, H, W]`` (H, W multiples of 32) ->
        ``{head: [N, channels, H/4, W/4]}``."""
        extra = [pre_image] if pre_hm is None else [pre_image, pre_hm]
        features = self.ida_up(self.dla_up(self.base.forward_with(image, extra))[:-1])[-1]
        return {name: getattr(self, name)(features) for name in self.heads}
