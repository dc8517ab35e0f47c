"""BatchNorm folding, channels-last, bf16 autocast and the tools' --fast/--bf16 flags."""

import copy
from pathlib import Path

import pytest
import torch
from support import write_tiny_config
from torch import nn

from dla_dense.benchmark.variants import randomize_bn
from dla_dense.cli import infer
from dla_dense.cli import test as test_cli
from dla_dense.errors import DLADenseError
from dla_dense.inference import bf16_autocast, prepare_for_inference
from dla_dense.models import CenterNet, DLASeg
from dla_dense.models.fusion import find_conv_bn_pairs, fuse_conv_bn

MODELS = {
    "seg": lambda: DLASeg("dla34", 5),
    "det-conv": lambda: CenterNet("dla34", 3, node="conv", head_conv=32),
    "det-dcn": lambda: CenterNet("dla34", 3, node="dcn", head_conv=32),
}


def _num_bn(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _outputs(out) -> list[torch.Tensor]:
    return list(out.values()) if isinstance(out, dict) else [out]


@pytest.fixture(params=list(MODELS))
def model(request) -> nn.Module:
    model = MODELS[request.param]()
    randomize_bn(model, seed=1)
    if isinstance(model, CenterNet) and model.node == "dcn":
        # Non-zero offsets and masks, so the deformable sampling really deforms.
        for m in model.modules():
            if hasattr(m, "conv_offset_mask"):
                nn.init.normal_(m.conv_offset_mask.weight, std=0.05)
    return model.eval()


def test_fuse_folds_every_batchnorm_and_keeps_outputs(model):
    reference = copy.deepcopy(model).double()
    fused = copy.deepcopy(reference).fuse()
    assert _num_bn(reference) > 50 and _num_bn(fused) == 0
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        for ref, out in zip(_outputs(reference(x)), _outputs(fused(x)), strict=True):
            assert ref.abs().max() > 1e-2
            torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)
            assert (out - ref).abs().max() <= 1e-8 * ref.abs().max()  # float64: folding is exact up to rounding


def test_fast_path_channels_last_matches_eager_in_float32(model):
    x = torch.randn(2, 3, 64, 64)
    fast = prepare_for_inference(copy.deepcopy(model), fuse=True, channels_last=True)
    assert _num_bn(fast) == 0
    with torch.no_grad():
        refs, outs = _outputs(model(x)), _outputs(fast(x.contiguous(memory_format=torch.channels_last)))
    for ref, out in zip(refs, outs, strict=True):
        assert (out - ref).abs().max() <= 1e-4 * max(1.0, ref.abs().max().item())


def test_bf16_autocast_fast_path_agrees_with_float32():
    model = DLASeg("dla34", 5)
    randomize_bn(model, seed=1)
    fast = prepare_for_inference(copy.deepcopy(model))
    x = torch.randn(2, 3, 64, 64)
    dtypes = []
    fast.dla_up.register_forward_hook(lambda module, args, output: dtypes.append(output[-1].dtype))
    with torch.no_grad():
        ref = model(x)
        with bf16_autocast("cpu"):
            out = fast(x)
    assert dtypes == [torch.bfloat16]  # the decoder ran in bf16
    assert out.dtype == torch.float32  # the final upsampler runs in fp32 on CPU (see DepthwiseUp)
    assert (out.float().argmax(1) == ref.argmax(1)).float().mean() >= 0.99


@pytest.mark.parametrize("arch", ["seg", "det"])
def test_bf16_keeps_the_stem_float32(arch):
    model = DLASeg("dla34", 5) if arch == "seg" else CenterNet("dla34", 3, node="conv", head_conv=16)
    fast = prepare_for_inference(model, bf16=True)
    dtypes = {}
    for name in ("base.base_layer", "base.level0", "base.level1.0", "base.level1", "base.level2"):
        fast.get_submodule(name).register_forward_hook(lambda m, a, o, name=name: dtypes.__setitem__(name, o.dtype))
    with torch.no_grad(), bf16_autocast("cpu"):
        fast(torch.randn(1, 3, 64, 64))
        assert torch.is_autocast_enabled("cpu")  # restored after the stem
    f32, bf16 = torch.float32, torch.bfloat16
    # level1 computes in fp32 and hands its output on in bf16, as every reader would round it
    assert dtypes == {
        "base.base_layer": f32,
        "base.level0": f32,
        "base.level1.0": f32,
        "base.level1": bf16,
        "base.level2": bf16,
    }


@pytest.mark.parametrize("name", ["seg", "det-conv"])
def test_fuse_refuses_training_mode(name):
    model = MODELS[name]().train()
    with pytest.raises(DLADenseError, match="eval"):
        model.fuse()
    assert _num_bn(model) > 0


def test_fuse_leaves_shared_conv_outputs_and_training_batchnorm_alone():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
            self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
            self.conv3, self.bn3 = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv1(x)
            x = self.bn1(y) + y  # conv1's output is read twice: not foldable
            x = self.bn2(self.conv2(x))
            return self.bn3(self.conv3(x))

    net = Net()
    randomize_bn(net, seed=0)
    net.bn3.train()
    before = {k: v.clone() for k, v in net.bn3.named_buffers()}
    x = torch.randn(1, 3, 8, 8)
    assert find_conv_bn_pairs(net, x) == [("conv2", "bn2")]
    assert all(torch.equal(v, net.bn3.get_buffer(k)) for k, v in before.items())
    net.eval()
    with torch.no_grad():
        ref = net(x)
    net.bn3.train()
    assert fuse_conv_bn(net, x) == [("conv2", "bn2")]
    assert isinstance(net.bn2, nn.Identity) and net.conv2.bias is not None
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref, rtol=1e-5, atol=1e-5)


def _checkpoint(config: Path, path: Path) -> Path:
    from dla_dense.config import load_config
    from dla_dense.tasks import build_model

    model = build_model(load_config(config))
    randomize_bn(model, seed=2)
    torch.save({"model": model.state_dict()}, path)
    return path


@pytest.mark.slow
def test_test_seg_and_infer_fast_flags(tmp_path, capsys):
    config = tmp_path / "seg.py"
    write_tiny_config(config, "seg", data=dict(synthetic=dict(num_train=2, num_val=2, size=(64, 128), seed=0)))
    ckpt = _checkpoint(config, tmp_path / "seg.pth")
    logs = []
    for extra in ([], ["--fast"]):
        assert test_cli.seg_main([str(config), str(ckpt), "--device", "cpu", *extra]) == 0
        logs.append(capsys.readouterr().err)
    miou = [float(log.split("mIoU")[-1].split()[0]) for log in logs]
    assert miou[0] == pytest.approx(miou[1], abs=5e-3)
    images = sorted((tmp_path / "data" / "leftImg8bit" / "val").rglob("*.png"))
    out = tmp_path / "infer"
    assert infer.main([str(config), str(ckpt), str(images[0]), "--out", str(out), "--fast", "--bf16"]) == 0
    assert len(list(out.glob("*_overlay.jpg"))) == 1 and len(list(out.glob("*_labelIds.png"))) == 1


@pytest.mark.slow
def test_test_det_fast_bf16_flags(tmp_path, capsys):
    config = tmp_path / "det.py"
    write_tiny_config(
        config,
        "det",
        tmp_path / "shapes",
        model=dict(node="dcn"),
        data=dict(synthetic=dict(num_train=2, num_val=2, size=(64, 64), seed=0)),
    )
    ckpt = _checkpoint(config, tmp_path / "det.pth")
    assert test_cli.det_main([str(config), str(ckpt), "--device", "cpu", "--fast", "--bf16"]) == 0
    assert "AP50" in capsys.readouterr().err
