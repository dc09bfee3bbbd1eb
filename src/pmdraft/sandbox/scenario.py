"""The demo incident: the template's worked example, seeded into the three sources.

An API outage on 2024-01-15: v2.3.4 shipped at 14:15 with a connection leak, HighErrorRate
fired at 14:32, Jane was paged at 14:33 and acknowledged at 14:35, the rollback brought errors
back to normal at 14:50 and the incident was resolved at 14:57. It also holds what real data
holds: a deploy of another service just before the impact, an alarm that recovered and fired
again, a second alarm, and an unrelated incident of another service that must stay out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..model import Window
from . import aws
from .pagerduty import PagerDutyStandIn, incident, log_entry

DAY = datetime(2024, 1, 15, tzinfo=UTC)
WINDOW = Window(DAY.replace(hour=14), DAY.replace(hour=15, minute=30))
REGION = "us-east-1"
API_SERVICE = ("PSVC001", "api")
WEB_SERVICE = ("PSVC002", "web")
JANE = ("PUSER01", "Jane Doe")
JOHN = ("PUSER02", "John Smith")


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    """A time on the demo day, UTC."""
    return DAY.replace(hour=hh, minute=mm, second=ss)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


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


ALB = [{"Name": "LoadBalancer", "Value": "app/api-prod-alb/50dc6c495c0c9188"}]
"""The api service's load balancer: both demo alarms watch it (their dimension names the service)."""


def _alarms(cw: Any) -> None:
    cw.put_metric_alarm(
        AlarmName="HighErrorRate",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmDescription="API 5xx errors above 5 per 10 s",
        Dimensions=ALB,
    )
    cw.put_metric_alarm(
        AlarmName="HighLatencyP99",
        MetricName="TargetResponseTime",
        Namespace="AWS/ApplicationELB",
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.5,
        ComparisonOperator="GreaterThanThreshold",
        AlarmDescription="API p99 latency above 1.5 s",
        Dimensions=ALB,
    )


def _level(
    t: datetime, spans: list[tuple[datetime, datetime, float]], base: float, wobble: float
) -> float:
    """A deterministic metric value at ``t``: ``base`` plus a small wobble, or a span's level."""
    seconds = int((t - DAY).total_seconds())
    jitter = ((seconds * 7919) % 13) / 12 * wobble
    for start, end, level in spans:
        if start <= t < end:
            return round(level + 3 * jitter, 2)
    return round(base + jitter, 2)


def _metrics(cw: Any) -> None:
    """The two alarms' metrics from 13:30 to 16:00 (PutMetricData accepts 2024 timestamps)."""
    errors_high = [(at(14, 32), at(14, 40, 30), 30.0), (at(14, 42), at(14, 49, 30), 20.0)]
    latency_high = [(at(14, 33), at(14, 48), 2.4)]
    start = DAY.replace(hour=13, minute=30)
    errors = [start + timedelta(seconds=10 * i) for i in range(150 * 6)]
    latency = [start + timedelta(minutes=i) for i in range(150)]
    for first in range(0, len(errors), 500):
        cw.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": ALB,
                    "Timestamp": t,
                    "Value": _level(t, errors_high, 0.5, 2.0),
                }
                for t in errors[first : first + 500]
            ],
        )
    cw.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": ALB,
                "Timestamp": t,
                "Value": _level(t, latency_high, 0.35, 0.2),
            }
            for t in latency
        ],
    )


def _history() -> None:
    def fire(
        name: str,
        when: datetime,
        points: list[tuple[datetime, float]],
        threshold: float,
        period: int,
    ) -> None:
        above = [(t, v) for t, v in points if v > threshold]
        shown = ", ".join(f"{v} ({t.strftime('%d/%m/%y %H:%M:%S')})" for t, v in above)
        aws.add_history(
            REGION,
            name,
            when,
            "OK",
            "ALARM",
            reason=f"Threshold Crossed: {len(above)} out of the last {len(points)} datapoints [{shown}] "
            f"were greater than the threshold ({threshold}).",
            reason_data={
                "startDate": _stamp(min(t for t, _ in points)),
                "statistic": "Sum",
                "period": period,
                "threshold": threshold,
                "recentDatapoints": [v for _, v in points],
                "evaluatedDatapoints": [
                    {"timestamp": _stamp(t), "sampleCount": 10.0, "value": v} for t, v in points
                ],
            },
        )

    def recover(name: str, when: datetime, threshold: float) -> None:
        aws.add_history(
            REGION,
            name,
            when,
            "ALARM",
            "OK",
            reason=f"Threshold Crossed: datapoints were not greater than the threshold ({threshold}).",
            reason_data={
                "threshold": threshold,
                "period": 60,
                "statistic": "Sum",
                "recentDatapoints": [1.0],
            },
        )

    # 14:31:50 is evaluated but below the threshold: the breach starts at 14:32:00.
    fire(
        "HighErrorRate",
        at(14, 32, 25),
        [(at(14, 32, 10), 41.0), (at(14, 32, 0), 35.0), (at(14, 31, 50), 1.0)],
        5.0,
        10,
    )
    fire("HighLatencyP99", at(14, 34, 10), [(at(14, 33, 0), 2.8)], 1.5, 60)
    recover("HighErrorRate", at(14, 41, 0), 5.0)
    fire("HighErrorRate", at(14, 42, 30), [(at(14, 42, 10), 22.0), (at(14, 42, 0), 18.0)], 5.0, 10)
    recover("HighLatencyP99", at(14, 48, 30), 1.5)
    recover("HighErrorRate", at(14, 50, 0), 5.0)


def _pagerduty(pd: PagerDutyStandIn) -> None:
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
    pd.add_incidents([main, other, *past])
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
    pd.add_log_entries(entries)


def seed(moto: aws.MotoSandbox, pd: PagerDutyStandIn, workdir: Path, *, token_env: str) -> Path:
    """Seed the stand-ins with the demo incident and write its config; return the config path."""
    _alarms(moto.client("cloudwatch", REGION))
    _metrics(moto.client("cloudwatch", REGION))
    _history()
    _pagerduty(pd)
    deploys = workdir / "deploys.jsonl"
    deploys.write_text("".join(json.dumps(d) + "\n" for d in DEPLOYS), encoding="utf-8")
    config = workdir / "pmdraft.toml"
    config.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f'regions = ["{REGION}"]',
                f'endpoint_url = "{moto.endpoint_url}"',
                "",
                "[pagerduty]",
                f'base_url = "{pd.base_url}"',
                f'ca_bundle = "{pd.ca_path}"',
                f'token_env = "{token_env}"',
                f'service_ids = ["{API_SERVICE[0]}"]',
                "",
                "[[deploys]]",
                'type = "file"',
                'path = "deploys.jsonl"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


SLACK_CHANNEL = ("C0DEMO1234", "inc-1234-api-errors")
"""The demo incident's Slack channel: id and name (found by ``inc-{number}-*`` too)."""
SLACK_USERS = {"U0JANE0001": "Jane Doe", "U0JOHN0002": "John Smith"}


def _ts(when: datetime, n: int = 0) -> str:
    """A Slack message ``ts``: epoch seconds and a per-second sequence, as Slack writes it."""
    return f"{int(when.timestamp())}.{n:06d}"


def _slack_messages() -> list[dict[str, Any]]:
    """What people said in the channel, plus the joins and bot posts pmdraft leaves out."""
    jane, john = "U0JANE0001", "U0JOHN0002"

    def said(when: datetime, user: str, text: str, **extra: Any) -> dict[str, Any]:
        return {"type": "message", "ts": _ts(when), "user": user, "text": text, **extra}

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
            "ts": _ts(at(14, 42, 40)),
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


def seed_slack(slack: Any, config: Path, *, token_env: str) -> None:
    """Seed the Slack stand-in with the demo incident's channel and add ``[slack]`` to ``config``.

    The rollback decision is pinned and the recovery message carries a :pushpin: reaction, so
    both are timeline rows; every person's message goes to the Communication Log.
    """
    from .slack import user

    channel_id, name = SLACK_CHANNEL
    slack.channels[channel_id] = {
        "id": channel_id,
        "name": name,
        "is_private": False,
        "is_member": True,
    }
    slack.messages[channel_id] = _slack_messages()
    slack.pins[channel_id] = [_ts(at(14, 42, 10))]
    for user_id, real_name in SLACK_USERS.items():
        slack.users[user_id] = user(user_id, real_name)
    section = [
        "[slack]",
        f'channels = ["{channel_id}"]',
        f'base_url = "{slack.base_url}"',
        f'token_env = "{token_env}"',
        "",
    ]
    with config.open("a", encoding="utf-8") as handle:
        handle.write("\n" + "\n".join(section))
