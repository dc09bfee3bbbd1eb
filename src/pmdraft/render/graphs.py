"""Monitoring graphs: one PNG per alarm that went to ALARM, and an overview of them all.

Each figure draws the alarm's metric over the window (plus the collector's margin), its
threshold as a dashed line, its ALARM periods shaded red, and vertical markers for milestones
and for the deploys near the impact (from the suspect lookback before impact start to the
resolution; without an impact start, the window's). At most ``max_graphs`` alarms are drawn
(:data:`MAX_GRAPHS`): those that spent longest in ALARM; :func:`not_drawn` names the rest.
Nothing is written here: :func:`plan_graphs` gives the figures as plain records
(:class:`pmdraft.figures.Figure`, small enough to send to a drawing process), the draft's links
and alt text, and the alarms not drawn; :func:`render_graphs` draws them here and returns
``{relative path: PNG bytes}``, which the CLI writes beside the draft. matplotlib is the optional
extra ``pmdraft[graphs]``; without it :class:`GraphsUnavailable` says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import GraphsUnavailable
from ..figures import INSTALL_HINT, MILESTONE_COLOURS, Figure, Panel, draw, unavailable
from ..model import ALARM_ALARM, MetricSeries

if TYPE_CHECKING:
    from ..draft import Draft

OVERVIEW = "overview.png"
"""The combined figure's file name inside the graphs folder."""

MAX_GRAPHS = 8
"""Alarm figures drawn at most (plus the overview): the alarms longest in ALARM."""


@dataclass(frozen=True)
class _Plan:
    """One alarm's graph: its file name, series, ALARM periods and alt text."""

    filename: str
    series: MetricSeries
    times: list[datetime]
    values: list[float]
    alarm_periods: list[tuple[datetime, datetime]]
    alt: str


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(UTC)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "alarm"


def _alarm_periods(draft: Draft) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each alarm's stretches in ALARM within the window, by ref, from its transitions.

    One pass over the draft's events for all alarms: a month has tens of thousands of events,
    and a pass per alarm (200 of them) cost about 0.5 s.
    """
    periods: dict[str, list[tuple[datetime, datetime]]] = {}
    start: dict[str, datetime] = {}
    for e in sorted((e for e in draft.events if e.source == "cloudwatch"), key=lambda e: e.at):
        if e.kind == ALARM_ALARM and e.ref not in start:
            start[e.ref] = e.at
        elif e.kind != ALARM_ALARM and e.ref in start:
            periods.setdefault(e.ref, []).append((start.pop(e.ref), e.at))
    for ref, at in start.items():
        periods.setdefault(ref, []).append((at, draft.window.until))
    return periods


def _has_data(s: MetricSeries) -> bool:
    return any(v is not None and not math.isnan(v) for v in s.values)


def _ranked(draft: Draft, max_graphs: int) -> tuple[list[_Plan], list[str]]:
    """(drawn, not drawn): the ``max_graphs`` plans longest in ALARM, in draft order, and the
    names of the other alarms with data, in draft order. Ties go to the earlier series.

    Only the drawn series' datapoints are parsed: a month of 200 alarms costs 8 series' parsing.
    """
    with_data = [i for i, s in enumerate(draft.series) if _has_data(s)]
    periods = _alarm_periods(draft)
    if len(with_data) > max_graphs:
        spent = {
            i: sum((b - a).total_seconds() for a, b in periods.get(draft.series[i].ref, []))
            for i in with_data
        }
        chosen = set(sorted(with_data, key=lambda i: (-spent[i], i))[:max_graphs])
    else:
        chosen = set(with_data)
    rest = [draft.series[i].alarm_name for i in with_data if i not in chosen]
    return _plans(draft, chosen, periods), rest


def not_drawn(draft: Draft, max_graphs: int = MAX_GRAPHS) -> list[str]:
    """The alarms with data that are not drawn (past ``max_graphs``), by name, in draft order."""
    return _ranked(draft, max_graphs)[1]


def _plans(
    draft: Draft, chosen: set[int], all_periods: dict[str, list[tuple[datetime, datetime]]]
) -> list[_Plan]:
    plans: list[_Plan] = []
    used: set[str] = set()
    for i, s in enumerate(draft.series):
        if i not in chosen:
            continue
        pairs = [
            (_parse(t), float(v))
            for t, v in zip(s.times, s.values, strict=True)
            if v is not None and not math.isnan(v)
        ]
        if not pairs:
            continue
        name = _slug(s.alarm_name)
        if name in used:
            name = _slug(f"{s.alarm_name}-{s.account or ''}-{s.region}")
        used.add(name)
        times, values = [t for t, _ in pairs], [v for _, v in pairs]
        periods = all_periods.get(s.ref, [])
        peak = max(range(len(values)), key=values.__getitem__)
        fired = ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in periods) or "none"
        threshold = "" if s.threshold is None else f", threshold {s.threshold:g} (dashed line)"
        alt = (
            f"{s.alarm_name}: {s.metric} ({s.statistic} per {s.period} s, UTC){threshold}; "
            f"ALARM shaded red: {fired}; peak {values[peak]:g} at {times[peak]:%H:%M}"
        )
        plans.append(_Plan(f"{name}.png", s, times, values, periods, alt))
    return plans


def graph_links(draft: Draft, folder: str, max_graphs: int = MAX_GRAPHS) -> list[dict[str, str]]:
    """The graphs' links for the draft, relative to it: path, title and alt text, overview first.

    The overview's alt text also names the alarms not drawn (past ``max_graphs``).
    """
    return _links(*_ranked(draft, max_graphs), folder, max_graphs)


def _links(
    plans: list[_Plan], rest: list[str], folder: str, max_graphs: int
) -> list[dict[str, str]]:
    if not plans:
        return []
    names = ", ".join(p.series.alarm_name for p in plans)
    links = [
        {
            "path": f"{folder}/{OVERVIEW}",
            "title": "Overview",
            "alt": f"Overview of the alarmed metrics ({names}) with their thresholds, "
            "ALARM periods shaded red, "
            "and the deploys and milestones marked"
            + (f"; {rest_note(len(rest), max_graphs, rest)}" if rest else ""),
        }
    ]
    links += [
        {"path": f"{folder}/{p.filename}", "title": p.series.alarm_name, "alt": p.alt}
        for p in plans
    ]
    return links


def rest_note(count: int, max_graphs: int, names: list[str]) -> str:
    """``3 more alarms not drawn (at most 8 figures, longest in ALARM first): a, b, c``."""
    return (
        f"{count} more alarm{'s' if count > 1 else ''} not drawn (at most {max_graphs} figures, "
        f"longest in ALARM first): {', '.join(names)}"
    )


def near_impact(draft: Draft) -> list[Any]:
    """The deploys a figure marks: from the suspect lookback before impact start to resolution.

    Without an impact start, every deploy in the draft; the end is the resolution, else the
    mitigation, else the window's end.
    """
    deploys = [e for e in draft.events if e.kind.startswith("deploy.")]
    milestones = draft.analysis.milestones
    impact = milestones.get("impact_started")
    if impact is None:
        return deploys
    end = milestones.get("resolved") or milestones.get("mitigated")
    since = impact.at - draft.suspects.lookback
    until = end.at if end is not None else draft.window.until
    return [e for e in deploys if since <= e.at <= until]


@dataclass(frozen=True)
class Graphs:
    """A draft's graphs, worked out once: the figures to draw, their links, the alarms left out."""

    figures: list[Figure]
    links: list[dict[str, str]]
    not_drawn: list[str]


def plan_graphs(draft: Draft, folder: str, max_graphs: int = MAX_GRAPHS) -> Graphs:
    """What :func:`plan_figures`, :func:`graph_links` and :func:`not_drawn` give, from one
    ranking of the alarms (parsing the drawn series' datapoints once)."""
    plans, rest = _ranked(draft, max_graphs)
    return Graphs(_figures(draft, plans, folder), _links(plans, rest, folder, max_graphs), rest)


def plan_figures(draft: Draft, folder: str, max_graphs: int = MAX_GRAPHS) -> list[Figure]:
    """What :func:`render_graphs` draws, as plain records: one figure per drawn alarm, then the
    overview (none when no alarm has data). Small enough to hand to another process."""
    return _figures(draft, _ranked(draft, max_graphs)[0], folder)


def _figures(draft: Draft, plans: list[_Plan], folder: str) -> list[Figure]:
    if not plans:
        return []
    deploys = tuple(
        (e.at, f"deploy {e.attrs.get('version') or ''}".rstrip()) for e in near_impact(draft)
    )
    marked = tuple(
        (name, m.at)
        for name, m in draft.analysis.milestones.items()
        if m is not None and name in MILESTONE_COLOURS
    )
    panels = [
        Panel(
            title=p.series.alarm_name,
            label=f"{p.series.metric} ({p.series.statistic})",
            times=tuple(p.times),
            values=tuple(p.values),
            threshold=p.series.threshold,
            alarm_periods=tuple(p.alarm_periods),
        )
        for p in plans
    ]
    out = [
        Figure(f"{folder}/{p.filename}", (panel,), deploys, marked)
        for p, panel in zip(plans, panels, strict=True)
    ]
    title = f"Monitoring overview, {draft.window.since:%Y-%m-%d}"
    out.append(Figure(f"{folder}/{OVERVIEW}", tuple(panels), deploys, marked, title))
    return out


def render_graphs(draft: Draft, folder: str, max_graphs: int = MAX_GRAPHS) -> dict[str, bytes]:
    """``{path relative to the draft: PNG bytes}``: one figure per drawn alarm, then the overview.

    At most ``max_graphs`` alarm figures, the alarms longest in ALARM. Raises
    :class:`GraphsUnavailable` without matplotlib; an empty dict when no alarm has data.
    """
    return draw(plan_figures(draft, folder, max_graphs))


def graphs_folder(draft_name: str) -> str:
    """The graphs' folder for a draft file name: ``postmortem.md`` -> ``postmortem-graphs``."""
    stem = draft_name.rsplit(".", 1)[0] if "." in draft_name else draft_name
    return f"{stem}-graphs"


__all__ = [
    "INSTALL_HINT",
    "MAX_GRAPHS",
    "Graphs",
    "GraphsUnavailable",
    "graph_links",
    "graphs_folder",
    "not_drawn",
    "plan_figures",
    "plan_graphs",
    "render_graphs",
    "rest_note",
    "unavailable",
]
