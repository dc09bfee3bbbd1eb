"""One call from config and window to a finished draft: collect, build the frame, analyse.

Everything the CLI does is also a Python call here: :func:`make_draft` returns a
:class:`Draft` of plain values that the renderers turn into text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .collectors import build_collectors
from .collectors.base import Collector
from .config import Config
from .model import Event, Window
from .pipeline import Collected, SourceReport, collect
from .timeline import Analysis, Row, analyse, build_frame, build_rows, frame_events


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

    @property
    def gaps(self) -> list[SourceReport]:
        return [r for r in self.reports if r.status == "failed"]


def _incidents(events: Sequence[Event]) -> list[dict[str, object]]:
    seen: dict[str, dict[str, object]] = {}
    for e in events:
        if e.source == "pagerduty" and e.ref not in seen:
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
            }
    return list(seen.values())


def build_draft(
    collected: Collected,
    window: Window,
    *,
    suspect_lookback: timedelta = timedelta(hours=6),
    overrides: Mapping[str, datetime] | None = None,
    generated_at: datetime | None = None,
) -> Draft:
    """Turn gathered events into a draft: one sorted frame, milestones, timeline rows."""
    frame = build_frame(collected.events)
    analysis = analyse(frame, suspect_lookback=suspect_lookback, overrides=overrides)
    events = frame_events(frame)
    return Draft(
        window=window,
        events=events,
        analysis=analysis,
        rows=build_rows(frame, analysis.milestones),
        reports=collected.reports,
        generated_at=generated_at,
        incidents=_incidents(events),
    )


def make_draft(
    config: Config,
    window: Window,
    environ: Mapping[str, str],
    *,
    overrides: Mapping[str, datetime] | None = None,
    collectors: Sequence[Collector] | None = None,
    generated_at: datetime | None = None,
) -> Draft:
    """Collect every configured source for ``window`` and build the draft."""
    not_configured: list[str] = []
    if collectors is None:
        built, not_configured = build_collectors(config, environ)
        collectors = built
    collected = collect(collectors, window, not_configured)
    return build_draft(
        collected,
        window,
        suspect_lookback=timedelta(hours=config.timeline.suspect_lookback_hours),
        overrides=overrides,
        generated_at=generated_at,
    )
