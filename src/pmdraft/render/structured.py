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
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ..facts import EventLine, Milestone, RelatedMatch
from ..heap import gc_paused
from ..model import Attrs, Event, Window, iso_z
from ..timeline.milestones import MILESTONES
from ..timeline.suspects import Lead, Suspects
from ..words import SUSPECTS_NOTE, line_text, milestone_rule, notes, reasons, related_reasons
from .scope_json import scope_record
from .text import inline

if TYPE_CHECKING:
    from ..draft import Draft, Settled
    from ..pipeline import SourceReport

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
    return _record(draft, event_records(draft.events, _in_scope(draft.events, draft.in_scope)))


def _in_scope(events: Sequence[Event], in_scope: Sequence[bool]) -> Sequence[bool]:
    """Each event's in-scope flag (none given: a draft built without a scope, all in scope)."""
    return in_scope or [True] * len(events)


def _opening(window: Window, reports: Sequence[SourceReport]) -> dict[str, Any]:
    """What the JSON draft says before its events (final once collection has ended)."""
    return {
        "schema": SCHEMA,
        "window": {"since": iso_z(window.since), "until": iso_z(window.until)},
        "sources": [r.to_record() for r in reports],
    }


def _record(draft: Draft, events: Any) -> dict[str, Any]:
    """:func:`draft_record` with ``events`` in its place (the records, or a stand-in)."""
    return {
        **_opening(draft.window, draft.reports),
        "events": events,
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


def _compact() -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False)``, with the C encoder made once rather than once
    a call (where Python has no C encoder, :class:`json.JSONEncoder` as ``dumps`` would)."""
    plain = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return plain.encode
    run = make(None, plain.default, _TEXT, None, ": ", ", ", False, False, True)
    return lambda value: "".join(run(value, 0))


_TEXT: Callable[[str], str] = json.encoder.encode_basestring
"""A string as JSON, non-ASCII kept (``ensure_ascii=False``): the C function where there is one."""


def event_lines(
    events: Sequence[Event], in_scope: Sequence[bool], known: Mapping[int, str] | None = None
) -> list[str]:
    """Each event's line of the JSON draft: ``json.dumps`` of its :func:`event_records` record,
    written straight from the event (see :func:`event_heads`) and ended with its ``in_scope``.
    ``known``: lines' heads made already, by the id of their event (kept alive by the caller)."""
    heads = _heads()
    lines = []
    with gc_paused():
        for e, keep in zip(events, in_scope, strict=True):
            head = known.get(id(e)) if known else None
            lines.append((heads(e) if head is None else head) + _IN_SCOPE[1 if keep else 0])
    return lines


_IN_SCOPE = ('"in_scope": false}', '"in_scope": true}')
"""How an event's line ends: its ``in_scope``, the one part of it the draft's scope decides."""


def event_heads(events: Sequence[Event]) -> list[str]:
    """Each event's line of the JSON draft up to its ``in_scope`` (:func:`event_lines` ends
    it): made from the event alone, so it can be made before the draft's scope is known (while
    other sources are still read). Written straight from the event, no record dict made first
    (an event whose fields are not all text is written from its record, as before); attrs that
    many events share (an incident's facts, :class:`~pmdraft.model.Attrs`' base) are encoded
    once, and each event's own attrs joined to them."""
    heads = _heads()
    with gc_paused():
        return [heads(e) for e in events]


def _heads() -> Callable[[Event], str]:
    """:func:`event_heads`' rule for one event, with its encoders made once."""
    compact = _compact()
    attrs_text = _attrs_encoder(compact)

    def text(value: str | None) -> str:
        return "null" if value is None else _TEXT(value)

    def head(e: Event) -> str:
        try:
            return (
                f'{{"at": "{iso_z(e.at)}", "source": {_TEXT(e.source)}, '
                f'"kind": {_TEXT(e.kind)}, "ref": {_TEXT(e.ref)}, '
                f'"summary": {_TEXT(e.summary)}, "service": {text(e.service)}, '
                f'"actor": {text(e.actor)}, "url": {text(e.url)}, '
                f'"attrs": {attrs_text(e.attrs)}, '
            )
        except TypeError:
            return compact(event_records([e])[0])[:-1] + ", "

    return head


def _attrs_encoder(compact: Callable[[Any], str]) -> Callable[[Any], str]:
    """``compact(Attrs(attrs).to_dict())``, with each shared base encoded once: its text and
    the event's own items' text joined (the base's keys come first, and no key is in both)."""
    bases: dict[int, tuple[Attrs, str]] = {}  # id of a base -> (the base, kept alive; its text)

    def encode(attrs: Any) -> str:
        base, own = Attrs(attrs).parts()
        if base is None:
            return compact(own)
        seen = bases.get(id(base))
        if seen is None:
            seen = bases[id(base)] = (base, compact(base.to_dict()))
        shared = seen[1]
        if not own:
            return shared
        mine = compact(own)
        return mine if shared == "{}" else f"{shared[:-1]}, {mine[1:]}"

    return encode


def dumps_lined(record: dict[str, Any]) -> str:
    """``record`` as indented JSON whose ``events`` array holds one compact event per line."""
    return _lined(record, list(map(_compact(), record["events"])))


def _lined(record: dict[str, Any], lines: Sequence[str]) -> str:
    """``record`` indented, its ``events`` array made of ``lines`` (one compact event each).

    ``indent=`` makes :mod:`json` use its pure-Python encoder, about 10x slower than the C one;
    so only the small rest of the record is indented, and each event is written by the C encoder
    (``indent=None``) on its own line: the same data, still readable and diffable line by line.
    (Encoding all events in one C call, with a marker between them, measured no faster.)
    """
    return json_with_events(_around(record), _array(lines))


def _array(lines: Sequence[str]) -> str:
    body = ",\n    ".join(lines)
    return f"[\n    {body}\n  ]" if lines else "[]"


def _around(record: dict[str, Any]) -> str:
    return json.dumps({**record, "events": _EVENTS}, indent=2, ensure_ascii=False)


def json_events(events: Sequence[Event], in_scope: Sequence[bool]) -> str:
    """The JSON draft's ``events`` array, one event a line (``in_scope`` empty: all in scope,
    as for a draft built without a scope)."""
    return _array(event_lines(events, _in_scope(events, in_scope)))


EVENT_PIECE = 2000
"""Events per piece of :func:`json_event_pieces` (about 1.4 MB of text in the busy month)."""


def json_event_pieces(
    events: Sequence[Event],
    in_scope: Sequence[bool],
    size: int = EVENT_PIECE,
    known: Mapping[int, str] | None = None,
) -> Iterator[str]:
    """:func:`json_events`' text in pieces of ``size`` events (joined, the same text), so that a
    large draft's array can be written as it is encoded, never whole in memory. ``known``: as
    :func:`event_lines`'."""
    if not events:
        yield "[]"
        return
    flags = _in_scope(events, in_scope)
    yield "[\n    "
    for start in range(0, len(events), size):
        piece = slice(start, start + size)
        body = ",\n    ".join(event_lines(events[piece], flags[piece], known))
        yield body if start == 0 else ",\n    " + body
    yield "\n  ]"


class JsonInParts:
    """The JSON draft written in three parts (:class:`pmdraft.cli.forked.StagedWrite`): its
    opening (schema, window, sources) and events as soon as those are final, while the draft is
    still being built; its ending (milestones, incidents, the rest) from the finished draft's
    JSON around the events (:func:`json_around_compact`, sent on one line). Joined, the text is
    :func:`render_json`'s."""

    def __init__(self, settled: Settled, known: Mapping[int, str] | None = None) -> None:
        """``known``: event lines' heads made already (:func:`event_lines`')."""
        self.settled = settled
        self.known = known
        record = {**_opening(settled.window, settled.reports), "events": _EVENTS}
        self._head = _split(json.dumps(record, indent=2, ensure_ascii=False))[0]

    def opening(self) -> Iterator[str]:
        """The text up to the events' end, piece by piece."""
        yield self._head
        yield from json_event_pieces(self.settled.events, self.settled.in_scope, known=self.known)

    def ending(self, rest: str) -> str | None:
        """The text after the events, from the finished draft's :func:`json_around_compact`;
        ``None`` when that draft's opening is not the one written (then :meth:`whole`)."""
        head, tail = _split(json_around_indented(rest))
        return tail if head == self._head else None

    def whole(self, rest: str) -> Iterator[str]:
        """The whole text, from :func:`json_around_compact`'s ``rest``."""
        head, tail = _split(json_around_indented(rest))
        yield head
        yield from json_event_pieces(self.settled.events, self.settled.in_scope, known=self.known)
        yield tail


def _split(around: str) -> tuple[str, str]:
    """:func:`json_around_events`' text cut where the events go: before, and after (with the
    file's last newline, as :func:`json_with_events` ends it)."""
    head, tail = around.split(json.dumps(_EVENTS), 1)
    return head, tail + "\n"


def json_around_events(draft: Draft) -> str:
    """The JSON draft without its events: :func:`render_json` with a marker where the events
    array goes (:func:`json_with_events` puts it there)."""
    return _around(_record(draft, _EVENTS))


def json_around_compact(draft: Draft) -> str:
    """:func:`json_around_events`' JSON on one line, by the C encoder (about 10x faster than
    the indented one): the CLI sends it to the JSON draft's child, which indents it
    (:func:`json_around_indented`) off the parent's critical path."""
    return _compact()(_record(draft, _EVENTS))


def json_around_indented(compact: str) -> str:
    """:func:`json_around_compact`'s text as :func:`json_around_events` writes it (the same
    values: JSON reads back what it wrote, tuples as lists, keys as text)."""
    return json.dumps(json.loads(compact), indent=2, ensure_ascii=False)


def json_with_events(around: str, events: str) -> str:
    """:func:`json_around_events`' text with :func:`json_events`' array in its place: the JSON
    draft. (Written in two parts, the events can be encoded before the rest of the draft is
    built: :mod:`pmdraft.cli.forked`.)"""
    return around.replace(json.dumps(_EVENTS), events, 1) + "\n"


def render_json(draft: Draft) -> str:
    """The draft as the JSON contract (``pmdraft/draft-2``), UTF-8 text kept as is: indented,
    one event per line."""
    return json_with_events(json_around_events(draft), json_events(draft.events, draft.in_scope))


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
