"""Top-k accuracy of classifiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..dist import DistInfo, sum_tensor
from .base import Evaluator
from .undefined import format_metric


class TopKEvaluator(Evaluator):
    """Top-1 and top-5 accuracy (``top1``, ``top5``) of ``(batch with "label" [N], logits [N, C])``, where top-5
    looks at the ``k`` best classes (``min(5, C)`` for fewer classes); hits and image counts are summed over
    processes."""

    def __init__(self, k: int = 5) -> None:
        self.k = k
        self.counts = torch.zeros(3, dtype=torch.float64)
        self.metrics: dict[str, float] = {}

    def reset(self) -> None:
        self.counts.zero_()

    def process(self, batch: Mapping[str, Any], predictions: torch.Tensor) -> None:
        top = predictions.float().cpu().topk(min(self.k, predictions.shape[1]), dim=1).indices
        hit = top == batch["label"].view(-1, 1)
        self.counts += torch.tensor([hit[:, 0].sum().item(), hit.any(1).sum().item(), len(hit)], dtype=torch.float64)

    def gather(self, dist: DistInfo) -> None:
        self.counts = sum_tensor(self.counts)

    def compute(self) -> dict[str, float]:
        hits1, hitsk, total = self.counts.tolist()
        self.metrics = {
            "top1": hits1 / total if total else float("nan"),
            "top5": hitsk / total if total else float("nan"),
        }
        return self.metrics

    def table(self) -> str:
        def pct(name: str) -> str:
            value = self.metrics[name]
            return f"{100 * value:.2f} %" if value == value else format_metric(value)

        return f"top-1 {pct('top1')}  top-5 {pct('top5')}  ({int(self.counts[2])} images)"
