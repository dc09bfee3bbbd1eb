"""PagerDuty incidents and their log entries as events: the collector the pipeline runs.

Incidents created in the window (padded by a margin) give the scope; the log entries come from
one paginated ``GET /log_entries`` stream for the window (``time_zone=UTC``), never one call per
incident, and only entries of in-scope incidents are kept. Given incident ids instead
(``--incident``), those incidents are the scope and each one's own log entries are read.

The calls are :class:`~.api.PagerDutyApi`'s, listings are read completely by
:mod:`.listing` (past the 10,000-record cap), records are checked one at a time and clipped to
the span they were read for (:mod:`.records`: a bad one is skipped and named, an out-of-span one
dropped and counted, both in ``detail``), and become events in :mod:`.events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...errors import CollectorError, InputError
from ...model import Event, RelatedIncidents, SourceExtras, Window, parse_time_or_none
from .._http import quote, scrub
from .._rate import RequestBudget
from ..base import RequestCounter
from .api import PagerDutyApi
from .events import log_entry_event, past_incident
from .records import (
    Tally,
    entry_incident_id,
    entry_problem,
    incident_problem,
    shown_id,
    within,
)


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
        created = parse_time_or_none(inc.get("created_at"))
        if created is None:
            raise CollectorError(
                "pagerduty", f"incident {inc.get('id')!r} has no readable created_at time"
            )
        starts.append(created)
        end = None
        if inc.get("status") == "resolved":
            end = parse_time_or_none(inc.get("resolved_at")) or parse_time_or_none(
                inc.get("last_status_change_at")
            )
        ends.append(max(created, end or now))
    if not starts:
        raise InputError("no incident was given: pass --incident with an incident number or id")
    return Window(min(starts) - lookback, max(ends) + after)


def _entries_until(until: datetime, incidents: Iterable[Mapping[str, Any]]) -> datetime:
    """``until``, moved past the last status change of any of ``incidents``."""
    for inc in incidents:
        for key in ("resolved_at", "last_status_change_at", "updated_at"):
            changed = parse_time_or_none(inc.get(key))
            if changed is not None:
                until = max(until, changed + timedelta(seconds=1))
    return until


def log_span(window: Window, margin: timedelta, inc: Mapping[str, Any]) -> Window:
    """The span one given incident's log entries are read over: ``window`` padded by
    ``margin``, from the incident's creation if earlier, past its last status change."""
    padded = window.padded(margin, margin)
    since = min(padded.since, parse_time_or_none(inc.get("created_at")) or padded.since)
    return Window(since, _entries_until(padded.until, [inc]))


def read_spans(
    window: Window,
    inc: Mapping[str, Any],
    *,
    margin: timedelta,
    related_lookback: timedelta,
    change_lookback: timedelta,
) -> tuple[list[Window], Window, Window]:
    """What a draft of one incident over ``window`` lists: incidents (the window's others, and
    the related lookback before the incident), its log entries, and change events."""
    incidents = [window]
    created = parse_time_or_none(inc.get("created_at"))
    if created is not None and related_lookback > timedelta(0):
        incidents.append(Window(created - related_lookback, created))
    changes = Window(window.since - change_lookback, window.until)
    return incidents, log_span(window, margin, inc), changes


class PagerDutyCollector:
    """Incident log entries (and, if asked, related incidents) from PagerDuty."""

    name = "pagerduty"

    def __init__(
        self,
        client: Any,
        counter: RequestCounter,
        *,
        service_ids: Sequence[str] = (),
        margin: timedelta = timedelta(minutes=60),
        incident_ids: Sequence[str] = (),
        incidents: Sequence[Mapping[str, Any]] = (),
        max_connections: int = 8,
        budget: RequestBudget | None = None,
        related_lookback: timedelta = timedelta(0),
        api: Any = None,
    ) -> None:
        self.api = api or PagerDutyApi(client, max_connections=max_connections)
        """The API calls, over ``client`` (a ``pagerduty.RestApiV2Client``), or ``api``'s (a
        batch run's shared reads)."""
        self.counter = counter
        self.service_ids = list(service_ids)
        """Only incidents (and change events) of these services; empty: every service."""
        self.margin = margin
        """How far before and after the window incidents are looked for."""
        self.incident_ids = list(incident_ids)
        """When given, the scope: these incidents (PagerDuty's ids), not the window's."""
        self.incidents_given = [dict(i) for i in incidents]
        """The scope's incident records already looked up (``--incident``): not fetched again."""
        self.budget = budget
        """The client's request budget, read only to report time spent waiting for it."""
        self.related_lookback = related_lookback
        """How far before the earliest in-scope incident past incidents are listed (0: not)."""
        self.tally = Tally()
        """Records skipped (named) and dropped outside their span (counted) in this run."""
        self._related: RelatedIncidents | None = None

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self.counter.value

    @property
    def detail(self) -> str | None:
        """What the run skipped, dropped or had to do beyond plain paging, or ``None``."""
        notes = [*self.tally.notes(), *self.api.remarks]
        if self.budget is not None and self.budget.waited >= 0.5:
            notes.append(
                f"waited {self.budget.waited:.0f} s in all for the request budget "
                f"({self.budget.limit} requests a minute)"
            )
        return scrub("; ".join(notes), self.api.secret) or None

    def extras(self) -> SourceExtras:
        """The related incidents, once collected with a lookback; else nothing."""
        return SourceExtras(related=self._related)

    def close(self) -> None:
        """Close the client's connections."""
        self.api.close()

    def collect(self, window: Window) -> Iterator[Event]:
        """The in-scope incidents' log entries as events (change events are
        :class:`~.changes.ChangeEventsCollector`'s, a line of their own)."""
        self.api.remarks.clear()
        self.tally.clear()
        self._related = None
        scope: list[dict[str, Any]] = []
        yield from self._log_events(window, scope)
        if scope and self.related_lookback > timedelta(0):
            self._related = self._related_incidents(scope)

    def _scope(self) -> list[dict[str, Any]]:
        """The ``--incident`` incidents: those given, else looked up by id (once, here)."""
        if self.incidents_given:
            return self.incidents_given
        return self.api.resolve_ids(self.incident_ids)

    def _log_events(self, window: Window, scope: list[dict[str, Any]]) -> Iterator[Event]:
        """The in-scope incidents' log entries as events; the incidents are added to ``scope``."""
        padded = window.padded(self.margin, self.margin)
        if self.incident_ids or self.incidents_given:
            for inc in self._scope():
                scope.append(inc)
                span = log_span(window, self.margin, inc)
                entries = self.api.log_entries(span, inc["id"])
                yield from self._entry_events(entries, span, {inc["id"]: inc}, own=inc["id"])
            return
        incidents = {i["id"]: i for i in self.incidents(window)}
        scope.extend(incidents.values())
        if not incidents:
            return
        span = Window(padded.since, _entries_until(padded.until, incidents.values()))
        yield from self._entry_events(self.api.log_entries(span), span, incidents)

    def _entry_events(
        self,
        entries: Iterable[Mapping[str, Any]],
        span: Window,
        incidents: Mapping[str, Mapping[str, Any]],
        own: str | None = None,
    ) -> Iterator[Event]:
        """``incidents``' entries as events: bad ones skipped, ones outside ``span`` dropped.

        ``own``: the incident whose own listing ``entries`` is, for entries without a reference.
        """
        for entry in entries:
            name = f"log entry {shown_id(entry.get('id'))}"
            incident_id, problem = entry_incident_id(entry)
            if own is not None and incident_id is None:
                incident_id, problem = own, None
            if incident_id is not None and incident_id not in incidents:
                continue
            problem = problem or entry_problem(entry)
            if problem is None and not within(parse_time_or_none(entry["created_at"]), span):
                self.tally.drop("log entry", span)
                continue
            event = None
            if problem is None and incident_id is not None:
                try:
                    event = log_entry_event(entry, incidents[incident_id])
                except (TypeError, ValueError, AttributeError) as exc:
                    problem = quote(f"{exc.__class__.__name__}: {exc}", self.api.secret)
            if event is None:
                self.tally.skip("log entry", name, problem or "it could not be read")
                continue
            yield event

    def _related_incidents(self, scope: Sequence[Mapping[str, Any]]) -> RelatedIncidents:
        """The in-scope incidents and the incidents created in the lookback before the earliest.

        One listing (paginated) over the lookback, filtered by ``service_ids`` when they are set;
        a failure is kept as ``error`` so the draft can say why the list is missing.
        """
        lookback_days = self.related_lookback.total_seconds() / 86400
        in_scope = tuple(past_incident(i) for i in scope)
        created = [
            t for t in (parse_time_or_none(i.get("created_at")) for i in scope) if t is not None
        ]
        if not created:
            return RelatedIncidents(lookback_days, scope=in_scope)
        earliest = min(created)
        ids = {i.get("id") for i in scope}
        span = Window(earliest - self.related_lookback, earliest)
        try:
            past = self._checked_incidents(
                self.api.list_incidents(span, self._service_params()), span, "related incident"
            )
        except CollectorError as exc:
            self.api.remarks.append(f"related incidents were not read: {exc.message}")
            return RelatedIncidents(lookback_days, scope=in_scope, error=exc.message)
        candidates = tuple(past_incident(i) for i in past if i.get("id") not in ids)
        return RelatedIncidents(lookback_days, scope=in_scope, candidates=candidates)

    def _service_params(self) -> dict[str, Any]:
        return {"service_ids[]": self.service_ids} if self.service_ids else {}

    def _checked_incidents(
        self, records: Iterable[dict[str, Any]], span: Window, what: str
    ) -> list[dict[str, Any]]:
        """``records`` that are usable incidents created in ``span``; the others counted."""
        kept = []
        for inc in records:
            problem = incident_problem(inc)
            if problem is not None:
                self.tally.skip(what, f"{what} {shown_id(inc.get('id'))}", problem)
            elif not within(parse_time_or_none(inc["created_at"]), span):
                self.tally.drop(what, span)
            else:
                kept.append(inc)
        return kept

    def incidents(self, window: Window) -> list[dict[str, Any]]:
        """The usable incidents created in ``window`` padded by the margin, filtered by service."""
        padded = window.padded(self.margin, self.margin)
        listed = self.api.list_incidents(padded, self._service_params())
        return self._checked_incidents(listed, padded, "incident")
