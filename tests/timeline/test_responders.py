"""Who took part in each incident, read from its log entries (``timeline.responders.people``)."""

from __future__ import annotations

from datetime import timedelta

from pmdraft.model import Event
from pmdraft.timeline.responders import people

from ..conftest import utc

T0 = utc(2024, 1, 15, 14)


def entry(minute: int, kind: str, ref: str = "Q1", actor: str | None = None, **attrs: str) -> Event:
    return Event(
        T0 + timedelta(minutes=minute), "pagerduty", kind, ref, kind, "api", actor, attrs=attrs
    )


def test_assignees_and_acknowledgers_in_the_order_they_first_appear() -> None:
    """Paged, assigned and escalated people are assignees, each once, in the order they first
    appear (a name repeated in one assignment too); acknowledgers likewise; another source's
    events and an incident with only a trigger are as expected."""
    events = [
        entry(0, "incident.triggered"),
        entry(1, "incident.notified", notified_user="Ana Lima", channel="sms"),
        entry(1, "incident.notified", notified_user="Ana Lima", channel="push"),
        entry(2, "incident.assigned", assignees="Bo Chen, Ana Lima, Bo Chen"),
        entry(3, "incident.acknowledged", actor="Bo Chen"),
        entry(4, "incident.escalated", assignees=" Cy Okafor"),
        entry(5, "incident.acknowledged", actor="Ana Lima"),
        entry(6, "incident.acknowledged", actor="Bo Chen"),
        Event(T0, "cloudwatch", "alarm.alarm", "Q1", "alarm", None, "Bo Chen"),
        entry(7, "incident.triggered", ref="Q2"),
    ]
    assert people(events) == {
        "Q1": {
            "assignees": ["Ana Lima", "Bo Chen", "Cy Okafor"],
            "acknowledged_by": ["Bo Chen", "Ana Lima"],
        },
        "Q2": {"assignees": [], "acknowledged_by": []},
    }
