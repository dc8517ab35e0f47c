"""ONNX export of dla_dense models, checked against onnxruntime."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .errors import DLADenseError


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    output_names: Sequence[str] = ("logits",),
    input_size: tuple[int, int] = (512, 512),
    opset: int = 19,
    check: bool = True,
) -> float | None:
    """Export ``model`` (eval mode) for ``[1, 3, *input_size]`` images to ``path`` with torch's dynamo exporter.

    ``model`` returns a tensor or a tuple of tensors named ``output_names`` (a task's ``export_outputs`` gives
    both, e.g. a detector's ``(hm, wh, reg)``); deformable nodes map to ONNX ``DeformConv`` (opset 19+). With
    ``check``, onnxruntime runs the file and the largest absolute difference from PyTorch is returned.
    """
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise DLADenseError("ONNX export needs onnx and onnxscript: pip install -e '.[export]'") from None
    if input_size[0] % 32 or input_size[1] % 32:
        raise DLADenseError(f"input size {input_size[0]}x{input_size[1]} is not a multiple of 32")
    wrapper = model.eval()
    x = torch.randn(1, 3, *input_size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        wrapper,
        (x,),
        str(path),
        input_names=["images"],
        output_names=list(output_names),
        opset_version=opset,
        dynamo=True,
        verbose=False,
    )
    if not check:
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        raise DLADenseError(
            "checking the export needs onnxruntime: pip install -e '.[export]' (or --no-check)"
        ) from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    results = session.run(None, {"images": x.numpy()})
    with torch.no_grad():
        expected = wrapper(x)
    expected = expected if isinstance(expected, tuple) else (expected,)
    return max(float((torch.from_numpy(r) - e).abs().max()) for r, e in zip(results, expected, strict=True))
