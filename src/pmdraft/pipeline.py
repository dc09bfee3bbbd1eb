"""The only place that runs collectors: all at once, each failure gathered, never raised.

A source that fails becomes a :class:`SourceReport` with status ``failed`` and its error (the
draft's "Data gaps" note); the others go on. Bad user input (:class:`InputError`) is the
exception: it stops the run, because a draft from wrong input would be wrong.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .apart import Apart, ChildDied, may_fork
from .config import Config
from .errors import CollectorError, InputError
from .model import Event, MetricSeries, PastIncident, RelatedIncidents, SourceExtras, Window
from .sources.base import Collector, RequestCounter, ceiling_message, request_ceiling
from .sources.registry import build_all

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
    related: RelatedIncidents | None = None
    """PagerDuty's past incidents for Related Incidents (from its ``extras()``), if read."""
    series: tuple[MetricSeries, ...] = ()
    """Every alarmed metric's datapoints (from CloudWatch's ``extras()``), for the graphs."""

    @property
    def gaps(self) -> list[SourceReport]:
        return [r for r in self.reports if r.status == FAILED]


@dataclass(frozen=True)
class SourceProgress:
    """How far one source has got: requests made and events so far."""

    name: str
    requests: int
    events: int
    done: bool


Progress = Callable[[list[SourceProgress]], None]
"""Called now and then while sources are collected, and once when all are done."""

PROGRESS_AFTER = 1.0
"""Seconds: collection shorter than this shows no progress at all."""
PROGRESS_EVERY = 0.25
"""Seconds between two progress calls."""


def _stopped_counter(collector: Collector) -> RequestCounter | None:
    """The collector's request counter that refused a request at the per-run ceiling, if any."""
    for value in getattr(collector, "__dict__", {}).values():
        if isinstance(value, RequestCounter) and value.stopped:
            return value
    return None


def _drain(collector: Collector, window: Window, events: list[Event]) -> SourceReport:
    """Drain one collector into ``events`` and say how it went (``InputError`` is raised)."""
    detail = None
    try:
        for event in collector.collect(window):
            events.append(event)
    except InputError:
        raise
    except CollectorError as exc:
        log.warning("%s", exc)
        detail = getattr(collector, "detail", None)
        return SourceReport(
            collector.name, FAILED, len(events), collector.requests, exc.message, detail
        )
    except Exception as exc:
        log.debug("source %s crashed", collector.name, exc_info=True)
        message = f"unexpected {exc.__class__.__name__}: {exc}"
        return SourceReport(collector.name, FAILED, len(events), collector.requests, message)
    detail = getattr(collector, "detail", None)
    return SourceReport(collector.name, OK, len(events), collector.requests, detail=detail)


def _run(
    collector: Collector, window: Window, events: list[Event] | None = None
) -> tuple[list[Event], SourceReport]:
    """Drain one collector into ``events``; a collector with ``close()`` is closed once it is done.

    A source whose request counter refused a request at the per-run ceiling is a gap saying so,
    whatever the source made of the refusal.
    """
    events = [] if events is None else events
    try:
        report = _drain(collector, window, events)
    finally:
        close = getattr(collector, "close", None)
        if close is not None:
            close()
    stopped = _stopped_counter(collector)
    if stopped is not None and stopped.limit is not None:
        report.status, report.error = FAILED, ceiling_message(stopped.limit)
        log.warning("%s: %s", collector.name, report.error)
    log.info(
        "source %s: %s, %d requests, %d events%s%s",
        report.name,
        report.status,
        report.requests,
        report.events,
        f"; error: {report.error}" if report.error else "",
        f"; detail: {report.detail}" if report.detail else "",
    )
    return events, report


def _snapshot(
    collectors: Sequence[Collector],
    buffers: list[list[Event]],
    futures: list[Future[Any]],
    apart: Mapping[int, Apart],
) -> list[SourceProgress]:
    return [
        SourceProgress(c.name, a.requests, a.events, f.done())
        if (a := apart.get(i)) is not None
        else SourceProgress(c.name, c.requests, len(b), f.done())
        for i, (c, b, f) in enumerate(zip(collectors, buffers, futures, strict=True))
    ]


Meanwhile = Callable[[str, Sequence[Event], Callable[[], bool]], None]
"""Work on one source's events while other sources are still being read (:func:`collect`'s
``meanwhile``). It is called on the collecting thread, which would only wait then, with the
source's name, its events, and ``reading()``: true while any other source still reads. It
should return soon after ``reading()`` turns false: collection does not end before it does. It
only works ahead of time: should it fail, that is logged and collection goes on."""


@dataclass(frozen=True)
class Watch:
    """What :func:`collect` does while it waits for the sources: ``progress`` (called every
    ``every`` seconds once ``after`` seconds have passed, and a last time when all are done),
    and ``meanwhile`` (see :data:`Meanwhile`)."""

    progress: Progress | None = None
    after: float = PROGRESS_AFTER
    every: float = PROGRESS_EVERY
    meanwhile: Meanwhile | None = None


def collect(
    collectors: Sequence[Collector],
    window: Window,
    not_configured: Sequence[str] = (),
    *,
    progress: Progress | None = None,
    progress_after: float = PROGRESS_AFTER,
    progress_every: float = PROGRESS_EVERY,
    started: Callable[[], Any] | None = None,
    apart: Mapping[int, Apart] | None = None,
    meanwhile: Meanwhile | None = None,
) -> Collected:
    """Run every collector concurrently over ``window`` and gather events and reports.

    With ``progress``, once collection has taken ``progress_after`` seconds it is called every
    ``progress_every`` seconds with each source's counts, and a last time when all are done.
    A collector that may run apart runs in a forked child (:mod:`pmdraft.apart`), forked before
    any thread starts; ``started`` is called then (the caller's own threads start after it).
    ``apart``: the children already forked, by the position of their collector (see
    :func:`start_collectors`); they are stopped if this ends early. ``meanwhile`` is given
    each source's events as soon as it has finished while others are still read (see
    :data:`Meanwhile`).
    """
    if apart is None:
        apart = {
            i: Apart(c, window, _run, _extras_of) for i, c in enumerate(collectors) if may_fork(c)
        }
    watch = Watch(progress, progress_after, progress_every, meanwhile)
    try:
        return _gathered(collectors, window, not_configured, apart, watch, started)
    finally:
        for child in apart.values():
            child.stop()


def _gathered(
    collectors: Sequence[Collector],
    window: Window,
    not_configured: Sequence[str],
    apart: Mapping[int, Apart],
    watch: Watch,
    started: Callable[[], Any] | None,
) -> Collected:
    """:func:`collect`'s work once the collectors that run apart are forked."""
    result = Collected()
    if started is not None:
        started()
    if collectors:
        buffers: list[list[Event]] = [[] for _ in collectors]
        with ThreadPoolExecutor(max_workers=len(collectors), thread_name_prefix="collect") as pool:
            futures = [
                pool.submit(a.result) if (a := apart.get(i)) else pool.submit(_run, c, window, b)
                for i, (c, b) in enumerate(zip(collectors, buffers, strict=True))
            ]
            _Waiting(watch, lambda: _snapshot(collectors, buffers, futures, apart)).wait(
                [c.name for c in collectors], futures, list(apart.values())
            )
            for i, (collector, future) in enumerate(zip(collectors, futures, strict=True)):
                events, report = _outcome(collector, future)
                result.events.extend(events)
                result.reports.append(report)
                extras = apart[i].extras if i in apart else _extras_of(collector)
                result.related = extras.related or result.related
                result.series += extras.series
    result.reports.extend(SourceReport(name, NOT_CONFIGURED) for name in not_configured)
    return result


class _Waiting:
    """:func:`collect`'s wait for its sources, with what it does meanwhile (:class:`Watch`)."""

    def __init__(self, watch: Watch, snapshot: Callable[[], list[SourceProgress]]) -> None:
        self.watch = watch
        self.snapshot = snapshot
        self.due = time.monotonic() + watch.after
        self.told = False

    def tick(self) -> None:
        """Progress, when it is due."""
        if self.watch.progress is not None and time.monotonic() >= self.due:
            self.watch.progress(self.snapshot())
            self.told = True
            self.due = time.monotonic() + self.watch.every

    def wait(
        self, names: Sequence[str], futures: list[Future[Any]], apart: Sequence[Apart] = ()
    ) -> None:
        """Until every future is done: progress as due, and ``meanwhile`` given each source
        that finished (without an error) while others still read. ``reading()`` turns false
        as soon as a result from a child (``apart``) is coming in: its reader thread needs the
        interpreter lock that ``meanwhile``'s work holds (the busy month's CloudWatch events
        came 0.06 s later while PagerDuty's lines were still being made)."""
        watch = self.watch
        if watch.progress is None and watch.meanwhile is None:
            return  # the results are read in order, each waited for then
        given: set[int] = set()

        def reading() -> bool:
            self.tick()
            return not all(f.done() for f in futures) and not any(a.receiving for a in apart)

        pending: set[Future[Any]] = set(futures)
        while pending:
            timeout = None if watch.progress is None else max(0.0, self.due - time.monotonic())
            _, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            self.tick()
            if watch.meanwhile is None or not pending:
                continue
            for i, future in enumerate(futures):
                if i in given or not future.done():
                    continue
                given.add(i)
                if future.exception() is None:
                    try:
                        watch.meanwhile(names[i], future.result()[0], reading)
                    except Exception as exc:  # work ahead of time only: it is done later anyway
                        log.info(
                            "work on %s's events while others were read failed: %s", names[i], exc
                        )
        if self.told and watch.progress is not None:
            watch.progress(self.snapshot())


def _outcome(collector: Collector, future: Future[Any]) -> tuple[list[Event], SourceReport]:
    """A collector's events and report; a child that died running it is its source's gap."""
    try:
        events, report = future.result()
    except ChildDied as exc:
        log.warning("%s: %s", collector.name, exc)
        return [], SourceReport(collector.name, FAILED, error=str(exc))
    return events, report


def build_collectors(
    config: Config, environ: Mapping[str, str], shared: Mapping[str, Any] | None = None
) -> tuple[list[Collector], list[str]]:
    """The configured sources' collectors, and the names of the sources not configured.

    Their request counters enforce ``[run] max_requests`` (see :func:`request_ceiling`).
    ``shared``: a batch run's reads made once for many drafts, by source name
    (:attr:`~pmdraft.sources.registry.BuildContext.shared`).
    """
    collectors, missing, _ = start_collectors(config, environ, shared)
    return collectors, missing


def start_collectors(
    config: Config,
    environ: Mapping[str, str],
    shared: Mapping[str, Any] | None = None,
    window: Window | None = None,
) -> tuple[list[Collector], list[str], dict[int, Apart]]:
    """:func:`build_collectors`, and with ``window``, each collector that may run apart forked
    as soon as it is built: its child starts reading while the next sources are built (their
    client libraries imported), not after. Pass the children to :func:`collect`'s ``apart``.

    If building a later source fails, the children already forked are stopped.
    """
    context = dataclasses.replace(config.context(environ), shared=dict(shared or {}))
    apart: dict[int, Apart] = {}
    count = 0

    def each(collector: Collector) -> None:
        nonlocal count
        if window is not None and may_fork(collector):
            apart[count] = Apart(collector, window, _run, _extras_of)
        count += 1

    try:
        with request_ceiling(context.max_requests):
            collectors, missing = build_all(config.sections, config.deploys, context, each)
    except BaseException:
        for child in apart.values():
            child.stop()
        raise
    return collectors, missing, apart


def _extras_of(collector: Collector) -> SourceExtras:
    """The collector's typed extras.

    TRANSITION (removed when every collector implements ``extras()``): the older collectors keep
    a dict ``extras`` (PagerDuty's ``related``) or a list ``series`` (CloudWatch's metrics).
    """
    extras: Any = getattr(collector, "extras", None)
    if callable(extras):
        return extras()  # type: ignore[no-any-return]
    related = None
    if isinstance(extras, dict) and isinstance(extras.get("related"), dict):
        raw = extras["related"]
        related = RelatedIncidents(
            lookback_days=raw.get("lookback_days") or 0.0,
            scope=tuple(PastIncident(**i) for i in raw.get("scope", [])),
            candidates=tuple(PastIncident(**i) for i in raw.get("candidates", [])),
            error=raw.get("error"),
        )
    series = tuple(
        MetricSeries(**{**s, "times": tuple(s["times"]), "values": tuple(s["values"])})
        for s in getattr(collector, "series", [])
    )
    return SourceExtras(related=related, series=series)
