"""FairMOT's re-identification head: an appearance embedding per object centre, trained as identity
classification (``src/lib/trains/mot.py``), with FairMOT's uncertainty weighting of detection and identity."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DLADenseError
from ..ops.centernet import transpose_and_gather_feat
from .base import Fields, Head, Maps, Peaks, Terms, Warp, positive_slots

#: FairMOT's initial uncertainty weights (``s_det``, ``s_id``).
S_DET, S_ID = -1.85, -1.05
WEIGHTINGS = ("uncertainty", "fixed")


class EmbeddingCriterion(nn.Module):
    """The learned part of the embedding loss, trained with the network and kept in training checkpoints:
    ``classifier`` (``Linear(dim, num_identities)``) and, with uncertainty weighting, ``s_det`` / ``s_id``
    (``[1]`` each)."""

    def __init__(self, dim: int, num_identities: int, weighting: str) -> None:
        super().__init__()
        self.classifier = nn.Linear(dim, num_identities)
        if weighting == "uncertainty":
            self.s_det = nn.Parameter(torch.full((1,), S_DET))
            self.s_id = nn.Parameter(torch.full((1,), S_ID))


class EmbeddingHead(Head):
    """``id [N, dim, H/4, W/4]``: an appearance embedding at every output pixel (FairMOT ``--reid_dim``, 128).

    Item field ``identities [M]`` (int64, -1: none; slot ``k`` is object ``k`` of the box head); target ``ids
    [max_objs]`` (-1 where the box head made no positive). Loss ``id_loss``: the embeddings at the positives' centres
    with an identity, L2-normalised, times ``sqrt(2) * ln(num_identities - 1)``, through the identity classifier
    (:class:`EmbeddingCriterion`), cross-entropy; 0 (with gradients) for a batch without identities. The total:
    ``weighting="uncertainty"`` gives ``0.5 * (exp(-s_det) * det + exp(-s_id) * id + s_det + s_id)`` with the
    other heads' weighted sum as ``det`` (FairMOT's default); ``"fixed"``: ``det + weight * id``. Decoding gives
    ``embeddings [K, dim]``, L2-normalised per pixel before gathering (FairMOT's tracker).
    """

    item_fields = ("identities",)
    fields = ("embeddings",)

    def __init__(
        self, dim: int = 128, *, num_identities: int | None = None, weighting: str = "uncertainty", weight: float = 0.1
    ) -> None:
        if weighting not in WEIGHTINGS:
            raise DLADenseError(f"id loss weighting '{weighting}' is unknown; use one of {', '.join(WEIGHTINGS)}")
        self.dim = dim
        self.num_identities = num_identities
        self.weighting = weighting
        self.weights = {"id_loss": weight}

    @property
    def outputs(self) -> dict[str, int]:
        return {"id": self.dim}

    @property
    def emb_scale(self) -> float:
        """FairMOT's ``emb_scale``: ``sqrt(2) * ln(num_identities - 1)``."""
        return math.sqrt(2) * math.log(self.num_identities - 1)

    def criterion(self) -> EmbeddingCriterion:
        if self.num_identities is None or self.num_identities < 3:
            raise DLADenseError(
                f"the embedding head needs at least 3 identities in the training data, found {self.num_identities}; "
                "train on data with track ids (model.num_identities sets the count)"
            )
        return EmbeddingCriterion(self.dim, self.num_identities, self.weighting)

    def warp(self, item: Fields, warp: Warp) -> Fields:
        return {"identities": np.asarray(item["identities"], np.int64).reshape(-1)}

    def encode(self, fields: Fields, targets: dict[str, torch.Tensor], *, output_size: tuple[int, int]) -> None:
        positive = positive_slots(targets)
        ids = torch.full(positive.shape, -1, dtype=torch.int64)
        identities = torch.as_tensor(np.asarray(fields["identities"], np.int64))[: len(ids)]
        ids[: len(identities)] = identities
        targets["ids"] = torch.where(positive, ids, -1)

    def random_fields(
        self, found: Fields, count: int, output_size: tuple[int, int], generator: torch.Generator | None
    ) -> Fields:
        """Identities drawn from ``num_identities`` (or 10), a few without one (-1)."""
        high = self.num_identities or 10
        return {"identities": torch.randint(-1, high, (count,), generator=generator)}

    def loss(self, outputs: Maps, batch: Maps, learned: nn.Module | None = None) -> Terms:
        if learned is None:
            raise DLADenseError("the embedding head's loss needs its identity classifier (the task's criterion)")
        ids = batch["ids"]
        valid = ids >= 0
        embedding = transpose_and_gather_feat(outputs["id"], batch["ind"])[valid].float()
        logits = learned.classifier(self.emb_scale * F.normalize(embedding, dim=1))
        if not bool(valid.any()):
            return {"id_loss": logits.sum() * 0.0}
        return {"id_loss": F.cross_entropy(logits, ids[valid])}

    def combine(
        self, rest: torch.Tensor, own: Mapping[str, torch.Tensor], learned: nn.Module | None
    ) -> torch.Tensor | None:
        """FairMOT's uncertainty weighting of ``rest`` (the other heads' weighted sum) and ``id_loss``; None with
        the fixed weighting (the plain weighted sum)."""
        if self.weighting != "uncertainty":
            return None
        s_det, s_id = learned.s_det[0], learned.s_id[0]
        return 0.5 * (torch.exp(-s_det) * rest + torch.exp(-s_id) * own["id_loss"] + s_det + s_id)

    def merge_flip(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"id": outputs["id"][:1]}

    def decode(self, outputs: Mapping[str, torch.Tensor], peaks: Peaks, found: Fields) -> Fields:
        # normalised after the gather: each embedding by its own norm, as FairMOT's normalised map read at the peaks
        return {"embeddings": F.normalize(transpose_and_gather_feat(outputs["id"], peaks.inds), dim=-1)}
