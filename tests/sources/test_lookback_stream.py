"""The metric lookback read page by page while the history comes in (``lookback.LookbackStream``).

Its calls must respect GetMetricData's per-call limits, cover each breach's lookback on the
period grid, and find the same earlier breach starts as reading each alarm's whole series.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
from datetime import UTC, datetime, timedelta

from pmdraft.sources.cloudwatch.alarms import AlarmInfo
from pmdraft.sources.cloudwatch.lookback import Gate, LookbackStream
from pmdraft.sources.cloudwatch.metrics import (
    DATAPOINTS_PER_CALL,
    METRIC_QUERIES_PER_CALL,
    earlier_breach,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)
LOOKBACK = timedelta(minutes=60)
DAYS = 5


def alarm(i: int) -> AlarmInfo:
    return AlarmInfo(
        name=f"A{i}",
        arn=None,
        metric=f"Errors{i}",
        namespace="App",
        dimensions=(),
        threshold=5.0,
        comparison="GreaterThanThreshold",
        statistic="Sum",
        period=60,
    )


def item(a: AlarmInfo, at: datetime, new: str = "ALARM") -> dict:
    stamp = (at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    data = {
        "oldState": {"stateValue": "OK"},
        "newState": {
            "stateValue": new,
            "stateReasonData": {"evaluatedDatapoints": [{"timestamp": stamp, "value": 9.0}]},
        },
    }
    return {
        "AlarmName": a.name,
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistoryData": json.dumps(data),
    }


def series(rng: random.Random) -> tuple[list[float], list[float]]:
    """Five days of one-minute datapoints, breaching in random runs."""
    times = [(T0 + timedelta(minutes=m)).timestamp() for m in range(0, DAYS * 1440)]
    values, breaching = [], False
    for _ in times:
        if rng.random() < 0.05:
            breaching = not breaching
        values.append(9.0 if breaching else 1.0)
    return times, values


def test_streamed_calls_keep_the_limits_and_find_what_the_whole_series_gives() -> None:
    """600 breaches of 100 alarms over five days, paged from 4 slices: every call is within 500
    queries and 100,800 datapoints, starts on the minute grid, covers each breach's hour; and
    every breach start found is the one the alarm's whole series gives."""
    rng = random.Random(7)
    alarms = {a.name: a for a in map(alarm, range(100))}
    data = {name: series(rng) for name in alarms}
    calls: list[tuple[list[AlarmInfo], datetime, datetime]] = []

    def read(usable: list[AlarmInfo], since: datetime, end: datetime) -> dict:
        calls.append((usable, since, end))
        out = {}
        for a in usable:
            times, values = data[a.name]
            lo = bisect.bisect_left(times, since.timestamp())
            hi = bisect.bisect_left(times, end.timestamp())
            out[a.name] = (times[lo:hi], values[lo:hi])
        return out

    stream = LookbackStream(LOOKBACK, read, workers=2, alarms=alarms)
    breaches = sorted(
        (T0 + timedelta(minutes=rng.randrange(120, DAYS * 1440)), rng.choice(list(alarms)))
        for _ in range(600)
    )
    slices = [breaches[i::4] for i in range(4)]  # each slice a chain, its pages of 100
    for chain, part in enumerate(slices):
        for page in range(0, len(part), 100):
            stream.page(chain, [item(alarms[n], at) for at, n in part[page : page + 100]])
    found, seen = stream.results()

    assert len(seen) == len({(n, (at - timedelta(minutes=1)).timestamp()) for at, n in breaches})
    assert 4 <= len(calls) < 600, "breaches share calls"
    for usable, since, end in calls:
        assert len(usable) <= METRIC_QUERIES_PER_CALL
        assert len(usable) * (end - since).total_seconds() / 60 <= DATAPOINTS_PER_CALL + len(usable)
        assert since.timestamp() % 60 == 0
    for at, name in breaches:
        start = at - timedelta(minutes=1)
        key = (name, start.timestamp())
        whole = earlier_breach(*data[name], alarms[name], start, LOOKBACK)
        assert found[key] == whole, (name, start)
    assert any(v is not None for v in found.values())


def test_a_failed_call_leaves_its_breaches_seen_and_unmoved() -> None:
    """A call whose read failed (None: noted by the collector) is not read again afterwards:
    its breaches are seen, none has an earlier start; an OK transition is no breach."""
    a = alarm(1)
    stream = LookbackStream(LOOKBACK, lambda *_: None, workers=1, alarms={a.name: a})
    stream.page("s", [item(a, T0 + timedelta(hours=2)), item(a, T0 + timedelta(hours=3), "OK")])
    found, seen = stream.results()
    assert found == {}
    assert seen == {(a.name, (T0 + timedelta(hours=2, minutes=-1)).timestamp())}


def test_a_chain_s_last_call_goes_when_that_chain_ends_not_when_every_chain_has() -> None:
    """Two chains each with an open call: ended("a") sends a's call at once (b's stays open
    until results()); results() then sends b's, and every breach is seen once."""
    a, b = alarm(1), alarm(2)
    asked: list[str] = []

    def read(usable: list[AlarmInfo], since: datetime, end: datetime) -> dict:
        asked.append(usable[0].name)
        return {x.name: ([], []) for x in usable}

    stream = LookbackStream(LOOKBACK, read, workers=1, alarms={a.name: a, b.name: b})
    stream.page("a", [item(a, T0 + timedelta(hours=2))])
    stream.page("b", [item(b, T0 + timedelta(hours=3))])
    stream.ended("a")
    stream.ended("nothing open")
    stream._pool.submit(lambda: None).result()  # the one worker has run a's call
    assert asked == ["A1"]
    _, seen = stream.results()
    assert asked == ["A1", "A2"]
    assert seen == {
        (a.name, (T0 + timedelta(hours=2, minutes=-1)).timestamp()),
        (b.name, (T0 + timedelta(hours=3, minutes=-1)).timestamp()),
    }


def test_a_chain_that_ended_before_describe_alarms_answered_sends_its_call_at_open() -> None:
    """The Gate holds a chain's pages and its end until DescribeAlarms answers; at open() the
    page is streamed and the chain's call goes, before results() is asked."""
    a = alarm(1)
    asked: list[str] = []

    def read(usable: list[AlarmInfo], since: datetime, end: datetime) -> dict:
        asked.append(usable[0].name)
        return {x.name: ([], []) for x in usable}

    stream = LookbackStream(LOOKBACK, read, workers=1)
    gate = Gate(stream)
    gate.page("a", [item(a, T0 + timedelta(hours=2))])
    gate.ended("a")
    assert asked == []
    assert gate.open({a.name: a}, serves_lookback=False) is stream
    stream._pool.submit(lambda: None).result()
    assert asked == ["A1"]
    assert stream.results()[1] == {(a.name, (T0 + timedelta(hours=2, minutes=-1)).timestamp())}


def test_finds_come_as_calls_answer_not_as_they_were_sent() -> None:
    """A call that answers first is given first: the caller moves its breaches while an earlier
    call is still out (after the last answer only that call's breaches are left)."""
    alarms = {a.name: a for a in map(alarm, range(2))}
    slow_may_answer = threading.Event()

    def read(usable: list[AlarmInfo], since: datetime, end: datetime) -> dict:
        if usable[0].name == "A0":
            assert slow_may_answer.wait(10)
        return {a.name: ([], []) for a in usable}

    stream = LookbackStream(LOOKBACK, read, workers=2, alarms=alarms)
    stream.page("slow", [item(alarms["A0"], T0 + timedelta(hours=2))])
    stream.ended("slow")
    stream.page("fast", [item(alarms["A1"], T0 + timedelta(hours=3))])
    stream.ended("fast")
    finds = stream.finds()
    first, _ = next(finds)
    slow_may_answer.set()
    second, _ = next(finds)
    assert [name for name, _ in first] == ["A1"]
    assert [name for name, _ in second] == ["A0"]
