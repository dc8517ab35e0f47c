"""CenterNet-style detection: COCO-format data, focal + L1 losses, ctdet decode, COCO AP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as tdist
from torch import nn
from torch.utils.data import Dataset
from torchvision.ops import batched_nms

from .config import Config
from .data.coco import CocoDetDataset, coco_evaluate, coco_results
from .data.det_transforms import (
    CENTERNET_COCO_MEAN,
    CENTERNET_COCO_STD,
    CenterNetEvalTransform,
    CenterNetTrainTransform,
    transform_preds,
)
from .engine.dist import DistInfo
from .engine.logging import get_logger
from .engine.sampling import eval_batches, keep_sample
from .errors import DLADenseError
from .models.centernet import CenterNet
from .ops import ctdet_decode, focal_loss, reg_l1_loss

DOWN_RATIO = 4


def build_detector(cfg: Config) -> CenterNet:
    """The CenterNet DLA-up detector ``cfg.model`` describes."""
    m = cfg.model
    return CenterNet(
        m.backbone,
        m.num_classes,
        node=m.node,
        head_conv=m.head_conv,
        pretrained=m.pretrained,
        frozen_stages=m.frozen_stages,
        norm_eval=m.norm_eval,
    )


@torch.no_grad()
def detect(
    model: nn.Module,
    image: np.ndarray,
    *,
    transform: CenterNetEvalTransform,
    scales: tuple[float, ...] = (1.0,),
    flip: bool = False,
    max_dets: int = 100,
    nms_iou: float = 0.5,
) -> torch.Tensor:
    """Detections ``[K, 6]`` (x1, y1, x2, y2, score, class) in pixels of ``image`` (uint8 RGB ``[H, W, 3]``).

    Per scale the image is resized, pre-processed by ``transform`` and decoded like CenterNet: with ``flip``
    the heatmap and sizes are averaged with the flipped pass, the offsets come from the unflipped one.
    Several scales are merged with class-wise NMS (torchvision) and the ``max_dets`` best are kept.
    """
    import cv2

    device = next(model.parameters()).device
    all_dets = []
    for scale in scales:
        scaled = (
            image if scale == 1.0 else cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
        )
        item = transform({"image": scaled, "image_id": 0})
        x = item["image"].unsqueeze(0).to(device)
        if flip:
            x = torch.cat([x, x.flip(-1)])
        out = model(x)
        hm, wh, reg = out["hm"].float().sigmoid(), out["wh"].float(), out["reg"].float()
        if flip:
            hm = (hm[:1] + hm[1:].flip(-1)) / 2
            wh = (wh[:1] + wh[1:].flip(-1)) / 2
            reg = reg[:1]
        dets = ctdet_decode(hm, wh, reg, K=max_dets)[0].cpu()
        boxes = torch.from_numpy(transform_preds(dets[:, :4], item["meta"])) / scale
        all_dets.append(torch.cat([boxes, dets[:, 4:]], dim=1))
    dets = torch.cat(all_dets)
    if len(scales) > 1:
        keep = batched_nms(dets[:, :4], dets[:, 4], dets[:, 5].long(), nms_iou)
        dets = dets[keep]
    order = dets[:, 4].argsort(descending=True)[:max_dets]
    return dets[order]


def checkpoint_input(extras: dict[str, Any]) -> dict[str, Any] | None:
    """The input normalisation a checkpoint's model expects, from ``load_checkpoint``'s return value.

    A dla_dense checkpoint stores it in ``meta`` (``mean``, ``std``, ``bgr``). A CenterNet training
    checkpoint (``{'epoch': ..., 'state_dict': ...}``, no ``meta``) expects BGR images normalised with
    CenterNet's COCO statistics. Anything else gives ``None`` (use the config's).
    """
    meta = extras.get("meta")
    if isinstance(meta, dict) and all(k in meta for k in ("mean", "std", "bgr")):
        return {"mean": tuple(meta["mean"]), "std": tuple(meta["std"]), "bgr": bool(meta["bgr"])}
    if meta is None and "epoch" in extras and "iteration" not in extras:
        return {"mean": CENTERNET_COCO_MEAN, "std": CENTERNET_COCO_STD, "bgr": True}
    return None


class DetTask:
    """CenterNet ctdet on a COCO-format dataset (``data.root`` + ``coco_ann_file``/``coco_img_dir``)."""

    metric = "AP"

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.logger = get_logger()
        self._classes: tuple[str, ...] | None = None

    def prepare(self) -> None:
        """Write the synthetic shapes set first when the config asks for it."""
        if self.cfg.data.synthetic is not None:
            from .data.synthetic_shapes import make_synthetic_shapes

            make_synthetic_shapes(self.cfg.data.root, **self.cfg.data.synthetic)

    def dataset(self, split: str, transform=None) -> CocoDetDataset:
        """The COCO-format dataset of ``split`` (paths from the ``data.coco_*`` templates)."""
        d = self.cfg.data
        root = Path(d.root)
        dataset = CocoDetDataset(
            root / d.coco_ann_file.format(split=split),
            root / d.coco_img_dir.format(split=split),
            transform=transform,
            classes=d.classes,
        )
        if len(dataset.classes) != self.cfg.model.num_classes:
            raise DLADenseError(
                f"model.num_classes={self.cfg.model.num_classes} but '{dataset.ann_file}' has "
                f"{len(dataset.classes)} categories; set model.num_classes={len(dataset.classes)}"
            )
        self._classes = tuple(dataset.classes)
        return dataset

    @property
    def classes(self) -> tuple[str, ...]:
        """Category names, from the config or the dataset."""
        if self.cfg.data.classes:
            return tuple(self.cfg.data.classes)
        if self._classes is None:
            self.dataset(self.cfg.data.val_split)
        return self._classes

    def adopt_checkpoint_input(self, extras: dict[str, Any]) -> None:
        """Feed the model the normalisation its checkpoint was trained with (see :func:`checkpoint_input`)."""
        found = checkpoint_input(extras)
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

    def build_model(self) -> nn.Module:
        """The detector of the config."""
        return build_detector(self.cfg)

    def train_set(self) -> Dataset:
        """Training split with CenterNet's augmentation and targets."""
        d, m = self.cfg.data, self.cfg.model
        transform = CenterNetTrainTransform(
            num_classes=m.num_classes,
            input_size=d.crop_size,
            down_ratio=DOWN_RATIO,
            mean=d.mean,
            std=d.std,
            bgr=d.bgr,
            scale_range=d.scale_range,
            flip=0.5 if d.hflip else 0.0,
            color_aug=d.color_jitter > 0,
            max_objs=d.max_objs,
            radius_mode=d.radius_mode,
        )
        return self.dataset(d.train_split, transform)

    def val_set(self) -> Dataset:
        """Validation split, raw images (pre-processing happens per scale in :meth:`evaluate`)."""
        return self.dataset(self.cfg.data.val_split)

    def eval_transform(self) -> CenterNetEvalTransform:
        """Test-time pre-processing: ``evaluation.input_size`` or CenterNet's keep-resolution padding."""
        d = self.cfg.data
        return CenterNetEvalTransform(
            input_size=self.cfg.evaluation.input_size, mean=d.mean, std=d.std, bgr=d.bgr, down_ratio=DOWN_RATIO
        )

    def loss(self, model: nn.Module, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        """CenterNet's loss: focal heatmap loss + ``wh_weight`` x L1 size + ``off_weight`` x L1 offset."""
        m = self.cfg.model
        out = model(batch["image"].to(device, non_blocking=True))
        mask, ind = batch["reg_mask"].to(device), batch["ind"].to(device)
        hm = focal_loss(out["hm"].float(), batch["hm"].to(device))
        wh = reg_l1_loss(out["wh"].float(), mask, ind, batch["wh"].to(device))
        off = reg_l1_loss(out["reg"].float(), mask, ind, batch["reg"].to(device))
        return m.hm_weight * hm + m.wh_weight * wh + m.off_weight * off

    def meta(self) -> dict[str, Any]:
        """Classes and input normalisation (mean/std order and whether BGR)."""
        d = self.cfg.data
        return {"task": "det", "classes": list(self.classes), "mean": list(d.mean), "std": list(d.std), "bgr": d.bgr}

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
        was_training = model.training
        model.eval()
        transform = self.eval_transform()
        detections: dict[int, torch.Tensor] = {}
        items = eval_batches(
            dataset, dist, num_workers=self.cfg.data.num_workers, batch_size=None, collate_fn=keep_sample, unit="img"
        )
        for item in items:
            detections[int(item["image_id"])] = detect(
                model,
                item["image"],
                transform=transform,
                scales=tuple(scales or e.scales),
                flip=e.flip if flip is None else flip,
                max_dets=e.max_dets,
                nms_iou=e.nms_iou,
            )
        if dist.distributed:
            gathered: list[dict[int, torch.Tensor]] = [{} for _ in range(dist.world_size)]
            tdist.all_gather_object(gathered, detections)
            detections = {k: v for part in gathered for k, v in part.items()}
        model.train(was_training)
        if not dist.is_main:
            return {}
        results = coco_results(detections, dataset)
        if out_file is not None:
            Path(out_file).parent.mkdir(parents=True, exist_ok=True)
            Path(out_file).write_text(json.dumps(results))
        summary = coco_evaluate(dataset, results)
        self.logger.info("\n" + summary["table"])
        return {k: v for k, v in summary.items() if isinstance(v, float)}
