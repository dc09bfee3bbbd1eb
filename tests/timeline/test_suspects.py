"""Ranked suspect changes, the long lookback and rollbacks, as the draft shows them to the writer."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_html, render_json, render_markdown
from pmdraft.timeline.suspects import find_rollback
from pmdraft.words import reasons

from ..conftest import utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))
IMPACT = utc(2024, 1, 15, 14, 30)


def deploy(
    at: datetime,
    ref: str,
    service: str,
    version: str,
    environment: str = "production",
    kind: str = "deploy.succeeded",
) -> Event:
    status = kind.split(".")[1]
    verb = {
        "succeeded": "deployed to",
        "started": "deploy to",
        "rolled_back": "rolled back in",
        "failed": "failed in",
    }[status]
    return Event(
        at=at,
        source="deploys",
        kind=kind,
        ref=ref,
        summary=f"{version} {verb} {environment} ({service})",
        service=service,
        attrs={"version": version, "environment": environment, "status": status},
    )


def alarm(at: datetime, new: str = "ALARM") -> Event:
    return Event(
        at=at,
        source="cloudwatch",
        kind="alarm.alarm" if new == "ALARM" else "alarm.ok",
        ref="arn:Err",
        summary="Err",
        service="api",
        attrs={"alarm_name": "Err", "old_state": "OK", "new_state": new},
    )


def draft(events: list[Event], *, long_lookback: timedelta = timedelta(days=30)):
    collected = Collected(events, [SourceReport("deploys:d.jsonl", "ok", len(events))])
    return build_draft(collected, WINDOW, long_lookback=long_lookback)


def test_a_staged_rollout_outranks_an_unrelated_later_deploy() -> None:
    """The third stage of api v5, two minutes before impact, is lead 1 over web's deploy a minute before impact."""
    d = draft(
        [
            deploy(utc(2024, 1, 15, 12, 0), "r5-canary", "api", "v5", "canary"),
            deploy(utc(2024, 1, 15, 13, 0), "r5-eu", "api", "v5", "eu"),
            deploy(utc(2024, 1, 15, 14, 28), "r5-us", "api", "v5", "us"),
            deploy(utc(2024, 1, 15, 14, 29), "web-9", "web", "v9"),
            alarm(IMPACT),
        ]
    )
    leads = d.suspects.leads
    assert [lead.ref for lead in leads] == ["r5-us", "web-9"]
    assert reasons(leads[0].reasons) == [
        "same service (api)",
        "2 minutes before impact start",
        "stage 3 of a staged rollout (canary, eu, us) lines up with impact; earlier stages went out 2 hours 30 minutes before it",
    ]
    assert d.analysis.milestones["suspect_change"].ref == "r5-us"
    md = render_markdown(d)
    assert "Lead, not a verdict: **v5 deployed to us (api)** at 14:28:00 UTC" in md
    assert "same service (api), 2 minutes before impact start, stage 3 of a staged rollout" in md
    assert "Other suspect changes, ranked (leads for the writer, not verdicts):" in md
    assert "1. **v5" not in md, "the top lead is not listed twice"
    assert (
        "2. **v9 deployed to production (web)** at 2024-01-15 14:29:00 UTC (deploys web-9): no deploy of an affected service"
        in md
    )
    html = render_html(d)
    assert (
        '<ol class="leads" start="2">' in html
        and "<strong>v9 deployed to production (web)</strong>" in html
    )
    data = json.loads(render_json(d))
    assert [lead["ref"] for lead in data["suspects"]["leads"]] == ["r5-us", "web-9"]
    assert data["schema"] == "pmdraft/draft-2" and "milestones" in data


def test_a_failed_deploy_of_the_service_is_flagged() -> None:
    """A deploy of the affected service that later rolled back says so among its reasons."""
    d = draft(
        [
            deploy(utc(2024, 1, 15, 14, 10), "a1", "api", "v2"),
            deploy(utc(2024, 1, 15, 14, 40), "a1", "api", "v2", kind="deploy.rolled_back"),
            alarm(IMPACT),
        ]
    )
    assert "rolled back at 14:40:00 (after impact start)" in reasons(d.suspects.leads[0].reasons)


def test_a_culprit_27_days_back_is_listed_under_the_long_lookback() -> None:
    """api's deploy 27 days before impact is not a lead but is listed under the long lookback, apart from the timeline."""
    culprit = deploy(IMPACT - timedelta(days=27), "api-latent", "api", "v4.0.0")
    d = draft([culprit, deploy(utc(2024, 1, 15, 14, 20), "web-1", "web", "v1"), alarm(IMPACT)])
    assert [lead.ref for lead in d.suspects.leads] == ["web-1"]
    assert [lead.ref for lead in d.suspects.latent] == ["api-latent"]
    assert all(e.ref != "api-latent" for e in d.events), "old deploys stay out of the timeline"
    md = render_markdown(d)
    assert (
        "Long lookback (30 days; a latent bug can ship weeks before it bites), the last deploys of api:\n\n"
        "- 2023-12-19 14:30:00 UTC: v4.0.0 deployed to production (api) (deploys api-latent)"
    ) in md
    assert '<ul class="latent">' in render_html(d)
    data = json.loads(render_json(d))
    assert data["suspects"]["long_lookback"]["deploys"][0]["ref"] == "api-latent"
    assert draft([culprit, alarm(IMPACT)], long_lookback=timedelta(0)).suspects.latent == ()


def test_a_rollback_after_detection_is_the_mitigation_action() -> None:
    """A rollback after the first alert is marked in the timeline and What Went Well says how long it took."""
    d = draft(
        [
            deploy(utc(2024, 1, 15, 14, 15), "d1", "api", "v2.3.4"),
            alarm(IMPACT),
            deploy(utc(2024, 1, 15, 14, 41), "d2", "api", "v2.3.3", kind="deploy.started"),
            deploy(utc(2024, 1, 15, 14, 44), "d2", "api", "v2.3.3"),
            alarm(utc(2024, 1, 15, 14, 50), "OK"),
        ]
    )
    assert d.rollback is not None and d.rollback.at == utc(2024, 1, 15, 14, 44)
    md = render_markdown(d)
    assert "| 14:44:00 | Deploy: v2.3.3 deployed to production (api) _[mitigation action]_ |" in md
    assert (
        "Rollback as mitigation: v2.3.3 deployed to production (api) at 14:44:00 UTC; "
        "the rollback took 14 minutes from the first alert"
    ) in md
    assert (
        "mitigation action: rollback (v2.3.3 deployed to production (api)) at 2024-01-15T14:44:00Z"
        in md
    )


def _rollback_by_the_rule(events: list[Event], detected: datetime) -> Event | None:
    """The rollback rule as written (each deploy against every earlier one): the reference."""
    ordered = sorted(events, key=lambda e: (e.at, e.source, e.kind, e.ref))
    done: list[Event] = []
    begun: list[Event] = []
    for i, e in enumerate(ordered):
        if e.at <= detected:
            continue
        if e.kind == "deploy.rolled_back":
            done.append(e)
            continue
        version = e.attrs.get("version")
        if e.kind not in ("deploy.started", "deploy.succeeded") or not version or not e.service:
            continue
        before = [
            str(p.attrs["version"])
            for p in ordered[:i]
            if p.service == e.service
            and p.kind in ("deploy.started", "deploy.succeeded")
            and p.ref != e.ref
            and p.attrs.get("version")
        ]
        if not before or before[-1] == version:
            continue
        older = [int(x) for x in str(version).split(".")] < [int(x) for x in before[-1].split(".")]
        if version in before or older:
            (done if e.kind == "deploy.succeeded" else begun).append(e)
    found = done or begun
    return found[0] if found else None


def test_the_rollback_found_in_one_pass_is_the_one_the_rule_names() -> None:
    """On many small deploy histories (shared refs, repeated versions, starts and rollbacks), the
    one-pass rollback finder picks exactly the deploy the rule, applied pairwise, picks."""
    rnd = random.Random(17)
    kinds = ("deploy.started", "deploy.succeeded", "deploy.succeeded", "deploy.rolled_back")
    found = 0
    for _ in range(400):
        history = [
            deploy(
                IMPACT + timedelta(minutes=rnd.randint(-30, 30)),
                rnd.choice(("d1", "d2", "d3")),
                rnd.choice(("api", "web")),
                rnd.choice(("1.2", "1.3", "1.10")),
                kind=rnd.choice(kinds),
            )
            for _ in range(rnd.randint(1, 10))
        ]
        expected = _rollback_by_the_rule(history, IMPACT)
        assert find_rollback(history, IMPACT) == expected
        found += expected is not None
    assert found > 100  # the histories do exercise the rule, not only the "no rollback" answer
