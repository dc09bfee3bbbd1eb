"""Progress while sources are collected: per-source counts, reported until every source is done."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

from pmdraft.cli import format_progress
from pmdraft.model import Event, Window
from pmdraft.pipeline import SourceProgress, collect

from .conftest import utc

T0 = utc(2024, 1, 15, 14)
WINDOW = Window(T0, T0 + timedelta(hours=1))


class GatedSource:
    """A source that yields two events, then waits until the test has seen a progress report."""

    def __init__(self, name: str, gate: threading.Event) -> None:
        self.name, self.gate, self.requests = name, gate, 0

    def collect(self, window: Window) -> Iterator[Event]:
        for minute in range(2):
            self.requests += 1
            yield Event(
                at=T0 + timedelta(minutes=minute),
                source="deploys",
                kind="deploy.started",
                ref=f"{self.name}{minute}",
                summary="x",
            )
        assert self.gate.wait(10), "the progress callback was never called"


def test_progress_reports_counts_while_running_and_once_when_done() -> None:
    """Progress shows each source's requests and events mid-run, then a last report with every source done."""
    gate = threading.Event()
    seen: list[list[SourceProgress]] = []

    def progress(sources: list[SourceProgress]) -> None:
        seen.append(sources)
        if any(s.events == 2 for s in sources):
            gate.set()

    result = collect(
        [GatedSource("slow", gate)],
        WINDOW,
        progress=progress,
        progress_after=0,
        progress_every=0.01,
    )
    assert len(result.events) == 2
    assert any(s == [SourceProgress("slow", 2, 2, False)] for s in seen)
    assert seen[-1] == [SourceProgress("slow", 2, 2, True)]


def test_fast_collection_shows_no_progress() -> None:
    """Sources that finish before the delay never call the progress display."""
    gate = threading.Event()
    gate.set()
    calls: list[object] = []
    collect([GatedSource("quick", gate)], WINDOW, progress=calls.append, progress_after=10)
    assert calls == []


def test_progress_line_names_each_source() -> None:
    """The status line gives requests and events per source and marks finished ones."""
    line = format_progress(
        [SourceProgress("cloudwatch", 3, 1200, True), SourceProgress("pagerduty", 41, 3500, False)]
    )
    assert line == "pmdraft: cloudwatch 3 req 1,200 events done | pagerduty 41 req 3,500 events"
