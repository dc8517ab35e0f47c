"""Combining loss terms."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def weighted_sum(terms: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """``sum(weights[name] * term)`` over ``terms`` in their order (weight 1 where none is set)."""
    weighted = [weights.get(name, 1.0) * value for name, value in terms.items()]
    total = weighted[0]
    for value in weighted[1:]:
        total = total + value
    return total
