"""--tz: the timeline shows local time beside UTC, with dates where either zone's day changes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_html, render_json, render_markdown

from ..conftest import utc

BERLIN = ZoneInfo("Europe/Berlin")


def incident(at: datetime, kind: str) -> Event:
    attrs = {"incident_number": 7, "incident_title": "Checkout down"}
    return Event(
        at=at,
        source="pagerduty",
        kind=kind,
        ref="QTZ",
        summary=kind,
        service="payments",
        actor="Ana",
        attrs=attrs,
    )


def draft_of(*events: Event):
    window = Window(events[0].at - timedelta(minutes=10), events[-1].at + timedelta(minutes=10))
    return build_draft(
        Collected(list(events), [SourceReport("pagerduty", "ok", len(events), 2)]), window
    )


def table(md: str) -> list[str]:
    """The timeline table's lines, header and separator included."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Timeline")) + 2
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return lines[start:end]


def timeline_rows(md: str) -> list[str]:
    return table(md)[2:]


def test_local_midnight_puts_the_date_in_the_column_whose_day_changed() -> None:
    """Berlin's day changes before UTC's: each column shows its date on the first row and when its own day turns."""
    md = render_markdown(
        draft_of(
            incident(utc(2024, 1, 15, 22, 50), "incident.triggered"),
            incident(utc(2024, 1, 15, 23, 5), "incident.acknowledged"),
            incident(utc(2024, 1, 16, 0, 10), "incident.resolved"),
        ),
        tz=BERLIN,
    )
    assert "## Timeline (UTC, with local time in Europe/Berlin)" in md
    assert table(md)[:2] == [
        "| Time (UTC) | Local (Europe/Berlin) | Event |",
        "|------------|------------------|-------|",
    ]
    assert timeline_rows(md) == [
        "| 2024-01-15 22:50:00 | 2024-01-15 23:50:00 CET | PagerDuty #7 triggered on payments: Checkout down _[impact_started, detected, paged]_ |",
        "| 23:05:00 | 2024-01-16 00:05:00 CET | PagerDuty #7 acknowledged by Ana _[acknowledged]_ |",
        "| 2024-01-16 00:10:00 | 01:10:00 CET | PagerDuty #7 resolved by Ana _[resolved]_ |",
    ]
    assert "Every time is UTC; the timeline also shows local time in Europe/Berlin." in md


def test_a_day_change_only_in_the_local_zone_still_dates_the_rows() -> None:
    """A timeline on one UTC day that crosses Berlin's midnight shows both dates on the first row."""
    md = render_markdown(
        draft_of(
            incident(utc(2024, 1, 15, 22, 30), "incident.triggered"),
            incident(utc(2024, 1, 15, 23, 30), "incident.resolved"),
        ),
        tz=BERLIN,
    )
    assert timeline_rows(md) == [
        "| 2024-01-15 22:30:00 | 2024-01-15 23:30:00 CET | PagerDuty #7 triggered on payments: Checkout down _[impact_started, detected, paged]_ |",
        "| 23:30:00 | 2024-01-16 00:30:00 CET | PagerDuty #7 resolved by Ana _[resolved]_ |",
    ]


def test_the_spring_dst_change_switches_the_abbreviation_and_skips_the_lost_hour() -> None:
    """At 2024-03-31 01:00 UTC Berlin jumps from 01:59 CET to 03:00 CEST; no date, as the day is the same."""
    md = render_markdown(
        draft_of(
            incident(utc(2024, 3, 31, 0, 30), "incident.triggered"),
            incident(utc(2024, 3, 31, 0, 59, 59), "incident.acknowledged"),
            incident(utc(2024, 3, 31, 1, 0), "incident.resolved"),
        ),
        tz=BERLIN,
    )
    assert timeline_rows(md) == [
        "| 00:30:00 | 01:30:00 CET | PagerDuty #7 triggered on payments: Checkout down _[impact_started, detected, paged]_ |",
        "| 00:59:59 | 01:59:59 CET | PagerDuty #7 acknowledged by Ana _[acknowledged]_ |",
        "| 01:00:00 | 03:00:00 CEST | PagerDuty #7 resolved by Ana _[resolved]_ |",
    ]


def test_without_tz_the_timeline_keeps_its_two_utc_columns() -> None:
    """No --tz: the header is exactly `| Time | Event |` and the heading says all times are UTC."""
    md = render_markdown(draft_of(incident(utc(2024, 3, 31, 0, 30), "incident.triggered")))
    assert "## Timeline (All times UTC)" in md
    assert table(md)[:3] == [
        "| Time | Event |",
        "|------|-------|",
        "| 00:30:00 | PagerDuty #7 triggered on payments: Checkout down _[impact_started, detected, paged]_ |",
    ]
    assert "Local (" not in md


def test_html_timeline_has_the_local_column_and_json_stays_utc() -> None:
    """The HTML rows carry the local time beside UTC; the JSON times are untouched UTC."""
    d = draft_of(
        incident(utc(2024, 3, 31, 0, 30), "incident.triggered"),
        incident(utc(2024, 3, 31, 1, 0), "incident.resolved"),
    )
    html = render_html(d, tz=BERLIN)
    assert "<th>Time (UTC)</th><th>Local (Europe/Berlin)</th><th>Event</th>" in html
    assert '<td class="time">01:00:00</td><td class="local">03:00:00 CEST</td>' in html
    data = json.loads(render_json(d))
    assert [e["at"] for e in data["events"]] == ["2024-03-31T00:30:00Z", "2024-03-31T01:00:00Z"]


def test_an_unknown_zone_is_a_usage_error_naming_the_flag() -> None:
    """`--tz Europe/Berln` exits 2, names --tz, suggests the right name and gives an example."""
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            "2024-01-15T14:00:00Z",
            "--until",
            "2024-01-15T15:00:00Z",
            "--tz",
            "Europe/Berln",
        ],
    )
    assert result.exit_code == 2
    assert (
        "Invalid value for '--tz': 'Europe/Berln' is not an IANA time zone name (did you mean Europe/Berlin?); "
        "write it like Europe/Berlin, America/New_York or UTC"
    ) in result.output


def test_draft_with_tz_shows_berlin_time_and_json_is_unchanged(demo_config: Path) -> None:
    """`pmdraft draft --tz Europe/Berlin` adds CET times to the worked example; its JSON is the same as without."""
    args = [
        "draft",
        "--since",
        "2024-01-15T14:00:00Z",
        "--until",
        "2024-01-15T15:30:00Z",
        "--config",
        str(demo_config),
    ]
    result = CliRunner().invoke(cli, [*args, "--tz", "Europe/Berlin"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        "| 14:32:25 | 15:32:25 CET | CloudWatch alarm HighErrorRate: OK -> ALARM" in result.stdout
    )
    assert (
        "| 14:57:00 | 15:57:00 CET | PagerDuty #1234 resolved by Jane Doe _[resolved]_ |"
        in result.stdout
    )
    with_tz = CliRunner().invoke(
        cli, [*args, "--format", "json", "--tz", "Europe/Berlin"], catch_exceptions=False
    )
    without = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert json.loads(with_tz.stdout)["events"] == json.loads(without.stdout)["events"]
    assert (
        json.loads(with_tz.stdout)["milestones"]["impact_started"]["at"] == "2024-01-15T14:32:00Z"
    )


def test_demo_with_tz_writes_new_york_times(tmp_path: Path) -> None:
    """`pmdraft demo --tz America/New_York` shows each timeline row in EST beside UTC."""
    out = tmp_path / "demo.md"
    result = CliRunner().invoke(
        cli, ["demo", "-o", str(out), "--tz", "America/New_York"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert "| Time (UTC) | Local (America/New_York) | Event |" in md
    assert (
        "| 14:35:10 | 09:35:10 EST | PagerDuty #1234 acknowledged by Jane Doe _[acknowledged]_ |"
        in md
    )
