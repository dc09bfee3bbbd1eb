"""Scope: which events are a draft's, each alarm's link and reason, and each incident's own rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pmdraft.facts import LinkReason
from pmdraft.model import Event
from pmdraft.timeline import analyse, build_frame
from pmdraft.timeline.correlate import correlate
from pmdraft.timeline.refires import refires
from pmdraft.timeline.scope import apply_catalog, find_scope, incident_mask
from pmdraft.words import link_reason, refire

from ..conftest import utc

T0 = utc(2024, 3, 7, 2)


def t(minute: float):
    return T0 + timedelta(minutes=minute)


@dataclass(frozen=True)
class Service:
    """A catalog entry as config.ServiceConfig gives it."""

    name: str
    pagerduty_service_ids: list[str] = field(default_factory=list)
    deploy_services: list[str] = field(default_factory=list)
    alarm_prefixes: list[str] = field(default_factory=list)
    alarm_tags: dict[str, str] = field(default_factory=dict)


def alarm(minute: float, name: str, new: str, **attrs: str) -> Event:
    kind = "alarm.alarm" if new == "ALARM" else "alarm.ok"
    return Event(
        at=t(minute),
        source="cloudwatch",
        kind=kind,
        ref=f"arn:{name}",
        summary=f"{name} -> {new}",
        attrs={"alarm_name": name, "new_state": new, **attrs},
    )


def page(minute: float, kind: str, number: int, service: str, title: str = "") -> Event:
    return Event(
        at=t(minute),
        source="pagerduty",
        kind=kind,
        ref=f"Q{number}",
        summary=kind,
        service=service,
        actor="someone",
        attrs={"incident_number": number, "incident_title": title},
    )


def deploy(minute: float, service: str) -> Event:
    return Event(
        at=t(minute),
        source="deploys",
        kind="deploy.succeeded",
        ref=service,
        summary=f"{service} deployed",
        service=service,
        attrs={"version": "v1"},
    )


EVENTS = [
    deploy(-5, "checkout"),
    deploy(5, "payments-worker"),
    alarm(1, "checkout-5xx-high", "ALARM"),
    page(2, "incident.triggered", 4711, "checkout", 'ALARM: "checkout-5xx-high"'),
    page(3, "incident.notified", 4711, "checkout"),
    alarm(10, "payments-latency-high", "ALARM"),
    page(10.5, "incident.triggered", 4712, "payments", 'ALARM: "payments-latency-high"'),
    page(11, "incident.notified", 4712, "payments"),
    page(11.5, "incident.acknowledged", 4712, "payments"),
    page(12, "incident.acknowledged", 4711, "checkout"),
    alarm(20, "orders-queue-deep", "ALARM", tags="team=checkout"),
    alarm(30, "orders-queue-deep", "OK"),
    alarm(40, "checkout-5xx-high", "OK"),
    alarm(50, "payments-latency-high", "OK"),
]
CATALOG = [Service("payments", deploy_services=["payments-worker"], alarm_prefixes=["payments-"])]


def frame(events=EVENTS):
    return correlate(build_frame(apply_catalog(events, CATALOG)))


def test_each_alarm_is_linked_with_its_reason_strongest_first() -> None:
    """A paging alarm links to its incident; a tagged one to the tag's service; each says why."""
    scope = find_scope(frame(), CATALOG, incidents=["Q4711"])
    said = {k.alarm: (k.reason, k.in_scope, link_reason(k)) for k in scope.links}
    assert said == {
        "checkout-5xx-high": (LinkReason.PAGED, True, "paged PagerDuty #4711 (title)"),
        "payments-latency-high": (LinkReason.PAGED, False, "paged PagerDuty #4712 (title)"),
        "orders-queue-deep": (
            LinkReason.TAG_OR_DIMENSION,
            True,
            "its tags team=checkout name checkout",
        ),
    }


def test_an_unlinked_alarm_is_out_when_the_incident_has_a_linked_one() -> None:
    """An alarm nothing links stays out of a draft whose incident has a paging alarm, and in without one."""
    lonely = alarm(15, "disk-full", "ALARM")
    linked = find_scope(frame([*EVENTS, lonely]), incidents=["Q4711"])
    assert {k.alarm: k.in_scope for k in linked.links}["disk-full"] is False
    unpaged = [e for e in EVENTS if e.source != "cloudwatch"] + [lonely]
    assert find_scope(frame(unpaged)).mask.all()


def test_the_catalog_maps_deploy_names_and_the_mapped_deploy_is_the_incidents() -> None:
    """payments-worker deploys become payments deploys, in #4712's rows and not in #4711's."""
    f = frame()
    scope = find_scope(f)
    assert scope.incidents == ("Q4711", "Q4712")
    rows = f[incident_mask(f, scope, "Q4712")]
    deploys = rows[rows["kind"] == "deploy.succeeded"]
    assert deploys["service"].tolist() == ["payments"]
    assert deploys["attrs"].iloc[0]["service_as_written"] == "payments-worker"
    mine = f[incident_mask(f, scope, "Q4711")]
    assert mine[mine["kind"] == "deploy.succeeded"]["service"].tolist() == ["checkout"]


def test_an_acknowledgement_pairs_only_with_its_own_incidents_page() -> None:
    """#4711's time to acknowledge runs from its own page, though #4712 was acknowledged first."""
    f = frame()
    scope = find_scope(f)
    checkout = analyse(f[incident_mask(f, scope, "Q4711")].reset_index(drop=True))
    payments = analyse(f[incident_mask(f, scope, "Q4712")].reset_index(drop=True))
    assert checkout.durations["time_to_acknowledge"] == 540
    assert payments.durations["time_to_acknowledge"] == 30
    assert checkout.milestones["mitigated"].at == t(40)


def test_a_service_narrows_the_scope_to_its_incidents() -> None:
    """--service payments keeps #4712 and its alarm, and leaves #4711's out."""
    f = frame()
    scope = find_scope(f, CATALOG, service="payments")
    assert scope.incidents == ("Q4712",) and scope.services == ("payments",)
    kept = set(f[scope.mask]["ref"])
    assert "Q4711" not in kept and "arn:checkout-5xx-high" not in kept
    assert {"Q4712", "arn:payments-latency-high", "payments-worker"} <= kept


def test_an_alarm_back_in_alarm_after_recovering_is_called_out() -> None:
    """A recovery followed by ALARM again is a re-fire, said with the gap and the incident it opened."""
    events = [
        alarm(0, "api-errors", "ALARM"),
        alarm(10, "api-errors", "OK"),
        alarm(16, "api-errors", "ALARM"),
        page(16.5, "incident.triggered", 1740, "api", 'ALARM: "api-errors"'),
        alarm(30, "api-errors", "OK"),
    ]
    found = refires(frame(events))
    assert [refire(r) for r in found] == [
        "api-errors re-fired 6 minutes after recovering (OK at 02:10:00, ALARM again at "
        "02:16:00 UTC); PagerDuty opened #1740"
    ]
