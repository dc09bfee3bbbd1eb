"""The data pmdraft passes between its stages: pure values, no I/O, no pandas.

An :class:`Event` is one instant typed by what it means (``alarm.alarm``,
``incident.acknowledged``, ``deploy.succeeded``...). An incident is therefore several events
sharing one ``ref``, never one row with several time columns.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

UTC = UTC

Scalar = str | int | float | bool | None
_SCALARS = (str, int, float, bool, type(None))

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
    """Format an aware datetime as ISO 8601 UTC ending in ``Z`` (microseconds only if set)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


class _Shape:
    """The keys of one attrs layout, in order, and where each key's value sits: the first
    ``split`` values are a shared base's, the rest the mapping's own."""

    __slots__ = ("index", "keys", "split")

    def __init__(self, keys: tuple[str, ...], split: int = 0) -> None:
        self.keys = keys
        self.index = {key: i for i, key in enumerate(keys)}
        self.split = split


_SHAPES: dict[tuple[Any, ...], _Shape] = {}
"""Layouts seen so far (a collector makes a handful), shared by every event that has one."""
MAX_SHAPES = 4096
"""Layouts kept for sharing; past this many, a new layout is still used, just not shared."""
_SCALAR_TYPES = frozenset(_SCALARS)


def _shape(keys: tuple[str, ...], base: _Shape | None) -> _Shape | None:
    """The shared layout of ``keys`` (after ``base``'s keys, if given), keys checked once;
    ``None`` when a key is also one of ``base``'s (the caller then makes one flat layout)."""
    found = _SHAPES.get((base, keys) if base else keys)
    if found is not None:
        return found
    for key in keys:
        if not isinstance(key, str):
            raise TypeError(f"Event.attrs key {key!r} must be a string")
    if base is not None and not base.index.keys().isdisjoint(keys):
        return None
    made = _Shape((*base.keys, *keys), len(base.keys)) if base else _Shape(keys)
    if len(_SHAPES) >= MAX_SHAPES:
        return made
    return _SHAPES.setdefault((base, keys) if base else keys, made)


class Attrs(Mapping[str, Scalar]):
    """An event's extra facts: a read-only mapping of ``str`` to scalars, stored compactly.

    Each event keeps only a tuple of its values; the keys, in order, are kept once per layout
    and shared by every event with that layout (a collector makes a handful). Facts common to
    many events (an incident's title, an alarm's metric) can be kept once too: made into one
    ``Attrs`` and given as ``base``, they are shared, not copied, and read as if they came
    first. Reads, iteration order, equality with any mapping and ``dict(attrs)`` behave as for
    the dict ``{**base, **items}``.

    Like any Python class with ``__getitem__`` and ``__len__``, numpy takes it for a sequence:
    ``np.array(list_of_attrs, dtype=object)`` unpacks them; use ``np.fromiter(..., dtype=object)``
    (pandas ``Series`` and ``DataFrame`` keep them whole).
    """

    __slots__ = ("_base", "_shape", "_values")

    _base: Attrs | None
    _shape: _Shape
    _values: tuple[Scalar, ...]

    def __new__(cls, items: Mapping[str, Scalar] | None = None, base: Attrs | None = None) -> Attrs:
        """``items`` checked (string keys, scalar values) and copied; an ``Attrs`` is reused."""
        if type(items) is Attrs and base is None:
            return items
        given: Mapping[str, Scalar] = (
            items if type(items) is dict else {} if items is None else dict(items)
        )
        if base is not None and (type(base) is not Attrs or base._base is not None):
            base = cls(base if type(base) is not Attrs else base.to_dict())  # one flat base
        shape = _shape(tuple(given), base._shape if base else None)
        if shape is None:  # a key given again: one flat layout, as {**base, **items} would be
            return cls({**base.to_dict(), **given})  # type: ignore[union-attr]  # base is set
        values = tuple(given.values())
        if not _SCALAR_TYPES.issuperset(map(type, values)):
            for key, value in given.items():
                if not isinstance(value, _SCALARS):
                    raise TypeError(
                        f"Event.attrs[{key!r}] must be a scalar (str, int, float, bool, None), "
                        f"got {type(value).__name__}"
                    )
        made = _new(cls)
        _SET_BASE(made, base)
        _SET_SHAPE(made, shape)
        _SET_VALUES(made, values)
        return made

    def _all(self) -> tuple[Scalar, ...]:
        base = self._base
        return self._values if base is None else base._values + self._values

    def __getitem__(self, key: str) -> Scalar:
        i = self._shape.index[key]
        split = self._shape.split
        if i < split:
            return self._base._values[i]  # type: ignore[union-attr]  # split > 0: a base
        return self._values[i - split]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        i = self._shape.index.get(key)
        if i is None:
            return default
        split = self._shape.split
        if i < split:
            return self._base._values[i]  # type: ignore[union-attr]  # split > 0: a base
        return self._values[i - split]

    def __contains__(self, key: object) -> bool:
        return key in self._shape.index

    def keys(self) -> KeysView[str]:
        """The keys, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().keys()

    def items(self) -> ItemsView[str, Scalar]:
        """The items, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().items()

    def values(self) -> ValuesView[Scalar]:
        """The values, in order (a view of a snapshot: an ``Attrs`` never changes)."""
        return self.to_dict().values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._shape.keys)

    def __len__(self) -> int:
        return len(self._shape.keys)

    def __eq__(self, other: object) -> bool:
        if type(other) is Attrs and other._shape is self._shape and other._base is self._base:
            return self._values == other._values
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # read-only, but like dict never a dict key

    def to_dict(self) -> dict[str, Scalar]:
        """A new plain dict of the same items, in the same order."""
        return dict(zip(self._shape.keys, self._all(), strict=True))

    def __repr__(self) -> str:
        return f"Attrs({self.to_dict()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Attrs, (self.to_dict(),))


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


_new = object.__new__
_SET_BASE: Callable[[Attrs, Attrs | None], None] = vars(Attrs)["_base"].__set__
_SET_SHAPE: Callable[[Attrs, _Shape], None] = vars(Attrs)["_shape"].__set__
_SET_VALUES: Callable[[Attrs, tuple[Scalar, ...]], None] = vars(Attrs)["_values"].__set__
_SETTERS: list[Callable[[Event, Any], None]] = [vars(Event)[f.name].__set__ for f in fields(Event)]
_set_at, _set_source, _set_kind, _set_ref, _set_summary = _SETTERS[:5]
_set_service, _set_actor, _set_url, _set_attrs = _SETTERS[5:]
"""Slot setters of ``Attrs`` and ``Event`` (field order): they bypass the frozen ``__setattr__``."""


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
