"""The JSON contract (``pmdraft/draft-1``) and the bare timeline formats (table, CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from ..model import iso_z
from ..timeline.milestones import MILESTONES
from .text import inline

if TYPE_CHECKING:
    from ..draft import Draft

SCHEMA = "pmdraft/draft-1"


def draft_record(draft: Draft) -> dict[str, Any]:
    """The documented JSON shape of a draft; every time ISO 8601 UTC ending in ``Z``."""
    return {
        "schema": SCHEMA,
        "window": {"since": iso_z(draft.window.since), "until": iso_z(draft.window.until)},
        "sources": [r.to_record() for r in draft.reports],
        "events": [e.to_record() for e in draft.events],
        "milestones": {
            name: (m.to_record() if (m := draft.analysis.milestones.get(name)) else None)
            for name in MILESTONES
        },
        "durations": dict(draft.analysis.durations),
        "notes": {k: list(v) for k, v in draft.analysis.notes.items()},
        "suspects": draft.suspects.to_record(),
        "related": [dict(r) for r in draft.related],
    }


def render_json(draft: Draft) -> str:
    return json.dumps(draft_record(draft), indent=2, ensure_ascii=False) + "\n"


def render_timeline(draft: Draft, fmt: str) -> str:
    """Every event, one per line: ``table`` for people, ``csv`` and ``json`` for tools."""
    records = [e.to_record() for e in draft.events]
    if fmt == "json":
        return (
            json.dumps(
                {
                    "window": draft_record(draft)["window"],
                    "sources": [r.to_record() for r in draft.reports],
                    "events": records,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["at", "source", "kind", "ref", "summary", "service", "actor", "url"])
        for r in records:
            writer.writerow(
                [
                    r[k] if r[k] is not None else ""
                    for k in ("at", "source", "kind", "ref", "summary", "service", "actor", "url")
                ]
            )
        return out.getvalue()
    lines = [f"{'TIME (UTC)':20}  {'SOURCE':10}  {'KIND':24}  SUMMARY"]
    for r in records:
        lines.append(f"{r['at']:20}  {r['source']:10}  {r['kind']:24}  {inline(r['summary'])}")
    for report in draft.reports:
        if report.status != "ok":
            lines.append(
                f"# {report.name}: {report.status}{': ' + report.error if report.error else ''}"
            )
    return "\n".join(lines) + "\n"
