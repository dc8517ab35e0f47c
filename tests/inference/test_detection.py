"""Detection inference on images whose heatmap has fewer pixels than max_dets (thumbnails)."""

import numpy as np
import pytest
import torch

from dla_dense.data.det_transforms import CenterNetEvalTransform
from dla_dense.heads import BoxHead, CenterNetHeads
from dla_dense.inference.detection import detect
from dla_dense.models import CenterNet


@pytest.mark.parametrize("scales, flip", [((1.0,), False), ((1.0,), True), ((0.5, 1.0), True)])
def test_small_images_decode_at_most_the_heatmap_pixels(scales, flip):
    torch.manual_seed(0)
    model = CenterNet("dla46_c", 3, node="conv", head_conv=16).eval()
    image = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)  # padded to 32x32: 8x8 heatmap
    heads = CenterNetHeads([BoxHead(3)])
    found = detect(model, image, heads=heads, transform=CenterNetEvalTransform(), scales=scales, flip=flip)
    assert set(found) == {"boxes", "scores", "labels"} and 0 < len(found["scores"]) <= 64 * len(scales)
    assert found["boxes"].shape == (len(found["scores"]), 4) and found["labels"].dtype == torch.int64
    assert torch.isfinite(found["boxes"]).all() and torch.isfinite(found["scores"]).all()
