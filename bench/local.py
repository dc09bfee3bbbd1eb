"""Local work, no network: merge a million events, and render a 10,000-event draft.

Run by ``bench/run.py`` in a fresh interpreter per mode, so the peak resident memory it reports
(``ru_maxrss``) belongs to that mode alone. Prints one JSON object.

    python bench/local.py merge 1000000
    python bench/local.py render 10000
    python bench/local.py pmdraft 1000000    # raw records -> events -> frame -> milestones
    python bench/local.py plain 1000000      # the same records -> milestones in plain pandas
    python bench/local.py attrs 300000       # bytes and time per event of three attrs layouts

``pmdraft`` and ``plain`` build the same raw records the same way (``synth.records``) before
their clock starts, so both peaks include them; each also reports its resident memory with
only the records made, so the increase over them can be compared too.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, TypeVarTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plain
from synth import COMMON, T0, events, records, to_events

from pmdraft import words
from pmdraft.draft import build_draft
from pmdraft.heap import gc_paused
from pmdraft.model import Attrs, Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json, render_markdown
from pmdraft.timeline import analyse, build_frame, build_rows, frame_events

REPEATS = 3
"""Times the merge is run on the same events; the median run is reported."""
RENDER_SPAN = timedelta(hours=8)
"""The render benchmark's events fall in one long incident day, as a draft's would."""

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def timed(fn: Callable[[*Ts], R], *args: *Ts) -> tuple[R, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def merge(n: int) -> dict[str, object]:
    raw = records(n)
    evs, create_s = timed(to_events, raw)
    del raw  # the merge starts from the events alone, as the pipeline hands them over
    before_mb = current_mb()
    runs: list[tuple[float, float, float]] = []
    for _ in range(REPEATS):
        frame = analysis = rows = None  # let the previous run's results go first
        frame, frame_s = timed(build_frame, evs)
        analysis, analyse_s = timed(analyse, frame)
        rows, rows_s = timed(build_rows, frame, analysis.milestones)
        runs.append((frame_s, analyse_s, rows_s))
    merge_peak_mb = peak_mb()
    frame_s, analyse_s, rows_s = sorted(runs, key=sum)[len(runs) // 2]
    assert frame is not None and analysis is not None and rows is not None  # REPEATS >= 1
    unflapped_s = None
    if "flap_transitions" in inspect.signature(build_rows).parameters:
        _, unflapped_s = timed(lambda: build_rows(frame, analysis.milestones, flap_transitions=0))
    rebuilt, events_s = timed(frame_events, frame)
    return {
        "events": n,
        "distinct": len(frame),
        "rows": len(rows),
        "repeats": REPEATS,
        "merge_runs_s": [sum(r) for r in runs],
        "create_s": create_s,
        "frame_s": frame_s,
        "analyse_s": analyse_s,
        "rows_s": rows_s,
        "rows_without_flapping_s": unflapped_s,
        "merge_s": frame_s + analyse_s + rows_s,
        "frame_events_s": events_s,
        "rebuilt": len(rebuilt),
        "rss_before_merge_mb": before_mb,
        "peak_merge_mb": merge_peak_mb,
        "peak_mb": peak_mb(),
    }


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def from_records(n: int, who: str) -> dict[str, object]:
    """Raw records to milestones, by pmdraft (``who="pmdraft"``) or plain pandas."""
    raw, records_s = timed(records, n)
    records_mb = current_mb()
    steps: dict[str, float] = {}
    start = time.perf_counter()
    if who == "pmdraft":
        with gc_paused():  # as make_draft makes events while it reads (pmdraft.heap)
            evs, steps["events_s"] = timed(to_events, raw)
        frame, steps["frame_s"] = timed(build_frame, evs)
        analysis, steps["analyse_s"] = timed(analyse, frame)
        found = {k: analysis.milestones[k] for k in plain.MILESTONES}
        milestones = {k: None if m is None else m.at for k, m in found.items()}
        distinct = len(frame)
    else:
        (milestones, distinct), steps["plain_s"] = timed(plain.milestones, raw.records)
    total_s = time.perf_counter() - start
    return {
        "who": who,
        "records": n,
        "distinct": distinct,
        "records_s": records_s,
        "records_mb": records_mb,
        "total_s": total_s,
        **steps,
        "peak_mb": peak_mb(),
        "milestones": {k: _iso(v) for k, v in milestones.items()},
        "load": os.getloadavg(),
    }


def _checked_proxy(given: dict[str, object]) -> MappingProxyType[str, object]:
    """What ``Event`` did with ``attrs`` before ``Attrs``: copy, check each item, wrap."""
    checked = {}
    for key, value in dict(given).items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool, type(None))):
            raise TypeError(key)
        checked[key] = value
    return MappingProxyType(checked)


def attrs_layouts(n: int) -> dict[str, object]:
    """Bytes and time per event of three ways to hold the records' ``attrs``, one at a time:
    a read-only dict per event (what events held before ``Attrs``), an ``Attrs`` with the
    object's facts copied in, and an ``Attrs`` sharing them (one per object, as ``base``)."""
    raw = records(n)
    common = frozenset(COMMON)
    owns = [{k: v for k, v in r.items() if k not in common} for r in raw.records]
    refs = [r["ref"] for r in raw.records]
    shared = {ref: Attrs(f) for ref, f in raw.objects.items()}
    facts = raw.objects
    ways: dict[str, Callable[[dict[str, Any], str], Mapping[str, object]]] = {
        "proxy_dict": lambda own, ref: _checked_proxy({**facts.get(ref, {}), **own}),
        "attrs_copied": lambda own, ref: Attrs({**facts.get(ref, {}), **own}),
        "attrs_shared": lambda own, ref: Attrs(own, shared.get(ref)),
    }
    out: dict[str, object] = {"events": n}
    make: Callable[..., object]  # an attrs layout's maker here, an Event's below
    for name, make in ways.items():
        gc.collect()
        before = current_mb()
        start = time.perf_counter()
        held = [make(own, ref) for own, ref in zip(owns, refs, strict=True)]
        took = time.perf_counter() - start
        gc.collect()
        out[f"{name}_bytes"] = (current_mb() - before) * 2**20 / len(held)
        out[f"{name}_us"] = took / len(held) * 1e6
        del held
    # An Event made by its constructor (checks included) against one made with no checks at
    # all (what a trusted per-page constructor would do at best), from the same values.
    at = T0
    made = Attrs({"x": 1})
    s0, s1, s2, s3, s4, s5, s6, s7, s8 = (vars(Event)[f.name].__set__ for f in fields(Event))
    values = (at, "pagerduty", "incident.notified", "Q1", "summary", "svc", "Ana", "url", made)

    def unchecked() -> Event:
        event = object.__new__(Event)
        s0(event, at), s1(event, "pagerduty"), s2(event, "incident.notified"), s3(event, "Q1")
        s4(event, "summary"), s5(event, "svc"), s6(event, "Ana"), s7(event, "url")
        s8(event, made)
        return event

    for name, make in (("event", lambda: Event(*values)), ("unchecked", unchecked)):
        start = time.perf_counter()
        for _ in range(n):
            make()
        out[f"{name}_us"] = (time.perf_counter() - start) / n * 1e6
    return out


def render(n: int) -> dict[str, object]:
    evs = events(
        n,
        incidents=max(1, n // 1000),
        alarms=max(1, n // 500),
        span=RENDER_SPAN,
        deploy_share=0.002,
    )
    window = Window(T0 - timedelta(hours=6), T0 + RENDER_SPAN + timedelta(hours=6))
    collected = Collected(evs, [SourceReport("synthetic", "ok", n, 0)])
    draft, draft_s = timed(build_draft, collected, window)
    markdown_runs = [timed(render_markdown, draft)[1] for _ in range(REPEATS)]
    markdown = render_markdown(draft)
    markdown_s = sorted(markdown_runs)[len(markdown_runs) // 2]
    text, json_s = timed(render_json, draft)
    return {
        "events": n,
        "json_events": len(json.loads(text)["events"]),
        "rows": len(draft.rows),
        "collapsed_lines": sum(
            "(see JSON)" in words.line_text(r.line) and " flapped " not in words.line_text(r.line)
            for r in draft.rows
        ),
        "flapping_lines": sum(" flapped " in words.line_text(r.line) for r in draft.rows),
        "markdown_lines": markdown.count("\n"),
        "draft_s": draft_s,
        "markdown_s": markdown_s,
        "json_s": json_s,
        "peak_mb": peak_mb(),
    }


if __name__ == "__main__":
    mode, count = sys.argv[1], int(sys.argv[2])
    if mode in ("pmdraft", "plain"):
        print(json.dumps(from_records(count, mode)))
    else:
        modes = {"merge": merge, "render": render, "attrs": attrs_layouts}
        print(json.dumps(modes[mode](count)))
