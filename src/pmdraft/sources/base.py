"""What every collector is, and the registry that names them.

A collector has one method, ``collect(window) -> Iterator[Event]``, and counts the HTTP
requests it made in ``requests``. Its clients are passed to ``__init__``, so tests hand it real
clients pointed at the sandbox and never patch anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from ..config import Config
from ..errors import PmdraftError
from ..model import Event, SourceExtras, Window, parse_time


class Collector(Protocol):
    """A source of events for a time window; what the pipeline runs.

    ``requests``, ``detail`` and ``extras()`` are read after ``collect`` has been drained (or has
    raised), and ``close()`` is called once at the end either way.
    """

    @property
    def name(self) -> str:
        """The source's registered name (``cloudwatch``, ``pagerduty``, ``deploys``...)."""
        ...

    @property
    def requests(self) -> int:
        """HTTP requests made so far (retries included); read while collecting, for progress."""
        ...

    @property
    def detail(self) -> str | None:
        """What the source had to do beyond plain reading (split windows, waits), if anything."""
        ...

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield the source's events for ``window``; raise ``CollectorError`` if it cannot."""
        ...

    def extras(self) -> SourceExtras:
        """What the source gave besides events (``SourceExtras()`` for most sources)."""
        ...

    def close(self) -> None:
        """Release clients and threads; called once, after collecting."""
        ...


class RequestCounter:
    """A thread-safe count of HTTP requests, shared by a collector and its clients' hooks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1, **_: Any) -> None:
        with self._lock:
            self.value += n


Factory = Callable[[Config, Mapping[str, str]], list[Collector]]
"""Builds a source's collectors from the config and the environment (empty list: not configured)."""


class Registry:
    """Source name -> factory; registering a name twice is refused."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}

    def register(self, name: str, factory: Factory) -> None:
        if name in self._factories:
            raise PmdraftError(f"a source named {name!r} is already registered")
        self._factories[name] = factory

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def build(self, name: str, config: Config, environ: Mapping[str, str]) -> list[Collector]:
        return self._factories[name](config, environ)


__all__ = ["Collector", "Factory", "Registry", "RequestCounter", "parse_time"]
