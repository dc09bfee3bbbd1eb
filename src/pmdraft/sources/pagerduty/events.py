"""PagerDuty records as pmdraft's records: log entries and change events as :class:`Event`\\ s,
incidents as :class:`PastIncident`\\ s. Pure functions of the API's JSON; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...model import (
    DEPLOY_FAILED,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_ASSIGNED,
    INCIDENT_ESCALATED,
    INCIDENT_NOTIFIED,
    INCIDENT_OTHER,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_RESOLVED,
    INCIDENT_SNOOZED,
    INCIDENT_TRIGGERED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_URGENCY_CHANGED,
    Attrs,
    Event,
    PastIncident,
    Scalar,
    parse_time_or_none,
)

SOURCE = "pagerduty"
"""The ``source`` of every event made here."""

KIND_BY_TYPE = {
    "trigger_log_entry": INCIDENT_TRIGGERED,
    "notify_log_entry": INCIDENT_NOTIFIED,
    "acknowledge_log_entry": INCIDENT_ACKNOWLEDGED,
    "acknowledgement_log_entry": INCIDENT_ACKNOWLEDGED,
    "unacknowledge_log_entry": INCIDENT_UNACKNOWLEDGED,
    "escalate_log_entry": INCIDENT_ESCALATED,
    "assign_log_entry": INCIDENT_ASSIGNED,
    "annotate_log_entry": INCIDENT_ANNOTATED,
    "priority_change_log_entry": INCIDENT_PRIORITY_CHANGED,
    "urgency_change_log_entry": INCIDENT_URGENCY_CHANGED,
    "snooze_log_entry": INCIDENT_SNOOZED,
    "resolve_log_entry": INCIDENT_RESOLVED,
}
"""A log entry's ``type`` -> event kind; any other type is ``incident.other``."""

CHANGE_KINDS = {
    "started": DEPLOY_STARTED,
    "in_progress": DEPLOY_STARTED,
    "running": DEPLOY_STARTED,
    "succeeded": DEPLOY_SUCCEEDED,
    "success": DEPLOY_SUCCEEDED,
    "passed": DEPLOY_SUCCEEDED,
    "failed": DEPLOY_FAILED,
    "failure": DEPLOY_FAILED,
    "error": DEPLOY_FAILED,
    "rolled_back": DEPLOY_ROLLED_BACK,
    "rollback": DEPLOY_ROLLED_BACK,
}
"""A change event's ``custom_details`` ``status`` (or ``build_state``) -> deploy kind; a change
event without one is a finished change (``deploy.succeeded``): that is what teams send."""


UNTITLED = "(untitled)"
"""What an incident without a title is called in the timeline."""


def ref_name(ref: Any) -> str | None:
    """The display name of a PagerDuty reference (``summary``, else ``name``), or ``None``."""
    if not isinstance(ref, dict):
        return None
    for key in ("summary", "name"):
        if isinstance(ref.get(key), str) and ref[key]:
            return str(ref[key])
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def past_incident(inc: Mapping[str, Any]) -> PastIncident:
    """The one typed form of a PagerDuty incident record (for related incidents and event attrs)."""
    raw = inc.get("service")
    service: dict[str, Any] = raw if isinstance(raw, dict) else {}
    number = inc.get("incident_number")
    return PastIncident(
        id=inc.get("id"),
        number=number if isinstance(number, int) else None,
        title=_text(inc.get("title")) or "",
        url=_text(inc.get("html_url")),
        service_id=service.get("id"),
        service=ref_name(service),
        created_at=_text(inc.get("created_at")),
        resolved_at=_text(inc.get("resolved_at")),
        status=_text(inc.get("status")),
    )


def incident_facts(incident: Mapping[str, Any]) -> Attrs:
    """The facts every event of ``incident`` carries, made once and shared by its events."""
    record = past_incident(incident)
    return Attrs(
        {
            "incident_id": record.id,
            "incident_number": record.number,
            "incident_title": _text(incident.get("title")) or UNTITLED,
            "incident_url": record.url,
            "urgency": _text(incident.get("urgency")),
            "priority": ref_name(incident.get("priority")),
            "status": record.status,
            "escalation_policy": ref_name(incident.get("escalation_policy")),
        }
    )


def log_entry_event(
    entry: Mapping[str, Any], incident: Mapping[str, Any], facts: Attrs | None = None
) -> Event | None:
    """One log entry of ``incident`` as an ``incident.*`` event; ``None`` if its time is bad.

    ``facts``: :func:`incident_facts` of ``incident``, when the caller keeps them per incident.
    """
    at = parse_time_or_none(entry.get("created_at"))
    if at is None:
        return None
    entry_type = _text(entry.get("type")) or ""
    kind = KIND_BY_TYPE.get(entry_type, INCIDENT_OTHER)
    raw_channel = entry.get("channel")
    channel: dict[str, Any] = raw_channel if isinstance(raw_channel, dict) else {}
    facts = incident_facts(incident) if facts is None else facts
    own: dict[str, Scalar] = {
        "log_entry_id": _text(entry.get("id")),
        "log_entry_type": entry_type,
        "channel": _text(channel.get("type")),
    }
    own.update(_kind_attrs(kind, entry, incident, channel))
    number, url = facts["incident_number"], facts["incident_url"]
    label = f"PagerDuty #{number}" if number is not None else "PagerDuty"
    summary = str(
        _text(entry.get("summary")) or entry_type.replace("_log_entry", "").replace("_", " ")
    )
    return Event(
        at=at,
        source=SOURCE,
        kind=kind,
        ref=str(incident.get("id")),
        summary=f"{label}: {summary}",
        service=ref_name(incident.get("service")),
        actor=ref_name(entry.get("agent")),
        url=_text(entry.get("html_url")) or (url if isinstance(url, str) else None),
        attrs=Attrs(own, facts),
    )


def _kind_attrs(
    kind: str, entry: Mapping[str, Any], incident: Mapping[str, Any], channel: Mapping[str, Any]
) -> dict[str, Scalar]:
    """The attrs only some kinds carry: trigger key, notified user, note text, assignees."""
    if kind == INCIDENT_TRIGGERED:
        raw = entry.get("event_details")
        details: dict[str, Any] = raw if isinstance(raw, dict) else {}
        key, description = incident.get("incident_key"), details.get("description")
        return {
            "incident_key": key if isinstance(key, str) else None,
            "event_description": description if isinstance(description, str) else None,
        }
    if kind == INCIDENT_NOTIFIED:
        return {"notified_user": ref_name(entry.get("user"))}
    if kind == INCIDENT_ANNOTATED:
        return {"note": _text(entry.get("note")) or _text(channel.get("summary")) or ""}
    if kind in (INCIDENT_ASSIGNED, INCIDENT_ESCALATED):
        names = [ref_name(a) for a in entry.get("assignees") or []]
        return {"assignees": ", ".join(n for n in names if n)}
    return {}


def change_event(item: Mapping[str, Any], services: Sequence[Mapping[str, Any]]) -> Event | None:
    """One PagerDuty change event as a ``deploy.*`` event, or ``None`` if unusable."""
    at = parse_time_or_none(item.get("timestamp"))
    if at is None or not isinstance(item.get("id"), str):
        return None
    raw = item.get("custom_details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    status = str(details.get("status") or details.get("build_state") or "").lower()
    kind = CHANGE_KINDS.get(status, DEPLOY_SUCCEEDED)
    service = next((name for name in map(ref_name, services) if name), None) or details.get(
        "service"
    )
    service = service if isinstance(service, str) else None
    links = [
        link
        for link in item.get("links") or []
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    ]
    text = str(item.get("summary") or "change event")
    if service and service not in text:
        text += f" ({service})"
    scalar = (str, int, float, bool)
    return Event(
        at=at,
        source=SOURCE,
        kind=kind,
        ref=item["id"],
        summary=text,
        service=service,
        actor=details.get("actor") if isinstance(details.get("actor"), str) else None,
        url=links[0]["href"] if links else None,
        attrs={
            "change_event": True,
            "version": details.get("version")
            if isinstance(details.get("version"), scalar)
            else None,
            "environment": details.get("environment")
            if isinstance(details.get("environment"), str)
            else None,
            "status": status or None,
            "description": str(item.get("summary") or ""),
            "change_source": item.get("source") if isinstance(item.get("source"), str) else None,
        },
    )
