"""PagerDuty through the official client over HTTPS against the stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pmdraft.errors import CollectorError
from pmdraft.model import Window
from pmdraft.sandbox.pagerduty import incident, log_entry
from pmdraft.sources.base import RequestCounter
from pmdraft.sources.pagerduty.api import PagerDutyApi
from pmdraft.sources.pagerduty.changes import ChangeEventsCollector
from pmdraft.sources.pagerduty.client import build_client
from pmdraft.sources.pagerduty.collector import PagerDutyCollector

from ..conftest import TOKEN, utc

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(hours=2))
JANE = ("user_reference", "PUSER01", "Jane Doe")


_made: list[PagerDutyCollector] = []


@pytest.fixture(autouse=True)
def close_collectors():
    """Each collector a test makes is closed after it, as the pipeline would."""
    yield
    while _made:
        _made.pop().close()


def collector(pd, token: str = TOKEN, **kw) -> PagerDutyCollector:
    counter = RequestCounter()
    client = build_client(
        token,
        pd.base_url,
        counter,
        ca_bundle=pd.ca_path,
        max_retries=kw.pop("max_retries", 3),
        max_wait=kw.pop("max_wait", 5.0),
    )
    made = PagerDutyCollector(client, counter, **kw)
    _made.append(made)
    return made


def changes_collector(pd, **kw) -> ChangeEventsCollector:
    """The change events' collector over its own client, as ``build`` makes it."""
    counter = RequestCounter()
    client = build_client(TOKEN, pd.base_url, counter, ca_bundle=pd.ca_path, max_retries=3)
    made = ChangeEventsCollector(PagerDutyApi(client), counter, **kw)
    _made.append(made)  # type: ignore[arg-type]
    return made


def seed(
    pd, n_incidents: int = 3, entries_per_incident: int = 3, service: str = "PSVC1"
) -> list[dict]:
    incidents = [
        incident(
            id=f"QINC{i:04d}",
            number=1000 + i,
            title=f"Incident {i}",
            created_at=T0 + timedelta(seconds=20 * i),
            service_id=service,
            service_name="api",
            priority="P2",
            urgency="high",
            resolved_at=T0 + timedelta(minutes=90),
        )
        for i in range(n_incidents)
    ]
    pd.add_incidents(incidents)
    kinds = ["trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"]
    pd.add_log_entries(
        [
            log_entry(
                id=f"L{i:04d}{k}",
                type=kinds[k % 3],
                created_at=T0 + timedelta(seconds=20 * i + 5 * k),
                incident=inc,
                agent=JANE,
                channel={"type": "web_ui"},
            )
            for i, inc in enumerate(incidents)
            for k in range(entries_per_incident)
        ]
    )
    return incidents


def test_incidents_and_log_entries_are_paged_in_one_stream_each(pd) -> None:
    """150 incidents and 450 log entries take 2 + 5 requests, not one call per incident."""
    seed(pd, n_incidents=150)
    c = collector(pd)
    events = list(c.collect(WINDOW))
    assert len(events) == 450
    assert c.requests == 7
    paths = [r.path for r in pd.requests]
    assert paths.count("/incidents") == 2 and paths.count("/log_entries") == 5
    assert all(r.query.get("time_zone") == ["UTC"] for r in pd.requests)
    assert {e.kind for e in events} == {
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
    }
    e = next(e for e in events if e.kind == "incident.acknowledged" and e.ref == "QINC0003")
    assert e.at == T0 + timedelta(seconds=65)
    assert (
        e.actor,
        e.service,
        e.attrs["incident_number"],
        e.attrs["priority"],
        e.attrs["urgency"],
    ) == ("Jane Doe", "api", 1003, "P2", "high")


def test_entries_of_out_of_scope_incidents_are_dropped(pd) -> None:
    """With service_ids, another service's incident and its log entries stay out."""
    seed(pd, n_incidents=2, service="PSVC1")
    other = incident(
        id="QOTHER", number=9, title="Other", created_at=T0, service_id="PSVC2", service_name="web"
    )
    pd.add_incidents([other])
    pd.add_log_entries(
        [
            log_entry(
                id="LOTHER", type="trigger_log_entry", created_at=T0, incident=other, agent=JANE
            )
        ]
    )
    events = list(collector(pd, service_ids=["PSVC1"]).collect(WINDOW))
    assert {e.ref for e in events} == {"QINC0000", "QINC0001"}
    assert pd.requests[0].query["service_ids[]"] == ["PSVC1"]


def test_every_log_entry_type_maps_to_its_kind(pd) -> None:
    """Both acknowledge spellings, notes with their text, notifications with user and channel."""
    [inc] = seed(pd, n_incidents=1, entries_per_incident=0)
    types = {
        "notify_log_entry": "incident.notified",
        "acknowledgement_log_entry": "incident.acknowledged",
        "annotate_log_entry": "incident.annotated",
        "escalate_log_entry": "incident.escalated",
        "assign_log_entry": "incident.assigned",
        "unacknowledge_log_entry": "incident.unacknowledged",
        "snooze_log_entry": "incident.snoozed",
        "urgency_change_log_entry": "incident.urgency_changed",
        "delegate_log_entry": "incident.other",
    }
    pd.add_log_entries(
        [
            log_entry(
                id=f"LT{i}",
                type=t,
                created_at=T0 + timedelta(minutes=i),
                incident=inc,
                agent=JANE,
                channel={"type": "sms"},
                user=("PUSER02", "John Smith") if t == "notify_log_entry" else None,
                note="pool at 100%" if t == "annotate_log_entry" else None,
                assignees=[("PUSER02", "John Smith")]
                if t in ("escalate_log_entry", "assign_log_entry")
                else [],
            )
            for i, t in enumerate(types)
        ]
    )
    events = {e.attrs["log_entry_type"]: e for e in collector(pd).collect(WINDOW)}
    assert {t: e.kind for t, e in events.items()} == types
    assert events["annotate_log_entry"].attrs["note"] == "pool at 100%"
    assert (
        events["notify_log_entry"].attrs["notified_user"],
        events["notify_log_entry"].attrs["channel"],
    ) == ("John Smith", "sms")
    assert events["escalate_log_entry"].attrs["assignees"] == "John Smith"


def test_a_429_with_retry_after_is_ridden_out(pd) -> None:
    """A 429 carrying Retry-After is waited out and retried; nothing is lost and the retry is counted."""
    seed(pd, n_incidents=3)
    pd.inject("/log_entries", 429, times=2, headers={"Retry-After": "0.2"})
    c = collector(pd)
    events = list(c.collect(WINDOW))
    assert len(events) == 9
    assert [r.status for r in pd.requests] == [200, 429, 429, 200]
    assert c.requests == 4


def test_a_429_storm_past_the_bound_is_an_error_not_a_hang(pd) -> None:
    """More 429s than max_retries give a CollectorError naming the endpoint and the status."""
    seed(pd)
    pd.inject("/incidents", 429, times=10, headers={"Retry-After": "0"})
    c = collector(pd, max_retries=2)
    with pytest.raises(
        CollectorError, match=r"pagerduty: GET /incidents failed: 429 after 3 attempts"
    ):
        list(c.collect(WINDOW))
    assert len(pd.requests) == 3


def test_a_server_asking_to_wait_too_long_fails_at_once(pd) -> None:
    """A Retry-After longer than max_retry_wait_seconds is reported instead of waited for."""
    seed(pd)
    pd.inject("/incidents", 429, headers={"Retry-After": "120"})
    with pytest.raises(
        CollectorError, match=r"asked to wait 120 s, more than max_retry_wait_seconds=5"
    ):
        list(collector(pd).collect(WINDOW))


def test_wrong_token_is_explained_without_the_token(pd) -> None:
    """A 401 says what to check and never repeats the token."""
    seed(pd)
    with pytest.raises(CollectorError) as err:
        list(collector(pd, token="wrong-token-value-123").collect(WINDOW))
    assert "401 Unauthorized" in str(err.value) and "api.eu.pagerduty.com" in str(err.value)
    assert "wrong-token-value-123" not in str(err.value) and "-123" not in str(err.value)


def test_more_than_the_offset_cap_is_read_in_time_slices(pd) -> None:
    """Past PagerDuty's 10,000-record pagination cap the window is split, every entry comes back, and the report says so."""
    [inc] = seed(pd, n_incidents=1, entries_per_incident=0)
    pd.add_log_entries(
        [
            log_entry(
                id=f"LC{i:05d}",
                type="notify_log_entry",
                created_at=T0 + timedelta(milliseconds=500 * i),
                incident=inc,
                agent=JANE,
                user=("PUSER01", "Jane Doe"),
                channel={"type": "sms"},
            )
            for i in range(10_050)
        ]
    )
    c = collector(pd)
    events = list(c.collect(WINDOW))
    assert len(events) == len({e.attrs["log_entry_id"] for e in events}) == 10_050
    assert c.detail == (
        "GET /log_entries held 10,050 records, more than PagerDuty's 10,000-record pagination cap, "
        "so its window was split into 2 time slices"
    )


def test_related_incidents_come_back_as_typed_records(pd) -> None:
    """With a lookback, extras() holds the in-scope incident and an earlier one as PastIncident records."""
    seed(pd, n_incidents=1)
    earlier = incident(
        id="QPAST",
        number=900,
        title="Earlier outage",
        created_at=T0 - timedelta(days=3),
        service_id="PSVC1",
        service_name="api",
        resolved_at=T0 - timedelta(days=3) + timedelta(minutes=30),
    )
    pd.add_incidents([earlier])
    c = collector(pd, related_lookback=timedelta(days=7))
    list(c.collect(WINDOW))
    related = c.extras().related
    assert related is not None and related.error is None and related.lookback_days == 7
    assert [(i.id, i.number, i.title, i.service) for i in related.scope] == [
        ("QINC0000", 1000, "Incident 0", "api")
    ]
    assert [(i.id, i.number, i.title, i.service_id) for i in related.candidates] == [
        ("QPAST", 900, "Earlier outage", "PSVC1")
    ]
    assert c.extras().series == ()
