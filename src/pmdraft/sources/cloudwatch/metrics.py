"""The alarmed metrics' datapoints (GetMetricData), for the graphs and the metric lookback.

One query per alarm with a metric, over the window widened by the graph margin. Each query's
period follows the window (:func:`graph_period`): at most :data:`POINTS_PER_SERIES` datapoints a
series, never finer than the alarm's own period. Queries are batched so that each call stays
within AWS's limits (:data:`METRIC_QUERIES_PER_CALL` queries, :data:`DATAPOINTS_PER_CALL`
datapoints), and each call's ``NextToken`` pages are followed. With a metric lookback, and the
graph period equal to the alarm's, the same query also starts earlier, before each breach start,
so a breach that began before the alarm's evaluated range is found (:func:`earlier_breach`)
without another call.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import Attrs, Event, MetricSeries, iso_z, parse_time, unchecked_event
from .._aws import Page, Target, paged
from .alarms import BREACHES, AlarmInfo, account_of

METRIC_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries in one call."""

DATAPOINTS_PER_CALL = 100_800
"""GetMetricData's limit on datapoints in one answer (more come by NextToken)."""

POINTS_PER_SERIES = 1_500
"""At most this many datapoints per graphed series: the period grows with the window."""

HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)
"""The periods under a minute CloudWatch accepts; above a minute, any multiple of 60 s."""

RULE_LOOKBACK = (
    "metric_lookback (first breaching datapoint of the run, read back with GetMetricData)"
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Points = tuple[list[float], list[float]]
"""One metric's timestamps (epoch seconds, UTC) and values, oldest first.

Seconds rather than datetimes: a month of lookback is hundreds of thousands of datapoints, and
a datetime costs about a microsecond to make; only a breach start found becomes one."""


def earlier_breach(
    times: Sequence[float],
    values: Sequence[float],
    alarm: AlarmInfo,
    start: datetime,
    lookback: timedelta,
) -> datetime | None:
    """The first datapoint of the breaching run that ends just before ``start``, if it is earlier.

    Walks back from ``start`` one period at a time while each datapoint breaches the threshold;
    a missing or non-breaching datapoint ends the run, and so does ``start - lookback``.
    ``times`` are ascending epoch seconds (as :func:`metric_points` gives them): the walk starts by
    bisection,
    so a month of datapoints costs each breach only its own run.
    """
    breaches = BREACHES.get(alarm.comparison or "")
    if breaches is None or alarm.threshold is None or not alarm.period:
        return None
    period, begin = alarm.period, start.timestamp()
    earliest = begin - lookback.total_seconds()
    found, expected = None, begin
    for i in range(bisect.bisect_left(times, begin) - 1, -1, -1):
        at, value = times[i], values[i]
        if (
            at < earliest
            or expected - at > period
            or math.isnan(value)
            or not breaches(value, alarm.threshold)
        ):
            break
        found = expected = at
    return None if found is None else datetime.fromtimestamp(found, UTC)


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
    return moved_back(event, earlier_breach(*points[name], alarms[name], start, lookback))


def moved_back(event: Event, earlier: datetime | None, start: datetime | None = None) -> Event:
    """``event`` with its breach start moved to ``earlier`` (the lookback's find), if any;
    ``start`` is its evaluated breach start when the caller has read it already.

    Only three facts change, so the event is made from the checked one without checking it
    again (every breach of the busy month moves: 2,600 events at the end of CloudWatch's read).
    """
    if earlier is None:
        return event
    if start is None:
        start = parse_time(str(event.attrs["breach_start"]))
    attrs = Attrs(event.attrs).replaced(
        {
            "breach_start": iso_z(earlier),
            "breach_start_rule": RULE_LOOKBACK,
            "evaluated_breach_start": iso_z(start),
        }
    )
    e = event
    return unchecked_event(
        e.at, e.source, e.kind, e.ref, e.summary, e.service, e.actor, e.url, attrs
    )


def graphable(alarms: Sequence[AlarmInfo]) -> list[AlarmInfo]:
    """The alarms with a whole metric to query (composite alarms have none)."""
    return [a for a in alarms if a.metric and a.namespace and a.statistic and a.period]


def floor(at: datetime, alarms: Sequence[AlarmInfo]) -> datetime:
    """``at`` rounded down to the alarms' longest period (at least a minute), from the epoch.

    GetMetricData aligns datapoints to the period; a start on that grid reads whole periods.
    """
    return floor_to(at, max(60, *(a.period or 60 for a in alarms)))


def floor_to(at: datetime, step: int) -> datetime:
    """``at`` rounded down to a multiple of ``step`` seconds from the epoch."""
    return at - timedelta(seconds=(at - EPOCH).total_seconds() % step)


def valid_period(seconds: float) -> int:
    """The smallest period CloudWatch accepts that is at least ``seconds``.

    1, 5, 10 or 30 s (high resolution), else the next multiple of 60 s.
    """
    for period in HIGH_RESOLUTION_PERIODS:
        if seconds <= period:
            return period
    return 60 * math.ceil(seconds / 60)


def graph_period(span: timedelta, alarm_period: int | None) -> int:
    """The period a graph of ``span`` reads: the rule that keeps a series to ~1,500 points.

    The smallest CloudWatch-valid period (1, 5, 10, 30 s, or a multiple of 60 s) that is at
    least ``span / POINTS_PER_SERIES`` and at least the alarm's own period. A 90-minute window
    with 30-minute margins keeps a 60 s alarm's 60 s; a 30-day month with its margins reads
    1,740 s (1,492 points).
    """
    need = span.total_seconds() / POINTS_PER_SERIES
    return valid_period(max(need, float(alarm_period or 60)))


def _batches(queries: list[dict[str, Any]], span: timedelta) -> list[list[dict[str, Any]]]:
    """``queries`` in calls of at most 500 queries and 100,800 datapoints (by their periods)."""
    batches: list[list[dict[str, Any]]] = []
    points = 0
    for q in queries:
        need = math.ceil(span.total_seconds() / q["MetricStat"]["Period"])
        if (
            not batches
            or len(batches[-1]) >= METRIC_QUERIES_PER_CALL
            or points + need > DATAPOINTS_PER_CALL
        ):
            batches.append([])
            points = 0
        batches[-1].append(q)
        points += need
    return batches


def _query(number: int, alarm: AlarmInfo, period: int | None = None) -> dict[str, Any]:
    return {
        "Id": f"m{number}",
        "ReturnData": True,
        "MetricStat": {
            "Metric": {
                "Namespace": alarm.namespace,
                "MetricName": alarm.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions],
            },
            "Period": period or alarm.period,
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
    periods: Mapping[str, int] | None = None,
) -> dict[str, Points]:
    """Each alarm's datapoints from ``start`` to ``end``, oldest first, by alarm name
    (``alarms`` graphable).

    ``periods`` gives each alarm's query period by name (default: the alarm's own). ``call``
    wraps the pages so that a failed ``GetMetricData`` becomes a ``CollectorError``; a paging
    loop ends the batch with a sentence in ``notes``. Datapoints outside ``[start, end)`` are
    dropped.
    """
    notes = [] if notes is None else notes
    dropped = 0
    queries = [_query(i, a, (periods or {}).get(a.name)) for i, a in enumerate(alarms)]
    points: dict[str, Points] = {q["Id"]: ([], []) for q in queries}
    first, last = start.timestamp(), end.timestamp()
    # One paginated call per batch; its NextToken pages bring more datapoints of the same queries.
    for batch in _batches(queries, end - start):
        params = {
            "MetricDataQueries": batch,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        pages = paged(client.get_metric_data, params, what="GetMetricData", notes=notes)
        for page in call(pages):
            for result in page.get("MetricDataResults", []):
                times, values = points[result["Id"]]
                stamps, read = _seconds(result.get("Timestamps", [])), result.get("Values", [])
                count = min(len(stamps), len(read))
                stamps, read = stamps[:count], read[:count]
                if count and (min(stamps) < first or max(stamps) >= last):
                    kept = [
                        (at, v) for at, v in zip(stamps, read, strict=True) if first <= at < last
                    ]
                    dropped += count - len(kept)
                    stamps, read = [at for at, _ in kept], [v for _, v in kept]
                times.extend(stamps)
                # A datapoint GetMetricData could not compute is a gap, not a zero.
                values.extend(read if _NUMBERS.issuperset(map(type, read)) else map(_number, read))
    for times, values in points.values():
        if any(a > b for a, b in itertools.pairwise(times)):
            pairs = sorted(zip(times, values, strict=True), key=lambda p: p[0])
            times[:], values[:] = [t for t, _ in pairs], [v for _, v in pairs]
    if dropped:
        notes.append(
            f"GetMetricData returned {dropped} datapoint{'s' if dropped > 1 else ''} outside "
            f"{iso_z(start)} .. {iso_z(end)} (the graph window and its margins); dropped"
        )
    return {a.name: points[q["Id"]] for q, a in zip(queries, alarms, strict=True)}


_NUMBERS = frozenset((int, float))
"""The types of a datapoint value or time read as it is (``bool`` is not among them)."""


def _seconds(stamps: list[Any]) -> list[float]:
    """Datapoint times as epoch seconds: botocore gives datetimes, the fast read numbers."""
    if _NUMBERS.issuperset(map(type, stamps)):
        return stamps
    return [at.timestamp() if isinstance(at, datetime) else float(at) for at in stamps]


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _epoch_points(result: Any) -> bool:
    """Whether one ``MetricDataResults`` item is shaped as the JSON protocol documents it: lists
    of epoch-second timestamps and of values (else botocore parses the answer)."""
    if not isinstance(result, dict):
        return False
    times, values = result.get("Timestamps", []), result.get("Values", [])
    return (
        isinstance(times, list)
        and isinstance(values, list)
        and _NUMBERS.issuperset(map(type, times))
    )


def _fast_metric_data(
    operation_model: Any,
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    **_: Any,
) -> None:
    """botocore ``before-parse`` hook for GetMetricData: read the datapoints with the C JSON
    decoder.

    botocore's JSON parser walks every datapoint through the model (about 5 us each; a month of
    lookback is hundreds of thousands). A JSON-protocol answer's ``MetricDataResults`` are read
    here instead (their timestamps stay epoch seconds, which :func:`metric_points` wants) and
    handed to botocore as the customised part of the answer; botocore parses the rest
    (``NextToken``, ``Messages``). An answer in another protocol, an error, or one shaped
    otherwise is left to botocore whole.
    """
    body = response_dict.get("body")
    if (
        response_dict.get("status_code") != 200
        or not isinstance(body, bytes)
        or getattr(operation_model.service_model, "resolved_protocol", None) != "json"
    ):
        return
    try:
        data = json.loads(body)
    except ValueError:
        return  # the answer guard (_aws.guard_answers) names the unreadable body
    results = data.get("MetricDataResults") if isinstance(data, dict) else None
    if not isinstance(results, list):
        return
    if not all(_epoch_points(r) for r in results):
        return
    customized_response_dict["MetricDataResults"] = results
    rest = {k: v for k, v in data.items() if k != "MetricDataResults"}
    response_dict["body"] = json.dumps(rest).encode()


def read_datapoints_fast(client: Any) -> None:
    """Set ``client`` to read GetMetricData's datapoints with :func:`_fast_metric_data`."""
    client.meta.events.register("before-parse.cloudwatch.GetMetricData", _fast_metric_data)


def graph_series(
    target: Target,
    alarms: Sequence[AlarmInfo],
    points: Mapping[str, Points],
    shown: datetime,
    periods: Mapping[str, int] | None = None,
) -> list[MetricSeries]:
    """Each alarm's datapoints from ``shown`` on, oldest first, as the graphs draw them.

    ``periods`` gives the period each series was read at (default: the alarm's own).
    """
    account, region = target
    found = []
    # The series share one period grid, so a time's text is made once, not once per series.
    texts: dict[float, str] = {}

    def text(at: float) -> str:
        made = texts.get(at)
        if made is None:
            made = texts[at] = iso_z(datetime.fromtimestamp(at, UTC))
        return made

    for a in alarms:
        times, values = points[a.name]
        since = shown.timestamp()
        order = sorted((i for i in range(len(times)) if times[i] >= since), key=times.__getitem__)
        found.append(
            MetricSeries(
                alarm_name=a.name,
                ref=a.arn or f"{region}:{a.name}",
                account=account or account_of(a.arn),
                region=region,
                metric=a.metric,
                namespace=a.namespace,
                statistic=a.statistic,
                period=(periods or {}).get(a.name, a.period),
                threshold=a.threshold,
                comparison_operator=a.comparison,
                times=tuple(text(times[i]) for i in order),
                values=tuple(values[i] for i in order),
            )
        )
    return found


@dataclasses.dataclass
class LookbackCall:
    """One GetMetricData call of the metric lookback: a time span and the alarms it reads."""

    since: datetime
    end: datetime
    alarms: dict[str, AlarmInfo]
    events: list[int]
    """The indexes of the breaches (``ALARM`` events) this call's datapoints serve."""

    def points(self, alarms: Mapping[str, AlarmInfo] | None = None) -> int:
        """Datapoints the call could return, as if every period held one."""
        span = (self.end - self.since).total_seconds()
        return sum(math.ceil(span / (a.period or 60)) for a in (alarms or self.alarms).values())


CALL_WORTH_POINTS = 2_000
"""A breach joins a lookback call only while that adds at most this many datapoints (as if every
period held one) beyond the breach's own: one more call is worth about 2,000 datapoints.

A call has one time span for all its queries, so joining a breach widens every query in the call.
Filling each call to AWS's 100,800-datapoint limit instead reads the quiet hours between breaches
for every alarm: in a busy month (2,600 breaches of 200 alarms, swept by time) 4.1 million
datapoints in 44 calls, against 2.4 million in 52 calls this way. The calls go out while the
alarm history is still being read (:mod:`.lookback`), so a few more cost no wall time, while every
datapoint costs both ends time to write and read (and, against AWS, bandwidth). Measured on the
busy month's CloudWatch alone: about 2,000 and 1,000 used the same CPU (1.6 s), filling each call
more (1.8-1.9 s)."""


def joined(call: LookbackCall, since: datetime, end: datetime, alarm: AlarmInfo) -> bool:
    """Add a breach (its lookback ``since`` .. ``end``, of ``alarm``) to ``call`` if it fits:
    AWS's per-call limits (500 queries, 100,800 datapoints) and :data:`CALL_WORTH_POINTS`."""
    wanted = {**call.alarms, alarm.name: alarm}
    grown = LookbackCall(min(call.since, since), max(call.end, end), wanted, [])
    alone = LookbackCall(since, end, {alarm.name: alarm}, []).points()
    if (
        len(wanted) > METRIC_QUERIES_PER_CALL
        or grown.points() > DATAPOINTS_PER_CALL
        or grown.points() - call.points() > CALL_WORTH_POINTS + alone
    ):
        return False
    call.since, call.end, call.alarms = grown.since, grown.end, wanted
    return True


def lookback_calls(
    breaches: Sequence[tuple[int, datetime, AlarmInfo]], lookback: timedelta
) -> list[LookbackCall]:
    """The lookback's breaches ``(index, breach start, alarm)`` grouped into GetMetricData calls.

    The breaches, by start, are swept into calls: a breach joins the current call while
    :func:`joined` lets it, else it starts the next. Each call's span starts on the period grid
    (:func:`floor`), as the graphs' query does, so the datapoints and the breach starts found are
    the same as from one long query.
    """
    calls: list[LookbackCall] = []
    for index, start, alarm in sorted(breaches, key=lambda b: (b[1], b[0])):
        since, end = floor(start - lookback, [alarm]), start + timedelta(seconds=1)
        if calls and joined(calls[-1], since, end, alarm):
            calls[-1].events.append(index)
            continue
        calls.append(LookbackCall(since, end, {alarm.name: alarm}, [index]))
    for call in calls:
        call.since = floor(call.since, list(call.alarms.values()))
    return calls
