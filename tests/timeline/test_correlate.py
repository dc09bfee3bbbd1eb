"""One event per signal: which alarm transition a PagerDuty trigger is linked to, and how it reads."""

from __future__ import annotations

from datetime import timedelta

from pmdraft.draft import build_draft
from pmdraft.model import Event, PastIncident, Window
from pmdraft.pipeline import Collected
from pmdraft.render.structured import related_record
from pmdraft.timeline.related import likeness, related, tokens
from pmdraft.words import line_text

from ..conftest import utc

T0 = utc(2024, 3, 4, 9)
WINDOW = Window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))


def alarm(name: str, minutes: float, region: str = "eu-west-1") -> Event:
    return Event(
        at=T0 + timedelta(minutes=minutes),
        source="cloudwatch",
        kind="alarm.alarm",
        ref=f"arn:aws:cloudwatch:{region}:111111111111:alarm:{name}",
        summary=f"{name} OK -> ALARM",
        attrs={"alarm_name": name, "old_state": "OK", "new_state": "ALARM"},
    )


def trigger(
    minutes: float,
    title: str,
    *,
    key: str | None = None,
    body: str | None = None,
    ref: str = "Q1",
    number: int = 7,
) -> Event:
    return Event(
        at=T0 + timedelta(minutes=minutes),
        source="pagerduty",
        kind="incident.triggered",
        ref=ref,
        summary="triggered",
        service="checkout",
        attrs={
            "incident_number": number,
            "incident_title": title,
            "incident_key": key,
            "event_description": body,
        },
    )


def rows(*events: Event) -> list[str]:
    return [line_text(r.line) for r in build_draft(Collected(list(events)), WINDOW).rows]


def links(*events: Event) -> dict[str, tuple[str | None, str | None]]:
    d = build_draft(Collected(list(events)), WINDOW)
    return {
        f"{e.source}@{e.at:%H:%M:%S}": (e.attrs.get("correlation"), e.attrs.get("correlated_by"))
        for e in d.events
    }


def test_an_alarm_named_only_in_the_title_is_linked_to_its_page() -> None:
    """A title naming the alarm as a word links the trigger to that alarm's transition just before it."""
    assert rows(
        alarm("CheckoutLatency", 0), trigger(1, "CheckoutLatency breached on checkout")
    ) == [
        "CloudWatch alarm CheckoutLatency: OK -> ALARM -> paged on-call (PagerDuty #7, triggered 09:01:00)",
    ]
    assert links(alarm("CheckoutLatency", 0), trigger(1, "CheckoutLatency breached"))[
        "cloudwatch@09:00:00"
    ] == ("Q1/CheckoutLatency", "title")


def test_the_alert_body_links_when_the_title_is_generic() -> None:
    """A quoted alarm name in the alert's description links it; another alarm firing then stays apart."""
    found = links(
        alarm("DiskFull", 0),
        alarm("CheckoutErrors", 0.5),
        trigger(2, "Checkout is down", body='ALARM: "CheckoutErrors" in EU (Ireland)'),
    )
    assert found["cloudwatch@09:00:00"] == (None, None)
    assert found["pagerduty@09:02:00"] == ("Q1/CheckoutErrors", "alert body")


def test_a_transition_long_before_the_page_or_already_linked_is_not_linked() -> None:
    """Past LINK_BEFORE (15 min) nothing is linked, and one transition pairs with one trigger only."""
    assert links(alarm("Errors", 0), trigger(16, 'ALARM: "Errors"'))["pagerduty@09:16:00"] == (
        None,
        None,
    )
    found = links(
        alarm("Errors", 0),
        trigger(1, 'ALARM: "Errors"', ref="Q1"),
        trigger(2, 'ALARM: "Errors"', ref="Q2", number=8),
    )
    assert [found["pagerduty@09:01:00"][0], found["pagerduty@09:02:00"][0]] == ["Q1/Errors", None]
    assert (
        rows(alarm("Errors", 0), trigger(16, 'ALARM: "Errors"'))[1]
        == 'PagerDuty #7 triggered on checkout: ALARM: "Errors"'
    )


def test_title_tokens_are_normalised_and_compared_by_jaccard() -> None:
    """CamelCase, case, numbers and boilerplate words do not count; likeness is shared / all tokens."""
    assert tokens('ALARM: "HighErrorRate" in EU 5xx') == {"high", "error", "rate", "eu", "xx"}
    assert likeness(tokens("High error rate"), tokens("HighErrorRate on api")) == 0.75
    past = [
        PastIncident(
            id=f"P{n}",
            number=n,
            title=t,
            service_id=s,
            service=s,
            created_at=f"2024-02-0{n}T10:00:00Z",
            resolved_at=None,
        )
        for n, (t, s) in enumerate(
            [
                ("Disk full", "PB"),
                ("High error rate", "PB"),
                ("Nothing alike", "PA"),
                ("High error rate", "PB"),
            ],
            1,
        )
    ]
    scope = [PastIncident(id="Q1", title="HighErrorRate on api", service_id="PA", service="PA")]
    records = [related_record(r) for r in related(scope, past)]
    assert [(r["number"], r["reasons"], r["duration_seconds"]) for r in records] == [
        (4, "title 75% alike", None),
        (2, "title 75% alike", None),
        (3, "same service (PA)", None),
    ]
