"""The plain values every template sees, built from a :class:`~pmdraft.draft.Draft`.

No DataFrame and no model object reaches a template: times become text, facts become sentences
(through :mod:`pmdraft.words`), records become dicts. docs/templates.md lists every variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..facts import RelatedMatch
from ..model import CHAT_MESSAGE, iso_z
from ..timeline.milestones import DURATIONS, MILESTONES
from ..timeline.responders import Responder
from ..timeline.suspects import Lead
from ..words import (
    DURATION_MEANINGS,
    SOURCE_LABEL,
    detection_measures,
    duration_words,
    line_text,
    milestone_rule,
    note,
    reasons,
    refire,
    related_reasons,
)
from .scope import scope_context
from .text import hhmm, hhmmss, long_date, markdown_text

if TYPE_CHECKING:
    from ..draft import Draft

FAST_DETECT = 5 * 60
"""Seconds: detection at most this long after impact start counts as fast (What Went Well)."""
FAST_ACK = 5 * 60
"""Seconds: acknowledgement at most this long after the page counts as quick."""
LATE_CHANGE = 10 * 60
"""Seconds: more than this between the suspect change and the first alert is late detection."""

SOURCE_TITLES = {
    "cloudwatch": "CloudWatch alarm history",
    "pagerduty": "PagerDuty incidents and log entries",
    "pagerduty:change_events": "PagerDuty change events",
    "slack": "Slack incident channel",
}

DEPLOY_SOURCE_TITLES = {
    "deploys": "deploy log",
    "codedeploy": "AWS CodeDeploy",
    "github": "GitHub Deployments",
    "cloudtrail": "CloudTrail deploy calls",
}


def _source_title(name: str) -> str:
    kind, _, what = name.partition(":")
    if what and kind in DEPLOY_SOURCE_TITLES:
        return (
            f"{DEPLOY_SOURCE_TITLES[kind]} {what}"
            if kind == "deploys"
            else f"{DEPLOY_SOURCE_TITLES[kind]} ({what})"
        )
    return SOURCE_TITLES.get(name, name)


def _detection(draft: Draft, well: list[str], wrong: list[str]) -> None:
    """Detection as far as the numbers tell; two measures that disagree are stated plainly."""
    d, m = draft.analysis.durations, draft.analysis.milestones
    ttd, ctd = d.get("time_to_detect"), d.get("change_to_detect")
    if m.get("suspect_change") is None:
        ctd = None
    if ttd is not None and ctd is not None and (ttd <= FAST_DETECT) != (ctd <= LATE_CHANGE):
        wrong.append(detection_measures(ttd, ctd, _change_name(draft)))
        return
    if ttd is not None:
        text = (
            f"the first alert fired {duration_words(ttd)} after impact began "
            f"(time_to_detect = {ttd} s)"
        )
        (well if ttd <= FAST_DETECT else wrong).append(
            ("Fast detection: " if ttd <= FAST_DETECT else "Slow detection: ") + text
        )
    if ctd is not None:
        text = (
            f"{duration_words(ctd)} between deploy {_change_name(draft)} and the first alert "
            f"(change_to_detect = {ctd} s)"
        )
        (wrong if ctd > LATE_CHANGE else well).append(
            ("Late detection: " if ctd > LATE_CHANGE else "Early signal: ") + text
        )


def _facts(draft: Draft) -> tuple[list[str], list[str]]:
    """What Went Well and What Went Wrong, as far as the numbers tell (no judgement of people:
    a slow acknowledgement is left to the writer, with its number under Metrics)."""
    d, m = draft.analysis.durations, draft.analysis.milestones
    well: list[str] = []
    wrong: list[str] = []
    _detection(draft, well, wrong)
    tta = d.get("time_to_acknowledge")
    if tta is not None and tta <= FAST_ACK:
        well.append(
            "Quick response: acknowledged "
            f"{duration_words(tta)} after the page (time_to_acknowledge = {tta} s)"
        )
    detected, rollback = m.get("detected"), draft.rollback
    if rollback is not None and detected is not None:
        took = (rollback.at - detected.at).total_seconds()
        well.append(
            f"Rollback as mitigation: {markdown_text(rollback.summary)} "
            f"at {hhmmss(rollback.at)} UTC; "
            f"the rollback took {duration_words(took)} from the first alert"
        )
    wrong += [f"Alarm re-fired: {markdown_text(refire(r))}" for r in draft.refires]
    return well, wrong


def _change_name(draft: Draft) -> str:
    change = draft.analysis.milestones.get("suspect_change")
    if change is None:
        return ""
    for e in draft.events:
        if e.ref == change.ref and e.at == change.event_at and e.kind.startswith("deploy."):
            return str(e.attrs.get("version") or e.ref)
    return change.ref or ""


def _severity(draft: Draft) -> str | None:
    for inc in draft.incidents:
        parts = [str(inc.priority)] if inc.priority else []
        if inc.urgency:
            parts.append(f"{inc.urgency} urgency")
        if parts:
            return ", ".join(parts) + " (from PagerDuty)"
    return None


def _title(draft: Draft) -> str:
    if draft.incidents:
        first = draft.incidents[0]
        title = str(first.title or f"PagerDuty incident {first.id}")
        more = len(draft.incidents) - 1
        return title + (f" (and {more} more incident{'s' if more > 1 else ''})" if more else "")
    start = draft.analysis.milestones.get("impact_started")
    when = (start.at if start else draft.window.since).strftime("%Y-%m-%d %H:%M UTC")
    return f"Incident of {when}"


def _comms(draft: Draft) -> list[dict[str, Any]]:
    """The Communication Log: PagerDuty notes and the incident channel's messages, in time order,
    each with who said it, where, and a link when there is one."""
    entries = []
    for e in draft.events:
        if e.kind == "incident.annotated":
            where = f"on PagerDuty #{e.attrs.get('incident_number')}"
            text, url = str(e.attrs.get("note") or ""), None
        elif e.kind == CHAT_MESSAGE:
            where = f"in #{e.attrs.get('channel_name') or e.attrs.get('channel_id')}"
            text, url = e.summary, e.url
        else:
            continue
        entries.append(
            {
                "time": hhmmss(e.at),
                "date": e.at.strftime("%Y-%m-%d"),
                "who": e.actor or "someone",
                "where": where,
                "incident": f"#{e.attrs.get('incident_number')}",
                "text": text,
                "url": url,
            }
        )
    # Events are already in time order (the frame's sort), so the merged log is too.
    return entries


def _timeline(draft: Draft, tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """Timeline rows; each time column shows its date on the first row and when its day changes.

    Dates appear only when the timeline spans more than one day in either column's zone.
    """
    ats = [r.at for r in draft.rows]
    days = [at.date() for at in ats]
    local = [at.astimezone(tz) for at in ats] if tz else [None] * len(ats)
    local_days = [t.date() if t else None for t in local]
    multi_day = len(set(days)) > 1 or (tz is not None and len(set(local_days)) > 1)
    rows = []
    previous, previous_local = None, None
    for r, at, day, lt, local_day in zip(draft.rows, ats, days, local, local_days, strict=True):
        time = hhmmss(at)
        if multi_day and day != previous:
            time = at.strftime("%Y-%m-%d ") + time
        previous = day
        local_time = None
        if lt is not None:
            local_time = f"{hhmmss(lt)} {lt.tzname()}"
            if multi_day and local_day != previous_local:
                local_time = lt.strftime("%Y-%m-%d ") + local_time
            previous_local = local_day
        text = line_text(r.line)
        marks = r.milestones
        rows.append(
            {
                "time": time,
                "local": local_time,
                "event": text,
                "marks": list(marks) if marks else [],
                "text": f"{text} _[{', '.join(marks)}]_" if marks else text,
            }
        )
    return rows


def _metrics(draft: Draft) -> list[dict[str, str]]:
    m, d = draft.analysis.milestones, draft.analysis.durations
    out = []
    for name, (end, start) in DURATIONS.items():
        value = d.get(name)
        out.append(
            {
                "name": name,
                "value": "unknown" if value is None else f"{duration_words(value)} ({value} s)",
                "definition": f"{end} - {start}: {DURATION_MEANINGS[name]}",
                "from": "; ".join(
                    f"{n}: "
                    + (f"{iso_z(ms.at)} {ms.summary or ''}".strip() if ms else "no evidence")
                    for n in (start, end)
                    for ms in (m[n],)
                ),
            }
        )
    return out


def _lead(lead: Lead) -> dict[str, Any]:
    """A suspect deploy as plain values: when (with the date), what, why."""
    return {
        "at": lead.at.strftime("%Y-%m-%d %H:%M:%S"),
        "summary": lead.summary,
        "source": lead.source,
        "ref": lead.ref,
        "url": lead.url or "",
        "reasons": "; ".join(reasons(lead.reasons)),
    }


def _acknowledgers(everyone: Sequence[Responder]) -> dict[str, list[str]]:
    """Incident id -> the names of its responders who acknowledged, in order."""
    out: dict[str, list[str]] = {}
    for o in everyone:
        if o.acknowledged:
            out.setdefault(o.incident_id, []).append(o.name)
    return out


def _responder(r: Responder, acknowledgers: Mapping[str, list[str]]) -> dict[str, Any]:
    """One responder of one incident as plain values: who, when paged and acknowledged, how fast.

    A responder paged while someone else acknowledged the incident is said as that: who
    acknowledged, not "did not acknowledge" (``acknowledgers``: :func:`_acknowledgers`).
    """
    tta = r.time_to_ack
    others = [name for name in acknowledgers.get(r.incident_id, ()) if name != r.name]
    if r.acknowledged:
        acknowledged = hhmmss(r.acknowledged)
    elif others:
        acknowledged = f"paged; {', '.join(others)} acknowledged"
    else:
        acknowledged = "no acknowledgement in the data"
    return {
        "incident": f"#{r.incident_number}" if r.incident_number is not None else r.incident_id,
        "who": r.name,
        "paged": hhmmss(r.paged) if r.paged else None,
        "acknowledged": acknowledged,
        "time_to_ack": None if tta is None else f"{duration_words(tta)} ({tta:g} s)",
        "time_to_ack_seconds": tta,
    }


def _related(r: RelatedMatch) -> dict[str, Any]:
    """A past incident as plain values: date, number, title, link, duration and why it is listed."""
    seconds = r.duration_seconds
    return {
        "date": iso_z(r.created)[:10],
        "number": r.incident.number,
        "title": r.incident.title or "",
        "url": r.incident.url or "",
        "service": r.incident.service or "",
        "duration": "still open" if seconds is None else duration_words(seconds),
        "reasons": related_reasons(r),
    }


def _milestone_rows(draft: Draft) -> list[dict[str, str]]:
    out = []
    for name in MILESTONES:
        ms = draft.analysis.milestones.get(name)
        notes = [note(n) for n in draft.analysis.notes.get(name, ())]
        out.append(
            {
                "name": name,
                "at": iso_z(ms.at) if ms else "unknown",
                "rule": (milestone_rule(name, ms) if ms else "no evidence")
                + ("; " + "; ".join(notes) if notes else ""),
                "event": (ms.summary or "") if ms else "",
            }
        )
    return out


def _sources(draft: Draft) -> dict[str, Any]:
    """The Sources table, the Data gaps note, the sources not configured, and what reading the
    others involved (records skipped and named, windows split, waits)."""
    return {
        "sources": [
            {
                "name": r.name,
                "title": _source_title(r.name),
                "status": r.status.replace("_", " "),
                "events": r.events,
                "requests": r.requests,
                "error": r.error or "",
            }
            for r in draft.reports
        ],
        "gaps": [
            {"title": _source_title(r.name), "error": r.error or "failed"} for r in draft.gaps
        ],
        "not_configured": [
            _source_title(r.name) for r in draft.reports if r.status == "not_configured"
        ],
        "notes": [
            {"title": _source_title(r.name), "detail": r.detail}
            for r in draft.reports
            if r.status == "ok" and r.detail
        ],
    }


def _suspect(draft: Draft) -> dict[str, Any] | None:
    """The suspect change (the top lead) as plain values, or ``None``."""
    change = draft.analysis.milestones.get("suspect_change")
    if change is None:
        return None
    before = draft.analysis.durations.get("change_to_detect")
    return {
        "version": _change_name(draft),
        "summary": change.summary or "",
        "at": hhmmss(change.at),
        "before_alert": duration_words(before) if before is not None else None,
        "rule": milestone_rule("suspect_change", change),
    }


def context(draft: Draft, tz: tzinfo | None = None) -> dict[str, Any]:
    """The plain values the templates see (no DataFrame, no model objects).

    docs/templates.md lists them.

    ``tz`` adds a local time to each timeline row; every other time stays UTC.
    """
    m, d = draft.analysis.milestones, draft.analysis.durations
    start, end = m.get("impact_started"), m.get("resolved")
    well, wrong = _facts(draft)
    comms = _comms(draft)
    acks = _acknowledgers(draft.responders)
    resolve = d.get("time_to_resolve")
    return {
        "title": _title(draft),
        "date": (start.at if start else draft.window.since).strftime("%Y-%m-%d"),
        "long_date": long_date(start.at if start else draft.window.since),
        "severity": _severity(draft),
        "window": {"since": iso_z(draft.window.since), "until": iso_z(draft.window.until)},
        "start": hhmm(start.at) if start else None,
        "end": hhmm(end.at) if end else None,
        "duration": duration_words(resolve) if resolve is not None else None,
        "duration_seconds": resolve,
        "start_rule": milestone_rule("impact_started", start) if start else None,
        "end_rule": milestone_rule("resolved", end) if end else None,
        "tz": str(tz) if tz else None,
        "timeline": _timeline(draft, tz),
        "suspect": _suspect(draft),
        "leads": [_lead(lead) for lead in draft.suspects.leads],
        "latent": [_lead(lead) for lead in draft.suspects.latent],
        "latent_days": f"{draft.suspects.long_lookback.total_seconds() / 86400:g}",
        "latent_services": list(draft.suspects.services),
        "well": well,
        "wrong": wrong,
        "metrics": _metrics(draft),
        "milestones": _milestone_rows(draft),
        **_sources(draft),
        "comms": comms,
        "incidents": [inc.to_record() for inc in draft.incidents],
        "responders": [_responder(r, acks) for r in draft.responders],
        "related": [_related(r) for r in draft.related],
        "related_days": None
        if draft.related_lookback_days is None
        else f"{draft.related_lookback_days:g}",
        "related_error": draft.related_error,
        "source_labels": SOURCE_LABEL,
        "graphs": [{**g, "href": quote(g["path"])} for g in draft.graphs],
        "graphs_note": draft.graphs_note,
        **scope_context(draft),
    }
