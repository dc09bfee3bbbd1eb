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
from ..heap import gc_paused
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
)
from .columns import Columns, Picked
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


def _impact_started(c: Columns, rows: Picked) -> Milestone | None:
    alarms = rows.of((ALARM_ALARM,))
    if alarms:
        key = ("impact", *alarms)
        if key not in c.memo:
            c.memo[key] = _breach_start(c, alarms)
        found: Milestone = c.memo[key]
        return found
    row = rows.first((INCIDENT_TRIGGERED,))
    if row is not None:
        return c.milestone(row, Rule.FIRST_TRIGGER)
    return None


def _breach_start(c: Columns, alarms: list[int]) -> Milestone:
    """The earliest breach start of the alarm rows ``alarms`` (at least one)."""
    starts, given = c.breach_starts(alarms)
    best = int(np.argmin(starts))  # the first of the earliest, in the frame's order
    start = starts[best].item().replace(tzinfo=UTC)
    how = c.attrs[alarms[best]].get("breach_start_rule") if given[best] else None
    detail = str(how) if how else None
    return replace(c.milestone(alarms[best], Rule.BREACH_START, start), detail=detail)


def _mitigated(c: Columns, rows: Picked, notes: list[Note]) -> Milestone | None:
    """When every alarm that fired was back to OK for good: the latest of their final recoveries.

    Each alarm that went to ALARM must end the window OK; its earlier recoveries (flaps) are
    noted and not used. One alarm still firing leaves mitigation unknown. Only the alarm rows
    count, so the answer for the same alarm rows is worked out once (:attr:`Columns.memo`).
    """
    alarm_rows = rows.of(ALARM_KINDS)
    key = ("mitigated", *alarm_rows)
    if key not in c.memo:
        said: list[Note] = []
        c.memo[key] = (_recovered(c, alarm_rows, said), tuple(said))
    found, noted = c.memo[key]
    notes.extend(noted)
    recovered: Milestone | None = found
    return recovered


def _recovered(c: Columns, rows: Sequence[int], notes: list[Note]) -> Milestone | None:
    """:func:`_mitigated` of the alarm rows ``rows``."""
    groups: dict[Any, list[int]] = {}  # ref -> its alarm rows, in order
    fired: dict[Any, None] = {}  # the refs that went to ALARM, in the order they first did
    for p in rows:
        kind = c.kind[p]
        if kind in ALARM_KINDS:
            groups.setdefault(c.ref[p], []).append(p)
            if kind == ALARM_ALARM:
                fired.setdefault(c.ref[p])
    if not fired:
        notes.append(NoAlarmFired())
        return None
    recoveries: list[int] = []
    for ref in fired:
        alarm_rows = groups[ref]
        last = alarm_rows[-1]
        name = str(c.attrs[last].get("alarm_name") or ref)
        # Every OK before the alarm's last row was followed by another transition: a flap.
        notes.extend(FlapIgnored(name, c.at[p]) for p in alarm_rows[:-1] if c.kind[p] == ALARM_OK)
        if c.kind[last] != ALARM_OK:
            notes.append(StillFiring(name, str(c.attrs[last].get("new_state"))))
            return None
        recoveries.append(last)
    final = recoveries[int(np.argmax(c.times[recoveries]))]
    return c.milestone(final, Rule.LAST_RECOVERY)


def _resolved(
    c: Columns, rows: Picked, mitigated: Milestone | None, notes: list[Note]
) -> Milestone | None:
    """When the last in-scope PagerDuty incident resolved; unknown if any has no resolution.

    Without any PagerDuty incident, resolution is taken from ``mitigated``.
    """
    # ref -> [its first row, its last resolution row (-1 while none is found)], in the order
    # the incidents first appear.
    incidents: dict[Any, list[int]] = {}
    kinds, source, ref = c.kind, c.source, c.ref
    for p in rows.of(INCIDENT_KINDS):
        kind = kinds[p]
        if source[p] == "pagerduty":
            seen = incidents.get(ref[p])
            if seen is None:
                seen = incidents[ref[p]] = [p, -1]
            if kind == INCIDENT_RESOLVED:
                seen[1] = p
    if not incidents:
        return None if mitigated is None else replace(mitigated, rule=Rule.FROM_MITIGATED)
    for ref, (first, resolution) in incidents.items():
        if resolution < 0:
            number = c.attrs[first].get("incident_number")
            notes.append(Unresolved(str(number or ref)))
            return None
    # Every incident resolved: the milestone is the latest of their last resolutions.
    last = [resolution for _, resolution in incidents.values()]
    final = last[int(np.argmax(c.times[last]))]
    return c.milestone(final, Rule.LAST_RESOLUTION)


def _seconds(end: Milestone | None, start: Milestone | None) -> float | None:
    if end is None or start is None:
        return None
    value = round((end.at - start.at).total_seconds(), 3)
    return int(value) if value.is_integer() else value


def _deploys(
    c: Columns, rows: Picked, history: Sequence[Event]
) -> tuple[list[Event], dict[str, str]]:
    """``history`` and the rows' deploys (in that order), and the services the other rows name.

    The services map lower-cased name -> name as first written, as :func:`.suspects.rank` wants.
    """
    if not len(rows.rows):
        return list(history), {}
    deploy_rows = rows.of(DEPLOY_KINDS)
    # The distinct services of the other rows, in the order they first appear.
    named = dict.fromkeys(map(c.service.__getitem__, rows.other_than(DEPLOY_KINDS)))
    services = {str(s).lower(): str(s) for s in named if isinstance(s, str) and s}
    deploys = [*history, *c.deploy_events(deploy_rows)] if deploy_rows else list(history)
    return deploys, services


def _detection(c: Columns, rows: Picked) -> dict[str, Milestone | None]:
    """The milestones read straight off the first event of a kind: detected, paged, acknowledged."""
    found: dict[str, Milestone | None] = {}
    detected = rows.first((ALARM_ALARM, INCIDENT_TRIGGERED))
    found["detected"] = None if detected is None else c.milestone(detected, Rule.FIRST_SIGNAL)
    paged = rows.first((INCIDENT_NOTIFIED,))
    trigger = rows.first((INCIDENT_TRIGGERED,))
    if paged is not None:
        found["paged"] = c.milestone(paged, Rule.FIRST_NOTIFICATION)
    else:
        found["paged"] = (
            None if trigger is None else c.milestone(trigger, Rule.TRIGGER_NO_NOTIFICATION)
        )
    ack = rows.first((INCIDENT_ACKNOWLEDGED,))
    found["acknowledged"] = None if ack is None else c.milestone(ack, Rule.FIRST_ACK)
    return found


@gc_paused()  # the frame's columns as lists, no cycles (pmdraft.heap)
def analyse(
    frame: pd.DataFrame | Columns,
    *,
    rows: Sequence[int] | None = None,
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

    ``rows`` (ascending positions) analyses only those rows of the frame, as if they were a
    frame of their own; many analyses of one frame pass its :class:`Columns`, taken once.

    (Longer than most on purpose: it reads top to bottom as the rule book, one milestone after
    the other in the order each needs the ones before it.)
    """
    c = frame if isinstance(frame, Columns) else Columns(frame)
    picked = c.pick(rows)
    overrides = dict(overrides or {})
    notes: dict[str, list[Note]] = {name: [] for name in MILESTONES}
    alarms_missing = "cloudwatch" in failed_sources

    def given(name: str) -> Milestone | None:
        """Milestone ``name`` as set by hand, if it was."""
        return Milestone(overrides[name], Rule.SET_BY_HAND) if name in overrides else None

    m: dict[str, Milestone | None] = {}
    impact = given("impact_started") or _impact_started(c, picked)
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
    m.update(_detection(c, picked))
    m["mitigated"] = given("mitigated") or _mitigated(c, picked, notes["mitigated"])
    m["resolved"] = given("resolved") or _resolved(c, picked, m["mitigated"], notes["resolved"])
    deploys, services = _deploys(c, picked, history)
    suspects = _ranked(c, deploys, impact, services, suspect_lookback, long_lookback)
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
    rollback = _rollback(c, deploys, detected.at if detected else None)
    if rollback is not None and detected is not None:
        took = (rollback.at - detected.at).total_seconds()
        # Appended last, as a note of ``mitigated`` (added at the end when it had none).
        said = RollbackMitigation(rollback.summary, rollback.at, took)
        kept["mitigated"] = (*kept.get("mitigated", ()), said)
    return Analysis(m, durations, kept, suspects, rollback)


def _ranked(
    c: Columns,
    deploys: list[Event],
    impact: Milestone | None,
    services: dict[str, str],
    lookback: timedelta,
    long_lookback: timedelta,
) -> Suspects:
    """:func:`.suspects.rank` of ``deploys``, worked out once per distinct arguments (the
    incidents of one service share their deploys, services and, from their alarms, impact)."""
    at = impact.at if impact else None
    key = ("rank", at, lookback, long_lookback, *services.items(), None, *map(id, deploys))
    if key not in c.memo:
        # The deploys are kept with the result: their ids in the key stay theirs.
        ranked = rank(
            deploys, at, lookback=lookback, long_lookback=long_lookback, services=services
        )
        c.memo[key] = (ranked, deploys)
    suspects: Suspects = c.memo[key][0]
    return suspects


def _rollback(c: Columns, deploys: list[Event], detected: datetime | None) -> Event | None:
    """:func:`.suspects.find_rollback`, worked out once per distinct arguments."""
    key = ("rollback", detected, *map(id, deploys))
    if key not in c.memo:
        c.memo[key] = (find_rollback(deploys, detected), deploys)
    rollback: Event | None = c.memo[key][0]
    return rollback


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
