"""Who took part in each PagerDuty incident: assignees, acknowledgers, each one's time to ack.

Read from the incidents' log entries (the events), never from the incident's current state:
PagerDuty clears an incident's assignments once it is resolved, while its log entries keep who
was assigned, paged and acknowledged, and when. Pure functions over events in time order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..model import (
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ASSIGNED,
    INCIDENT_ESCALATED,
    INCIDENT_NOTIFIED,
    Event,
)


@dataclass
class Responder:
    """One person on one incident: when they were first paged and first acknowledged."""

    incident_id: str
    incident_number: int | None
    name: str
    paged: datetime | None = None
    acknowledged: datetime | None = None

    @property
    def time_to_ack(self) -> float | None:
        """Seconds from this person's first page to their first acknowledgement, or ``None``."""
        if self.paged is None or self.acknowledged is None or self.acknowledged < self.paged:
            return None
        return (self.acknowledged - self.paged).total_seconds()


def _at(e: Event) -> datetime:
    return e.at


def responders(events: Iterable[Event]) -> list[Responder]:
    """Each person paged or acknowledging, per incident, in the order they first appear."""
    found: dict[tuple[str, str], Responder] = {}
    said = (INCIDENT_NOTIFIED, INCIDENT_ACKNOWLEDGED)
    for e in sorted([e for e in events if e.source == "pagerduty" and e.kind in said], key=_at):
        notified = e.kind == INCIDENT_NOTIFIED
        name = e.attrs.get("notified_user") if notified else e.actor
        if not isinstance(name, str) or not name:
            continue
        who = found.get((e.ref, name))
        if who is None:  # the person's first event on this incident
            number = e.attrs.get("incident_number")
            who = Responder(e.ref, number if isinstance(number, int) else None, name)
            found[e.ref, name] = who
        if notified:
            if who.paged is None:
                who.paged = e.at
        elif who.acknowledged is None:
            who.acknowledged = e.at
    return list(found.values())


def people(events: Iterable[Event]) -> dict[str, dict[str, list[str]]]:
    """Per incident id: ``assignees`` (assigned, escalated to, or paged) and ``acknowledged_by``."""
    out: dict[str, dict[str, list[str]]] = {}
    for e in events:
        if e.source != "pagerduty":
            continue
        kind = e.kind
        # A page-out is most of an incident's entries: its one name is added without a list.
        if kind == INCIDENT_NOTIFIED:
            entry = out.get(e.ref)
            if entry is None:
                entry = out[e.ref] = {"assignees": [], "acknowledged_by": []}
            user = e.attrs.get("notified_user")
            if isinstance(user, str) and user not in entry["assignees"]:
                entry["assignees"].append(user)
            continue
        if not kind.startswith("incident."):
            continue
        entry = out.get(e.ref)
        if entry is None:
            entry = out[e.ref] = {"assignees": [], "acknowledged_by": []}
        if kind in (INCIDENT_ASSIGNED, INCIDENT_ESCALATED):
            assignees = e.attrs.get("assignees")
            if isinstance(assignees, str):
                listed = entry["assignees"]
                for name in assignees.split(", "):
                    name = name.strip()
                    if name and name not in listed:
                        listed.append(name)
        elif kind == INCIDENT_ACKNOWLEDGED and e.actor and e.actor not in entry["acknowledged_by"]:
            entry["acknowledged_by"].append(e.actor)
    return out
