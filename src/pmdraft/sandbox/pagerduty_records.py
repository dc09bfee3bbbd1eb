"""The records PagerDuty's REST API v2 returns, built in its documented shapes for the stand-in.

``incident()``, ``log_entry()`` and ``change_event()`` make one record each from a few plain
values, with the fields PagerDuty's own examples carry (checked against them in the tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

_Obj = dict[str, Any]  # a JSON object, as PagerDuty sends it

_API, _WEB = "https://api.pagerduty.com", "https://sandbox.pagerduty.com"
_STATUSES = ("triggered", "acknowledged", "resolved")

_COLLECTIONS = {  # reference type -> (API collection, web app collection)
    "user_reference": ("users", "users"),
    "bot_user_reference": ("users", None),
    "service_reference": ("services", "service-directory"),
    "escalation_policy_reference": ("escalation_policies", "escalation_policies"),
    "priority_reference": ("priorities", None),
    "team_reference": ("teams", "teams"),
}


def _aware_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(
            f"{name} {value.isoformat()} is naive: pass an aware datetime, "
            "e.g. datetime(2024, 1, 15, 14, 32, tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _z(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _reference(kind: str, id_: str, summary: str, service_id: str = "") -> _Obj:
    ref: dict[str, Any] = {"id": id_, "type": kind, "summary": summary}
    if kind.endswith("integration_reference") and service_id:
        ref["self"] = f"{_API}/services/{service_id}/integrations/{id_}"
        ref["html_url"] = f"{_WEB}/services/{service_id}/integrations/{id_}"
        return ref
    api_part, web_part = _COLLECTIONS.get(kind, (None, None))
    ref["self"] = f"{_API}/{api_part}/{id_}" if api_part else None
    if web_part:
        ref["html_url"] = f"{_WEB}/{web_part}/{id_}"
    return ref


# Long by its parameters: one per field of PagerDuty's Incident record, filled in order.
def incident(
    *,
    id: str,
    number: int,
    title: str,
    created_at: datetime,
    service_id: str,
    service_name: str,
    status: str = "resolved",
    urgency: str = "high",
    priority: str | None = None,
    resolved_at: datetime | None = None,
    incident_key: str | None = None,
    escalation_policy: tuple[str, str] = ("PESC001", "Default"),
    assignees: Sequence[tuple[str, str]] = (),
    teams: Sequence[tuple[str, str]] = (),
) -> _Obj:
    """Build a PagerDuty ``Incident`` as ``GET /incidents`` returns it, times in UTC.

    ``assignees`` are ``(user id, name)`` pairs (PagerDuty lists none once resolved); ``teams``
    ``(team id, name)`` pairs;
    ``priority`` is the priority's name, e.g. ``"P1"``; without one it is null, as in PagerDuty.
    """
    if status not in _STATUSES or urgency not in ("high", "low"):
        raise ValueError(
            f"incident {id}: status {status!r} must be one of {', '.join(_STATUSES)}"
            f" and urgency {urgency!r} 'high' or 'low'"
        )
    created = _aware_utc(created_at, f"incident {id} created_at")
    resolved = _aware_utc(resolved_at, f"incident {id} resolved_at") if resolved_at else None
    changed, done = resolved or created, status == "resolved"
    priority_id = "P" + hashlib.sha1(str(priority).encode()).hexdigest()[:6].upper()
    return {
        "id": id,
        "type": "incident",
        "summary": f"[#{number}] {title}",
        "self": f"{_API}/incidents/{id}",
        "html_url": f"{_WEB}/incidents/{id}",
        "incident_number": number,
        "title": title,
        "created_at": _z(created),
        "updated_at": _z(changed),
        "status": status,
        "incident_key": incident_key or hashlib.sha1(id.encode()).hexdigest(),
        "service": _reference("service_reference", service_id, service_name),
        "assignments": []
        if done
        else [
            {"at": _z(created), "assignee": _reference("user_reference", *who)} for who in assignees
        ],
        "assigned_via": "escalation_policy",
        "last_status_change_at": _z(changed),
        "resolved_at": _z(resolved) if resolved else None,
        "alert_counts": {"all": 1, "triggered": int(not done), "resolved": int(done)},
        "is_mergeable": True,
        "incident_type": {"name": "incident_default"},
        "escalation_policy": _reference("escalation_policy_reference", *escalation_policy),
        "teams": [_reference("team_reference", *team) for team in teams],
        "pending_actions": [],
        "acknowledgements": [],
        "priority": _reference("priority_reference", priority_id, priority) if priority else None,
        "urgency": urgency,
    }


# Long by its parameters and the per-type fields PagerDuty's LogEntry shapes carry.
def log_entry(
    *,
    id: str,
    type: str,
    created_at: datetime,
    incident: _Obj,
    agent: tuple[str, str, str] | None = None,
    channel: _Obj | None = None,
    user: tuple[str, str] | None = None,
    note: str | None = None,
    assignees: Sequence[tuple[str, str]] = (),
    event_details: _Obj | None = None,
) -> _Obj:
    """Build a PagerDuty ``LogEntry`` of ``type`` on ``incident`` (a dict from :func:`incident`).

    ``agent`` is ``(reference type, id, name)``; ``user`` the ``(id, name)`` a notify entry
    reached; ``assignees`` ``(id, name)`` pairs for assign and escalate entries. The default
    ``channel`` is PagerDuty's: ``api`` for a trigger by a service or integration, ``web_trigger``
    by a user, ``note`` carrying the text for an annotation (whose text is also ``note``), ``sms``
    for a notification, ``timeout`` for an escalation without agent, else ``website``.
    """
    if not type.endswith("_log_entry") or (type == "annotate_log_entry" and not note):
        raise ValueError(
            f"log entry {id}: type {type!r} must end in '_log_entry', and an "
            "annotate_log_entry needs note= text"
        )
    created = _aware_utc(created_at, f"log entry {id} created_at")
    inc_id, title, service = incident["id"], incident["title"], incident["service"]
    if channel is None:
        by_user = agent is not None and agent[0] == "user_reference"
        channel = {
            "trigger_log_entry": {"type": "web_trigger", "summary": title, "subject": title}
            if by_user
            else {"type": "api"},
            "annotate_log_entry": {"type": "note", "summary": note},
            "notify_log_entry": {"type": "sms"},
        }.get(
            type, {"type": "timeout" if type == "escalate_log_entry" and not agent else "website"}
        )
    who, names = agent[2] if agent else "PagerDuty", ", ".join(name for _, name in assignees)
    medium = str(channel["type"])
    via = {"web_trigger": "website", "api": "API"}.get(medium, medium)
    summary = {
        "trigger_log_entry": f"Triggered through the {via}",
        "annotate_log_entry": "Note added",
        "acknowledge_log_entry": f"Acknowledged by {who}",
        "resolve_log_entry": f"Resolved by {who}",
        "assign_log_entry": f"Assigned to {names}",
        "escalate_log_entry": f"Escalated to {names}",
        "notify_log_entry": f"Notified {user[1] if user else 'a responder'} by {medium}",
    }.get(type, type.removesuffix("_log_entry").replace("_", " ").capitalize())
    entry: dict[str, Any] = {
        "id": id,
        "type": type,
        "summary": summary,
        "self": f"{_API}/log_entries/{id}?incident_id={inc_id}",
        "html_url": f"{_WEB}/incidents/{inc_id}/log_entries/{id}",
        "created_at": _z(created),
    }
    if agent:
        entry["agent"] = _reference(*agent, service_id=service["id"])
    entry.update(
        channel=channel,
        service=service,
        teams=[],
        contexts=[],
        incident={
            "id": inc_id,
            "type": "incident_reference",
            "summary": incident["summary"],
            "self": incident["self"],
            "html_url": incident["html_url"],
        },
    )
    if note is not None:
        entry["note"] = note
    if user:
        entry["user"] = _reference("user_reference", *user)
    if type in ("assign_log_entry", "escalate_log_entry"):
        entry["assignees"] = [_reference("user_reference", *who) for who in assignees]
    if event_details is not None or type == "trigger_log_entry":
        entry["event_details"] = event_details or {"description": title}
    return entry


def change_event(
    *,
    id: str,
    summary: str,
    timestamp: datetime,
    service: tuple[str, str] | None = None,
    source: str = "deploy-pipeline",
    custom_details: _Obj | None = None,
    link: str | None = None,
) -> _Obj:
    """Build a PagerDuty ``ChangeEvent`` as ``GET /change_events`` returns it.

    ``service`` is ``(service id, name)``; ``custom_details`` is free-form (a deploy tool's
    ``version``, ``environment``, ``status``...); ``link`` becomes the first of ``links``.
    """
    when = _aware_utc(timestamp, f"change event {id} timestamp")
    services = [_reference("service_reference", *service)] if service else []
    return {
        "id": id,
        "type": "change_event",
        "summary": summary,
        "timestamp": _z(when),
        "source": source,
        "services": services,
        "integration": {
            "id": "PINT001",
            "type": "inbound_integration_reference",
            "summary": "Change events",
        },
        "routing_key": hashlib.sha1(id.encode()).hexdigest()[:32],
        "custom_details": custom_details or {},
        "links": [{"href": link, "text": "View the deploy"}] if link else [],
        "images": [],
    }
