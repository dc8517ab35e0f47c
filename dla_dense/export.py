"""Export of dla_dense models to ONNX, OpenVINO IR and TorchScript, each checked against PyTorch.

Every exporter takes a module returning a tensor or a tuple of tensors (a task's ``export_outputs`` gives it
with the output names, e.g. a detector's ``(hm, wh, reg)``) and fixed inputs ``[batch, C, H, W]``, one per name
the module declares (:mod:`dla_dense.models.inputs`: ``image`` for single-image models), which become the
inputs' names in the ONNX and OpenVINO files. Deformable
nodes are captured as torchvision's ``deform_conv2d``: ONNX ``DeformConv`` (opset 19+), OpenVINO
``DeformableConvolution``, ``torchvision::deform_conv2d`` in TorchScript (load it with torchvision imported).
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import DLADenseError
from .models.inputs import example_inputs

#: The formats of :func:`export_model` and their file suffixes.
FORMATS: dict[str, str] = {"onnx": ".onnx", "openvino": ".xml", "torchscript": ".pt"}


def export_outputs(model: nn.Module) -> tuple[nn.Module, list[str], bool]:
    """``model`` as a module returning a tensor or a tuple of tensors for export, the output names, and whether
    ``model`` itself returns ``{name: tensor}`` (engines that run the export then return the same). A network with
    several outputs says so by its ``export_outputs()``; any other is one ``logits`` tensor."""
    own = getattr(model, "export_outputs", None)
    return own() if own is not None else (model, ["logits"], False)


@contextlib.contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence the tracer's warnings about shape checks turned into constants (the exports are fixed-shape by
    design) and torch.jit's deprecation notices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        yield


def _example(module: nn.Module, input_size: tuple[int, int], batch: int) -> dict[str, torch.Tensor]:
    if input_size[0] % 32 or input_size[1] % 32:
        raise DLADenseError(f"input size {input_size[0]}x{input_size[1]} is not a multiple of 32")
    return example_inputs(module, input_size, batch)


def _max_diff(results: Sequence[np.ndarray | torch.Tensor], module: nn.Module, x: Mapping[str, torch.Tensor]) -> float:
    """The largest absolute difference between ``results`` and ``module(*x)`` (output by output)."""
    with torch.no_grad():
        expected = module(*x.values())
    expected = expected if isinstance(expected, tuple) else (expected,)
    return max(float((torch.as_tensor(r) - e).abs().max()) for r, e in zip(results, expected, strict=True))


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    output_names: Sequence[str] = ("logits",),
    input_size: tuple[int, int] = (512, 512),
    batch: int = 1,
    opset: int = 19,
    check: bool = True,
) -> float | None:
    """Export ``model`` (eval mode) for inputs ``[batch, C, *input_size]`` to ``path`` with torch's dynamo
    exporter; with ``check``, onnxruntime runs the file and the largest absolute difference from PyTorch is
    returned."""
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise DLADenseError("ONNX export needs onnx and onnxscript: pip install -e '.[export]'") from None
    module = model.eval()
    x = _example(module, input_size, batch)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module,
        tuple(x.values()),
        str(path),
        input_names=list(x),
        output_names=list(output_names),
        opset_version=opset,
        dynamo=True,
        verbose=False,
    )
    if not check:
        return None
    return _max_diff(onnx_session(path).run(None, {k: v.numpy() for k, v in x.items()}), module, x)


def onnx_session(path: str | os.PathLike):
    """An onnxruntime CPU session of the ONNX file ``path``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise DLADenseError("running ONNX files needs onnxruntime: pip install -e '.[export]'") from None
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


def export_openvino(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    output_names: Sequence[str] = ("logits",),
    input_size: tuple[int, int] = (512, 512),
    batch: int = 1,
    check: bool = True,
) -> float | None:
    """Convert ``model`` with ``openvino.convert_model`` (from PyTorch, not from ONNX: OpenVINO reads no ONNX
    ``DeformConv``) and save the IR ``path`` (``.xml`` + ``.bin``, fp32 weights); with ``check``, OpenVINO's
    CPU plugin runs it at f32 precision and the largest absolute difference from PyTorch is returned."""
    ov = _openvino()
    module = model.eval()
    x = _example(module, input_size, batch)
    with torch.no_grad(), _quiet_tracing():
        converted = ov.convert_model(
            module, example_input=tuple(x.values()), input=[tuple(v.shape) for v in x.values()]
        )
    for port, name in zip(converted.outputs, output_names, strict=True):
        port.get_tensor().set_names({name})
    for port, name in zip(converted.inputs, x, strict=True):
        port.get_tensor().set_names({name})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(converted, os.fspath(path), compress_to_fp16=False)
    if not check:
        return None
    compiled = openvino_model(path)
    results = compiled({k: v.numpy() for k, v in x.items()})
    return _max_diff([results[port] for port in compiled.outputs], module, x)


def _openvino():
    try:
        import openvino as ov
    except ImportError:
        raise DLADenseError("OpenVINO export needs openvino: pip install -e '.[export]'") from None
    return ov


@functools.cache
def openvino_core():
    """The process's one ``openvino.Core``: OpenVINO 2026 can crash when a process makes several (its issue
    35338), so every read and compile here goes through this one."""
    return _openvino().Core()


def openvino_model(path: str | os.PathLike, *, bf16: bool = False, profile: bool = False):
    """The IR ``path`` compiled for OpenVINO's CPU plugin at f32 precision (bf16 with ``bf16``; OpenVINO's own
    default on CPUs with bf16 units); ``profile`` turns on its per-layer counters (``InferRequest.profiling_info``)."""
    precision = "bf16" if bf16 else "f32"
    return openvino_core().compile_model(
        os.fspath(path), "CPU", {"INFERENCE_PRECISION_HINT": precision, "PERF_COUNT": profile}
    )


def export_torchscript(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    input_size: tuple[int, int] = (512, 512),
    batch: int = 1,
    check: bool = True,
) -> float | None:
    """Trace ``model`` with ``torch.jit.trace`` for inputs ``[batch, C, *input_size]`` and save it to ``path``
    (outputs a tuple, so no dict outputs stand in the way); with ``check``, the saved file is loaded and run and the
    largest absolute difference from PyTorch is returned."""
    module = model.eval()
    x = _example(module, input_size, batch)
    with torch.no_grad(), _quiet_tracing():
        traced = torch.jit.trace(module, tuple(x.values()), check_trace=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(os.fspath(path))
    if not check:
        return None
    with torch.no_grad(), _quiet_tracing():
        results = torch.jit.load(os.fspath(path))(*x.values())
    return _max_diff(results if isinstance(results, tuple) else (results,), module, x)


def export_model(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    fmt: str,
    output_names: Sequence[str],
    input_size: tuple[int, int] = (512, 512),
    batch: int = 1,
    opset: int = 19,
    check: bool = True,
) -> float | None:
    """Export in format ``fmt`` (one of :data:`FORMATS`); returns the checked max abs difference (or None)."""
    options = {"input_size": input_size, "batch": batch, "check": check}
    if fmt == "onnx":
        return export_onnx(model, path, output_names=output_names, opset=opset, **options)
    if fmt == "openvino":
        return export_openvino(model, path, output_names=output_names, **options)
    if fmt == "torchscript":
        return export_torchscript(model, path, **options)
    raise DLADenseError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
