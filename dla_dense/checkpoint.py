"""Loading weights into dla_dense models: own checkpoints and the reference layouts."""

from __future__ import annotations

import logging
import os

from torch import nn

from .errors import DLADenseError
from .weights import _is_dead_projection, mismatch_listing, read_checkpoint, shape_mismatches

_log = logging.getLogger(__name__)


def load_checkpoint(model: nn.Module, path: str | os.PathLike, *, strict: bool = True) -> dict[str, object]:
    """Load the weights in ``path`` into ``model``; return the checkpoint's other entries (or ``{}``).

    The file is read with ``torch.load(weights_only=True)`` (or safetensors). Accepted layouts:

    - dla_dense checkpoints ``{'model': state_dict, 'optimizer': ..., 'iteration': ..., 'meta': ...}``
      (everything but ``model`` is returned) and bare state dicts of ``model``;
    - ucbdrive/dla ``DLASeg`` state dicts (``base.*``, ``dla_up.*``, ``fc.*``, ``up.*``), also wrapped in
      ``{'state_dict': ...}`` and with the DataParallel ``module.`` prefix. Their ``base.fc.*`` classifier
      and the unused ``project`` layers of non-leaf trees are dropped; missing ``num_batches_tracked``
      counters are fine;
    - ImageNet backbone weights (timm or ucbdrive/dla keys, e.g. ``base_layer.0.weight``), loaded into
      ``model.base`` without the classifier ``fc``; the rest of the model keeps its weights.

    With ``strict=True`` any other missing or unexpected key or shape mismatch raises
    :class:`DLADenseError` naming the counts and first keys. With ``strict=False`` what fits is loaded and
    what was skipped is logged as a warning; a file of which nothing fits still raises.
    """
    state, extras = read_checkpoint(path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    expected = list(own)
    if isinstance(getattr(model, "base", None), nn.Module) and not any(
        k in own or k.startswith("base.") for k in state
    ):
        state = {f"base.{k}": v for k, v in state.items()}
        expected = [k for k in own if k.startswith("base.")]
    missing = sorted(k for k in expected if k not in state and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in state if k not in own and not _is_reference_extra(k))
    mismatched = shape_mismatches(state, own)
    fitting = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    problems = mismatch_listing(missing, unexpected, mismatched)
    if problems and (strict or not fitting):
        raise DLADenseError(
            f"checkpoint '{path}' does not fit {_describe(model)}: {problems}pass a checkpoint saved from "
            "this model (dla_dense, ucbdrive/dla DLASeg, CenterNet ctdet or ImageNet backbone layout), or load with "
            "strict=False to keep only what fits"
        )
    if problems:
        _log.warning(
            "checkpoint '%s' loaded partly into %s (%d of %d tensors); skipped: %s",
            path,
            _describe(model),
            len(fitting),
            len(own),
            problems.removesuffix("; "),
        )
    model.load_state_dict(fitting, strict=False)
    return extras


def _is_reference_extra(key: str) -> bool:
    """Keys of reference checkpoints that dla_dense models leave out on purpose."""
    return key.startswith("base.fc.") or _is_dead_projection(key)


def _describe(model: nn.Module) -> str:
    details = model.extra_repr()
    return f"{type(model).__name__}({details})" if details else type(model).__name__
