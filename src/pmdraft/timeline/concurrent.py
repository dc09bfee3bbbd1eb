"""Concurrent activity: what the window held outside a draft's scope, and each incident's facts.

Other incidents (with number, title, service, times and link), other alarms that fired (with
why they are not the draft's), and deploys of other services. None of it sets a milestone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from ..facts import OtherAlarm, OtherDeploy, OtherIncident
from ..model import (
    ALARM_ALARM,
    ALARM_OK,
    DEPLOY_KINDS,
    INCIDENT_RESOLVED,
    INCIDENT_TRIGGERED,
    PastIncident,
    parse_time_or_none,
)
from .frame import at_datetimes
from .milestones import Analysis
from .scope import Scope


@dataclass(frozen=True)
class IncidentFacts:
    """One in-scope incident's own milestones and durations (from its events alone)."""

    ref: str
    number: int | None
    analysis: Analysis


@dataclass(frozen=True)
class Concurrent:
    """What ran in the window outside the draft's scope."""

    incidents: tuple[OtherIncident, ...] = ()
    alarms: tuple[OtherAlarm, ...] = ()
    deploys: tuple[OtherDeploy, ...] = ()
    error: str | None = None
    """Why the window's other incidents could not be listed, if they could not."""

    def __bool__(self) -> bool:
        return bool(self.incidents or self.alarms or self.deploys or self.error)


def _incidents(out: pd.DataFrame, times: list[datetime]) -> dict[str, OtherIncident]:
    """The out-of-scope incidents among the rows ``out`` (with their ``times``)."""
    found: dict[str, OtherIncident] = {}
    is_incident = (out["source"] == "pagerduty") & out["kind"].str.startswith("incident.")
    for i in np.flatnonzero(is_incident.to_numpy()).tolist():
        row = out.iloc[i]
        attrs, ref = row["attrs"], str(row["ref"])
        number = attrs.get("incident_number")
        known = found.get(ref) or OtherIncident(
            ref,
            number if isinstance(number, int) else None,
            str(attrs.get("incident_title") or "") or None,
            row["service"] if isinstance(row["service"], str) else None,
            row["url"] if isinstance(row["url"], str) else None,
            None,
            None,
        )
        if row["kind"] == INCIDENT_TRIGGERED and known.created is None:
            known = replace(known, created=times[i])
        if row["kind"] == INCIDENT_RESOLVED:
            known = replace(known, resolved=times[i])
        found[ref] = known
    return found


def _listed(p: PastIncident) -> OtherIncident:
    return OtherIncident(
        str(p.id),
        p.number,
        p.title or None,
        p.service,
        p.url,
        parse_time_or_none(p.created_at),
        parse_time_or_none(p.resolved_at),
    )


def concurrent_activity(
    frame: pd.DataFrame,
    scope: Scope,
    listed: Sequence[PastIncident] = (),
    error: str | None = None,
) -> Concurrent:
    """Other incidents (from the frame, then ``listed`` apart), alarms and deploys out of scope."""
    out = frame[~scope.mask].reset_index(drop=True)
    times = at_datetimes(out) if len(out) else []
    incidents = _incidents(out, times)
    for p in listed:
        if p.id and p.id not in incidents and p.id not in scope.incidents:
            incidents[p.id] = _listed(p)
    links = {k.ref: k for k in scope.links if not k.in_scope}
    alarms: dict[str, OtherAlarm] = {}
    deploys: dict[str, OtherDeploy] = {}
    kinds, refs = out["kind"].tolist(), out["ref"].tolist()
    for i, (kind, ref) in enumerate(zip(kinds, refs, strict=True)):
        if kind == ALARM_ALARM and ref in links:
            first = alarms[ref].fired if ref in alarms else times[i]
            alarms[ref] = OtherAlarm(links[ref].alarm, first, None, links[ref])
        elif kind == ALARM_OK and ref in alarms:
            alarms[ref] = replace(alarms[ref], recovered=times[i])
        elif kind in DEPLOY_KINDS:
            row = out.iloc[i]
            service = row["service"] if isinstance(row["service"], str) else None
            deploys[ref] = OtherDeploy(times[i], str(row["summary"]), service, row["source"], ref)
    ordered = sorted(
        incidents.values(), key=lambda x: (x.created.timestamp() if x.created else 0.0, x.id)
    )
    return Concurrent(tuple(ordered), tuple(alarms.values()), tuple(deploys.values()), error)
