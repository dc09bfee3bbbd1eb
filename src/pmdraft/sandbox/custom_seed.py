"""A checked :class:`~.custom.Scenario` seeded into the running stand-ins, and its config.

Ids the stand-ins need and the file does not give (PagerDuty's incident, service and user ids,
Slack's channel and user ids) are made from the names, so the same file gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from . import aws
from .custom import Scenario
from .pagerduty import PagerDutyStandIn, incident, log_entry

_LOG_TYPES = {
    "trigger": "trigger_log_entry",
    "notify": "notify_log_entry",
    "acknowledge": "acknowledge_log_entry",
    "note": "annotate_log_entry",
    "resolve": "resolve_log_entry",
}


def made_id(prefix: str, name: str, length: int = 6) -> str:
    """A stable id for ``name``: ``prefix`` and upper-case hex (``PSVC1A2B3C``)."""
    return prefix + hashlib.sha1(name.encode()).hexdigest()[:length].upper()


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _reason(alarm: dict[str, Any], entry: dict[str, Any]) -> str:
    if entry["reason"]:
        return str(entry["reason"])
    values = [p["value"] for p in entry["datapoints"]]
    shown = f" [{', '.join(f'{v:g}' for v in values)}]" if values else ""
    crossed = "crossed" if entry["state"] == "ALARM" else "did not cross"
    return (
        f"Threshold Crossed: {len(values)} datapoint{'s' if len(values) != 1 else ''}{shown} "
        f"{crossed} the threshold ({alarm['threshold']:g})."
    )


def seed_alarms(moto: aws.MotoSandbox, alarms: list[dict[str, Any]]) -> None:
    """Create each alarm in its region, its metric series, and its state history."""
    for alarm in alarms:
        cw = moto.client("cloudwatch", alarm["region"])
        stat = alarm["statistic"]
        cw.put_metric_alarm(
            AlarmName=alarm["name"],
            MetricName=alarm["metric"],
            Namespace=alarm["namespace"],
            **({"ExtendedStatistic": stat} if stat.startswith("p") else {"Statistic": stat}),
            Period=alarm["period"],
            EvaluationPeriods=1,
            Threshold=alarm["threshold"],
            ComparisonOperator=alarm["comparison"],
            AlarmDescription=alarm["description"],
        )
        series = alarm["series"]
        for first in range(0, len(series), 500):
            cw.put_metric_data(
                Namespace=alarm["namespace"],
                MetricData=[
                    {"MetricName": alarm["metric"], "Timestamp": p["at"], "Value": p["value"]}
                    for p in series[first : first + 500]
                ],
            )
        cw.close()
        old = "OK" if alarm["history"][0]["state"] != "OK" else "INSUFFICIENT_DATA"
        for entry in alarm["history"]:
            points = entry["datapoints"]
            data: dict[str, Any] = {
                "threshold": alarm["threshold"],
                "period": alarm["period"],
                "statistic": stat,
                "recentDatapoints": [p["value"] for p in points],
            }
            if points:
                data["startDate"] = _stamp(min(p["at"] for p in points))
                data["evaluatedDatapoints"] = [
                    {"timestamp": _stamp(p["at"]), "sampleCount": 1.0, "value": p["value"]}
                    for p in sorted(points, key=lambda p: p["at"], reverse=True)
                ]
            aws.add_history(
                alarm["region"],
                alarm["name"],
                entry["at"],
                old,
                entry["state"],
                reason=_reason(alarm, entry),
                reason_data=data,
            )
            old = entry["state"]


def _log(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's log, with the trigger and resolve PagerDuty always has added if missing."""
    log = list(record["log"])
    types = {e["type"] for e in log}
    if "trigger" not in types:
        log.insert(0, {"type": "trigger", "at": record["created"], "who": "", "text": ""})
    if record["resolved"] and "resolve" not in types:
        log.append({"type": "resolve", "at": record["resolved"], "who": "", "text": ""})
    return sorted(log, key=lambda e: e["at"])


def seed_incidents(pd: PagerDutyStandIn, incidents: list[dict[str, Any]]) -> list[str]:
    """Load the incidents and their logs; return the services' ids."""
    made, entries, services = [], [], {}
    for record in incidents:
        service = (made_id("PSVC", record["service"]), record["service"])
        services[service[0]] = service[1]
        log = _log(record)
        types = {e["type"] for e in log}
        status = "resolved" if record["resolved"] else "triggered"
        if status == "triggered" and "acknowledge" in types:
            status = "acknowledged"
        inc = incident(
            id=f"QSBX{record['number']}",
            number=record["number"],
            title=record["title"],
            created_at=record["created"],
            service_id=service[0],
            service_name=service[1],
            status=status,
            urgency=record["urgency"],
            priority=record["priority"],
            resolved_at=record["resolved"],
        )
        made.append(inc)
        for n, entry in enumerate(log):
            entries.append(_entry(inc, service, entry, f"RSBX{record['number']}{n:03d}"))
    pd.add_incidents(made)
    pd.add_log_entries(entries)
    return list(services)


def _entry(
    inc: dict[str, Any], service: tuple[str, str], entry: dict[str, Any], entry_id: str
) -> dict[str, Any]:
    who = entry["who"]
    person = (made_id("PU", who, 5), who) if who else None
    by_service = ("service_reference", *service)
    agent = ("user_reference", *person) if person else by_service
    kind = _LOG_TYPES[entry["type"]]
    if kind == "notify_log_entry":
        return log_entry(
            id=entry_id,
            type=kind,
            created_at=entry["at"],
            incident=inc,
            agent=by_service,
            user=person,
        )
    return log_entry(
        id=entry_id,
        type=kind,
        created_at=entry["at"],
        incident=inc,
        agent=agent,
        note=(entry["text"] or None) if kind == "annotate_log_entry" else None,
    )


def write_deploys(path: Path, deploys: list[dict[str, Any]]) -> Path:
    """The deploys as the JSON Lines deploy log pmdraft's ``file`` source reads."""
    lines = []
    for d in sorted(deploys, key=lambda d: d["at"]):
        record = {"timestamp": d["at"].isoformat().replace("+00:00", "Z")}
        record.update({k: v for k, v in d.items() if k != "at" and v not in ("", None)})
        lines.append(json.dumps(record) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def seed_slack(slack: Any, channel: dict[str, Any]) -> str:
    """Load the channel, its people and pins into the Slack stand-in; return its id."""
    from .slack import user

    channel_id = made_id("C0SBX", channel["channel"])
    slack.channels[channel_id] = {
        "id": channel_id,
        "name": channel["channel"],
        "is_private": False,
        "is_member": True,
    }
    messages: list[dict[str, Any]] = []
    pins: list[str] = []
    seen: dict[int, int] = {}
    for message in sorted(channel["messages"], key=lambda m: m["at"]):
        second = int(message["at"].timestamp())
        seen[second] = seen.get(second, -1) + 1
        ts = f"{second}.{seen[second]:06d}"
        author = made_id("U0SBX", message["who"])
        slack.users[author] = user(author, message["who"])
        said: dict[str, Any] = {
            "type": "message",
            "ts": ts,
            "user": author,
            "text": message["text"],
        }
        if message["reactions"]:
            said["reactions"] = [
                {"name": name.strip(":"), "count": 1, "users": [author]}
                for name in message["reactions"]
            ]
        messages.append(said)
        if message["pinned"]:
            pins.append(ts)
    slack.messages[channel_id] = messages
    slack.pins[channel_id] = pins
    return channel_id


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings and lists are TOML's too."""
    return json.dumps(value)


def seed(sandbox: Any, scenario: Scenario, *, token_env: str, slack_token_env: str) -> Path:
    """Seed a started :class:`~pmdraft.sandbox.Sandbox`; write and return its config's path."""
    seed_alarms(sandbox.moto, scenario.alarms)
    services = seed_incidents(sandbox.pagerduty, scenario.incidents)
    deploys = write_deploys(sandbox.workdir / "deploys.jsonl", scenario.deploys)
    regions = sorted({a["region"] for a in scenario.alarms}) or ["us-east-1"]
    lines = [
        "[cloudwatch]",
        f"regions = {_toml(regions)}",
        f"endpoint_url = {_toml(sandbox.moto.endpoint_url)}",
        "",
        "[pagerduty]",
        f"base_url = {_toml(sandbox.pagerduty.base_url)}",
        f"ca_bundle = {_toml(sandbox.pagerduty.ca_path)}",
        f"token_env = {_toml(token_env)}",
        f"service_ids = {_toml(services)}",
        "",
        "[[deploys]]",
        'type = "file"',
        f"path = {_toml(str(deploys))}",
        "",
    ]
    if scenario.slack is not None:
        channel = seed_slack(sandbox.slack, scenario.slack)
        lines += [
            "[slack]",
            f"channels = {_toml([channel])}",
            f"base_url = {_toml(sandbox.slack.base_url)}",
            f"token_env = {_toml(slack_token_env)}",
            "",
        ]
    config: Path = sandbox.workdir / "pmdraft.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config
