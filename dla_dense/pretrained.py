"""Shareable trained models: a folder with the resolved config, ``model.safetensors`` and a model card, loaded
back from disk or from the Hugging Face Hub (``"hf-hub:<org>/<name>"``), the convention of timm and smp.

A saved folder holds data only: ``config.json`` (parsed, never run, validated by the task's schemas) and
safetensors weights. A folder whose config is Python (``config.py``, as work dirs hold) is refused unless the
caller passes ``trust_remote_code=True`` for a source they trust, the Hugging Face convention.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import load_config
from .engine.checkpoint import atomic_write
from .errors import DLADenseError
from .outputs import output_dir
from .tasks import build_task
from .tasks.parts import describe
from .weights import META_KEY, _first_line, _reachable, read_checkpoint

if TYPE_CHECKING:
    from .predictor import Predictor

CONFIG_FILE = "config.json"
#: A config written as Python: runs as code when read, so it is loaded only with ``trust_remote_code=True``.
CODE_CONFIG_FILE = "config.py"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
#: The safetensors metadata key holding the checkpoint's meta (task, classes, normalisation) as JSON.
HUB_PREFIX = "hf-hub:"


def _best_metrics(work_dir: Path, metric: str) -> dict[str, Any] | None:
    """The validation record of ``metrics.jsonl`` with the best ``metric`` (what ``best.pth`` holds)."""
    path = work_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    best = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        valid = isinstance(record, dict) and record.get("mode") == "val" and isinstance(record.get(metric), float)
        if valid and (best is None or record[metric] > best[metric]):
            best = record
    return best


def _card(cfg: Any, network: str, meta: dict[str, Any], metrics: dict[str, Any] | None, command: str) -> str:
    lines = [
        f"# {cfg.name}",
        "",
        f"A dla_dense {cfg.model.task} model: {network}, trained on `{cfg.data.root}`.",
        "",
        "```python",
        "from dla_dense import Predictor",
        'predictor = Predictor.from_pretrained("<this folder, or hf-hub:<org>/<name>>")',
        'result = predictor("photo.jpg")',
        'result.save("photo_pred.jpg")',
        "```",
        "",
        f"Classes ({len(meta.get('classes') or [])}): {', '.join(meta.get('classes') or []) or 'not recorded'}.",
        "",
    ]
    if metrics:
        shown = {k: v for k, v in metrics.items() if isinstance(v, float) and "." not in k and k != "time"}
        lines += [f"## Metrics (validation split `{cfg.data.val_split}`, iteration {metrics.get('iter')})", ""]
        lines += ["| metric | value |", "|---|---|"] + [f"| {k} | {v:.4f} |" for k, v in shown.items()]
        lines += ["", f"Measured during training; the same numbers come from `{command}`.", ""]
    else:
        lines += ["## Metrics", "", f"Not measured; measure with `{command}`.", ""]
    return "\n".join(lines)


def save_pretrained(
    source: str | os.PathLike | Predictor, out_dir: str | os.PathLike, *, checkpoint: str = "best.pth"
) -> Path:
    """Write a self-contained model folder ``out_dir``: ``config.json`` (the resolved config, as data),
    ``model.safetensors`` (the weights, with the meta as metadata) and ``README.md`` (a model card with the
    validation metrics and the command that measures them).

    ``source`` is a training work dir (its ``config.py`` and ``checkpoint``) or a :class:`~dla_dense.Predictor`
    built without ``fast``/``compile``. Returns ``out_dir``.
    """
    from safetensors.torch import save

    out = Path(out_dir)
    if not isinstance(source, (str, os.PathLike)):
        if source.prepared:
            raise DLADenseError(
                "save_pretrained needs a Predictor built without fast=True, compile=True or another backend"
            )
        cfg, state, meta = source.cfg, source.model.state_dict(), source.task.meta()
        metrics, network = None, describe(source.task)
        command = f"python tools/test.py {out / CONFIG_FILE} {out / WEIGHTS_FILE}"
    else:
        work_dir = Path(source)
        config_path, weights = work_dir / CODE_CONFIG_FILE, work_dir / checkpoint
        if not config_path.is_file() or not weights.is_file():
            raise DLADenseError(
                f"'{work_dir}' is not a finished work dir ({CODE_CONFIG_FILE} and {checkpoint} are needed); "
                "pass the folder a training run wrote, or a Predictor"
            )
        cfg = load_config(config_path)
        state, extras = read_checkpoint(weights)
        task = build_task(cfg)
        meta = extras.get("meta") if isinstance(extras.get("meta"), dict) else {}
        metrics, network = _best_metrics(work_dir, task.metric), describe(task)
        command = f"python tools/test.py {config_path} {weights}"
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    output_dir(out, "save_pretrained out_dir")
    config_text = json.dumps({"name": cfg.name, **cfg.to_dict()}, indent=2).encode()
    atomic_write(out / CONFIG_FILE, lambda f: f.write(config_text))
    weights = save(state, metadata={META_KEY: json.dumps(meta)})
    atomic_write(out / WEIGHTS_FILE, lambda f: f.write(weights))
    card = _card(cfg, network, meta, metrics, command)
    atomic_write(out / CARD_FILE, lambda f: f.write(card.encode("utf-8")))
    return out


def _refuse_code(where: str) -> DLADenseError:
    return DLADenseError(
        f"{where} has its config only as Python ({CODE_CONFIG_FILE}), which runs as code when read, so it is not "
        f"loaded; re-save it with save_pretrained (it writes {CONFIG_FILE}), or pass trust_remote_code=True to "
        "Predictor.from_pretrained if you trust its source"
    )


def _from_hub(repo: str, trust_remote_code: bool) -> tuple[Path, Path]:
    """The config file and ``model.safetensors`` of Hub repo ``repo``: from the cache, else downloaded.
    ``config.py`` is fetched only when the repo has no ``config.json`` and ``trust_remote_code`` is set."""
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    def cached(name: str) -> Path | None:
        found = try_to_load_from_cache(repo, name)
        return Path(found) if isinstance(found, str) else None

    weights, config = cached(WEIGHTS_FILE), cached(CONFIG_FILE)
    if weights is not None and config is None and cached(CODE_CONFIG_FILE) is not None:
        if not trust_remote_code:
            raise _refuse_code(f"Hub model '{repo}'")
        config = cached(CODE_CONFIG_FILE)
    if weights is not None and config is not None:
        return config, weights
    how = "download the folder elsewhere and pass its path to Predictor.from_pretrained"
    if constants.HF_HUB_OFFLINE:
        raise DLADenseError(f"'{repo}' is not in the Hugging Face cache and HF_HUB_OFFLINE is set; {how}")
    if not _reachable(constants.ENDPOINT):
        raise DLADenseError(
            f"cannot download '{repo}': the Hugging Face hub ({constants.ENDPOINT}) is unreachable and the model "
            f"is not cached; {how}"
        )
    try:
        try:
            config = Path(hf_hub_download(repo, CONFIG_FILE))
        except EntryNotFoundError:
            if not trust_remote_code:
                raise _refuse_code(f"Hub model '{repo}'") from None
            config = Path(hf_hub_download(repo, CODE_CONFIG_FILE))
        return config, Path(hf_hub_download(repo, WEIGHTS_FILE))
    except (OSError, HfHubHTTPError) as e:
        raise DLADenseError(f"downloading '{repo}' failed ({_first_line(e)}); {how}") from None


def locate_pretrained(name_or_path: str | os.PathLike, *, trust_remote_code: bool = False) -> tuple[Path, Path]:
    """The config file and weights of a model folder written by :func:`save_pretrained`, or of
    ``"hf-hub:<org>/<name>"`` (downloaded into the Hugging Face cache once). The config is ``config.json``; a
    folder with only ``config.py`` is refused unless ``trust_remote_code``."""
    name = os.fspath(name_or_path)
    if name.startswith(HUB_PREFIX):
        return _from_hub(name.removeprefix(HUB_PREFIX), trust_remote_code)
    folder = Path(name)
    config, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not folder.is_dir():
        raise DLADenseError(
            f"model folder '{folder}' not found; pass a folder written by save_pretrained or hf-hub:<org>/<name>"
        )
    if not config.is_file() and (folder / CODE_CONFIG_FILE).is_file():
        if not trust_remote_code:
            raise _refuse_code(f"'{folder}'")
        config = folder / CODE_CONFIG_FILE
    missing = [p.name for p in (config, weights) if not p.is_file()]
    if missing:
        raise DLADenseError(
            f"'{folder}' is not a saved model: {', '.join(missing)} missing (save_pretrained writes them)"
        )
    return config, weights
