"""PagerDuty's complete history: past the 10,000-record cap, concurrently, within a request budget."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx2
import pytest

from pmdraft.errors import CollectorError
from pmdraft.model import Window
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, incident, log_entry
from pmdraft.sources._rate import RequestBudget
from pmdraft.sources.base import RequestCounter
from pmdraft.sources.pagerduty.client import build_client
from pmdraft.sources.pagerduty.collector import PagerDutyCollector

from ..conftest import TOKEN, utc

T0 = utc(2024, 1, 15, 14)
SPAN = timedelta(seconds=5000)
WINDOW = Window(T0, T0 + SPAN)
PER_SECOND = 5
"""The big window holds 5 log entries a second for 5,000 s: 25,000."""


class FakeClock:
    """A monotonic clock that moves only when slept on (or by ``tick``), recording each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Watch(httpx2.BaseTransport):
    """Wraps the HTTPS transport: counts requests in flight and calls ``after`` with each path."""

    def __init__(
        self, inner: httpx2.BaseTransport, after: Callable[[str], None] = lambda path: None
    ) -> None:
        self.inner, self.after = inner, after
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            response = self.inner.handle_request(request)
            body = response.read()  # the whole exchange counts as in flight, body included
            response.close()
        finally:
            with self.lock:
                self.in_flight -= 1
        self.after(request.url.path)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx2.ByteStream(body),
            request=request,
        )

    def close(self) -> None:
        self.inner.close()


_made: list[PagerDutyCollector] = []


@pytest.fixture(autouse=True)
def close_collectors() -> Iterator[None]:
    """Each collector a test makes is closed after it, as the pipeline would."""
    yield
    while _made:
        _made.pop().close()


def collector(
    pd: PagerDutyStandIn,
    *,
    max_connections: int = 4,
    budget: RequestBudget | None = None,
    sleep: Callable[[float], None] | None = None,
    max_retries: int = 3,
    after: Callable[[str], None] = lambda path: None,
) -> tuple[PagerDutyCollector, Watch]:
    counter = RequestCounter()
    watch = Watch(httpx2.HTTPTransport(verify=ssl.create_default_context(cafile=pd.ca_path)), after)
    client = build_client(
        TOKEN,
        pd.base_url,
        counter,
        max_retries=max_retries,
        max_wait=10.0,
        budget=budget,
        sleep=sleep or FakeClock().sleep,
        inner=watch,
    )
    made = PagerDutyCollector(
        client, counter, margin=timedelta(0), max_connections=max_connections, budget=budget
    )
    _made.append(made)
    return made, watch


def one_incident(pd: PagerDutyStandIn) -> dict:
    inc = incident(
        id="QBIG",
        number=4242,
        title="Notification storm",
        created_at=T0,
        service_id="PSVC1",
        service_name="api",
        resolved_at=T0 + timedelta(seconds=4000),
    )
    pd.add_incidents([inc])
    return inc


def entries(inc: dict, n: int, per_second: int, prefix: str = "L", start=T0) -> list[dict]:
    return [
        log_entry(
            id=f"{prefix}{i:06d}",
            type="notify_log_entry",
            created_at=start + timedelta(seconds=i // per_second),
            incident=inc,
            agent=("service_reference", "PSVC1", "api"),
            user=("PUSER01", "Jane Doe"),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def big() -> Iterator[PagerDutyStandIn]:
    """A stand-in holding one incident with 25,000 log entries, 5 a second, loaded in one call."""
    with PagerDutyStandIn(TOKEN) as server:
        server.add_log_entries(entries(one_incident(server), 25_000, PER_SECOND))
        yield server


@pytest.fixture
def fresh_big(big: PagerDutyStandIn) -> Iterator[PagerDutyStandIn]:
    big.reset_requests()
    yield big
    big.latency = 0.0


def test_25000_entries_come_back_once_in_few_more_requests_than_pages(
    fresh_big: PagerDutyStandIn,
) -> None:
    """A window of 25,000 log entries is split into 3 slices, each entry comes back once, and the report says so.

    Requests: 1 incidents page + 1 probe of the whole window (total 25,000, over the cap) + 84 pages
    for each slice (8,330, 8,335 and 8,335 entries; a slice's first page is its probe) = 254,
    against a floor of 1 + ceil(25,000 / 100) = 251.
    """
    clock = FakeClock()
    c, _ = collector(fresh_big, budget=RequestBudget(900, clock=clock, sleep=clock.sleep))
    events = list(c.collect(WINDOW))
    ids = [e.attrs["log_entry_id"] for e in events]
    assert len(ids) == len(set(ids)) == 25_000
    assert c.requests == len(fresh_big.requests) == 1 + 1 + 3 * 84
    assert c.requests <= 1.1 * (1 + 25_000 / 100) + 1
    probes = [
        r.query["since"][0] + " " + r.query["until"][0]
        for r in fresh_big.requests
        if r.path == "/log_entries" and r.query["offset"] == ["0"]
    ]
    assert probes[0] == "2024-01-15T14:00:00Z 2024-01-15T15:23:20Z"  # the whole window: 25,000
    assert sorted(probes[1:]) == [
        "2024-01-15T14:00:00Z 2024-01-15T14:27:46Z",  # probed concurrently
        "2024-01-15T14:27:46Z 2024-01-15T14:55:33Z",
        "2024-01-15T14:55:33Z 2024-01-15T15:23:20Z",
    ]
    assert (
        max(int(r.query["offset"][0]) + int(r.query["limit"][0]) for r in fresh_big.requests)
        <= 10_000
    )
    assert c.detail == (
        "GET /log_entries held 25,000 records, more than PagerDuty's 10,000-record pagination cap, "
        "so its window was split into 3 time slices"
    )
    assert clock.sleeps == [], "254 requests are under a budget of 900 a minute, so nothing waits"


def test_pages_are_fetched_concurrently_but_never_over_max_connections(
    fresh_big: PagerDutyStandIn,
) -> None:
    """With max_connections = 3, three pages are in flight at once at most, and the result is unchanged."""
    fresh_big.latency = 0.002
    c, watch = collector(fresh_big, max_connections=3)
    events = list(c.collect(WINDOW))
    assert len({e.attrs["log_entry_id"] for e in events}) == len(events) == 25_000
    assert watch.peak == 3
    assert c.requests == 1 + 1 + 3 * 84


def test_a_429_storm_with_retry_after_is_ridden_out(pd: PagerDutyStandIn) -> None:
    """Ten 429s, five on the incidents page and five among concurrent log pages, are waited out as Retry-After asks."""
    pd.add_log_entries(entries(one_incident(pd), 1_000, PER_SECOND))
    pd.inject("/incidents", 429, times=5, headers={"Retry-After": "7"})
    pd.inject("/log_entries", 429, times=5, headers={"Retry-After": "7"})
    clock = FakeClock()
    c, _ = collector(pd, sleep=clock.sleep, max_retries=5)
    events = list(c.collect(WINDOW))
    assert len({e.attrs["log_entry_id"] for e in events}) == 1_000
    assert clock.sleeps == [7.0] * 10
    assert [r.status for r in pd.requests].count(429) == 10
    assert c.requests == 1 + 10 + 10


def test_entries_written_while_the_window_is_read_come_back_once(pd: PagerDutyStandIn) -> None:
    """Entries added mid-read shift the newest-first pages; the slice is read again and nothing is lost or doubled."""
    inc = one_incident(pd)
    pd.add_log_entries(entries(inc, 1_000, PER_SECOND))
    late = entries(
        inc, 30, 1, prefix="N", start=T0 + timedelta(seconds=4000)
    )  # newer than every other entry
    seen: list[str] = []

    def add_after_third_page(path: str) -> None:
        seen.append(path)
        if seen.count("/log_entries") == 3:
            pd.add_log_entries(late)

    c, _ = collector(pd, after=add_after_third_page)
    ids = [e.attrs["log_entry_id"] for e in c.collect(WINDOW)]
    assert len(ids) == len(set(ids)) == 1_030
    assert {f"N{i:06d}" for i in range(30)} <= set(ids)
    assert c.requests == 1 + 10 + 11, "incidents, the first read (1,000), the second read (1,030)"


def test_more_than_the_cap_within_one_second_is_an_error_not_a_truncation(
    pd: PagerDutyStandIn,
) -> None:
    """10,001 entries stamped with the same second cannot be split, so the source fails and says why."""
    pd.add_log_entries(entries(one_incident(pd), 10_001, 10_001, start=T0 + timedelta(seconds=100)))
    c, _ = collector(pd)
    with pytest.raises(
        CollectorError,
        match=r"GET /log_entries holds 10,001 records created between "
        r"2024-01-15T14:01:40Z and 2024-01-15T14:01:41Z, more than PagerDuty's 10,000-record "
        r"pagination cap within one second",
    ):
        list(c.collect(WINDOW))


def test_the_budget_lets_five_through_then_holds_the_sixth_until_the_first_leaves_the_window() -> (
    None
):
    """With 5 requests a minute, one a second, the 6th waits until 60 s after the 1st; the 7th, a second later, goes at once."""
    clock = FakeClock()
    budget = RequestBudget(5, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(7):
        budget.acquire()
        starts.append(clock.now)
        clock.now += 1
    assert starts == [0, 1, 2, 3, 4, 60, 61]
    assert clock.sleeps == [55]
    assert budget.waited == 55


def test_the_budget_is_shared_by_concurrent_requests() -> None:
    """Eight threads at once against a budget of 5: five go now, three wait the full 60 s, none more."""
    clock = FakeClock()
    waits: list[float] = []
    budget = RequestBudget(5, clock=clock, sleep=lambda s: None)
    threads = [threading.Thread(target=lambda: waits.append(budget.acquire())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == [0] * 5 + [60] * 3


def test_a_collector_over_its_budget_waits_and_says_so(pd: PagerDutyStandIn) -> None:
    """Seven requests under a budget of 5 a minute: the 6th is held 60 s (on a fake clock) and the report says so."""
    pd.add_log_entries(entries(one_incident(pd), 600, PER_SECOND))
    clock = FakeClock()
    at: list[float] = []
    c, _ = collector(
        pd,
        budget=RequestBudget(5, clock=clock, sleep=clock.sleep),
        max_connections=1,
        after=lambda path: at.append(clock.now),
    )
    assert len(list(c.collect(WINDOW))) == 600
    assert at == [0, 0, 0, 0, 0, 60, 60]
    assert c.detail == "waited 60 s in all for the request budget (5 requests a minute)"
