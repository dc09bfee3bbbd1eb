"""PagerDuty incidents and their log entries, through the official ``pagerduty`` client.

Incidents created in the window (padded by a margin) give the scope; the log entries come from
one paginated ``GET /log_entries`` stream for the window (``time_zone=UTC``), never one call per
incident, and only entries of in-scope incidents are kept. Given incident ids instead
(``--incident``), those incidents are the scope and each one's own log entries are read.

Every listing is read completely: its first page asks for ``total``; a listing holding more than
PagerDuty's 10,000-record pagination cap is split into time slices (recursively, until each
slice fits), and the remaining pages, whose offsets are then known, are fetched concurrently
over at most ``max_connections`` connections. Records are deduplicated by id, and a slice that
grew while it was read is read again. Every request passes through :class:`RetryingTransport`
(bounded retries) and a :class:`RequestBudget` (at most N requests in any 60 s).
"""

from __future__ import annotations

import email.utils
import itertools
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx2

from ...errors import CollectorError, InputError
from ...model import (
    DEPLOY_FAILED,
    DEPLOY_ROLLED_BACK,
    DEPLOY_STARTED,
    DEPLOY_SUCCEEDED,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_ASSIGNED,
    INCIDENT_ESCALATED,
    INCIDENT_NOTIFIED,
    INCIDENT_OTHER,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_RESOLVED,
    INCIDENT_SNOOZED,
    INCIDENT_TRIGGERED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_URGENCY_CHANGED,
    Event,
    Window,
    iso_z,
)
from ..base import RequestCounter, parse_time

PAGE_SIZE = 100
"""Records per page: the most PagerDuty's classic pagination gives."""

OFFSET_CAP = 10_000
"""PagerDuty refuses offset + limit above this (HTTP 400)."""

SLICE_TARGET = 9_000
"""Records aimed at per slice when a listing is split: under the cap by a margin, so records
spread unevenly over the window rarely need a second split."""

MAX_REREADS = 3
"""Times a slice that grew while it was read is read again before the source gives up."""

_T = TypeVar("_T")
_R = TypeVar("_R")

KIND_BY_TYPE = {
    "trigger_log_entry": INCIDENT_TRIGGERED,
    "notify_log_entry": INCIDENT_NOTIFIED,
    "acknowledge_log_entry": INCIDENT_ACKNOWLEDGED,
    "acknowledgement_log_entry": INCIDENT_ACKNOWLEDGED,
    "unacknowledge_log_entry": INCIDENT_UNACKNOWLEDGED,
    "escalate_log_entry": INCIDENT_ESCALATED,
    "assign_log_entry": INCIDENT_ASSIGNED,
    "annotate_log_entry": INCIDENT_ANNOTATED,
    "priority_change_log_entry": INCIDENT_PRIORITY_CHANGED,
    "urgency_change_log_entry": INCIDENT_URGENCY_CHANGED,
    "snooze_log_entry": INCIDENT_SNOOZED,
    "resolve_log_entry": INCIDENT_RESOLVED,
}


class RetriesExhausted(Exception):
    """A request still failed (429 or 5xx) after the bounded retries."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url}: HTTP {status} {detail}")
        self.url = url
        self.status = status
        self.detail = detail


class NetworkFailure(Exception):
    """A request still failed in the network (timeout, reset, refused) after the bounded retries.

    Not an ``httpx2.TransportError``, so the ``pagerduty`` client lets it through unwrapped, with
    its cause: its own wrapper names neither the cause nor the attempts.
    """

    def __init__(self, url: str, attempts: int, error: httpx2.TransportError) -> None:
        self.url = url
        self.attempts = attempts
        self.error = error
        self.timed_out = isinstance(error, httpx2.TimeoutException)
        self.reason = (
            f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
        )
        super().__init__(f"{url}: {self.reason} ({attempts} attempts)")


def retry_wait(response: httpx2.Response, attempt: int, now: float | None = None) -> float:
    """Seconds to wait before retrying: ``Retry-After``, else ``ratelimit-reset``, else backoff."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(header)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    reset = response.headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    return min(30.0, 0.5 * 2**attempt) * (1 + 0.25 * random.random())


class RequestBudget:
    """At most ``limit`` requests in any ``period`` seconds, shared by every thread of a client.

    A sliding window, not a smooth rate: a run that stays under the limit never waits. Each
    request reserves, under the lock, the earliest instant that keeps every window within the
    limit, then sleeps until it outside the lock. ``clock`` and ``sleep`` are injectable so tests
    need not wait.
    """

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError(
                f"RequestBudget needs limit >= 1 and period > 0, got {limit} and {period}"
            )
        self.limit = limit
        """Requests allowed in any ``period`` seconds."""
        self.period = period
        """Length of the sliding window, in seconds."""
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        """Seconds spent waiting for the budget so far, across all threads."""
        self._lock = threading.Lock()
        self._granted: deque[float] = deque()

    def acquire(self) -> float:
        """Wait until one more request fits in the window; return the seconds waited."""
        with self._lock:
            now = self.clock()
            while self._granted and self._granted[0] + self.period <= now:
                self._granted.popleft()
            at = now
            if len(self._granted) >= self.limit:
                at = max(now, self._granted[-self.limit] + self.period)
            self._granted.append(at)
            self.waited += at - now
        if at > now:
            self.sleep(at - now)
        return at - now


class RetryingTransport(httpx2.BaseTransport):
    """Retries 429, 5xx and network errors a bounded number of times, honouring the headers.

    The ``pagerduty`` client alone retries 429 without limit and ignores ``Retry-After``;
    this transport sits under it so every request it makes is bounded and counted.
    """

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        counter: RequestCounter,
        *,
        max_retries: int = 5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        budget: RequestBudget | None = None,
    ) -> None:
        self.inner = inner
        self.counter = counter
        self.max_retries = max_retries
        """Retries after the first attempt, per request."""
        self.max_wait = max_wait
        """Longest single wait in seconds; a server asking for more is a failure."""
        self.sleep = sleep
        self.budget = budget
        """Shared request budget every attempt (retries too) waits for; ``None``: unlimited."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        attempt = 0
        while True:
            if self.budget is not None:
                self.budget.acquire()
            self.counter.add()
            try:
                response = self.inner.handle_request(request)
            except httpx2.TransportError as exc:
                if attempt >= self.max_retries:
                    raise NetworkFailure(
                        str(request.url.copy_with(query=None)), attempt + 1, exc
                    ) from exc
                self.sleep(min(self.max_wait, 0.5 * 2**attempt))
                attempt += 1
                continue
            status = response.status_code
            if status != 429 and status < 500:
                return response
            response.read()
            wait = retry_wait(response, attempt)
            if attempt >= self.max_retries or wait > self.max_wait:
                detail = response.text[:200].strip()
                response.close()
                why = (
                    f"after {attempt + 1} attempts"
                    if attempt >= self.max_retries
                    else f"and asked to wait {wait:.0f} s, more than max_retry_wait_seconds={self.max_wait:g}"
                )
                raise RetriesExhausted(
                    str(request.url.copy_with(query=None)), status, f"{why}: {detail}"
                )
            response.close()
            self.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


def _ref_name(ref: Any) -> str | None:
    return ref.get("summary") or ref.get("name") if isinstance(ref, dict) else None


@dataclass(frozen=True)
class _Slice:
    """A time slice of a listing that fits under the cap, with its first page."""

    window: Window
    total: int
    first: list[dict[str, Any]]


def _record_time(record: Mapping[str, Any], key: str) -> datetime | None:
    value = record.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def incident_window(
    incidents: Iterable[Mapping[str, Any]], *, lookback: timedelta, after: timedelta, now: datetime
) -> Window:
    """The window an incident-started draft covers.

    From the earliest ``created_at`` minus ``lookback`` to the latest ``resolved_at`` (else
    ``last_status_change_at``; ``now`` for an incident still open) plus ``after``.
    """
    starts: list[datetime] = []
    ends: list[datetime] = []
    for inc in incidents:
        created = _record_time(inc, "created_at")
        if created is None:
            raise CollectorError(
                "pagerduty", f"incident {inc.get('id')!r} has no readable created_at time"
            )
        starts.append(created)
        end = None
        if inc.get("status") == "resolved":
            end = _record_time(inc, "resolved_at") or _record_time(inc, "last_status_change_at")
        ends.append(max(created, end or now))
    if not starts:
        raise InputError("no incident was given: pass --incident with an incident number or id")
    return Window(min(starts) - lookback, max(ends) + after)


class PagerDutyCollector:
    """Incident log entries from PagerDuty's REST API v2."""

    name = "pagerduty"

    def __init__(
        self,
        client: Any,
        counter: RequestCounter,
        *,
        service_ids: Sequence[str] = (),
        margin: timedelta = timedelta(minutes=60),
        incident_ids: Sequence[str] = (),
        max_connections: int = 8,
        budget: RequestBudget | None = None,
        related_lookback: timedelta = timedelta(0),
        change_events: bool = False,
        change_lookback: timedelta = timedelta(0),
    ) -> None:
        self.client = client
        self.counter = counter
        self.service_ids = list(service_ids)
        self.margin = margin
        """How far before and after the window incidents are looked for."""
        self.incident_ids = list(incident_ids)
        """When given, the scope: these incidents (ids or numbers) instead of those created in the window."""
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.max_connections = max_connections
        """Pages fetched at once (threads, and so connections), once their offsets are known."""
        self.budget = budget
        """The client's request budget, read only to report time spent waiting for it."""
        self.related_lookback = related_lookback
        """How far before the earliest in-scope incident past incidents are listed (0: not at all)."""
        self.change_events = change_events
        """Whether change events (``GET /change_events``) are read as deploys."""
        self.change_lookback = change_lookback
        """How far before the window change events are read (the deploy sources' lookback)."""
        self.extras: dict[str, Any] = {}
        """Plain records besides events, once collected: ``related`` (past incidents to rank)."""
        self._notes: list[str] = []

    @property
    def requests(self) -> int:
        return self.counter.value

    @property
    def detail(self) -> str | None:
        """What the run had to do beyond plain paging (window splits, budget waits), or ``None``."""
        notes = list(self._notes)
        if self.budget is not None and self.budget.waited >= 0.5:
            notes.append(
                f"waited {self.budget.waited:.0f} s in all for the request budget "
                f"({self.budget.limit} requests a minute)"
            )
        return "; ".join(notes) or None

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def _scrub(self, text: str) -> str:
        """A server's answer without the API token, should a proxy echo the request back; a
        shortened answer that ends in the token's first characters loses them too."""
        token = getattr(getattr(self.client, "auth_method", None), "secret", None)
        if not isinstance(token, str) or not token:
            return text
        text = text.replace(token, "[token]")
        cut = next((n for n in range(len(token) - 1, 3, -1) if text.endswith(token[:n])), 0)
        return text[: len(text) - cut] + "[token]" if cut else text

    def _get(
        self, path: str, params: Mapping[str, Any], *, not_found: str | None = None
    ) -> dict[str, Any]:
        import pagerduty

        try:
            response = self.client.get(path, params=dict(params))
        except RetriesExhausted as exc:
            raise CollectorError(
                self.name, f"GET {path} failed: {exc.status} {self._scrub(exc.detail)}"
            ) from exc
        except NetworkFailure as exc:
            timeout = getattr(self.client, "timeout", None)
            why = (
                f"no answer within timeout_seconds={timeout:g}"
                if exc.timed_out and isinstance(timeout, (int, float))
                else self._scrub(exc.reason)
            )
            raise CollectorError(
                self.name,
                f"GET {path} failed after {exc.attempts} attempts: {why}; check the network and base_url"
                + (", or raise timeout_seconds" if exc.timed_out else ""),
            ) from exc
        except pagerduty.Error as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status == 401:
                raise CollectorError(
                    self.name,
                    f"GET {path} was refused (401 Unauthorized): the API token is invalid or "
                    "deactivated, or base_url points at the wrong service region "
                    "(EU accounts use https://api.eu.pagerduty.com)",
                ) from exc
            raise CollectorError(
                self.name, f"GET {path} failed: {exc.__class__.__name__}: {self._scrub(str(exc))}"
            ) from exc
        except httpx2.HTTPError as exc:
            raise CollectorError(
                self.name, f"GET {path} failed: {exc.__class__.__name__}: {exc}"
            ) from exc
        if response.status_code == 404 and not_found:
            raise InputError(not_found)
        if not response.is_success:
            raise CollectorError(
                self.name,
                f"GET {path} answered HTTP {response.status_code}: {self._scrub(response.text)[:200].strip()}",
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CollectorError(self.name, f"GET {path} answered with invalid JSON") from exc
        if not isinstance(body, dict):
            raise CollectorError(
                self.name, f"GET {path} answered with {type(body).__name__}, not an object"
            )
        return body

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[_R]:
        """``fn`` over ``items`` on at most ``max_connections`` threads; results in order.

        The calls all start with the first result asked for; on an error the pending ones are
        cancelled and the running ones awaited.
        """
        todo = list(items)
        if len(todo) <= 1 or self.max_connections == 1:
            return map(fn, todo)
        return self._pooled(fn, todo)

    def _pooled(self, fn: Callable[[_T], _R], todo: list[_T]) -> Iterator[_R]:
        pool = ThreadPoolExecutor(
            min(self.max_connections, len(todo)), thread_name_prefix="pagerduty"
        )
        try:
            futures: list[Future[_R]] = [pool.submit(fn, item) for item in todo]
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _page(
        self, path: str, key: str, params: Mapping[str, Any], window: Window, offset: int
    ) -> tuple[list[dict[str, Any]], int | None, bool]:
        """One page of ``window``: its records, the listing's ``total`` then, and ``more``."""
        body = self._get(
            path,
            {
                **params,
                "since": iso_z(window.since),
                "until": iso_z(window.until),
                "limit": PAGE_SIZE,
                "offset": offset,
                "total": "true",
            },
        )
        items = body.get(key)
        if not isinstance(items, list):
            raise CollectorError(self.name, f"GET {path} answered without a {key!r} list")
        total = body.get("total")
        known = total if isinstance(total, int) and not isinstance(total, bool) else None
        return [i for i in items if isinstance(i, dict)], known, bool(body.get("more"))

    def _split(self, path: str, window: Window, total: int) -> list[Window]:
        """``window`` cut at whole seconds into enough slices to hold ``total`` under the cap."""
        n = max(2, math.ceil(total / SLICE_TARGET))
        span = window.until - window.since
        cuts = sorted({(window.since + span * k / n).replace(microsecond=0) for k in range(1, n)})
        cuts = [c for c in cuts if window.since < c < window.until]
        if not cuts:
            raise CollectorError(
                self.name,
                f"GET {path} holds {total:,} records created between {iso_z(window.since)} and "
                f"{iso_z(window.until)}, more than PagerDuty's {OFFSET_CAP:,}-record pagination cap "
                "within one second, so they cannot all be read",
            )
        edges = [window.since, *cuts, window.until]
        return [Window(a, b) for a, b in itertools.pairwise(edges)]

    def _plan(
        self, path: str, key: str, params: Mapping[str, Any], windows: list[Window]
    ) -> list[_Slice]:
        """Probe ``windows`` (the first page, with ``total``), splitting any over the cap; newest first."""
        leaves: list[_Slice] = []
        while windows:
            probes = self._map(lambda w: (w, self._page(path, key, params, w, 0)), windows)
            windows = []
            for window, (items, total, more) in probes:
                if total is None:
                    if more:
                        raise CollectorError(
                            self.name,
                            f"GET {path} did not report a total with total=true, so it cannot "
                            "be read completely past its first page",
                        )
                    total = len(items)
                if total <= OFFSET_CAP:
                    leaves.append(_Slice(window, total, items))
                else:
                    windows.extend(self._split(path, window, total))
        leaves.sort(key=lambda s: s.window.since, reverse=True)
        return leaves

    def _read(
        self, path: str, key: str, params: Mapping[str, Any], slices: list[_Slice]
    ) -> Iterator[tuple[_Slice, list[dict[str, Any]], bool]]:
        """Each slice's records, with whether it changed while it was read.

        A slice changed if a page reports another ``total``, or if its pages hold fewer distinct
        records than ``total``: offsets that moved between pages repeat some records and skip
        others, even when the total stays the same.
        """
        jobs = [
            (s.window, offset) for s in slices for offset in range(PAGE_SIZE, s.total, PAGE_SIZE)
        ]
        pages = self._map(lambda job: self._page(path, key, params, *job), jobs)
        for s in slices:
            items, changed = list(s.first), False
            for _ in range(PAGE_SIZE, s.total, PAGE_SIZE):
                page, total, _more = next(pages)
                items.extend(page)
                changed = changed or (total is not None and total != s.total)
            ids = [i.get("id") for i in items]
            distinct = len({i for i in ids if isinstance(i, str)}) + sum(
                not isinstance(i, str) for i in ids
            )
            yield s, items, changed or distinct < s.total

    def _listing(
        self, path: str, key: str, params: Mapping[str, Any], window: Window
    ) -> Iterator[dict[str, Any]]:
        """Every record of a paginated listing in ``window``, each once (by id)."""
        seen: set[str] = set()
        todo = [window]
        for round_ in range(MAX_REREADS + 1):
            slices = self._plan(path, key, params, todo)
            if round_ == 0 and len(slices) > 1:
                self._notes.append(
                    f"GET {path} held {sum(s.total for s in slices):,} records, more than PagerDuty's "
                    f"{OFFSET_CAP:,}-record pagination cap, so its window was split into {len(slices)} time slices"
                )
            todo = []
            for s, items, changed in self._read(path, key, params, slices):
                for item in items:
                    ident = item.get("id")
                    if isinstance(ident, str):
                        if ident in seen:
                            continue
                        seen.add(ident)
                    yield item
                if changed:
                    todo.append(s.window)
            if not todo:
                return
            if round_ == 0:
                self._notes.append(
                    f"GET {path} changed while it was read (its total moved, or its pages repeated "
                    "or skipped records), so it was read again"
                )
        raise CollectorError(
            self.name,
            f"GET {path} kept changing while it was read (its total moved, or its pages repeated or skipped "
            f"records) even after {MAX_REREADS} re-reads; try again, or end the window (--until) before the records still being written",
        )

    def incidents(self, window: Window) -> list[dict[str, Any]]:
        """The incidents created in ``window`` padded by the margin, filtered by service."""
        padded = window.padded(self.margin, self.margin)
        params: dict[str, Any] = {"time_zone": "UTC"}
        if self.service_ids:
            params["service_ids[]"] = self.service_ids
        return list(self._listing("/incidents", "incidents", params, padded))

    def list_incidents(self, window: Window, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every incident created in ``window`` matching ``params`` (``statuses[]``, ``team_ids[]``...), read completely."""
        return list(
            self._listing("/incidents", "incidents", {"time_zone": "UTC", **params}, window)
        )

    def notes(self, incident_id: str) -> list[dict[str, Any]]:
        """The notes on one incident (``GET /incidents/{id}/notes``)."""
        notes = self._get(f"/incidents/{incident_id}/notes", {}).get("notes")
        return [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []

    def add_note(self, incident_id: str, content: str, from_email: str) -> None:
        """Add a note to one incident as the user ``from_email`` (``POST /incidents/{id}/notes``)."""
        import pagerduty

        path = f"/incidents/{incident_id}/notes"
        try:
            response = self.client.post(
                path, json={"note": {"content": content}}, headers={"From": from_email}
            )
        except (RetriesExhausted, NetworkFailure, httpx2.HTTPError, pagerduty.Error) as exc:
            raise CollectorError(self.name, f"POST {path} failed: {self._scrub(str(exc))}") from exc
        if not response.is_success:
            hint = (
                " (the token needs write access, and annotate_from a PagerDuty user's email)"
                if response.status_code in (400, 401, 403)
                else ""
            )
            raise CollectorError(
                self.name,
                f"POST {path} answered HTTP {response.status_code}{hint}: "
                f"{self._scrub(response.text)[:200].strip()}",
            )

    def resolve(self, refs: Sequence[str]) -> list[dict[str, Any]]:
        """The incidents named by number or id, each once, from ``GET /incidents/{ref}``."""
        found: dict[str, dict[str, Any]] = {}
        for ref in refs:
            ref = str(ref).strip().lstrip("#")
            if not ref.isascii() or not ref.isalnum():
                raise InputError(
                    f"--incident {ref!r} is not a PagerDuty incident number or id; "
                    "write it like 1234 or PABC123"
                )
            body = self._get(
                f"/incidents/{ref}",
                {"time_zone": "UTC"},
                not_found=f"PagerDuty has no incident {ref} (GET /incidents/{ref} answered 404); check the "
                "incident number or id, and that the API token's account is the incident's",
            )
            inc = body.get("incident")
            if not isinstance(inc, dict) or not isinstance(inc.get("id"), str):
                raise CollectorError(
                    self.name, f"GET /incidents/{ref} answered without an incident"
                )
            found.setdefault(inc["id"], inc)
        return list(found.values())

    @staticmethod
    def _entries_until(until: datetime, incidents: Iterable[Mapping[str, Any]]) -> datetime:
        """``until``, moved past the last status change of any of ``incidents``."""
        for inc in incidents:
            for key in ("resolved_at", "last_status_change_at", "updated_at"):
                changed = _record_time(inc, key)
                if changed is not None:
                    until = max(until, changed + timedelta(seconds=1))
        return until

    def collect(self, window: Window) -> Iterator[Event]:
        self._notes = []
        self.extras = {}
        scope: list[dict[str, Any]] = []
        yield from self._log_events(window, scope)
        if scope and self.related_lookback > timedelta(0):
            self.extras["related"] = self._related(scope)
        if self.change_events:
            yield from self._changes(window)

    def _related(self, scope: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The in-scope incidents and the incidents created in the lookback before the earliest of them.

        One listing (paginated) over the lookback, filtered by ``service_ids`` when they are set;
        a failure is kept as ``error`` so the draft can say why the list is missing.
        """
        created = [t for t in (_record_time(i, "created_at") for i in scope) if t is not None]
        record: dict[str, Any] = {
            "lookback_days": self.related_lookback.total_seconds() / 86400,
            "scope": [_incident_record(i) for i in scope],
            "candidates": [],
            "error": None,
        }
        if not created:
            return record
        earliest = min(created)
        params: dict[str, Any] = {"time_zone": "UTC"}
        if self.service_ids:
            params["service_ids[]"] = self.service_ids
        ids = {i.get("id") for i in scope}
        try:
            past = self._listing(
                "/incidents",
                "incidents",
                params,
                Window(earliest - self.related_lookback, earliest),
            )
            record["candidates"] = [_incident_record(i) for i in past if i.get("id") not in ids]
        except CollectorError as exc:
            record["error"] = exc.message
            self._notes.append(f"related incidents were not read: {exc.message}")
        return record

    def _changes(self, window: Window) -> Iterator[Event]:
        """Change events from the deploy lookback before the window to its end, as ``deploy.*`` events."""
        span = Window(window.since - self.change_lookback, window.until)
        for item in self._listing("/change_events", "change_events", {}, span):
            services = [s for s in item.get("services") or [] if isinstance(s, dict)]
            if self.service_ids and not any(s.get("id") in self.service_ids for s in services):
                continue
            event = _change_event(item, services)
            if event is not None:
                yield event

    def _log_events(self, window: Window, scope: list[dict[str, Any]]) -> Iterator[Event]:
        """The in-scope incidents' log entries as events; the incidents are added to ``scope``."""
        padded = window.padded(self.margin, self.margin)
        params = {"time_zone": "UTC", "is_overview": "false"}
        if self.incident_ids:
            for inc in self.resolve(self.incident_ids):
                scope.append(inc)
                since = min(padded.since, _record_time(inc, "created_at") or padded.since)
                span = Window(since, self._entries_until(padded.until, [inc]))
                for entry in self._listing(
                    f"/incidents/{inc['id']}/log_entries", "log_entries", params, span
                ):
                    event = self._event(entry, inc)
                    if event is not None:
                        yield event
            return
        incidents = {i["id"]: i for i in self.incidents(window) if "id" in i}
        scope.extend(incidents.values())
        if not incidents:
            return
        span = Window(padded.since, self._entries_until(padded.until, incidents.values()))
        for entry in self._listing("/log_entries", "log_entries", params, span):
            incident_ref = entry.get("incident") or {}
            incident = incidents.get(incident_ref.get("id"))
            if incident is not None:
                event = self._event(entry, incident)
                if event is not None:
                    yield event

    def _event(self, entry: Mapping[str, Any], incident: Mapping[str, Any]) -> Event | None:
        created = entry.get("created_at")
        if not isinstance(created, str):
            return None
        try:
            at = parse_time(created)
        except ValueError:
            return None
        entry_type = str(entry.get("type", ""))
        kind = KIND_BY_TYPE.get(entry_type, INCIDENT_OTHER)
        channel = entry.get("channel") if isinstance(entry.get("channel"), dict) else {}
        priority = incident.get("priority")
        number = incident.get("incident_number")
        attrs: dict[str, Any] = {
            "incident_id": incident.get("id"),
            "incident_number": number if isinstance(number, int) else None,
            "incident_title": incident.get("title"),
            "incident_url": incident.get("html_url"),
            "urgency": incident.get("urgency"),
            "priority": _ref_name(priority),
            "status": incident.get("status"),
            "escalation_policy": _ref_name(incident.get("escalation_policy")),
            "log_entry_id": entry.get("id"),
            "log_entry_type": entry_type,
            "channel": channel.get("type"),
        }
        if kind == INCIDENT_TRIGGERED:
            raw = entry.get("event_details")
            details: dict[str, Any] = raw if isinstance(raw, dict) else {}
            key, description = incident.get("incident_key"), details.get("description")
            attrs["incident_key"] = key if isinstance(key, str) else None
            attrs["event_description"] = description if isinstance(description, str) else None
        if kind == INCIDENT_NOTIFIED:
            attrs["notified_user"] = _ref_name(entry.get("user"))
        if kind == INCIDENT_ANNOTATED:
            attrs["note"] = entry.get("note") or channel.get("summary") or ""
        if kind in (INCIDENT_ASSIGNED, INCIDENT_ESCALATED):
            names = [_ref_name(a) for a in entry.get("assignees") or []]
            attrs["assignees"] = ", ".join(n for n in names if n)
        label = f"PagerDuty #{number}" if number is not None else "PagerDuty"
        summary = str(
            entry.get("summary") or entry_type.replace("_log_entry", "").replace("_", " ")
        )
        return Event(
            at=at,
            source=self.name,
            kind=kind,
            ref=str(incident.get("id")),
            summary=f"{label}: {summary}",
            service=_ref_name(incident.get("service")),
            actor=_ref_name(entry.get("agent")),
            url=entry.get("html_url") or incident.get("html_url"),
            attrs=attrs,
        )


CHANGE_KINDS = {
    "started": DEPLOY_STARTED,
    "in_progress": DEPLOY_STARTED,
    "running": DEPLOY_STARTED,
    "succeeded": DEPLOY_SUCCEEDED,
    "success": DEPLOY_SUCCEEDED,
    "passed": DEPLOY_SUCCEEDED,
    "failed": DEPLOY_FAILED,
    "failure": DEPLOY_FAILED,
    "error": DEPLOY_FAILED,
    "rolled_back": DEPLOY_ROLLED_BACK,
    "rollback": DEPLOY_ROLLED_BACK,
}
"""A change event's ``custom_details`` ``status`` (or ``build_state``) -> deploy kind; a change
event without one is a finished change (``deploy.succeeded``): that is what teams send."""


def _incident_record(inc: Mapping[str, Any]) -> dict[str, Any]:
    """An incident as the plain values related-incident ranking needs."""
    raw = inc.get("service")
    service: dict[str, Any] = raw if isinstance(raw, dict) else {}
    number = inc.get("incident_number")
    return {
        "id": inc.get("id"),
        "number": number if isinstance(number, int) else None,
        "title": str(inc.get("title") or ""),
        "url": inc.get("html_url"),
        "service_id": service.get("id"),
        "service": _ref_name(service),
        "created_at": inc.get("created_at"),
        "resolved_at": inc.get("resolved_at"),
        "status": inc.get("status"),
    }


def _change_event(item: Mapping[str, Any], services: Sequence[Mapping[str, Any]]) -> Event | None:
    """One PagerDuty change event as a ``deploy.*`` event (``source = "pagerduty"``), or ``None``."""
    at = _record_time(item, "timestamp")
    if at is None or not isinstance(item.get("id"), str):
        return None
    raw = item.get("custom_details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    status = str(details.get("status") or details.get("build_state") or "").lower()
    kind = CHANGE_KINDS.get(status, DEPLOY_SUCCEEDED)
    service = next((name for name in map(_ref_name, services) if name), None) or details.get(
        "service"
    )
    service = service if isinstance(service, str) else None
    links = [
        link
        for link in item.get("links") or []
        if isinstance(link, dict) and isinstance(link.get("href"), str)
    ]
    text = str(item.get("summary") or "change event")
    if service and service not in text:
        text += f" ({service})"
    scalar = (str, int, float, bool)
    return Event(
        at=at,
        source="pagerduty",
        kind=kind,
        ref=item["id"],
        summary=text,
        service=service,
        actor=details.get("actor") if isinstance(details.get("actor"), str) else None,
        url=links[0]["href"] if links else None,
        attrs={
            "change_event": True,
            "version": details.get("version")
            if isinstance(details.get("version"), scalar)
            else None,
            "environment": details.get("environment")
            if isinstance(details.get("environment"), str)
            else None,
            "status": status or None,
            "description": str(item.get("summary") or ""),
            "change_source": item.get("source") if isinstance(item.get("source"), str) else None,
        },
    )


def build_client(
    token: str,
    base_url: str,
    counter: RequestCounter,
    *,
    ca_bundle: str | None = None,
    max_retries: int = 5,
    max_wait: float = 60.0,
    timeout: float = 30.0,
    max_connections: int = 8,
    budget: RequestBudget | None = None,
    sleep: Callable[[float], None] = time.sleep,
    inner: httpx2.BaseTransport | None = None,
) -> Any:
    """A ``pagerduty.RestApiV2Client`` whose every request is bounded, budgeted, counted and verified.

    ``inner`` replaces the HTTPS transport under the retries (tests wrap it to watch requests);
    ``sleep`` is what retries wait with.
    """
    import ssl

    import pagerduty

    if inner is None:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        )
        limits = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        inner = httpx2.HTTPTransport(verify=verify, limits=limits)
    transport = RetryingTransport(
        inner, counter, max_retries=max_retries, max_wait=max_wait, sleep=sleep, budget=budget
    )
    client = pagerduty.RestApiV2Client(token, base_url=base_url, transport=transport)
    client.max_network_attempts = 0
    client.timeout = timeout
    return client
