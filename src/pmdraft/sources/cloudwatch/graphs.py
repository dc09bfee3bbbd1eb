"""The CloudWatch collector's metric reads: for the graphs, and for the metric lookback alone.

With graphs on, ``GetMetricData`` starts as soon as ``DescribeAlarms`` has answered, beside the
alarm history (not after it): it reads every wanted alarm whose state changed since the window
began (``StateUpdatedTimestamp``; the ones that fired in the window are among them), over the
graph window at the period :func:`~.metrics.graph_period` gives, and the graphs keep the alarms
that fired. When that period is the alarm's own (windows up to about a day for a 60 s alarm)
the same query also starts a metric lookback earlier and feeds the lookback. Otherwise, or for
a breach that began before the query, the lookback reads its own calls: only the fired alarms,
only the spans near their breaches (:func:`~.metrics.lookback_calls`), at the alarm's period,
so the breach starts found are the same either way. With graphs off and a lookback set, only
the lookback's calls are made. Every GetMetricData request of an account waits for
:data:`METRIC_REQUESTS_PER_SECOND`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ...errors import CollectorError
from ...model import ALARM_ALARM, Event, MetricSeries, Window, parse_time
from .._aws import Page, RateLimiter, Target, where
from .alarms import AlarmInfo
from .lookback import LookbackStream
from .metrics import (
    Points,
    floor_to,
    graph_period,
    graph_series,
    graphable,
    lookback_calls,
    looked_back,
    metric_points,
    moved_back,
    read_datapoints_fast,
)

LOOKBACK_WORKERS = 4
"""The metric lookback's GetMetricData calls in flight at once, per (account, region)."""

METRIC_REQUESTS_PER_SECOND = 50.0
"""GetMetricData's request quota; every GetMetricData request of an account waits for it."""


@dataclass(frozen=True)
class GraphRead:
    """One pair's ``GetMetricData`` for the graphs, started beside the history."""

    alarms: tuple[AlarmInfo, ...]
    """The alarms queried, by name: every wanted graphable alarm that changed since the start."""
    periods: Mapping[str, int]
    """Each alarm's query period, by name (:func:`~.metrics.graph_period`)."""
    start: datetime
    """Where the query starts: the graph window, earlier by the lookback when it shares it."""
    shown: datetime
    """Where the graphs start (the window less the margin, on the period grid)."""
    lookback: timedelta | None
    """The metric lookback this query also serves; None when the lookback reads its own."""
    points: Future[dict[str, Points] | None]


class MetricReads:
    """What :class:`~.collector.CloudWatchCollector` does with GetMetricData (a mixin)."""

    graph_margin: timedelta | None
    metric_lookback: timedelta | None
    alarm_tags: dict[str, str]
    _lock: threading.Lock
    _series: list[MetricSeries]
    _call: Callable[..., Iterator[Page]]
    _note: Callable[..., None]
    _wanted: Callable[[str], bool]

    def _metric_limited(self, target: Target, client: Any) -> None:
        """Hold ``client``'s GetMetricData requests to the account's quota (once per client)."""
        with self._lock:
            limiters: dict[str, RateLimiter] = self.__dict__.setdefault("_metric_limiters", {})
            limited: set[int] = self.__dict__.setdefault("_metric_clients", set())
            if id(client) in limited:
                return
            limited.add(id(client))
            limiter = limiters.setdefault(target[0], RateLimiter(METRIC_REQUESTS_PER_SECOND))
        client.meta.events.register(
            "before-send.cloudwatch.GetMetricData", lambda **_: limiter.wait()
        )
        read_datapoints_fast(client)

    def _start_graphs(
        self,
        pool: Executor,
        target: Target,
        client: Any,
        window: Window,
        alarms: Mapping[str, AlarmInfo],
    ) -> GraphRead | None:
        """Start the graphs' GetMetricData in ``pool``; None when graphs are off or none can be."""
        if self.graph_margin is None:
            return None
        margin = self.graph_margin
        usable = graphable(
            [
                alarms[n]
                for n in sorted(alarms)
                if self._wanted(n) and alarms[n].changed_since(window.since)
            ]
        )
        if not usable:
            return None
        span = window.duration + 2 * margin
        periods = {a.name: graph_period(span, a.period) for a in usable}
        shared = all(periods[a.name] == a.period for a in usable)
        lookback = self.metric_lookback if shared else None
        step = max(60, *periods.values())
        start = floor_to(window.since - margin - (lookback or timedelta(0)), step)
        points = pool.submit(
            self._points, target, client, usable, start, window.until + margin, "graphs", periods
        )
        shown = floor_to(window.since - margin, step)
        return GraphRead(tuple(usable), periods, start, shown, lookback, points)

    def _lookback_stream(self, target: Target, client: Any) -> LookbackStream | None:
        """The metric lookback, to be read while the history comes in (None: off, or the
        alarms are chosen by tag: their tags are read after the history)."""
        if self.metric_lookback is None or self.alarm_tags:
            return None

        def read(usable: list[AlarmInfo], since: datetime, end: datetime) -> Any:
            return self._points(target, client, usable, since, end, "the metric lookback")

        return LookbackStream(self.metric_lookback, read, LOOKBACK_WORKERS)

    def _graphed(
        self,
        target: Target,
        client: Any,
        alarms: Mapping[str, AlarmInfo],
        events: list[Event],
        read: GraphRead,
        stream: LookbackStream | None = None,
    ) -> list[Event]:
        """``events``, with the graphs of the fired alarms kept (and the lookback applied).

        A failed metric read costs the graphs of the pair, not its events: it is a note.
        """
        fired = [e for e in events if e.kind == ALARM_ALARM]
        names = {str(e.attrs["alarm_name"]) for e in fired}
        starts = [parse_time(str(e.attrs["breach_start"])) for e in fired]
        points = read.points.result()
        if points is not None:
            usable = [a for a in read.alarms if a.name in names]
            with self._lock:
                self._series.extend(graph_series(target, usable, points, read.shown, read.periods))
        if not self.metric_lookback or not starts:
            return events
        lookback = read.lookback
        if points is None or lookback is None or min(starts) - lookback < read.start:
            return self._looked_back(target, client, alarms, events, stream)
        return [
            looked_back(e, alarms, points, lookback) if e.kind == ALARM_ALARM else e for e in events
        ]

    def _looked_back(
        self,
        target: Target,
        client: Any,
        alarms: Mapping[str, AlarmInfo],
        events: list[Event],
        stream: LookbackStream | None = None,
    ) -> list[Event]:
        """``events`` with breach starts moved back by the metric lookback, graphs off.

        The breaches ``stream`` read while the history came in take its finds; the others
        (archived, or a batch run's shared history) are read now: GetMetricData for the fired
        alarms only, near their breaches only, the breaches swept into as few calls as AWS's
        per-call limits allow (:func:`~.metrics.lookback_calls`), read side by side, on the same
        period grid as the graphs' query, so the breach starts found are the same with graphs on
        or off.
        """
        assert self.metric_lookback is not None
        lookback = self.metric_lookback
        out = list(events)
        # Each alarm event's breach, by what the stream finds it by.
        at_breach: dict[tuple[str, float], list[tuple[int, datetime]]] = {}
        for i, e in enumerate(events):
            name = str(e.attrs.get("alarm_name"))
            if e.kind != ALARM_ALARM or name not in alarms:
                continue
            start = parse_time(str(e.attrs["breach_start"]))
            at_breach.setdefault((name, start.timestamp()), []).append((i, start))
        if stream is not None:
            # Moved call by call as the calls answer: after the last answer, only its own.
            for covered, finds in stream.finds():
                for key in covered:
                    earlier = finds.get(key)
                    for i, start in at_breach.pop(key, ()):
                        out[i] = moved_back(events[i], earlier, start)
        breaches = [
            (i, start, alarms[name]) for (name, _), found in at_breach.items() for i, start in found
        ]
        breaches.sort(key=lambda b: b[0])
        calls = lookback_calls([b for b in breaches if graphable([b[2]])], lookback)
        if not calls:
            return out
        with ThreadPoolExecutor(
            max_workers=min(LOOKBACK_WORKERS, len(calls)), thread_name_prefix="cloudwatch-lookback"
        ) as pool:
            reads = [
                pool.submit(
                    self._points,
                    target,
                    client,
                    sorted(c.alarms.values(), key=lambda a: a.name),
                    c.since,
                    c.end,
                    "the metric lookback",
                )
                for c in calls
            ]
            for call, read in zip(calls, reads, strict=True):
                points = read.result()
                if points is not None:
                    for i in call.events:
                        out[i] = looked_back(events[i], alarms, points, lookback)
        return out

    def _points(
        self,
        target: Target,
        client: Any,
        usable: Sequence[AlarmInfo],
        start: datetime,
        end: datetime,
        purpose: str,
        periods: Mapping[str, int] | None = None,
    ) -> dict[str, Points] | None:
        """The alarms' datapoints; None (and a note naming ``purpose``) when the read failed."""
        if hasattr(client, "meta"):
            self._metric_limited(target, client)
        call = partial(self._call, target, client, "GetMetricData")
        notes: list[str] = []
        try:
            return metric_points(client, usable, start, end, call, notes, periods)
        except CollectorError as exc:
            self._note(f"no {purpose} for {where(target)}: {exc.message}")
            return None
        finally:
            for note in notes:
                self._note(f"{where(target)}: {note}")
