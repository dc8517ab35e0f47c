"""Shareable models: save_pretrained writes config, safetensors weights and a model card; the folder loads back
with bitwise-equal weights, predicts the same without the training data, and Hub names fail clearly offline."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dla_dense import DLADenseError, Predictor, save_pretrained


@pytest.mark.parametrize("task", ["det", "pose"])
def test_saved_model_loads_back_bitwise_and_predicts_the_same_without_data(task, trained_tiny, tmp_path):
    config, work = trained_tiny(task)
    folder = save_pretrained(work, tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
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


def _plant(path: Path, marker: Path) -> None:
    """Write a Python config at ``path`` that creates ``marker`` when it runs."""
    path.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nmodel = dict(task='det')\n")


def test_a_tampered_folder_runs_no_code_and_a_python_only_folder_is_refused(trained_tiny, tmp_path):
    _, work = trained_tiny("det")
    folder = save_pretrained(work, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["task"] == "det" and config["name"]
    marker = tmp_path / "marker"
    _plant(folder / "config.py", marker)  # a stranger's addition beside the data config
    loaded = Predictor.from_pretrained(folder, device="cpu")
    assert loaded.cfg.model == Predictor.from_work_dir(work, device="cpu").cfg.model
    assert not marker.exists()
    (folder / "config.json").unlink()
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(DLADenseError, match=r"only as Python \(config.py\).*trust_remote_code=True"):
        Predictor.from_pretrained(folder)
    assert not marker.exists()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    (folder / "config.py").write_text((work / "config.py").read_text() + f"\nopen({str(marker)!r}, 'w')\n")
    Predictor.from_pretrained(folder, device="cpu", trust_remote_code=True)  # the explicit opt-in
    assert marker.exists()


def test_a_json_config_is_validated_like_a_python_one(trained_tiny, tmp_path):
    _, work = trained_tiny("det")
    folder = save_pretrained(work, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["model"]["head_conv"] = -3
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DLADenseError, match="model.head_conv=-3 is out of range"):
        Predictor.from_pretrained(folder)
    config["model"]["exec"] = "print(1)"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DLADenseError, match="unknown key 'model.exec'"):
        Predictor.from_pretrained(folder)


def _hub_snapshot(repo: str, files: dict[str, bytes]) -> Path:
    """A Hugging Face cache entry of ``repo`` (as hf_hub_download leaves it) holding ``files``."""
    from huggingface_hub import constants

    root = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    snapshot = root / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    return snapshot


def test_a_hub_model_goes_through_the_same_data_only_path(trained_tiny, tmp_path):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    _, work = trained_tiny("det")
    folder = save_pretrained(work, tmp_path / "model")
    marker = tmp_path / "marker"
    _plant(tmp_path / "planted.py", marker)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    _hub_snapshot("org/shapes", {**files, "config.py": (tmp_path / "planted.py").read_bytes()})
    loaded = Predictor.from_pretrained("hf-hub:org/shapes", device="cpu")
    assert loaded.cfg.model.task == "det" and not marker.exists()
    del files["config.json"]
    _hub_snapshot("org/code-only", {**files, "config.py": (tmp_path / "planted.py").read_bytes()})
    with pytest.raises(DLADenseError, match="Hub model 'org/code-only' has its config only as Python"):
        Predictor.from_pretrained("hf-hub:org/code-only")
    assert not marker.exists()
