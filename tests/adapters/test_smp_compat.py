"""segmentation_models_pytorch on DLA: timm's ``tu-dla*`` encoders for Unet/FPN, and the ``dla_dense-*`` encoders
this project registers for every decoder, the dilated ones (DeepLabV3, DeepLabV3+, PAN) included."""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import timm
import torch

import dla_dense.adapters.smp as dla_smp
from dla_dense import create_backbone


@pytest.mark.parametrize("arch", [smp.Unet, smp.FPN])
def test_tu_dla34_forward_shape(arch: type) -> None:
    model = arch("tu-dla34", encoder_weights=None, classes=3).eval()
    assert list(model.encoder.out_channels) == [3, 32, 64, 128, 256, 512]
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert torch.isfinite(out).all()


def test_every_dla_variant_is_registered() -> None:
    assert {f"dla_dense-{n}" for n in dla_smp.DLA_MODELS} <= set(smp.encoders.get_encoder_names())


@pytest.mark.parametrize("output_stride, strides", [(16, [1, 2, 4, 8, 16, 16]), (8, [1, 2, 4, 8, 8, 8])])
def test_dilated_encoder_keeps_its_stride_and_weights(output_stride, strides) -> None:
    encoder = smp.encoders.get_encoder("dla_dense-dla34", output_stride=output_stride).eval()
    plain = smp.encoders.get_encoder("dla_dense-dla34").eval()
    plain.load_state_dict(encoder.backbone.state_dict())
    with torch.no_grad():
        features = encoder(torch.rand(1, 3, 64, 64))
    assert [64 // f.shape[-1] for f in features] == strides
    assert [f.shape[1] for f in features] == list(encoder.out_channels) == [3, 32, 64, 128, 256, 512]
    assert encoder.backbone.feature_info.reduction() == strides[1:]
    convs = [m for m in encoder.backbone["level5"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(m.stride == (1, 1) for m in convs)
    assert {m.dilation[0] for m in convs if m.kernel_size == (3, 3)} == {32 // output_stride}


def test_deeplabv3plus_on_dla34_at_output_stride_8_trains_a_step() -> None:
    model = smp.DeepLabV3Plus("dla_dense-dla34", encoder_weights=None, classes=3, encoder_output_stride=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.rand(2, 3, 64, 64), torch.randint(0, 3, (2, 64, 64))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss) and model.encoder.output_stride == 8


@pytest.mark.parametrize("arch, size", [(smp.DeepLabV3, 64), (smp.PAN, 128)])  # PAN pools its stride-16 map 3x
def test_other_dilated_decoders_build(arch, size) -> None:
    model = arch("dla_dense-dla46_c", encoder_weights=None, classes=2).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, size, size)).shape == (1, 2, size, size)


def test_imagenet_weights_in_timm_layout_load_into_the_encoder() -> None:
    encoder = smp.encoders.get_encoder("dla_dense-dla46_c")
    timm_model = timm.create_model("dla46_c")
    encoder.load_state_dict(timm_model.state_dict())
    for name, tensor in encoder.backbone.state_dict().items():
        torch.testing.assert_close(tensor, timm_model.state_dict()[name])
    assert encoder_settings_name_the_timm_repo()


def encoder_settings_name_the_timm_repo() -> bool:
    settings = smp.encoders.encoders["dla_dense-dla34"]["pretrained_settings"]["imagenet"]
    return settings["repo_id"] == timm.models.get_pretrained_cfg("dla34").hf_hub_id


def test_create_backbone_output_stride_16() -> None:
    backbone = create_backbone("dla34", output_stride=16).eval()
    with torch.no_grad():
        shapes = [f.shape[-1] for f in backbone(torch.rand(1, 3, 64, 64))]
    assert shapes == [32, 16, 8, 4, 4]
