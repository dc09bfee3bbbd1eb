"""Property-based: whatever text the sources hold, every renderer works and keeps it literally."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json, render_markdown
from pmdraft.render.html import render_html
from pmdraft.render.structured import draft_record

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(hours=2))
UNESCAPED_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


def events(title: str, note: str, actor: str, reason: str, description: str) -> list[Event]:
    incident = {"incident_number": 7, "incident_title": title, "priority": "P1", "urgency": "high"}
    return [
        Event(
            at=T0,
            source="deploys",
            kind="deploy.succeeded",
            ref="d1",
            summary=f"v1 deployed: {description}",
            service="api",
            attrs={"version": "v1", "description": description},
        ),
        Event(
            at=T0 + timedelta(minutes=5),
            source="cloudwatch",
            kind="alarm.alarm",
            ref="arn:a",
            summary="A OK -> ALARM",
            attrs={"alarm_name": "A", "old_state": "OK", "new_state": "ALARM", "reason": reason},
        ),
        Event(
            at=T0 + timedelta(minutes=6),
            source="pagerduty",
            kind="incident.triggered",
            ref="Q1",
            summary="t",
            service="api",
            actor=actor,
            attrs=incident,
        ),
        Event(
            at=T0 + timedelta(minutes=9),
            source="pagerduty",
            kind="incident.annotated",
            ref="Q1",
            summary="n",
            service="api",
            actor=actor,
            attrs=incident | {"note": note},
        ),
        Event(
            at=T0 + timedelta(minutes=20),
            source="pagerduty",
            kind="incident.resolved",
            ref="Q1",
            summary="r",
            service="api",
            actor=actor,
            attrs=incident,
        ),
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT, TEXT, TEXT)
def test_renderers_never_raise_and_keep_text_literally(
    title: str, note: str, actor: str, reason: str, description: str
) -> None:
    """Any title, note, actor, alarm reason or deploy description renders in Markdown, HTML and JSON, kept as given."""
    collected = Collected(
        events(title, note, actor, reason, description), [SourceReport("pagerduty", "ok", 3, 2)]
    )
    draft = build_draft(collected, WINDOW)
    md = render_markdown(draft)
    html = render_html(draft)
    text = render_json(draft)
    data = json.loads(text)
    # The same data the pure-Python encoder writes, each event on its own line.
    assert data == json.loads(json.dumps(draft_record(draft), indent=2, ensure_ascii=False))
    lines = text.split("\n")
    start = lines.index('  "events": [')
    assert lines[start + 1 : start + 1 + len(data["events"])] == [
        f"    {json.dumps(e, ensure_ascii=False)}," for e in data["events"][:-1]
    ] + [f"    {json.dumps(data['events'][-1], ensure_ascii=False)}"]
    notes = [e["attrs"]["note"] for e in data["events"] if e["kind"] == "incident.annotated"]
    assert notes == [note]
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[:3] == ["## Summary", "## Impact", "## Timeline (All times UTC)"]
    assert headings[-1] == "## Appendix" and len(headings) == 12
    table = md[md.index("## Timeline") : md.index("## Root Cause")]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert all(len(UNESCAPED_PIPE.findall(line)) == 3 for line in rows), (
        "a cell broke out of its table row"
    )
    assert "<script" not in html.lower(), "text from the sources is escaped, never markup"
