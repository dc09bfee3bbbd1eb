"""A batch run's CloudWatch reads, made once and cut per draft.

``pmdraft batch`` drafts many incidents whose windows overlap. Given the merged spans of those
windows (:meth:`SharedHistory.plan`), each (account, region) pair's ``DescribeAlarms`` is read
once per run, and its ``DescribeAlarmHistory`` once per merged span (in the collector's time
slices); each draft's collector then takes the items of its own slices from those reads, as if
CloudWatch had answered it (``StartDate`` and ``EndDate`` inclusive). A read that failed fails
every draft that needs it, with the same message. A slice no planned span covers is read as
usual. The first collector that needs a read makes it (and counts its requests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ...errors import CollectorError
from ...model import Window
from .._aws import Target

Items = list[dict[str, Any]]


class _Once:
    """One read, made by the first caller; the others get its result or its error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value: Any = None
        self.error: CollectorError | None = None

    def get(self, read: Callable[[], Any]) -> Any:
        with self.lock:
            if not self.done:
                try:
                    self.value = read()
                except CollectorError as exc:
                    self.error = exc
                self.done = True
        if self.error is not None:
            raise self.error
        return self.value


class SharedHistory:
    """DescribeAlarms once per pair, DescribeAlarmHistory once per pair and merged span."""

    def __init__(self, spans: Sequence[Window] = ()) -> None:
        self.spans = list(spans)
        """The merged spans whose history is read whole; disjoint."""
        self._lock = threading.Lock()
        self._alarms: dict[Target, _Once] = {}
        self._history: dict[tuple[Target, Window], _Once] = {}
        self._makers: dict[str, _Once] = {}

    def makers(self, service: str, make: Callable[[], Any]) -> Any:
        """The run's client makers of ``service`` (``aws_targets``), made once: each draft's
        clients then come from the same boto3 sessions (a role is assumed once a run)."""
        return self._once(self._makers, service).get(make)

    def _once(self, table: dict[Any, _Once], key: Any) -> _Once:
        with self._lock:
            return table.setdefault(key, _Once())

    def alarms(self, target: Target, read: Callable[[], Any]) -> Any:
        """The pair's alarms, read by ``read`` the first time they are asked for."""
        return self._once(self._alarms, target).get(read)

    def span_of(self, since: datetime, until: datetime) -> Window | None:
        """The planned span holding ``[since, until]``, or ``None``."""
        return next((s for s in self.spans if s.since <= since and until <= s.until), None)

    def history(
        self,
        target: Target,
        since: datetime,
        until: datetime,
        read: Callable[[Window], Items],
    ) -> Items | None:
        """The pair's history items of ``[since, until]`` cut from the planned span's read.

        ``read(span)`` reads a whole span; ``None`` when no planned span covers the slice.
        """
        span = self.span_of(since, until)
        if span is None:
            return None
        items: Items = self._once(self._history, (target, span)).get(lambda: read(span))
        # An item without a readable time is kept: the collector names it, as it would alone.
        return [
            i
            for i in items
            if not isinstance(at := i.get("Timestamp"), datetime) or since <= at <= until
        ]
