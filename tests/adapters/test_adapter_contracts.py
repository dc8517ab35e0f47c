"""The adapters keep their host libraries' contracts: the error types smp, torchvision and mm* callers catch
(ValueError for bad arguments, RuntimeError for an input size the network cannot take, TypeError for a wrong
type), and smp's capability flags (TorchScript, torch.export, torch.compile) say what is true."""

from __future__ import annotations

import warnings

import pytest
import segmentation_models_pytorch as smp
import torch
from torchvision.models.detection import FasterRCNN

import dla_dense.adapters.smp  # noqa: F401  (registers the encoders)
from dla_dense import DLADenseError, create_backbone
from dla_dense.adapters.mmlab import MMDLABackbone
from dla_dense.adapters.torchvision import dla_fpn_backbone

ENCODER = "dla_dense-dla46_c"


def _same(a, b) -> None:
    a = list(a.values()) if isinstance(a, dict) else list(a) if isinstance(a, (list, tuple)) else [a]
    b = list(b.values()) if isinstance(b, dict) else list(b) if isinstance(b, (list, tuple)) else [b]
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y)


def _script(module: torch.nn.Module) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
        return torch.jit.script(module)


@pytest.mark.parametrize("depth", [0, 6, "3", True])
def test_smp_invalid_depth_is_a_value_error(depth) -> None:
    with pytest.raises(ValueError, match="depth should be in range") as info:
        smp.encoders.get_encoder(ENCODER, encoder_weights=None, depth=depth)
    assert isinstance(info.value, DLADenseError)


def test_smp_invalid_output_stride_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="output_stride=4"):
        smp.encoders.get_encoder(ENCODER, encoder_weights=None, output_stride=4)


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_smp_depths_give_their_strides_and_channels(depth) -> None:
    encoder = smp.encoders.get_encoder(ENCODER, encoder_weights=None, depth=depth).eval()
    with torch.no_grad():
        features = encoder(torch.rand(1, 3, 64, 64))
    assert [64 // f.shape[-1] for f in features] == [2**i for i in range(depth + 1)]
    assert [f.shape[1] for f in features] == list(encoder.out_channels) and encoder.output_stride == 2**depth


@pytest.mark.parametrize("in_channels", [1, 4])
def test_smp_other_input_channels(in_channels) -> None:
    encoder = smp.encoders.get_encoder(ENCODER, encoder_weights=None, in_channels=in_channels).eval()
    with torch.no_grad():
        assert encoder(torch.rand(1, in_channels, 64, 64))[-1].shape == (1, encoder.out_channels[-1], 2, 2)


def test_an_input_size_the_network_cannot_take_is_a_runtime_error() -> None:
    x = torch.rand(1, 3, 65, 64)
    for module in (dla_fpn_backbone("dla46_c"), MMDLABackbone("dla46_c"), create_backbone("dla46_c")):
        with pytest.raises(RuntimeError, match="not a multiple of 32") as info:
            module(x)
        assert isinstance(info.value, DLADenseError)
    with pytest.raises(RuntimeError, match="Wrong input shape"):  # smp's own check, for decoders that need it
        smp.FPN(ENCODER, encoder_weights=None)(x)


def test_the_smp_encoder_takes_any_size_as_unet_expects() -> None:
    encoder = smp.encoders.get_encoder(ENCODER, encoder_weights=None).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        padded = encoder(x)
        odd = encoder(x[:, :, :61, :75])
        assert [tuple(f.shape[-2:]) for f in odd] == [(61, 75), (31, 38), (16, 19), (8, 10), (4, 5), (2, 3)]
        unet = smp.Unet(ENCODER, encoder_weights=None, classes=2).eval()
        assert unet(torch.rand(1, 3, 67, 71)).shape[-2:] == (67, 71)
    # the pad is zeros at the bottom and right: the same as padding by hand and cropping
    with torch.no_grad():
        by_hand = encoder(torch.nn.functional.pad(x[:, :, :61, :75], (0, 21, 0, 3)))
    for a, b in zip(odd[1:], by_hand[1:], strict=True):
        torch.testing.assert_close(a, b[:, :, : a.shape[-2], : a.shape[-1]])
    assert padded[-1].shape[-2:] == (2, 3)


@pytest.mark.slow  # scripting, export and compile of several smp models
def test_smp_capability_flags_are_true() -> None:
    x = torch.rand(1, 3, 64, 64)
    encoder = smp.encoders.get_encoder(ENCODER, encoder_weights=None).eval()
    assert encoder._is_torch_scriptable and encoder._is_torch_exportable and encoder._is_torch_compilable
    with torch.no_grad():
        expected = encoder(x)
        _same(_script(encoder)(x), expected)
        _same(torch.export.export(encoder, (x,), strict=True).module()(x), expected)
        torch.compiler.reset()
        _same(torch.compile(encoder, fullgraph=True, dynamic=True, backend="eager")(x), expected)


def test_an_smp_model_on_the_encoder_scripts() -> None:
    model = smp.Unet(ENCODER, encoder_weights=None, classes=2).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        _same(_script(model)(x), model(x))


@pytest.mark.parametrize(
    "options, error",
    [
        (dict(returned_levels=(0, 2)), ValueError),
        (dict(returned_levels=(3, 2)), ValueError),
        (dict(out_channels=0), ValueError),
        (dict(trainable_levels=6), ValueError),
        (dict(extra_blocks="p6p7"), TypeError),
    ],
)
def test_torchvision_adapter_raises_what_torchvision_raises(options, error) -> None:
    with pytest.raises(error) as info:
        dla_fpn_backbone("dla46_c", **options)
    assert isinstance(info.value, DLADenseError)


@pytest.mark.slow  # exports through the engines
def test_torchvision_backbone_and_detector_script_and_export() -> None:
    backbone = dla_fpn_backbone("dla46_c").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = backbone(x)
        assert list(expected) == ["0", "1", "2", "3", "pool"]
        _same(_script(backbone)(x), expected)
        _same(torch.export.export(backbone, (x,), strict=True).module()(x), expected)
    _script(FasterRCNN(dla_fpn_backbone("dla46_c"), num_classes=3))  # torchvision's detectors script


@pytest.mark.parametrize(
    "options", [dict(arch="dla35"), dict(out_indices=(5, 2)), dict(frozen_stages=7)], ids=["arch", "indices", "frozen"]
)
def test_mm_adapter_bad_arguments_are_value_errors(options) -> None:
    with pytest.raises(ValueError) as info:
        MMDLABackbone(**options)
    assert isinstance(info.value, DLADenseError)


@pytest.mark.slow  # exports through the engines
def test_mm_backbone_exports_but_does_not_script() -> None:
    backbone = MMDLABackbone("dla46_c").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        _same(torch.export.export(backbone, (x,), strict=True).module()(x), backbone(x))
    with pytest.raises(RuntimeError):  # mmengine's BaseModule is not TorchScript; mm* do not script models
        _script(backbone)
