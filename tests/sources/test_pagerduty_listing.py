"""PagerDuty listings PagerDuty may answer without ``total``, or with the official example's
endless ``more``: read completely where possible, and any shortfall said in the source's detail."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from pmdraft.model import Window, parse_time
from pmdraft.sources.pagerduty.listing import OffsetPager, pooled_iter, pooled_map, whole_seconds

from ..conftest import utc
from .test_pagerduty import WINDOW, collector, seed

T0 = utc(2024, 1, 15, 14)


def test_a_listing_without_total_is_read_by_following_more(pd) -> None:
    """150 incidents and 450 log entries without any ``total``: every event, no remark."""
    pd.listing_total = False
    seed(pd, n_incidents=150)
    c = collector(pd)
    events = list(c.collect(WINDOW))
    assert len(events) == 450
    assert len({(e.ref, e.kind) for e in events}) == 450
    assert c.detail is None
    offsets = [r.query["offset"] for r in pd.requests if r.path == "/log_entries"]
    assert offsets == [["0"], ["100"], ["200"], ["300"], ["400"]]


def test_the_official_example_repeating_forever_ends_with_a_note(pd) -> None:
    """``limit: 1, more: true`` and the same record at every offset: the record is kept once,
    the listing ends on the first repeat, and the detail names it."""
    pd.repeat_forever = True
    seed(pd, n_incidents=3)
    c = collector(pd)
    events = list(c.collect(WINDOW))
    assert [(e.ref, e.kind) for e in events] == [("QINC0002", "incident.resolved")]
    assert c.detail == (
        "GET /incidents answered offset 1 with only records it had already given (more=true, "
        "no total), so reading it stopped there; the 1 record read is kept; "
        "GET /log_entries answered offset 1 with only records it had already given (more=true, "
        "no total), so reading it stopped there; the 1 record read is kept"
    )
    assert c.requests == 4


def test_query_times_are_whole_seconds() -> None:
    """``since`` is rounded down and ``until`` up to the second, without microseconds."""
    w = Window(T0 + timedelta(microseconds=250), T0 + timedelta(seconds=5, microseconds=1))
    assert whole_seconds(w) == ("2024-01-15T14:00:00Z", "2024-01-15T14:00:06Z")


class Fake:
    """A listing of ``n`` records one second apart, newest first, with or without ``total``,
    refusing ``offset + limit`` above 10,000 as PagerDuty does."""

    def __init__(self, n: int, *, total: bool) -> None:
        self.times = [T0 + timedelta(seconds=k) for k in range(n)]
        self.total = total
        self.calls = 0

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls += 1
        since, until = parse_time(params["since"]), parse_time(params["until"])
        offset, limit = int(params["offset"]), int(params["limit"])
        assert offset + limit <= 10_000, "PagerDuty would answer 400"
        assert "." not in params["since"] + params["until"]
        rows = [k for k, t in enumerate(self.times) if since <= t < until][::-1]
        page = rows[offset : offset + limit]
        return {
            "items": [{"id": f"R{k}", "created_at": self.times[k].isoformat()} for k in page],
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(rows),
            "total": len(rows) if self.total else None,
        }


def test_a_total_less_listing_past_the_cap_is_split_in_time() -> None:
    """10,250 records and no ``total``: at the cap the window is halved, and every record is read once."""
    fake = Fake(10_250, total=False)
    pager = OffsetPager(fake.get, max_connections=1)
    window = Window(T0, T0 + timedelta(seconds=10_250))
    ids = [r["id"] for r in pager.records("/log_entries", "items", {}, window)]
    assert len(ids) == len(set(ids)) == 10_250
    assert pager.remarks == [
        "GET /log_entries reported no total and reached PagerDuty's 10,000-record pagination "
        "cap, so its window was split in time"
    ]


def test_a_stable_wrong_total_is_reported_after_one_reread() -> None:
    """A total two above the records: the records are kept, one re-read, and the detail says so."""
    fake = Fake(150, total=True)

    def get(path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = fake.get(path, params)
        return {**body, "total": 152}

    pager = OffsetPager(get, max_connections=2)
    ids = [r["id"] for r in pager.records("/incidents", "items", {}, WINDOW)]
    assert len(ids) == 150
    assert pager.remarks[-1] == (
        "GET /incidents reported a total of 152 records but its pages held 150 (its records "
        "moved while it was read, or its total is wrong); the records read are kept"
    )
    assert fake.calls == 4


def test_a_failing_page_leaves_no_pool_thread_behind() -> None:
    """An error in one pooled call reaches the caller and every worker thread has ended."""

    def fetch(k: int) -> int:
        if k == 3:
            raise RuntimeError("boom")
        return k

    with pytest.raises(RuntimeError, match="boom"):
        pooled_map(fetch, range(8), 4, "pd-test")
    assert not [t for t in threading.enumerate() if t.name.startswith("pd-test")]
    assert pooled_map(fetch, range(3), 4, "pd-test") == [0, 1, 2]


def test_records_are_passed_on_while_the_last_pages_are_still_read() -> None:
    """450 records with a total: the first page's records reach the caller (who turns them into
    events) while the last page is still being read, in the same order as a whole read, each
    once. The last page is held until the caller has seen a record: read all at once, as
    before, this would wait forever (here: fail after 10 s)."""
    fake = Fake(450, total=True)
    seen_one = threading.Event()

    def get(path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if params["offset"] == 400:
            assert seen_one.wait(10), "the last page was needed before any record was given"
        return fake.get(path, params)

    pager = OffsetPager(get, max_connections=4)
    ids = []
    for record in pager.records("/log_entries", "items", {}, Window(T0, T0 + timedelta(hours=1))):
        ids.append(record["id"])
        seen_one.set()
    assert ids == [f"R{k}" for k in range(449, -1, -1)]
    assert pager.remarks == []
    assert fake.calls == 5


def test_a_listing_left_early_leaves_no_pool_thread_behind() -> None:
    """A caller that stops after the first record (an error while making events) closes the
    listing: the pending pages are cancelled and every worker thread has ended."""
    fake = Fake(2_000, total=True)
    pager = OffsetPager(fake.get, max_connections=4)
    records = pager.records("/log_entries", "items", {}, Window(T0, T0 + timedelta(hours=1)))
    assert next(records)["id"] == "R1999"
    records.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("pagerduty")]
    assert fake.calls < 20


def test_a_failing_page_in_a_stream_leaves_no_pool_thread_behind() -> None:
    """In order, up to the failing call, then its error; every worker thread has ended."""

    def fetch(k: int) -> int:
        if k == 3:
            raise RuntimeError("boom")
        return k

    got = []
    with pytest.raises(RuntimeError, match="boom"):
        got.extend(pooled_iter(fetch, range(8), 4, "pd-test"))
    assert got == [0, 1, 2]
    assert not [t for t in threading.enumerate() if t.name.startswith("pd-test")]
