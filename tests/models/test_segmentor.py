from pathlib import Path

import pytest
import torch
from support import LARGE_BACKBONES, assert_state_equal, deterministic_state, tiered

from dla_dense import DLA_MODELS, DLADenseError, load_checkpoint
from dla_dense.models import DLASeg
from dla_dense.models.dla_up import bilinear_upsampler

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ucb_dlaseg_dla34_golden.pt"


def _ucbdrive_checkpoint(state: dict[str, torch.Tensor]) -> dict:
    """dla34 ``state`` as ucbdrive/dla segment.py saves a DLASeg: DataParallel prefix, ImageNet ``base.fc``,
    the unused ``project`` of the non-leaf trees level3/level4, no ``num_batches_tracked``."""
    sd = {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    sd["module.base.fc.weight"] = torch.randn(1000, 512, 1, 1)
    sd["module.base.fc.bias"] = torch.randn(1000)
    for level, cin, cout in (("level3", 64, 128), ("level4", 128, 256)):
        sd[f"module.base.{level}.project.0.weight"] = torch.randn(cout, cin, 1, 1)
        for buf in ("weight", "bias", "running_mean", "running_var"):
            sd[f"module.base.{level}.project.1.{buf}"] = torch.rand(cout)
    return {"epoch": 500, "arch": "dla34up", "state_dict": sd, "best_prec1": 95.1}


@pytest.mark.parametrize("down_ratio", [2, 4, 8])
def test_logits_at_input_resolution(down_ratio):
    model = DLASeg("dla34", 5, down_ratio=down_ratio)
    assert (model.num_classes, model.down_ratio) == (5, down_ratio)
    assert model.base.feature_info.reduction()[0] == down_ratio
    assert model.up.stride == (down_ratio, down_ratio) and not model.up.weight.requires_grad
    torch.testing.assert_close(model.up.weight, bilinear_upsampler(5, down_ratio).weight, rtol=0, atol=0)
    x = torch.randn(2, 3, 64, 96)
    assert model(x).shape == (2, 5, 64, 96)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 5, 64, 96)


def test_module_layout_follows_the_reference():
    model = DLASeg()
    assert (model.backbone_name, model.num_classes, model.down_ratio, model.first_level) == ("dla34", 19, 2, 1)
    assert isinstance(model.fc, torch.nn.Sequential) and len(model.fc) == 1
    conv = model.fc[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.bias is not None) == (32, 19, (1, 1), True)
    head = sorted(k for k in model.state_dict() if not k.startswith(("base.", "dla_up.")))
    assert head == ["fc.0.bias", "fc.0.weight", "up.weight"]
    assert [n for n, _ in model.dla_up.named_children()] == ["ida_0", "ida_1", "ida_2", "ida_3"]
    assert "dla_up.ida_3.proj_1.0.weight" in model.state_dict()
    assert model.extra_repr() == "dla34, 19 classes, down_ratio=2"


@pytest.mark.parametrize("name", tiered(DLA_MODELS, LARGE_BACKBONES))
def test_every_backbone_trains(name):
    model = DLASeg(name, 3)
    out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    out.square().mean().backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert "up.weight" not in trainable and model.up.weight.grad is None
    no_grad = [n for n, p in trainable.items() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not no_grad


def test_frozen_stages_and_norm_eval_reach_the_backbone():
    model = DLASeg("dla34", 3, frozen_stages=2, norm_eval=True).train()
    assert not any(p.requires_grad for p in model.base.level2.parameters())
    assert all(p.requires_grad for p in model.base.level3.parameters())
    assert not model.base.level4.tree1.tree1.bn1.training
    assert model.dla_up.ida_0.node_1[1].training


def test_ucbdrive_dlaseg_checkpoint_loads(tmp_path):
    source = DLASeg("dla34", 19)
    state = deterministic_state(source)
    path = tmp_path / "checkpoint_latest.pth.tar"
    torch.save(_ucbdrive_checkpoint(state), path)
    model = DLASeg("dla34", 19)
    extras = load_checkpoint(model, path)
    assert extras == {"epoch": 500, "arch": "dla34up", "best_prec1": 95.1}
    assert_state_equal(model, state)


def test_output_matches_the_ucbdrive_reference(tmp_path):
    """Golden output of the reference decoder.

    ``tests/data/ucb_dlaseg_dla34_golden.pt`` was made with ucbdrive/dla at commit d477ceb (its dla.py,
    dla_up.py and dataset.py on the import path, unmodified): ``ref = dla_up.DLASeg('dla34', 19,
    down_ratio=2).eval()``, every entry of ``ref.state_dict()`` set to ``deterministic_value(key, shape)``
    (``num_batches_tracked`` 0), ``input = torch.randn(1, 3, 64, 32, generator=torch.Generator().manual_seed(0))``
    and ``log_probs = ref(input)[0]`` (the reference returns ``(log_softmax(up(fc(x))), fc(x))``).
    Here the same values go through a file in the reference checkpoint layout and ``load_checkpoint``.
    """
    golden = torch.load(GOLDEN, weights_only=True)
    model = DLASeg("dla34", 19, down_ratio=2)
    path = tmp_path / "dla34up.pth"
    torch.save(_ucbdrive_checkpoint(deterministic_state(model)), path)
    load_checkpoint(model, path)
    with torch.no_grad():
        log_probs = torch.log_softmax(model.eval()(golden["input"]), dim=1)
    assert log_probs.shape == golden["log_probs"].shape == (1, 19, 64, 32)
    torch.testing.assert_close(log_probs, golden["log_probs"], rtol=0, atol=1e-4)


def test_input_size_not_multiple_of_32():
    with pytest.raises(DLADenseError, match="input size 64x48 is not a multiple of 32"):
        DLASeg("dla34", 3)(torch.randn(1, 3, 64, 48))


@pytest.mark.parametrize("down_ratio", [1, 3, 16])
def test_unsupported_down_ratio(down_ratio):
    with pytest.raises(DLADenseError, match=f"down_ratio={down_ratio} is not supported; use one of 2, 4, 8"):
        DLASeg("dla34", 3, down_ratio=down_ratio)
