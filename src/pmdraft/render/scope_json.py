"""The JSON of a draft's scope (schema ``pmdraft/draft-2``): ``scope``, ``incidents`` with their
own milestones and durations, and ``concurrent``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..facts import AlarmLink, Milestone
from ..model import iso_z
from ..timeline.milestones import MILESTONES
from ..words import link_reason, milestone_rule

if TYPE_CHECKING:
    from ..draft import Draft


def _milestone(name: str, m: Milestone | None) -> dict[str, Any] | None:
    return None if m is None else {"at": iso_z(m.at), "rule": milestone_rule(name, m), "ref": m.ref}


def link_record(link: AlarmLink) -> dict[str, Any]:
    """One alarm's link: where it belongs, the reason (as a key and in words), in scope or not."""
    return {
        "alarm": link.alarm,
        "ref": link.ref,
        "reason": link.reason.value if link.reason else None,
        "reason_text": link_reason(link),
        "service": link.service,
        "incident": link.incident,
        "incident_number": link.incident_number,
        "in_scope": link.in_scope,
    }


def _incidents(draft: Draft) -> list[dict[str, Any]]:
    """Each in-scope incident, with its own milestones and durations (the headline first)."""
    refs = {i.id: i for i in draft.incidents}
    out = []
    for n, facts in enumerate(draft.per_incident):
        ref = refs.get(facts.ref)
        m = facts.analysis.milestones
        out.append(
            {
                **(ref.to_record() if ref else {"id": facts.ref, "number": facts.number}),
                "headline": n == 0,
                "milestones": {name: _milestone(name, m.get(name)) for name in MILESTONES},
                "durations": dict(facts.analysis.durations),
            }
        )
    return out


def _concurrent(draft: Draft) -> dict[str, Any]:
    c = draft.concurrent
    return {
        "incidents": [
            {
                "id": i.id,
                "number": i.number,
                "title": i.title,
                "service": i.service,
                "url": i.url,
                "created_at": iso_z(i.created) if i.created else None,
                "resolved_at": iso_z(i.resolved) if i.resolved else None,
            }
            for i in c.incidents
        ],
        "alarms": [
            {
                "alarm": a.alarm,
                "fired_at": iso_z(a.fired),
                "recovered_at": iso_z(a.recovered) if a.recovered else None,
                "link": link_record(a.link),
            }
            for a in c.alarms
        ],
        "deploys": [
            {
                "at": iso_z(d.at),
                "summary": d.summary,
                "service": d.service,
                "source": d.source,
                "ref": d.ref,
            }
            for d in c.deploys
        ],
        "error": c.error,
    }


def scope_record(draft: Draft) -> dict[str, Any]:
    """``scope``, ``incidents`` and ``concurrent`` of the JSON contract."""
    scope = draft.scope
    headline = draft.per_incident[0] if draft.per_incident else None
    return {
        "scope": {
            "incidents": list(scope.incidents) if scope else [],
            "services": list(scope.services) if scope else [],
            "service": scope.service if scope else None,
            "headline_incident": None
            if headline is None
            else {"id": headline.ref, "number": headline.number},
            "headline_rule": "the first incident triggered in scope"
            if headline
            else "every in-scope event (no incident in scope)",
            "alarms": [link_record(k) for k in scope.links] if scope else [],
        },
        "incidents": _incidents(draft),
        "concurrent": _concurrent(draft),
    }
