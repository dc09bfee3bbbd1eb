"""CloudWatch through boto3 against moto's server: history pages, breach starts, failures."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from pmdraft.errors import CollectorError
from pmdraft.model import Window
from pmdraft.sandbox import aws
from pmdraft.sources.cloudwatch.alarms import (
    RULE_DATAPOINT,
    RULE_START_DATE,
    RULE_TRANSITION,
    AlarmInfo,
    breach_start,
)
from pmdraft.sources.cloudwatch.collector import CloudWatchCollector
from pmdraft.sources.cloudwatch.metrics import RULE_LOOKBACK

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(hours=6))


def put_alarm(client, name: str, op: str = "GreaterThanThreshold", threshold: float = 5.0) -> None:
    client.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=op,
    )


def stamp(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_history_is_read_in_pages_of_100_in_one_stream(moto) -> None:
    """250 transitions of 5 alarms come back whole in 3 history pages plus 1 DescribeAlarms."""
    client = moto.client()
    for i in range(5):
        put_alarm(client, f"Alarm{i}")
    for n in range(250):
        old, new = ("OK", "ALARM") if n % 2 == 0 else ("ALARM", "OK")
        aws.add_history("us-east-1", f"Alarm{n % 5}", T0 + timedelta(seconds=30 * n), old, new)
    collector = CloudWatchCollector({"us-east-1": moto.client()})
    events = list(collector.collect(WINDOW))
    assert len(events) == 250
    assert len({(e.ref, e.at) for e in events}) == 250
    assert collector.requests == 4
    assert {e.kind for e in events} == {"alarm.alarm", "alarm.ok"}
    first = min(events, key=lambda e: e.at)
    assert first.summary == "Alarm0 OK -> ALARM"
    assert first.attrs["region"] == "us-east-1" and first.attrs["threshold"] == 5.0
    assert first.ref.startswith("arn:aws:cloudwatch:us-east-1:") and first.ref.endswith(
        ":alarm:Alarm0"
    )


def test_window_and_prefixes_filter_transitions(moto) -> None:
    """Only transitions inside [since, until) of alarms with a listed prefix are kept."""
    client = moto.client()
    put_alarm(client, "api-errors")
    put_alarm(client, "batch-lag")
    aws.add_history("us-east-1", "api-errors", T0 - timedelta(seconds=1), "OK", "ALARM")
    aws.add_history("us-east-1", "api-errors", T0, "OK", "ALARM")
    aws.add_history("us-east-1", "batch-lag", T0 + timedelta(minutes=1), "OK", "ALARM")
    aws.add_history("us-east-1", "api-errors", WINDOW.until, "ALARM", "OK")
    events = list(CloudWatchCollector({"us-east-1": moto.client()}, ["api-"]).collect(WINDOW))
    assert [(e.attrs["alarm_name"], e.at) for e in events] == [("api-errors", T0)]


def test_breach_start_uses_the_earliest_breaching_datapoint(moto) -> None:
    """The impact start is the first datapoint that breaches under the alarm's operator."""
    client = moto.client()
    put_alarm(client, "LowTraffic", op="LessThanThreshold", threshold=100.0)
    aws.add_history(
        "us-east-1",
        "LowTraffic",
        T0 + timedelta(minutes=10),
        "OK",
        "ALARM",
        reason="Threshold Crossed",
        reason_data={
            "startDate": stamp(6),
            "threshold": 100.0,
            "evaluatedDatapoints": [
                {"timestamp": stamp(9), "value": 12.0},
                {"timestamp": stamp(8), "value": 40.0},
                {"timestamp": stamp(7), "value": 150.0},
                {"timestamp": stamp(6), "value": 120.0},
            ],
        },
    )
    [event] = CloudWatchCollector({"us-east-1": moto.client()}).collect(WINDOW)
    assert event.kind == "alarm.alarm"
    assert event.attrs["breach_start"] == "2024-01-15T14:08:00Z"
    assert event.attrs["breach_start_rule"] == RULE_DATAPOINT
    assert event.attrs["reason"] == "Threshold Crossed"


def test_breach_start_falls_back_to_start_date_then_transition() -> None:
    """Without breaching datapoints the startDate is used; without that, the transition time."""
    alarm = AlarmInfo("A", None, None, None, 5.0, "GreaterThanThreshold")
    at = T0 + timedelta(minutes=10)
    assert breach_start(
        {"startDate": stamp(4), "evaluatedDatapoints": [{"timestamp": stamp(5), "value": 1.0}]},
        alarm,
        at,
    ) == (T0 + timedelta(minutes=4), RULE_START_DATE)
    assert breach_start({}, alarm, at) == (at, RULE_TRANSITION)
    assert breach_start(
        {"threshold": 5.0, "evaluatedDatapoints": [{"timestamp": stamp(3), "value": 9.0}]}, None, at
    ) == (at, RULE_TRANSITION), "an alarm whose operator is unknown is not guessed at"


def test_metric_lookback_finds_a_breach_that_began_before_the_evaluated_range(moto) -> None:
    """A metric breaching 4 minutes before the evaluated range moves the breach start back, within the lookback."""
    client = moto.client()
    client.put_metric_alarm(
        AlarmName="SlowBurn",
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=3,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.put_metric_data(
        Namespace="App",
        MetricData=[
            {
                "MetricName": "Errors",
                "Timestamp": T0 + timedelta(minutes=m),
                "Value": 9.0 if 6 <= m <= 15 else 1.0,
            }
            for m in range(30)
        ],
    )
    aws.add_history(
        "us-east-1",
        "SlowBurn",
        T0 + timedelta(minutes=13),
        "OK",
        "ALARM",
        reason_data={
            "threshold": 5.0,
            "evaluatedDatapoints": [
                {"timestamp": stamp(12), "value": 9.0},
                {"timestamp": stamp(11), "value": 9.0},
                {"timestamp": stamp(10), "value": 9.0},
            ],
        },
    )

    def read(lookback_minutes: int) -> tuple[dict, int]:
        collector = CloudWatchCollector(
            {"us-east-1": moto.client()},
            graph_margin=timedelta(minutes=30),
            metric_lookback=timedelta(minutes=lookback_minutes) or None,
        )
        [event] = collector.collect(WINDOW)
        return dict(event.attrs), collector.requests

    attrs, requests = read(60)
    assert (attrs["breach_start"], attrs["breach_start_rule"]) == (
        "2024-01-15T14:06:00Z",
        RULE_LOOKBACK,
    )
    assert attrs["evaluated_breach_start"] == "2024-01-15T14:10:00Z"
    assert RULE_LOOKBACK.startswith("metric_lookback")
    assert requests == 3, (
        "DescribeAlarms, DescribeAlarmHistory and one GetMetricData, as without the lookback"
    )
    assert read(2)[0]["breach_start"] == "2024-01-15T14:08:00Z", "no further back than the lookback"
    assert read(0)[0]["breach_start"] == "2024-01-15T14:10:00Z"
    assert read(0)[0]["breach_start_rule"] == RULE_DATAPOINT


def test_unreachable_region_is_a_collector_error_naming_it() -> None:
    """A region that cannot be reached becomes an error that names the region and the call."""
    from botocore.config import Config

    client = boto3.client(
        "cloudwatch",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    collector = CloudWatchCollector({"eu-west-1": client})
    with pytest.raises(
        CollectorError, match=r"cloudwatch: DescribeAlarms in eu-west-1 failed: Could not connect"
    ):
        list(collector.collect(WINDOW))
