"""Export round trips on CPU for small seg, det (both node types) and pose models: OpenVINO IR (converted from
PyTorch) and TorchScript match PyTorch, deformable nodes included; onnxruntime and OpenVINO run behind the
Predictor with the same predictions as PyTorch."""

import numpy as np
import pytest
import torch
from support import TINY, write_tiny_config

from dla_dense.config import load_config
from dla_dense.export import export_model, export_outputs, openvino_core
from dla_dense.inference.engines import EngineModel
from dla_dense.models.inputs import example_inputs, model_inputs
from dla_dense.tasks import build_task

CASES = [
    ("seg", {}),
    ("det", {"node": "dcn"}),
    ("pose", {"node": "dcn"}),
    ("track", {"node": "conv"}),
    ("fairmot", {"node": "conv"}),  # CenterNet with plain nodes, 4-channel wh and the id head
    ("ddd", {"node": "conv"}),  # the 3D heads: rot, dim, dep
    ("track3d", {"node": "conv"}),  # three inputs and the 3D heads beside the tracking head
]


def _module(task, model_changes, tmp_path):
    config = write_tiny_config(tmp_path / f"{task}.py", task, tmp_path / "data", model=model_changes)
    job = build_task(load_config(config))
    model = job.build_model().eval()
    for m in model.modules():  # BatchNorm statistics that are not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    module, names, _ = export_outputs(model)
    return module, names


# The fast tier converts the deformable detector to OpenVINO; the OpenVINO round trips of seg, track (three inputs)
# and ddd are slow; pose (deformable like det) and fairmot (plain nodes like track) are converted as TorchScript only.
OPENVINO = {"det": (), "seg": pytest.mark.slow, "track": pytest.mark.slow, "ddd": pytest.mark.slow}
ROUND_TRIPS = [
    pytest.param(fmt, task, changes, id=f"{task}-{changes.get('node', '')}-{fmt}", marks=OPENVINO.get(task, ()))
    for fmt in ("openvino", "torchscript")
    for task, changes in CASES
    if fmt == "torchscript" or task in OPENVINO
]


@pytest.mark.parametrize("fmt, task, model_changes", ROUND_TRIPS)
def test_export_round_trip_matches_pytorch(fmt, task, model_changes, tmp_path):
    if fmt == "openvino":
        pytest.importorskip("openvino")
    module, names = _module(task, model_changes, tmp_path)
    path = tmp_path / ("model.xml" if fmt == "openvino" else "model.pt")
    diff = export_model(module, path, fmt=fmt, output_names=names, input_size=(64, 64))
    with torch.no_grad():  # random weights give large outputs: the tolerance is relative to their size
        outputs = module(*example_inputs(module, (64, 64)).values())
    scale = max(float(o.abs().max()) for o in (outputs if isinstance(outputs, tuple) else (outputs,)))
    assert path.is_file() and diff is not None and diff <= 1e-5 * max(1.0, scale), (diff, scale)
    if fmt == "openvino":
        ir = openvino_core().read_model(str(path))
        assert [o.get_any_name() for o in ir.outputs] == names
        assert [i.get_any_name() for i in ir.inputs] == list(model_inputs(module))
        if model_changes.get("node") == "dcn":
            assert any(op.get_type_name() == "DeformableConvolution" for op in ir.get_ops())


@pytest.mark.slow  # an export per input shape behind a trained model
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_engines_behind_the_predictor_give_pytorchs_detections(backend, trained_tiny):
    pytest.importorskip(backend)
    from dla_dense import Predictor

    config, work = trained_tiny("det")
    torch_run = Predictor.from_work_dir(work, device="cpu")
    engine = Predictor.from_work_dir(work, device="cpu", backend=backend)
    assert isinstance(engine.model, EngineModel)
    image = np.array(torch_run.task.val_set()[0]["image"])
    expected, got = torch_run(image), engine(image)
    np.testing.assert_allclose(got.scores, expected.scores, atol=1e-4)
    np.testing.assert_allclose(got.boxes, expected.boxes, atol=1e-2)
    assert got.labels.tolist() == expected.labels.tolist()
    if backend == "openvino":  # a new batch shape is exported once more (the same for both engines)
        engine([image, image])
        assert len(engine.model.sessions) == 2


def test_engine_refusals_are_one_line_errors(tmp_path):
    from dla_dense import DLADenseError

    module, names = _module("seg", {}, tmp_path)
    with pytest.raises(DLADenseError, match="onnxruntime has no bf16 switch"):
        EngineModel(module, names, "onnxruntime", as_dict=False, bf16=True)
    with pytest.raises(DLADenseError, match="unknown backend 'tensorrt'"):
        EngineModel(module, names, "tensorrt", as_dict=False)


def test_every_task_has_an_export_case():
    assert {task for task, _ in CASES} == set(TINY) - {"cls"}
