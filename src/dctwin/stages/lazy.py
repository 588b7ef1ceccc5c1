"""Values read only when first used: the big frames of a cached stage (a cluster's jobs and placements).

A warm re-run that changed only economics or the facility needs the cluster's time series, not its
216,838-row job table: ``Lazy`` defers reading (and checking) such a part until something asks for it, and
``Tables`` is a run's tables with some of them still deferred. A deferred part that turns out damaged when it
is finally read is rebuilt by its stage, never trusted (``dctwin.stages.cache.StageCache.stage``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

__all__ = ["Lazy", "Tables", "resolve"]


class Lazy:
    """A value computed by ``make()`` on first use and kept."""

    __slots__ = ("_make", "_value", "_done")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make, self._value, self._done = make, None, False

    def get(self) -> Any:
        if not self._done:
            self._value, self._done, self._make = self._make(), True, None
        return self._value

    def __repr__(self) -> str:
        return f"Lazy({'read' if self._done else 'not read yet'})"


def resolve(value: Any) -> Any:
    """``value``, or what it stands for when it is ``Lazy``."""
    return value.get() if isinstance(value, Lazy) else value


class Tables(MutableMapping):
    """A run's tables by name; a ``Lazy`` table is read when first looked up (``items()`` and ``dict(...)``
    read them all). ``deferred(name)`` says whether a table has not been read yet."""

    def __init__(self, tables: dict[str, Any] | None = None) -> None:
        self._tables: dict[str, Any] = dict(tables or {})

    def __getitem__(self, name: str) -> Any:
        value = self._tables[name]
        if isinstance(value, Lazy):
            value = self._tables[name] = value.get()
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        self._tables[name] = value

    def __delitem__(self, name: str) -> None:
        del self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __contains__(self, name: object) -> bool:  # Mapping's own would read a deferred table to answer
        return name in self._tables

    def deferred(self, name: str) -> bool:
        return isinstance(self._tables.get(name), Lazy)

    def __repr__(self) -> str:
        return f"Tables({', '.join(self._tables)})"
