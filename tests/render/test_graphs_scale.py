"""Graphs at scale: at most max_graphs figures (longest in ALARM), the rest named; deploy markers near the impact only."""

from __future__ import annotations

from datetime import timedelta

from pmdraft.draft import build_draft
from pmdraft.graphs_beside import with_graphs
from pmdraft.model import Event, MetricSeries, Window, iso_z
from pmdraft.pipeline import Collected
from pmdraft.render.graphs import near_impact, not_drawn

from ..conftest import utc

T0 = utc(2024, 3, 1)
WINDOW = Window(T0, T0 + timedelta(days=1))


def alarm(name: str, at, kind: str) -> Event:
    attrs = {"alarm_name": name, "region": "us-east-1"}
    if kind == "alarm.alarm":
        attrs |= {"breach_start": iso_z(at), "breach_start_rule": "transition time"}
    return Event(
        at=at, source="cloudwatch", kind=kind, ref=f"us-east-1:{name}", summary=name, attrs=attrs
    )


def deploy(hours: float) -> Event:
    at = T0 + timedelta(hours=hours)
    return Event(
        at=at,
        source="deploys",
        kind="deploy.succeeded",
        ref=f"d{hours}",
        summary="deploy",
        attrs={"version": f"v{hours}"},
    )


def series(name: str) -> MetricSeries:
    times = [T0 + timedelta(minutes=m) for m in range(0, 24 * 60, 30)]
    return MetricSeries(
        alarm_name=name,
        ref=f"us-east-1:{name}",
        account=None,
        region="us-east-1",
        metric="Errors",
        namespace="App",
        statistic="Sum",
        period=60,
        threshold=5.0,
        comparison_operator="GreaterThanThreshold",
        times=tuple(iso_z(t) for t in times),
        values=tuple(float(i % 10) for i in range(len(times))),
    )


def busy_draft(alarms: int = 10):
    """``alarms`` alarms, Alarm{i} in ALARM for i + 1 minutes from 10:00; deploys at 1 h, 9 h, 12 h and 20 h."""
    events = []
    for i in range(alarms):
        start = T0 + timedelta(hours=10)
        events += [
            alarm(f"Alarm{i}", start, "alarm.alarm"),
            alarm(f"Alarm{i}", start + timedelta(minutes=i + 1), "alarm.ok"),
        ]
    events += [deploy(h) for h in (1, 9, 12, 20)]
    collected = Collected(events=events, series=tuple(series(f"Alarm{i}") for i in range(alarms)))
    return build_draft(collected, WINDOW, suspect_lookback=timedelta(hours=6))


def test_at_most_max_graphs_figures_longest_in_alarm_and_the_rest_named(tmp_path) -> None:
    """10 alarms with data and max_graphs 8: 8 figures plus the overview; the two shortest in ALARM are named in the note."""
    draft = busy_draft()
    assert not_drawn(draft) == ["Alarm0", "Alarm1"]
    drawn = with_graphs(draft, "pm.md")
    assert sorted(drawn.images) == sorted(
        ["pm-graphs/overview.png"] + [f"pm-graphs/Alarm{i}.png" for i in range(2, 10)]
    )
    assert [g["title"] for g in drawn.draft.graphs] == ["Overview"] + [
        f"Alarm{i}" for i in range(2, 10)
    ]
    note = "2 more alarms not drawn (at most 8 figures, longest in ALARM first): Alarm0, Alarm1"
    assert drawn.draft.graphs_note == note
    assert drawn.draft.graphs[0]["alt"].endswith("; " + note)


def test_max_graphs_is_a_parameter_and_a_small_draft_is_unchanged() -> None:
    """max_graphs=3 draws the 3 alarms longest in ALARM; 3 alarms under the default draw all, with no note."""
    drawn = with_graphs(busy_draft(), "pm.md", max_graphs=3)
    assert [g["title"] for g in drawn.draft.graphs] == ["Overview", "Alarm7", "Alarm8", "Alarm9"]
    assert len(drawn.images) == 4
    small = with_graphs(busy_draft(3), "pm.md")
    assert len(small.images) == 4 and small.draft.graphs_note is None


def test_deploy_markers_only_near_the_impact() -> None:
    """Impact at 10:00 with a 6-hour suspect lookback and resolution at 10:10: the deploys at 09:00 only, not 01:00, 12:00 or 20:00."""
    draft = busy_draft()
    impact = draft.analysis.milestones["impact_started"]
    assert impact is not None and impact.at == T0 + timedelta(hours=10)
    assert [e.ref for e in near_impact(draft)] == ["d9"]
