"""Which incidents a batch run considers: PagerDuty's resolved incidents and ``[batch]``'s filters.

PagerDuty lists incidents by creation time, at most six months a request; a run lists from
``created_within_days`` before its lower bound, in slices, and keeps those resolved inside its
window that pass the priority, urgency, service and team filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .config import Config
from .model import Window, parse_time_or_none
from .sources.pagerduty import PagerDutyConfig

MAX_LISTING_SPAN = timedelta(days=180)
"""Longest creation window one PagerDuty incident listing may cover (PagerDuty allows six
months)."""


@dataclass(frozen=True)
class Candidate:
    """An incident the run considers: new since the last run, or owed a retry."""

    incident_id: str
    number: int | None
    title: str
    resolved_at: datetime | None
    reason: str
    """``new`` or ``retry``."""


def resolved_at(incident: Mapping[str, Any]) -> datetime | None:
    """When a resolved incident was resolved (its last status change if the field is missing)."""
    if incident.get("status") != "resolved":
        return None
    return parse_time_or_none(incident.get("resolved_at")) or parse_time_or_none(
        incident.get("last_status_change_at")
    )


def _name_of(ref: Any) -> str:
    """The name of a PagerDuty reference object (a priority, say), or empty."""
    return str(ref.get("summary") or ref.get("name") or "") if isinstance(ref, dict) else ""


def qualifies(incident: Mapping[str, Any], config: Config) -> bool:
    """Whether a resolved incident passes ``[batch]``'s priority, urgency, service and team
    filters."""
    b = config.batch
    services = b.service_ids or (pd.service_ids if (pd := config.get(PagerDutyConfig)) else [])
    raw_service = incident.get("service")
    service: dict[str, Any] = raw_service if isinstance(raw_service, dict) else {}
    teams = {t.get("id") for t in incident.get("teams") or [] if isinstance(t, dict)}
    return (
        (not b.priorities or _name_of(incident.get("priority")) in b.priorities)
        and (not b.urgencies or incident.get("urgency") in b.urgencies)
        and (not services or service.get("id") in services)
        and (not b.team_ids or bool(teams & set(b.team_ids)))
    )


def find_resolved(
    collector: Any, config: Config, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """The qualifying incidents resolved in ``[since, until)``, oldest resolution first."""
    b = config.batch
    services = b.service_ids or (pd.service_ids if (pd := config.get(PagerDutyConfig)) else [])
    params: dict[str, Any] = {"statuses[]": ["resolved"]}
    if services:
        params["service_ids[]"] = services
    if b.team_ids:
        params["team_ids[]"] = b.team_ids
    if b.urgencies:
        params["urgencies[]"] = b.urgencies
    start = since - timedelta(days=b.created_within_days)
    found: dict[str, dict[str, Any]] = {}
    while start < until:
        end = min(until, start + MAX_LISTING_SPAN)
        for inc in collector.list_incidents(Window(start, end), params):
            if isinstance(inc.get("id"), str):
                found.setdefault(inc["id"], inc)
        start = end
    chosen = [
        i
        for i in found.values()
        if (r := resolved_at(i)) is not None and since <= r < until and qualifies(i, config)
    ]
    return sorted(chosen, key=lambda i: (resolved_at(i), i.get("incident_number") or 0))
