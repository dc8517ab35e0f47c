"""Other inference engines behind the PyTorch call: onnxruntime or OpenVINO run an exported copy of a model.

:class:`EngineModel` is called like the model it replaces (its named inputs, e.g. images ``[N, 3, H, W]``, -> a
tensor, or a dict of named tensors for detectors), so every task's prediction and evaluation code runs unchanged.
The model is exported once per input shape it meets (the exports are fixed-shape; deformable nodes stay
``DeformConv`` / ``DeformableConvolution``) into a temporary folder that is removed with the engine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import DLADenseError
from ..export import export_onnx, export_openvino, onnx_session, openvino_core, openvino_model
from ..models.inputs import model_inputs

#: ``--backend`` choices: PyTorch itself and the engines :class:`EngineModel` runs.
BACKENDS = ("torch", "onnxruntime", "openvino")


class EngineModel(nn.Module):
    """``module`` (returning a tensor or a tuple named ``output_names``) run by ``backend`` ("onnxruntime" or
    "openvino", on CPU); ``as_dict`` returns ``{name: tensor}`` as a detector does. ``bf16`` asks OpenVINO for
    bf16 precision (onnxruntime has no such switch).

    ``int8`` (OpenVINO): each export is quantized after training (NNCF's post-training static quantization,
    its default symmetric preset) with the inputs of that shape recorded while :attr:`recording` was on: the
    calls made then run the PyTorch module and keep their inputs (see :meth:`Predictor.calibrate
    <dla_dense.Predictor.calibrate>`).

    ``profile`` (OpenVINO): every call adds OpenVINO's per-layer times to :attr:`layer_ms` (see
    :meth:`layer_profile`)."""

    def __init__(
        self,
        module: nn.Module,
        output_names: Sequence[str],
        backend: str,
        *,
        as_dict: bool,
        bf16: bool = False,
        int8: bool = False,
        profile: bool = False,
    ) -> None:
        super().__init__()
        if backend not in BACKENDS[1:]:
            raise DLADenseError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
        if bf16 and backend == "onnxruntime":
            raise DLADenseError("onnxruntime has no bf16 switch; drop --bf16 or use --backend openvino")
        if int8 and backend != "openvino":
            raise DLADenseError("int8 runs on OpenVINO (NNCF quantization); use --backend openvino")
        if profile and backend != "openvino":
            raise DLADenseError("per-layer profiles come from OpenVINO; use the openvino backend")
        self.module = module.eval()
        self.inputs = model_inputs(module)
        self.output_names = list(output_names)
        self.backend = backend
        self.as_dict = as_dict
        self.bf16 = bf16
        self.int8 = int8
        self.profile = profile
        #: ``(layer type, kernel) -> milliseconds`` summed over the profiled calls (``profile``).
        self.layer_ms: Counter[tuple[str, str]] = Counter()
        #: ``(layer type, kernel) -> layers of that kind`` in one call (the graph is the same every call).
        self.layer_counts: dict[tuple[str, str], int] = {}
        #: Calls whose layer times :attr:`layer_ms` holds.
        self.profiled_calls = 0
        #: While True, calls run the PyTorch module and record their inputs for int8 calibration.
        self.recording = False
        self.calibration: dict[tuple[int, ...], list[dict[str, np.ndarray]]] = {}
        self.folder = Path(tempfile.mkdtemp(prefix=f"dla_dense_{backend}_"))
        weakref.finalize(self, shutil.rmtree, self.folder, True)
        self.sessions: dict[tuple[int, ...], Any] = {}

    def _session(self, shape: tuple[int, ...]) -> Any:
        if shape not in self.sessions:
            batch, _, height, width = shape
            options = {"output_names": self.output_names, "input_size": (height, width), "batch": batch}
            name = "x".join(map(str, shape))
            if self.backend == "onnxruntime":
                path = self.folder / f"{name}.onnx"
                export_onnx(self.module, path, check=False, **options)
                self.sessions[shape] = onnx_session(path)
            else:
                path = self.folder / f"{name}.xml"
                export_openvino(self.module, path, check=False, **options)
                if self.int8:
                    path = quantize_openvino(path, self._samples(shape), self.folder / f"{name}-int8.xml")
                self.sessions[shape] = openvino_model(path, bf16=self.bf16, profile=self.profile).create_infer_request()
        return self.sessions[shape]

    def _samples(self, shape: tuple[int, ...]) -> list[Any]:
        """Calibration inputs of ``shape`` (an array per call for a single-input model, ``{name: array}`` for
        several): those recorded at it, else batches of ``shape[0]`` made from the inputs recorded at the same
        image size (a flip test doubles the batch)."""
        calls = self.calibration.get(shape)
        if calls is None:
            singles = [
                {name: array[i : i + 1] for name, array in call.items()}
                for key, recorded in self.calibration.items()
                if key[1:] == shape[1:]
                for call in recorded
                for i in range(key[0])
            ]
            n = shape[0]
            calls = [
                {name: np.concatenate([one[name] for one in singles[i : i + n]]) for name in self.inputs}
                for i in range(0, len(singles) - n + 1, n)
            ]
        return [next(iter(call.values())) if len(call) == 1 else call for call in calls]

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Outputs of the exported model for its named inputs in order (images ``[N, 3, H, W]``, H and W
        multiples of 32)."""
        if len(inputs) != len(self.inputs):
            raise DLADenseError(f"the model takes {len(self.inputs)} inputs ({', '.join(self.inputs)})")
        if any(t.device.type != "cpu" for t in inputs):
            raise DLADenseError(f"the {self.backend} backend runs on the CPU; pass --device cpu")
        arrays = {name: t.detach().float().contiguous().numpy() for name, t in zip(self.inputs, inputs, strict=True)}
        shape = tuple(inputs[0].shape)
        if self.recording:
            self.calibration.setdefault(shape, []).append({name: array.copy() for name, array in arrays.items()})
            with torch.no_grad():
                outputs = self.module(*(t.float() for t in inputs))
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            return dict(zip(self.output_names, outputs, strict=True)) if self.as_dict else outputs[0]
        session = self._session(shape)
        if self.backend == "onnxruntime":
            outputs = session.run(None, arrays)
        else:
            results = session.infer(arrays)
            outputs = [results[port] for port in session.model_outputs]
            if self.profile:
                self._add_profile(session.profiling_info)
        tensors = [torch.from_numpy(o.copy()) for o in outputs]
        return dict(zip(self.output_names, tensors, strict=True)) if self.as_dict else tensors[0]

    def _add_profile(self, layers: Sequence[Any]) -> None:
        counts: Counter[tuple[str, str]] = Counter()
        for layer in layers:
            key = (layer.node_type, layer.exec_type)
            self.layer_ms[key] += layer.real_time.total_seconds() * 1000
            counts[key] += 1
        self.layer_counts = dict(counts)
        self.profiled_calls += 1

    def reset_profile(self) -> None:
        """Forget the layer times gathered so far."""
        self.layer_ms.clear()
        self.layer_counts.clear()
        self.profiled_calls = 0

    def layer_profile(self) -> list[dict[str, Any]]:
        """The mean per call of OpenVINO's per-layer times, by layer type and kernel, slowest first: rows of
        ``{"layer", "kernel", "layers", "ms", "share"}`` (``layers`` of that kind per call; ``share`` of the
        summed layer time). Empty without ``profile`` or before a call."""
        if not self.profiled_calls:
            return []
        total = sum(self.layer_ms.values()) or 1.0
        return [
            {
                "layer": layer,
                "kernel": kernel,
                "layers": self.layer_counts[(layer, kernel)],
                "ms": ms / self.profiled_calls,
                "share": ms / total,
            }
            for (layer, kernel), ms in self.layer_ms.most_common()
        ]


def quantize_openvino(path: Path, samples: Sequence[np.ndarray], out: Path) -> Path:
    """The IR ``path`` quantized to int8 by NNCF (post-training, static) with ``samples`` (model inputs of its
    shape) as calibration data; saved as ``out``."""
    if not samples:
        raise DLADenseError(
            f"no calibration images of input shape {path.stem} were recorded; calibrate on images of the size "
            "you predict on (Predictor.calibrate, --calib-images)"
        )
    try:
        import nncf
    except ImportError:
        raise DLADenseError("int8 needs NNCF: pip install -e '.[export]'") from None
    import openvino as ov

    model = openvino_core().read_model(os.fspath(path))
    quantized = nncf.quantize(model, nncf.Dataset(list(samples)), subset_size=len(samples))
    ov.save_model(quantized, os.fspath(out), compress_to_fp16=False)
    return out
