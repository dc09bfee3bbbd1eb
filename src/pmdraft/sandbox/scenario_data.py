"""The demo incident's data: its deploys, PagerDuty incidents and log entries, Slack messages.

:mod:`pmdraft.sandbox.scenario` seeds these into the stand-ins; the story they tell is told in
its docstring. Every time is on :data:`DAY`, written with :func:`at`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .pagerduty import incident, log_entry

DAY = datetime(2024, 1, 15, tzinfo=UTC)
REGION = "us-east-1"
API_SERVICE = ("PSVC001", "api")
WEB_SERVICE = ("PSVC002", "web")
JANE = ("PUSER01", "Jane Doe")
JOHN = ("PUSER02", "John Smith")


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    """A time on the demo day, UTC."""
    return DAY.replace(hour=hh, minute=mm, second=ss)


DEPLOYS: list[dict[str, Any]] = [
    {
        "timestamp": "2024-01-14T16:20:00Z",
        "service": "api",
        "version": "v2.3.3",
        "environment": "production",
        "status": "succeeded",
        "actor": "deploy-bot",
        "id": "dep-0998",
        "description": "Routine release",
    },
    {
        "timestamp": "2024-01-15T14:12:30Z",
        "service": "api",
        "version": "v2.3.4",
        "environment": "production",
        "status": "started",
        "actor": "deploy-bot",
        "id": "dep-1001",
        "description": "Caching layer for the user profile endpoint",
    },
    {
        "timestamp": "2024-01-15T14:15:00Z",
        "service": "api",
        "version": "v2.3.4",
        "environment": "production",
        "status": "succeeded",
        "actor": "deploy-bot",
        "id": "dep-1001",
        "description": "Caching layer for the user profile endpoint",
        "url": "https://ci.example.com/deploys/1001",
    },
    {
        "timestamp": "2024-01-15T15:20:00+01:00",
        "service": "web",
        "version": "v8.1.0",
        "environment": "production",
        "status": "succeeded",
        "actor": "deploy-bot",
        "id": "dep-1002",
        "description": "Marketing page copy",
    },
    {
        "timestamp": "2024-01-15T14:45:00Z",
        "service": "api",
        "version": "v2.3.3",
        "environment": "production",
        "status": "started",
        "actor": "Jane Doe",
        "id": "dep-1003",
        "description": "Rollback to v2.3.3",
    },
    {
        "timestamp": "2024-01-15T14:47:00Z",
        "service": "api",
        "version": "v2.3.4",
        "environment": "production",
        "status": "rolled_back",
        "actor": "Jane Doe",
        "id": "dep-1001",
        "description": "Rollback complete",
    },
]


def pagerduty_incidents() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """The demo incident, an unrelated one of another service, and three past incidents."""
    # A data table written as calls, one record each: long by nature, nothing to split.
    main = incident(
        id="Q1DEMO1234",
        number=1234,
        title='ALARM: "HighErrorRate" in US East (N. Virginia)',
        created_at=at(14, 32, 40),
        service_id=API_SERVICE[0],
        service_name=API_SERVICE[1],
        status="resolved",
        urgency="high",
        priority="P1",
        resolved_at=at(14, 57),
        incident_key="arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrorRate",
        escalation_policy=("PESC001", "API on-call"),
    )
    other = incident(
        id="Q1DEMO1235",
        number=1235,
        title="Marketing page slow to render",
        created_at=at(14, 52),
        service_id=WEB_SERVICE[0],
        service_name=WEB_SERVICE[1],
        status="resolved",
        urgency="low",
        resolved_at=at(15, 5),
    )
    # Past incidents: two of the api service, listed under Related Incidents; one of the web
    # service, with nothing in common, which is not (and which the demo's service filter hides).
    past = [
        incident(
            id="Q1DEMO1180",
            number=1180,
            title='ALARM: "HighErrorRate" in US East (N. Virginia)',
            created_at=DAY.replace(month=1, day=2, hour=9, minute=10),
            service_id=API_SERVICE[0],
            service_name=API_SERVICE[1],
            urgency="high",
            priority="P2",
            resolved_at=DAY.replace(month=1, day=2, hour=9, minute=50),
            incident_key="arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrorRate",
        ),
        incident(
            id="Q1DEMO1102",
            number=1102,
            title="API database connection pool exhausted",
            created_at=datetime(2023, 11, 20, 22, 5, tzinfo=UTC),
            service_id=API_SERVICE[0],
            service_name=API_SERVICE[1],
            urgency="high",
            resolved_at=datetime(2023, 11, 20, 23, 10, tzinfo=UTC),
        ),
        incident(
            id="Q1DEMO1150",
            number=1150,
            title="Marketing page images missing",
            created_at=datetime(2023, 12, 12, 10, tzinfo=UTC),
            service_id=WEB_SERVICE[0],
            service_name=WEB_SERVICE[1],
            urgency="low",
            resolved_at=datetime(2023, 12, 12, 10, 30, tzinfo=UTC),
        ),
    ]
    return main, other, past


def pagerduty_log_entries(main: dict[str, Any], other: dict[str, Any]) -> list[dict[str, Any]]:
    """The log entries of ``main`` (paged, acknowledged, escalated, notes, resolved) and
    ``other``."""
    # A data table written as calls, one entry each, in time order: long by nature.
    cloudwatch = ("service_reference", API_SERVICE[0], "api")
    jane = ("user_reference", *JANE)
    john = ("user_reference", *JOHN)
    entries = [
        log_entry(
            id="RLOG01",
            type="trigger_log_entry",
            created_at=at(14, 32, 40),
            incident=main,
            agent=cloudwatch,
            channel={"type": "api"},
            event_details={"description": 'ALARM: "HighErrorRate" in US East (N. Virginia)'},
        ),
        log_entry(
            id="RLOG02",
            type="notify_log_entry",
            created_at=at(14, 33, 5),
            incident=main,
            agent=cloudwatch,
            channel={"type": "push_notification"},
            user=JANE,
        ),
        log_entry(
            id="RLOG03",
            type="notify_log_entry",
            created_at=at(14, 33, 5),
            incident=main,
            agent=cloudwatch,
            channel={"type": "sms"},
            user=JANE,
        ),
        log_entry(
            id="RLOG04",
            type="notify_log_entry",
            created_at=at(14, 33, 6),
            incident=main,
            agent=cloudwatch,
            channel={"type": "email"},
            user=JANE,
        ),
        log_entry(
            id="RLOG05",
            type="acknowledge_log_entry",
            created_at=at(14, 35, 10),
            incident=main,
            agent=jane,
            channel={"type": "mobile"},
        ),
        log_entry(
            id="RLOG06",
            type="escalate_log_entry",
            created_at=at(14, 36, 30),
            incident=main,
            agent=jane,
            channel={"type": "web_ui"},
            assignees=[JOHN],
        ),
        log_entry(
            id="RLOG07",
            type="notify_log_entry",
            created_at=at(14, 36, 32),
            incident=main,
            agent=jane,
            channel={"type": "phone"},
            user=JOHN,
        ),
        log_entry(
            id="RLOG08",
            type="annotate_log_entry",
            created_at=at(14, 38),
            incident=main,
            agent=jane,
            channel={"type": "web_ui"},
            note="Identified: database connection pool at 100%",
        ),
        log_entry(
            id="RLOG09",
            type="annotate_log_entry",
            created_at=at(14, 40),
            incident=main,
            agent=john,
            channel={"type": "web_ui"},
            note="Attempted: killed long-running queries (no effect)",
        ),
        log_entry(
            id="RLOG10",
            type="annotate_log_entry",
            created_at=at(14, 43),
            incident=main,
            agent=jane,
            channel={"type": "web_ui"},
            note="Decision: roll back to v2.3.3",
        ),
        log_entry(
            id="RLOG11",
            type="resolve_log_entry",
            created_at=at(14, 57),
            incident=main,
            agent=jane,
            channel={"type": "web_ui"},
        ),
        log_entry(
            id="RLOG21",
            type="trigger_log_entry",
            created_at=at(14, 52),
            incident=other,
            agent=("service_reference", WEB_SERVICE[0], "web"),
            channel={"type": "api"},
        ),
        log_entry(
            id="RLOG22",
            type="resolve_log_entry",
            created_at=at(15, 5),
            incident=other,
            agent=("service_reference", WEB_SERVICE[0], "web"),
            channel={"type": "timeout"},
        ),
    ]
    return entries


SLACK_CHANNEL = ("C0DEMO1234", "inc-1234-api-errors")
"""The demo incident's Slack channel: id and name (found by ``inc-{number}-*`` too)."""
SLACK_USERS = {"U0JANE0001": "Jane Doe", "U0JOHN0002": "John Smith"}
"""The people in the channel: Slack user id and real name."""


def slack_ts(when: datetime, n: int = 0) -> str:
    """A Slack message ``ts``: epoch seconds and a per-second sequence, as Slack writes it."""
    return f"{int(when.timestamp())}.{n:06d}"


def slack_messages() -> list[dict[str, Any]]:
    """What people said in the channel, plus the joins and bot posts pmdraft leaves out."""
    jane, john = "U0JANE0001", "U0JOHN0002"

    def said(when: datetime, user: str, text: str, **extra: Any) -> dict[str, Any]:
        return {"type": "message", "ts": slack_ts(when), "user": user, "text": text, **extra}

    return [
        {
            **said(at(14, 33, 40), jane, "<@U0JANE0001> has joined the channel"),
            "subtype": "channel_join",
        },
        said(at(14, 34, 2), jane, "Ack'd. <!here> 5xx on the api ALB, looking"),
        said(
            at(14, 36, 45),
            john,
            "Joining. v2.3.4 went out at 14:15; <@U0JANE0001> want me to check the pool settings?",
        ),
        said(
            at(14, 38, 20),
            jane,
            "DB connection pool at 100% since ~14:31, see "
            "<https://grafana.example.com/d/db-pool|the pool dashboard>",
        ),
        said(at(14, 42, 10), jane, "Decision: rolling back api to v2.3.3"),
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0DEPLOYBOT",
            "ts": slack_ts(at(14, 42, 40)),
            "text": "Rollback of api to v2.3.3 started",
        },
        said(
            at(14, 50, 30),
            john,
            "Error rate back under the threshold &amp; latency normal, watching",
            reactions=[{"name": "pushpin", "count": 1, "users": [jane]}],
        ),
        said(at(14, 57, 30), jane, "Resolving in PagerDuty. Thanks all!"),
    ]
