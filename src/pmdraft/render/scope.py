"""The template values about a draft's scope: the two spans, the headline incident, each
incident's own numbers and the concurrent activity (docs/templates.md lists them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..facts import OtherAlarm, OtherIncident
from ..model import iso_z
from ..timeline.milestones import DURATIONS, MILESTONES
from ..words import duration_words, link_reason, milestone_rule
from .text import hhmm, hhmmss

if TYPE_CHECKING:
    from ..draft import Draft


def _when(other: OtherIncident) -> str:
    start = f"{hhmmss(other.created)} UTC" if other.created else "start unknown"
    end = f"resolved {hhmmss(other.resolved)}" if other.resolved else "not resolved in the data"
    return f"triggered {start}, {end}"


def _incident(other: OtherIncident) -> dict[str, Any]:
    """Another incident of the window as plain values."""
    return {
        "number": other.number,
        "title": other.title or "",
        "service": other.service or "unknown service",
        "url": other.url or "",
        "created": iso_z(other.created) if other.created else None,
        "resolved": iso_z(other.resolved) if other.resolved else None,
        "when": _when(other),
    }


def _alarm(other: OtherAlarm) -> dict[str, Any]:
    """An out-of-scope alarm that fired, as plain values, with why it is not the draft's."""
    return {
        "name": other.alarm,
        "fired": hhmmss(other.fired),
        "recovered": hhmmss(other.recovered) if other.recovered else None,
        "why": link_reason(other.link),
    }


def concurrent_context(draft: Draft) -> dict[str, Any]:
    """Other incidents, alarms and deploys of the window, outside the draft's scope."""
    c = draft.concurrent
    return {
        "incidents": [_incident(i) for i in c.incidents],
        "alarms": [_alarm(a) for a in c.alarms],
        "deploys": [
            {"at": hhmmss(d.at), "summary": d.summary, "service": d.service or ""}
            for d in c.deploys
        ],
        "error": c.error,
    }


def _per_incident(draft: Draft) -> list[dict[str, Any]]:
    """Each in-scope incident's own milestones and durations, as plain values."""
    out = []
    for facts in draft.per_incident:
        m, d = facts.analysis.milestones, facts.analysis.durations
        out.append(
            {
                "number": facts.number,
                "ref": facts.ref,
                "milestones": {
                    name: (iso_z(ms.at) if (ms := m.get(name)) else "unknown")
                    for name in MILESTONES
                },
                "durations": {
                    name: "unknown"
                    if (v := d.get(name)) is None
                    else f"{duration_words(v)} ({v} s)"
                    for name in DURATIONS
                },
            }
        )
    return out


def scope_context(draft: Draft) -> dict[str, Any]:
    """The scope's template values: ``impact``, ``headline``, ``per_incident``, ``concurrent``."""
    m, d = draft.analysis.milestones, draft.analysis.durations
    start, mitigated = m.get("impact_started"), m.get("mitigated")
    impact = d.get("time_to_mitigate")
    headline = None
    if len(draft.per_incident) > 1:
        first = draft.per_incident[0]
        ref = next((i for i in draft.incidents if i.id == first.ref), None)
        headline = {
            "number": first.number,
            "title": ref.title if ref else None,
            "others": [f"#{f.number}" for f in draft.per_incident[1:]],
        }
    service = draft.scope.service if draft.scope else None
    return {
        "impact": None
        if impact is None or start is None or mitigated is None
        else {
            "duration": duration_words(impact),
            "seconds": impact,
            "start": hhmm(start.at),
            "end": hhmm(mitigated.at),
            "rule": milestone_rule("mitigated", mitigated),
        },
        "headline": headline,
        "scope_service": service,
        "per_incident": _per_incident(draft) if len(draft.per_incident) > 1 else [],
        "concurrent": concurrent_context(draft),
    }
