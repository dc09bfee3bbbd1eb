"""One call from config and window to a finished draft: collect, build the frame, analyse.

Everything the CLI does is also a Python call here: :func:`make_draft` returns a
:class:`Draft` of plain values that the renderers turn into text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .config import Config
from .sources.cloudwatch import CloudWatchConfig
from .model import Event, Window, iso_z
from .pipeline import build_collectors, Collected, Progress, SourceReport, collect
from .sources.base import Collector
from .timeline import Analysis, Row, analyse, build_frame, build_rows, frame_events
from .timeline.correlate import correlate
from .timeline.milestones import Milestone
from .timeline.related import related
from .timeline.responders import Responder, people, responders
from .timeline.suspects import Suspects, find_rollback, rank


@dataclass
class Draft:
    """Everything a renderer needs, as plain values."""

    window: Window
    events: list[Event]
    analysis: Analysis
    rows: list[Row]
    reports: list[SourceReport]
    generated_at: datetime | None = None
    incidents: list[dict[str, object]] = field(default_factory=list)
    suspects: Suspects = field(default_factory=Suspects)
    """Ranked suspect deploys (up to three leads) and the long lookback's deploys."""
    rollback: Event | None = None
    """The rollback after detection that was the mitigation action, if the deploys show one."""
    metric_series: list[dict[str, object]] = field(default_factory=list)
    """Each alarmed metric's datapoints (from CloudWatch's GetMetricData), for the graphs."""
    graphs: list[dict[str, str]] = field(default_factory=list)
    """The graphs written beside the draft (path, title, alt), set by whoever writes them."""
    graphs_note: str | None = None
    """Why there are no graphs, when that is worth saying (matplotlib missing, --no-graphs)."""
    responders: list[Responder] = field(default_factory=list)
    """Each person paged or acknowledging, per incident, with their time to acknowledge."""
    related: list[dict[str, object]] = field(default_factory=list)
    """Past PagerDuty incidents like these (same service or similar title), most similar first."""
    related_lookback_days: float | None = None
    """Days searched for related incidents; ``None`` when they were not looked for."""
    related_error: str | None = None
    """Why the past incidents could not be read, if they could not."""

    @property
    def gaps(self) -> list[SourceReport]:
        return [r for r in self.reports if r.status == "failed"]


def _incidents(events: Sequence[Event]) -> list[dict[str, object]]:
    seen: dict[str, dict[str, object]] = {}
    who = people(events)
    for e in events:
        if e.source == "pagerduty" and e.kind.startswith("incident.") and e.ref not in seen:
            a = e.attrs
            seen[e.ref] = {
                "id": e.ref,
                "number": a.get("incident_number"),
                "title": a.get("incident_title"),
                "url": a.get("incident_url"),
                "priority": a.get("priority"),
                "urgency": a.get("urgency"),
                "service": e.service,
                "escalation_policy": a.get("escalation_policy"),
                "assignees": who.get(e.ref, {}).get("assignees", []),
                "acknowledged_by": who.get(e.ref, {}).get("acknowledged_by", []),
            }
    return list(seen.values())


def related_incidents(
    incidents: Sequence[dict[str, object]],
    scope: Sequence[dict[str, object]],
    candidates: Sequence[dict[str, object]],
) -> list[dict[str, object]]:
    """Past incidents like the draft's own (those with events), ranked; see :mod:`pmdraft.timeline.related`."""
    shown = {i["id"] for i in incidents}
    return related([i for i in scope if i.get("id") in shown] or list(scope), candidates)


def _squashed(text: str) -> str:
    return "".join(c for c in text.casefold() if c not in " -_")


def alarms_of_services(events: Sequence[Event]) -> list[Event]:
    """``events`` without the CloudWatch alarms that mention none of the services in scope.

    The services in scope are those of the PagerDuty incidents and the deploys among ``events``;
    an alarm mentions one when its name, dimensions or tags contain it (case, spaces, "-" and
    "_" ignored). Without any such service, every alarm is kept.
    """
    services = {
        _squashed(e.service)
        for e in events
        if e.service
        and (
            e.kind.startswith("deploy.")
            or (e.source == "pagerduty" and e.kind.startswith("incident."))
        )
    }
    services.discard("")
    if not services:
        return list(events)

    def mentioned(e: Event) -> bool:
        said = _squashed(
            " ".join(str(e.attrs.get(k) or "") for k in ("alarm_name", "dimensions", "tags"))
        )
        return any(s in said for s in services)

    return [e for e in events if e.source != "cloudwatch" or mentioned(e)]


def build_draft(
    collected: Collected,
    window: Window,
    *,
    suspect_lookback: timedelta = timedelta(hours=6),
    long_lookback: timedelta = timedelta(0),
    overrides: Mapping[str, datetime] | None = None,
    generated_at: datetime | None = None,
    flap_transitions: int = 3,
    flap_span: timedelta = timedelta(minutes=10),
    alarm_services: bool = False,
) -> Draft:
    """Turn gathered events into a draft: one sorted frame, milestones, timeline rows, suspects.

    Deploys from before ``suspect_lookback`` ahead of the window (read for the long lookback)
    stay out of the frame and the timeline; they only feed the long lookback's list. With
    ``alarm_services``, alarms go through :func:`alarms_of_services` first.
    """
    if alarm_services:
        collected = replace(collected, events=alarms_of_services(collected.events))
    cutoff = window.since - suspect_lookback
    history = [e for e in collected.events if e.at < cutoff and e.kind.startswith("deploy.")]
    current = (
        [e for e in collected.events if not (e.at < cutoff and e.kind.startswith("deploy."))]
        if history
        else collected.events
    )
    frame = correlate(build_frame(current))
    failed = [r.name for r in collected.reports if r.status == "failed"]
    analysis = analyse(
        frame, suspect_lookback=suspect_lookback, overrides=overrides, failed_sources=failed
    )
    events = frame_events(frame)
    impact, detected = (
        analysis.milestones.get("impact_started"),
        analysis.milestones.get("detected"),
    )
    suspects = rank(
        history + events,
        impact.at if impact else None,
        lookback=suspect_lookback,
        long_lookback=long_lookback,
    )
    rollback = find_rollback(history + events, detected.at if detected else None)
    marks: Mapping[str, Milestone | None] = analysis.milestones
    if rollback is not None and detected is not None:
        marks = {
            **analysis.milestones,
            "mitigation action": Milestone(
                rollback.at, "rollback after detection", rollback.ref, rollback.summary, rollback.at
            ),
        }
        from .render.text import duration_words

        took = (rollback.at - detected.at).total_seconds()
        analysis.notes.setdefault("mitigated", []).append(
            f"mitigation action: rollback ({rollback.summary}) at {iso_z(rollback.at)}, "
            f"{duration_words(took)} after detection"
        )
    incidents = _incidents(events)
    rel = collected.related
    past: dict[str, Any] = {}
    if rel is not None:
        past = {
            "scope": [i.to_record() for i in rel.scope],
            "candidates": [i.to_record() for i in rel.candidates],
            "lookback_days": rel.lookback_days,
            "error": rel.error,
        }
    return Draft(
        window=window,
        events=events,
        analysis=analysis,
        rows=build_rows(frame, marks, flap_transitions=flap_transitions, flap_span=flap_span),
        reports=collected.reports,
        generated_at=generated_at,
        incidents=incidents,
        suspects=suspects,
        rollback=rollback,
        responders=responders(events),
        related=related_incidents(incidents, past.get("scope", []), past.get("candidates", [])),
        related_lookback_days=past.get("lookback_days"),
        related_error=past.get("error"),
    )


def make_draft(
    config: Config,
    window: Window,
    environ: Mapping[str, str],
    *,
    overrides: Mapping[str, datetime] | None = None,
    collectors: Sequence[Collector] | None = None,
    generated_at: datetime | None = None,
    progress: Progress | None = None,
) -> Draft:
    """Collect every configured source for ``window`` and build the draft.

    ``progress`` is passed to :func:`pmdraft.pipeline.collect` (per-source counts while it runs).
    """
    not_configured: list[str] = []
    if collectors is None:
        built, not_configured = build_collectors(config, environ)
        collectors = built
    collected = collect(collectors, window, not_configured, progress=progress)
    cw = config.get(CloudWatchConfig)
    alarm_services = cw is not None and cw.alarm_services
    result = build_draft(
        collected,
        window,
        suspect_lookback=timedelta(hours=config.timeline.suspect_lookback_hours),
        long_lookback=timedelta(days=config.timeline.long_lookback_days),
        overrides=overrides,
        generated_at=generated_at,
        flap_transitions=config.timeline.flap_transitions,
        flap_span=timedelta(minutes=config.timeline.flap_minutes),
        alarm_services=alarm_services,
    )
    result.metric_series = [s.to_record() for s in collected.series]
    if alarm_services:
        kept = {e.attrs.get("alarm_name") for e in result.events if e.source == "cloudwatch"}
        result.metric_series = [s for s in result.metric_series if s.get("alarm_name") in kept]
    return result
