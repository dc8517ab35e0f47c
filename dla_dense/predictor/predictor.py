"""``Predictor``: a trained model (any task) as a callable that takes images and returns typed results."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..config import Config, load_config
from ..dist import DistInfo, resolve_device
from ..errors import DLADenseError
from ..export import export_outputs
from ..images import load_image, upright
from ..inference.engines import EngineModel
from ..inference.fast import bf16_autocast, prepare_for_inference
from ..inference.results import Result
from ..inference.timing import StageTimer
from ..tasks import build_task
from ..tasks.parts import PredictRun, probe
from ..weights import load_checkpoint
from .stream import Stream

ImageLike = str | os.PathLike | Image.Image | np.ndarray


def as_rgb(image: ImageLike) -> np.ndarray:
    """An RGB uint8 array ``[H, W, 3]`` of a path, a PIL image or an ``H x W x 3`` uint8 RGB array; files and PIL
    images are turned as their EXIF orientation says, so results are in the orientation people see. An image
    without pixels is refused."""
    if isinstance(image, (str, os.PathLike)):
        rgb = np.array(load_image(image, exif_transpose=True))
    elif isinstance(image, Image.Image):
        rgb = np.array(upright(image).convert("RGB"))
    elif isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise DLADenseError(
                f"an image array must be H x W x 3 uint8 RGB, got {image.dtype} {list(image.shape)}; "
                "convert it first (e.g. cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for OpenCV frames)"
            )
        rgb = np.ascontiguousarray(image)
    else:
        raise DLADenseError(f"cannot read an image from a {type(image).__name__}; pass a path, a PIL image or an array")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise DLADenseError(
            f"the image is empty ({rgb.shape[0]} x {rgb.shape[1]} pixels); pass a frame with pixels (a video "
            "reader gives an empty frame at its end or on a decoding error)"
        )
    return rgb


class Predictor:
    """A trained model ready to predict: ``Predictor(config, checkpoint)(image)``.

    ``config`` is a config file (or a loaded :class:`~dla_dense.config.Config`), ``checkpoint`` a dla_dense or
    reference checkpoint (None: the config's initial weights). The task, the normalisation (from the
    checkpoint's meta, as the test tools use it), the padding and the output stride come with them. ``fast``
    folds BatchNorm and uses channels-last weights, ``bf16`` runs under bfloat16 autocast (stem in float32),
    ``compile`` wraps the model in ``torch.compile``. ``backend`` "onnxruntime" or "openvino" runs an exported
    copy instead (:class:`~dla_dense.inference.engines.EngineModel`, CPU; ``bf16`` then asks OpenVINO for bf16).
    ``int8`` quantizes that copy with OpenVINO/NNCF after :meth:`calibrate` (``backend`` becomes "openvino").
    ``model``: the config's network already built (e.g. with weights set by hand) instead of a new one; a
    ``checkpoint`` is still loaded into it. ``timer`` sums the time of each stage of every call.
    """

    def __init__(
        self,
        config: str | os.PathLike | Config,
        checkpoint: str | os.PathLike | None = None,
        *,
        device: str | torch.device | None = None,
        fast: bool = False,
        bf16: bool = False,
        compile: bool = False,
        backend: str = "torch",
        int8: bool = False,
        cfg_options: Sequence[str] = (),
        model: nn.Module | None = None,
    ) -> None:
        self.cfg = config if isinstance(config, Config) else load_config(config, list(cfg_options))
        self.task = build_task(self.cfg)
        model = self.task.build_model() if model is None else model
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        if checkpoint is not None:
            self.task.adopt_checkpoint(load_checkpoint(model, checkpoint))
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        model.to(self.device).eval()
        backend = "openvino" if int8 and backend == "torch" else backend
        if backend != "torch":
            if self.device.type != "cpu":
                raise DLADenseError(f"the {backend} backend runs on the CPU; pass device='cpu' (--device cpu)")
            module, names, as_dict = export_outputs(model)
            model = EngineModel(module, names, backend, as_dict=as_dict, bf16=bf16, int8=int8)
        elif fast or bf16 or compile:
            model = prepare_for_inference(model, fuse=fast, channels_last=fast, compile=compile, bf16=bf16)
        self.model = model
        self.backend = backend
        #: Whether the model is no longer the trained module (folded BatchNorm, compiled, another engine).
        self.prepared = fast or compile or backend != "torch"
        self.bf16 = bf16 and backend == "torch"
        self.timer = StageTimer()

    @classmethod
    def from_work_dir(cls, work_dir: str | os.PathLike, checkpoint: str = "best.pth", **options: Any) -> Predictor:
        """The model a training run wrote: ``work_dir/config.py`` (the resolved config) and ``work_dir/best.pth``
        (or ``checkpoint``, a file name in the work dir)."""
        work_dir = Path(work_dir)
        config, weights = work_dir / "config.py", work_dir / checkpoint
        if not config.is_file():
            raise DLADenseError(f"'{config}' not found; pass the work dir of a training run (it writes config.py)")
        if not weights.is_file():
            found = sorted(p.name for p in work_dir.glob("*.pth"))
            raise DLADenseError(
                f"'{weights}' not found; the work dir has {', '.join(found) if found else 'no checkpoints'}"
                + (f"; pass checkpoint='{found[-1]}'" if found else "")
            )
        return cls(config, weights, **options)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, *, trust_remote_code: bool = False, **options: Any
    ) -> Predictor:
        """A model shared with :func:`~dla_dense.save_pretrained`: a folder, or ``"hf-hub:<org>/<name>"`` on the
        Hugging Face Hub (downloaded once into its cache). Its ``config.json`` is read as data; a folder with
        only a Python ``config.py`` runs code when read and is refused unless ``trust_remote_code``."""
        from ..pretrained import locate_pretrained

        config, weights = locate_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        overrides = list(options.pop("cfg_options", ()))
        return cls(load_config(config, overrides, run_imports=trust_remote_code), weights, **options)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's class names."""
        return tuple(self.task.classes)

    def __call__(
        self, images: ImageLike | Sequence[ImageLike], *, tta: bool = False, **options: Any
    ) -> Result | list[Result]:
        """Results of one image (a path, a PIL image or an ``H x W x 3`` uint8 RGB array) or of a list of them
        (images of one size share a forward pass). ``tta``: the task's test-time augmentation; ``options``: the
        task's own (``probabilities=True`` for segmentation) and the image's named fields (``calib=K``,
        ``image_id=7``; for a list of images, a list of values, one per image), which the task's heads may use
        and each result keeps as ``result.fields``. Independent images: for a video's frames use :meth:`stream`."""
        single = not isinstance(images, (list, tuple))
        results = self.predict([images] if single else list(images), tta=tta, single=single, **options)
        return results[0] if single else results

    def predict(
        self, images: Sequence[ImageLike], *, state: Any = None, single: bool = False, **options: Any
    ) -> list[Result]:
        """Results of ``images`` in order; ``state`` is a stream's (see :meth:`stream`), None for independent
        images; ``options`` as for :meth:`__call__` (``single``: they are one image's)."""
        own, fields = self._split(options, len(images), single)
        with self.timer.stage("preprocess"):
            arrays = [as_rgb(image) for image in images]
        with torch.inference_mode(), bf16_autocast(self.device, self.bf16):
            run = PredictRun(tta=own.pop("tta", False), timer=self.timer, state=state, fields=fields)
            results = self.task.predict(self.model, arrays, run, **own)
        self.timer.images += len(arrays)
        for result, given in zip(results, fields, strict=False):
            result.fields = dict(given)
        return results

    @functools.cached_property
    def _task_options(self) -> frozenset[str]:
        """The names the task's ``predict`` takes as options (and ``tta``), read once: every other keyword of a
        call is an image field."""
        params = inspect.signature(self.task.predict).parameters.values()
        return frozenset({"tta", *(p.name for p in params if p.kind is p.KEYWORD_ONLY)})

    def _split(
        self, options: dict[str, Any], count: int, single: bool
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
        """``options`` as the task's own keywords (and ``tta``) and each image's named fields (none: ``()``)."""
        own = {k: v for k, v in options.items() if k in self._task_options}
        given = {k: v for k, v in options.items() if k not in self._task_options}
        if not given:
            return own, ()
        if single:
            return own, (given,)
        for name, values in given.items():
            if not isinstance(values, (list, tuple)) or len(values) != count:
                raise DLADenseError(
                    f"{name}= must give one value per image (a list of {count}) when predicting a list of images"
                )
        return own, tuple({name: values[i] for name, values in given.items()} for i in range(count))

    def stream(self, *, tracker: str | None = None, **options: Any) -> Stream:
        """A :class:`~dla_dense.predictor.Stream` for the consecutive frames of one video or camera:
        ``stream(frame)`` gives the frame's result with what the task carries between frames (nothing for
        single-image tasks, tracks for trackers); ``stream.reset()`` starts another video. ``tracker``: a tracking
        task's tracker by its registry name (``"byte"``, ``"jde"``, ...; None: the config's
        ``evaluation.tracker``). ``options`` are passed on each call (``tta=True``, ...)."""
        return Stream(self, tracker=tracker, **options)

    def calibrate(self, images: Sequence[ImageLike], *, video: bool = False) -> int:
        """Record the model inputs of ``images`` (the task's pre-processing, as prediction does) as the int8
        calibration set; returns how many inputs were recorded. Images of the sizes you predict on serve;
        a few hundred training images are typical. ``video``: the images are consecutive frames of one video,
        run through a stream (a tracker's inputs then include the previous frame and its objects)."""
        if not getattr(self.model, "int8", False):
            raise DLADenseError("calibrate is for int8 predictors: Predictor(..., int8=True)")
        self.model.recording = True
        try:
            run = self.stream() if video else self
            for image in images:
                run(image)
        finally:
            self.model.recording = False
        return sum(len(v) for v in self.model.calibration.values())

    def calibrate_on_training_images(self, count: int = 300) -> int:
        """:meth:`calibrate` on ``count`` images spread evenly over the config's training split."""
        paths = probe(self.task).image_paths(self.cfg.data.train_split)
        step = max(1, len(paths) // count)
        return self.calibrate(paths[::step][:count])

    def evaluate(self, dataset: Any = None, dist: DistInfo | None = None, **options: Any) -> dict[str, float]:
        """The task's metrics on ``dataset`` (default: the config's validation split), its table logged;
        ``options`` are the task's test options (``flip=True``, ``tta=True``, ...)."""
        if dataset is None:
            self.task.prepare()
            dataset = self.task.val_set()
        dist = dist or DistInfo(device=self.device)
        with torch.inference_mode(), bf16_autocast(self.device, self.bf16):
            return self.task.evaluate(self.model, dataset, dist, **options)
