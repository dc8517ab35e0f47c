"""What the CenterNet-family tasks (``det``, ``pose``, ``track``, ``fairmot``) share: the network of a list of
heads (``pose_dla_dcn.py``), COCO-format images with CenterNet's augmentation, the heads' losses and decoding,
COCO AP, the input normalisation of reference checkpoints, and the test flags and probe of box models. Each task
composes :class:`CenterNetTask` with its heads, data and declared :class:`CenterNetSpec`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..config import (
    Config,
)
from ..data.coco import CocoDetDataset
from ..data.det_transforms import (
    CENTERNET_COCO_MEAN,
    CENTERNET_COCO_STD,
    CenterNetEvalTransform,
    CenterNetTrainTransform,
)
from ..dist import DistInfo
from ..engine.sampling import eval_batches, keep_sample
from ..errors import DLADenseError
from ..evaluation import CocoEvaluator, run_evaluation
from ..evaluation.undefined import format_metrics
from ..fields import image_fields
from ..heads import BoxHead, CenterNetHeads, EmbeddingHead, Fields
from ..inference.detection import detect, detect_batch
from ..inference.results import DetResult
from ..models.centernet import DEFAULT_BOX_OUTPUTS, CenterNet
from ..models.inputs import batch_inputs
from ..outputs import output_file
from .base import Task, backbone_options, check_num_classes
from .parts import PLAIN, BenchmarkSpec, Frames, PredictRun, Probe, TestOptions

#: The input of CenterNet's (and CenterTrack's) training checkpoints: BGR with CenterNet's COCO statistics.
CENTERNET_INPUT: dict[str, Any] = {"mean": CENTERNET_COCO_MEAN, "std": CENTERNET_COCO_STD, "bgr": True}


def checkpoint_input(extras: dict[str, Any], reference: Mapping[str, Any] = CENTERNET_INPUT) -> dict[str, Any] | None:
    """The input normalisation a checkpoint's model expects, from ``load_checkpoint``'s return value.

    A dla_dense checkpoint stores it in ``meta`` (``mean``, ``std``, ``bgr``). A reference training checkpoint
    (``{'epoch': ..., 'state_dict': ...}``, no ``meta``) expects its reference's input, ``reference`` (CenterNet's
    by default). Anything else gives ``None`` (use the config's).
    """
    meta = extras.get("meta")
    if isinstance(meta, dict) and all(k in meta for k in ("mean", "std", "bgr")):
        return {"mean": tuple(meta["mean"]), "std": tuple(meta["std"]), "bgr": bool(meta["bgr"])}
    if meta is None and "epoch" in extras and "iteration" not in extras:
        return dict(reference)
    return None


#: What the benchmark measures for CenterNet detection and keypoints.
DET_BENCH = BenchmarkSpec(input_size=(512, 512), compare=("fast", "bf16", "node"), archs=("node",))


class DetTest(TestOptions):
    """The detection test tool: ``--flip``, ``--scales``, ``--out FILE``."""

    @classmethod
    def add_args(cls, parser: argparse.ArgumentParser) -> None:
        """``--flip``, ``--scales``, ``--out FILE``."""
        parser.add_argument("--flip", action="store_true", help="flip test (heatmap and size averaged, as CenterNet)")
        parser.add_argument(
            "--scales", type=float, nargs="+", help="test scales, merged with NMS (e.g. 0.5 0.75 1 1.25 1.5)"
        )
        parser.add_argument("--out", metavar="FILE", help="write the detections as a COCO results json")

    @classmethod
    def options(cls, task: Task, args: argparse.Namespace) -> dict[str, Any]:
        """``flip``, ``scales`` and ``out_file`` from the flags."""
        return {
            "flip": args.flip or None,
            "scales": tuple(args.scales) if args.scales else None,
            "out_file": output_file(args.out, ".json") if args.out else None,
        }

    @classmethod
    def summary(cls, task: Task, metrics: Mapping[str, float]) -> str:
        """``AP .. AP50 .. AP75 ..``."""
        return format_metrics({k: metrics[k] for k in ("AP", "AP50", "AP75")})


class DetProbe(Probe):
    """Random images with the heads' targets, the heatmap agreement and the image files of a CenterNet-family task."""

    def random_batch(self, batch: int, size: tuple[int, int], device: torch.device) -> dict[str, torch.Tensor]:
        """Random images ``[batch, 3, *size]`` with the heads' targets of ``spec.random_objects`` random objects
        per image."""
        stride = CenterNet.output_stride
        heads = self.task.heads()
        samples = [
            heads.random_targets(self.task.spec.random_objects, (size[0] // stride, size[1] // stride), None)
            for _ in range(batch)
        ]
        targets = {k: torch.stack([s[k] for s in samples]).to(device) for k in samples[0]}
        return {"image": torch.randn(batch, 3, *size).to(device), **targets}

    def agreement(self, pairs: list[tuple[dict, dict]]) -> dict[str, float]:
        """The largest difference between the sigmoid heatmaps and their references'."""
        diff = max(float((o["hm"].float().sigmoid() - r["hm"].float().sigmoid()).abs().max()) for o, r in pairs)
        return {"hm_max_abs_diff": diff}

    def image_paths(self, split: str) -> list[Path]:
        """The images of ``split``, in the annotation file's order."""
        dataset = self.task.dataset(split)
        return [dataset.img_dir / info["file_name"] for info in dataset.coco.loadImgs(dataset.coco.getImgIds())]


@dataclass(frozen=True)
class CenterNetSpec:
    """The declared differences between CenterNet-family tasks."""

    #: The network class (a :class:`CenterNet` or a subclass).
    network: type[CenterNet] = CenterNet
    #: ``model`` keys passed on to :attr:`network` beyond CenterNet's (CenterTrack: ``pre_hm``).
    network_keys: tuple[str, ...] = ()
    #: The input normalisation of the reference's own checkpoints (``{'epoch', 'state_dict'}``).
    reference_input: Mapping[str, Any] = field(default_factory=lambda: dict(CENTERNET_INPUT))
    #: Whether the test input fits the whole frame into ``evaluation.input_size`` (FairMOT's letterbox) rather
    #: than its longer side (CenterNet's ``fix_res``).
    letterbox: bool = False
    #: Objects per image in the probe's random batches.
    random_objects: int = 8


def box_options(cfg: Config) -> dict[str, Any]:
    """``max_objs`` (``data``) and the loss weights ``hm_weight``, ``wh_weight``, ``off_weight`` (``model``) of any
    box head."""
    m = cfg.model
    return {
        "max_objs": cfg.data.max_objs,
        "hm_weight": m.hm_weight,
        "wh_weight": m.wh_weight,
        "off_weight": m.off_weight,
    }


def crop_options(cfg: Config) -> dict[str, Any]:
    """The keywords of CenterNet's crop / flip / colour augmentation and input normalisation from ``data`` (shared
    by the CenterNet and CenterTrack train transforms)."""
    d = cfg.data
    return {
        "input_size": d.crop_size,
        "down_ratio": CenterNet.output_stride,
        "mean": d.mean,
        "std": d.std,
        "bgr": d.bgr,
        "scale_range": d.crop_scale_range,
        "flip": 0.5 if d.hflip else 0.0,
        "color_aug": d.color_aug,
    }


def embedding_heads(cfg: Config, identities: int | None) -> list[EmbeddingHead]:
    """FairMOT's embedding head when ``model.reid_dim > 0`` (else none), over ``model.num_identities`` or
    ``identities`` (the training data's)."""
    m = cfg.model
    if not m.reid_dim:
        return []
    count = m.num_identities or identities
    return [EmbeddingHead(m.reid_dim, num_identities=count, weighting=m.id_weighting, weight=m.id_weight)]


class CenterNetTask(Task):
    """A CenterNet-family task on a COCO-format dataset (``data.root`` + ``coco_ann_file``/``coco_img_dir``): the
    detector's heads by default (:meth:`heads`), the network and normalisation of :attr:`spec`. Not registered:
    the registered tasks compose it."""

    #: The declared differences (network, reference input, letterbox, random objects).
    spec: ClassVar[CenterNetSpec] = CenterNetSpec()

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self._classes: tuple[str, ...] | None = None
        self.category_ids: tuple[int, ...] | None = None
        self._num_identities: int | None = None

    def dataset(self, split: str, transform=None) -> CocoDetDataset:
        """The COCO-format dataset of ``split`` (paths from the ``data.coco_*`` templates)."""
        d = self.cfg.data
        root = Path(d.root)
        dataset = self._open_dataset(
            root / d.coco_ann_file.format(split=split),
            root / d.coco_img_dir.format(split=split),
            transform=transform,
            classes=d.classes,
        )
        check_num_classes(self.cfg.model, len(dataset.classes), f"'{dataset.ann_file}'", "categories")
        self._classes = tuple(dataset.classes)
        self.category_ids = dataset.cat_ids
        return dataset

    def _open_dataset(self, ann_file: Path, img_dir: Path, **kwargs: Any) -> CocoDetDataset:
        return CocoDetDataset(ann_file, img_dir, **kwargs)

    @property
    def classes(self) -> tuple[str, ...]:
        """Category names, from the config or the dataset."""
        if self.cfg.data.classes:
            return tuple(self.cfg.data.classes)
        if self._classes is None:
            self.dataset(self.cfg.data.val_split)
        return self._classes

    def adopt_checkpoint(self, extras: Mapping[str, Any]) -> None:
        """Feed the model the normalisation its checkpoint was trained with (see :func:`checkpoint_input`; a
        reference checkpoint: ``spec.reference_input``) and take the class names it stores."""
        meta = extras.get("meta")
        saved = meta.get("classes") if isinstance(meta, dict) else None
        if isinstance(saved, list) and len(saved) == self.cfg.model.num_classes and not self.cfg.data.classes:
            self._classes = tuple(saved)
            ids = meta.get("category_ids")
            self.category_ids = tuple(ids) if isinstance(ids, list) and len(ids) == len(saved) else None
        found = checkpoint_input(extras, self.spec.reference_input)
        d = self.cfg.data
        if found is None or (tuple(d.mean), tuple(d.std), d.bgr) == (found["mean"], found["std"], found["bgr"]):
            return
        self.logger.info(
            "the checkpoint expects %s input normalised with mean %s, std %s; using that instead of the config's",
            "BGR" if found["bgr"] else "RGB",
            tuple(round(v, 4) for v in found["mean"]),
            tuple(round(v, 4) for v in found["std"]),
        )
        d.mean, d.std, d.bgr = found["mean"], found["std"], found["bgr"]

    def heads(self, with_data: bool = False) -> CenterNetHeads:
        """The network's heads: the box head (``hm``, ``wh``, ``reg``). ``with_data``: the heads for data and
        decoding, which may need what the data says (a keypoint schema); without, enough for the network and
        its loss."""
        m = self.cfg.model
        box = BoxHead(m.num_classes, radius_mode=self.cfg.data.radius_mode, **box_options(self.cfg))
        return CenterNetHeads([box, *embedding_heads(self.cfg, self._num_identities)])

    def build_criterion(self, identities: int | None = None) -> nn.Module | None:
        """The embedding head's identity classifier (and uncertainty weights), when the model has one, over
        ``model.num_identities``, else the training data's identities (read by :meth:`train_set`), else
        ``identities`` (random data: the benchmark, tests)."""
        if identities is not None and self._num_identities is None:
            self._num_identities = identities
        wanted, found = self.cfg.model.num_identities, self._num_identities
        if self.cfg.model.reid_dim and wanted and found is not None and found > wanted:
            raise DLADenseError(
                f"model.num_identities={wanted} but the training data has {found} identities; "
                f"set model.num_identities={found} or leave it unset (counted from the data)"
            )
        self.criterion = self.heads().criterion()
        return self.criterion

    def build_model(self) -> CenterNet:
        """``spec.network`` of ``cfg.model`` with exactly the outputs of :meth:`heads`: inputs -> ``{output: map}``
        at stride 4."""
        m = self.cfg.model
        heads = self.heads()
        return self.spec.network(
            m.backbone,
            m.num_classes,
            node=m.node,
            head_conv=m.head_conv,
            heads={name: 0 for name in DEFAULT_BOX_OUTPUTS} | heads.outputs,
            initial_bias=heads.initial_bias(),
            **{key: getattr(m, key) for key in self.spec.network_keys},
            **backbone_options(self.cfg.model),
        )

    def train_set(self) -> Dataset:
        """Training split with CenterNet's augmentation and targets at the model's output stride."""
        dataset = self.dataset(self.cfg.data.train_split)
        dataset.transform = self.train_transform()
        self._num_identities = dataset.num_identities
        return dataset

    def train_transform(self) -> CenterNetTrainTransform:
        """CenterNet's augmentation (crop, flip, colour) and the heads' targets."""
        return CenterNetTrainTransform(self.heads(with_data=True), **crop_options(self.cfg))

    def val_set(self) -> Dataset:
        """Validation split, raw images (pre-processing happens per scale in :meth:`evaluate`)."""
        return self.dataset(self.cfg.data.val_split)

    def eval_transform(self) -> CenterNetEvalTransform:
        """Test-time pre-processing: ``evaluation.input_size`` (``spec.letterbox``) or CenterNet's keep-resolution
        padding."""
        d = self.cfg.data
        return CenterNetEvalTransform(
            input_size=self.cfg.evaluation.input_size,
            mean=d.mean,
            std=d.std,
            bgr=d.bgr,
            down_ratio=CenterNet.output_stride,
            whole=self.spec.letterbox,
        )

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        """Every head's terms (the box head's: ``hm_loss`` focal, ``wh_loss`` and ``off_loss`` L1 at the centres)."""
        out = model(*batch_inputs(model, batch, device))
        targets = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor) and k != "image"}
        return self.heads().loss(out, targets, self.criterion)

    def loss_weights(self) -> dict[str, float]:
        """The heads' weights (``model.hm_weight``, ``wh_weight`` 0.1, ``off_weight``, as CenterNet's trainer)."""
        return self.heads().loss_weights()

    def total_loss(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The heads' total (FairMOT's uncertainty weighting with an embedding head, else the weighted sum)."""
        return self.heads().total_loss(terms, self.criterion)

    def meta(self) -> dict[str, Any]:
        """Classes (names and COCO category ids) and input normalisation (mean/std order and whether BGR)."""
        classes, ids = list(self.classes), self.category_ids
        return {
            **super().meta(),
            "classes": classes,
            "category_ids": list(ids) if ids else None,
            "bgr": self.cfg.data.bgr,
        }

    @torch.no_grad()
    def evaluate(
        self,
        model: nn.Module,
        dataset: CocoDetDataset,
        dist: DistInfo,
        *,
        flip: bool | None = None,
        scales: tuple[float, ...] | None = None,
        out_file: Path | None = None,
    ) -> dict[str, float]:
        """COCO AP of ``model`` on ``dataset`` (COCOeval), logging its table; ``out_file`` gets the results json."""
        e = self.cfg.evaluation
        transform = self.eval_transform()
        heads = self.heads(with_data=True)
        items = eval_batches(
            dataset, dist, num_workers=self.cfg.data.num_workers, batch_size=None, collate_fn=keep_sample, unit="img"
        )

        def predict(model: nn.Module, item: dict[str, Any]) -> Fields:
            return detect(
                model,
                item["image"],
                heads=heads,
                transform=transform,
                scales=tuple(scales or e.scales),
                flip=e.flip if flip is None else flip,
                max_dets=e.max_dets,
                nms_iou=e.nms_iou,
                fields=[image_fields(item)],
            )

        evaluator = self.evaluator(dataset)
        return run_evaluation(model, items, predict, evaluator, dist, logger=self.logger, out=out_file)

    def evaluator(self, dataset: CocoDetDataset) -> CocoEvaluator:
        """COCO box AP with its per-class table."""
        return CocoEvaluator(dataset)

    def predict(self, model: nn.Module, images: Frames, run: PredictRun = PLAIN) -> list[DetResult]:
        """:class:`DetResult` of each RGB image ``[H, W, 3]``, as evaluation detects (``run.tta``: the
        ``evaluation.tta_scales`` with the flip test)."""
        e = self.cfg.evaluation
        found = detect_batch(
            model,
            images,
            heads=self.heads(with_data=True),
            transform=self.eval_transform(),
            scales=e.tta_scales if run.tta else e.scales,
            flip=e.flip or run.tta,
            max_dets=e.max_dets,
            nms_iou=e.nms_iou,
            timer=run.timer,
            fields=run.fields,
        )
        with run.timer.stage("postprocess"):
            return [self.result_of(image, fields) for image, fields in zip(images, found, strict=True)]

    def result_of(self, image: np.ndarray, fields: Fields) -> DetResult:
        """The :class:`DetResult` of one image's decoded fields."""
        return DetResult(
            image=image,
            boxes=fields["boxes"].numpy().astype(np.float32),
            scores=fields["scores"].numpy().astype(np.float32),
            labels=fields["labels"].numpy().astype(np.int64),
            class_names=tuple(self.classes),
            category_ids=self.category_ids,
        )
