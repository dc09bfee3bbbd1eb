"""The readable timeline: one line per event a reader needs, notification bursts collapsed.

The JSON keeps every event; the Markdown timeline shows every deploy, alarm transition,
trigger, acknowledgement, escalation, note and resolution, and folds the many
``incident.notified`` entries of one page-out into one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from ..model import (
    ALARM_ALARM,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_NOTIFIED,
    INCIDENT_RESOLVED,
    INCIDENT_TRIGGERED,
)
from .frame import to_datetime
from .milestones import Milestone

BURST_GAP = timedelta(minutes=2)
"""Notifications of one incident less than this apart are one burst (one timeline line)."""

SOURCE_LABEL = {"cloudwatch": "CloudWatch", "pagerduty": "PagerDuty", "deploys": "deploy log"}


@dataclass
class Row:
    """One line of the timeline table."""

    at: datetime
    text: str
    sources: list[str]
    refs: list[str]
    milestones: list[str] = field(default_factory=list)


def _incident_label(attrs: Mapping[str, object]) -> str:
    number = attrs.get("incident_number")
    return f"PagerDuty #{number}" if number is not None else "PagerDuty incident"


def describe(row: pd.Series) -> str:
    """The timeline text of one event."""
    kind, attrs, actor = row["kind"], row["attrs"], row["actor"]
    if row["source"] == "cloudwatch":
        name = attrs.get("alarm_name", row["ref"])
        text = f"CloudWatch alarm {name}: {attrs.get('old_state')} -> {attrs.get('new_state')}"
        if kind == ALARM_ALARM and attrs.get("reason"):
            text += f" ({attrs['reason']})"
        return text
    if row["source"] == "pagerduty":
        label = _incident_label(attrs)
        by = f" by {actor}" if isinstance(actor, str) and actor else ""
        if kind == INCIDENT_TRIGGERED:
            service = f" on {row['service']}" if isinstance(row["service"], str) else ""
            return f"{label} triggered{service}: {attrs.get('incident_title')}"
        if kind == INCIDENT_ACKNOWLEDGED:
            return f"{label} acknowledged{by}"
        if kind == INCIDENT_RESOLVED:
            return f"{label} resolved{by}"
        if kind == INCIDENT_ANNOTATED:
            return f"{label} note{by}: {attrs.get('note', '')}"
        return str(row["summary"])
    return f"Deploy: {row['summary']}"


def _notified(attrs: Mapping[str, object], people: Mapping[str, list[str]]) -> str:
    who = ", ".join(f"{name} ({', '.join(channels)})" for name, channels in people.items())
    return f"{_incident_label(attrs)}: paged {who}"


def _milestone_refs(milestones: Mapping[str, Milestone | None]) -> dict[tuple[datetime, str | None], list[str]]:
    marks: dict[tuple[datetime, str | None], list[str]] = {}
    for name, m in milestones.items():
        if m is not None and m.ref is not None and m.event_at is not None:
            marks.setdefault((m.event_at, m.ref), []).append(name)
    return marks


def build_rows(frame: pd.DataFrame, milestones: Mapping[str, Milestone | None]) -> list[Row]:
    """Timeline rows in time order, with notification bursts collapsed and milestones marked."""
    rows: list[Row] = []
    open_burst: dict[str, tuple[Row, dict[str, list[str]], datetime]] = {}
    marks = _milestone_refs(milestones)
    for _, event in frame.iterrows():
        at = to_datetime(event["at"])
        names = marks.get((at, event["ref"]), [])
        if event["kind"] == INCIDENT_NOTIFIED:
            attrs = event["attrs"]
            who = attrs.get("notified_user") or "a responder"
            how = attrs.get("channel") or "unknown channel"
            burst = open_burst.get(event["ref"])
            if burst is not None and at - burst[2] <= BURST_GAP and rows and rows[-1] is burst[0]:
                row, people, _ = burst
                channels = people.setdefault(who, [])
                if how not in channels:
                    channels.append(how)
                row.text = _notified(attrs, people)
                row.milestones.extend(n for n in names if n not in row.milestones)
                open_burst[event["ref"]] = (row, people, at)
                continue
            people = {who: [how]}
            row = Row(at, _notified(attrs, people), ["pagerduty"], [event["ref"]], list(names))
            rows.append(row)
            open_burst[event["ref"]] = (row, people, at)
            continue
        rows.append(Row(at, describe(event), [event["source"]], [event["ref"]], list(names)))
    return rows
