"""The Markdown draft: safe table cells, dates across midnight, gaps announced, prompts visible."""

from __future__ import annotations

import json
from datetime import timedelta

from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json, render_markdown, render_timeline

from ..conftest import utc

T0 = utc(2024, 1, 15, 23, 50)
WINDOW = Window(T0, T0 + timedelta(hours=1))


def incident_event(minutes: float, kind: str, **attrs) -> Event:
    base = {
        "incident_number": 42,
        "incident_title": "Checkout | payments `down` {{ 7*7 }}",
        "priority": "P2",
        "urgency": "high",
    }
    return Event(
        at=T0 + timedelta(minutes=minutes),
        source="pagerduty",
        kind=kind,
        ref="QX",
        summary=kind,
        service="payments",
        actor="Ana",
        attrs=base | attrs,
    )


def draft(events: list[Event], reports: list[SourceReport] | None = None):
    reports = reports or [SourceReport("pagerduty", "ok", len(events), 2)]
    return build_draft(Collected(events, reports), WINDOW)


def test_table_cells_escape_pipes_and_fold_newlines() -> None:
    """A note with a pipe and newlines stays inside its timeline cell; template syntax is literal."""
    md = render_markdown(
        draft(
            [
                incident_event(0, "incident.triggered"),
                incident_event(5, "incident.annotated", note="rolled back | cache\nflushed"),
                incident_event(9, "incident.resolved"),
            ]
        )
    )
    assert "| 23:55:00 | PagerDuty #42 note by Ana: rolled back \\| cache flushed |" in md
    assert md.startswith("# Postmortem: Checkout | payments `down` {{ 7*7 }}\n")
    assert "49" not in md.splitlines()[0]


def test_dates_appear_when_the_timeline_crosses_midnight() -> None:
    """Rows carry the date on the first row and on the first row of each new day."""
    md = render_markdown(
        draft(
            [
                incident_event(0, "incident.triggered"),
                incident_event(5, "incident.acknowledged"),
                incident_event(15, "incident.resolved"),
            ]
        )
    )
    assert "| 2024-01-15 23:50:00 | PagerDuty #42 triggered on payments:" in md
    assert "| 23:55:00 | PagerDuty #42 acknowledged by Ana _[acknowledged]_ |" in md
    assert "| 2024-01-16 00:05:00 | PagerDuty #42 resolved by Ana _[resolved]_ |" in md


def test_a_failed_source_is_announced_at_the_top_and_in_the_sources_table() -> None:
    """A failed source appears as a Data gaps note and a failed row; unknowns stay unknown."""
    reports = [
        SourceReport(
            "cloudwatch", "failed", 0, 3, "DescribeAlarmHistory in us-east-1 failed: AccessDenied"
        ),
        SourceReport("pagerduty", "ok", 1, 2),
        SourceReport("deploys", "not_configured"),
    ]
    md = render_markdown(draft([incident_event(0, "incident.triggered")], reports))
    assert (
        "> - **CloudWatch alarm history**: DescribeAlarmHistory in us-east-1 failed: AccessDenied"
        in md
    )
    assert (
        "| CloudWatch alarm history | failed | 0 | 3 | DescribeAlarmHistory in us-east-1 failed: AccessDenied |"
        in md
    )
    assert "> **Not configured, so not read:** deploys." in md
    assert "| time_to_acknowledge | unknown |" in md
    assert "impact began at 23:50 UTC; when it ended is unknown from the data" in md


def test_prompts_mark_what_only_a_person_can_write() -> None:
    """Impact numbers, root cause and lessons are visible prompts, never invented."""
    md = render_markdown(
        draft([incident_event(0, "incident.triggered"), incident_event(10, "incident.resolved")])
    )
    for prompt in (
        "- Users affected: _To be written:",
        "- Requests failed: _To be written:",
        "- Revenue impact: _To be written:",
        "_To be written: the technical explanation",
        "1. _To be written: the key takeaways._",
    ):
        assert prompt in md


def test_json_and_timeline_formats_keep_every_event() -> None:
    """JSON keeps each event with a Z time; the table lists each event on its own line."""
    d = draft(
        [
            incident_event(0, "incident.triggered"),
            incident_event(1, "incident.notified"),
            incident_event(1.1, "incident.notified", channel="sms"),
        ]
    )
    data = json.loads(render_json(d))
    assert [e["kind"] for e in data["events"]] == [
        "incident.triggered",
        "incident.notified",
        "incident.notified",
    ]
    assert data["events"][0]["at"] == "2024-01-15T23:50:00Z"
    table = render_timeline(d, "table").splitlines()
    assert len(table) == 4 and table[1].startswith(
        "2024-01-15T23:50:00Z  pagerduty   incident.triggered"
    )
