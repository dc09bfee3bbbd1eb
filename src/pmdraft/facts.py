"""Facts the timeline finds and :mod:`pmdraft.words` says: plain values, no English.

The timeline returns these (which rule placed a milestone, why a deploy is a lead, what a
timeline line is about); a renderer turns each into a sentence with ``words``. Nothing here
phrases anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from .model import (
    ALARM_ALARM,
    ALARM_INSUFFICIENT_DATA,
    ALARM_OK,
    INCIDENT_ASSIGNED,
    INCIDENT_NOTIFIED,
    INCIDENT_OTHER,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_SNOOZED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_URGENCY_CHANGED,
    PastIncident,
    Scalar,
)

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
    url: str | None = None
    """The event's link (a Slack message's permalink is shown on its line)."""


_SET_SOURCE, _SET_KIND, _SET_REF, _SET_SUMMARY, _SET_SERVICE, _SET_ACTOR, _SET_ATTRS, _SET_URL = (
    vars(EventLine)[name].__set__ for name in EventLine.__slots__
)
"""EventLine's slot setters, in field order: they bypass its read-only ``__setattr__``."""


def new_event_line(
    source: str,
    kind: str,
    ref: str,
    summary: str,
    service: str | None,
    actor: str | None,
    attrs: Mapping[str, Scalar],
    url: str | None,
) -> EventLine:
    """``EventLine(...)`` made without the dataclass's ``__init__`` (which sets each frozen
    field through ``object.__setattr__``): the same object in half the time. The timeline
    makes one per row shown, 20,000 in a busy month."""
    line = _NEW(EventLine)
    _SET_SOURCE(line, source)
    _SET_KIND(line, kind)
    _SET_REF(line, ref)
    _SET_SUMMARY(line, summary)
    _SET_SERVICE(line, service)
    _SET_ACTOR(line, actor)
    _SET_ATTRS(line, attrs)
    _SET_URL(line, url)
    return line


_NEW = object.__new__


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


class LinkReason(StrEnum):
    """Why an alarm belongs to an incident or a service, strongest first."""

    PAGED = "paged"
    """The alarm's transition to ALARM paged the incident (``detail``: the correlation rule)."""
    CATALOG = "catalog"
    """A ``[[services]]`` entry claims the alarm (``detail``: its prefix or tag)."""
    TAG_OR_DIMENSION = "tag_or_dimension"
    """The alarm's tags or dimensions name the service (``detail``: what they hold)."""
    NAME_PREFIX = "name_prefix"
    """The alarm's name starts with the service's name."""


@dataclass(frozen=True, slots=True)
class AlarmLink:
    """Where one alarm belongs: an incident (paged) or a service, the reason, and the verdict."""

    alarm: str
    ref: str
    reason: LinkReason | None
    """``None``: nothing links the alarm to any incident or service."""
    detail: str | None = None
    service: str | None = None
    incident: str | None = None
    """The incident's ref, for :attr:`LinkReason.PAGED`."""
    incident_number: int | None = None
    in_scope: bool = True


@dataclass(frozen=True, slots=True)
class Refire:
    """``alarm`` recovered at ``recovered`` and went back to ALARM at ``refired``.

    ``incident_number``: the PagerDuty incident the return to ALARM opened, if one did.
    """

    alarm: str
    recovered: datetime
    refired: datetime
    incident_number: int | None = None


@dataclass(frozen=True, slots=True)
class OtherIncident:
    """A PagerDuty incident of the window outside the draft's scope (concurrent activity)."""

    id: str
    number: int | None
    title: str | None
    service: str | None
    url: str | None
    created: datetime | None
    resolved: datetime | None


@dataclass(frozen=True, slots=True)
class OtherAlarm:
    """An alarm that went to ALARM in the window outside the draft's scope."""

    alarm: str
    fired: datetime
    """Its first transition to ALARM in the window."""
    recovered: datetime | None
    """Its last transition to OK, if it ended the window OK."""
    link: AlarmLink


@dataclass(frozen=True, slots=True)
class OtherDeploy:
    """A deploy of a service outside the draft's scope."""

    at: datetime
    summary: str
    service: str | None
    source: str
    ref: str
