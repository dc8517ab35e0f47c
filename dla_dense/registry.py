"""Registries: names -> the things of one kind a config can name (tasks, trackers, data sources). Each kind has
one registry, filled by a decorator where the thing is defined, so that a user's own module (a config's
``custom_imports``) adds to it without editing dla_dense; a lookup of an unknown name is one line naming the
known ones. Config fields annotated ``Annotated[str, Registered(kind)]`` accept the registered names."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import DLADenseError

T = TypeVar("T")

#: Kind -> its registry (every :class:`Registry` adds itself).
REGISTRIES: dict[str, Registry] = {}


class UnknownName(DLADenseError, KeyError):
    """A name no registry entry has."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Mapping[str, T]):
    """The registered things of one ``kind`` by name, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        REGISTRIES[kind] = self

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """A decorator adding its class or object under ``name`` (default: its ``name`` attribute)."""

        def add(item: T) -> T:
            key = name if name is not None else getattr(item, "name", None)
            if not isinstance(key, str) or not key:
                raise DLADenseError(f"a {self.kind} needs a name to be registered: give register() one")
            if key in self._items and self._items[key] is not item:
                raise DLADenseError(f"{self.kind} '{key}' is registered twice; give the new one another name")
            self._items[key] = item
            return item

        return add

    def __getitem__(self, name: str) -> T:
        if name not in self._items:
            raise UnknownName(f"unknown {self.kind} '{name}'; use one of {', '.join(self._items)}")
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"


@dataclass(frozen=True)
class Registered:
    """Config annotation: the value is a name registered under ``kind``."""

    kind: str

    def admits(self, value: Any) -> bool:
        """Whether ``value`` is a registered name (any string while nothing of the kind is registered yet)."""
        registry = REGISTRIES.get(self.kind)
        return isinstance(value, str) and (registry is None or not registry or value in registry)

    def describe(self) -> str:
        """The accepted names, in words."""
        registry = REGISTRIES.get(self.kind)
        names = ", ".join(registry) if registry else "any registered name"
        return f"a {self.kind} name ({names})"
