"""What the PagerDuty stand-in answers: its record store, query parsing and listings.

PagerDuty's classic pagination, ``[since, until)`` windows, newest-first order, times rendered in
the asked zone, and its error bodies, as pure functions over a sorted index (``bisect``), so a
request costs O(log n + page).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .pagerduty_records import _STATUSES, _aware_utc

_Obj = dict[str, Any]  # a JSON object, as PagerDuty sends it

DEFAULT_LIMIT = 25
"""Page size when a request gives no ``limit``."""
MAX_LIMIT = 100
"""Largest page; a larger ``limit`` is clamped to it (and echoed clamped)."""
MAX_OFFSET_PLUS_LIMIT = 10_000
"""Pagination depth beyond which PagerDuty answers 400."""
DEFAULT_INCIDENT_WINDOW = timedelta(days=30)
"""Span of ``GET /incidents`` without ``since``, ending at ``until`` or now."""
MAX_INCIDENT_WINDOW = timedelta(days=184)
"""Longest ``since``..``until`` span ``GET /incidents`` accepts: six months."""

_TIME_KEYS = frozenset(
    {
        "created_at",
        "updated_at",
        "last_status_change_at",
        "resolved_at",
        "at",
        "started_at",
        "ended_at",
        "requested_at",
        "timestamp",
    }
)
_DETAIL_ONLY_TYPES = frozenset({"notify_log_entry"})  # what is_overview=true leaves out
_ERROR_CODES = {400: 2001, 401: 2006, 403: 2010, 404: 2100, 429: 2020}
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})
_INVALID = "Invalid Input Provided"


@dataclass(frozen=True)
class RequestRecord:
    """One request the stand-in answered: its method, URL path, decoded query and status."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class _Instant:
    """A stored time, rendered in the request's zone when the response is encoded."""

    __slots__ = ("ts", "utc")

    def __init__(self, utc: datetime) -> None:
        self.utc, self.ts = utc, utc.timestamp()

    def render(self, zone: ZoneInfo) -> str:
        text = self.utc.astimezone(zone).isoformat(timespec="seconds")
        return text[:-6] + "Z" if zone.key in _UTC_KEYS else text


def _prepare(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _prepare(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    if key in _TIME_KEYS and isinstance(value, str | datetime):
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return _Instant(_aware_utc(when, key))
    return value


class _Index:
    """Records sorted oldest first, with their UTC epoch seconds for ``bisect``."""

    def __init__(self, rows: list[tuple[float, int, _Obj]]) -> None:
        self.keys, self.items = [row[0] for row in rows], [row[2] for row in rows]

    def window(self, since: float | None, until: float | None) -> tuple[int, int]:
        lo = 0 if since is None else bisect.bisect_left(self.keys, since)
        hi = len(self.keys) if until is None else bisect.bisect_left(self.keys, until)
        return lo, max(lo, hi)

    def newest_first(self, lo: int, hi: int, offset: int, limit: int) -> list[_Obj]:
        top = hi - offset
        return self.items[max(lo, top - limit) : top][::-1] if top > lo else []


_NO_ENTRIES = (_Index([]), _Index([]))


@dataclass(frozen=True)
class _Store:
    """Everything a request reads, rebuilt whole on each add and swapped in at once."""

    incidents: dict[str, _Obj]
    incident_index: _Index
    entry_index: tuple[_Index, _Index]  # every entry, and the is_overview subset
    by_incident: dict[str, tuple[_Index, _Index]]
    notes: dict[str, list[_Obj]]
    numbers: dict[
        str, str
    ]  # incident number -> id: /incidents/{id} takes either, as PagerDuty does
    changes: _Index  # change events, on their timestamp


class _ApiError(Exception):
    def __init__(self, status: int, message: str, *errors: str) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, list(errors)


def _error_body(status: int, message: str, errors: list[str] | None = None) -> _Obj:
    error: dict[str, Any] = {"message": message}
    if status in _ERROR_CODES:
        error["code"] = _ERROR_CODES[status]
    if errors:
        error["errors"] = errors
    return {"error": error}


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _page(query: dict[str, list[str]]) -> tuple[int, int, bool]:
    numbers = []
    for name, default in (("limit", DEFAULT_LIMIT), ("offset", 0)):
        raw = _one(query, name)
        value = default if raw in (None, "") else int(raw) if raw.isdigit() else -1
        if value < 0 or (name == "limit" and value == 0):
            raise _ApiError(400, _INVALID, f"{name} {raw!r} is not a whole number")
        numbers.append(value)
    limit, offset = min(numbers[0], MAX_LIMIT), numbers[1]
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise _ApiError(
            400,
            _INVALID,
            f"offset + limit ({offset} + {limit}) must not exceed "
            f"{MAX_OFFSET_PLUS_LIMIT}: narrow since/until instead of paging deeper",
        )
    return limit, offset, _one(query, "total") == "true"


def _instant(query: dict[str, list[str]], name: str, zone: ZoneInfo) -> float | None:
    raw = _one(query, name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _ApiError(
            400, _INVALID, f"{name} {raw!r} is not an ISO 8601 time such as 2024-01-15T14:32:00Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=zone)).timestamp()


def list_incidents(index: _Index, query: dict[str, list[str]], zone: ZoneInfo) -> _Obj:
    limit, offset, want_total = _page(query)
    if _one(query, "date_range") == "all":
        lo, hi = 0, len(index.items)
    else:
        since, until = _instant(query, "since", zone), _instant(query, "until", zone)
        until = time.time() if until is None else until
        since = until - DEFAULT_INCIDENT_WINDOW.total_seconds() if since is None else since
        if not 0 <= until - since <= MAX_INCIDENT_WINDOW.total_seconds():
            raise _ApiError(
                400, _INVALID, "since must not be after until, nor more than 6 months before it"
            )
        lo, hi = index.window(since, until)
    statuses = query.get("statuses[]")
    if statuses and not set(statuses) <= set(_STATUSES):
        raise _ApiError(
            400, _INVALID, "Status must be a list of triggered, acknowledged, or resolved."
        )
    services, urgencies = query.get("service_ids[]"), query.get("urgencies[]")
    teams = query.get("team_ids[]")
    if statuses or services or urgencies or teams:
        matched = [
            item
            for item in reversed(index.items[lo:hi])
            if (not statuses or item["status"] in statuses)
            and (not services or item["service"]["id"] in services)
            and (not urgencies or item["urgency"] in urgencies)
            and (not teams or any(t["id"] in teams for t in item["teams"]))
        ]
        total, page = len(matched), matched[offset : offset + limit]
    else:
        total, page = hi - lo, index.newest_first(lo, hi, offset, limit)
    return {
        "incidents": page,
        "limit": limit,
        "offset": offset,
        "more": offset + len(page) < total,
        "total": total if want_total else None,
    }


def list_changes(index: _Index, query: dict[str, list[str]], zone: ZoneInfo) -> _Obj:
    limit, offset, want_total = _page(query)
    lo, hi = index.window(_instant(query, "since", zone), _instant(query, "until", zone))
    page = index.newest_first(lo, hi, offset, limit)
    return {
        "change_events": page,
        "limit": limit,
        "offset": offset,
        "more": offset + len(page) < hi - lo,
        "total": hi - lo if want_total else None,
    }


def list_entries(
    indexes: tuple[_Index, _Index], query: dict[str, list[str]], zone: ZoneInfo
) -> _Obj:
    limit, offset, want_total = _page(query)
    index = indexes[1] if _one(query, "is_overview") == "true" else indexes[0]
    lo, hi = index.window(_instant(query, "since", zone), _instant(query, "until", zone))
    page = index.newest_first(lo, hi, offset, limit)
    return {
        "log_entries": page,
        "limit": limit,
        "offset": offset,
        "more": offset + len(page) < hi - lo,
        "total": hi - lo if want_total else None,
    }
