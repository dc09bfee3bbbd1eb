"""Draw the monitoring figures from plain data: PNG bytes, nothing of the draft needed.

``render.graphs`` decides what is drawn (which alarms, their ALARM periods, the deploys near the
impact) and hands over :class:`Figure` records; :func:`draw` turns them into PNGs. This module
imports nothing of pmdraft's but its errors, so ``python -m pmdraft.figures`` (what
:mod:`pmdraft.graphs_beside` starts to draw in the background) loads matplotlib and nothing else:
it reads a pickled list of figures on stdin and writes a pickled ``{"images": {path: PNG}}`` or
``{"error": text}`` on stdout.

Each figure is laid out once with fixed margins, the right one sized to its widest legend,
rather than with ``bbox_inches="tight"``, which lays the whole figure out a second time.
"""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import GraphsUnavailable

INSTALL_HINT = (
    "install pmdraft[graphs] (pip install 'pmdraft[graphs]') to draw them, or pass --no-graphs"
)

MILESTONE_COLOURS = {
    "impact_started": "#d62728",
    "detected": "#ff7f0e",
    "acknowledged": "#2ca02c",
    "mitigated": "#1f77b4",
    "resolved": "#9467bd",
}
"""The milestones a figure marks, each with its line colour."""

DPI = 100
"""Pixels per inch of the PNGs: a 9-inch figure is 900 pixels wide."""

WIDTH = 9.0
"""Figure width in inches."""

PANEL_HEIGHT = 3.6
"""Height in inches of a one-alarm figure."""

OVERVIEW_PANEL_HEIGHT = 1.9
"""Height in inches of each alarm's panel in the overview."""

PNG_COMPRESSION = 1
"""zlib level of the PNGs (0-9): 1 encodes about twice as fast as the default 6 for files
about a tenth larger."""


@dataclass(frozen=True)
class Panel:
    """One alarm's axes: its metric line, threshold and ALARM periods (all times UTC)."""

    title: str
    label: str
    """The metric line's legend entry: ``Errors (Sum)``."""
    times: tuple[datetime, ...]
    values: tuple[float, ...]
    threshold: float | None
    alarm_periods: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True)
class Figure:
    """One PNG: its path relative to the draft, one panel per alarm, and the shared markers."""

    path: str
    panels: tuple[Panel, ...]
    deploys: tuple[tuple[datetime, str], ...]
    """``(at, label)`` of each deploy marked, e.g. ``deploy v1.2.0``."""
    milestones: tuple[tuple[str, datetime], ...]
    """``(name, at)`` of each milestone in :data:`MILESTONE_COLOURS` that the draft has."""
    title: str | None = None
    """The figure's own title (the overview's); a one-alarm figure is titled by its panel."""


def canvas() -> Any:
    """matplotlib's Agg canvas class (no pyplot: no global figure registry, ~0.1 s less to
    import); :class:`GraphsUnavailable` saying how to get matplotlib without it."""
    try:
        # The package first: one blocked in sys.modules then hides its loaded submodules too.
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as exc:
        raise GraphsUnavailable(
            f"the monitoring graphs need matplotlib, which is not installed: {INSTALL_HINT}"
        ) from exc
    return FigureCanvasAgg


def _time_format(first: datetime, last: datetime) -> str:
    """Hours and minutes for a window up to a day; the date too beyond it (a month's ticks
    would otherwise all read ``00:00``)."""
    return "%H:%M" if (last - first).total_seconds() <= 86_400 else "%m-%d %H:%M"


def _markers(ax: Any, figure: Figure, *, labels: bool) -> list[Any]:
    """The deploy and milestone lines, one collection each (a line per marker costs ~1 ms to
    make and draw, and an overview has ~100); with ``labels``, each deploy's version beside
    its line, and the milestones' legend entries, returned."""
    from matplotlib.collections import LineCollection
    from matplotlib.dates import date2num
    from matplotlib.lines import Line2D

    halfway_up = ax.get_xaxis_transform()  # x in data, y as a fraction of the axes' height

    def lines(times: list[datetime], **style: Any) -> None:
        xs = date2num(times)  # type: ignore[no-untyped-call]
        segments = [[(x, 0.0), (x, 1.0)] for x in xs]
        ax.add_collection(LineCollection(segments, transform=halfway_up, **style), autolim=False)

    if figure.deploys:
        lines([at for at, _ in figure.deploys], colors="#555555", linestyles=":", linewidths=1)
    if figure.milestones:
        colours = [MILESTONE_COLOURS[name] for name, _ in figure.milestones]
        lines([at for _, at in figure.milestones], colors=colours, linestyles="-.", linewidths=1.2)
    if not labels:
        return []
    for at, label in figure.deploys:
        ax.text(
            at,
            0.5,
            label,
            transform=halfway_up,
            rotation=90,
            va="center",
            ha="right",
            fontsize=6,
            color="#555555",
        )
    return [
        Line2D([], [], color=MILESTONE_COLOURS[name], linestyle="-.", linewidth=1.2, label=name)
        for name, _ in figure.milestones
    ]


def _panel(ax: Any, figure: Figure, panel: Panel, *, key: bool) -> Any:
    """Draw one panel's artists. With ``key`` (a one-alarm figure, the overview's first panel)
    the deploys are labelled and a legend to the right of the axes, returned, names each
    line; the overview's other panels name their metric and threshold in their title."""
    import matplotlib.dates as mdates

    ax.plot(panel.times, panel.values, color="#1f4e9c", linewidth=1.4, label=panel.label)
    threshold = None if panel.threshold is None else f"threshold {panel.threshold:g}"
    if panel.threshold is not None:
        ax.axhline(panel.threshold, color="#d62728", linestyle="--", linewidth=1.2, label=threshold)
    for i, (a, b) in enumerate(panel.alarm_periods):
        ax.axvspan(a, b, color="#d62728", alpha=0.15, label="ALARM" if i == 0 else None)
    ax.set_xlim(panel.times[0], panel.times[-1])
    milestones = _markers(ax, figure, labels=key)
    fmt = _time_format(panel.times[0], panel.times[-1])
    # matplotlib.dates has no type hints, so mypy sees an untyped call.
    ax.xaxis.set_major_formatter(mdates.DateFormatter(fmt, tz=UTC))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    title = panel.title
    if len(figure.panels) > 1:
        title = ", ".join(part for part in (f"{title}: {panel.label}", threshold) if part)
    # An explicit y: matplotlib otherwise measures the axis below to place each title.
    ax.set_title(title, fontsize=10, loc="left", y=1.0)
    if not key:
        return None
    handles = ax.get_legend_handles_labels()[0] + milestones
    return ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False
    )


def _layout(fig: Any, legend: Any, *, top: float, bottom: float) -> None:
    """Fixed margins in inches, the right one as wide as the legend plus a gap: one layout
    pass where ``bbox_inches="tight"`` makes two."""
    legend_px = legend.get_window_extent(fig.canvas.get_renderer()).width
    width_px = fig.get_figwidth() * fig.dpi
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.75 / fig.get_figwidth(),
        right=max(0.5, 1 - (legend_px + 0.2 * fig.dpi) / width_px),
        top=1 - top / height,
        bottom=bottom / height,
        hspace=0.55,
    )


def draw_one(canvas_class: Any, figure: Figure) -> bytes:
    """One figure's PNG: a one-alarm figure, or an overview with one panel per alarm."""
    from matplotlib.figure import Figure as MplFigure

    count = len(figure.panels)
    height = PANEL_HEIGHT if count == 1 else OVERVIEW_PANEL_HEIGHT * count + 0.6
    fig = MplFigure(figsize=(WIDTH, height), dpi=DPI)
    canvas = canvas_class(fig)
    axes = fig.subplots(count, 1, sharex=True, squeeze=False)
    legend = None
    for i, (ax, panel) in enumerate(zip(axes[:, 0], figure.panels, strict=True)):
        legend = _panel(ax, figure, panel, key=i == 0) or legend
    axes[-1, 0].set_xlabel("UTC", fontsize=9)
    if figure.title:
        fig.suptitle(figure.title, fontsize=11)
    _layout(fig, legend, top=0.75 if figure.title else 0.4, bottom=0.6)
    buffer = io.BytesIO()
    canvas.print_png(buffer, pil_kwargs={"compress_level": PNG_COMPRESSION})
    return buffer.getvalue()


def draw(figures: list[Figure]) -> dict[str, bytes]:
    """``{path: PNG bytes}`` for each figure, in order; :class:`GraphsUnavailable` without
    matplotlib."""
    if not figures:
        return {}
    canvas_class = canvas()
    return {figure.path: draw_one(canvas_class, figure) for figure in figures}


WARM_UP = Figure(
    "warm-up.png",
    (
        Panel(
            "warm-up",
            "metric (Sum)",
            (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)),
            (0.0, 1.0),
            0.5,
            ((datetime(2024, 1, 1, 6, tzinfo=UTC), datetime(2024, 1, 1, 7, tzinfo=UTC)),),
        ),
    ),
    ((datetime(2024, 1, 1, 5, tzinfo=UTC), "deploy v1"),),
    (("detected", datetime(2024, 1, 1, 6, tzinfo=UTC)),),
)
"""A small figure drawn before the real ones are read: the fonts and caches the first figure
would load (about 0.2 s) load while the sources are still being read."""


def main() -> int:
    """Draw the pickled figures on stdin; the pickled images, or the error, on stdout.

    matplotlib is imported, and :data:`WARM_UP` drawn, before the figures are read: a process
    started early is ready by the time they come.
    """
    try:
        canvas_class = canvas()
        draw_one(canvas_class, WARM_UP)
    except Exception as exc:  # reported once the parent is listening, like any other failure
        canvas_class, early = None, exc
    figures = pickle.load(sys.stdin.buffer)
    try:
        if canvas_class is None:
            raise early
        images = {figure.path: draw_one(canvas_class, figure) for figure in figures}
        result: dict[str, Any] = {"images": images}
    except Exception as exc:  # any failure is reported to the parent, by name
        result = {"error": str(exc) if isinstance(exc, GraphsUnavailable) else repr(exc)}
    pickle.dump(result, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
