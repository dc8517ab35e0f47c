"""segmentation_models_pytorch builds DLA models from timm's ``tu-dla*`` encoders (no adapter needed)."""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import torch


@pytest.mark.parametrize("arch", [smp.Unet, smp.FPN])
def test_tu_dla34_forward_shape(arch: type) -> None:
    model = arch("tu-dla34", encoder_weights=None, classes=3).eval()
    assert list(model.encoder.out_channels) == [3, 32, 64, 128, 256, 512]
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert torch.isfinite(out).all()


def test_deeplabv3_needs_dilation_that_timm_dla_lacks() -> None:
    # timm's DLA asserts output_stride == 32, so smp's dilated architectures cannot use it.
    with pytest.raises(AssertionError):
        smp.DeepLabV3("tu-dla34", encoder_weights=None)
