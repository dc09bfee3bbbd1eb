"""Synthetic events for the local benchmarks: three sources, shaped as the collectors make them.

Deterministic (seeded), so every run times the same work. The events come in delivery order,
source after source as ``pipeline.collect`` gathers them (each alarm's and each incident's
events together, not in time order), so the merge has real sorting to do. About 1 % are exact
duplicates (new objects, as overlapping pages would give) so that the dedupe has work.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pmdraft.model import Event

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)

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


def events(
    n: int,
    *,
    seed: int = 7,
    incidents: int | None = None,
    alarms: int | None = None,
    span: timedelta = SPAN,
    deploy_share: float = 0.05,
) -> list[Event]:
    """``n`` events from ``T0`` over ``span``: 40 % alarm transitions, ``deploy_share`` deploys,
    the rest PagerDuty log entries (about 200 per incident unless ``incidents`` is given)."""
    rnd = random.Random(seed)
    n_cw, n_dep = int(n * 0.40), int(n * deploy_share)
    n_pd = n - n_cw - n_dep
    n_inc = incidents or max(1, n_pd // 200)
    n_alarm = alarms or max(1, n_cw // 250)
    span = span.total_seconds()
    out: list[Event] = []

    alarm_names = [f"svc{i % 40}-HighErrorRate-{i}" for i in range(n_alarm)]
    per_alarm = max(2, n_cw // n_alarm)
    made = 0
    for a, name in enumerate(alarm_names):
        count = per_alarm if a < n_alarm - 1 else max(2, n_cw - made)
        count -= count % 2  # pairs ALARM then OK, so every alarm recovers by the end
        times = sorted(rnd.uniform(0, span) for _ in range(count))
        arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
        url = f"https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/{name}"
        for k, s in enumerate(times):
            old, new, kind = _STATES[k % 2]
            at = T0 + timedelta(milliseconds=int(s * 1000))  # CloudWatch gives milliseconds
            attrs = {
                "alarm_name": name,
                "region": "us-east-1",
                "old_state": old,
                "new_state": new,
                "reason": "Threshold Crossed: 1 datapoint [7.0] was greater than the threshold "
                "(5.0)",
                "metric": "5XXError",
                "namespace": "AWS/ApiGateway",
                "threshold": 5.0,
                "comparison_operator": "GreaterThanThreshold",
            }
            if kind == "alarm.alarm":
                attrs["breach_start"] = (at - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
                attrs["breach_start_rule"] = "earliest evaluated datapoint breaching the threshold"
            out.append(
                Event(
                    at=at,
                    source="cloudwatch",
                    kind=kind,
                    ref=arn,
                    summary=f"{name} {old} -> {new}",
                    url=url,
                    attrs=attrs,
                )
            )
        made += count

    weights = [w for _, _, w in _PD_KINDS]
    per_inc = max(3, n_pd // n_inc)
    made = 0
    for i in range(n_inc):
        ref = f"Q{i:07d}"
        number = 10_000 + i
        start = rnd.uniform(0, max(0.0, span - 7200))
        count = per_inc if i < n_inc - 1 else max(3, n_pd - made)
        base = {
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
            attrs = dict(
                base,
                log_entry_id=f"R{i:07d}{k:05d}",
                log_entry_type=etype,
                channel=rnd.choice(_CHANNELS),
            )
            actor = rnd.choice(_USERS)
            if kind == "incident.notified":
                attrs["notified_user"] = actor
            elif kind == "incident.annotated":
                attrs["note"] = "Rolled back the canary; watching the error rate."
            elif kind in ("incident.assigned", "incident.escalated"):
                attrs["assignees"] = actor
            out.append(
                Event(
                    at=T0 + timedelta(seconds=int(start + off)),
                    source="pagerduty",
                    kind=kind,
                    ref=ref,
                    summary=f"PagerDuty #{number}: {etype}",
                    service=service,
                    actor=actor,
                    url=f"https://acme.pagerduty.com/incidents/{ref}/log_entries/R{i:07d}{k:05d}",
                    attrs=attrs,
                )
            )
        made += count

    for d in range(n_dep):
        service = f"svc{d % 40}"
        version = f"v{d // 40}.{d % 7}.{d % 13}"
        kind = ("deploy.started", "deploy.succeeded")[d % 2]
        out.append(
            Event(
                at=T0 + timedelta(seconds=int(rnd.uniform(0, span))),
                source="deploys",
                kind=kind,
                ref=f"{service}:{version}:prod",
                summary=f"{service} {version} deployed to prod",
                service=service,
                actor="ci-bot",
                attrs={
                    "version": version,
                    "environment": "prod",
                    "status": kind.split(".")[1],
                    "description": None,
                    "file": "deploys.jsonl",
                    "line": d + 1,
                },
            )
        )

    dupes = len(out) // 100  # exact duplicates, as overlapping pages give; the size stays n
    out[len(out) - dupes :] = [
        Event(
            at=e.at,
            source=e.source,
            kind=e.kind,
            ref=e.ref,
            summary=e.summary,
            service=e.service,
            actor=e.actor,
            url=e.url,
            attrs=e.attrs,
        )
        for e in rnd.sample(out[: len(out) - dupes], dupes)
    ]
    return out
