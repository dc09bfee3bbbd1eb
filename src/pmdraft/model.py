"""The data pmdraft passes between its stages: pure values, no I/O, no pandas.

An :class:`Event` is one instant typed by what it means (``alarm.alarm``,
``incident.acknowledged``, ``deploy.succeeded``...). An incident is therefore several events
sharing one ``ref``, never one row with several time columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .attrs import Attrs as Attrs
from .attrs import Scalar as Scalar

UTC = UTC

# Kinds, by source. A collector may only emit kinds listed here.
ALARM_ALARM = "alarm.alarm"
ALARM_OK = "alarm.ok"
ALARM_INSUFFICIENT_DATA = "alarm.insufficient_data"
ALARM_KINDS = (ALARM_ALARM, ALARM_OK, ALARM_INSUFFICIENT_DATA)

INCIDENT_TRIGGERED = "incident.triggered"
INCIDENT_NOTIFIED = "incident.notified"
INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
INCIDENT_UNACKNOWLEDGED = "incident.unacknowledged"
INCIDENT_ESCALATED = "incident.escalated"
INCIDENT_ASSIGNED = "incident.assigned"
INCIDENT_ANNOTATED = "incident.annotated"
INCIDENT_PRIORITY_CHANGED = "incident.priority_changed"
INCIDENT_URGENCY_CHANGED = "incident.urgency_changed"
INCIDENT_SNOOZED = "incident.snoozed"
INCIDENT_RESOLVED = "incident.resolved"
INCIDENT_OTHER = "incident.other"
INCIDENT_KINDS = (
    INCIDENT_TRIGGERED,
    INCIDENT_NOTIFIED,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_ESCALATED,
    INCIDENT_ASSIGNED,
    INCIDENT_ANNOTATED,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_URGENCY_CHANGED,
    INCIDENT_SNOOZED,
    INCIDENT_RESOLVED,
    INCIDENT_OTHER,
)

DEPLOY_STARTED = "deploy.started"
DEPLOY_SUCCEEDED = "deploy.succeeded"
DEPLOY_FAILED = "deploy.failed"
DEPLOY_ROLLED_BACK = "deploy.rolled_back"
DEPLOY_KINDS = (DEPLOY_STARTED, DEPLOY_SUCCEEDED, DEPLOY_FAILED, DEPLOY_ROLLED_BACK)

CHAT_MESSAGE = "chat.message"
"""Someone speaking in the incident's chat channel (Slack)."""

KINDS = frozenset((*ALARM_KINDS, *INCIDENT_KINDS, *DEPLOY_KINDS, CHAT_MESSAGE))

EXAMPLE_TIME = "2024-01-15T14:32:00Z"


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` converted to UTC; a naive datetime is rejected with a how-to."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            f"{what} has no time zone ({value.isoformat()}); "
            f"give an offset or Z, for example {EXAMPLE_TIME}"
        )
    return value.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time that carries an offset (``Z``, ``+00:00`` or ``+0000``) into UTC."""
    try:  # the common case, a UTC time as APIs write it, parsed in one call
        value = _fromisoformat(text)
        if value.tzinfo is UTC:
            return value
    except (TypeError, ValueError):
        pass
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return require_aware(value, f"time {text!r}")


def parse_time_or_none(value: object) -> datetime | None:
    """``value`` parsed as by :func:`parse_time`; ``None`` for a non-string, a naive or bad time."""
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def iso_z(value: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC ending in ``Z`` (microseconds only if set).

    A UTC time with a four-digit year (every event's) is read off ``isoformat``, one C call
    (a busy month's JSON draft writes 35,500 of them); any other goes through ``strftime``.
    """
    if value.tzinfo is UTC and value.year >= 1000:
        text = value.isoformat()
        return (text[:26].rstrip("0") if value.microsecond else text[:19]) + "Z"
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True, slots=True, init=False)
class Event:
    """One instant in an incident's story, from one source.

    ``at`` is normalised to UTC (naive datetimes are rejected); ``ref`` is the stable id of the
    source object (alarm ARN, incident id, deploy id) so the events of one object can be
    grouped; ``attrs`` holds extra facts as scalars only, read-only (an :class:`Attrs`, whatever
    mapping was given).
    """

    at: datetime
    source: str
    kind: str
    ref: str
    summary: str
    service: str | None = None
    actor: str | None = None
    url: str | None = None
    attrs: Mapping[str, Scalar] = field(default_factory=dict)

    def __init__(
        self,
        at: datetime,
        source: str,
        kind: str,
        ref: str,
        summary: str,
        service: str | None = None,
        actor: str | None = None,
        url: str | None = None,
        attrs: Mapping[str, Scalar] | None = None,
    ) -> None:
        # Written out (not the dataclass's): one check of each field, and each slot set once
        # through its descriptor, so a million events cost about half what they did. The common
        # case (an aware UTC datetime, plain strings) is checked by type alone.
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = require_aware(at, "Event.at")
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}; known: {sorted(KINDS)}")
        if type(source) is not str or type(ref) is not str or type(summary) is not str:
            for name, value in (("source", source), ("ref", ref), ("summary", summary)):
                if not isinstance(value, str):
                    raise TypeError(f"Event.{name} must be a string")
        _set_at(self, at)
        _set_source(self, source)
        _set_kind(self, kind)
        _set_ref(self, ref)
        _set_summary(self, summary)
        _set_service(self, service)
        _set_actor(self, actor)
        _set_url(self, url)
        _set_attrs(self, attrs if type(attrs) is Attrs else Attrs(attrs))

    def __hash__(self) -> int:
        return hash(
            (
                self.at,
                self.source,
                self.kind,
                self.ref,
                self.summary,
                self.service,
                self.actor,
                self.url,
                tuple(sorted(self.attrs.items())),
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled field by field and restored unchecked (it was checked when made): about half
        # the dataclass's way, which looks up its fields once an event (a forked collector
        # sends its events back pickled, .apart).
        return (
            unchecked_event,
            (
                self.at,
                self.source,
                self.kind,
                self.ref,
                self.summary,
                self.service,
                self.actor,
                self.url,
                self.attrs,
            ),
        )

    def to_record(self) -> dict[str, Any]:
        """The event as a plain dict with ``at`` as ISO 8601 UTC (the JSON contract's shape)."""
        return {
            "at": iso_z(self.at),
            "source": self.source,
            "kind": self.kind,
            "ref": self.ref,
            "summary": self.summary,
            "service": self.service,
            "actor": self.actor,
            "url": self.url,
            "attrs": Attrs(self.attrs).to_dict(),
        }


_SETTERS: list[Callable[[Event, Any], None]] = [vars(Event)[f.name].__set__ for f in fields(Event)]
_set_at, _set_source, _set_kind, _set_ref, _set_summary = _SETTERS[:5]
_set_service, _set_actor, _set_url, _set_attrs = _SETTERS[5:]
"""Slot setters of ``Event`` (field order): they bypass the frozen ``__setattr__``."""


def unchecked_event(
    at: datetime,
    source: str,
    kind: str,
    ref: str,
    summary: str,
    service: str | None,
    actor: str | None,
    url: str | None,
    attrs: Attrs,
) -> Event:
    """An :class:`Event` of values an ``Event`` already accepted, set without checking them
    again: an event unpickled (:meth:`Event.__reduce__`), a frame's rows made back into events
    (:func:`pmdraft.timeline.frame.frame_events`)."""
    event: Event = object.__new__(Event)
    _set_at(event, at)
    _set_source(event, source)
    _set_kind(event, kind)
    _set_ref(event, ref)
    _set_summary(event, summary)
    _set_service(event, service)
    _set_actor(event, actor)
    _set_url(event, url)
    _set_attrs(event, attrs)
    return event


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time window ``[since, until)``, both aware, normalised to UTC."""

    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        since = require_aware(self.since, "since")
        until = require_aware(self.until, "until")
        if not since < until:
            raise ValueError(
                f"until ({iso_z(until)}) must be after since ({iso_z(since)}); "
                "the window is [since, until)"
            )
        object.__setattr__(self, "since", since)
        object.__setattr__(self, "until", until)

    def __contains__(self, at: datetime) -> bool:
        return self.since <= at < self.until

    def padded(self, before: timedelta = timedelta(0), after: timedelta = timedelta(0)) -> Window:
        """A wider window: ``before`` earlier and ``after`` later."""
        return Window(self.since - before, self.until + after)

    @property
    def duration(self) -> timedelta:
        """How long the window is."""
        return self.until - self.since


def merged_spans(spans: Iterable[Window]) -> list[Window]:
    """``spans`` with those that overlap or touch merged: disjoint, in time order."""
    out: list[Window] = []
    for span in sorted(spans, key=lambda w: (w.since, w.until)):
        if out and span.since <= out[-1].until:
            out[-1] = Window(out[-1].since, max(out[-1].until, span.until))
        else:
            out.append(span)
    return out


def span_union(spans: Iterable[Window]) -> Window | None:
    """The one span from the earliest start to the latest end, or ``None`` for no spans."""
    listed = list(spans)
    if not listed:
        return None
    return Window(min(s.since for s in listed), max(s.until for s in listed))


class SourceStatus(StrEnum):
    """How reading one source ended, as the draft's Sources table and JSON say it."""

    OK = "ok"
    FAILED = "failed"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True, slots=True)
class IncidentRef:
    """One PagerDuty incident of the draft (its Incident table row), from its events' attrs."""

    id: str
    number: int | None = None
    title: str | None = None
    url: str | None = None
    priority: str | None = None
    urgency: str | None = None
    service: str | None = None
    escalation_policy: str | None = None
    assignees: tuple[str, ...] = ()
    acknowledged_by: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The plain dict templates and the JSON see (lists, not tuples)."""
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "priority": self.priority,
            "urgency": self.urgency,
            "service": self.service,
            "escalation_policy": self.escalation_policy,
            "assignees": list(self.assignees),
            "acknowledged_by": list(self.acknowledged_by),
        }


@dataclass(frozen=True, slots=True)
class PastIncident:
    """A PagerDuty incident as the related-incidents ranking needs it (times as ISO 8601 text)."""

    id: str | None
    number: int | None = None
    title: str = ""
    url: str | None = None
    service_id: str | None = None
    service: str | None = None
    created_at: str | None = None
    resolved_at: str | None = None
    status: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The plain dict, in the field order above."""
        return {
            "id": self.id,
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "service_id": self.service_id,
            "service": self.service,
            "created_at": self.created_at,
            "resolved_at": self.resolved_at,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class RelatedIncidents:
    """The draft's own incidents and the past ones listed in the lookback before them."""

    lookback_days: float
    """How far back the listing went, in days."""
    scope: tuple[PastIncident, ...] = ()
    """The incidents in scope (the draft's own), as read."""
    candidates: tuple[PastIncident, ...] = ()
    """Every other incident created in the lookback (before ranking)."""
    error: str | None = None
    """Why the listing failed, when it did (the draft says so instead of an empty list)."""


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One alarmed metric's datapoints (from GetMetricData), oldest first, for the graphs."""

    alarm_name: str
    ref: str
    account: str | None
    region: str
    metric: str | None
    namespace: str | None
    statistic: str | None
    period: int | None
    threshold: float | None
    comparison_operator: str | None
    times: tuple[str, ...] = ()
    """ISO 8601 UTC, one per value."""
    values: tuple[float, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The plain dict (lists, not tuples)."""
        return {
            "alarm_name": self.alarm_name,
            "ref": self.ref,
            "account": self.account,
            "region": self.region,
            "metric": self.metric,
            "namespace": self.namespace,
            "statistic": self.statistic,
            "period": self.period,
            "threshold": self.threshold,
            "comparison_operator": self.comparison_operator,
            "times": list(self.times),
            "values": list(self.values),
        }


@dataclass(frozen=True, slots=True)
class SourceExtras:
    """What a source gives besides events, typed: read by the draft, never by string paths."""

    related: RelatedIncidents | None = None
    """PagerDuty: past incidents for the Related Incidents section."""
    series: tuple[MetricSeries, ...] = ()
    """CloudWatch: the alarmed metrics' datapoints, for the graphs."""
