import pytest
import torch
from PIL import Image
from timm.data import ImageNetInfo, create_transform, resolve_data_config

from dla_dense import DLA_MODELS, DLADenseError, classify, create_classifier, imagenet_labels
from dla_dense.data import load_image, sample_image_path


def _calmed(model: torch.nn.Module) -> torch.nn.Module:
    """Scale the random classifier so probabilities are spread rather than one-hot."""
    with torch.no_grad():
        model.fc.weight.mul_(1e-3)
    return model.eval()


def test_imagenet_labels_are_timm_short_names():
    labels = imagenet_labels()
    info = ImageNetInfo()
    assert len(labels) == 1000
    assert labels[258] == "Samoyed"
    assert labels[0] == info.index_to_description(0).split(",")[0]


@pytest.mark.parametrize("name", DLA_MODELS)
def test_classifier_outputs_1000_probabilities(name):
    model = create_classifier(name).eval()
    with torch.no_grad():
        probs = model(torch.randn(2, 3, 64, 64)).softmax(-1)
    assert probs.shape == (2, 1000)
    assert torch.isfinite(probs).all()
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))


def test_classify_follows_timm_preprocessing_and_sorts():
    model = _calmed(create_classifier("dla34"))
    image = load_image(sample_image_path())
    top = classify(model, image, topk=5)
    transform = create_transform(**resolve_data_config({}, model=model))
    x = transform(image).unsqueeze(0)
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        probs = model(x).softmax(-1)[0]
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    values, indices = probs.topk(5)
    assert [label for label, _ in top] == [imagenet_labels()[i] for i in indices]
    assert [p for _, p in top] == pytest.approx(values.tolist(), abs=1e-6)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert all(0.0 <= p <= 1.0 for _, p in top)


def test_classify_accepts_paths_and_converts_modes(tmp_path):
    model = _calmed(create_classifier("dla46_c"))
    gray = tmp_path / "gray16.png"
    Image.fromarray((torch.rand(40, 50) * 65535).to(torch.int32).numpy().astype("uint16")).save(gray)
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (50, 40), (10, 20, 30, 128)).save(rgba)
    for path in (gray, rgba):
        assert len(classify(model, path, topk=3)) == 3


def test_classify_with_own_labels():
    model = _calmed(create_classifier("dla46_c", num_classes=3))
    top = classify(model, Image.new("RGB", (64, 64)), topk=10, labels=["road", "car", "sky"])
    assert sorted(label for label, _ in top) == ["car", "road", "sky"]
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("content, match", [(None, "image not found"), (b"GIF89a broken", "cannot read image")])
def test_bad_image_files(tmp_path, content, match):
    path = tmp_path / "photo.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DLADenseError, match=match):
        classify(create_classifier("dla46_c"), path)
