"""The demo incident: the template's worked example, seeded into the three sources.

An API outage on 2024-01-15: v2.3.4 shipped at 14:15 with a connection leak, HighErrorRate
fired at 14:32, Jane was paged at 14:33 and acknowledged at 14:35, the rollback brought errors
back to normal at 14:50 and the incident was resolved at 14:57. It also holds what real data
holds: a deploy of another service just before the impact, an alarm that recovered and fired
again, a second alarm, and an unrelated incident of another service that must stay out.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..model import Window
from . import aws
from .pagerduty import PagerDutyStandIn
from .scenario_data import (
    API_SERVICE,
    DAY,
    DEPLOYS,
    JANE,
    JOHN,
    REGION,
    SLACK_CHANNEL,
    SLACK_USERS,
    at,
    pagerduty_incidents,
    pagerduty_log_entries,
    slack_messages,
    slack_ts,
)

__all__ = ["DAY", "JANE", "JOHN", "REGION", "WINDOW", "at", "seed", "seed_slack"]
"""``at`` and the demo's people are used by tests that add to the scenario."""

WINDOW = Window(DAY.replace(hour=14), DAY.replace(hour=15, minute=30))
"""The demo draft's window: 14:00 to 15:30 on the demo day."""


def _stamp(t: datetime) -> str:
    """A time as CloudWatch writes it in an alarm's history data."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


ALB = [{"Name": "LoadBalancer", "Value": "app/api-prod-alb/50dc6c495c0c9188"}]
"""The api service's load balancer: both demo alarms watch it (their dimension names the
service)."""


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
            reason=f"Threshold Crossed: {len(above)} out of the last {len(points)} datapoints "
            f"[{shown}] were greater than the threshold ({threshold}).",
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
            reason="Threshold Crossed: datapoints were not greater than the threshold "
            f"({threshold}).",
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
    """The demo's incidents, then their log entries (which refer to them)."""
    main, other, past = pagerduty_incidents()
    pd.add_incidents([main, other, *past])
    pd.add_log_entries(pagerduty_log_entries(main, other))


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
    slack.messages[channel_id] = slack_messages()
    slack.pins[channel_id] = [slack_ts(at(14, 42, 10))]
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
