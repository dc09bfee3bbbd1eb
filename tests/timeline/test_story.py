"""The readable timeline: long runs of routine rows fold into one line, the JSON keeps them all."""

from __future__ import annotations

import json
from datetime import timedelta

from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json, render_markdown
from pmdraft.timeline.story import COLLAPSE_OVER
from pmdraft.words import line_text

from ..conftest import utc

T0 = utc(2024, 1, 15, 14, 32)
WINDOW = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
STATES = [("OK", "ALARM", "alarm.alarm"), ("ALARM", "OK", "alarm.ok")]


def transitions(count: int, step: timedelta = timedelta(milliseconds=100)) -> list[Event]:
    """``count`` transitions, ``step`` apart: each alarm goes to ALARM and recovers once, so none
    of them is flapping (that is folded per alarm, see :mod:`pmdraft.timeline.flapping`)."""
    out = []
    for i in range(count):
        name = f"Alarm{i // 2:04d}"
        old, new, kind = STATES[i % 2]
        out.append(
            Event(
                at=T0 + i * step,
                source="cloudwatch",
                kind=kind,
                ref=f"arn:{name}",
                summary=f"{name} {old} -> {new}",
                attrs={"alarm_name": name, "old_state": old, "new_state": new},
            )
        )
    return out


def deploy(minutes: float) -> Event:
    return Event(
        at=T0 + timedelta(minutes=minutes),
        source="deploys",
        kind="deploy.succeeded",
        ref="api:v2",
        summary="api v2 deployed to prod",
        service="api",
    )


def ack(minutes: float) -> Event:
    return Event(
        at=T0 + timedelta(minutes=minutes),
        source="pagerduty",
        kind="incident.acknowledged",
        ref="Q1",
        summary="ack",
        actor="Ana",
        attrs={"incident_number": 7},
    )


def text(row) -> str:
    """What the timeline line of ``row`` says."""
    return line_text(row.line)


def draft(events: list[Event]):
    return build_draft(
        Collected(events, [SourceReport("cloudwatch", "ok", len(events), 1)]), WINDOW
    )


def test_a_5000_transition_burst_is_one_line_and_the_json_keeps_every_event() -> None:
    """5,000 alarm transitions in 8 minutes are one timeline line; render_json lists all 5,000."""
    d = draft(transitions(5000))
    burst = [r for r in d.rows if "alarm transitions" in text(r)]
    assert len(burst) == 1
    # The first transition is the detection and the last recovery the mitigation: the rows a
    # milestone came from keep their own lines, on either side of the burst.
    assert len(d.rows) == 3
    assert "detected" in d.rows[0].milestones and d.rows[0].at == T0
    assert "mitigated" in d.rows[2].milestones
    assert d.rows[1] is burst[0] and burst[0].at == T0 + timedelta(milliseconds=100)
    assert (
        text(burst[0])
        == "CloudWatch: 4,998 alarm transitions of 2,500 alarms between 14:32 and 14:40 (see JSON)"
    )
    assert len(json.loads(render_json(d))["events"]) == 5000
    md = render_markdown(d)
    assert md.count("alarm transitions of 2,500 alarms") == 1
    assert md.count("CloudWatch alarm Alarm") == 2


def test_deploys_and_acknowledgements_inside_a_burst_keep_their_own_lines() -> None:
    """A deploy and an acknowledgement in the middle of a burst are still shown."""
    d = draft([*transitions(3000), deploy(2), ack(3)])
    texts = [text(r) for r in d.rows]
    assert "Deploy: api v2 deployed to prod" in texts
    assert "PagerDuty #7 acknowledged by Ana" in texts
    assert sum("alarm transitions" in t for t in texts) == 1


def test_a_run_at_the_threshold_is_not_collapsed_but_a_longer_one_is() -> None:
    """COLLAPSE_OVER routine rows keep one line each; a longer run folds into one line."""
    # The first and the last transition are milestones' rows (detected, mitigated), not routine.
    d = draft(transitions(COLLAPSE_OVER + 2, step=timedelta(seconds=10)))
    assert len(d.rows) == COLLAPSE_OVER + 2
    assert not any("alarm transitions" in text(r) for r in d.rows)
    d = draft(transitions(COLLAPSE_OVER + 4, step=timedelta(seconds=10)))
    assert [text(r).split(":")[0] for r in d.rows] == [
        "CloudWatch alarm Alarm0000",
        "CloudWatch",
        "CloudWatch alarm Alarm0011",
    ]
    assert text(d.rows[1]).startswith(
        f"CloudWatch: {COLLAPSE_OVER + 2} alarm transitions of 12 alarms"
    )


def test_runs_split_where_the_gap_is_longer_than_the_collapse_gap() -> None:
    """Two bursts an hour apart are two lines, each with its own span."""
    first = transitions(100)
    second = [
        Event(
            at=e.at + timedelta(minutes=40),
            source=e.source,
            kind=e.kind,
            ref=e.ref,
            summary=e.summary,
            attrs=e.attrs,
        )
        for e in first
    ]
    d = draft(first + second)
    lines = [text(r) for r in d.rows if "alarm transitions" in text(r)]
    assert len(lines) == 2
    assert "between 14:32 and 14:32" in lines[0] and "between 15:12 and 15:12" in lines[1]


def test_a_long_busy_stretch_reads_as_one_line_per_collapse_span() -> None:
    """Half an hour of transitions every 10 s is cut into COLLAPSE_SPAN pieces, one line each."""
    d = draft(transitions(180, step=timedelta(seconds=10)))
    lines = [text(r) for r in d.rows if "alarm transitions" in text(r)]
    # The first transition (14:32:00) is the detection, so the first piece starts at 14:32:10.
    assert [line.split(" between ")[1] for line in lines] == [
        "14:32 and 14:42 (see JSON)",
        "14:42 and 14:52 (see JSON)",
        "14:52 and 15:01 (see JSON)",
    ]


def test_rows_and_lines_made_fast_are_the_dataclasses_own() -> None:
    """The timeline's rows and lines, made without the frozen dataclasses' __init__, equal and
    print as the ones their constructors make, and stay read-only."""
    import dataclasses

    import pytest as _pytest

    from pmdraft.facts import EventLine, new_event_line
    from pmdraft.timeline.story import Row, _row

    fields = ("pagerduty", "incident.notified", "Q1", "paged", None, "Ana", {"channel": "sms"})
    fast = new_event_line(*fields, "https://x/1")
    plain = EventLine(*fields, "https://x/1")  # type: ignore[arg-type]
    assert fast == plain and repr(fast) == repr(plain)
    at = utc(2024, 1, 15, 14)
    made, built = (
        _row(at, fast, ("pagerduty",), ("Q1",), ("paged",)),
        Row(at, plain, ("pagerduty",), ("Q1",), ("paged",)),
    )
    assert made == built and repr(made) == repr(built)
    with _pytest.raises(dataclasses.FrozenInstanceError):
        fast.summary = "changed"  # type: ignore[misc]
    with _pytest.raises(dataclasses.FrozenInstanceError):
        made.at = at  # type: ignore[misc]


def test_a_linked_pair_shown_inside_a_page_out_does_not_split_its_burst() -> None:
    """An alarm and the page it caused share one line; the later half of that pair, shown
    between two notifications of another incident, adds no line of its own, so the two
    notifications stay one page-out line naming both people."""
    from pmdraft.timeline.frame import build_frame
    from pmdraft.timeline.story import build_rows

    def at(seconds: int):
        return T0 + timedelta(seconds=seconds)

    def notified(seconds: int, who: str, how: str) -> Event:
        attrs = {"incident_number": 7, "notified_user": who, "channel": how}
        return Event(at(seconds), "pagerduty", "incident.notified", "Q1", "paged", attrs=attrs)

    events = [
        Event(
            at(0),
            "cloudwatch",
            "alarm.alarm",
            "arn:A",
            "A OK -> ALARM",
            attrs={"alarm_name": "A", "old_state": "OK", "new_state": "ALARM", "correlation": "c1"},
        ),
        notified(10, "Ana", "sms"),
        Event(
            at(20),
            "pagerduty",
            "incident.triggered",
            "Q2",
            "Errors",
            attrs={"incident_number": 8, "correlation": "c1"},
        ),
        notified(30, "Bo", "email"),
    ]
    rows = build_rows(build_frame(events), {})
    assert [type(r.line).__name__ for r in rows] == ["LinkedLine", "NotifiedLine"]
    assert rows[1].line.people == (("Ana", ("sms",)), ("Bo", ("email",)))
    assert rows[1].at == at(10)
