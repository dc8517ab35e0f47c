"""Other inference engines behind the PyTorch call: onnxruntime or OpenVINO run an exported copy of a model.

:class:`EngineModel` is called like the model it replaces (images ``[N, 3, H, W]`` -> a tensor, or a dict of
named tensors for detectors), so every task's prediction and evaluation code runs unchanged. The model is
exported once per input shape it meets (the exports are fixed-shape; deformable nodes stay
``DeformConv`` / ``DeformableConvolution``) into a temporary folder that is removed with the engine.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import DLADenseError
from ..export import export_onnx, export_openvino, onnx_session, openvino_model

#: ``--backend`` choices: PyTorch itself and the engines :class:`EngineModel` runs.
BACKENDS = ("torch", "onnxruntime", "openvino")


class EngineModel(nn.Module):
    """``module`` (returning a tensor or a tuple named ``output_names``) run by ``backend`` ("onnxruntime" or
    "openvino", on CPU); ``as_dict`` returns ``{name: tensor}`` as a detector does. ``bf16`` asks OpenVINO for
    bf16 precision (onnxruntime has no such switch)."""

    def __init__(
        self, module: nn.Module, output_names: Sequence[str], backend: str, *, as_dict: bool, bf16: bool = False
    ) -> None:
        super().__init__()
        if backend not in BACKENDS[1:]:
            raise DLADenseError(f"unknown backend '{backend}'; use one of {', '.join(BACKENDS)}")
        if bf16 and backend == "onnxruntime":
            raise DLADenseError("onnxruntime has no bf16 switch; drop --bf16 or use --backend openvino")
        self.module = module.eval()
        self.output_names = list(output_names)
        self.backend = backend
        self.as_dict = as_dict
        self.bf16 = bf16
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
                self.sessions[shape] = openvino_model(path, bf16=self.bf16)
        return self.sessions[shape]

    def forward(self, images: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Outputs of the exported model for ``images`` ``[N, 3, H, W]`` (H, W multiples of 32)."""
        if images.device.type != "cpu":
            raise DLADenseError(f"the {self.backend} backend runs on the CPU; pass --device cpu")
        x = images.detach().float().contiguous().numpy()
        session = self._session(tuple(images.shape))
        if self.backend == "onnxruntime":
            outputs = session.run(None, {"images": x})
        else:
            results = session(x)
            outputs = [results[port] for port in session.outputs]
        tensors = [torch.from_numpy(o.copy()) for o in outputs]
        return dict(zip(self.output_names, tensors, strict=True)) if self.as_dict else tensors[0]
