"""A batch run's PagerDuty reads, made once and cut per draft.

``pmdraft batch`` drafts many incidents whose windows overlap. Drafting each alone costs, per
incident, a listing of the window's other incidents, one of past incidents (Related Incidents),
the incident's log entries and the change events. :class:`SharedReads` is told every draft's
window and incident first (:meth:`~SharedReads.plan`), then reads:

- the incidents created over the union of the other-incident and related-incident spans: one
  listing (in slices of PagerDuty's six-month limit);
- one ``GET /log_entries`` stream per merged span of the incidents' log-entry spans (spans that
  overlap or touch are merged);
- the change events over the union of the change-event spans: one listing.

Each draft's collectors then get a :class:`SharedView`: the same calls as
:class:`~.api.PagerDutyApi`, answered from those reads, clipped to the span asked for exactly as
the server clips (``[since, until)`` on whole seconds), an incident's log entries by their
``incident`` reference. A read that failed fails every draft that needs it, with its message. A
call no planned read covers is made as usual. The view that first needs a read makes it and
counts its requests; the views after it count none.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ...errors import CollectorError
from ...model import Window, merged_spans, parse_time, parse_time_or_none, span_union
from ..base import RequestCounter
from .api import PagerDutyApi
from .listing import whole_seconds
from .records import entry_incident_id

MAX_LISTING_SPAN = timedelta(days=180)
"""Longest creation span one ``GET /incidents`` may cover (PagerDuty allows six months)."""

Records = list[dict[str, Any]]


def _clipped(window: Window) -> Window:
    """``window`` on whole seconds, as the listing's query string asks the server for it."""
    since, until = whole_seconds(window)
    return Window(parse_time(since), parse_time(until))


def _covers(span: Window, window: Window) -> bool:
    return span.since <= window.since and window.until <= span.until


Fetch = Callable[[PagerDutyApi], Iterable[dict[str, Any]]]
"""One listing's read, over the API given."""


def _counted(
    fetch: Fetch, api: PagerDutyApi, counter: RequestCounter, into: RequestCounter
) -> Records:
    """``fetch(api)``'s records; the requests it made (``counter``'s rise) added to ``into``."""
    before = counter.value
    try:
        return list(fetch(api))
    finally:
        into.value += counter.value - before


def _one(
    call: Callable[[PagerDutyApi, str], dict[str, Any]], ref: str, api: PagerDutyApi
) -> Records:
    return [call(api, ref)]


class _Read:
    """One listing, read by the first view that needs it; its records, or its error."""

    def __init__(self, span: Window, key: str) -> None:
        self.span = span
        self.key = key
        """Which record time clips it: ``created_at`` or ``timestamp``."""
        self.lock = threading.Lock()
        self.done = False
        self.records: Records = []
        self.times: list[datetime | None] = []
        """Each record's time, parsed once (``None``: unreadable)."""
        self.remarks: list[str] = []
        self.error: CollectorError | None = None

    def get(
        self, fetch: Fetch, api: PagerDutyApi, counter: RequestCounter, into: RequestCounter
    ) -> Records:
        """The records, read once (``api``'s requests counted in ``into``); a failure re-raised."""
        with self.lock:
            if not self.done:
                api.remarks.clear()
                try:
                    self.records = _counted(fetch, api, counter, into)
                except CollectorError as exc:
                    self.error = exc
                self.remarks = list(api.remarks)
                self.times = [parse_time_or_none(r.get(self.key)) for r in self.records]
                self.done = True
        if self.error is not None:
            raise self.error
        return self.records

    def cut(self, window: Window) -> Records:
        """The records the server would give for ``window``; unreadable times kept (named)."""
        clip = _clipped(window)
        return [
            r
            for r, at in zip(self.records, self.times, strict=True)
            if at is None or clip.since <= at < clip.until
        ]


class SharedReads:
    """One batch run's PagerDuty reads over merged spans, each made once (see the module)."""

    def __init__(
        self,
        incidents_api: PagerDutyApi,
        incidents_counter: RequestCounter,
        changes_api: PagerDutyApi | None = None,
        changes_counter: RequestCounter | None = None,
    ) -> None:
        self.incidents_api = incidents_api
        self.incidents_counter = incidents_counter
        self.changes_api = changes_api
        self.changes_counter = changes_counter
        self.params: dict[str, Any] = {}
        """The incident listings' filter (``service_ids[]``) the plan was made for."""
        self._incidents: list[_Read] = []
        self._logs: list[_Read] = []
        self._changes: _Read | None = None
        self._fetch = threading.Lock()
        """Reads of one client are made one at a time, so each counts its own requests."""
        self.records: dict[str, dict[str, Any]] = {}
        """Incident records already in hand (the batch listing's), by id: never fetched again."""

    def plan(
        self,
        incident_spans: Sequence[Window],
        log_spans: Sequence[Window],
        change_spans: Sequence[Window],
        params: Mapping[str, Any],
    ) -> None:
        """The spans to read once: incidents over the union (in six-month slices), log entries
        per merged span, change events over the union."""
        self.params = dict(params)
        whole = span_union(incident_spans)
        start = whole.since if whole is not None else None
        while whole is not None and start is not None and start < whole.until:
            end = min(whole.until, start + MAX_LISTING_SPAN)
            self._incidents.append(_Read(Window(start, end), "created_at"))
            start = end
        self._logs = [_Read(s, "created_at") for s in merged_spans(log_spans)]
        changes = span_union(change_spans)
        self._changes = _Read(changes, "timestamp") if changes is not None else None

    @property
    def spans(self) -> dict[str, list[Window]]:
        """What is read once, by listing (for docs and the bench)."""
        return {
            "incidents": [r.span for r in self._incidents],
            "log_entries": [r.span for r in self._logs],
            "change_events": [self._changes.span] if self._changes else [],
        }

    def view(self) -> tuple[SharedView, SharedView]:
        """A draft's two views: incidents and log entries; change events."""
        return SharedView(self, changes=False), SharedView(self, changes=True)

    def close(self) -> None:
        """Close the clients."""
        self.incidents_api.close()
        if self.changes_api is not None:
            self.changes_api.close()

    def client_of(self, changes: bool) -> tuple[PagerDutyApi, RequestCounter]:
        """The API (and its counter) change events, or the rest, are read with."""
        if changes and self.changes_api is not None and self.changes_counter is not None:
            return self.changes_api, self.changes_counter
        return self.incidents_api, self.incidents_counter

    def get(self, read: _Read, fetch: Fetch, into: RequestCounter, *, changes: bool) -> Records:
        """``read``'s records, read now if no view read them yet (one read of a client at once,
        so each counts only its own requests)."""
        api, counter = self.client_of(changes)
        if read.done:
            return read.get(fetch, api, counter, into)
        with self._fetch:
            return read.get(fetch, api, counter, into)

    def fetch(self, fetch: Fetch, into: RequestCounter, *, changes: bool) -> Records:
        """A call no planned read covers, made now (counted in ``into``)."""
        api, counter = self.client_of(changes)
        with self._fetch:
            return _counted(fetch, api, counter, into)


class SharedView:
    """A draft's :class:`~.api.PagerDutyApi`: its calls answered from :class:`SharedReads`."""

    name = "pagerduty"

    def __init__(self, reads: SharedReads, *, changes: bool) -> None:
        self.reads = reads
        self.changes = changes
        self.counter = RequestCounter()
        self.counter.limit = None
        """The requests this draft's reads made (a read made for an earlier draft counts there)."""
        self.remarks: list[str] = []
        """What the reads this draft used had to do beyond plain paging."""
        self._unplaced: dict[int, dict[str, Any]] = {}
        """Log entries of this draft's windows that name no incident (by identity: one listing
        gives each record once, as one object)."""
        self._said_unplaced = ""

    @property
    def secret(self) -> str | None:
        """The API token, only so messages can be scrubbed of it."""
        return self.reads.incidents_api.secret

    def close(self) -> None:
        """Nothing: the run closes the shared clients once."""

    def _use(self, read: _Read, fetch: Fetch, window: Window) -> Records:
        self.reads.get(read, fetch, self.counter, changes=self.changes)
        for remark in read.remarks:
            if remark not in self.remarks:
                self.remarks.append(remark)
        return read.cut(window)

    def _own(self, fetch: Fetch) -> Records:
        """A call no planned read covers, made as usual (counted here)."""
        return self.reads.fetch(fetch, self.counter, changes=self.changes)

    def resolve_ids(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The incidents of ``ids``: those in hand, the others looked up."""
        return self._resolve(ids, PagerDutyApi.incident_by_id)

    def resolve(self, refs: Sequence[str]) -> list[dict[str, Any]]:
        """The incidents of ``refs`` (ids or numbers): those in hand, the others looked up."""
        return self._resolve(refs, PagerDutyApi.incident)

    def _resolve(
        self, refs: Sequence[str], lookup: Callable[[PagerDutyApi, str], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for ref in refs:
            inc = self.reads.records.get(ref)
            if inc is None:
                [inc] = self._own(partial(_one, lookup, ref))
            found.setdefault(inc["id"], inc)
        return list(found.values())

    def list_incidents(
        self, window: Window, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The incidents created in ``window``, from the run's listing when it covers it."""
        read = next((r for r in self.reads._incidents if _covers(r.span, window)), None)
        if read is None or dict(params or {}) != self.reads.params:
            return self._own(lambda api: api.list_incidents(window, params))
        query = {"time_zone": "UTC", **self.reads.params}
        return self._use(
            read, lambda api: api.listing("/incidents", "incidents", query, read.span), window
        )

    def log_entries(
        self, window: Window, incident_id: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The log entries created in ``window`` (only ``incident_id``'s, when given)."""
        read = next((r for r in self.reads._logs if _covers(r.span, window)), None)
        if read is None:
            return iter(self._own(lambda api: api.log_entries(window, incident_id)))
        records = self._use(read, lambda api: api.log_entries(read.span), window)
        if incident_id is None:
            return iter(records)
        mine: Records = []
        for entry in records:
            owner, _ = entry_incident_id(entry)
            if owner == incident_id:
                mine.append(entry)
            elif owner is None:
                self._unplaced[id(entry)] = entry
        if self._unplaced:
            # Read alone, the incident's own listing would have given them to it; cut from the
            # run's listing they belong to no incident, and are said, not silently left out.
            n = len(self._unplaced)
            said = (
                f"{n:,} log {'entry' if n == 1 else 'entries'} in this window of the run's GET "
                "/log_entries had no readable incident reference, so no draft holds them"
            )
            self.remarks[:] = [r for r in self.remarks if r != self._said_unplaced] + [said]
            self._said_unplaced = said
        return iter(mine)

    def change_events(self, window: Window) -> Iterator[dict[str, Any]]:
        """The change events in ``window``, from the run's listing when it covers it."""
        read = self.reads._changes
        if read is None or not _covers(read.span, window):
            return iter(self._own(lambda api: api.change_events(window)))
        return iter(self._use(read, lambda api: api.change_events(read.span), window))
