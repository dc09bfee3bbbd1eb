"""The alarmed metrics' datapoints (GetMetricData), for the graphs and the metric lookback.

One query per alarm with a metric, ``METRIC_QUERIES_PER_CALL`` queries a call, over the window
widened by the graph margin. With a metric lookback the same query also starts earlier, before
each breach start, so a breach that began before the alarm's evaluated range is found
(:func:`earlier_breach`) without another call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import Event, MetricSeries, Window, iso_z, parse_time
from .._aws import Page, Target, paged
from .alarms import BREACHES, AlarmInfo, account_of

METRIC_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries in one call."""

RULE_LOOKBACK = (
    "metric_lookback (first breaching datapoint of the run, read back with GetMetricData)"
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Points = tuple[list[datetime], list[float]]
"""One metric's timestamps and values, in the order GetMetricData gave them."""


def earlier_breach(
    times: Sequence[datetime],
    values: Sequence[float],
    alarm: AlarmInfo,
    start: datetime,
    lookback: timedelta,
) -> datetime | None:
    """The first datapoint of the breaching run that ends just before ``start``, if it is earlier.

    Walks back from ``start`` one period at a time while each datapoint breaches the threshold;
    a missing or non-breaching datapoint ends the run, and so does ``start - lookback``.
    """
    breaches = BREACHES.get(alarm.comparison or "")
    if breaches is None or alarm.threshold is None or not alarm.period:
        return None
    period = timedelta(seconds=alarm.period)
    found, expected = None, start
    for at, value in sorted(
        ((t, v) for t, v in zip(times, values, strict=True) if t < start), reverse=True
    ):
        if (
            at < start - lookback
            or expected - at > period
            or math.isnan(value)
            or not breaches(value, alarm.threshold)
        ):
            break
        found = expected = at
    return found


def looked_back(
    event: Event,
    alarms: Mapping[str, AlarmInfo],
    points: Mapping[str, Points],
    lookback: timedelta,
) -> Event:
    """``event`` with its breach start moved to where the metric's breach run began, if earlier."""
    name = str(event.attrs["alarm_name"])
    if name not in alarms or name not in points:
        return event
    start = parse_time(str(event.attrs["breach_start"]))
    earlier = earlier_breach(*points[name], alarms[name], start, lookback)
    if earlier is None:
        return event
    return dataclasses.replace(
        event,
        attrs={
            **event.attrs,
            "breach_start": iso_z(earlier),
            "breach_start_rule": RULE_LOOKBACK,
            "evaluated_breach_start": iso_z(start),
        },
    )


def graphable(alarms: Sequence[AlarmInfo]) -> list[AlarmInfo]:
    """The alarms with a whole metric to query (composite alarms have none)."""
    return [a for a in alarms if a.metric and a.namespace and a.statistic and a.period]


def floor(at: datetime, alarms: Sequence[AlarmInfo]) -> datetime:
    """``at`` rounded down to the alarms' longest period (at least a minute), from the epoch.

    GetMetricData aligns datapoints to the period; a start on that grid reads whole periods.
    """
    step = max(60, *(a.period or 60 for a in alarms))
    return at - timedelta(seconds=(at - EPOCH).total_seconds() % step)


def _query(number: int, alarm: AlarmInfo) -> dict[str, Any]:
    return {
        "Id": f"m{number}",
        "ReturnData": True,
        "MetricStat": {
            "Metric": {
                "Namespace": alarm.namespace,
                "MetricName": alarm.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions],
            },
            "Period": alarm.period,
            "Stat": alarm.statistic,
        },
    }


def metric_points(
    client: Any,
    alarms: Sequence[AlarmInfo],
    start: datetime,
    end: datetime,
    call: Callable[[Iterator[Page]], Iterator[Page]],
    notes: list[str] | None = None,
) -> dict[str, Points]:
    """Each alarm's datapoints from ``start`` to ``end``, by alarm name (``alarms`` graphable).

    ``call`` wraps the pages so that a failed ``GetMetricData`` becomes a ``CollectorError``;
    a paging loop ends the batch with a sentence in ``notes``. Datapoints outside
    ``[start, end)`` are dropped.
    """
    notes = [] if notes is None else notes
    dropped = 0
    queries = [_query(i, a) for i, a in enumerate(alarms)]
    points: dict[str, Points] = {q["Id"]: ([], []) for q in queries}
    # One paginated call per batch; its NextToken pages bring more datapoints of the same queries.
    for batch in range(0, len(queries), METRIC_QUERIES_PER_CALL):
        params = {
            "MetricDataQueries": queries[batch : batch + METRIC_QUERIES_PER_CALL],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        pages = paged(client.get_metric_data, params, what="GetMetricData", notes=notes)
        for page in call(pages):
            for result in page.get("MetricDataResults", []):
                times, values = points[result["Id"]]
                for at, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    at = at.astimezone(UTC)
                    if start <= at < end:
                        times.append(at)
                        # A datapoint GetMetricData could not compute is a gap, not a zero.
                        values.append(value if isinstance(value, (int, float)) else float("nan"))
                    else:
                        dropped += 1
    if dropped:
        notes.append(
            f"GetMetricData returned {dropped} datapoint{'s' if dropped > 1 else ''} outside "
            f"{iso_z(start)} .. {iso_z(end)} (the graph window and its margins); dropped"
        )
    return {a.name: points[q["Id"]] for q, a in zip(queries, alarms, strict=True)}


def graph_series(
    target: Target, alarms: Sequence[AlarmInfo], points: Mapping[str, Points], shown: datetime
) -> list[MetricSeries]:
    """Each alarm's datapoints from ``shown`` on, oldest first, as the graphs draw them."""
    account, region = target
    found = []
    for a in alarms:
        times, values = points[a.name]
        order = sorted((i for i in range(len(times)) if times[i] >= shown), key=times.__getitem__)
        found.append(
            MetricSeries(
                alarm_name=a.name,
                ref=a.arn or f"{region}:{a.name}",
                account=account or account_of(a.arn),
                region=region,
                metric=a.metric,
                namespace=a.namespace,
                statistic=a.statistic,
                period=a.period,
                threshold=a.threshold,
                comparison_operator=a.comparison,
                times=tuple(iso_z(times[i]) for i in order),
                values=tuple(values[i] for i in order),
            )
        )
    return found


def read_since(
    window: Window, margin: timedelta, starts: Sequence[datetime], lookback: timedelta | None
) -> datetime:
    """Where the metric query starts: the graph window's start, or earlier for the lookback."""
    if lookback is None:
        return window.since - margin
    return min([window.since - margin, *(s - lookback for s in starts)])
