"""The readable timeline: one line per event a reader needs, bursts collapsed.

The JSON keeps every event. The Markdown timeline shows every deploy, trigger,
acknowledgement, escalation, note and resolution, and every event a milestone came from, each
on its own line. It folds the ``incident.notified`` entries of one page-out into one line, and a
long run of routine rows (alarm transitions, notifications, assignments, other incident
updates) of one source into one line such as "CloudWatch: 340 alarm transitions of 12 alarms
between 14:32 and 14:41 (see JSON)", so a busy window stays readable. An alarm's transition to
ALARM and the PagerDuty trigger it caused (linked by :mod:`.correlate`) share one line that
names both.

Each :class:`Row` carries what its line shows as a fact (a :data:`~pmdraft.facts.Line`);
``pmdraft.words.line_text`` says it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..facts import (
    ROUTINE_FAMILY,
    EventLine,
    Line,
    LinkedLine,
    Milestone,
    NotifiedLine,
    RunLine,
    new_event_line,
)
from ..heap import gc_paused
from ..model import ALARM_ALARM, CHAT_MESSAGE, INCIDENT_NOTIFIED, INCIDENT_TRIGGERED, Scalar
from .flapping import FLAP_SPAN, FLAP_TRANSITIONS, find_flaps

BURST_GAP = timedelta(minutes=2)
"""Notifications of one incident less than this apart are one burst (one timeline line)."""

COLLAPSE_OVER = 20
"""A run of more than this many routine rows of one source and family becomes one line."""

COLLAPSE_GAP = timedelta(minutes=5)
"""Routine rows of one family at most this far apart (each from the one before) form one run."""

COLLAPSE_SPAN = timedelta(minutes=10)
"""Longest stretch one collapsed line covers: a longer run is cut into pieces this long,
counted from its first row, so a busy hour reads as six lines, not one."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Row:
    """One line of the timeline table: when, what it shows, where from, the milestones it marks."""

    at: datetime
    line: Line
    sources: tuple[str, ...]
    refs: tuple[str, ...]
    milestones: tuple[str, ...] = ()


_NEW = object.__new__


def _row(
    at: datetime,
    line: Line,
    sources: tuple[str, ...],
    refs: tuple[str, ...],
    milestones: tuple[str, ...] = (),
) -> Row:
    """``Row(...)`` made without the frozen dataclass's ``__init__`` (one ``object.__setattr__``
    per field): the same row in about half the time, for the loop that makes one per event."""
    row = _NEW(Row)
    row.__dict__.update(at=at, line=line, sources=sources, refs=refs, milestones=milestones)
    return row


@dataclass
class _Pending:
    """A row while the rows are built: a later event may still join it (a burst, a linked page)."""

    at: datetime
    line: Line | None
    """What the row shows; ``None`` for a notification burst, said when it is finished."""
    sources: list[str]
    refs: list[str]
    milestones: list[str]
    people: dict[Scalar, list[Scalar]] | None = None
    """A notification burst's people so far, each with their channels."""
    latest: Mapping[str, Any] | None = None
    """A notification burst's latest notification's attrs (its line is said from them)."""

    def mark(self, names: list[str]) -> None:
        """Add the milestones in ``names`` this row does not mark yet."""
        self.milestones.extend(n for n in names if n not in self.milestones)

    def row(self) -> Row:
        """The finished, frozen row."""
        line = self.line
        if line is None:
            assert self.latest is not None and self.people is not None
            line = _notified(self.latest, self.people)
        return Row(self.at, line, tuple(self.sources), tuple(self.refs), tuple(self.milestones))


def event_line(row: Mapping[str, Any]) -> EventLine:
    """The line of one event shown on its own (a frame row, or any mapping with its columns)."""
    return EventLine(
        row["source"],
        row["kind"],
        row["ref"],
        row["summary"],
        row["service"],
        row["actor"],
        row["attrs"],
        row.get("url"),
    )


def _quiet_chat(kind: np.ndarray, attributes: np.ndarray) -> np.ndarray:
    """Chat messages nobody pinned or marked: they go to the Communication Log, not the timeline."""
    quiet: np.ndarray = np.asarray(kind == CHAT_MESSAGE, dtype=bool)
    for p in np.flatnonzero(quiet).tolist():
        attrs = attributes[p]
        quiet[p] = not (attrs.get("pinned") or attrs.get("highlighted"))
    return quiet


def _linked(kind: np.ndarray, attributes: np.ndarray) -> dict[int, int]:
    """Alarm-to-page pairs (see :mod:`.correlate`): the earlier row's position -> the later's."""
    found: dict[str, list[int]] = {}
    for p in np.flatnonzero(np.isin(kind, (ALARM_ALARM, INCIDENT_TRIGGERED))).tolist():
        link = attributes[p].get("correlation")
        if isinstance(link, str):
            found.setdefault(link, []).append(p)
    return {min(ps): max(ps) for ps in found.values() if len(ps) == 2}


def _linked_line(
    alarm: Mapping[str, Any],
    trigger: Mapping[str, Any],
    alarm_ref: str,
    times: list[datetime],
    shown: np.ndarray,
    trigger_position: int,
) -> LinkedLine:
    """One line for an alarm and the page it caused, naming both sources."""
    # The trigger's time is shown only when the trigger's own row is shown (not folded away).
    index = int(np.searchsorted(shown, trigger_position))
    paged_at = times[index] if index < len(shown) and shown[index] == trigger_position else None
    return LinkedLine(
        str(alarm.get("alarm_name", alarm_ref)),
        alarm.get("old_state"),
        alarm.get("new_state"),
        alarm.get("reason"),
        trigger.get("incident_number"),
        paged_at,
    )


def _notified(attrs: Mapping[str, Any], people: Mapping[Scalar, list[Scalar]]) -> NotifiedLine:
    return NotifiedLine(
        attrs.get("incident_number"),
        tuple((name, tuple(channels)) for name, channels in people.items()),
    )


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


def _milestone_refs(milestones: Mapping[str, Milestone | None]) -> dict[tuple[int, str], list[str]]:
    marks: dict[tuple[int, str], list[str]] = {}
    for name, m in milestones.items():
        if m is not None and m.ref is not None and m.event_at is not None:
            marks.setdefault((_micros(m.event_at), m.ref), []).append(name)
    return marks


def _run_row(source: str, kind: str, refs: np.ndarray, first: datetime, last: datetime) -> Row:
    distinct = list(dict.fromkeys(refs.tolist()))
    line = RunLine(source, ROUTINE_FAMILY[kind], len(refs), len(distinct), first, last)
    return Row(first, line, (source,), tuple(distinct))


def _collapse(
    micros: np.ndarray, source: np.ndarray, kind: np.ndarray, ref: np.ndarray, marked: np.ndarray
) -> tuple[np.ndarray, dict[int, Row]]:
    """Which rows fold into a run line, and each run's line keyed by its first row's position.

    Rows are grouped by (routine family, source); a marked row (a milestone's, a linked pair's,
    a flapping alarm's) is in no group. Within a group, a run is a stretch whose consecutive rows
    are at most :data:`COLLAPSE_GAP` apart, cut into pieces of :data:`COLLAPSE_SPAN` from each
    run's first row; a piece of more than :data:`COLLAPSE_OVER` rows folds into one line.
    """
    folded = np.zeros(len(kind), dtype=bool)
    heads: dict[int, Row] = {}
    kind_codes, kinds = pd.factorize(kind)
    source_codes, _ = pd.factorize(source)
    # family[i]: the routine family number of row i, -1 for a kind that never folds; the extra
    # trailing -1 is for pandas' code -1 (a missing kind).
    families = {name: i for i, name in enumerate(dict.fromkeys(ROUTINE_FAMILY.values()))}
    family_of_kind = np.array([families.get(ROUTINE_FAMILY.get(k, ""), -1) for k in kinds] + [-1])
    family = family_of_kind[kind_codes]
    family[marked] = -1
    # One group number per (family, source) pair; -1 for rows that never fold.
    group = np.where(family >= 0, family * (int(source_codes.max()) + 1) + source_codes, -1)
    gap, span = COLLAPSE_GAP // _MICROSECOND, COLLAPSE_SPAN // _MICROSECOND
    for key in np.unique(group[group >= 0]).tolist():
        members = np.flatnonzero(group == key)
        times = micros[members]
        # run[j]: which run member j is in (a new run starts after a gap longer than COLLAPSE_GAP).
        run = np.cumsum(np.concatenate(([True], np.diff(times) > gap))) - 1
        # piece[j]: how many whole COLLAPSE_SPANs member j is after its run's first member.
        run_start = np.flatnonzero(np.diff(run, prepend=-1))
        piece = (times - times[run_start][run]) // span
        # A piece starts where the run or the piece number changes; sizes are the lengths.
        starts = np.flatnonzero((np.diff(run, prepend=-1) != 0) | (np.diff(piece, prepend=-1) != 0))
        sizes = np.diff(np.append(starts, len(members)))
        big = sizes > COLLAPSE_OVER
        for start, size in zip(starts[big].tolist(), sizes[big].tolist(), strict=True):
            piece_rows = members[start : start + size]
            folded[piece_rows] = True
            first, last = (
                _EPOCH + int(micros[p]) * _MICROSECOND for p in (piece_rows[0], piece_rows[-1])
            )
            heads[int(piece_rows[0])] = _run_row(
                str(source[piece_rows[0]]), str(kind[piece_rows[0]]), ref[piece_rows], first, last
            )
    return folded, heads


@gc_paused()  # many rows and strings, no cycles (pmdraft.heap)
def build_rows(
    frame: pd.DataFrame,
    milestones: Mapping[str, Milestone | None],
    *,
    flap_transitions: int = FLAP_TRANSITIONS,
    flap_span: timedelta = FLAP_SPAN,
) -> list[Row]:
    """Timeline rows in time order: bursts collapsed, flapping alarms folded, milestones marked.

    (Long because it is one pass of column-wide steps -- mark, pair, fold flaps, collapse runs --
    whose arrays feed :func:`_rows`; split, each piece would take and return all of them.)

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
    folded |= flapped | _quiet_chat(kind, frame["attrs"].to_numpy())
    heads.update(
        {p: Row(line.first, line, ("cloudwatch",), (str(ref[p]),)) for p, line in flaps.items()}
    )
    shown = np.flatnonzero(~folded)
    shown = np.union1d(shown, np.fromiter(heads, dtype=np.int64, count=len(heads)))
    summary, service, actor, attributes, url = (
        frame[name].to_numpy() for name in ("summary", "service", "actor", "attrs", "url")
    )
    # The shown rows' times as aware datetimes, made at once (one replace() each took twice as
    # long), and the columns as lists (read by position in the loop, faster than numpy's).
    at = pd.DatetimeIndex(times[shown]).tz_localize(UTC).to_pydatetime().tolist()
    columns = (source, kind, ref, summary, service, actor, attributes, url)
    return _rows(shown, at, heads, names_at, *(c.tolist() for c in columns), pairs=pairs)


def _rows(
    shown: np.ndarray,
    times: list[datetime],
    heads: Mapping[int, Row],
    names_at: Mapping[int, list[str]],
    *columns: list[Any],
    pairs: Mapping[int, int] | None = None,
) -> list[Row]:
    """The shown rows in order, as rows: folded heads as they are, linked pairs and notification
    bursts merged into one row each, every other event on its own row.

    (One loop over possibly hundreds of thousands of rows, kept in one function on purpose: each
    branch is a kind of line, and the loop is the hot path of a large draft.)
    """
    source, kind, ref, summary, service, actor, attributes, url = columns
    pairs = pairs or {}
    second = {b: a for a, b in pairs.items()}
    rows: list[Row | _Pending] = []
    merged: dict[int, _Pending] = {}
    open_burst: dict[str, tuple[_Pending, datetime]] = {}
    none: list[str] = []
    for position, at in zip(shown.tolist(), times, strict=True):
        head = heads.get(position)
        if head is not None:
            rows.append(head)
            continue
        names = names_at.get(position, none)
        event_ref = ref[position]
        attrs = attributes[position]
        if position in second:
            merged[second[position]].mark(names)
            continue
        if position in pairs:
            other = pairs[position]
            alarm, trigger = (
                (position, other) if kind[position] == ALARM_ALARM else (other, position)
            )
            linked = _linked_line(
                attributes[alarm], attributes[trigger], ref[alarm], times, shown, trigger
            )
            pending = _Pending(
                at,
                linked,
                [source[alarm], source[trigger]],
                [ref[alarm], ref[trigger]],
                list(names),
            )
            rows.append(pending)
            merged[position] = pending
            continue
        if kind[position] == INCIDENT_NOTIFIED:
            who = attrs.get("notified_user") or None
            how = attrs.get("channel") or None
            burst = open_burst.get(event_ref)
            # A notification joins the open burst of its incident if it is within BURST_GAP of
            # the burst's latest one and nothing else was shown in between. (The burst's line is
            # said once it is finished, from its people and its latest notification.)
            if burst is not None and at - burst[1] <= BURST_GAP and rows and rows[-1] is burst[0]:
                pending = burst[0]
                people = pending.people if pending.people is not None else {}
                channels = people.setdefault(who, [])
                if how not in channels:
                    channels.append(how)
                pending.latest = attrs
                if names:
                    pending.mark(names)
                open_burst[event_ref] = (pending, at)
                continue
            people = {who: [how]}
            pending = _Pending(
                at,
                None,
                ["pagerduty"],
                [event_ref],
                list(names),
                people,
                attrs,
            )
            rows.append(pending)
            open_burst[event_ref] = (pending, at)
            continue
        line = new_event_line(
            source[position],
            kind[position],
            event_ref,
            summary[position],
            service[position],
            actor[position],
            attrs,
            url[position],
        )
        rows.append(_row(at, line, (source[position],), (event_ref,), tuple(names)))
    return [r.row() if isinstance(r, _Pending) else r for r in rows]
