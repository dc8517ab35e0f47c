import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dla_dense.errors import DLADenseError
from dla_dense.inference import predict_seg


class PointwiseSeg(nn.Module):
    """1x1 conv to 4 classes: translation- and flip-equivariant; insists on sizes divisible by 32."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.dropout = nn.Dropout(0.5)
        self.inputs: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 32 == 0 and x.shape[-1] % 32 == 0, x.shape
        self.inputs.append(tuple(x.shape[-2:]))
        return self.conv(self.dropout(x))


class ShiftSeg(nn.Module):
    """Logits from a horizontally asymmetric 1x3 conv: not flip-equivariant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, (1, 3), padding=(0, 1))
        nn.init.normal_(self.conv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@pytest.fixture
def model() -> PointwiseSeg:
    return PointwiseSeg()


def test_single_scale_is_plain_softmax_and_sums_to_one(model):
    x = torch.randn(2, 3, 64, 96)
    probs = predict_seg(model, x)
    assert probs.shape == (2, 4, 64, 96) and probs.dtype == torch.float32
    torch.testing.assert_close(probs, model.eval()(x).softmax(1))
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 64, 96))


def test_whole_pads_to_multiple_of_32_and_crops_back(model):
    x = torch.randn(1, 3, 50, 70)
    probs = predict_seg(model, x)
    assert probs.shape == (1, 4, 50, 70)
    assert model.inputs == [(64, 96)]
    torch.testing.assert_close(probs, model.conv(x).softmax(1))


@pytest.mark.parametrize(
    ("size", "crop", "stride"),
    [((96, 160), 64, 32), ((100, 150), (64, 96), (40, 50)), ((40, 50), 64, 64)],
)
def test_slide_equals_whole_for_translation_equivariant_model(model, size, crop, stride):
    x = torch.randn(2, 3, *size)
    whole = predict_seg(model, x)
    slide = predict_seg(model, x, mode="slide", crop_size=crop, stride=stride)
    assert slide.shape == (2, 4, *size)
    torch.testing.assert_close(slide, whole)


def test_slide_window_grid_follows_mmseg(model):
    # 96x160 image, 64x64 crops, stride 32: rows ceil((96-64)/32)+1 = 2, cols ceil((160-64)/32)+1 = 4
    predict_seg(model, torch.randn(1, 3, 96, 160), mode="slide", crop_size=64, stride=32)
    assert model.inputs == [(64, 64)] * 8
    model.inputs.clear()
    # an image smaller than the crop is padded to the crop: one window
    predict_seg(model, torch.randn(1, 3, 40, 50), mode="slide", crop_size=(64, 96), stride=(32, 32))
    assert model.inputs == [(64, 96)]


def test_flip_with_flip_equivariant_model_equals_no_flip(model):
    x = torch.randn(1, 3, 32, 64)
    torch.testing.assert_close(predict_seg(model, x, flip=True), predict_seg(model, x))


def test_flip_averages_with_the_flipped_back_prediction():
    model = ShiftSeg()
    x = torch.randn(1, 3, 32, 64)
    with torch.no_grad():
        expected = (model(x).softmax(1) + model(x.flip(-1)).flip(-1).softmax(1)) / 2
    probs = predict_seg(model, x, flip=True)
    torch.testing.assert_close(probs, expected)
    assert not torch.allclose(probs, predict_seg(model, x))


def test_multi_scale_resizes_logits_back_before_softmax():
    model = ShiftSeg()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        small = F.interpolate(model(F.interpolate(x, (32, 48), mode="bilinear")), (64, 96), mode="bilinear")
        large = F.interpolate(model(F.interpolate(x, (96, 144), mode="bilinear")), (64, 96), mode="bilinear")
        expected = (small.softmax(1) + model(x).softmax(1) + large.softmax(1)) / 3
    probs = predict_seg(model, x, scales=(0.5, 1.0, 1.5))
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(probs.sum(1), torch.ones(1, 64, 96))


def test_training_flags_are_restored(model):
    model.train()
    model.dropout.eval()
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(predict_seg(model, x), predict_seg(model, x))
    assert model.training and model.conv.training and not model.dropout.training


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_the_model_device(model):
    model.cuda()
    x = torch.randn(1, 3, 40, 72)
    probs = predict_seg(model, x, mode="slide", crop_size=32, stride=16, scales=(0.75, 1.0), flip=True)
    assert probs.device.type == "cuda" and probs.shape == (1, 4, 40, 72)
    assert next(model.parameters()).device.type == "cuda"


def test_model_without_input_resolution_output_is_a_clear_error():
    model = nn.Conv2d(3, 2, 3, stride=2, padding=1)
    with pytest.raises(DLADenseError, match="at input resolution"):
        predict_seg(model, torch.randn(1, 3, 32, 32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "tiles"}, "unknown inference mode"),
        ({"mode": "slide"}, "needs crop_size"),
        ({"mode": "slide", "crop_size": 64}, "needs stride"),
        ({"mode": "slide", "crop_size": 64, "stride": 96}, "larger than crop_size"),
        ({"mode": "slide", "crop_size": (64, 0), "stride": 32}, "crop_size must be"),
        ({"scales": ()}, "scales"),
        ({"scales": (1.0, -0.5)}, "scales"),
        ({"size_divisor": 0}, "size_divisor"),
    ],
)
def test_bad_arguments_are_clear_errors(model, kwargs, match):
    with pytest.raises(DLADenseError, match=match):
        predict_seg(model, torch.randn(1, 3, 32, 32), **kwargs)


def test_images_must_be_a_batch(model):
    with pytest.raises(DLADenseError, match=r"\[N, 3, H, W\]"):
        predict_seg(model, torch.randn(3, 32, 32))
