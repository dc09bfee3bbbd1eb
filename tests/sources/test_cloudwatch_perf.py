"""CloudWatch at scale: graph periods sized to the window, GetMetricData within AWS's per-call limits and beside the history, the history in time slices."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

from pmdraft.model import Window
from pmdraft.sandbox import aws
from pmdraft.sources.cloudwatch.alarms import AlarmInfo
from pmdraft.sources.cloudwatch.collector import CloudWatchCollector
from pmdraft.sources.cloudwatch.metrics import graph_period, metric_points
from pmdraft.sources.cloudwatch.slices import time_slices

from ..conftest import utc

T0 = utc(2024, 3, 1)
MONTH = Window(T0, T0 + timedelta(days=30))


def test_graph_period_keeps_a_series_to_1500_points_and_never_under_the_alarm_period() -> None:
    """90 minutes with 30-minute margins keeps 60 s; a month reads 1,740 s; a 300 s alarm keeps 300 s; 10 minutes of a 1 s alarm keeps 1 s."""
    assert graph_period(timedelta(minutes=150), 60) == 60
    assert graph_period(MONTH.duration + timedelta(hours=1), 60) == 1740
    assert graph_period(timedelta(days=2), 60) == 120
    assert graph_period(timedelta(hours=6), 300) == 300
    assert graph_period(timedelta(minutes=10), 1) == 1
    assert graph_period(timedelta(hours=1), 1) == 5


class FakeMetrics:
    """GetMetricData that records each call and answers one page per call after a NextToken page."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str | None]] = []

    def get_metric_data(self, *, MetricDataQueries, StartTime, EndTime, ScanBy, NextToken=None):
        points = sum(
            int((EndTime - StartTime).total_seconds()) // q["MetricStat"]["Period"]
            for q in MetricDataQueries
        )
        self.calls.append((len(MetricDataQueries), points, NextToken))
        results = [
            {
                "Id": q["Id"],
                "Timestamps": [StartTime] if NextToken else [],
                "Values": [1.0] if NextToken else [],
            }
            for q in MetricDataQueries
        ]
        return {"MetricDataResults": results, **({} if NextToken else {"NextToken": "more"})}


def alarms(n: int) -> list[AlarmInfo]:
    return [
        AlarmInfo(
            name=f"A{i}",
            arn=None,
            metric="Errors",
            namespace="App",
            threshold=1.0,
            comparison="GreaterThanThreshold",
            statistic="Sum",
            period=60,
        )
        for i in range(n)
    ]


def test_get_metric_data_stays_within_500_queries_and_100800_points_a_call_and_follows_next_token() -> (
    None
):
    """200 month-long series at 1,740 s (1,490 points each) go in 3 calls of at most 67 queries; 600 short ones in 500 + 100."""
    client = FakeMetrics()
    usable = alarms(200)
    periods = {a.name: graph_period(MONTH.duration, a.period) for a in usable}
    points = metric_points(
        client, usable, MONTH.since, MONTH.until, lambda pages: pages, [], periods
    )
    first = [c for c in client.calls if c[2] is None]
    assert [c[0] for c in first] == [67, 67, 66]
    assert all(c[1] <= 100_800 for c in first)
    assert len(client.calls) == 6  # each call's NextToken page followed
    assert all(len(points[a.name][0]) == 1 for a in usable)
    client = FakeMetrics()
    metric_points(client, alarms(600), T0, T0 + timedelta(hours=1), lambda pages: pages, [])
    assert [c[0] for c in client.calls if c[2] is None] == [500, 100]


def test_history_slices_are_disjoint_and_cover_the_window() -> None:
    """A month is 4 slices, newest first, each ending 1 ms before the next begins; 6 hours is one."""
    pieces = time_slices(MONTH)
    assert len(pieces) == 4
    assert pieces[0][1] == MONTH.until and pieces[-1][0] == MONTH.since
    for (later, _), (_, end) in itertools.pairwise(pieces):
        assert later - end == timedelta(milliseconds=1)
    assert time_slices(Window(T0, T0 + timedelta(hours=6))) == [(T0, T0 + timedelta(hours=6))]


def put_alarm(client, name: str) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )


def test_a_long_window_reads_every_transition_once_in_time_slices(moto) -> None:
    """900 transitions over 2 days, some on slice boundaries, come back once each in 4 chains of 3 pages: 1 + 12 requests (bound 1 + 9, slices add at most 3)."""
    client = moto.client()
    for i in range(3):
        put_alarm(client, f"Alarm{i}")
    window = Window(T0, T0 + timedelta(days=2))
    stamps = [T0 + timedelta(seconds=192 * n) for n in range(900)]
    stamps[1::300] = [T0 + timedelta(hours=12 * k) for k in range(1, 4)]
    for n, at in enumerate(sorted(stamps)):
        old, new = ("OK", "ALARM") if n % 2 == 0 else ("ALARM", "OK")
        aws.add_history("us-east-1", f"Alarm{n % 3}", at, old, new)
    collector = CloudWatchCollector({"us-east-1": moto.client()})
    events = list(collector.collect(window))
    assert len(events) == len({(e.ref, e.at) for e in events}) == 900
    assert collector.detail is None
    assert collector.requests == 1 + 4 * 3 <= 1 + 9 + 3


def test_get_metric_data_runs_beside_the_history(moto) -> None:
    """GetMetricData starts while DescribeAlarmHistory is still being read: each waits for the other to begin."""
    client = moto.client()
    put_alarm(client, "Alarm0")
    aws.add_history("us-east-1", "Alarm0", T0 + timedelta(minutes=10), "OK", "ALARM")
    both = threading.Barrier(2, timeout=20)

    def meet(**_: object) -> None:
        both.wait()  # a value returned from before-send would stand in for the answer

    watched = moto.client()
    watched.meta.events.register("before-send.cloudwatch.GetMetricData", meet)
    watched.meta.events.register("before-send.cloudwatch.DescribeAlarmHistory", meet)
    collector = CloudWatchCollector(
        {"us-east-1": watched}, graph_margin=timedelta(minutes=30), metric_lookback=None
    )
    events = list(collector.collect(Window(T0, T0 + timedelta(hours=1))))
    assert [e.kind for e in events] == ["alarm.alarm"]
    assert not both.broken
    assert [s.alarm_name for s in collector.extras().series] == ["Alarm0"]
    assert collector.requests == 3


def test_history_pages_are_made_into_events_as_they_come_in() -> None:
    """Pages that came before DescribeAlarms answered are made once it has; later pages at
    once; an item that cannot be made is left for the end, where its error is said as always."""
    from pmdraft.sources.cloudwatch.collector import _Premade

    made: list[str] = []

    def make(item: dict[str, object]) -> object:
        if item.get("AlarmName") is None:
            raise KeyError("AlarmName")
        made.append(str(item["AlarmName"]))
        return f"event of {item['AlarmName']}"

    premade = _Premade()
    early = [{"AlarmName": "A"}, {"AlarmName": "B"}]
    premade.page(early)
    assert made == []
    premade.open(make)  # type: ignore[arg-type]
    assert made == ["A", "B"]
    late = [{"AlarmName": "C"}, {"HistoryItemType": "StateUpdate"}]
    premade.page(late)
    assert made == ["A", "B", "C"]
    assert [premade.get(i) for i in (*early, *late)] == [
        "event of A",
        "event of B",
        "event of C",
        None,
    ]
    assert premade.get({"AlarmName": "A"}) is None  # an equal item is not the item read
