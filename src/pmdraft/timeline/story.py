"""The readable timeline: one line per event a reader needs, bursts collapsed.

The JSON keeps every event. The Markdown timeline shows every deploy, trigger,
acknowledgement, escalation, note and resolution, and every event a milestone came from, each
on its own line. It folds the ``incident.notified`` entries of one page-out into one line, and a
long run of routine rows (alarm transitions, notifications, assignments, other incident
updates) of one source into one line such as "CloudWatch: 340 alarm transitions of 12 alarms
between 14:32 and 14:41 (see JSON)", so a busy window stays readable. An alarm's transition to
ALARM and the PagerDuty trigger it caused (linked by :mod:`.correlate`) share one line that names both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..model import (
    ALARM_ALARM,
    ALARM_INSUFFICIENT_DATA,
    ALARM_OK,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_ASSIGNED,
    INCIDENT_NOTIFIED,
    INCIDENT_OTHER,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_RESOLVED,
    INCIDENT_SNOOZED,
    INCIDENT_TRIGGERED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_URGENCY_CHANGED,
)
from .flapping import FLAP_SPAN, FLAP_TRANSITIONS, find_flaps
from .frame import gc_paused
from .milestones import Milestone

BURST_GAP = timedelta(minutes=2)
"""Notifications of one incident less than this apart are one burst (one timeline line)."""

COLLAPSE_OVER = 20
"""A run of more than this many routine rows of one source and family becomes one line."""

COLLAPSE_GAP = timedelta(minutes=5)
"""Routine rows of one family at most this far apart (each from the one before) form one run."""

COLLAPSE_SPAN = timedelta(minutes=10)
"""Longest stretch one collapsed line covers: a longer run is cut into pieces this long,
counted from its first row, so a busy hour reads as six lines, not one."""

ROUTINE: dict[str, tuple[str, str, str]] = {
    ALARM_ALARM: ("alarm transition", "alarm transitions", "alarm"),
    ALARM_OK: ("alarm transition", "alarm transitions", "alarm"),
    ALARM_INSUFFICIENT_DATA: ("alarm transition", "alarm transitions", "alarm"),
    INCIDENT_NOTIFIED: ("notification", "notifications", "incident"),
    INCIDENT_ASSIGNED: ("assignment", "assignments", "incident"),
    INCIDENT_UNACKNOWLEDGED: ("incident update", "incident updates", "incident"),
    INCIDENT_PRIORITY_CHANGED: ("incident update", "incident updates", "incident"),
    INCIDENT_URGENCY_CHANGED: ("incident update", "incident updates", "incident"),
    INCIDENT_SNOOZED: ("incident update", "incident updates", "incident"),
    INCIDENT_OTHER: ("incident update", "incident updates", "incident"),
}
"""Kinds that may be collapsed -> (one row's noun, several rows' noun, what a ref is).

Kinds with the same nouns form one family. Every other kind (deploys, triggers,
acknowledgements, escalations, notes, resolutions) always keeps its own line, and so does any
row a milestone came from."""

SOURCE_LABEL = {"cloudwatch": "CloudWatch", "pagerduty": "PagerDuty", "deploys": "deploy log"}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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


def describe(row: Mapping[str, Any]) -> str:
    """The timeline text of one event (a frame row, or any mapping with the frame's columns)."""
    return _describe(
        row["source"],
        row["kind"],
        row["ref"],
        row["summary"],
        row["service"],
        row["actor"],
        row["attrs"],
    )


def _describe(
    source: str,
    kind: str,
    ref: str,
    summary: str,
    service: Any,
    actor: Any,
    attrs: Mapping[str, Any],
) -> str:
    if source == "cloudwatch":
        name = attrs.get("alarm_name", ref)
        text = f"CloudWatch alarm {name}: {attrs.get('old_state')} -> {attrs.get('new_state')}"
        if kind == ALARM_ALARM and attrs.get("reason"):
            text += f" ({attrs['reason']})"
        return text
    if source == "pagerduty" and kind.startswith("deploy."):
        return f"Deploy (PagerDuty change event): {summary}"
    if source == "pagerduty":
        label = _incident_label(attrs)
        by = f" by {actor}" if isinstance(actor, str) and actor else ""
        if kind == INCIDENT_TRIGGERED:
            on = f" on {service}" if isinstance(service, str) else ""
            return f"{label} triggered{on}: {attrs.get('incident_title')}"
        if kind == INCIDENT_ACKNOWLEDGED:
            return f"{label} acknowledged{by}"
        if kind == INCIDENT_RESOLVED:
            return f"{label} resolved{by}"
        if kind == INCIDENT_ANNOTATED:
            return f"{label} note{by}: {attrs.get('note', '')}"
        return str(summary)
    return f"Deploy: {summary}"


def _linked(kind: np.ndarray, attributes: np.ndarray) -> dict[int, int]:
    """Alarm-to-page pairs (see :mod:`.correlate`): the earlier row's position -> the later one's."""
    found: dict[str, list[int]] = {}
    for p in np.flatnonzero(np.isin(kind, (ALARM_ALARM, INCIDENT_TRIGGERED))).tolist():
        link = attributes[p].get("correlation")
        if isinstance(link, str):
            found.setdefault(link, []).append(p)
    return {min(ps): max(ps) for ps in found.values() if len(ps) == 2}


def _linked_text(
    alarm: Mapping[str, Any],
    trigger: Mapping[str, Any],
    alarm_ref: str,
    naive_times: list[datetime],
    shown: np.ndarray,
    trigger_position: int,
) -> str:
    """One line for an alarm and the page it caused, naming both sources."""
    name = alarm.get("alarm_name", alarm_ref)
    index = int(np.searchsorted(shown, trigger_position))
    paged_at = (
        naive_times[index].strftime("%H:%M:%S")
        if index < len(shown) and shown[index] == trigger_position
        else None
    )
    when = f", triggered {paged_at}" if paged_at else ""
    text = (
        f"CloudWatch alarm {name}: {alarm.get('old_state')} -> {alarm.get('new_state')} -> paged on-call "
        f"({_incident_label(trigger)}{when})"
    )
    if alarm.get("reason"):
        text += f" ({alarm['reason']})"
    return text


def _notified(attrs: Mapping[str, object], people: Mapping[str, list[str]]) -> str:
    who = ", ".join(f"{name} ({', '.join(channels)})" for name, channels in people.items())
    return f"{_incident_label(attrs)}: paged {who}"


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _milestone_refs(milestones: Mapping[str, Milestone | None]) -> dict[tuple[int, str], list[str]]:
    marks: dict[tuple[int, str], list[str]] = {}
    for name, m in milestones.items():
        if m is not None and m.ref is not None and m.event_at is not None:
            marks.setdefault((_micros(m.event_at), m.ref), []).append(name)
    return marks


def _clock(at: datetime, other: datetime) -> str:
    return at.strftime("%H:%M" if at.date() == other.date() else "%Y-%m-%d %H:%M")


def _run_row(source: str, kind: str, refs: np.ndarray, first: datetime, last: datetime) -> Row:
    one, several, what = ROUTINE[kind]
    distinct = list(dict.fromkeys(refs.tolist()))
    count = len(refs)
    text = (
        f"{SOURCE_LABEL.get(source, source)}: {count:,} {one if count == 1 else several} of {len(distinct):,} "
        f"{what}{'' if len(distinct) == 1 else 's'} between {_clock(first, last)} and {_clock(last, first)} (see JSON)"
    )
    return Row(first, text, [source], distinct)


def _collapse(
    micros: np.ndarray, source: np.ndarray, kind: np.ndarray, ref: np.ndarray, marked: np.ndarray
) -> tuple[np.ndarray, dict[int, Row]]:
    """Which rows fold into a run line, and each run's line keyed by its first row's position."""
    folded = np.zeros(len(kind), dtype=bool)
    heads: dict[int, Row] = {}
    kind_codes, kinds = pd.factorize(kind)
    source_codes, _ = pd.factorize(source)
    families = {nouns: i for i, nouns in enumerate(dict.fromkeys(ROUTINE.values()))}
    family_of_kind = np.array([families.get(ROUTINE.get(k, ("",) * 3), -1) for k in kinds] + [-1])
    family = family_of_kind[kind_codes]
    family[marked] = -1
    group = np.where(family >= 0, family * (int(source_codes.max()) + 1) + source_codes, -1)
    gap, span = COLLAPSE_GAP // _MICROSECOND, COLLAPSE_SPAN // _MICROSECOND
    for key in np.unique(group[group >= 0]).tolist():
        members = np.flatnonzero(group == key)
        times = micros[members]
        run = np.cumsum(np.concatenate(([True], np.diff(times) > gap))) - 1
        piece = (times - times[np.flatnonzero(np.diff(run, prepend=-1))][run]) // span
        starts = np.flatnonzero((np.diff(run, prepend=-1) != 0) | (np.diff(piece, prepend=-1) != 0))
        sizes = np.diff(np.append(starts, len(members)))
        for start, size in zip(
            starts[sizes > COLLAPSE_OVER].tolist(), sizes[sizes > COLLAPSE_OVER].tolist()
        ):
            piece_rows = members[start : start + size]
            folded[piece_rows] = True
            first, last = (
                _EPOCH + int(micros[p]) * _MICROSECOND for p in (piece_rows[0], piece_rows[-1])
            )
            heads[int(piece_rows[0])] = _run_row(
                str(source[piece_rows[0]]), str(kind[piece_rows[0]]), ref[piece_rows], first, last
            )
    return folded, heads


def build_rows(
    frame: pd.DataFrame,
    milestones: Mapping[str, Milestone | None],
    *,
    flap_transitions: int = FLAP_TRANSITIONS,
    flap_span: timedelta = FLAP_SPAN,
) -> list[Row]:
    """Timeline rows in time order: bursts collapsed, flapping alarms folded, milestones marked.

    Notifications of one incident within :data:`BURST_GAP` of each other share a line; more than
    :data:`COLLAPSE_OVER` routine rows of one source and family, each within
    :data:`COLLAPSE_GAP` of the one before and within :data:`COLLAPSE_SPAN` of the run's
    first, become one line at the run's first row.
    """
    if frame.empty:
        return []
    times = frame["at"].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    micros = times.view("int64")
    source, kind, ref = (frame[name].to_numpy() for name in ("source", "kind", "ref"))
    names_at: dict[int, list[str]] = {}
    for (when, mref), names in _milestone_refs(milestones).items():
        for position in np.flatnonzero(micros == when).tolist():
            if ref[position] == mref:
                names_at[position] = names
    marked = np.zeros(len(frame), dtype=bool)
    marked[list(names_at)] = True
    pairs = _linked(kind, frame["attrs"].to_numpy())
    marked[[p for pair in pairs.items() for p in pair]] = True
    flapped, flaps = find_flaps(
        micros,
        source,
        kind,
        ref,
        frame["attrs"].to_numpy(),
        marked,
        transitions=flap_transitions,
        span=flap_span,
    )
    folded, heads = _collapse(micros, source, kind, ref, marked | flapped)
    folded |= flapped
    heads.update(
        {p: Row(at, text, ["cloudwatch"], [str(ref[p])]) for p, (at, text) in flaps.items()}
    )
    shown = np.flatnonzero(~folded)
    shown = np.union1d(shown, np.fromiter(heads, dtype=np.int64, count=len(heads)))
    summary, service, actor, attributes = (
        frame[name].to_numpy() for name in ("summary", "service", "actor", "attrs")
    )

    with gc_paused():
        return _rows(
            shown,
            times[shown].tolist(),
            heads,
            names_at,
            source,
            kind,
            ref,
            summary,
            service,
            actor,
            attributes,
            pairs=pairs,
        )


def _rows(
    shown: np.ndarray,
    naive_times: list[datetime],
    heads: Mapping[int, Row],
    names_at: Mapping[int, list[str]],
    *columns: np.ndarray,
    pairs: Mapping[int, int] | None = None,
) -> list[Row]:
    source, kind, ref, summary, service, actor, attributes = columns
    pairs = pairs or {}
    second = {b: a for a, b in pairs.items()}
    rows: list[Row] = []
    merged: dict[int, Row] = {}
    open_burst: dict[str, tuple[Row, dict[str, list[str]], datetime]] = {}
    for position, naive in zip(shown.tolist(), naive_times):
        head = heads.get(position)
        if head is not None:
            rows.append(head)
            continue
        at = naive.replace(tzinfo=UTC)
        names = names_at.get(position, [])
        event_ref = ref[position]
        attrs = attributes[position]
        if position in second:
            row = merged[second[position]]
            row.milestones.extend(n for n in names if n not in row.milestones)
            continue
        if position in pairs:
            other = pairs[position]
            alarm, trigger = (
                (position, other) if kind[position] == ALARM_ALARM else (other, position)
            )
            row = Row(
                at,
                _linked_text(
                    attributes[alarm], attributes[trigger], ref[alarm], naive_times, shown, trigger
                ),
                [source[alarm], source[trigger]],
                [ref[alarm], ref[trigger]],
                list(names),
            )
            rows.append(row)
            merged[position] = row
            continue
        if kind[position] == INCIDENT_NOTIFIED:
            who = attrs.get("notified_user") or "a responder"
            how = attrs.get("channel") or "unknown channel"
            burst = open_burst.get(event_ref)
            if burst is not None and at - burst[2] <= BURST_GAP and rows and rows[-1] is burst[0]:
                row, people, _ = burst
                channels = people.setdefault(who, [])
                if how not in channels:
                    channels.append(how)
                row.text = _notified(attrs, people)
                row.milestones.extend(n for n in names if n not in row.milestones)
                open_burst[event_ref] = (row, people, at)
                continue
            people = {who: [how]}
            row = Row(at, _notified(attrs, people), ["pagerduty"], [event_ref], list(names))
            rows.append(row)
            open_burst[event_ref] = (row, people, at)
            continue
        text = _describe(
            source[position],
            kind[position],
            event_ref,
            summary[position],
            service[position],
            actor[position],
            attrs,
        )
        rows.append(Row(at, text, [source[position]], [event_ref], list(names)))
    return rows
