import logging
import pickle
import time
from pathlib import Path

import pytest
import timm
import torch
from huggingface_hub import constants
from safetensors.torch import save_file
from support import assert_state_equal, random_state

from dla_dense import DLADenseError, create_backbone, create_classifier, load_checkpoint
from dla_dense.models import DLASeg
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


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the hand-made pickle's protocol, as intended
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


def test_own_checkpoints_load_and_return_their_other_entries(tmp_path):
    source = DLASeg("dla34", 4)
    state = random_state(source)
    path = tmp_path / "iter_000100.pth"
    meta = {"config": "configs/demo_dla34.py", "classes": ["a", "b", "c", "d"]}
    torch.save({"model": state, "optimizer": {"state": {}}, "iteration": 100, "meta": meta}, path)
    model = DLASeg("dla34", 4)
    assert load_checkpoint(model, path) == {"optimizer": {"state": {}}, "iteration": 100, "meta": meta}
    assert_state_equal(model, state)

    for bare in (tmp_path / "bare.pth", tmp_path / "bare.safetensors"):
        if bare.suffix == ".pth":
            torch.save(source.state_dict(), bare)
        else:
            save_file(source.state_dict(), str(bare))
        model = DLASeg("dla34", 4)
        assert load_checkpoint(model, bare) == {}
        assert_state_equal(model, source.state_dict())


def test_imagenet_backbone_weights_load_into_base(tmp_path):
    imagenet = timm.create_model("dla34")
    path = tmp_path / "dla34-ba72cf86.pth"
    torch.save(imagenet.state_dict(), path)
    model = DLASeg("dla34", 19)
    decoder = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("base.")}
    assert load_checkpoint(model, path) == {}
    assert_state_equal(model.base, {k: v for k, v in imagenet.state_dict().items() if not k.startswith("fc.")})
    assert_state_equal(model, decoder)


def test_other_class_count_lists_the_mismatch_and_loads_the_rest_non_strict(tmp_path, caplog):
    source = DLASeg("dla34", 21)
    path = tmp_path / "voc.pth"
    torch.save(source.state_dict(), path)
    model = DLASeg("dla34", 19)
    with pytest.raises(DLADenseError) as err:
        load_checkpoint(model, path)
    message = str(err.value)
    assert f"checkpoint '{path}' does not fit DLASeg(dla34, 19 classes, down_ratio=2): 3 shape mismatches" in message
    assert "fc.0.weight: file [21, 32, 1, 1] vs model [19, 32, 1, 1]" in message
    assert "strict=False" in message and "\n" not in message

    fc_before = model.fc[0].weight.clone()
    with caplog.at_level(logging.WARNING, logger="dla_dense.weights"):
        assert load_checkpoint(model, path, strict=False) == {}
    assert "3 shape mismatches (fc.0.bias: file [21] vs model [19]" in caplog.text
    torch.testing.assert_close(model.fc[0].weight, fc_before, rtol=0, atol=0)
    assert_state_equal(model, {k: v for k, v in source.state_dict().items() if not k.startswith(("fc.", "up."))})


def test_other_backbone_lists_the_mismatch(tmp_path):
    path = tmp_path / "dla46_c.pth"
    torch.save(DLASeg("dla46_c", 19).state_dict(), path)
    with pytest.raises(DLADenseError, match=r"does not fit DLASeg\(dla34.*missing \(.*unexpected \(.*shape mismatch"):
        load_checkpoint(DLASeg("dla34", 19), path)


def test_files_that_are_not_checkpoints(tmp_path):
    model = DLASeg("dla34", 19)
    junk = tmp_path / "notes.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(DLADenseError, match="not a PyTorch checkpoint"):
        load_checkpoint(model, junk)
    no_state = tmp_path / "config.pth"
    torch.save({"lr": 0.01}, no_state)
    with pytest.raises(DLADenseError, match="holds no state dict"):
        load_checkpoint(model, no_state)
    unrelated = tmp_path / "unrelated.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, unrelated)
    with pytest.raises(DLADenseError, match="does not fit"):
        load_checkpoint(model, unrelated, strict=False)
