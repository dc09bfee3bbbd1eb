"""The CloudWatch collector's metric reads: for the graphs, and for the metric lookback alone.

With graphs on, one ``GetMetricData`` query over the graph window (its start widened by the
metric lookback) feeds both the graphs and the lookback. With graphs off and a lookback set,
the lookback reads its own query: only the fired alarms, only the lookback span, on the same
period grid, so the breach starts found are the same either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ...errors import CollectorError
from ...model import ALARM_ALARM, Event, MetricSeries, Window, parse_time
from .._aws import Page, Target, where
from .alarms import AlarmInfo
from .metrics import Points, floor, graph_series, graphable, looked_back, metric_points, read_since


class MetricReads:
    """What :class:`~.collector.CloudWatchCollector` does with GetMetricData (a mixin)."""

    graph_margin: timedelta | None
    metric_lookback: timedelta | None
    _lock: threading.Lock
    _series: list[MetricSeries]
    _call: Callable[..., Iterator[Page]]
    _note: Callable[..., None]

    def _graphed(
        self,
        target: Target,
        client: Any,
        window: Window,
        alarms: Mapping[str, AlarmInfo],
        events: list[Event],
    ) -> list[Event]:
        """``events``, after reading the fired alarms' metrics for the graphs (and the lookback).

        A failed metric read costs the graphs of the pair, not its events: it is a note.
        """
        assert self.graph_margin is not None
        fired = [e for e in events if e.kind == ALARM_ALARM]
        names = sorted({str(e.attrs["alarm_name"]) for e in fired})
        starts = [parse_time(str(e.attrs["breach_start"])) for e in fired]
        lookback = self.metric_lookback if self.metric_lookback and starts else None
        usable = graphable([alarms[n] for n in names if n in alarms])
        if not usable:
            return events
        since = read_since(window, self.graph_margin, starts, lookback)
        points = self._points(
            target, client, usable, floor(since, usable), window.until + self.graph_margin, "graphs"
        )
        if points is None:
            return events
        shown = floor(window.since - self.graph_margin, usable)
        with self._lock:
            self._series.extend(graph_series(target, usable, points, shown))
        if lookback is None:
            return events
        return [
            looked_back(e, alarms, points, lookback) if e.kind == ALARM_ALARM else e for e in events
        ]

    def _looked_back(
        self, target: Target, client: Any, alarms: Mapping[str, AlarmInfo], events: list[Event]
    ) -> list[Event]:
        """``events`` with breach starts moved back by the metric lookback, graphs off.

        Reads GetMetricData for the fired alarms only, over the lookback span only (from the
        earliest breach start less the lookback to the latest breach start), on the same period
        grid as the graphs' query, so the breach starts found are the same with graphs on or off.
        """
        assert self.metric_lookback is not None
        fired = [e for e in events if e.kind == ALARM_ALARM]
        usable = graphable(
            sorted(
                {alarms[n] for n in {str(e.attrs["alarm_name"]) for e in fired} if n in alarms},
                key=lambda a: a.name,
            )
        )
        if not usable:
            return events
        starts = [parse_time(str(e.attrs["breach_start"])) for e in fired]
        since = floor(min(starts) - self.metric_lookback, usable)
        points = self._points(
            target, client, usable, since, max(starts) + timedelta(seconds=1), "the metric lookback"
        )
        if points is None:
            return events
        return [
            looked_back(e, alarms, points, self.metric_lookback) if e.kind == ALARM_ALARM else e
            for e in events
        ]

    def _points(
        self,
        target: Target,
        client: Any,
        usable: Sequence[AlarmInfo],
        start: datetime,
        end: datetime,
        purpose: str,
    ) -> dict[str, Points] | None:
        """The alarms' datapoints; None (and a note naming ``purpose``) when the read failed."""
        call = partial(self._call, target, client, "GetMetricData")
        notes: list[str] = []
        try:
            return metric_points(client, usable, start, end, call, notes)
        except CollectorError as exc:
            self._note(f"no {purpose} for {where(target)}: {exc.message}")
            return None
        finally:
            for note in notes:
                self._note(f"{where(target)}: {note}")
