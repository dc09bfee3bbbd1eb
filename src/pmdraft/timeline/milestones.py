"""Milestones and durations, each with the event that set it and the rule that chose it.

A milestone without evidence is ``None`` and so is every duration that needs it: unknown is
never shown as zero. Each rule is a :class:`~pmdraft.facts.Rule` (``words.milestone_rule`` says
it) and is written so a reader can check it against the timeline; what was unclear becomes a
typed note (:data:`~pmdraft.model.Note`). The suspect deploys are ranked here, once
(:func:`~.suspects.rank`): the top lead is the ``suspect_change`` milestone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..facts import (
    AlarmsUnread,
    DetectUnknown,
    FlapIgnored,
    Milestone,
    NoAlarmFired,
    Note,
    RollbackMitigation,
    Rule,
    StillFiring,
    Unresolved,
)
from ..model import (
    ALARM_ALARM,
    ALARM_KINDS,
    ALARM_OK,
    DEPLOY_KINDS,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_KINDS,
    INCIDENT_NOTIFIED,
    INCIDENT_RESOLVED,
    INCIDENT_TRIGGERED,
    Event,
    parse_time,
)
from .frame import frame_events, to_datetime
from .suspects import Suspects, find_rollback, rank

MILESTONES = (
    "impact_started",
    "detected",
    "paged",
    "acknowledged",
    "mitigated",
    "resolved",
    "suspect_change",
)

MITIGATION_ACTION = "mitigation action"
"""The timeline mark of the rollback that mitigated (not a milestone of the JSON)."""

DURATIONS: dict[str, tuple[str, str]] = {
    "time_to_detect": ("detected", "impact_started"),
    "time_to_acknowledge": ("acknowledged", "paged"),
    "time_to_mitigate": ("mitigated", "impact_started"),
    "time_to_resolve": ("resolved", "impact_started"),
    "change_to_detect": ("detected", "suspect_change"),
}
"""name -> (end milestone, start milestone); the duration is end - start (``words`` says what
each measures)."""


@dataclass(frozen=True)
class Analysis:
    """Milestones (``None`` when unknown), durations in seconds, notes, suspects and rollback."""

    milestones: Mapping[str, Milestone | None]
    durations: Mapping[str, float | None]
    notes: Mapping[str, tuple[Note, ...]] = field(default_factory=dict)
    suspects: Suspects = field(default_factory=Suspects)
    """Ranked suspect deploys (up to three leads) and the long lookback's deploys."""
    rollback: Event | None = None
    """The rollback after detection that was the mitigation action, if the deploys show one."""

    @property
    def marks(self) -> dict[str, Milestone | None]:
        """The milestones the timeline marks: every milestone, and the rollback that mitigated."""
        marks = dict(self.milestones)
        detected = self.milestones.get("detected")
        if self.rollback is not None and detected is not None:
            r = self.rollback
            marks[MITIGATION_ACTION] = Milestone(r.at, Rule.ROLLBACK, r.ref, r.summary, r.at)
        return marks


def _row_milestone(row: pd.Series, rule: Rule, at: datetime | None = None) -> Milestone:
    event_at = to_datetime(row["at"])
    return Milestone(
        at=at or event_at, rule=rule, ref=row["ref"], summary=row["summary"], event_at=event_at
    )


def _at_position(
    frame: pd.DataFrame, position: int, rule: Rule, at: datetime | None = None, **facts: Any
) -> Milestone:
    """The milestone set by the frame's row at ``position`` (an ``iloc`` position)."""
    return replace(_row_milestone(frame.iloc[position], rule, at), **facts)


def _positions(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> np.ndarray:
    positions: np.ndarray = np.flatnonzero(np.asarray(mask, dtype=bool))
    return positions


def _times(frame: pd.DataFrame) -> np.ndarray:
    """The ``at`` column as naive UTC ``datetime64[us]`` (cheap to index and compare)."""
    times: np.ndarray = frame["at"].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return times


def _first(frame: pd.DataFrame, kinds: tuple[str, ...]) -> pd.Series | None:
    hits = _positions(frame, frame["kind"].isin(kinds))
    return None if len(hits) == 0 else frame.iloc[hits[0]]


def _breach_starts(attrs: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each alarm row's breach start (``datetime64[us]``, naive UTC), its own time when it has
    none, and whether it had one. Parsed as a column; any text the column parse might read
    differently from :func:`~pmdraft.model.parse_time` goes through it, row by row."""
    listed = [a.get("breach_start") for a in attrs]
    texts = pd.Series(listed, dtype=object)
    given = np.fromiter((isinstance(t, str) for t in listed), dtype=bool, count=len(listed))
    starts = fallback.copy()
    if not given.any():
        return starts, given
    shown = texts[given]
    parsed = pd.to_datetime(shown, utc=True, format="ISO8601", errors="coerce")
    # Only UTC text ending in Z (as collectors write it) is trusted to the column parse.
    odd = parsed.isna() | ~shown.str.endswith("Z") | (parsed.dt.nanosecond != 0)
    values = np.array(parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]"))
    if odd.any():
        rows = np.flatnonzero(odd.to_numpy())
        values[rows] = [parse_time(t).replace(tzinfo=None) for t in shown.iloc[rows].tolist()]
    starts[given] = values
    return starts, given


def _impact_started(frame: pd.DataFrame) -> Milestone | None:
    alarms = _positions(frame, frame["kind"] == ALARM_ALARM)
    if len(alarms):
        attrs = frame["attrs"].to_numpy()[alarms]
        starts, given = _breach_starts(attrs, _times(frame)[alarms])
        best = int(np.argmin(starts))  # the first of the earliest, in the frame's order
        start = starts[best].item().replace(tzinfo=UTC)
        how = attrs[best].get("breach_start_rule") if given[best] else None
        detail = str(how) if how else None
        return _at_position(frame, int(alarms[best]), Rule.BREACH_START, start, detail=detail)
    row = _first(frame, (INCIDENT_TRIGGERED,))
    if row is not None:
        return _row_milestone(row, Rule.FIRST_TRIGGER)
    return None


def _groups(refs: np.ndarray) -> dict[Any, np.ndarray]:
    """ref -> the positions (into ``refs``) of its rows, in order."""
    # Sort positions by their ref's code (stable, so each ref's rows stay in time order), then
    # cut the sorted list where the code changes: one slice per ref.
    codes, uniques = pd.factorize(refs)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {ref: order[bounds[i] : bounds[i + 1]] for i, ref in enumerate(uniques)}


def _mitigated(frame: pd.DataFrame, notes: list[Note]) -> Milestone | None:
    """When every alarm that fired was back to OK for good: the latest of their final recoveries.

    Each alarm that went to ALARM must end the window OK; its earlier recoveries (flaps) are
    noted and not used. One alarm still firing leaves mitigation unknown.
    """
    alarm_positions = _positions(frame, frame["kind"].isin(ALARM_KINDS))
    kinds = frame["kind"].to_numpy()[alarm_positions]
    refs = frame["ref"].to_numpy()[alarm_positions]
    fired = pd.unique(refs[kinds == ALARM_ALARM])
    if len(fired) == 0:
        notes.append(NoAlarmFired())
        return None
    attrs = frame["attrs"].to_numpy()[alarm_positions]
    at_values = _times(frame)[alarm_positions]
    groups = _groups(refs)
    recoveries: list[int] = []
    for ref in fired:
        rows = groups[ref]
        last = rows[-1]
        name = str(attrs[last].get("alarm_name") or ref)
        # Every OK before the alarm's last row was followed by another transition: a flap.
        flaps = rows[:-1][kinds[rows[:-1]] == ALARM_OK]
        notes.extend(
            FlapIgnored(name, when.replace(tzinfo=UTC)) for when in at_values[flaps].tolist()
        )
        if kinds[last] != ALARM_OK:
            notes.append(StillFiring(name, str(attrs[last].get("new_state"))))
            return None
        recoveries.append(last)
    final = recoveries[int(np.argmax(at_values[recoveries]))]
    return _at_position(frame, int(alarm_positions[final]), Rule.LAST_RECOVERY)


def _resolved(
    frame: pd.DataFrame, mitigated: Milestone | None, notes: list[Note]
) -> Milestone | None:
    """When the last in-scope PagerDuty incident resolved; unknown if any has no resolution.

    Without any PagerDuty incident, resolution is taken from ``mitigated``.
    """
    incident_positions = _positions(
        frame, (frame["source"] == "pagerduty") & frame["kind"].isin(INCIDENT_KINDS)
    )
    refs = frame["ref"].to_numpy()[incident_positions]
    if len(refs) == 0:
        return None if mitigated is None else replace(mitigated, rule=Rule.FROM_MITIGATED)
    kinds = frame["kind"].to_numpy()[incident_positions]
    # codes[i] numbers the incident of row i; last_resolution[code] will be the row of that
    # incident's last resolution, -1 while none is found.
    codes, uniques = pd.factorize(refs)
    last_resolution = np.full(len(uniques), -1)
    # Resolution rows latest first: np.unique's return_index picks each code's first occurrence
    # in that order, i.e. each incident's last resolution.
    resolution_rows = np.flatnonzero(kinds == INCIDENT_RESOLVED)[::-1]
    found, first_seen = np.unique(codes[resolution_rows], return_index=True)
    last_resolution[found] = resolution_rows[first_seen]
    missing = np.flatnonzero(last_resolution < 0)
    if len(missing):
        ref = uniques[missing[0]]
        first = int(np.argmax(codes == missing[0]))
        number = frame["attrs"].iloc[incident_positions[first]].get("incident_number")
        notes.append(Unresolved(str(number or ref)))
        return None
    # Every incident resolved: the milestone is the latest of their last resolutions.
    at_values = _times(frame)[incident_positions]
    final = last_resolution[int(np.argmax(at_values[last_resolution]))]
    return _at_position(frame, int(incident_positions[final]), Rule.LAST_RESOLUTION)


def _seconds(end: Milestone | None, start: Milestone | None) -> float | None:
    if end is None or start is None:
        return None
    value = round((end.at - start.at).total_seconds(), 3)
    return int(value) if value.is_integer() else value


def _deploys(frame: pd.DataFrame, history: Sequence[Event]) -> tuple[list[Event], dict[str, str]]:
    """``history`` and the frame's deploys (in that order), and the services the other rows name.

    The services map lower-cased name -> name as first written, as :func:`.suspects.rank` wants.
    """
    if frame.empty:
        return list(history), {}
    is_deploy = frame["kind"].isin(DEPLOY_KINDS).to_numpy()
    named = frame.loc[~is_deploy, "service"].dropna().unique()
    services = {str(s).lower(): str(s) for s in named if isinstance(s, str) and s}
    deploys = [*history, *frame_events(frame[is_deploy])] if is_deploy.any() else list(history)
    return deploys, services


def _detection(frame: pd.DataFrame) -> dict[str, Milestone | None]:
    """The milestones read straight off the first event of a kind: detected, paged, acknowledged."""
    found: dict[str, Milestone | None] = {}
    detected = _first(frame, (ALARM_ALARM, INCIDENT_TRIGGERED))
    found["detected"] = None if detected is None else _row_milestone(detected, Rule.FIRST_SIGNAL)
    paged = _first(frame, (INCIDENT_NOTIFIED,))
    trigger = _first(frame, (INCIDENT_TRIGGERED,))
    if paged is not None:
        found["paged"] = _row_milestone(paged, Rule.FIRST_NOTIFICATION)
    else:
        found["paged"] = (
            None if trigger is None else _row_milestone(trigger, Rule.TRIGGER_NO_NOTIFICATION)
        )
    ack = _first(frame, (INCIDENT_ACKNOWLEDGED,))
    found["acknowledged"] = None if ack is None else _row_milestone(ack, Rule.FIRST_ACK)
    return found


def analyse(
    frame: pd.DataFrame,
    *,
    suspect_lookback: timedelta = timedelta(hours=6),
    overrides: Mapping[str, datetime] | None = None,
    failed_sources: Collection[str] = (),
    history: Sequence[Event] = (),
    long_lookback: timedelta = timedelta(0),
) -> Analysis:
    """Milestones, durations, suspects and rollback of a sorted frame; ``overrides`` set by hand.

    ``failed_sources`` names the sources that could not be read: a rule never claims "no alarm
    went to ALARM" when the alarm history is missing, and a duration measured from a start that
    stands in for missing data is left unknown. ``history`` holds deploys from before the frame,
    ranked with the frame's own for the long lookback.

    (Longer than most on purpose: it reads top to bottom as the rule book, one milestone after
    the other in the order each needs the ones before it.)
    """
    overrides = dict(overrides or {})
    notes: dict[str, list[Note]] = {name: [] for name in MILESTONES}
    alarms_missing = "cloudwatch" in failed_sources

    def given(name: str) -> Milestone | None:
        """Milestone ``name`` as set by hand, if it was."""
        return Milestone(overrides[name], Rule.SET_BY_HAND) if name in overrides else None

    m: dict[str, Milestone | None] = {}
    impact = given("impact_started") or _impact_started(frame)
    # Without CloudWatch, a trigger is only an upper bound of impact start: say so, and do not
    # measure time_to_detect from it.
    stand_in_start = (
        alarms_missing
        and "impact_started" not in overrides
        and impact is not None
        and impact.rule is not Rule.BREACH_START
    )
    if stand_in_start and impact is not None:
        impact = replace(impact, rule=Rule.TRIGGER_UPPER_BOUND)
        notes["impact_started"].append(DetectUnknown())
    m["impact_started"] = impact
    m.update(_detection(frame))
    m["mitigated"] = given("mitigated") or _mitigated(frame, notes["mitigated"])
    m["resolved"] = given("resolved") or _resolved(frame, m["mitigated"], notes["resolved"])
    deploys, services = _deploys(frame, history)
    suspects = rank(
        deploys,
        impact.at if impact else None,
        lookback=suspect_lookback,
        long_lookback=long_lookback,
        services=services,
    )
    m["suspect_change"] = _top_lead(suspects)
    m = {name: m[name] for name in MILESTONES}
    durations = {name: _seconds(m[end], m[start]) for name, (end, start) in DURATIONS.items()}
    if stand_in_start:
        durations["time_to_detect"] = None
    if alarms_missing and "mitigated" not in overrides:
        notes["mitigated"] = [
            AlarmsUnread() if isinstance(n, NoAlarmFired) else n for n in notes["mitigated"]
        ]
    kept = {k: tuple(v) for k, v in notes.items() if v}
    detected = m["detected"]
    rollback = find_rollback(deploys, detected.at if detected else None)
    if rollback is not None and detected is not None:
        took = (rollback.at - detected.at).total_seconds()
        # Appended last, as a note of ``mitigated`` (added at the end when it had none).
        said = RollbackMitigation(rollback.summary, rollback.at, took)
        kept["mitigated"] = (*kept.get("mitigated", ()), said)
    return Analysis(m, durations, kept, suspects, rollback)


def _top_lead(suspects: Suspects) -> Milestone | None:
    """The ``suspect_change`` milestone: the top-ranked lead, with its reasons as the rule's."""
    if not suspects.leads:
        return None
    top = suspects.leads[0]
    return Milestone(
        top.at,
        Rule.TOP_LEAD,
        top.ref,
        top.summary,
        top.at,
        reasons=top.reasons,
        lookback=suspects.lookback,
    )
