"""Reading a config file (Python or JSON) with overrides, validated by its task's schemas."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import DLADenseError
from .base import (
    IMPORTS_KEY,
    SECTIONS,
    Config,
    ModelConfig,
    _build_section,
    _check_key,
    _parse_override,
    _read,
    _read_json,
)
from .schemas import TASK_SCHEMAS


def load_config(path: str | Path, overrides: Iterable[str] = (), *, run_imports: bool = True) -> Config:
    """Read config file ``path``, apply ``"section.key=value"`` overrides, validate, return a :class:`Config`.

    The modules of ``custom_imports`` are imported first (from the config's folder or ``sys.path``), so that the
    tasks, heads, data sources and trackers they register can be named. ``model.task`` picks the task, whose
    schemas (:data:`~dla_dense.config.schemas.TASK_SCHEMAS`) validate ``model``, ``data`` and ``evaluation``;
    ``optim`` and ``train`` are the same for every task. ``run_imports=False`` (a shared model folder, which
    must run no code) only accepts ``custom_imports`` that are imported already.
    """
    path = Path(path)
    raw = _read_json(path) if path.suffix.lower() == ".json" else _read(path, seen=())
    config_name = raw.pop("name", path.stem) if path.suffix.lower() == ".json" else path.stem
    imports = raw.pop(IMPORTS_KEY)
    import_modules(imports, path, run=run_imports)
    parsed = [_parse_override(item) for item in overrides]
    for _, section, name, value in parsed:
        if (section, name) == ("model", "task"):
            raw.setdefault("model", {})["task"] = value
    schemas = task_schemas(raw.get("model", {}).get("task", ModelConfig.task), path)
    for item, section, name, value in parsed:
        _check_key(schemas[section], section, name, f"override '{item}'")
        raw.setdefault(section, {})[name] = value
    sections = {name: _build_section(name, schemas[name], raw.get(name, {}), path) for name in SECTIONS}
    return Config(**sections, name=config_name, path=str(path), custom_imports=imports)


def import_modules(names: Iterable[str], path: str | Path, *, run: bool = True) -> None:
    """Import the modules ``names`` of a config's ``custom_imports`` (the config's folder first on ``sys.path``);
    ``run=False`` only checks that they are imported already."""
    missing = [name for name in names if name not in sys.modules]
    if missing and not run:
        raise DLADenseError(
            f"config '{path}' needs the modules {', '.join(missing)} (custom_imports), which loading a shared "
            "model does not run; import them yourself first if you trust them"
        )
    folder = str(Path(path).resolve().parent)
    if missing and folder not in sys.path:
        sys.path.insert(0, folder)
    for name in missing:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise DLADenseError(
                f"config '{path}': custom_imports cannot import '{name}' ({e}); put it beside the config or on "
                "PYTHONPATH"
            ) from None


def task_schemas(task: object, path: str | Path = "<config>") -> dict[str, type]:
    """The schema of each section for ``task``: the task's own ``model``/``data``/``evaluation`` dataclasses."""
    if not isinstance(task, str) or task not in TASK_SCHEMAS:
        raise DLADenseError(f"config '{path}': model.task={task!r} is not a task; use one of {', '.join(TASK_SCHEMAS)}")
    return {**SECTIONS, **TASK_SCHEMAS[task]}


def default_config(task: str, name: str = "config", **model: Any) -> Config:
    """The default :class:`Config` of ``task``, with ``model`` keys set (for model specs such as ``seg:dla34``)."""
    schemas = task_schemas(task)
    sections = {section: schema() for section, schema in schemas.items()}
    sections["model"] = schemas["model"](task=task, **model)
    return Config(**sections, name=name)
