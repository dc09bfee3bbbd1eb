"""Graph drawing at scale: a month-long window with 200 alarms, every one with data.

Builds the draft the collector would give for a 30-day window (200 alarms, each in ALARM for a
different stretch around one incident, its series at the period ``graph_period`` picks for the
month: 1,740 s, 1,490 points), 500 deploys over the month, then draws the graphs as
``pmdraft draft -o`` does (``with_graphs``). Reports the total time, the figure count, the
drawing time (artists, layout and PNG) of an alarm figure (the alarm figures are drawn together,
sharing what they have in common: their time divided by their count) and of the overview, drawn
in this process as ``pmdraft demo`` and ``pmdraft batch`` draw them (``total_s`` includes
importing matplotlib).

``background`` is the way ``pmdraft draft -o`` draws them: a drawing process started before the
sources are read (here: then 2 s of sleep, standing in for the reads, during which it imports
matplotlib and draws a warm-up figure), sent the figures once the draft is built; the draft's
Markdown and JSON are rendered and written meanwhile, then the PNGs are waited for and written.
It reports the parent's time to plan and send the figures (``send_s``), the drawing's wall from
then until the PNGs are back (``drawing_wall_s``) and the drawing process's CPU
(``process_cpu_s``, from import to exit), and the wall the graphs add to rendering and writing
the draft (``added_wall_s``: with graphs minus without, each the median of 3 rounds). This
draft's Markdown and JSON render fast (``render_s``): with the busy month's 35,000 events they
take about 2 s, and the drawing hides behind them. Prints one JSON object with the load average.

    python bench/graphs.py
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pmdraft import figures
from pmdraft.draft import Draft, build_draft
from pmdraft.graphs_beside import start_drawing, with_graphs
from pmdraft.model import Event, MetricSeries, Window, iso_z
from pmdraft.output import write_atomic
from pmdraft.pipeline import Collected
from pmdraft.render import graphs as graph_module
from pmdraft.render import render_json, render_markdown
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


def _write_draft(draft: Draft, folder: Path, images: dict[str, bytes]) -> float:
    """Render and write the draft's Markdown and JSON, then ``images``; the render's wall."""
    start = time.perf_counter()
    write_atomic(folder / "month.md", render_markdown(draft))
    write_atomic(folder / "month.json", render_json(draft))
    return time.perf_counter() - start


def _write_images(folder: Path, images: dict[str, bytes]) -> None:
    for relative, png in images.items():
        (folder / relative).parent.mkdir(exist_ok=True)
        write_atomic(folder / relative, png)


def background(draft: Draft) -> dict[str, float]:
    """One round of the ``pmdraft draft -o`` way, and the same draft written without graphs."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        render_s = _write_draft(draft, folder, {})
        without = time.perf_counter() - start
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        drawing = start_drawing()
        time.sleep(2.0)  # the sources being read
        start = time.perf_counter()
        drawn = with_graphs(draft, "month.md", background=True, drawing=drawing)
        sent = time.perf_counter()
        assert drawn.drawing is not None  # background=True: the PNGs are still being drawn
        _write_draft(drawn.draft, folder, {})
        images = drawn.drawing.images()
        back = time.perf_counter()
        _write_images(folder, images)
        with_graphs_s = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu_before
        assert len(list((folder / "month-graphs").glob("*.png"))) == len(images) == 9
    return {
        "send_s": sent - start,
        "drawing_wall_s": back - sent,
        "process_cpu_s": cpu,
        "render_s": render_s,
        "added_wall_s": with_graphs_s - without,
    }


def main() -> dict[str, object]:
    draft = build_draft(Collected(events=_events(), series=_series()), MONTH)
    alarm_s: list[float] = []
    overview_s: list[float] = []
    originals = figures.draw_alarms, figures.draw_overview

    # The alarm figures, drawn together: time per figure.
    def timed_alarms(canvas_class: Any, group: list[figures.Figure]) -> list[bytes]:
        start = time.perf_counter()
        try:
            return originals[0](canvas_class, group)
        finally:
            alarm_s.extend([(time.perf_counter() - start) / len(group)] * len(group))

    def timed_overview(canvas_class: Any, figure: figures.Figure) -> bytes:
        start = time.perf_counter()
        try:
            return originals[1](canvas_class, figure)
        finally:
            overview_s.append(time.perf_counter() - start)

    figures.draw_alarms, figures.draw_overview = timed_alarms, timed_overview
    start = time.perf_counter()
    drawn = with_graphs(draft, "month.md")
    total = time.perf_counter() - start
    figures.draw_alarms, figures.draw_overview = originals
    rounds = [background(draft) for _ in range(3)]
    return {
        "alarms": ALARMS,
        "deploys": DEPLOYS,
        "points": len(draft.series[0].times),
        "period_s": draft.series[0].period,
        "figures": len(drawn.images),
        "total_s": total,
        "figure_median_s": statistics.median(alarm_s),
        "overview_s": overview_s[0],
        "near_deploys": len(graph_module.near_impact(draft)),
        "background": {k: statistics.median(r[k] for r in rounds) for k in rounds[0]},
        "load": os.getloadavg(),
        "note": drawn.draft.graphs_note,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
    sys.exit(0)
