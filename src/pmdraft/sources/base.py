"""What every collector is: the protocol the pipeline runs, and a thread-safe request counter.

A collector has one method, ``collect(window) -> Iterator[Event]``, and counts the HTTP
requests it made in ``requests``. Its clients are passed to ``__init__``, so tests hand it real
clients pointed at the sandbox and never patch anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from ..errors import CollectorError
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


_CEILING: ContextVar[int | None] = ContextVar("pmdraft_request_ceiling", default=None)


@contextmanager
def request_ceiling(limit: int | None) -> Iterator[None]:
    """Every :class:`RequestCounter` made inside the block stops its source after ``limit``
    requests (``[run] max_requests``); ``None`` or 0: no ceiling."""
    token = _CEILING.set(limit or None)
    try:
        yield
    finally:
        _CEILING.reset(token)


def ceiling_message(limit: int) -> str:
    """What a source stopped by the ceiling says, in its gap and its error."""
    return (
        f"stopped after {limit} requests, the per-run ceiling [run] max_requests; narrow the "
        "window or raise it"
    )


class RequestCeilingReached(CollectorError):
    """A source asked for one request more than the per-run ceiling allows."""

    def __init__(self, limit: int) -> None:
        super().__init__("pmdraft", ceiling_message(limit))
        self.limit = limit


class RequestCounter:
    """A thread-safe count of HTTP requests, shared by a collector and its clients' hooks.

    Made inside :func:`request_ceiling`, it also enforces the per-run ceiling: the request that
    would pass it is not counted and raises :class:`RequestCeilingReached` (from a botocore
    ``before-send`` hook or an HTTP transport, so the request is never sent), and ``stopped``
    stays true, so the pipeline reports the source as a named gap even if it caught the error.
    """

    def __init__(self, limit: int | None = None, *, pool: RequestCounter | None = None) -> None:
        self._lock = threading.Lock()
        self.value = 0
        self.pool = pool
        """A counter shared with other collectors' counters, which holds the ceiling for all of
        them (PagerDuty's two lines); this one then keeps only its own count and ``stopped``."""
        self.limit = None if pool is not None else limit if limit is not None else _CEILING.get()
        """Most requests this counter allows; ``None``: no ceiling."""
        self.stopped = False
        """Whether a request was refused because of the ceiling."""

    def add(self, n: int = 1, **_: Any) -> None:
        """Count ``n`` requests about to be sent; raise if that would pass the ceiling."""
        if self.pool is not None:
            try:
                self.pool.add(n)
            except RequestCeilingReached:
                self.stopped, self.limit = True, self.pool.limit
                raise
        with self._lock:
            if self.limit is not None and self.value + n > self.limit:
                self.stopped = True
                raise RequestCeilingReached(self.limit)
            self.value += n


__all__ = [
    "Collector",
    "RequestCeilingReached",
    "RequestCounter",
    "ceiling_message",
    "parse_time",
    "request_ceiling",
]
