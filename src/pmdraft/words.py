"""How pmdraft says things: durations, milestone rules, notes, suspect reasons and timeline lines.

The timeline finds facts (the records of :mod:`pmdraft.model`); the renderers call these functions
to put each fact into the English a draft shows. Every sentence a user reads about the timeline is
built here, so a change of wording is a change of this one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from .facts import (
    AlarmLink,
    AlarmsUnread,
    BeforeImpact,
    DetectUnknown,
    EventLine,
    FlapIgnored,
    Line,
    LinkedLine,
    LinkReason,
    Milestone,
    NoAlarmFired,
    Note,
    NotifiedLine,
    OtherService,
    Reason,
    Refire,
    RelatedMatch,
    Rule,
    RunLine,
    SameService,
    StagedRollout,
    StillFiring,
    Unresolved,
    WentBad,
)
from .model import (
    ALARM_ALARM,
    CHAT_MESSAGE,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_RESOLVED,
    INCIDENT_TRIGGERED,
    Scalar,
    iso_z,
)

SOURCE_LABEL = {"cloudwatch": "CloudWatch", "pagerduty": "PagerDuty", "deploys": "deploy log"}
"""Short label of each source name (a folded run's line starts with it; templates get it too)."""

FLAG_BY_MILESTONE = {
    "impact_started": "--impact-start",
    "mitigated": "--mitigated-at",
    "resolved": "--resolved-at",
}
"""The flag that sets each milestone by hand."""

DURATION_MEANINGS = {
    "time_to_detect": "from impact start to the first automated signal",
    "time_to_acknowledge": "from the first page to the first explicit acknowledgement",
    "time_to_mitigate": "from impact start until every alarm stayed OK",
    "time_to_resolve": "from impact start to the last incident's resolution",
    "change_to_detect": "from the suspect change to the first automated signal",
}
"""What each duration of :data:`pmdraft.timeline.DURATIONS` measures."""

ROUTINE_NOUNS = {
    "alarm": ("alarm transition", "alarm transitions", "alarm"),
    "notification": ("notification", "notifications", "incident"),
    "assignment": ("assignment", "assignments", "incident"),
    "update": ("incident update", "incident updates", "incident"),
}
"""Family of :data:`pmdraft.model.ROUTINE_FAMILY` -> (one row's noun, several rows', a ref's)."""

SUSPECTS_NOTE = "These are leads for the writer to confirm or rule out, not a verdict."

_RULES = {
    Rule.FIRST_TRIGGER: "first PagerDuty trigger (no alarm went to ALARM)",
    Rule.TRIGGER_UPPER_BOUND: (
        "at the latest the first PagerDuty trigger: CloudWatch could not be read, so when the "
        "metrics began to breach is unknown"
    ),
    Rule.FIRST_SIGNAL: (
        "first automated signal: earliest alarm transition to ALARM or PagerDuty trigger"
    ),
    Rule.FIRST_NOTIFICATION: "first PagerDuty notification",
    Rule.TRIGGER_NO_NOTIFICATION: "first PagerDuty trigger (no notification listed)",
    Rule.FIRST_ACK: "first explicit PagerDuty acknowledgement",
    Rule.LAST_RECOVERY: "the last recovery after which every alarm that went to ALARM stayed OK",
    Rule.LAST_RESOLUTION: "when the last in-scope PagerDuty incident resolved",
    Rule.FROM_MITIGATED: "no PagerDuty incident: taken from mitigated",
    Rule.ROLLBACK: "rollback after detection",
}


def duration_words(seconds: float | None) -> str:
    """``1045`` -> ``17 minutes``; under a minute in seconds; whole units, rounded down."""
    if seconds is None:
        return "unknown"
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s} second{'s' if s != 1 else ''}"
    hours, rest = divmod(s, 3600)
    minutes = rest // 60
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return sign + " ".join(parts)


def hours(lookback: timedelta) -> str:
    """A lookback in hours: ``6 h``, ``1.5 h``."""
    return f"{lookback.total_seconds() / 3600:g} h"


def milestone_rule(name: str, milestone: Milestone) -> str:
    """The rule that placed milestone ``name``, as the draft and its JSON state it."""
    rule = milestone.rule
    if rule is Rule.BREACH_START:
        how = milestone.detail or "transition time"
        return f"earliest breach start of an alarm that went to ALARM: {how}"
    if rule is Rule.SET_BY_HAND:
        return f"set by {FLAG_BY_MILESTONE[name]}"
    if rule is Rule.TOP_LEAD:
        within = hours(milestone.lookback or timedelta(0))
        return f"top-ranked deploy at or before impact start within {within}: " + ", ".join(
            reasons(milestone.reasons)
        )
    return _RULES[rule]


def reason(fact: Reason) -> str:
    """Why a deploy is a suspect, in a few words."""
    if isinstance(fact, SameService):
        return f"same service ({fact.service})"
    if isinstance(fact, OtherService):
        if fact.any_named:
            return "no deploy of an affected service"
        return "no alarm or incident names a service"
    if isinstance(fact, BeforeImpact):
        if not fact.seconds:
            return "at impact start"
        return f"{duration_words(fact.seconds)} before impact start"
    if isinstance(fact, WentBad):
        verb = "rolled back" if fact.rolled_back else "failed"
        when = "after" if fact.after_impact else "before"
        return f"{verb} at {fact.at.strftime('%H:%M:%S')} ({when} impact start)"
    if isinstance(fact, StagedRollout):
        return (
            f"stage {len(fact.stages)} of a staged rollout ({', '.join(fact.stages)}) lines up "
            f"with impact; earlier stages went out {duration_words(fact.first_before)} before it"
        )
    return (
        f"last deploys of {fact.service} within {fact.days:g} days: "
        f"{duration_words(fact.before)} before impact start"
    )


def reasons(facts: Iterable[Reason]) -> list[str]:
    """Each of ``facts`` said by :func:`reason`, in order."""
    return [reason(f) for f in facts]


def note(fact: Note) -> str:
    """A note on a milestone: what was unclear, or the mitigation action beside it."""
    if isinstance(fact, NoAlarmFired):
        return "no alarm went to ALARM, so there is no alarm recovery to date mitigation from"
    if isinstance(fact, AlarmsUnread):
        return "CloudWatch could not be read, so alarm recoveries are missing"
    if isinstance(fact, DetectUnknown):
        return "CloudWatch could not be read; time_to_detect is unknown"
    if isinstance(fact, FlapIgnored):
        return f"{fact.alarm} recovered at {iso_z(fact.at)} but went back to ALARM (not used)"
    if isinstance(fact, StillFiring):
        return f"{fact.alarm} ends the window in {fact.state}, so mitigation is unknown"
    if isinstance(fact, Unresolved):
        return (
            f"PagerDuty incident #{fact.incident} has no resolution in the data, "
            "so resolution is unknown"
        )
    return (
        f"mitigation action: rollback ({fact.summary}) at {iso_z(fact.at)}, "
        f"{duration_words(fact.after_detection)} after detection"
    )


def notes(by_milestone: Mapping[str, Iterable[Note]]) -> dict[str, list[str]]:
    """Every milestone's notes said by :func:`note`, in the same order."""
    return {name: [note(n) for n in facts] for name, facts in by_milestone.items()}


def related_reasons(match: RelatedMatch) -> str:
    """Why a past incident is listed as related: ``same service (api); title 75% alike``."""
    said = [f"same service ({match.incident.service})"] if match.same_service else []
    if match.similarity > 0:
        said.append(f"title {match.similarity:.0%} alike")
    return "; ".join(said)


def _incident(number: Scalar) -> str:
    return f"PagerDuty #{number}" if number is not None else "PagerDuty incident"


def _clock(at: datetime, other: datetime) -> str:
    """``HH:MM``, with the date when ``other`` falls on another day."""
    return at.strftime("%H:%M" if at.date() == other.date() else "%Y-%m-%d %H:%M")


def _event_line(line: EventLine) -> str:
    attrs, kind = line.attrs, line.kind
    if line.source == "cloudwatch":
        name = attrs.get("alarm_name", line.ref)
        text = f"CloudWatch alarm {name}: {attrs.get('old_state')} -> {attrs.get('new_state')}"
        if kind == ALARM_ALARM and attrs.get("reason"):
            text += f" ({attrs['reason']})"
        return text
    if kind == CHAT_MESSAGE:
        channel = attrs.get("channel_name") or attrs.get("channel_id") or "chat"
        link = f" ({line.url})" if line.url else ""
        return f"#{channel} {line.actor or 'someone'}: {line.summary}{link}"
    if line.source == "pagerduty" and kind.startswith("deploy."):
        return f"Deploy (PagerDuty change event): {line.summary}"
    if line.source != "pagerduty":
        return f"Deploy: {line.summary}"
    label = _incident(attrs.get("incident_number"))
    by = f" by {line.actor}" if isinstance(line.actor, str) and line.actor else ""
    if kind == INCIDENT_TRIGGERED:
        on = f" on {line.service}" if isinstance(line.service, str) else ""
        return f"{label} triggered{on}: {attrs.get('incident_title')}"
    if kind == INCIDENT_ACKNOWLEDGED:
        return f"{label} acknowledged{by}"
    if kind == INCIDENT_RESOLVED:
        return f"{label} resolved{by}"
    if kind == INCIDENT_ANNOTATED:
        return f"{label} note{by}: {attrs.get('note', '')}"
    return str(line.summary)


def line_text(line: Line) -> str:
    """What one timeline line says (the Markdown, HTML and template ``event`` text)."""
    if isinstance(line, EventLine):
        return _event_line(line)
    if isinstance(line, LinkedLine):
        when = f", triggered {line.paged_at.strftime('%H:%M:%S')}" if line.paged_at else ""
        text = (
            f"CloudWatch alarm {line.alarm}: {line.old_state} -> {line.new_state} -> paged "
            f"on-call ({_incident(line.incident_number)}{when})"
        )
        return text + (f" ({line.reason})" if line.reason else "")
    if isinstance(line, NotifiedLine):
        who = ", ".join(
            [
                f"{name or 'a responder'} "
                f"({', '.join([str(c or 'unknown channel') for c in channels])})"
                for name, channels in line.people
            ]
        )
        return f"{_incident(line.incident_number)}: paged {who}"
    if isinstance(line, RunLine):
        one, several, what = ROUTINE_NOUNS[line.family]
        return (
            f"{SOURCE_LABEL.get(line.source, line.source)}: {line.count:,} "
            f"{one if line.count == 1 else several} of {line.refs:,} {what}"
            f"{'' if line.refs == 1 else 's'} between {_clock(line.first, line.last)} and "
            f"{_clock(line.last, line.first)} (see JSON)"
        )
    return (
        f"CloudWatch alarm {line.alarm} flapped {line.count} times between "
        f"{_clock(line.first, line.last)} and {_clock(line.last, line.first)} (see JSON)"
    )


def link_reason(link: AlarmLink) -> str:
    """Why an alarm belongs where it does: ``paged PagerDuty #4711 (incident key)``."""
    if link.reason is LinkReason.PAGED:
        how = f" ({link.detail})" if link.detail else ""
        return f"paged {_incident(link.incident_number)}{how}"
    if link.reason is LinkReason.CATALOG:
        return f"service catalog: {link.service} {link.detail}"
    if link.reason is LinkReason.TAG_OR_DIMENSION:
        return f"its {link.detail} name {link.service}"
    if link.reason is LinkReason.NAME_PREFIX:
        return f"its name starts with {link.service!r}"
    return "nothing links it to an incident or service (no page, catalog entry, tag or prefix)"


def refire(fact: Refire) -> str:
    """An alarm back in ALARM after recovering, as What Went Wrong says it."""
    gap = duration_words((fact.refired - fact.recovered).total_seconds())
    text = (
        f"{fact.alarm} re-fired {gap} after recovering (OK at {fact.recovered:%H:%M:%S}, "
        f"ALARM again at {fact.refired:%H:%M:%S} UTC)"
    )
    if fact.incident_number is not None:
        text += f"; PagerDuty opened #{fact.incident_number}"
    return text


def detection_measures(ttd: float, ctd: float, version: str) -> str:
    """Both detection measures, said plainly side by side (neither called fast nor late)."""
    return (
        f"Detection, two measures: the first alert fired {duration_words(ttd)} after impact "
        f"began (time_to_detect = {ttd} s) and {duration_words(ctd)} after deploy {version} "
        f"(change_to_detect = {ctd} s)"
    )
