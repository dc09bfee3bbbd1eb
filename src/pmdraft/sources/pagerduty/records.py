"""Checking PagerDuty records one at a time, and counting what was skipped or dropped.

A record that cannot become an event (a field of the wrong type, no readable time, no incident
reference) is skipped and named, by its id and the field, in the source's ``detail``; a record
dated outside the window read (plus its margins) is dropped and counted. Neither fails the
source. Pure functions of the API's JSON; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...model import Window, iso_z, parse_time_or_none

NAMED = 5
"""Skipped records named in the source's detail per kind of record; the rest are counted."""

_TEXT = "text"
_OBJECT = "an object"

INCIDENT_FIELDS = {
    "title": _TEXT,
    "urgency": _TEXT,
    "html_url": _TEXT,
    "status": _TEXT,
    "incident_key": _TEXT,
    "service": _OBJECT,
    "priority": _OBJECT,
    "escalation_policy": _OBJECT,
}
"""An incident's optional fields (``null`` is fine) and what each must be when present."""

ENTRY_FIELDS = {
    "type": _TEXT,
    "summary": _TEXT,
    "note": _TEXT,
    "html_url": _TEXT,
    "agent": _OBJECT,
    "user": _OBJECT,
    "channel": _OBJECT,
    "event_details": _OBJECT,
}
"""A log entry's optional fields and what each must be when present."""


def _kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def _wrong(record: Mapping[str, Any], fields: Mapping[str, str]) -> str | None:
    for name, want in fields.items():
        value = record.get(name)
        if value is None:
            continue
        ok = isinstance(value, str) if want == _TEXT else isinstance(value, dict)
        if not ok:
            return f"{name} is {_kind_of(value)}, not {want}"
    return None


def shown_id(value: object) -> str:
    """A record's id as a message shows it: text cut to 40 characters, else ``(no id)``."""
    return value[:40] if isinstance(value, str) and value else "(no id)"


def time_problem(record: Mapping[str, Any], key: str) -> str | None:
    """Why ``record[key]`` is not a readable aware time, or ``None`` if it is."""
    if parse_time_or_none(record.get(key)) is not None:
        return None
    value = record.get(key)
    if value is None:
        return f"{key} is missing or null"
    if not isinstance(value, str):
        return f"{key} is {_kind_of(value)}, not a time"
    return f"{key} {value[:40]!r} is not a time with a UTC offset"


def incident_problem(inc: Mapping[str, Any], *, need_time: bool = True) -> str | None:
    """Why the incident ``inc`` cannot be used, naming the field; ``None`` if it can."""
    if not isinstance(inc.get("id"), str) or not inc.get("id"):
        return "id is missing or not text"
    number = inc.get("incident_number")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
        return f"incident_number is {_kind_of(number)}, not a whole number"
    wrong = _wrong(inc, INCIDENT_FIELDS)
    if wrong is None and need_time:
        wrong = time_problem(inc, "created_at")
    return wrong


def entry_incident_id(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The id of the incident a log entry belongs to, or why it has none readable."""
    ref = entry.get("incident")
    if ref is None:
        return None, "incident is missing or null"
    if not isinstance(ref, dict):
        return None, f"incident is {_kind_of(ref)}, not an object"
    ident = ref.get("id")
    if not isinstance(ident, str) or not ident:
        return None, "incident has no id"
    return ident, None


def entry_problem(entry: Mapping[str, Any]) -> str | None:
    """Why the log entry cannot become an event, naming the field; ``None`` if it can."""
    wrong = time_problem(entry, "created_at") or _wrong(entry, ENTRY_FIELDS)
    assignees = entry.get("assignees")
    listed = isinstance(assignees, list) and all(isinstance(a, dict) for a in assignees)
    if wrong is None and assignees is not None and not listed:
        wrong = "assignees is not a list of objects"
    return wrong


def change_problem(item: Mapping[str, Any]) -> str | None:
    """Why the change event cannot become an event, naming the field; ``None`` if it can."""
    if not isinstance(item.get("id"), str) or not item.get("id"):
        return "id is missing or not text"
    wrong = time_problem(item, "timestamp") or _wrong(
        item, {"summary": _TEXT, "source": _TEXT, "custom_details": _OBJECT}
    )
    if wrong is None and not isinstance(item.get("services") or [], list):
        wrong = "services is not a list"
    if wrong is None and not isinstance(item.get("links") or [], list):
        wrong = "links is not a list"
    return wrong


def within(at: datetime | None, window: Window) -> bool:
    """Whether ``at`` falls in ``[since, until)`` of ``window``."""
    return at is not None and window.since <= at < window.until


class Tally:
    """The records skipped (named) and dropped (counted) while a source was read."""

    def __init__(self) -> None:
        self.skipped: dict[str, list[str]] = {}
        """Kind of record (``log entry``) -> each skipped one, named with its field."""
        self.dropped: dict[str, tuple[int, Window]] = {}
        """Kind of record -> how many were dated outside the window read, and that window."""

    def clear(self) -> None:
        """Forget everything (a collector collects again)."""
        self.skipped.clear()
        self.dropped.clear()

    def skip(self, what: str, name: str, problem: str) -> None:
        """Count one ``what`` (``log entry``) named ``name`` as skipped because of ``problem``."""
        self.skipped.setdefault(what, []).append(f"{name}: {problem}")

    def drop(self, what: str, window: Window) -> None:
        """Count one ``what`` dated outside ``window`` (the span it was read for)."""
        n, _ = self.dropped.get(what, (0, window))
        self.dropped[what] = (n + 1, window)

    def notes(self) -> list[str]:
        """One sentence per kind of record skipped or dropped, for the source's detail."""
        out = []
        for what, names in self.skipped.items():
            more = len(names) - NAMED
            tail = f"; and {more} more" if more > 0 else ""
            out.append(f"{_count(len(names), what)} skipped: {'; '.join(names[:NAMED])}{tail}")
        for what, (n, window) in self.dropped.items():
            out.append(
                f"{_count(n, what)} dated outside the span read ({iso_z(window.since)} to "
                f"{iso_z(window.until)}) dropped"
            )
        return out


def _count(n: int, what: str) -> str:
    plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
    return f"{n:,} {what if n == 1 else plural}"
