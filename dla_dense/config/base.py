"""Configs: plain Python files of section dicts, validated against typed schemas.

A config file assigns dicts to the section names below (``model = dict(backbone="dla34", ...)``) and may
inherit one base file with ``_base_ = "other.py"`` (path relative to the file; sections merge key by key).
Overrides ``"section.key=value"`` parse ``value`` as a Python literal (falling back to a string). Unknown
sections or keys, wrong types and syntax errors raise :class:`DLADenseError` naming the key and the fix.
Config files are Python and therefore trusted code: load only configs you trust. A ``.json`` config (what
:meth:`Config.dump_json` and ``save_pretrained`` write) is data: it is parsed, never run, and validated by the
same schemas.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import json
import pprint
import runpy
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from ..errors import DLADenseError
from ..registry import Registered

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Bound:
    """The allowed values of a numeric key (each element of a tuple): ``low``/``high`` inclusive unless
    ``open_low``; ``multiple_of`` for sizes the network divides."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    multiple_of: int | None = None

    def admits(self, value: float) -> bool:
        """Whether ``value`` is allowed."""
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        if self.high is not None and value > self.high:
            return False
        return self.multiple_of is None or value % self.multiple_of == 0

    def describe(self) -> str:
        """The range in words, e.g. ``>= 1``, ``in [0, 1]``, ``> 0``, ``a positive multiple of 32``."""
        if self.multiple_of is not None:
            return f"a positive multiple of {self.multiple_of}"
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{'>' if self.open_low else '>='} {self.low:g}"
        return f"<= {self.high:g}"


AT_LEAST_1 = Bound(1)
AT_LEAST_0 = Bound(0)
POSITIVE = Bound(0, open_low=True)
FRACTION = Bound(0, 1)
#: Image sizes the DLA networks accept: multiples of their largest stride.
STRIDE_32 = Bound(32, multiple_of=32)


@dataclass
class ModelConfig:
    """What network to build: the keys every task has (each task's schema adds its own)."""

    RANGES: ClassVar[dict[str, Bound]] = {"num_classes": AT_LEAST_1, "frozen_stages": Bound(-1, 5)}
    task: str = "seg"
    backbone: str = "dla34"
    num_classes: int = 19
    pretrained: bool | str = False
    frozen_stages: int = -1
    norm_eval: bool = False


@dataclass
class DataConfig:
    """Where the data is, how it is read and batched: the keys every task has."""

    RANGES: ClassVar[dict[str, Bound]] = {
        "crop_size": AT_LEAST_1,
        "std": POSITIVE,
        "batch_size": AT_LEAST_1,
        "val_batch_size": AT_LEAST_1,
        "num_workers": AT_LEAST_0,
        "max_bad_fraction": FRACTION,
    }
    dataset: str = ""
    root: str = "data"
    synthetic: dict[str, Any] | None = None
    train_split: str = "train"
    val_split: str = "val"
    classes: tuple[str, ...] | None = None
    crop_size: tuple[int, int] = (512, 1024)
    hflip: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    batch_size: int = 8
    val_batch_size: int = 1
    num_workers: int | None = None
    on_bad_sample: Literal["skip", "fail"] = "skip"
    max_bad_fraction: float = 0.1


@dataclass
class OptimConfig:
    """Optimizer and learning-rate schedule (per iteration)."""

    RANGES: ClassVar[dict[str, Bound]] = {
        "lr": AT_LEAST_0,
        "momentum": FRACTION,
        "betas": Bound(0, 1),
        "weight_decay": AT_LEAST_0,
        "power": AT_LEAST_0,
        "steps": AT_LEAST_1,
        "gamma": AT_LEAST_0,
        "min_lr": AT_LEAST_0,
        "warmup_iters": AT_LEAST_0,
        "warmup_ratio": FRACTION,
        "clip_grad_norm": POSITIVE,
    }
    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-4
    schedule: Literal["poly", "step", "constant"] = "poly"
    power: float = 0.9
    steps: tuple[int, ...] = ()
    gamma: float = 0.1
    min_lr: float = 0.0
    warmup_iters: int = 0
    warmup_ratio: float = 0.1
    clip_grad_norm: float | None = None


@dataclass
class TrainConfig:
    """Length of the run, checkpoints, validation, logging and precision."""

    RANGES: ClassVar[dict[str, Bound]] = {
        "max_iters": AT_LEAST_1,
        "val_interval": AT_LEAST_1,
        "checkpoint_interval": AT_LEAST_1,
        "keep_checkpoints": AT_LEAST_1,
        "log_interval": AT_LEAST_1,
        "seed": AT_LEAST_0,
    }
    max_iters: int = 1000
    val_interval: int = 500
    checkpoint_interval: int = 500
    keep_checkpoints: int = 2
    log_interval: int = 20
    amp: Literal["none", "bf16", "fp16", "auto"] = "none"
    channels_last: bool = False
    seed: int = 0
    deterministic: bool = False
    sync_bn: bool = False
    tensorboard: bool = False
    on_nan: Literal["stop", "skip"] = "stop"


@dataclass
class EvalConfig:
    """How images are predicted at validation and test time (the keys are the task's)."""


@dataclass
class TestTimeConfig(EvalConfig):
    """Prediction at several ``scales`` (merged) and with the mirrored image (``flip``); ``--tta`` predicts at
    ``tta_scales`` with flip."""

    RANGES: ClassVar[dict[str, Bound]] = {"scales": POSITIVE, "tta_scales": POSITIVE}
    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    tta_scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


@dataclass
class Config:
    """A whole run: every section, plus the config's name and source file."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    name: str = "config"
    path: str | None = None
    #: Modules imported before the config is validated (a user's own tasks, heads, data sources, trackers).
    custom_imports: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The five sections as plain dicts (and ``custom_imports`` when there are any)."""
        out: dict[str, Any] = {s: dataclasses.asdict(getattr(self, s)) for s in SECTIONS}
        if self.custom_imports:
            out["custom_imports"] = list(self.custom_imports)
        return out

    def dump(self, path: str | Path) -> Path:
        """Write the resolved config as a Python config file that :func:`load_config` reads back."""
        path = Path(path)
        lines = [f"# Resolved config of '{self.name}' (from {self.path}).\n"]
        for key, values in self.to_dict().items():
            lines.append(f"{key} = {pprint.pformat(values, sort_dicts=False, width=100)}\n")
        path.write_text("\n".join(lines))
        return path

    def dump_json(self, path: str | Path) -> Path:
        """Write the resolved config as JSON (data that :func:`load_config` reads back without running code)."""
        path = Path(path)
        path.write_text(json.dumps({"name": self.name, **self.to_dict()}, indent=2), encoding="utf-8")
        return path


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
    "evaluation": EvalConfig,
}


def _read(path: Path, seen: tuple[Path, ...]) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise DLADenseError(f"config file not found: '{path}'; pass a file such as configs/demo_dla34.py")
    if path.resolve() in seen:
        raise DLADenseError(f"config '{path}' inherits from itself through _base_")
    try:
        namespace = runpy.run_path(str(path))
    except SyntaxError as e:
        raise DLADenseError(f"config '{path}' line {e.lineno}: {e.msg}; fix the Python syntax") from None
    except (Exception, SystemExit) as e:  # noqa: BLE001 - any error raised by the config's own code
        raise DLADenseError(f"config '{path}' failed to run: {type(e).__name__}: {e}") from None
    names = {
        k: v
        for k, v in namespace.items()
        if not k.startswith("__") and not isinstance(v, (types.ModuleType, types.FunctionType, type)) and k != "_base_"
    }
    for key, value in names.items():
        if key.startswith("_") or key == IMPORTS_KEY:
            continue
        if key not in SECTIONS:
            raise DLADenseError(f"config '{path}': unknown section '{key}'{_suggest(key, [*SECTIONS, IMPORTS_KEY])}")
        if not isinstance(value, Mapping):
            raise DLADenseError(f"config '{path}': section '{key}' must be a dict, not {type(value).__name__}")
    raw: dict[str, Any] = {k: dict(v) for k, v in names.items() if k in SECTIONS}
    imports = _module_names(names.get(IMPORTS_KEY, ()), path)
    base = namespace.get("_base_")
    if base is None:
        return {**raw, IMPORTS_KEY: imports}
    merged = _read((path.parent / base), seen=(*seen, path.resolve()))
    for section, values in raw.items():
        merged.setdefault(section, {}).update(values)
    merged[IMPORTS_KEY] = tuple(dict.fromkeys((*merged[IMPORTS_KEY], *imports)))
    return merged


#: The config key naming modules to import first (a user's own tasks, heads, data sources, trackers).
IMPORTS_KEY = "custom_imports"


def _module_names(value: Any, path: Path) -> tuple[str, ...]:
    """``custom_imports`` checked: a list of dotted module names."""
    items = value if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(v, str) and all(p.isidentifier() for p in v.split(".")) for v in items):
        raise DLADenseError(
            f"config '{path}': {IMPORTS_KEY}={value!r} must be a list of module names, e.g. [\"my_heads\"]"
        )
    return tuple(items)


def _read_json(path: Path) -> dict[str, Any]:
    """The sections (and ``name``) of a JSON config: parsed as data, checked like a Python config's."""
    if not path.is_file():
        raise DLADenseError(f"config file not found: '{path}'; check the path")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DLADenseError(f"config '{path}' is not UTF-8 text; pass a JSON config file") from None
    except json.JSONDecodeError as e:
        raise DLADenseError(f"config '{path}' line {e.lineno}: {e.msg}; fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise DLADenseError(f"config '{path}' must hold a JSON object of sections, not {type(data).__name__}")
    name = data.pop("name", path.stem)
    if not isinstance(name, str):
        raise DLADenseError(f"config '{path}': name must be a string, not {type(name).__name__}")
    imports = _module_names(data.pop(IMPORTS_KEY, ()), path)
    for key, value in data.items():
        if key not in SECTIONS:
            raise DLADenseError(f"config '{path}': unknown section '{key}'{_suggest(key, [*SECTIONS, IMPORTS_KEY])}")
        if not isinstance(value, dict):
            raise DLADenseError(f"config '{path}': section '{key}' must be an object, not {type(value).__name__}")
    return {"name": name, IMPORTS_KEY: imports, **data}


def _suggest(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(choices)})"


def _parse_override(item: str) -> tuple[str, str, str, Any]:
    """``"section.key=value"`` -> ``(item, section, key, value)``, the value parsed as a Python literal."""
    key, sep, text = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise DLADenseError(f"override '{item}' is not of the form section.key=value (e.g. optim.lr=0.01)")
    if section not in SECTIONS:
        raise DLADenseError(f"override '{item}': unknown section '{section}'{_suggest(section, SECTIONS)}")
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        value = text.strip()
    return item, section, name, value


def _check_key(schema: type, section: str, key: str, where: str) -> None:
    """Raise for a key that ``schema`` lacks: the new name of a renamed key, else the closest known key."""
    fields = [f.name for f in dataclasses.fields(schema)]
    if key in fields:
        return
    renamed = getattr(schema, "RENAMED", {})
    if key in renamed:
        raise DLADenseError(f"{where}: '{section}.{key}' is now '{section}.{renamed[key]}' in {schema.TASK} configs")
    raise DLADenseError(f"{where}: unknown key '{section}.{key}'{_suggest(key, fields)}")


def _build_section(section: str, schema: type, values: Mapping[str, Any], path: Path) -> Any:
    hints = typing.get_type_hints(schema, include_extras=True)
    checked = {}
    for key, value in values.items():
        _check_key(schema, section, key, f"config '{path}'")
        ok, converted = _convert(value, hints[key])
        if not ok:
            raise DLADenseError(
                f"config '{path}': {section}.{key}={value!r} has the wrong type; expected {_type_name(hints[key])}"
            )
        checked[key] = converted
    built = schema(**checked)
    _check_ranges(built, section, path)
    return built


def ranges(schema: type) -> dict[str, Bound]:
    """The :class:`Bound` of each numeric key of ``schema``, its own and its base classes' ``RANGES``."""
    merged: dict[str, Bound] = {}
    for cls in reversed(schema.__mro__):
        merged.update(cls.__dict__.get("RANGES", {}))
    return merged


def _check_ranges(values: Any, section: str, path: Path) -> None:
    for key, bound in ranges(type(values)).items():
        value = getattr(values, key)
        items = value if isinstance(value, tuple) else (value,)
        bad = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool) and not bound.admits(v)]
        if bad:
            each = "each value " if isinstance(value, tuple) else ""
            raise DLADenseError(
                f"config '{path}': {section}.{key}={value!r} is out of range; {each}must be {bound.describe()}"
            )


def _convert(value: Any, tp: Any) -> tuple[bool, Any]:
    """Check ``value`` against type ``tp``; lists become tuples and ints become floats where declared."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return True, value
    if tp is type(None):
        return value is None, value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            ok, converted = _convert(value, option)
            if ok:
                return True, converted
        return False, value
    if origin is Literal:
        return value in args, value
    if origin is Annotated:
        ok, converted = _convert(value, args[0])
        return ok and all(m.admits(converted) for m in args[1:] if isinstance(m, Registered)), converted
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False, value
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return False, value
        results = [_convert(v, t) for v, t in zip(value, items, strict=True)]
        return all(ok for ok, _ in results), tuple(v for _, v in results)
    if origin is dict:
        return isinstance(value, Mapping), dict(value) if isinstance(value, Mapping) else value
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    return isinstance(value, tp), value


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Annotated:
        found = [m.describe() for m in get_args(tp)[1:] if isinstance(m, Registered)]
        return found[0] if found else _type_name(get_args(tp)[0])
    if get_origin(tp) is tuple and get_args(tp) and get_origin(get_args(tp)[0]) is Annotated:
        return f"a list of {_type_name(get_args(tp)[0])}"
    text = str(tp).replace("typing.", "")
    return text.replace("<class '", "").replace("'>", "")
