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


class QuickSource:
    """A source that yields its events at once."""

    def __init__(self, name: str, count: int) -> None:
        self.name, self.count, self.requests = name, count, 1

    def collect(self, window: Window) -> Iterator[Event]:
        for i in range(self.count):
            yield Event(T0 + timedelta(seconds=i), "deploys", "deploy.started", f"q{i}", "x")


def test_meanwhile_gets_a_finished_source_s_events_while_another_still_reads() -> None:
    """The quick source's events are given to ``meanwhile`` while the gated one still reads:
    reading() is true until the gated source is done, then false; the result is unchanged and
    the gated source, done last, is given to no one."""
    gate = threading.Event()
    told: list[tuple[str, int, bool]] = []
    after: list[bool] = []

    def meanwhile(name: str, events: object, reading: object) -> None:
        assert callable(reading)
        told.append((name, len(events), reading()))  # type: ignore[arg-type]
        gate.set()  # the gated source may end now
        while reading():
            threading.Event().wait(0.001)
        after.append(reading())

    result = collect(
        [GatedSource("slow", gate), QuickSource("quick", 3)], WINDOW, meanwhile=meanwhile
    )
    assert told == [("quick", 3, True)]
    assert after == [False]
    assert [e.ref for e in result.events] == ["slow0", "slow1", "q0", "q1", "q2"]
    assert [r.name for r in result.reports] == ["slow", "quick"]


def test_progress_goes_on_while_meanwhile_works() -> None:
    """While ``meanwhile`` works, each reading() it asks lets a due progress report out, so the
    status line keeps moving."""
    gate = threading.Event()
    seen: list[list[SourceProgress]] = []

    def meanwhile(name: str, events: object, reading: object) -> None:
        assert callable(reading)
        while reading() and len(seen) < 3:
            threading.Event().wait(0.005)
        gate.set()

    collect(
        [GatedSource("slow", gate), QuickSource("quick", 1)],
        WINDOW,
        progress=seen.append,
        progress_after=0,
        progress_every=0.001,
        meanwhile=meanwhile,
    )
    assert len(seen) >= 4  # three while meanwhile worked, and the last one
    assert SourceProgress("quick", 1, 1, True) in seen[0]
    assert seen[-1] == [SourceProgress("slow", 2, 2, True), SourceProgress("quick", 1, 1, True)]


def test_a_meanwhile_that_fails_does_not_stop_collection() -> None:
    """``meanwhile`` only works ahead of time: its error is logged, and every source's events
    and reports come back as without it."""
    gate = threading.Event()

    def meanwhile(name: str, events: object, reading: object) -> None:
        gate.set()
        raise ValueError("an event could not be encoded ahead")

    result = collect(
        [GatedSource("slow", gate), QuickSource("quick", 2)], WINDOW, meanwhile=meanwhile
    )
    assert [e.ref for e in result.events] == ["slow0", "slow1", "q0", "q1"]
    assert [(r.name, r.status) for r in result.reports] == [("slow", "ok"), ("quick", "ok")]
