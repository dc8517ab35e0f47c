"""Shareable models: save_pretrained writes config, safetensors weights and a model card; the folder loads back
with bitwise-equal weights, predicts the same without the training data, and Hub names fail clearly offline."""

import shutil

import numpy as np
import pytest
from PIL import Image

from dla_dense import DLADenseError, Predictor, save_pretrained


@pytest.mark.parametrize("task", ["det", "pose"])
def test_saved_model_loads_back_bitwise_and_predicts_the_same_without_data(task, trained_tiny, tmp_path):
    config, work = trained_tiny(task)
    folder = save_pretrained(work, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.py", "model.safetensors"]
    card = (folder / "README.md").read_text()
    assert "python tools/test.py" in card and ("| AP50 |" in card) and "Predictor.from_pretrained" in card
    original = Predictor.from_work_dir(work, device="cpu")
    image = np.array(Image.open(sorted((config.parent / "data" / "images" / "val").glob("*.png"))[0]).convert("RGB"))
    expected = original(image)
    data = config.parent / "data"
    moved = shutil.move(data, tmp_path / "elsewhere")  # the saved model needs no data
    try:
        loaded = Predictor.from_pretrained(folder, device="cpu")
        got = loaded(image)
    finally:
        shutil.move(moved, data)
    for (name, a), (other, b) in zip(
        original.model.state_dict().items(), loaded.model.state_dict().items(), strict=True
    ):
        assert name == other and a.dtype == b.dtype and bool((a == b).all()), name
    np.testing.assert_array_equal(got.boxes, expected.boxes)
    np.testing.assert_array_equal(got.scores, expected.scores)
    assert loaded.class_names == original.class_names
    assert got.to_coco(1) == expected.to_coco(1)


def test_a_predictor_can_be_saved_too(trained_tiny, tmp_path):
    _, work = trained_tiny("cls")
    predictor = Predictor.from_work_dir(work, device="cpu")
    folder = save_pretrained(predictor, tmp_path / "cls")
    assert "Not measured" in (folder / "README.md").read_text()
    loaded = Predictor.from_pretrained(folder, device="cpu")
    image = np.zeros((32, 32, 3), np.uint8)
    np.testing.assert_array_equal(loaded(image).probabilities, predictor(image).probabilities)
    with pytest.raises(DLADenseError, match="without fast=True"):
        save_pretrained(Predictor.from_work_dir(work, device="cpu", fast=True), tmp_path / "fast")


def test_hub_names_fail_in_one_line_when_offline():
    with pytest.raises(DLADenseError, match="'org/model' is not in the Hugging Face cache and HF_HUB_OFFLINE is set"):
        Predictor.from_pretrained("hf-hub:org/model")


def test_a_folder_that_is_not_a_saved_model_is_refused(tmp_path):
    with pytest.raises(DLADenseError, match="model.safetensors missing"):
        Predictor.from_pretrained(tmp_path)
