"""Hostile text from the sources (pipes, backticks, HTML, template syntax) shows as written, never interpreted."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json, render_markdown
from pmdraft.sandbox import aws
from pmdraft.sandbox.pagerduty import incident, log_entry
from tests.conftest import TOKEN, utc, write_config

T0 = utc(2024, 1, 15, 14, 0)
WINDOW = Window(T0, T0 + timedelta(hours=1))

HOSTILE = (
    "a | b `c|d` <script>alert(1)</script> {{ 7*7 }} {% raw %}x{% endraw %} {# c #} &amp; \\| end"
)
"""Every trap at once: a table pipe, a code span holding a pipe, a script tag, jinja2 syntax, an
entity and a backslash before a pipe."""
IN_CELL = (
    "a \\| b `c\\|d` &lt;script>alert(1)&lt;/script> {{ 7*7 }} {% raw %}x{% endraw %} {# c #} "
    "&amp;amp; \\\\\\| end"
)
"""HOSTILE as a table cell holds it: pipes escaped, the tag and entity made inert, jinja2 syntax as is."""
IN_TEXT = "a | b `c|d` &lt;script>alert(1)&lt;/script> {{ 7*7 }} {% raw %}x{% endraw %} {# c #} &amp;amp; \\| end"
"""HOSTILE in running text (a heading, a list item): only the tag and entity are made inert."""


def at(minutes: int) -> object:
    return T0 + timedelta(minutes=minutes)


def unescaped_pipes(line: str) -> int:
    """The pipes that split a GFM table row: those not escaped by an odd run of backslashes."""
    return sum(1 for m in re.finditer(r"(\\*)\|", line) if len(m.group(1)) % 2 == 0)


def assert_tables_intact(md: str) -> None:
    """Every row of every table has as many cell borders as its header row."""
    header = None
    for number, line in enumerate(md.splitlines(), start=1):
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = unescaped_pipes(line)
        assert unescaped_pipes(line) == header, f"line {number} breaks its table: {line}"


def without_markers(md: str) -> str:
    """The draft without pmdraft's own block markers (HTML comments carrying a hex digest)."""
    return re.sub(
        r"^<!-- pmdraft:(?:begin|end) [a-z_]+(?: sha256=[0-9a-f]{64})?(?: rows=[0-9a-f,]*)? -->\n",
        "",
        md,
        flags=re.M,
    )


def assert_nothing_evaluated(md: str) -> None:
    md = without_markers(md)
    assert "<script" not in md
    assert "49" not in md.replace("14:49", ""), "{{ 7*7 }} was evaluated"
    assert md.count("{{ 7*7 }}") == md.count("alert(1)"), (
        "template syntax survives wherever the text appears"
    )


def events(text: str) -> list[Event]:
    """A deploy, an alarm, an incident with a note, each carrying ``text`` in its free-text field."""
    incident_attrs = {
        "incident_number": 7,
        "incident_title": text,
        "priority": "P1",
        "urgency": "high",
    }
    return [
        Event(
            at(5),
            "deploys",
            "deploy.succeeded",
            "dep-1",
            f"v9 deployed to production (api): {text}",
            service="api",
            attrs={"version": "v9", "description": text},
        ),
        Event(
            at(10),
            "cloudwatch",
            "alarm.alarm",
            "arn:alarm:Errors",
            "Errors OK -> ALARM",
            attrs={
                "alarm_name": "Errors",
                "old_state": "OK",
                "new_state": "ALARM",
                "reason": text,
                "breach_start": "2024-01-15T14:09:00Z",
                "breach_start_rule": "test",
            },
        ),
        Event(
            at(11),
            "pagerduty",
            "incident.triggered",
            "QINJ",
            "triggered",
            service="api",
            attrs=incident_attrs,
        ),
        Event(
            at(15),
            "pagerduty",
            "incident.annotated",
            "QINJ",
            "note",
            service="api",
            actor="Ana",
            attrs=incident_attrs | {"note": text},
        ),
        Event(
            at(30),
            "cloudwatch",
            "alarm.ok",
            "arn:alarm:Errors",
            "Errors ALARM -> OK",
            attrs={"alarm_name": "Errors", "old_state": "ALARM", "new_state": "OK"},
        ),
        Event(
            at(40),
            "pagerduty",
            "incident.resolved",
            "QINJ",
            "resolved",
            service="api",
            actor="Ana",
            attrs=incident_attrs,
        ),
    ]


@pytest.fixture
def md() -> str:
    reports = [
        SourceReport("cloudwatch", "ok", 2, 1),
        SourceReport("pagerduty", "ok", 3, 2),
        SourceReport("deploys:d.jsonl", "failed", 1, 0, f"line 3: {HOSTILE}"),
    ]
    return render_markdown(build_draft(Collected(events(HOSTILE), reports), WINDOW))


def test_incident_title_is_literal_in_heading_timeline_and_related_incidents(md: str) -> None:
    """A PagerDuty title shows as written in the heading, its timeline cell and the incident list."""
    assert md.startswith(f"# Postmortem: {IN_TEXT}\n")
    assert f"| 14:11:00 | PagerDuty #7 triggered on api: {IN_CELL} _[paged]_ |" in md
    assert f"- PagerDuty #7: {IN_TEXT}\n" in md


def test_alarm_reason_is_literal_in_its_timeline_cell(md: str) -> None:
    """A CloudWatch state reason stays inside the alarm's timeline cell."""
    assert (
        f"| 14:10:00 | CloudWatch alarm Errors: OK -> ALARM ({IN_CELL}) _[impact_started, detected]_ |"
        in md
    )


def test_note_is_literal_in_the_timeline_and_the_communication_log(md: str) -> None:
    """A PagerDuty note shows as written in its timeline cell and in the Communication Log."""
    assert f"| 14:15:00 | PagerDuty #7 note by Ana: {IN_CELL} |" in md
    assert f"- 2024-01-15 14:15:00 UTC, Ana on PagerDuty #7: {IN_TEXT}\n" in md


def test_deploy_description_is_literal_in_the_timeline_and_the_lead(md: str) -> None:
    """A deploy description shows as written in its timeline cell and in the Root Cause lead."""
    assert (
        f"| 14:05:00 | Deploy: v9 deployed to production (api): {IN_CELL} _[suspect_change]_ |"
        in md
    )
    assert (
        f"Lead, not a verdict: **v9 deployed to production (api): {IN_TEXT}** at 14:05:00 UTC" in md
    )


def test_error_text_is_literal_in_data_gaps_and_sources(md: str) -> None:
    """A source's error message (which may quote a server's body) is made inert in both places it shows."""
    assert f"> - **deploy log d.jsonl**: line 3: {IN_TEXT}\n" in md
    assert f"| deploy log d.jsonl | failed | 1 | 0 | line 3: {IN_CELL} |" in md


def test_every_table_keeps_its_shape_and_nothing_is_evaluated(md: str) -> None:
    """No hostile text adds a column to any table, runs as a script, or is evaluated as a template."""
    assert_tables_intact(md)
    assert_nothing_evaluated(md)


def test_json_keeps_the_text_exactly() -> None:
    """The JSON draft carries each field byte for byte: escaping is the Markdown's business only."""
    import json

    draft = build_draft(Collected(events(HOSTILE), [SourceReport("pagerduty", "ok", 3, 2)]), WINDOW)
    data = json.loads(render_json(draft))
    notes = [e["attrs"]["note"] for e in data["events"] if e["kind"] == "incident.annotated"]
    assert notes == [HOSTILE]
    assert data["events"][0]["attrs"]["description"] == HOSTILE


@pytest.mark.parametrize(
    "text", ["`", "``a|b", "<", "a\\", "|", "\\|\\\\|", "<!-- x", "```\n|x|\n```"]
)
def test_lone_markup_characters_never_break_a_table(text: str) -> None:
    """Unbalanced backticks, a bare <, trailing backslashes and fenced blocks stay inside one cell."""
    md = render_markdown(
        build_draft(Collected(events(text), [SourceReport("pagerduty", "ok", 3, 2)]), WINDOW)
    )
    assert_tables_intact(md)
    assert "<!--" not in without_markers(md)


def test_hostile_text_from_every_source_through_the_cli(
    moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real collectors, hostile titles, reasons, notes and descriptions render as written."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    aws.add_history("us-east-1", "Errors", at(10), "OK", "ALARM", reason=HOSTILE)
    aws.add_history("us-east-1", "Errors", at(30), "ALARM", "OK", reason="ok")
    inc = incident(
        id="QINJ",
        number=7,
        title=HOSTILE,
        created_at=at(11),
        service_id="PSVC1",
        service_name="api",
        resolved_at=at(40),
        priority="P1",
    )
    pd.add_incidents([inc])
    pd.add_log_entries(
        [
            log_entry(id="L1", type="trigger_log_entry", created_at=at(11), incident=inc),
            log_entry(
                id="L2",
                type="annotate_log_entry",
                created_at=at(15),
                incident=inc,
                agent=("user_reference", "PU1", "Ana"),
                note=HOSTILE,
            ),
            log_entry(
                id="L3",
                type="resolve_log_entry",
                created_at=at(40),
                incident=inc,
                agent=("user_reference", "PU1", "Ana"),
            ),
        ]
    )
    cfg = write_config(
        tmp_path / "pm.toml",
        moto=moto,
        pd=pd,
        deploys=[
            {
                "timestamp": "2024-01-15T14:05:00Z",
                "status": "succeeded",
                "service": "api",
                "version": "v9",
                "environment": "production",
                "id": "dep-1",
                "description": HOSTILE,
            }
        ],
    )
    out = tmp_path / "pm.md"
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            "2024-01-15T14:00:00Z",
            "--until",
            "2024-01-15T15:00:00Z",
            "--config",
            str(cfg),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert md.startswith(f"# Postmortem: {IN_TEXT}\n")
    assert (
        f"| 14:05:00 | Deploy: v9 deployed to production (api): {IN_CELL} _[suspect_change]_ |"
        in md
    )
    assert f"| 14:10:00 | CloudWatch alarm Errors: OK -> ALARM ({IN_CELL})" in md
    assert f"| 14:11:00 | PagerDuty #7 triggered on api: {IN_CELL}" in md
    assert f"| 14:15:00 | PagerDuty #7 note by Ana: {IN_CELL} |" in md
    assert f"- 2024-01-15 14:15:00 UTC, Ana on PagerDuty #7: {IN_TEXT}\n" in md
    assert_tables_intact(md)
    assert_nothing_evaluated(md)
