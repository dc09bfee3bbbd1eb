"""The JSON contract (``pmdraft/draft-2``) and the bare timeline formats (table, CSV, JSON).

``draft-2`` added, to ``draft-1``: each event's ``in_scope``; ``scope`` (the incidents and
services the draft covers, the incident the headline milestones follow, and each alarm's link
with its reason); ``incidents`` (each in-scope incident with its own ``milestones`` and
``durations``); and ``concurrent`` (other incidents, alarms and deploys of the window).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ..facts import EventLine, Milestone, RelatedMatch
from ..heap import gc_paused
from ..model import Attrs, Event, iso_z
from ..timeline.milestones import MILESTONES
from ..timeline.suspects import Lead, Suspects
from ..words import SUSPECTS_NOTE, line_text, milestone_rule, notes, reasons, related_reasons
from .scope_json import scope_record
from .text import inline

if TYPE_CHECKING:
    from ..draft import Draft

SCHEMA = "pmdraft/draft-2"


def milestone_record(name: str, m: Milestone) -> dict[str, Any]:
    """A milestone as the JSON has it: when, the rule in words, and the event's ref."""
    return {"at": iso_z(m.at), "rule": milestone_rule(name, m), "ref": m.ref}


def lead_record(lead: Lead) -> dict[str, Any]:
    """A suspect deploy as the JSON has it, its reasons in words."""
    return {
        "at": iso_z(lead.at),
        "ref": lead.ref,
        "source": lead.source,
        "kind": lead.kind,
        "summary": lead.summary,
        "service": lead.service,
        "version": lead.version,
        "environment": lead.environment,
        "url": lead.url,
        "score": round(lead.score, 3),
        "reasons": reasons(lead.reasons),
        "before_impact": lead.before_impact,
    }


def suspects_record(suspects: Suspects) -> dict[str, Any]:
    """The ranked leads and the long lookback's deploys, with the note that they are leads."""
    return {
        "note": SUSPECTS_NOTE,
        "lookback_hours": suspects.lookback.total_seconds() / 3600,
        "leads": [lead_record(lead) for lead in suspects.leads],
        "long_lookback": {
            "days": suspects.long_lookback.total_seconds() / 86400,
            "services": list(suspects.services),
            "deploys": [lead_record(lead) for lead in suspects.latent],
        },
    }


def related_record(match: RelatedMatch) -> dict[str, Any]:
    """A related past incident as the JSON has it: the incident, its times, why it is listed."""
    c = match.incident
    return {
        "id": c.id,
        "number": c.number,
        "title": c.title,
        "url": c.url,
        "service": c.service,
        "created_at": iso_z(match.created),
        "resolved_at": iso_z(match.resolved) if match.resolved else None,
        "duration_seconds": match.duration_seconds,
        "similarity": round(match.similarity, 2),
        "same_service": match.same_service,
        "reasons": related_reasons(match),
    }


def draft_record(draft: Draft) -> dict[str, Any]:
    """The documented JSON shape of a draft; every time ISO 8601 UTC ending in ``Z``."""
    return {
        "schema": SCHEMA,
        "window": {"since": iso_z(draft.window.since), "until": iso_z(draft.window.until)},
        "sources": [r.to_record() for r in draft.reports],
        "events": event_records(draft.events, draft.in_scope or [True] * len(draft.events)),
        "milestones": {
            name: (
                milestone_record(name, m) if (m := draft.analysis.milestones.get(name)) else None
            )
            for name in MILESTONES
        },
        "durations": dict(draft.analysis.durations),
        "notes": notes(draft.analysis.notes),
        "suspects": suspects_record(draft.suspects),
        "related": [related_record(r) for r in draft.related],
        **scope_record(draft),
    }


def event_records(
    events: Sequence[Event], in_scope: Sequence[bool] | None = None
) -> list[dict[str, Any]]:
    """Each event as :meth:`Event.to_record` has it, and its ``in_scope`` when given (the times
    written by ``iso_z``; made with the
    garbage collector paused, see :func:`~pmdraft.heap.gc_paused`)."""
    with gc_paused():
        records: list[dict[str, Any]] = [
            {
                "at": iso_z(e.at),
                "source": e.source,
                "kind": e.kind,
                "ref": e.ref,
                "summary": e.summary,
                "service": e.service,
                "actor": e.actor,
                "url": e.url,
                "attrs": Attrs(e.attrs).to_dict(),
            }
            for e in events
        ]
    if in_scope is not None:
        for record, keep in zip(records, in_scope, strict=True):
            record["in_scope"] = keep
    return records


_EVENTS = "\x00events\x00"
"""Stands in for the events array while the rest of the record is indented (no string holds it:
JSON writes the NUL character as an escape)."""


def dumps_lined(record: dict[str, Any]) -> str:
    """``record`` as indented JSON whose ``events`` array holds one compact event per line.

    ``indent=`` makes :mod:`json` use its pure-Python encoder, about 10x slower than the C one;
    so only the small rest of the record is indented, and each event is written by the C encoder
    (``indent=None``) on its own line: the same data, still readable and diffable line by line.
    (Encoding all events in one C call, with a marker between them, measured no faster.)
    """
    events = record["events"]
    encode = json.JSONEncoder(ensure_ascii=False).encode
    body = ",\n    ".join(map(encode, events))
    array = f"[\n    {body}\n  ]" if events else "[]"
    text = json.dumps({**record, "events": _EVENTS}, indent=2, ensure_ascii=False)
    return text.replace(json.dumps(_EVENTS), array, 1) + "\n"


def render_json(draft: Draft) -> str:
    """The draft as the JSON contract (``pmdraft/draft-2``), UTF-8 text kept as is: indented,
    one event per line."""
    return dumps_lined(draft_record(draft))


def _local(at: datetime, tz: tzinfo) -> str:
    """``at`` in ``tz``: ``2024-01-15 15:32:25 CET``."""
    local = at.astimezone(tz)
    return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {local.tzname()}"


def _said(e: Event) -> str:
    """What the draft's timeline says of one event (a note's text, a message's channel...)."""
    return line_text(
        EventLine(e.source, e.kind, e.ref, e.summary, e.service, e.actor, e.attrs, e.url)
    )


def render_timeline(draft: Draft, fmt: str, *, tz: tzinfo | None = None) -> str:
    """Every event, one per line: ``table`` for people, ``csv`` and ``json`` for tools.

    The table and CSV say each event as the draft's timeline does (a note with its text); with
    ``tz`` they add the local time. JSON keeps the events' own fields, times in UTC.
    """
    records = event_records(draft.events)
    if fmt == "json":
        return dumps_lined(
            {
                "window": {"since": iso_z(draft.window.since), "until": iso_z(draft.window.until)},
                "sources": [r.to_record() for r in draft.reports],
                "events": records,
            }
        )
    fields = ("at", "source", "kind", "ref", "summary", "service", "actor", "url")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*fields, "text", *(["local"] if tz else [])])
        for e, r in zip(draft.events, records, strict=True):
            row = [r[k] if r[k] is not None else "" for k in fields] + [_said(e)]
            writer.writerow(row + ([_local(e.at, tz)] if tz else []))
        return out.getvalue()
    zone = f"  {'LOCAL':25}" if tz else ""
    lines = [f"{'TIME (UTC)':20}{zone}  {'SOURCE':10}  {'KIND':24}  WHAT"]
    for e, r in zip(draft.events, records, strict=True):
        local = f"  {_local(e.at, tz):25}" if tz else ""
        lines.append(f"{r['at']:20}{local}  {r['source']:10}  {r['kind']:24}  {inline(_said(e))}")
    for report in draft.reports:
        if report.status != "ok":
            lines.append(
                f"# {report.name}: {report.status}{': ' + report.error if report.error else ''}"
            )
    return "\n".join(lines) + "\n"
