"""Synthetic records and events for the local benchmarks: three sources, shaped as they are read.

Deterministic (seeded), so every run times the same work. :func:`records` gives the raw records
as a client holds them after reading the pages: one flat dict per instant (time as ISO 8601
text, the common fields, then the source's own fields), plus the per-object facts read once
(PagerDuty's incidents, CloudWatch's ``DescribeAlarms``) keyed by ref. :func:`to_events` turns
them into :class:`Event` objects as the collectors do (the object's facts, then the entry's own,
as ``attrs``). The records come in delivery order, source after source as ``pipeline.collect``
gathers them (each alarm's and each incident's together, not in time order), so the merge has
real sorting to do. About 1 % are exact duplicates (copies, as overlapping pages would give) so
that the dedupe has work.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pmdraft.model import Attrs, Event, parse_time

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
COMMON = ("at", "source", "kind", "ref", "summary", "service", "actor", "url")
"""The fields every record has; the rest are the source's own (an event's ``attrs``)."""

_STATES = (("OK", "ALARM", "alarm.alarm"), ("ALARM", "OK", "alarm.ok"))
_PD_KINDS = (  # weights: an incident's log is mostly notifications
    ("notify_log_entry", "incident.notified", 40),
    ("assign_log_entry", "incident.assigned", 4),
    ("acknowledge_log_entry", "incident.acknowledged", 1),
    ("annotate_log_entry", "incident.annotated", 1),
    ("escalate_log_entry", "incident.escalated", 1),
)
_USERS = ("Ana Lima", "Bo Chen", "Cy Okafor", "Di Roy", "Ed Park")
_CHANNELS = ("sms", "email", "push_notification", "phone")


@dataclass
class Raw:
    """Raw records in delivery order, and the facts of the objects they belong to, by ref."""

    records: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{at.microsecond // 1000:03d}Z" if at.microsecond else "Z")


def _alarms(raw: Raw, rnd: random.Random, n_cw: int, n_alarm: int, span: float) -> None:
    per_alarm = max(2, n_cw // n_alarm)
    made = 0
    for a in range(n_alarm):
        name = f"svc{a % 40}-HighErrorRate-{a}"
        count = per_alarm if a < n_alarm - 1 else max(2, n_cw - made)
        count -= count % 2  # pairs ALARM then OK, so every alarm recovers by the end
        times = sorted(rnd.uniform(0, span) for _ in range(count))
        arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
        url = (
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            f"#alarmsV2:alarm/{name}"
        )
        raw.objects[arn] = {
            "alarm_name": name,
            "region": "us-east-1",
            "metric": "5XXError",
            "namespace": "AWS/ApiGateway",
            "threshold": 5.0,
            "comparison_operator": "GreaterThanThreshold",
        }
        for k, s in enumerate(times):
            old, new, kind = _STATES[k % 2]
            at = T0 + timedelta(milliseconds=int(s * 1000))  # CloudWatch gives milliseconds
            record: dict[str, Any] = {
                "at": _iso(at),
                "source": "cloudwatch",
                "kind": kind,
                "ref": arn,
                "summary": f"{name} {old} -> {new}",
                "service": None,
                "actor": None,
                "url": url,
                "old_state": old,
                "new_state": new,
                "reason": "Threshold Crossed: 1 datapoint [7.0] was greater than the threshold "
                "(5.0)",
            }
            if kind == "alarm.alarm":
                record["breach_start"] = (at - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
                record["breach_start_rule"] = "earliest evaluated datapoint breaching the threshold"
            raw.records.append(record)
        made += count


def _incidents(raw: Raw, rnd: random.Random, n_pd: int, n_inc: int, span: float) -> None:
    weights = [w for _, _, w in _PD_KINDS]
    per_inc = max(3, n_pd // n_inc)
    made = 0
    for i in range(n_inc):
        ref = f"Q{i:07d}"
        number = 10_000 + i
        start = rnd.uniform(0, max(0.0, span - 7200))
        count = per_inc if i < n_inc - 1 else max(3, n_pd - made)
        raw.objects[ref] = {
            "incident_id": ref,
            "incident_number": number,
            "incident_title": f"High error rate on svc{i % 40}",
            "incident_url": f"https://acme.pagerduty.com/incidents/{ref}",
            "urgency": "high",
            "priority": "P2",
            "status": "resolved",
            "escalation_policy": "Default",
        }
        service = f"svc{i % 40}"
        offsets = sorted(rnd.uniform(1, 3600) for _ in range(count - 2))
        seq = [("trigger_log_entry", "incident.triggered", 0.0)]
        seq += [(*rnd.choices(_PD_KINDS, weights)[0][:2], o) for o in offsets]
        seq.append(("resolve_log_entry", "incident.resolved", 3700.0))
        for k, (etype, kind, off) in enumerate(seq):
            actor = rnd.choice(_USERS)
            entry = f"R{i:07d}{k:05d}"
            record: dict[str, Any] = {
                "at": _iso(T0 + timedelta(seconds=int(start + off))),
                "source": "pagerduty",
                "kind": kind,
                "ref": ref,
                "summary": f"PagerDuty #{number}: {etype}",
                "service": service,
                "actor": actor,
                "url": f"https://acme.pagerduty.com/incidents/{ref}/log_entries/{entry}",
                "log_entry_id": entry,
                "log_entry_type": etype,
                "channel": rnd.choice(_CHANNELS),
            }
            if kind == "incident.notified":
                record["notified_user"] = actor
            elif kind == "incident.annotated":
                record["note"] = "Rolled back the canary; watching the error rate."
            elif kind in ("incident.assigned", "incident.escalated"):
                record["assignees"] = actor
            raw.records.append(record)
        made += count


def _deploys(raw: Raw, rnd: random.Random, n_dep: int, span: float) -> None:
    for d in range(n_dep):
        service = f"svc{d % 40}"
        version = f"v{d // 40}.{d % 7}.{d % 13}"
        kind = ("deploy.started", "deploy.succeeded")[d % 2]
        raw.records.append(
            {
                "at": _iso(T0 + timedelta(seconds=int(rnd.uniform(0, span)))),
                "source": "deploys",
                "kind": kind,
                "ref": f"{service}:{version}:prod",
                "summary": f"{service} {version} deployed to prod",
                "service": service,
                "actor": "ci-bot",
                "url": None,
                "version": version,
                "environment": "prod",
                "status": kind.split(".")[1],
                "description": None,
                "file": "deploys.jsonl",
                "line": d + 1,
            }
        )


def records(
    n: int,
    *,
    seed: int = 7,
    incidents: int | None = None,
    alarms: int | None = None,
    span: timedelta = SPAN,
    deploy_share: float = 0.05,
) -> Raw:
    """``n`` raw records from ``T0`` over ``span``: 40 % alarm transitions, ``deploy_share``
    deploys, the rest PagerDuty log entries (about 200 per incident unless ``incidents`` is
    given); the last 1 % are exact copies of earlier ones."""
    rnd = random.Random(seed)
    n_cw, n_dep = int(n * 0.40), int(n * deploy_share)
    n_pd = n - n_cw - n_dep
    seconds = span.total_seconds()
    raw = Raw()
    _alarms(raw, rnd, n_cw, alarms or max(1, n_cw // 250), seconds)
    _incidents(raw, rnd, n_pd, incidents or max(1, n_pd // 200), seconds)
    _deploys(raw, rnd, n_dep, seconds)
    out = raw.records
    dupes = len(out) // 100  # exact duplicates, as overlapping pages give; the size stays n
    out[len(out) - dupes :] = [dict(r) for r in rnd.sample(out[: len(out) - dupes], dupes)]
    return raw


def to_events(raw: Raw, *, shared: bool = True) -> list[Event]:
    """The records as events, as a collector makes them: the time parsed (aware UTC), and
    ``attrs`` the object's facts (if any) followed by the record's own fields.

    ``shared``: each object's facts are made into one :class:`Attrs` and shared by its events
    (kept once, keyed by ref); otherwise they are copied into every event's attrs."""
    facts: dict[str, Any] = (  # Attrs if shared, else the plain dicts
        {ref: Attrs(f) for ref, f in raw.objects.items()} if shared else raw.objects
    )
    out: list[Event] = []
    add = out.append
    common = frozenset(COMMON)
    for r in raw.records:
        own: Mapping[str, Any] = {k: v for k, v in r.items() if k not in common}
        base = facts.get(r["ref"])
        if base is not None:
            own = Attrs(own, base) if shared else {**base, **own}
        add(
            Event(
                at=parse_time(r["at"]),
                source=r["source"],
                kind=r["kind"],
                ref=r["ref"],
                summary=r["summary"],
                service=r["service"],
                actor=r["actor"],
                url=r["url"],
                attrs=own,
            )
        )
    return out


def events(n: int, **options: Any) -> list[Event]:
    """``n`` events: :func:`records` made into events by :func:`to_events`."""
    return to_events(records(n, **options))
