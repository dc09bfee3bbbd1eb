"""What every collector is: the protocol the pipeline runs, and a thread-safe request counter.

A collector has one method, ``collect(window) -> Iterator[Event]``, and counts the HTTP
requests it made in ``requests``. Its clients are passed to ``__init__``, so tests hand it real
clients pointed at the sandbox and never patch anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Protocol

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


__all__ = ["Collector", "RequestCounter", "parse_time"]
