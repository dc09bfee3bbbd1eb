"""Request counts through the real collectors: pages of 100 per stream, never a call per incident or alarm.

Not timed: it counts what the stand-ins answered. A change that reads each incident's log
entries, or each alarm's history, separately multiplies these counts and fails here.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta
from pathlib import Path

from pmdraft.config import load_config
from pmdraft.draft import make_draft
from pmdraft.model import Window
from pmdraft.sandbox import aws
from pmdraft.sandbox.pagerduty import incident, log_entry

from .conftest import TOKEN, utc

T0 = utc(2024, 3, 4, 8)
WINDOW = Window(T0, T0 + timedelta(days=2))
REGIONS = ("us-east-1", "eu-west-1")
INCIDENTS = 250
ENTRIES = 2_550
ALARMS = 12
TRANSITIONS = 430
"""Per region."""


def seed_pagerduty(pd) -> None:
    incidents = [
        incident(
            id=f"QRC{i:04d}",
            number=100 + i,
            title=f"Incident {i}",
            created_at=T0 + timedelta(minutes=10 * i),
            service_id="PSVC1",
            service_name="api",
            resolved_at=T0 + timedelta(minutes=10 * i + 30),
        )
        for i in range(INCIDENTS)
    ]
    pd.add_incidents(incidents)
    kinds = (
        "trigger_log_entry",
        "notify_log_entry",
        "acknowledge_log_entry",
        "notify_log_entry",
        "resolve_log_entry",
    )
    pd.add_log_entries(
        [
            log_entry(
                id=f"LRC{n:05d}",
                type=kinds[n % len(kinds)],
                created_at=T0 + timedelta(minutes=10 * (n % INCIDENTS), seconds=n // INCIDENTS),
                incident=incidents[n % INCIDENTS],
                user=("PUSER01", "Ana") if n % len(kinds) in (1, 3) else None,
            )
            for n in range(ENTRIES)
        ]
    )


def seed_cloudwatch(moto) -> None:
    for region in REGIONS:
        client = moto.client(region=region)
        for a in range(ALARMS):
            client.put_metric_alarm(
                AlarmName=f"Alarm{a}",
                MetricName="Errors",
                Namespace="App",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
            )
        client.close()
        for n in range(TRANSITIONS):
            old, new = ("OK", "ALARM") if (n // ALARMS) % 2 == 0 else ("ALARM", "OK")
            aws.add_history(
                region, f"Alarm{n % ALARMS}", T0 + timedelta(minutes=5 * n + n % ALARMS), old, new
            )


def config(tmp_path: Path, moto, pd) -> Path:
    path = tmp_path / "pmdraft.toml"
    # No metric graphs: GetMetricData (one call a region) makes moto walk every period of the
    # window for every metric, slow on a busy machine, and it is not a paged stream.
    path.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f'regions = ["{REGIONS[0]}", "{REGIONS[1]}"]',
                f'endpoint_url = "{moto.endpoint_url}"',
                "graphs = false",
                "metric_lookback_minutes = 0",
                "",
                "[pagerduty]",
                f'base_url = "{pd.base_url}"',
                f'ca_bundle = "{pd.ca_path}"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def test_requests_are_one_per_page_of_100_per_stream(tmp_path: Path, moto, pd) -> None:
    """250 incidents, 2,550 log entries and 2 x 430 transitions of 12 alarms take 3 + 26 (+ 2) and 2 x (1 + 7) requests."""
    seed_pagerduty(pd)
    seed_cloudwatch(moto)
    draft = make_draft(
        load_config(config(tmp_path, moto, pd)), WINDOW, {"PAGERDUTY_API_TOKEN": TOKEN}
    )
    reports = {r.name: r for r in draft.reports}

    # PagerDuty: ceil(incidents / 100) pages of GET /incidents, then ceil(entries / 100) pages of
    # one GET /log_entries stream; each listing's first page also asks for the total, so a
    # listing under PagerDuty's 10,000 cap needs no extra probe request.
    # Then one (empty) page of past incidents before the first, for Related Incidents, and one
    # (empty) page of change events: one listing each, never one call per incident.
    assert math.ceil(INCIDENTS / 100) == 3 and math.ceil(ENTRIES / 100) == 26
    assert Counter(r.path for r in pd.requests) == {
        "/incidents": 3 + 1,
        "/log_entries": 26,
        "/change_events": 1,
    }
    assert (
        reports["pagerduty"].status,
        reports["pagerduty"].events,
        reports["pagerduty"].requests,
    ) == ("ok", ENTRIES, 30)
    changes = reports["pagerduty:change_events"]
    assert (changes.status, changes.events, changes.requests) == ("ok", 0, 1), "a line of its own"

    # CloudWatch: per region one DescribeAlarms page, and the 2-day history read as 4 time
    # slices of 12 hours (each its own NextToken chain): 144, 144, 142 and 0 transitions, so
    # 2 + 2 + 2 + 1 = 7 pages, against a lower bound of ceil(430 / 100) = 5. Slicing may cost
    # at most one part page per extra slice (+3), never a page per alarm.
    assert (reports["cloudwatch"].status, reports["cloudwatch"].events) == ("ok", 2 * TRANSITIONS)
    bound = len(REGIONS) * (1 + math.ceil(TRANSITIONS / 100))
    assert reports["cloudwatch"].requests == len(REGIONS) * (1 + 7) == 16 <= bound + 2 * 3


# CloudWatch's metric reads (GetMetricData): only when something uses them, and batched.


def cloudwatch_config(
    tmp_path: Path, moto, *, graphs: bool, lookback_minutes: int, regions: int = 2
) -> Path:
    path = tmp_path / "cloudwatch.toml"
    path.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f"regions = {json.dumps(list(REGIONS[:regions]))}",
                f'endpoint_url = "{moto.endpoint_url}"',
                f"graphs = {'true' if graphs else 'false'}",
                f"metric_lookback_minutes = {lookback_minutes}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


LOOKBACK_ALARMS = 100
"""In one region, each breaching twice: once in a morning burst, once in an evening burst."""


def test_the_metric_lookback_reads_near_the_breaches_only(tmp_path: Path, moto) -> None:
    """The lookback of 100 alarms breaching in two bursts 43 hours apart costs one GetMetricData per burst, not one per 100,800 datapoints of the whole span."""
    client = moto.client(region=REGIONS[0])
    for a in range(LOOKBACK_ALARMS):
        client.put_metric_alarm(
            AlarmName=f"Lookback{a}",
            MetricName=f"Errors{a}",
            Namespace="App",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
        for burst in (timedelta(hours=1), timedelta(hours=44)):
            at = T0 + burst + timedelta(minutes=a)
            aws.add_history(REGIONS[0], f"Lookback{a}", at, "OK", "ALARM")
            aws.add_history(REGIONS[0], f"Lookback{a}", at + timedelta(minutes=5), "ALARM", "OK")
    client.close()
    cfg = cloudwatch_config(tmp_path, moto, graphs=False, lookback_minutes=60, regions=1)
    draft = make_draft(load_config(cfg), WINDOW, {})
    report = next(r for r in draft.reports if r.name == "cloudwatch")
    # One DescribeAlarms page; the history in 4 slices of 12 hours (2 + 1 + 1 + 2 pages); and
    # the lookback: each burst's 100 alarms over its ~2.7 hours (16,000 datapoints at most) in
    # one call. One query from the first breach to the last would span 45 hours of 100
    # alarms (270,000 possible datapoints: 3 calls), nearly all of it the quiet day between.
    assert (report.status, report.events) == ("ok", 4 * LOOKBACK_ALARMS)
    assert report.requests == 1 + 6 + 2 == 9


def test_format_json_reads_no_metric_data_for_graphs(tmp_path: Path, moto) -> None:
    """`draft --format json` draws no graph, so it makes no GetMetricData call for one."""
    from click.testing import CliRunner

    from pmdraft.cli import cli

    seed_cloudwatch(moto)
    cfg = cloudwatch_config(tmp_path, moto, graphs=True, lookback_minutes=0)
    out = tmp_path / "draft.json"
    window = ["--since", "2024-03-04T08:00:00Z", "--until", "2024-03-06T08:00:00Z"]
    args = ["draft", *window, "--config", str(cfg), "--format", "json", "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    sources = json.loads(out.read_text(encoding="utf-8"))["sources"]
    # The history alone is 16 requests (above); graphs would add one GetMetricData a region.
    assert next(s["requests"] for s in sources if s["name"] == "cloudwatch") == 16


BATCH = 20
"""Incidents one batch run drafts, 30 minutes apart (their windows overlap: one merged span)."""


def test_a_batch_of_20_reads_once_per_run_never_per_incident(tmp_path: Path, moto, pd) -> None:
    """20 incidents, 60 log entries, 24 transitions: 4 PagerDuty and 2 CloudWatch requests in all.

    Drafting each alone took 141 (5 PagerDuty and 2 AWS requests per incident, and the listing):
    a return to per-incident reads (GET /incidents/{id}, /incidents/{id}/log_entries, a listing
    or DescribeAlarms per draft) fails here.
    """
    from pmdraft.batch import Batch, open_sink, open_state
    from pmdraft.render import render_markdown

    from .test_batch import NOW

    incidents = [
        incident(
            id=f"QBT{i:03d}",
            number=500 + i,
            title=f"Batch incident {i}",
            created_at=NOW - timedelta(hours=12) + timedelta(minutes=30 * i),
            service_id="PSVC1",
            service_name="api",
            resolved_at=NOW - timedelta(hours=12) + timedelta(minutes=30 * i + 20),
        )
        for i in range(BATCH)
    ]
    pd.add_incidents(incidents)
    pd.add_log_entries(
        [
            log_entry(
                id=f"LBT{i:03d}{k}",
                type=kind,
                created_at=NOW - timedelta(hours=12) + timedelta(minutes=30 * i + 5 * k),
                incident=inc,
            )
            for i, inc in enumerate(incidents)
            for k, kind in enumerate(
                ("trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry")
            )
        ]
    )
    client = moto.client(region=REGIONS[0])
    client.put_metric_alarm(
        AlarmName="Alarm0",
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.close()
    for n in range(24):
        old, new = ("OK", "ALARM") if n % 2 == 0 else ("ALARM", "OK")
        at = NOW - timedelta(hours=12) + timedelta(minutes=25 * n + 1)
        aws.add_history(REGIONS[0], "Alarm0", at, old, new)
    path = config(tmp_path, moto, pd)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            f'regions = ["{REGIONS[0]}", "{REGIONS[1]}"]', f'regions = ["{REGIONS[0]}"]'
        )
        + '[batch]\noutput = "drafts"\n',
        encoding="utf-8",
    )
    cfg = load_config(path)
    job = Batch(
        cfg,
        {"PAGERDUTY_API_TOKEN": TOKEN},
        state=open_state(cfg),
        sink=open_sink(cfg),
        render=render_markdown,
    )
    result = job.run(NOW, since=NOW - timedelta(days=1))
    assert [o.status for o in result.outcomes] == ["drafted"] * BATCH

    # The candidates' listing, one listing over every draft's other and past incidents, one
    # /log_entries stream (one merged span, 60 entries), one change-events listing.
    assert Counter(r.path for r in pd.requests) == {
        "/incidents": 2,
        "/log_entries": 1,
        "/change_events": 1,
    }
    # DescribeAlarms once, and the merged span's history (under 12 hours: one chain, one page);
    # each read counts in the draft that made it (the first).
    cloudwatch = [
        int(line.split("|")[4])
        for p in sorted((tmp_path / "drafts").glob("*.md"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.startswith("| CloudWatch alarm history |")
    ]
    assert (len(cloudwatch), sum(cloudwatch), cloudwatch[0]) == (BATCH, 2, 2)
