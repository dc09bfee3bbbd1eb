"""A busy month of records, seeded into the sandbox: moto (CloudWatch) and the PagerDuty stand-in.

``Size`` says how many of each; :func:`seed` loads them and writes the config file and deploy
log a run needs. Everything is deterministic, so every run reads the same records.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pmdraft.model import Window
from pmdraft.sandbox import aws
from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, incident, log_entry

MONTH = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))
REGIONS = ("us-east-1", "eu-west-1")
TOKEN_ENV = "PMDRAFT_BENCH_TOKEN"
MARGIN = timedelta(minutes=60)
"""The collector's default incident_margin_minutes."""


@dataclass(frozen=True)
class Size:
    """How many records of each kind a scenario holds."""

    incidents: int
    log_entries: int
    transitions: int
    alarms: int
    """Alarms per region; the transitions are shared out among them."""
    deploys: int

    def times(self, k: int) -> Size:
        return replace(
            self,
            **{
                f: getattr(self, f) * k
                for f in ("incidents", "log_entries", "transitions", "alarms", "deploys")
            },
        )

    def bounds(self) -> dict[str, dict[str, int]]:
        """The fewest requests each stream can take: ceil(records / 100), at least one."""
        per_region = self.transitions // len(REGIONS)
        return {
            "cloudwatch": {
                "DescribeAlarms": len(REGIONS) * max(1, math.ceil(self.alarms / 100)),
                "DescribeAlarmHistory": len(REGIONS) * max(1, math.ceil(per_region / 100)),
            },
            "pagerduty": {
                "GET /incidents": max(1, math.ceil(self.incidents / 100)),
                "GET /log_entries": max(1, math.ceil(self.log_entries / 100)),
            },
        }


MONTH_SIZE = Size(incidents=300, log_entries=30_000, transitions=5_000, alarms=100, deploys=500)
"""The busy month: 200 alarms (100 a region)."""

METRIC_EVERY = timedelta(minutes=10)
"""Each alarm's metric holds a datapoint this often over the window and its margins, and one a
minute in the 10 minutes before each ALARM transition (breaching: the lookback finds them)."""
METRIC_MARGIN = timedelta(hours=2)
"""How far beyond the window the metrics hold data (past the graphs' 30-minute margins)."""


def _entry_type(k: int, count: int) -> str:
    """An incident's k-th log entry: trigger, page-outs and assignments, an acknowledgement, a few
    escalations and notes, resolution."""
    if k == 0:
        return "trigger_log_entry"
    if k == count - 1:
        return "resolve_log_entry"
    if k == 3:
        return "acknowledge_log_entry"
    if k % 25 == 0:
        return "annotate_log_entry"
    if k % 40 == 20:
        return "escalate_log_entry"
    return "assign_log_entry" if k % 6 == 5 else "notify_log_entry"


_USERS = [("PUSER01", "Ana Lima"), ("PUSER02", "Bo Chen"), ("PUSER03", "Cy Okafor")]


def _entry_counts(size: Size) -> list[int]:
    """Entries per incident: alternately half and one and a half times the mean, summing exactly."""
    mean = size.log_entries // size.incidents
    counts = [max(3, mean + (mean // 2 if i % 2 else -(mean // 2))) for i in range(size.incidents)]
    counts[-1] += size.log_entries - sum(counts)
    return counts


def seed_pagerduty(pd: PagerDutyStandIn, size: Size, window: Window = MONTH) -> None:
    span = (window.duration - timedelta(hours=4)).total_seconds()
    incidents, entries = [], []
    for i, count in enumerate(_entry_counts(size)):
        created = window.since + timedelta(hours=1, seconds=int(span * i / size.incidents))
        resolved = created + timedelta(minutes=90)
        inc = incident(
            id=f"QB{i:06d}",
            number=5000 + i,
            title=f"Error rate on svc{i % 12}",
            created_at=created,
            service_id=f"PSVC{i % 12:02d}",
            service_name=f"svc{i % 12}",
            priority="P2",
            resolved_at=resolved,
        )
        incidents.append(inc)
        ana = ("user_reference", *_USERS[i % 3])
        for k in range(count):
            at = created + timedelta(seconds=int(5400 * k / count))
            kind = _entry_type(k, count)
            extra: dict[str, Any] = {}
            if kind == "notify_log_entry":
                extra["user"] = _USERS[k % 3]
            elif kind == "annotate_log_entry":
                extra["note"] = "Rolled back the canary; watching the error rate."
            elif kind in ("assign_log_entry", "escalate_log_entry"):
                extra["assignees"] = [_USERS[k % 3]]
            agent = None if kind in ("trigger_log_entry", "notify_log_entry") else ana
            entries.append(
                log_entry(
                    id=f"RB{i:06d}{k:05d}",
                    type=kind,
                    created_at=at,
                    incident=inc,
                    agent=agent,
                    **extra,
                )
            )
    pd.add_incidents(incidents)
    pd.add_log_entries(entries)


def seed_cloudwatch(moto: MotoSandbox, size: Size, window: Window = MONTH) -> None:
    for region in REGIONS:
        client = moto.client(region=region)
        for a in range(size.alarms):
            client.put_metric_alarm(
                AlarmName=f"svc{a % 12}-HighErrorRate-{a}",
                MetricName="HTTPCode_Target_5XX_Count",
                Namespace="AWS/ApplicationELB",
                Dimensions=[{"Name": "LoadBalancer", "Value": _balancer(a)}],
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=5.0,
                ComparisonOperator="GreaterThanThreshold",
            )
        client.close()
        seed_metrics(region, size, window)
        for a, count in enumerate(_counts(size)):
            name = f"svc{a % 12}-HighErrorRate-{a}"
            for k, at in enumerate(_alarm_times(size, window, a, count)):
                if k % 2 == 0:
                    aws.add_history(
                        region,
                        name,
                        at,
                        "OK",
                        "ALARM",
                        reason="Threshold Crossed: 1 datapoint [9.0]",
                        reason_data={
                            "threshold": 5.0,
                            "evaluatedDatapoints": [
                                {
                                    "timestamp": (at - timedelta(minutes=1)).strftime(
                                        "%Y-%m-%dT%H:%M:%S.000+0000"
                                    ),
                                    "value": 9.0,
                                }
                            ],
                        },
                    )
                else:
                    aws.add_history(
                        region,
                        name,
                        at,
                        "ALARM",
                        "OK",
                        reason="Threshold Crossed: 1 datapoint [1.0]",
                    )


def _balancer(a: int) -> str:
    return f"app/svc{a % 12}-{a}/50dc6c495c0c9188"


def _alarm_times(size: Size, window: Window, a: int, count: int) -> list[datetime]:
    """When alarm ``a``'s ``count`` transitions happen (ALARM at even k, OK at odd k)."""
    span = (window.duration - timedelta(hours=1)).total_seconds()
    return [
        window.since + timedelta(seconds=int(span * (k + a / size.alarms) / count) + 30)
        for k in range(count)
    ]


def _counts(size: Size) -> list[int]:
    """Transitions per alarm of one region."""
    per_region = size.transitions // len(REGIONS)
    per_alarm = max(2, per_region // size.alarms)
    return [per_alarm] * (size.alarms - 1) + [per_region - per_alarm * (size.alarms - 1)]


def seed_metrics(region: str, size: Size, window: Window = MONTH) -> None:
    """Real data in every alarm's metric: a quiet series, breaching before each ALARM."""
    start, end = window.since - METRIC_MARGIN, window.until + METRIC_MARGIN
    quiet = int((end - start) / METRIC_EVERY)
    for a, count in enumerate(_counts(size)):
        points = [(start + METRIC_EVERY * i, 2.0 + (i * 7 + a) % 3) for i in range(quiet)]
        for at in _alarm_times(size, window, a, count)[::2]:
            points += [(at - timedelta(minutes=m), 9.0) for m in range(1, 11)]
        aws.add_metric_data(
            region,
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            points,
            dimensions={"LoadBalancer": _balancer(a)},
        )


def write_deploys(path: Path, size: Size, window: Window = MONTH) -> Path:
    span = window.duration.total_seconds()
    with path.open("w", encoding="utf-8") as out:
        for d in range(size.deploys):
            at = window.since + timedelta(seconds=int(span * d / max(1, size.deploys)))
            out.write(
                json.dumps(
                    {
                        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "service": f"svc{d % 12}",
                        "version": f"v1.{d}.0",
                        "environment": "prod",
                        "status": "succeeded",
                        "actor": "ci-bot",
                        "id": f"deploy-{d}",
                    }
                )
                + "\n"
            )
    return path


class StandInAddress(Protocol):
    """What :func:`write_config` reads of a PagerDuty stand-in, here or in another process."""

    @property
    def base_url(self) -> str: ...
    @property
    def ca_path(self) -> str: ...


def write_config(
    workdir: Path,
    cloudwatch_url: str,
    pd: StandInAddress,
    *,
    graphs: bool = False,
    lookback: bool = True,
) -> Path:
    """The run's config; ``graphs`` turns the metric graphs on (every alarm's metric has data);
    ``lookback=False`` turns the metric lookback off (no GetMetricData at all with no graphs)."""
    name = "pmdraft-graphs" if graphs else "pmdraft" if lookback else "pmdraft-no-lookback"
    path = workdir / f"{name}.toml"
    path.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f"regions = {json.dumps(list(REGIONS))}",
                f'endpoint_url = "{cloudwatch_url}"',
                f"graphs = {'true' if graphs else 'false'}",
                *([] if lookback else ["metric_lookback_minutes = 0"]),
                "",
                "[pagerduty]",
                f'base_url = "{pd.base_url}"',
                f'ca_bundle = "{pd.ca_path}"',
                f'token_env = "{TOKEN_ENV}"',
                # The streams compared with the naive read only: no related-incident listing, no
                # change events.
                "related_lookback_days = 0",
                "change_events = false",
                "",
                "[[deploys]]",
                'type = "file"',
                'path = "deploys.jsonl"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def reset_moto(moto: MotoSandbox) -> None:
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto.endpoint_url}/moto-api/reset", method="POST")
    ).close()
    aws.clear_history()
