"""Metrics that a split cannot define (no labelled pixel, no ground-truth object, no keypoint): NaN in the
metrics dicts, ``null`` in JSON, and the word ``undefined`` wherever a person reads them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

UNDEFINED = "undefined"


def is_defined(value: Any) -> bool:
    """Whether ``value`` is a finite number (an undefined metric is NaN)."""
    return isinstance(value, (int, float)) and math.isfinite(value)


def format_metric(value: Any, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or ``undefined`` for NaN and missing values."""
    return f"{value:.{digits}f}" if is_defined(value) else UNDEFINED


def format_metrics(metrics: Mapping[str, Any]) -> str:
    """``name value`` pairs of the headline metrics (names without a dot), undefined ones in words."""
    return "  ".join(f"{k} {format_metric(v)}" for k, v in metrics.items() if "." not in k)


def json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with NaN and infinite floats as ``None``, so that the JSON written is standard."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}
