import pickle
import time
from pathlib import Path

import pytest
import timm
import torch
from huggingface_hub import constants
from safetensors.torch import save_file

from dla_dense import DLADenseError, create_backbone, create_classifier
from dla_dense.weights import read_state_dict


@pytest.fixture(scope="module")
def dla34_state() -> dict[str, torch.Tensor]:
    """A dla34 ImageNet state dict in timm's layout, with non-default values in every tensor."""
    torch.manual_seed(1)
    model = timm.create_model("dla34")
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) * 0.1 + 0.5 if t.dim() == 1 else torch.randn_like(t) * 0.01)
    return {k: v.clone() for k, v in model.state_dict().items()}


def _assert_loaded(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    own = model.state_dict()
    checked = [k for k in own if k in state and not k.endswith("num_batches_tracked")]
    assert len(checked) > 100
    for k in checked:
        torch.testing.assert_close(own[k], state[k], rtol=0, atol=0, msg=k)


def _ucbdrive_layout(state: dict[str, torch.Tensor]) -> dict:
    """ucbdrive/dla training checkpoint: DataParallel prefix, no BN counters, dead non-leaf projections."""
    sd = {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    for level, cin, cout in (("level3", 64, 128), ("level4", 128, 256)):
        sd[f"module.{level}.project.0.weight"] = torch.randn(cout, cin, 1, 1)
        for buf in ("weight", "bias", "running_mean", "running_var"):
            sd[f"module.{level}.project.1.{buf}"] = torch.rand(cout)
    return {"epoch": 120, "arch": "dla34", "state_dict": sd, "best_prec1": 74.6}


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_timm_layout_file_loads_into_backbone_and_classifier(tmp_path, dla34_state, fmt):
    path = tmp_path / f"dla34.{fmt}"
    if fmt == "pth":
        torch.save(dla34_state, path)
    else:
        save_file(dla34_state, str(path))
    _assert_loaded(create_backbone("dla34", pretrained=path, out_indices=(2, 3, 4, 5)), dla34_state)
    classifier = create_classifier("dla34", pretrained=str(path))
    _assert_loaded(classifier, dla34_state)
    torch.testing.assert_close(classifier.fc.weight, dla34_state["fc.weight"])


def test_ucbdrive_layout_with_unused_projections_loads(tmp_path, dla34_state):
    path = tmp_path / "dla34-ba72cf86.pth"
    torch.save(_ucbdrive_layout(dla34_state), path)
    _assert_loaded(create_classifier("dla34", pretrained=path), dla34_state)
    _assert_loaded(create_backbone("dla34", pretrained=path), dla34_state)


def test_centernet_layout_loads_the_base(tmp_path, dla34_state):
    sd = {f"module.base.{k}": v for k, v in dla34_state.items()}
    sd["module.dla_up.ida_0.proj_1.conv.weight"] = torch.randn(256, 512, 3, 3)
    sd["module.hm.2.bias"] = torch.full((80,), -2.19)
    path = tmp_path / "ctdet_coco_dla_2x.pth"
    torch.save({"epoch": 230, "state_dict": sd}, path)
    _assert_loaded(create_backbone("dla34", pretrained=path), dla34_state)


def test_other_class_count_keeps_backbone_and_reinitialises_fc(tmp_path, dla34_state):
    path = tmp_path / "dla34.pth"
    torch.save(dla34_state, path)
    model = create_classifier("dla34", pretrained=path, num_classes=10)
    assert model.fc.weight.shape == (10, 512, 1, 1)
    _assert_loaded(model, {k: v for k, v in dla34_state.items() if not k.startswith("fc.")})


def test_weights_of_another_model_list_the_mismatch(tmp_path):
    path = tmp_path / "dla60.pth"
    torch.save(timm.create_model("dla60").state_dict(), path)
    with pytest.raises(DLADenseError) as err:
        create_backbone("dla34", pretrained=path)
    message = str(err.value)
    assert "does not fit dla34" in message and "shape mismatches" in message
    assert "file [" in message and "vs model [" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not a checkpoint at all", "not a PyTorch checkpoint"),
        (b"PK\x03\x04trunc", "not a PyTorch checkpoint"),
        (None, "not found"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, content, match):
    path = tmp_path / "weights.pth"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DLADenseError, match=match):
        create_backbone("dla34", pretrained=path)


def test_corrupt_safetensors_is_a_clear_error(tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(DLADenseError, match="not a readable safetensors file"):
        read_state_dict(path)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": _Payload(marker)}}, path)
    with pytest.raises(DLADenseError, match="refused by the safe loader.*holds a '.*' object"):
        read_state_dict(path)
    with open(path, "wb") as f:
        pickle.dump({"x": _Payload(marker)}, f, protocol=4)
    with pytest.raises(DLADenseError, match="refused by the safe loader"):
        read_state_dict(path)
    assert not marker.exists()


def test_hub_offline_without_cache_fails_fast_and_says_how(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    start = time.monotonic()
    with pytest.raises(DLADenseError, match=r"not in the Hugging Face cache.*--weights PATH"):
        create_backbone("dla60", pretrained=True)
    assert time.monotonic() - start < 5


def test_unreachable_hub_fails_fast_and_says_how(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(DLADenseError, match=r"hub \(http://127.0.0.1:9\) is unreachable.*--weights PATH"):
        create_classifier("dla34", pretrained=True)
    assert time.monotonic() - start < 5


def test_hub_weights_are_taken_from_the_cache(tmp_path, monkeypatch, dla34_state):
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--timm--dla34.in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    (repo / "snapshots" / revision).mkdir(parents=True)
    save_file(dla34_state, str(repo / "snapshots" / revision / "model.safetensors"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    _assert_loaded(create_classifier("dla34", pretrained=True), dla34_state)


def test_invalid_pretrained_value():
    with pytest.raises(DLADenseError, match="pretrained must be False, True or a path"):
        create_backbone("dla34", pretrained=3)
