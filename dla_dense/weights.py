"""Reading weights: dla_dense checkpoints and the reference layouts (ucbdrive/dla DLASeg, CenterNet), ImageNet
backbone files (timm, ucbdrive/dla, CenterNet) and timm's hub.

All checkpoint files are read with ``torch.load(..., weights_only=True)`` or ``safetensors``; a pickle
that would run code is refused.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import DLADenseError

WeightsSource = bool | str | os.PathLike
_CONTAINER_KEYS = ("state_dict", "model", "state_dict_ema", "model_state")
_HUB_FILES = ("model.safetensors", "pytorch_model.bin")
_PROBE_TIMEOUT_S = 3.0
_log = logging.getLogger(__name__)

#: The key of the meta (classes, normalisation, ...) in a saved model's safetensors metadata.
META_KEY = "dla_dense_meta"


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.pth``/``.pt``/``.bin``/``.safetensors`` file into a flat ``{name: tensor}`` dict.

    Training checkpoints that wrap the weights (``{'state_dict': ...}``, ``{'model': ...}``) are unwrapped.
    """
    return read_checkpoint(path)[0]


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """Read a weights file into ``(state_dict, extras)``.

    ``extras`` holds the other top-level entries of a training checkpoint that wraps its weights
    (``{'model': ..., 'optimizer': ..., 'meta': ...}`` gives ``optimizer`` and ``meta``), or the ``meta`` that
    :func:`~dla_dense.save_pretrained` stores in a ``.safetensors`` file's metadata; it is empty for a bare
    state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise DLADenseError(f"weights file not found: '{path}'; check the path")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise DLADenseError(f"'{path}' is not a readable safetensors file ({_first_line(e)})") from None
        meta = safetensors_meta(path)
        return state, ({"meta": meta} if meta else {})
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        detail = (
            f"it holds a '{found.group(1)}' object, not only tensors"
            if found
            else "it is not a PyTorch checkpoint, or it holds objects other than tensors"
        )
        raise DLADenseError(
            f"'{path}' was refused by the safe loader (torch.load weights_only=True): {detail}; pass a "
            "state-dict file (torch.save(model.state_dict(), path)) from a source you trust"
        ) from None
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file fails in many ways inside torch.load
        raise DLADenseError(
            f"'{path}' is not a PyTorch checkpoint ({type(e).__name__}: {_first_line(e)}); "
            "pass a file written by torch.save"
        ) from None
    extras: dict[str, object] = {}
    if isinstance(obj, Mapping):
        container = next((k for k in _CONTAINER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if container is not None:
            extras = {k: v for k, v in obj.items() if k != container}
    return _unwrap(obj, path), extras


def _first_line(e: BaseException) -> str:
    """First sentence of an exception message, for one-line errors."""
    text = str(e).strip().splitlines()
    return text[0].split(". ")[0] if text else type(e).__name__


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in _CONTAINER_KEYS:
            if isinstance(obj.get(key), Mapping):
                return _unwrap(obj[key], path)
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors and all(isinstance(k, str) for k in tensors):
            return tensors
    raise DLADenseError(f"'{path}' holds no state dict (expected a mapping of parameter names to tensors)")


def to_timm_layout(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a ucbdrive/dla, CenterNet or DataParallel state dict onto timm's DLA key names.

    Strips ``module.`` (DataParallel/DDP) and keeps only the ``base.`` backbone of a CenterNet/DLASeg
    checkpoint. Keys are otherwise identical between timm and ucbdrive/dla.
    """
    sd = {k.removeprefix("module."): v for k, v in state_dict.items()}
    if any(k.startswith("base.") for k in sd):
        sd = {k.removeprefix("base."): v for k, v in sd.items() if k.startswith("base.")}
    return sd


def _is_dead_projection(key: str) -> bool:
    # ucbdrive/dla and CenterNet build a `project` shortcut in non-leaf trees that is never used;
    # timm only builds it where it is used.
    return ".project." in f".{key}"


def load_into(model: nn.Module, source: str | os.PathLike, *, name: str) -> None:
    """Load ImageNet weights from a file into a full timm DLA ``model`` (with its ``fc``).

    Accepts timm, ucbdrive/dla (extra unused ``project`` keys, no ``num_batches_tracked``) and CenterNet
    (``base.`` prefix) layouts. The classifier is loaded only when its shape matches; otherwise the model
    keeps its freshly initialised ``fc`` (fine-tuning to another class count). Any other mismatch raises
    :class:`DLADenseError` that lists the offending keys.
    """
    sd = to_timm_layout(read_state_dict(source))
    own = model.state_dict()
    fc_keys = {k for k in sd if k.startswith("fc.")}
    if any(k not in own or own[k].shape != sd[k].shape for k in fc_keys):
        sd = {k: v for k, v in sd.items() if k not in fc_keys}
    else:
        fc_keys = set()
    unexpected = sorted(k for k in sd if k not in own and not _is_dead_projection(k))
    missing = sorted(k for k in own if k not in sd and k not in fc_keys and not k.endswith("num_batches_tracked"))
    mismatched = shape_mismatches(sd, own)
    if missing or unexpected or mismatched:
        raise DLADenseError(
            f"weights file '{source}' does not fit {name}: "
            f"{mismatch_listing(missing, unexpected, mismatched)}"
            f"pass weights saved from {name} (timm, ucbdrive/dla or CenterNet layout)"
        )
    model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)


def shape_mismatches(state: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]) -> list[str]:
    """Sorted ``"key: file [..] vs model [..]"`` for each key of ``state`` whose shape differs in ``own``."""
    return sorted(
        f"{k}: file {list(v.shape)} vs model {list(own[k].shape)}"
        for k, v in state.items()
        if k in own and v.shape != own[k].shape
    )


def mismatch_listing(missing: list[str], unexpected: list[str], mismatched: list[str]) -> str:
    """One line with the count and first few keys of each non-empty list; each part ends in ``"; "``."""
    return (
        f"{_listing('missing', missing)}{_listing('unexpected', unexpected)}{_listing('shape mismatches', mismatched)}"
    )


def _listing(what: str, keys: list[str], shown: int = 4) -> str:
    if not keys:
        return ""
    more = f", ... (+{len(keys) - shown})" if len(keys) > shown else ""
    return f"{len(keys)} {what} ({', '.join(keys[:shown])}{more}); "


def hub_weights_file(name: str) -> str:
    """Local path of timm's pretrained ``name`` weights: from the Hugging Face cache, else downloaded.

    Never waits on retries: in offline mode (``HF_HUB_OFFLINE=1``) or when the hub does not answer within
    a few seconds, raises :class:`DLADenseError` that says how to pass a local file instead.
    """
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    repo = cfg.hf_hub_id if cfg is not None else None
    if not repo:
        raise DLADenseError(f"timm publishes no pretrained weights for '{name}'; pass a local weights file")
    for filename in _HUB_FILES:
        cached = try_to_load_from_cache(repo, filename)
        if isinstance(cached, str):
            return cached
    how = (
        "pass a local ImageNet weights file instead (pretrained='PATH.pth' in Python, --weights PATH "
        "on the command line), or run without pretrained weights"
    )
    if constants.HF_HUB_OFFLINE:
        raise DLADenseError(
            f"pretrained weights for {name} ({repo}) are not in the Hugging Face cache and HF_HUB_OFFLINE is set; {how}"
        )
    if not _reachable(constants.ENDPOINT):
        raise DLADenseError(
            f"cannot download pretrained weights for {name}: the Hugging Face hub ({constants.ENDPOINT}) "
            f"is unreachable and {repo} is not cached; {how}"
        )
    try:
        return hf_hub_download(repo, _HUB_FILES[0])
    except EntryNotFoundError:
        return hf_hub_download(repo, _HUB_FILES[1])
    except (OSError, HfHubHTTPError) as e:
        raise DLADenseError(f"downloading {repo} failed ({_first_line(e)}); {how}") from None


def _reachable(url: str, timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """Whether ``url`` answers at all within ``timeout`` seconds (DNS included)."""
    answered: list[bool] = []

    def probe() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout)
            answered.append(True)
        except urllib.error.HTTPError:
            answered.append(True)  # it answered, even if with an error status
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


def resolve_pretrained(name: str, pretrained: WeightsSource) -> str | None:
    """Path of the weights file that ``pretrained`` designates for model ``name``, or None for random init."""
    if pretrained is False or pretrained is None:
        return None
    if pretrained is True:
        return hub_weights_file(name)
    if isinstance(pretrained, (str, os.PathLike)):
        return os.fspath(pretrained)
    raise DLADenseError(f"pretrained must be False, True or a path to a weights file, not {pretrained!r}")


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


def safetensors_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The meta stored in a ``model.safetensors`` by :func:`save_pretrained` (``{}`` when there is none)."""
    from safetensors import safe_open

    with safe_open(os.fspath(path), framework="pt") as f:
        metadata = f.metadata() or {}
    try:
        meta = json.loads(metadata.get(META_KEY, "{}"))
    except json.JSONDecodeError:
        return {}
    return meta if isinstance(meta, dict) else {}
