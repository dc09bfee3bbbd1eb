"""The metric lookback does not depend on the graphs: --no-graphs never moves a milestone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.model import Window
from pmdraft.sandbox import aws
from pmdraft.sources.cloudwatch.collector import CloudWatchCollector
from pmdraft.sources.cloudwatch.metrics import RULE_LOOKBACK

from ..conftest import python, utc, write_config

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(minutes=90))


def slow_burn(moto) -> None:
    """An alarm whose metric breached from 14:06, evaluated (and firing) from 14:10 only."""
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
    evaluated = [
        {
            "timestamp": (T0 + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "value": 9.0,
        }
        for m in (12, 11, 10)
    ]
    at = T0 + timedelta(minutes=13)
    aws.add_history(
        "us-east-1",
        "SlowBurn",
        at,
        "OK",
        "ALARM",
        reason_data={"threshold": 5.0, "evaluatedDatapoints": evaluated},
    )
    aws.add_history("us-east-1", "SlowBurn", T0 + timedelta(minutes=17), "ALARM", "OK")


def test_the_collector_finds_the_same_breach_start_with_graphs_on_or_off(moto) -> None:
    """With graphs off the lookback reads its own GetMetricData: same events, same breach start, no series."""
    slow_burn(moto)

    def read(margin: timedelta | None) -> tuple[list, CloudWatchCollector]:
        collector = CloudWatchCollector(
            {"us-east-1": moto.client()},
            graph_margin=margin,
            metric_lookback=timedelta(minutes=60),
        )
        events = list(collector.collect(WINDOW))
        collector.close()
        return events, collector

    on, with_graphs = read(timedelta(minutes=30))
    off, without = read(None)
    assert on == off
    fired = next(e for e in off if e.kind == "alarm.alarm")
    assert (fired.attrs["breach_start"], fired.attrs["breach_start_rule"]) == (
        "2024-01-15T14:06:00Z",
        RULE_LOOKBACK,
    )
    assert len(with_graphs.extras().series) == 1 and without.extras().series == ()
    assert (with_graphs.requests, without.requests) == (3, 3), "one GetMetricData either way"


def test_the_draft_milestones_are_identical_with_and_without_no_graphs(
    moto, tmp_path: Path
) -> None:
    """`pmdraft draft --format json` gives the same milestones (impact from 14:06) with or without --no-graphs."""
    slow_burn(moto)
    config = write_config(tmp_path / "pm.toml", moto=moto)
    found = []
    for flags in ([], ["--no-graphs"]):
        out = tmp_path / f"pm{len(flags)}.json"
        argv = ["draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]
        result = CliRunner().invoke(
            cli, [*argv, "--config", str(config), "--format", "json", "-o", str(out), *flags]
        )
        assert result.exit_code == 0, result.output
        found.append(json.loads(out.read_text(encoding="utf-8"))["milestones"])
    assert found[0] == found[1]
    assert found[1]["impact_started"]["at"] == "2024-01-15T14:06:00Z"


def test_the_lookback_reads_only_the_wanted_alarms_metrics(moto) -> None:
    """With alarm_prefixes, an unwanted alarm that fired in the same pages has no GetMetricData
    query: the lookback asks only for the wanted alarm's metric."""
    slow_burn(moto)
    client = moto.client()
    client.put_metric_alarm(
        AlarmName="Other",
        MetricName="Latency",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    aws.add_history("us-east-1", "Other", T0 + timedelta(minutes=14), "OK", "ALARM")
    asked: list[str] = []

    def record(params, **_) -> None:
        asked.extend(q["MetricStat"]["Metric"]["MetricName"] for q in params["MetricDataQueries"])

    client.meta.events.register("provide-client-params.cloudwatch.GetMetricData", record)
    collector = CloudWatchCollector(
        {"us-east-1": client}, ["Slow"], metric_lookback=timedelta(minutes=60)
    )
    events = list(collector.collect(WINDOW))
    collector.close()
    assert {e.attrs["alarm_name"] for e in events} == {"SlowBurn"}
    assert asked == ["Errors"]
    fired = next(e for e in events if e.kind == "alarm.alarm")
    assert fired.attrs["breach_start"] == "2024-01-15T14:06:00Z"


def test_a_cli_process_reads_cloudwatch_apart_and_drafts_the_same(moto, tmp_path: Path) -> None:
    """`pmdraft draft` in its own process (one thread: CloudWatch is read in a forked child)
    writes the same JSON draft as the same command run inside this (threaded) process, which
    reads it in-process: same events, breach start from the lookback, milestones, Sources."""

    slow_burn(moto)
    config = write_config(tmp_path / "pm.toml", moto=moto)
    argv = ["draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]
    argv += ["--config", str(config), "--format", "json", "--no-graphs"]
    done = python("-m", "pmdraft.cli", *argv, "-v", "-o", str(tmp_path / "apart.json"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "source cloudwatch: read in a child process" in done.stderr
    result = CliRunner().invoke(cli, [*argv, "-o", str(tmp_path / "here.json")])
    assert result.exit_code == 0, result.output
    apart, here = (
        json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        for name in ("apart", "here")
    )
    for draft in (apart, here):
        draft.pop("generated_at", None)
    assert apart == here
    fired = [e for e in apart["events"] if e["kind"] == "alarm.alarm"]
    assert [e["attrs"]["breach_start"] for e in fired] == ["2024-01-15T14:06:00Z"]
    cloudwatch = next(s for s in apart["sources"] if s["name"] == "cloudwatch")
    assert (cloudwatch["status"], cloudwatch["events"], cloudwatch["requests"]) == ("ok", 2, 3)
