"""Graph drawing at scale: a month-long window with 200 alarms, every one with data.

Builds the draft the collector would give for a 30-day window (200 alarms, each in ALARM for a
different stretch around one incident, its series at the period ``graph_period`` picks for the
month: 1,740 s, 1,490 points), 500 deploys over the month, then draws the graphs as
``pmdraft draft -o`` does (``with_graphs``). Reports the total time, the figure count, each
figure's drawing time, and the same draw with every alarm drawn (no ``max_graphs``) on a sample,
as the cost the cap avoids. Prints one JSON object.

    python bench/graphs.py
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from pmdraft import figures
from pmdraft.draft import build_draft
from pmdraft.graphs_beside import with_graphs
from pmdraft.model import Event, MetricSeries, Window, iso_z
from pmdraft.pipeline import Collected
from pmdraft.render import graphs as graph_module
from pmdraft.sources.cloudwatch.metrics import graph_period

T0 = datetime(2024, 3, 1, tzinfo=UTC)
MONTH = Window(T0, T0 + timedelta(days=30))
MARGIN = timedelta(minutes=30)
ALARMS = 200
DEPLOYS = 500
IMPACT = T0 + timedelta(days=15, hours=10)


def _events() -> list[Event]:
    events: list[Event] = []
    for a in range(ALARMS):
        name, start = f"svc{a % 12}-HighErrorRate-{a}", IMPACT + timedelta(minutes=a % 30)
        for at, kind in ((start, "alarm.alarm"), (start + timedelta(minutes=5 + a), "alarm.ok")):
            attrs = {"alarm_name": name, "region": "us-east-1"}
            if kind == "alarm.alarm":
                attrs |= {"breach_start": iso_z(at), "breach_start_rule": "transition time"}
            events.append(
                Event(
                    at=at,
                    source="cloudwatch",
                    kind=kind,
                    ref=f"us-east-1:{name}",
                    summary=name,
                    attrs=attrs,
                )
            )
    span = MONTH.duration.total_seconds()
    events += [
        Event(
            at=T0 + timedelta(seconds=span * d / DEPLOYS),
            source="deploys",
            kind="deploy.succeeded",
            ref=f"deploy-{d}",
            summary=f"deploy v1.{d}.0",
            attrs={"version": f"v1.{d}.0"},
            service=f"svc{d % 12}",
        )
        for d in range(DEPLOYS)
    ]
    return events


def _series() -> tuple[MetricSeries, ...]:
    period = graph_period(MONTH.duration + 2 * MARGIN, 60)
    count = int((MONTH.duration + 2 * MARGIN).total_seconds() // period)
    times = tuple(iso_z(MONTH.since - MARGIN + timedelta(seconds=period * i)) for i in range(count))
    return tuple(
        MetricSeries(
            alarm_name=f"svc{a % 12}-HighErrorRate-{a}",
            ref=f"us-east-1:svc{a % 12}-HighErrorRate-{a}",
            account=None,
            region="us-east-1",
            metric="HTTPCode_Target_5XX_Count",
            namespace="AWS/ApplicationELB",
            statistic="Sum",
            period=period,
            threshold=5.0,
            comparison_operator="GreaterThanThreshold",
            times=times,
            values=tuple(3 + 3 * math.sin(i / 40 + a) for i in range(count)),
        )
        for a in range(ALARMS)
    )


def main() -> dict[str, object]:
    draft = build_draft(Collected(events=_events(), series=_series()), MONTH)
    figure_s: list[float] = []
    original = figures.draw_one

    def timed_draw(plt, figure):  # each figure's drawing (artists, layout, PNG) timed
        start = time.perf_counter()
        try:
            return original(plt, figure)
        finally:
            figure_s.append(time.perf_counter() - start)

    figures.draw_one = timed_draw
    start = time.perf_counter()
    drawn = with_graphs(draft, "month.md")
    total = time.perf_counter() - start
    figures.draw_one = original
    return {
        "alarms": ALARMS,
        "deploys": DEPLOYS,
        "points": len(draft.series[0].times),
        "period_s": draft.series[0].period,
        "figures": len(drawn.images),
        "total_s": total,
        "figure_median_s": statistics.median(figure_s[:-1]),
        "overview_s": figure_s[-1],
        "near_deploys": len(graph_module.near_impact(draft)),
        "note": drawn.draft.graphs_note,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
    sys.exit(0)
