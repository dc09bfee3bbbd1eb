"""Milestones and durations, each with the event that set it and the rule that chose it.

A milestone without evidence is ``None`` and so is every duration that needs it: unknown is
never shown as zero. Each rule is written so a reader can check it against the timeline.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..sources.base import parse_time
from ..model import (
    ALARM_ALARM,
    ALARM_KINDS,
    ALARM_OK,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_NOTIFIED,
    INCIDENT_RESOLVED,
    INCIDENT_TRIGGERED,
    iso_z,
)
from .frame import to_datetime

MILESTONES = (
    "impact_started",
    "detected",
    "paged",
    "acknowledged",
    "mitigated",
    "resolved",
    "suspect_change",
)

FLAG_BY_MILESTONE = {
    "impact_started": "--impact-start",
    "mitigated": "--mitigated-at",
    "resolved": "--resolved-at",
}

DURATIONS: dict[str, tuple[str, str, str]] = {
    "time_to_detect": (
        "detected",
        "impact_started",
        "from impact start to the first automated signal",
    ),
    "time_to_acknowledge": (
        "acknowledged",
        "paged",
        "from the first page to the first explicit acknowledgement",
    ),
    "time_to_mitigate": (
        "mitigated",
        "impact_started",
        "from impact start until every alarm stayed OK",
    ),
    "time_to_resolve": (
        "resolved",
        "impact_started",
        "from impact start to the last incident's resolution",
    ),
    "change_to_detect": (
        "detected",
        "suspect_change",
        "from the suspect change to the first automated signal",
    ),
}
"""name -> (end milestone, start milestone, what it measures); the duration is end - start."""


@dataclass(frozen=True)
class Milestone:
    """A moment of the incident, the rule that found it, and the event it came from."""

    at: datetime
    rule: str
    ref: str | None = None
    summary: str | None = None
    event_at: datetime | None = None
    """When the event that set it happened (differs from ``at`` for a breach start)."""

    def to_record(self) -> dict[str, Any]:
        return {"at": iso_z(self.at), "rule": self.rule, "ref": self.ref}


@dataclass
class Analysis:
    """Milestones (``None`` when unknown), durations in seconds, and notes on what was unclear."""

    milestones: dict[str, Milestone | None]
    durations: dict[str, float | None]
    notes: dict[str, list[str]] = field(default_factory=dict)


def _row_milestone(row: pd.Series, rule: str, at: datetime | None = None) -> Milestone:
    event_at = to_datetime(row["at"])
    return Milestone(
        at=at or event_at, rule=rule, ref=row["ref"], summary=row["summary"], event_at=event_at
    )


def _at_position(
    frame: pd.DataFrame, position: int, rule: str, at: datetime | None = None
) -> Milestone:
    """The milestone set by the frame's row at ``position`` (an ``iloc`` position)."""
    return _row_milestone(frame.iloc[position], rule, at)


def _positions(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> np.ndarray:
    positions: np.ndarray = np.flatnonzero(np.asarray(mask, dtype=bool))
    return positions


def _times(frame: pd.DataFrame) -> np.ndarray:
    """The ``at`` column as naive UTC ``datetime64[us]`` (cheap to index and compare)."""
    return frame["at"].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _iso_z_many(values: np.ndarray) -> list[str]:
    """:func:`~pmdraft.model.iso_z` of many naive UTC ``datetime64[us]`` values at once."""
    seconds = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").tolist()
    micros = (values.astype("int64") % 1_000_000).tolist()
    return [f"{s}.{m:06d}".rstrip("0") + "Z" if m else s + "Z" for s, m in zip(seconds, micros)]


def _first(frame: pd.DataFrame, kinds: tuple[str, ...]) -> pd.Series | None:
    hits = _positions(frame, frame["kind"].isin(kinds))
    return None if len(hits) == 0 else frame.iloc[hits[0]]


def _impact_started(frame: pd.DataFrame) -> Milestone | None:
    alarms = _positions(frame, frame["kind"] == ALARM_ALARM)
    if len(alarms):
        attrs = frame["attrs"].to_numpy()[alarms]
        event_at = _times(frame)[alarms].tolist()
        best: tuple[datetime, int, str] | None = None
        for position, item, when in zip(alarms.tolist(), attrs, event_at):
            breach = item.get("breach_start")
            if isinstance(breach, str):
                start, rule = (
                    parse_time(breach),
                    str(item.get("breach_start_rule") or "transition time"),
                )
            else:
                start, rule = when.replace(tzinfo=UTC), "transition time"
            if best is None or start < best[0]:
                best = (start, position, rule)
        assert best is not None
        start, position, rule = best
        return _at_position(
            frame, position, f"earliest breach start of an alarm that went to ALARM: {rule}", start
        )
    row = _first(frame, (INCIDENT_TRIGGERED,))
    if row is not None:
        return _row_milestone(row, "first PagerDuty trigger (no alarm went to ALARM)")
    return None


def _groups(refs: np.ndarray) -> dict[Any, np.ndarray]:
    """ref -> the positions (into ``refs``) of its rows, in order."""
    codes, uniques = pd.factorize(refs)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {ref: order[bounds[i] : bounds[i + 1]] for i, ref in enumerate(uniques)}


def _mitigated(frame: pd.DataFrame, notes: list[str]) -> Milestone | None:
    alarm_positions = _positions(frame, frame["kind"].isin(ALARM_KINDS))
    kinds = frame["kind"].to_numpy()[alarm_positions]
    refs = frame["ref"].to_numpy()[alarm_positions]
    fired = pd.unique(refs[kinds == ALARM_ALARM])
    if len(fired) == 0:
        notes.append(
            "no alarm went to ALARM, so there is no alarm recovery to date mitigation from"
        )
        return None
    attrs = frame["attrs"].to_numpy()[alarm_positions]
    at_values = _times(frame)[alarm_positions]
    groups = _groups(refs)
    recoveries: list[int] = []
    for ref in fired:
        rows = groups[ref]
        last = rows[-1]
        name = attrs[last].get("alarm_name") or ref
        flaps = rows[:-1][kinds[rows[:-1]] == ALARM_OK]
        notes.extend(
            f"{name} recovered at {when} but went back to ALARM (not used)"
            for when in _iso_z_many(at_values[flaps])
        )
        if kinds[last] != ALARM_OK:
            notes.append(
                f"{name} ends the window in {attrs[last].get('new_state')}, so mitigation is unknown"
            )
            return None
        recoveries.append(last)
    final = recoveries[int(np.argmax(at_values[recoveries]))]
    return _at_position(
        frame,
        int(alarm_positions[final]),
        "the last recovery after which every alarm that went to ALARM stayed OK",
    )


def _resolved(
    frame: pd.DataFrame, mitigated: Milestone | None, notes: list[str]
) -> Milestone | None:
    incident_positions = _positions(
        frame, (frame["source"] == "pagerduty") & frame["kind"].str.startswith("incident.")
    )
    refs = frame["ref"].to_numpy()[incident_positions]
    if len(refs) == 0:
        if mitigated is None:
            return None
        return Milestone(
            mitigated.at,
            "no PagerDuty incident: taken from mitigated",
            mitigated.ref,
            mitigated.summary,
            mitigated.event_at,
        )
    kinds = frame["kind"].to_numpy()[incident_positions]
    codes, uniques = pd.factorize(refs)
    resolved = kinds == INCIDENT_RESOLVED
    last_resolution = np.full(len(uniques), -1)
    resolution_rows = np.flatnonzero(resolved)[
        ::-1
    ]  # latest first, so np.unique finds each ref's last
    found, first_seen = np.unique(codes[resolution_rows], return_index=True)
    last_resolution[found] = resolution_rows[first_seen]
    missing = np.flatnonzero(last_resolution < 0)
    if len(missing):
        ref = uniques[missing[0]]
        first = int(np.argmax(codes == missing[0]))
        number = frame["attrs"].iloc[incident_positions[first]].get("incident_number")
        notes.append(
            f"PagerDuty incident #{number or ref} has no resolution in the data, so resolution is unknown"
        )
        return None
    at_values = _times(frame)[incident_positions]
    final = last_resolution[int(np.argmax(at_values[last_resolution]))]
    return _at_position(
        frame, int(incident_positions[final]), "when the last in-scope PagerDuty incident resolved"
    )


def _seconds(end: Milestone | None, start: Milestone | None) -> float | None:
    if end is None or start is None:
        return None
    value = round((end.at - start.at).total_seconds(), 3)
    return int(value) if value.is_integer() else value


def analyse(
    frame: pd.DataFrame,
    *,
    suspect_lookback: timedelta = timedelta(hours=6),
    overrides: Mapping[str, datetime] | None = None,
    failed_sources: Collection[str] = (),
) -> Analysis:
    """Milestones and durations from a sorted frame; ``overrides`` set milestones by hand.

    ``failed_sources`` names the sources that could not be read: a rule never claims "no alarm
    went to ALARM" when the alarm history is missing, and a duration measured from a start that
    stands in for missing data is left unknown.
    """
    overrides = dict(overrides or {})
    notes: dict[str, list[str]] = {name: [] for name in MILESTONES}
    alarms_missing = "cloudwatch" in failed_sources

    def given(name: str) -> Milestone | None:
        if name in overrides:
            return Milestone(overrides[name], f"set by {FLAG_BY_MILESTONE[name]}")
        return None

    m: dict[str, Milestone | None] = {}
    m["impact_started"] = given("impact_started") or _impact_started(frame)
    stand_in_start = (
        alarms_missing
        and "impact_started" not in overrides
        and m["impact_started"] is not None
        and not m["impact_started"].rule.startswith("earliest breach start")
    )
    if stand_in_start:
        start = m["impact_started"]
        m["impact_started"] = Milestone(
            start.at,
            "at the latest the first PagerDuty trigger: CloudWatch could not be read, so when the "
            "metrics began to breach is unknown",
            start.ref,
            start.summary,
            start.event_at,
        )
        notes["impact_started"].append("CloudWatch could not be read; time_to_detect is unknown")
    detected = _first(frame, (ALARM_ALARM, INCIDENT_TRIGGERED))
    m["detected"] = (
        None
        if detected is None
        else _row_milestone(
            detected,
            "first automated signal: earliest alarm transition to ALARM or PagerDuty trigger",
        )
    )
    paged = _first(frame, (INCIDENT_NOTIFIED,))
    if paged is not None:
        m["paged"] = _row_milestone(paged, "first PagerDuty notification")
    else:
        trigger = _first(frame, (INCIDENT_TRIGGERED,))
        m["paged"] = (
            None
            if trigger is None
            else _row_milestone(trigger, "first PagerDuty trigger (no notification listed)")
        )
    ack = _first(frame, (INCIDENT_ACKNOWLEDGED,))
    m["acknowledged"] = (
        None if ack is None else _row_milestone(ack, "first explicit PagerDuty acknowledgement")
    )
    m["mitigated"] = given("mitigated") or _mitigated(frame, notes["mitigated"])
    m["resolved"] = given("resolved") or _resolved(frame, m["mitigated"], notes["resolved"])
    from .suspects import top_lead_milestone  # the ranking lives there (issue 5)

    m["suspect_change"] = top_lead_milestone(frame, m["impact_started"], suspect_lookback)
    m = {name: m[name] for name in MILESTONES}
    durations = {name: _seconds(m[end], m[start]) for name, (end, start, _) in DURATIONS.items()}
    if stand_in_start:
        durations["time_to_detect"] = None
    if alarms_missing and "mitigated" not in overrides:
        notes["mitigated"] = [
            "CloudWatch could not be read, so alarm recoveries are missing"
            if n.startswith("no alarm")
            else n
            for n in notes["mitigated"]
        ]
    return Analysis(m, durations, {k: v for k, v in notes.items() if v})
