from pathlib import Path

import pytest
import torch
from support import deterministic_state, deterministic_value

from dla_dense import DLADenseError, load_checkpoint
from dla_dense.config import default_config
from dla_dense.data.det_transforms import CENTERNET_COCO_MEAN
from dla_dense.models import CenterNet
from dla_dense.models.centernet import CenterNetTupleOutputs
from dla_dense.tasks import TASKS

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "centernet_dla34_golden.pt"


@pytest.fixture(scope="module")
def golden() -> dict:
    return torch.load(GOLDEN, weights_only=True)


def _ctdet_checkpoint(golden: dict, prefix: str) -> dict:
    """A CenterNet ``ctdet`` training checkpoint with the key layout of ``golden['keys']`` and deterministic values."""
    state = {
        prefix + k: deterministic_value(k, tuple(s)) for k, s in zip(golden["keys"], golden["shapes"], strict=True)
    }
    return {"epoch": 1, "state_dict": state}


@pytest.mark.parametrize("node", ["dcn", "conv"])
def test_head_maps_at_stride_4(node):
    model = CenterNet("dla34", 3, node=node)
    x = torch.randn(2, 3, 64, 96)
    expected = {"hm": (2, 3, 16, 24), "wh": (2, 2, 16, 24), "reg": (2, 2, 16, 24)}
    out = model(x)
    assert {k: tuple(v.shape) for k, v in out.items()} == expected and list(out) == ["hm", "wh", "reg"]
    with torch.no_grad():
        assert {k: tuple(v.shape) for k, v in model.eval()(x).items()} == expected
    assert model.extra_repr() == f"dla34, 3 classes, node={node}"


def test_module_layout_follows_centernet_and_fairmot():
    dcn = CenterNet("dla34", 80).state_dict()
    assert dcn["dla_up.ida_0.proj_1.conv.weight"].shape == (256, 512, 3, 3)
    assert dcn["dla_up.ida_0.proj_1.conv.bias"].shape == (256,)
    assert dcn["dla_up.ida_0.proj_1.conv.conv_offset_mask.weight"].shape == (27, 512, 3, 3)
    assert dcn["dla_up.ida_2.up_3.weight"].shape == (64, 1, 4, 4)
    assert dcn["ida_up.up_2.weight"].shape == (64, 1, 8, 8)
    assert dcn["ida_up.node_2.actf.0.running_var"].shape == (64,)
    assert [k for k in dcn if k.startswith("hm.")] == ["hm.0.weight", "hm.0.bias", "hm.2.weight", "hm.2.bias"]
    assert dcn["hm.0.weight"].shape == (256, 64, 3, 3) and dcn["hm.2.weight"].shape == (80, 256, 1, 1)
    conv = CenterNet("dla34", 80, node="conv").state_dict()
    assert conv["dla_up.ida_0.proj_1.conv.weight"].shape == (256, 512, 3, 3)
    assert not any("conv.bias" in k or "conv_offset_mask" in k for k in conv)
    assert {k for k in dcn if "conv_offset_mask" not in k and not k.endswith("conv.bias")} == set(conv)


@pytest.mark.parametrize("node", ["dcn", "conv"])
def test_every_parameter_gets_a_gradient(node):
    model = CenterNet("dla34", 3, node=node)
    out = model(torch.randn(2, 3, 64, 64))
    sum(v.square().mean() for v in out.values()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    zero_grad = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any()]
    assert not no_grad and not zero_grad


@pytest.mark.parametrize("name", ["dla34", "dla46_c", "dla60"])
def test_backbones_set_the_decoder_width(name):
    model = CenterNet(name, 2).eval()
    channels = model.base.feature_info.channels()
    assert model.base.feature_info.reduction() == [4, 8, 16, 32]
    assert model.hm[0].in_channels == model.ida_up.node_2.conv.out_channels == channels[0]
    assert model.dla_up.ida_0.proj_1.conv.in_channels == channels[-1]
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 32))
    assert out["hm"].shape == (1, 2, 16, 8) and all(torch.isfinite(v).all() for v in out.values())


def test_head_initialisation():
    model = CenterNet("dla34", 5, heads={"id": 16})
    assert list(model.heads) == ["hm", "wh", "reg", "id"]
    torch.testing.assert_close(model.hm[2].bias, torch.full((5,), -2.19), rtol=0, atol=0)
    assert model.hm[0].bias.any()
    for name in ("wh", "reg", "id"):
        head = getattr(model, name)
        assert not head[0].bias.any() and not head[2].bias.any()
    assert model.id[2].out_channels == 16
    single = CenterNet("dla34", 5, head_conv=0, node="conv")
    assert isinstance(single.hm, torch.nn.Conv2d) and single.hm.kernel_size == (1, 1)
    torch.testing.assert_close(single.hm.bias, torch.full((5,), -2.19), rtol=0, atol=0)
    assert single(torch.randn(1, 3, 64, 32))["wh"].shape == (1, 2, 16, 8)


def test_bad_arguments():
    with pytest.raises(DLADenseError, match="node='dcnv2' is not supported; use one of dcn, conv"):
        CenterNet(node="dcnv2")
    with pytest.raises(DLADenseError, match=r"heads\['hm'\]=5 disagrees with num_classes=80"):
        CenterNet(heads={"hm": 5})
    with pytest.raises(DLADenseError, match="heads .* are invalid"):
        CenterNet(heads={"id": 0})
    with pytest.raises(DLADenseError, match="input size 64x48 is not a multiple of 32"):
        CenterNet("dla34", 2, node="conv")(torch.randn(1, 3, 64, 48))


@pytest.mark.parametrize("prefix", ["module.", ""])
def test_centernet_ctdet_checkpoint_reproduces_the_reference(golden, prefix, tmp_path):
    """Golden outputs of CenterNet's own model.

    ``tests/data/centernet_dla34_golden.pt`` was made with xingyizhou/CenterNet at commit 4c50fd3: its
    ``pose_dla_dcn.py`` unmodified, with ``DCNv2.dcn_v2.DCN`` replaced by a pure-PyTorch transcription of
    the DCNv2 CUDA kernel (``modulated_deformable_im2col_gpu_kernel``: the sampling of ``_bilinear_dcn_reference``,
    not torchvision) and ImageNet loading switched off. ``ref = get_pose_net(34, {'hm': 80, 'wh': 2, 'reg': 2},
    head_conv=256).eval()``; ``keys``/``shapes`` list ``ref.state_dict()`` without ``num_batches_tracked``
    plus the ``base.fc`` ImageNet classifier that CenterNet's checkpoints carry. Every entry was set to
    ``deterministic_value(key, shape)``, ``input = torch.randn(1, 3, 64, 64,
    generator=torch.Generator().manual_seed(0))`` and ``hm``/``wh``/``reg`` are ``ref(input)[0]``.
    Here the same values go through a checkpoint file in CenterNet's ``{'epoch', 'state_dict'}`` layout.
    """
    path = tmp_path / "ctdet_coco_dla_2x.pth"
    torch.save(_ctdet_checkpoint(golden, prefix), path)
    model = CenterNet("dla34", 80)
    assert load_checkpoint(model, path) == {"epoch": 1}
    own = model.state_dict()
    for k in ("dla_up.ida_0.proj_1.conv.conv_offset_mask.bias", "ida_up.node_2.actf.0.weight", "hm.2.bias"):
        torch.testing.assert_close(own[k], deterministic_value(k, tuple(own[k].shape)), rtol=0, atol=0)
    with torch.no_grad():
        out = model.eval()(golden["input"])
    for name in ("hm", "wh", "reg"):
        assert out[name].shape == golden[name].shape
        torch.testing.assert_close(out[name], golden[name], rtol=0, atol=1e-4, msg=name)


def test_checkpoint_for_another_class_count_is_refused(golden, tmp_path):
    path = tmp_path / "ctdet_coco_dla_2x.pth"
    torch.save(_ctdet_checkpoint(golden, "module."), path)
    with pytest.raises(DLADenseError) as err:
        load_checkpoint(CenterNet("dla34", 20), path)
    message = str(err.value)
    assert "does not fit CenterNet(dla34, 20 classes, node=dcn): 2 shape mismatches" in message
    assert "hm.2.weight: file [80, 256, 1, 1] vs model [20, 256, 1, 1]" in message and "\n" not in message


@pytest.mark.slow  # the deformable form in the fast tier: tests/test_export.py (OpenVINO)
@pytest.mark.parametrize("node", ["dcn"])  # plain nodes: every task's export in tests/e2e
def test_onnx_export_matches_pytorch(node, tmp_path):
    pytest.importorskip("onnxscript", minversion="0.7.1")
    ort = pytest.importorskip("onnxruntime", minversion="1.25")
    onnx = pytest.importorskip("onnx")
    model = CenterNet("dla34", 4, node=node)
    model.load_state_dict(deterministic_state(model), strict=False)
    wrapper = CenterNetTupleOutputs(model.eval())
    x = torch.randn(1, 3, 64, 64)
    path = tmp_path / f"centernet_{node}.onnx"
    torch.onnx.export(
        wrapper,
        (x,),
        str(path),
        input_names=["images"],
        output_names=list(wrapper.output_names),
        opset_version=19,
        dynamo=True,
        optimize=False,
        verbose=False,
    )
    graph = onnx.load(str(path)).graph
    assert [o.name for o in graph.output] == ["hm", "wh", "reg"]
    assert ("DeformConv" in {n.op_type for n in graph.node}) == (node == "dcn")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    results = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        expected = wrapper(x)
    for name, result, reference in zip(wrapper.output_names, results, expected, strict=True):
        torch.testing.assert_close(torch.from_numpy(result), reference, rtol=0, atol=1e-3, msg=name)


@pytest.mark.parametrize("prefix", ["module.", ""])
def test_centernet_multi_pose_checkpoint_reproduces_the_reference(prefix, tmp_path):
    """Golden outputs of CenterNet's own multi_pose network.

    ``tests/golden/centernet_multi_pose_golden.pt`` was made with xingyizhou/CenterNet's ``pose_dla_dcn.py``
    unmodified, ``get_pose_net(34, {'hm': 1, 'wh': 2, 'hps': 34, 'reg': 2, 'hm_hp': 17, 'hp_offset': 2},
    head_conv=256)``, with ``DCNv2.dcn_v2.DCN`` replaced by a module of the same parameters computing
    ``torchvision.ops.deform_conv2d`` and ImageNet loading switched off; every entry set to
    ``deterministic_value(key, shape)`` and the six head maps of ``torch.randn(1, 3, 64, 64)`` (seed 0) saved.
    Here those values go through a ``multi_pose_dla_3x.pth``-layout file and the pose task's network.
    """
    golden = torch.load(GOLDEN.with_name("centernet_multi_pose_golden.pt"), weights_only=True)
    state = {
        prefix + k: deterministic_value(k, tuple(s)) for k, s in zip(golden["keys"], golden["shapes"], strict=True)
    }
    path = tmp_path / "multi_pose_dla_3x.pth"
    torch.save({"epoch": 320, "state_dict": state}, path)
    task = TASKS["pose"](default_config("pose", backbone="dla34", num_classes=1, head_conv=256))
    model = task.build_model()
    extras = load_checkpoint(model, path)
    assert extras == {"epoch": 320}
    task.adopt_checkpoint(extras)
    assert task.cfg.data.bgr and task.cfg.data.mean == CENTERNET_COCO_MEAN
    with torch.no_grad():
        out = model.eval()(golden["input"])
    assert list(out) == ["hm", "wh", "reg", "hps", "hm_hp", "hp_offset"]
    for name in ("hm", "wh", "reg", "hps", "hm_hp", "hp_offset"):
        torch.testing.assert_close(out[name], golden[name], rtol=0, atol=1e-4, msg=name)


def test_a_centernet_ddd_checkpoint_loads_into_the_ddd_task(golden, tmp_path):
    """CenterNet's ``ddd_3dop.pth`` layout: its ctdet network with ``hm`` of 3 classes and the ``dep``, ``rot``, ``dim``
    heads beside ``wh`` and ``reg`` (``get_pose_net(34, {'hm': 3, 'dep': 1, 'rot': 8, 'dim': 3, 'wh': 2, 'reg': 2},
    head_conv=256)``: each head a 3x3 conv to 256 channels, ReLU, a 1x1 conv)."""
    shapes = {k: tuple(s) for k, s in zip(golden["keys"], golden["shapes"], strict=True)}
    shapes.update({"hm.2.weight": (3, 256, 1, 1), "hm.2.bias": (3,)})
    for head, channels in (("dep", 1), ("rot", 8), ("dim", 3)):
        shapes.update({f"{head}.0.weight": (256, 64, 3, 3), f"{head}.0.bias": (256,)})
        shapes.update({f"{head}.2.weight": (channels, 256, 1, 1), f"{head}.2.bias": (channels,)})
    path = tmp_path / "ddd_3dop.pth"
    state = {f"module.{k}": deterministic_value(k, s) for k, s in shapes.items()}
    torch.save({"epoch": 70, "state_dict": state}, path)
    model = TASKS["ddd"](default_config("ddd")).build_model()
    assert load_checkpoint(model, path) == {"epoch": 70}  # strict: every tensor of the file has its place
    own = model.state_dict()
    for k in ("rot.2.weight", "dep.0.bias", "dim.2.bias", "hm.2.bias"):
        torch.testing.assert_close(own[k], deterministic_value(k, shapes[k]), rtol=0, atol=0)
