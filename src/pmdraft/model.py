"""The data pmdraft passes between its stages: pure values, no I/O, no pandas.

An :class:`Event` is one instant typed by what it means (``alarm.alarm``,
``incident.acknowledged``, ``deploy.succeeded``...). An incident is therefore several events
sharing one ``ref``, never one row with several time columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
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

KINDS = frozenset(ALARM_KINDS + INCIDENT_KINDS + DEPLOY_KINDS + ("chat.message",))

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


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time that carries an offset (``Z``, ``+00:00`` or ``+0000``) into UTC."""
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


@dataclass(frozen=True, slots=True)
class Event:
    """One instant in an incident's story, from one source.

    ``at`` is normalised to UTC (naive datetimes are rejected); ``ref`` is the stable id of the
    source object (alarm ARN, incident id, deploy id) so the events of one object can be
    grouped; ``attrs`` holds extra facts as scalars only, read-only.
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "Event.at"))
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}; known: {sorted(KINDS)}")
        for name in ("source", "ref", "summary"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Event.{name} must be a string")
        attrs: dict[str, Scalar] = {}
        for key, value in dict(self.attrs).items():
            if not isinstance(key, str) or not isinstance(value, _SCALARS):
                raise TypeError(
                    f"Event.attrs[{key!r}] must be a scalar (str, int, float, bool, None), "
                    f"got {type(value).__name__}"
                )
            attrs[key] = value
        object.__setattr__(self, "attrs", MappingProxyType(attrs))

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
            "attrs": dict(self.attrs),
        }


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


# Facts the timeline finds and words.py says: plain values, no English. A renderer turns each into
# a sentence with :mod:`pmdraft.words`; the timeline never phrases anything itself.

ROUTINE_FAMILY: Mapping[str, str] = MappingProxyType(
    {
        ALARM_ALARM: "alarm",
        ALARM_OK: "alarm",
        ALARM_INSUFFICIENT_DATA: "alarm",
        INCIDENT_NOTIFIED: "notification",
        INCIDENT_ASSIGNED: "assignment",
        INCIDENT_UNACKNOWLEDGED: "update",
        INCIDENT_PRIORITY_CHANGED: "update",
        INCIDENT_URGENCY_CHANGED: "update",
        INCIDENT_SNOOZED: "update",
        INCIDENT_OTHER: "update",
    }
)
"""Kinds whose long runs may fold into one timeline line -> their family (a run is one family)."""


class Rule(StrEnum):
    """The rule that placed a milestone."""

    BREACH_START = "breach_start"
    """Earliest breach start of an alarm that went to ALARM (``detail``: how it was dated)."""
    FIRST_TRIGGER = "first_trigger"
    TRIGGER_UPPER_BOUND = "trigger_upper_bound"
    """The first trigger, standing in for impact start because CloudWatch could not be read."""
    FIRST_SIGNAL = "first_signal"
    FIRST_NOTIFICATION = "first_notification"
    TRIGGER_NO_NOTIFICATION = "trigger_no_notification"
    FIRST_ACK = "first_ack"
    LAST_RECOVERY = "last_recovery"
    LAST_RESOLUTION = "last_resolution"
    FROM_MITIGATED = "from_mitigated"
    SET_BY_HAND = "set_by_hand"
    TOP_LEAD = "top_lead"
    """The top-ranked suspect deploy (``reasons`` and ``lookback`` say why)."""
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class SameService:
    """A lead deployed a service an alarm or incident names."""

    service: str


@dataclass(frozen=True, slots=True)
class OtherService:
    """A lead deployed no affected service; ``any_named``: whether any service was named at all."""

    any_named: bool


@dataclass(frozen=True, slots=True)
class BeforeImpact:
    """A lead went out ``seconds`` before impact start (0: at it)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class WentBad:
    """A lead's deploy failed (or was rolled back) at ``at``, before or after impact start."""

    rolled_back: bool
    at: datetime
    after_impact: bool


@dataclass(frozen=True, slots=True)
class StagedRollout:
    """A lead is the latest of ``stages``; the first went out ``first_before`` s before impact."""

    stages: tuple[str, ...]
    first_before: float


@dataclass(frozen=True, slots=True)
class LatentDeploy:
    """A long-lookback deploy of ``service``, ``before`` s before impact, within ``days``."""

    service: str
    days: float
    before: float


Reason = SameService | OtherService | BeforeImpact | WentBad | StagedRollout | LatentDeploy
"""Why a deploy is a suspect."""


@dataclass(frozen=True, slots=True)
class Milestone:
    """A moment of the incident, the rule that found it, and the event it came from."""

    at: datetime
    rule: Rule
    ref: str | None = None
    summary: str | None = None
    event_at: datetime | None = None
    """When the event that set it happened (differs from ``at`` for a breach start)."""
    detail: str | None = None
    """:attr:`Rule.BREACH_START`: how the source dated the breach (its own words, as data)."""
    reasons: tuple[Reason, ...] = ()
    """:attr:`Rule.TOP_LEAD`: the lead's reasons."""
    lookback: timedelta | None = None
    """:attr:`Rule.TOP_LEAD`: the suspect lookback it was ranked in."""


@dataclass(frozen=True, slots=True)
class NoAlarmFired:
    """No alarm went to ALARM, so no alarm recovery dates mitigation."""


@dataclass(frozen=True, slots=True)
class AlarmsUnread:
    """CloudWatch could not be read, so alarm recoveries are missing."""


@dataclass(frozen=True, slots=True)
class DetectUnknown:
    """CloudWatch could not be read, so time_to_detect is unknown."""


@dataclass(frozen=True, slots=True)
class FlapIgnored:
    """``alarm`` recovered at ``at`` but went back to ALARM, so that recovery is not used."""

    alarm: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StillFiring:
    """``alarm`` ends the window in ``state``, so mitigation is unknown."""

    alarm: str
    state: str


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Incident ``incident`` (its number, else its id) has no resolution in the data."""

    incident: str


@dataclass(frozen=True, slots=True)
class RollbackMitigation:
    """A rollback (``summary``) at ``at``, ``after_detection`` seconds after detection."""

    summary: str
    at: datetime
    after_detection: float


Note = (
    NoAlarmFired
    | AlarmsUnread
    | DetectUnknown
    | FlapIgnored
    | StillFiring
    | Unresolved
    | RollbackMitigation
)
"""What was unclear about a milestone, or worth saying beside it."""


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event on its own timeline line: the event's own fields."""

    source: str
    kind: str
    ref: str
    summary: str
    service: str | None
    actor: str | None
    attrs: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True)
class LinkedLine:
    """An alarm's transition to ALARM and the PagerDuty trigger it caused, as one line."""

    alarm: str
    old_state: Scalar
    new_state: Scalar
    reason: Scalar
    incident_number: Scalar
    paged_at: datetime | None
    """When the trigger happened, if it is shown (not folded into a run)."""


@dataclass(frozen=True, slots=True)
class NotifiedLine:
    """One page-out: each person notified (``None``: not named) and their channels in order."""

    incident_number: Scalar
    people: tuple[tuple[Scalar, tuple[Scalar, ...]], ...]


@dataclass(frozen=True, slots=True)
class RunLine:
    """A long run of routine rows of one source and family folded into one line."""

    source: str
    family: str
    count: int
    refs: int
    """How many distinct refs (alarms, incidents) the run holds."""
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class FlapLine:
    """A flapping alarm's ``count`` transitions between ``first`` and ``last``, as one line."""

    alarm: str
    count: int
    first: datetime
    last: datetime


Line = EventLine | LinkedLine | NotifiedLine | RunLine | FlapLine
"""What one line of the readable timeline shows."""


@dataclass(frozen=True, slots=True)
class RelatedMatch:
    """A past incident like the draft's own: how alike its title is, whether it shares a service."""

    incident: PastIncident
    created: datetime
    resolved: datetime | None
    similarity: float
    """The best Jaccard index of title tokens against an in-scope incident (0..1)."""
    same_service: bool

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from creation to resolution; ``None`` when open (or resolved before created)."""
        if self.resolved is None or self.resolved < self.created:
            return None
        return (self.resolved - self.created).total_seconds()
