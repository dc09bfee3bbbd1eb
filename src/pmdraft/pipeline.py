"""The only place that runs collectors: all at once, each failure gathered, never raised.

A source that fails becomes a :class:`SourceReport` with status ``failed`` and its error (the
draft's "Data gaps" note); the others go on. Bad user input (:class:`InputError`) is the
exception: it stops the run, because a draft from wrong input would be wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .collectors.base import Collector
from .errors import CollectorError, InputError
from .model import Event, Window

log = logging.getLogger(__name__)

OK = "ok"
FAILED = "failed"
NOT_CONFIGURED = "not_configured"


@dataclass
class SourceReport:
    """What one source gave: its status, event and request counts, and its error if any."""

    name: str
    status: str
    events: int = 0
    requests: int = 0
    error: str | None = None
    detail: str | None = None
    """What the source had to do beyond plain reading (a split window, waits), if anything."""

    def to_record(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status,
            "events": self.events,
            "requests": self.requests,
            "error": self.error,
            "detail": self.detail,
        }


@dataclass
class Collected:
    """Every event the sources gave, and one report per source (configured or not)."""

    events: list[Event] = field(default_factory=list)
    reports: list[SourceReport] = field(default_factory=list)

    @property
    def gaps(self) -> list[SourceReport]:
        return [r for r in self.reports if r.status == FAILED]


def _run(collector: Collector, window: Window) -> tuple[list[Event], SourceReport]:
    """Drain one collector; a collector with ``close()`` is closed once it is done."""
    events: list[Event] = []
    try:
        for event in collector.collect(window):
            events.append(event)
    except InputError:
        raise
    except CollectorError as exc:
        log.warning("%s", exc)
        return events, SourceReport(collector.name, FAILED, len(events), collector.requests, exc.message,
                                    getattr(collector, "detail", None))
    except Exception as exc:  # noqa: BLE001 - a crashed source is a gap, never a lost draft
        log.debug("source %s crashed", collector.name, exc_info=True)
        message = f"unexpected {exc.__class__.__name__}: {exc}"
        return events, SourceReport(collector.name, FAILED, len(events), collector.requests, message)
    finally:
        close = getattr(collector, "close", None)
        if close is not None:
            close()
    return events, SourceReport(collector.name, OK, len(events), collector.requests,
                                detail=getattr(collector, "detail", None))


def collect(collectors: Sequence[Collector], window: Window, not_configured: Sequence[str] = ()) -> Collected:
    """Run every collector concurrently over ``window`` and gather events and reports."""
    result = Collected()
    if collectors:
        with ThreadPoolExecutor(max_workers=len(collectors), thread_name_prefix="collect") as pool:
            futures = [pool.submit(_run, c, window) for c in collectors]
            for future in futures:
                events, report = future.result()
                result.events.extend(events)
                result.reports.append(report)
    result.reports.extend(SourceReport(name, NOT_CONFIGURED) for name in not_configured)
    return result
