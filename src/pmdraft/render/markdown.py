"""The postmortem draft in Markdown, following the team's template section by section.

What the data gives is filled in, each number with how it was computed; what only a person can
write is a visible prompt (``_To be written: ..._``).
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import RenderError
from ..model import iso_z
from ..timeline.milestones import DURATIONS, MILESTONES
from ..timeline.story import SOURCE_LABEL
from .text import cell, duration_words, hhmm, hhmmss, long_date, markdown_text

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
}


TEMPLATE_HELP = "docs/templates.md lists the variables a template can use"


def sandboxed_environment(
    *, autoescape: bool, filters: dict[str, Any], loader: jinja2.BaseLoader | None = None
) -> SandboxedEnvironment:
    """The sandboxed jinja2 environment every template (built-in or the user's) is filled in."""
    env = SandboxedEnvironment(
        loader=loader or jinja2.PackageLoader("pmdraft.render", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env


def _environment(loader: jinja2.BaseLoader | None = None) -> SandboxedEnvironment:
    return sandboxed_environment(
        autoescape=False, filters={"cell": cell, "inline": markdown_text}, loader=loader
    )


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


def _facts(draft: Draft) -> tuple[list[str], list[str]]:
    d, m = draft.analysis.durations, draft.analysis.milestones
    well: list[str] = []
    wrong: list[str] = []
    ttd = d.get("time_to_detect")
    if ttd is not None:
        text = f"the first alert fired {duration_words(ttd)} after impact began (time_to_detect = {ttd} s)"
        (well if ttd <= FAST_DETECT else wrong).append(
            ("Fast detection: " if ttd <= FAST_DETECT else "Slow detection: ") + text
        )
    tta = d.get("time_to_acknowledge")
    if tta is not None:
        text = f"acknowledged {duration_words(tta)} after the page (time_to_acknowledge = {tta} s)"
        (well if tta <= FAST_ACK else wrong).append(
            ("Quick response: " if tta <= FAST_ACK else "Slow response: ") + text
        )
    ctd = d.get("change_to_detect")
    change = m.get("suspect_change")
    if ctd is not None and change is not None:
        version = _change_name(draft)
        text = f"{duration_words(ctd)} between deploy {version} and the first alert (change_to_detect = {ctd} s)"
        (wrong if ctd > LATE_CHANGE else well).append(
            ("Late detection: " if ctd > LATE_CHANGE else "Early signal: ") + text
        )
    detected, rollback = m.get("detected"), getattr(draft, "rollback", None)
    if rollback is not None and detected is not None:
        took = (rollback.at - detected.at).total_seconds()
        well.append(
            f"Rollback as mitigation: {markdown_text(rollback.summary)} at {hhmmss(rollback.at)} UTC; "
            f"the rollback took {duration_words(took)} from the first alert"
        )
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
        parts = [str(inc["priority"])] if inc.get("priority") else []
        if inc.get("urgency"):
            parts.append(f"{inc['urgency']} urgency")
        if parts:
            return ", ".join(parts) + " (from PagerDuty)"
    return None


def _title(draft: Draft) -> str:
    if draft.incidents:
        first = draft.incidents[0]
        title = str(first.get("title") or f"PagerDuty incident {first['id']}")
        more = len(draft.incidents) - 1
        return title + (f" (and {more} more incident{'s' if more > 1 else ''})" if more else "")
    start = draft.analysis.milestones.get("impact_started")
    when = (start.at if start else draft.window.since).strftime("%Y-%m-%d %H:%M UTC")
    return f"Incident of {when}"


def _timeline(draft: Draft, tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """Timeline rows; each time column shows its date on the first row and when its day changes.

    Dates appear only when the timeline spans more than one day in either column's zone.
    """
    rows = []
    local = [r.at.astimezone(tz) for r in draft.rows] if tz else [None] * len(draft.rows)
    multi_day = (
        len({r.at.date() for r in draft.rows}) > 1 or len({t.date() for t in local if t}) > 1
    )
    previous, previous_local = None, None
    for r, lt in zip(draft.rows, local):
        show_date = multi_day and r.at.date() != previous
        previous = r.at.date()
        time = (r.at.strftime("%Y-%m-%d ") if show_date else "") + hhmmss(r.at)
        local_time = None
        if lt is not None:
            show_local_date = multi_day and lt.date() != previous_local
            previous_local = lt.date()
            local_time = (
                lt.strftime("%Y-%m-%d ") if show_local_date else ""
            ) + f"{hhmmss(lt)} {lt.tzname()}"
        marks = ", ".join(r.milestones)
        rows.append(
            {
                "time": time,
                "local": local_time,
                "event": r.text,
                "marks": list(r.milestones),
                "text": r.text + (f" _[{marks}]_" if marks else ""),
            }
        )
    return rows


def _metrics(draft: Draft) -> list[dict[str, str]]:
    m, d = draft.analysis.milestones, draft.analysis.durations
    out = []
    for name, (end, start, meaning) in DURATIONS.items():
        value = d.get(name)
        out.append(
            {
                "name": name,
                "value": "unknown" if value is None else f"{duration_words(value)} ({value} s)",
                "definition": f"{end} - {start}: {meaning}",
                "from": "; ".join(
                    f"{n}: "
                    + (f"{iso_z(m[n].at)} {m[n].summary or ''}".strip() if m[n] else "no evidence")
                    for n in (start, end)
                ),
            }
        )
    return out


def _lead(lead: Any) -> dict[str, Any]:
    """A suspect deploy as plain values: when (with the date), what, why."""
    return {
        "at": lead.at.strftime("%Y-%m-%d %H:%M:%S"),
        "summary": lead.summary,
        "source": lead.source,
        "ref": lead.ref,
        "url": lead.url or "",
        "reasons": "; ".join(lead.reasons),
    }


def _responder(r: Any) -> dict[str, Any]:
    """One responder of one incident as plain values: who, first paged, acknowledged, time to ack."""
    tta = r.time_to_ack
    return {
        "incident": f"#{r.incident_number}" if r.incident_number is not None else r.incident_id,
        "who": r.name,
        "paged": hhmmss(r.paged) if r.paged else None,
        "acknowledged": hhmmss(r.acknowledged) if r.acknowledged else None,
        "time_to_ack": None if tta is None else f"{duration_words(tta)} ({tta:g} s)",
        "time_to_ack_seconds": tta,
    }


def _related(r: Any) -> dict[str, Any]:
    """A past incident as plain values: date, number, title, link, duration and why it is listed."""
    seconds = r.get("duration_seconds")
    return {
        "date": str(r.get("created_at") or "")[:10],
        "number": r.get("number"),
        "title": r.get("title") or "",
        "url": r.get("url") or "",
        "service": r.get("service") or "",
        "duration": "still open" if seconds is None else duration_words(seconds),
        "reasons": r.get("reasons") or "",
    }


def _milestone_rows(draft: Draft) -> list[dict[str, str]]:
    out = []
    for name in MILESTONES:
        ms = draft.analysis.milestones.get(name)
        notes = draft.analysis.notes.get(name, [])
        out.append(
            {
                "name": name,
                "at": iso_z(ms.at) if ms else "unknown",
                "rule": (ms.rule if ms else "no evidence")
                + ("; " + "; ".join(notes) if notes else ""),
                "event": (ms.summary or "") if ms else "",
            }
        )
    return out


def context(draft: Draft, tz: tzinfo | None = None) -> dict[str, Any]:
    """The plain values the templates see (no DataFrame, no model objects); docs/templates.md lists them.

    ``tz`` adds a local time to each timeline row; every other time stays UTC.
    """
    m, d = draft.analysis.milestones, draft.analysis.durations
    start, end = m.get("impact_started"), m.get("resolved")
    well, wrong = _facts(draft)
    change = m.get("suspect_change")
    comms = [
        {
            "time": hhmmss(e.at),
            "date": e.at.strftime("%Y-%m-%d"),
            "who": e.actor or "someone",
            "incident": f"#{e.attrs.get('incident_number')}",
            "text": str(e.attrs.get("note") or ""),
        }
        for e in draft.events
        if e.kind == "incident.annotated"
    ]
    return {
        "title": _title(draft),
        "date": (start.at if start else draft.window.since).strftime("%Y-%m-%d"),
        "long_date": long_date(start.at if start else draft.window.since),
        "severity": _severity(draft),
        "window": {"since": iso_z(draft.window.since), "until": iso_z(draft.window.until)},
        "start": hhmm(start.at) if start else None,
        "end": hhmm(end.at) if end else None,
        "duration": duration_words(d["time_to_resolve"])
        if d.get("time_to_resolve") is not None
        else None,
        "duration_seconds": d.get("time_to_resolve"),
        "start_rule": start.rule if start else None,
        "end_rule": end.rule if end else None,
        "tz": str(tz) if tz else None,
        "timeline": _timeline(draft, tz),
        "suspect": None
        if change is None
        else {
            "version": _change_name(draft),
            "summary": change.summary or "",
            "at": hhmmss(change.at),
            "before_alert": duration_words(d["change_to_detect"])
            if d.get("change_to_detect") is not None
            else None,
            "rule": change.rule,
        },
        "leads": [_lead(lead) for lead in draft.suspects.leads],
        "latent": [_lead(lead) for lead in draft.suspects.latent],
        "latent_days": f"{draft.suspects.long_lookback.total_seconds() / 86400:g}",
        "latent_services": list(draft.suspects.services),
        "well": well,
        "wrong": wrong,
        "metrics": _metrics(draft),
        "milestones": _milestone_rows(draft),
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
        "comms": comms,
        "incidents": [{"assignees": [], "acknowledged_by": [], **inc} for inc in draft.incidents],
        "responders": [_responder(r) for r in getattr(draft, "responders", [])],
        "related": [_related(r) for r in getattr(draft, "related", [])],
        "related_days": None
        if getattr(draft, "related_lookback_days", None) is None
        else f"{draft.related_lookback_days:g}",
        "related_error": getattr(draft, "related_error", None),
        "source_labels": SOURCE_LABEL,
        "graphs": [{**g, "href": quote(g["path"])} for g in getattr(draft, "graphs", [])],
        "graphs_note": getattr(draft, "graphs_note", None),
    }


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The line of ``filename`` where rendering failed, from jinja2's rewritten traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if filename and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def load_template(path: Path, environment: SandboxedEnvironment) -> jinja2.Template:
    """Compile a user's template file in ``environment`` (sandboxed, StrictUndefined).

    Other templates it includes or extends are looked up beside it.
    """
    path = path.expanduser().resolve()
    env = environment.overlay(loader=jinja2.FileSystemLoader(str(path.parent)))
    try:
        return env.get_template(path.name)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {path} does not exist (or is not readable)") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"template {exc.filename or path}, line {exc.lineno}: {exc.message}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"template {path} could not be read: {exc}") from exc


def load_markdown_template(path: Path) -> jinja2.Template:
    """A user's Markdown template (``--template`` or ``[render] template``), compiled."""
    return load_template(path, _environment())


def fill(template: jinja2.Template, values: dict[str, Any]) -> str:
    """Render ``template``; an undefined variable is an error naming it, the file and the line."""
    try:
        return template.render(**values)
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, template.filename)
        where = f"template {template.filename or template.name}" + (
            f", line {line}" if line else ""
        )
        raise RenderError(f"{where}: {exc.message}; {TEMPLATE_HELP}") from exc
    except jinja2.TemplateError as exc:
        line = _template_line(exc, template.filename)
        where = f"template {template.filename or template.name}" + (
            f", line {line}" if line else ""
        )
        raise RenderError(f"{where} could not be filled: {exc}") from exc


def render_markdown(
    draft: Draft, *, tz: tzinfo | None = None, template: jinja2.Template | None = None
) -> str:
    """The draft as GitHub-flavoured Markdown in the template's section order.

    ``tz`` adds a local-time column to the timeline; ``template`` (from
    :func:`load_markdown_template`) replaces the built-in one. Each ``pmdraft:begin`` marker the
    template writes gets the digest of its block (see :mod:`pmdraft.living`).
    """
    from ..living import seal

    return seal(
        fill(template or _environment().get_template("postmortem.md.j2"), context(draft, tz))
    )
