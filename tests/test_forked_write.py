"""The JSON draft rendered and written by a forked child (pmdraft.cli.forked): the file appears
whole, only when committed; a child's failure is an error naming the file, never a half file.

Each case runs in its own Python process: ``fork`` is used only when the process has a single
thread, and the test session runs server threads (moto) of its own.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAD = """
import sys, threading
from pathlib import Path
from pmdraft.cli.forked import ForkedWrite
from pmdraft.errors import OutputError
out = Path(sys.argv[1])
TEXT = "".join(f"line {i} ü\\n" for i in range(200_000))
"""


LINUX = pytest.mark.skipif(sys.platform != "linux", reason="pmdraft forks only on Linux")


def run(tmp_path: Path, body: str) -> str:
    """Run ``body`` after HEAD in a fresh interpreter; its stdout."""
    script = HEAD + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@LINUX
def test_the_child_s_file_appears_whole_only_when_committed(tmp_path: Path) -> None:
    """Rendered in a child (it forked), absent until commit, then exactly the rendered bytes."""
    said = run(
        tmp_path,
        """
        w = ForkedWrite(out, lambda: TEXT, parallel=True)
        print("forked" if w.pid else "in-process")
        print("before:", out.exists())
        w.commit()
        print("same:", out.read_bytes() == TEXT.encode("utf-8"))
        """,
    )
    assert said == "forked\nbefore: False\nsame: True\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@LINUX
def test_a_failure_in_the_child_is_an_error_naming_the_file_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The child's exception text comes back as an OutputError; no file, no hidden leftovers."""

    said = run(
        tmp_path,
        """
        def broken():
            raise ValueError("the draft could not be rendered")
        w = ForkedWrite(out, broken, parallel=True)
        try:
            w.commit()
        except OutputError as exc:
            print(exc)
        """,
    )
    assert said == f"{tmp_path / 'x.json'} could not be written: the draft could not be rendered\n"
    assert list(tmp_path.iterdir()) == []


@LINUX
def test_abandoned_when_the_markdown_failed_nothing_is_written(tmp_path: Path) -> None:
    """abandon(): the child's finished file is removed, x.json never appears."""
    run(tmp_path, "w = ForkedWrite(out, lambda: TEXT, parallel=True)\nassert w.pid\nw.abandon()\n")
    assert list(tmp_path.iterdir()) == []


def test_without_a_spare_cpu_it_renders_in_process(tmp_path: Path) -> None:
    """parallel=False (one CPU, or all busy): no child, the file written whole on commit."""
    said = run(
        tmp_path,
        """
        w = ForkedWrite(out, lambda: TEXT, parallel=False)
        print("forked" if w.pid else "in-process", out.exists())
        w.commit()
        print("same:", out.read_bytes() == TEXT.encode("utf-8"))
        """,
    )
    assert said == "in-process False\nsame: True\n"


def test_with_another_thread_alive_it_renders_in_process(tmp_path: Path) -> None:
    """No fork beside a running thread (its locks would be held forever in the child)."""
    said = run(
        tmp_path,
        """
        stop = threading.Event()
        threading.Thread(target=stop.wait).start()
        w = ForkedWrite(out, lambda: TEXT, parallel=True)
        print("forked" if w.pid else "in-process")
        w.commit()
        stop.set()
        print("same:", out.read_bytes() == TEXT.encode("utf-8"))
        """,
    )
    assert said == "in-process\nsame: True\n"


STAGED = """
import os
from pmdraft.cli.forked import StagedWrite
class Parts:
    def opening(self):
        yield "events encoded "
        yield f"by {os.getpid()}"
    def ending(self, rest):
        return None if rest.startswith("anew") else f" | {rest}"
    def whole(self, rest):
        yield f"made anew by {os.getpid()} | "
        yield rest
parts = Parts()
print("parent", os.getpid())
"""


@LINUX
def test_a_staged_file_is_its_opening_made_in_the_child_and_the_ending_made_from_the_rest(
    tmp_path: Path,
) -> None:
    """The child writes the opening as soon as it is forked; the file, ended once the rest is
    sent, is the opening and the ending made from the rest, and appears only on commit."""
    said = run(
        tmp_path,
        STAGED
        + """
w = StagedWrite(out, parts, parallel=True)
print("forked" if w.pid else "in-process")
w.send("milestones ü " + "x" * 300_000)
print("before:", out.exists())
w.commit()
text = out.read_text(encoding="utf-8")
made_by = text.split()[3]
print("made by the child:", made_by not in ("", str(os.getpid())))
print("whole:", text == f"events encoded by {made_by} | milestones ü " + "x" * 300_000)
""",
    )
    assert said.splitlines()[1:] == [
        "forked",
        "before: False",
        "made by the child: True",
        "whole: True",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@LINUX
def test_a_staged_file_whose_rest_does_not_fit_its_opening_is_written_anew_whole(
    tmp_path: Path,
) -> None:
    """The rest says the opening already written is not the one (ending() gives None): the
    child writes the file anew from whole(rest), with nothing of the first opening left."""
    said = run(
        tmp_path,
        STAGED
        + """
w = StagedWrite(out, parts, parallel=True)
assert w.pid
w.send("anew: other sources ü")
w.commit()
text = out.read_text(encoding="utf-8")
made_by = text.split()[3]
print("made by the child:", made_by not in ("", str(os.getpid())))
print("whole:", text == f"made anew by {made_by} | anew: other sources ü")
""",
    )
    assert said.splitlines()[1:] == ["made by the child: True", "whole: True"]
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@LINUX
def test_a_staged_file_whose_rest_never_came_is_an_error_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """commit() without send(): the child read no rest, so it wrote nothing; abandon() too."""
    said = run(
        tmp_path,
        STAGED
        + """
w = StagedWrite(out, parts, parallel=True)
assert w.pid
try:
    w.commit()
except OutputError as exc:
    print(exc)
w = StagedWrite(out, parts, parallel=True)
assert w.pid
w.abandon()
print("after abandon:", sorted(p.name for p in out.parent.iterdir()))
""",
    )
    assert said.splitlines()[1:] == [
        f"{tmp_path / 'x.json'} could not be written: the draft was not finished, so its file "
        "was not written",
        "after abandon: []",
    ]


def test_a_staged_file_without_a_fork_is_made_in_process_on_commit(tmp_path: Path) -> None:
    """parallel=False: no child; commit writes the opening, made here, and the ending; a rest
    that does not fit the opening gives the whole file from whole(rest)."""
    said = run(
        tmp_path,
        STAGED
        + """
w = StagedWrite(out, parts, parallel=False)
print("forked" if w.pid else "in-process")
w.send("the rest")
w.commit()
print(out.read_text(encoding="utf-8"))
out.unlink()
w = StagedWrite(out, parts, parallel=False)
w.send("anew rest")
w.commit()
print(out.read_text(encoding="utf-8"))
""",
    )
    parent, mode, file, anew = said.splitlines()
    assert mode == "in-process"
    assert file == f"events encoded by {parent.split()[1]} | the rest"
    assert anew == f"made anew by {parent.split()[1]} | anew rest"


DRAFTED = """
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pmdraft.cli.draft import JsonBeside
from pmdraft.draft import build_draft
from pmdraft.model import Event, Window
from pmdraft.pipeline import Collected, SourceReport
from pmdraft.render import render_json
T0 = datetime(2024, 1, 15, 14, 0, tzinfo=UTC)
KINDS = ("incident.triggered", "incident.acknowledged", "incident.annotated", "incident.resolved")
events = [
    Event(
        at=T0 + timedelta(seconds=7 * i),
        source="pagerduty",
        kind=KINDS[(i // 3) % 4],
        ref=f"Q{i % 3}",
        summary=f'Zürich "{i}" \\\\ \\t',
        service="api",
        attrs={"incident_number": i % 3, "incident_title": "Checkout ü", "n": i},
    )
    for i in range(3000)
]
collected = Collected(events, [SourceReport("pagerduty", "ok", len(events), 1)])
window = Window(T0, T0 + timedelta(hours=6))
"""


@LINUX
def test_the_json_beside_encoded_while_the_draft_is_built_is_render_json_s_text(
    tmp_path: Path,
) -> None:
    """JsonBeside forks when the draft's events are final; the file it writes is exactly
    render_json of the finished draft (3,000 events with quotes, backslashes, tabs, umlauts)."""
    said = run(
        tmp_path,
        DRAFTED
        + """
beside = JsonBeside(out, parallel=True)
draft = build_draft(collected, window, events_ready=beside.events_ready)
print("early:", beside.early)
beside.start(draft)
beside.commit()
print("same:", out.read_text(encoding="utf-8") == render_json(draft))
print("events:", out.read_text(encoding="utf-8").count('"source": "pagerduty"'))
""",
    )
    assert said == "early: True\nsame: True\nevents: 3000\n"


@LINUX
def test_event_lines_begun_while_other_sources_were_read_give_render_json_s_text(
    tmp_path: Path,
) -> None:
    """The events' line heads made while another source was still read (all of them, or only
    the first 500 when the other source ended then): the JSON beside is still exactly
    render_json of the finished draft."""
    said = run(
        tmp_path,
        DRAFTED
        + """
for looks in (None, 1):
    beside = JsonBeside(out, parallel=True)
    asked = []
    def reading():
        asked.append(1)
        return looks is None or len(asked) <= looks
    beside.meanwhile("pagerduty", events, reading)
    draft = build_draft(collected, window, events_ready=beside.events_ready)
    beside.start(draft)
    beside.commit()
    print(len(beside._known), out.read_text(encoding="utf-8") == render_json(draft))
    out.unlink()
""",
    )
    assert said == "3000 True\n500 True\n"


@LINUX
def test_a_draft_whose_events_are_not_those_it_was_told_is_rendered_whole(
    tmp_path: Path,
) -> None:
    """A draft changed after its events were told (one event fewer): the early child is
    abandoned and the file is that draft's own JSON."""
    said = run(
        tmp_path,
        DRAFTED
        + """
beside = JsonBeside(out, parallel=True)
draft = build_draft(collected, window, events_ready=beside.events_ready)
other = replace(draft, events=draft.events[1:], in_scope=draft.in_scope[1:])
beside.start(other)
print("early:", beside.early)
beside.commit()
print("other's:", out.read_text(encoding="utf-8") == render_json(other))
print("files:", sorted(p.name for p in out.parent.iterdir()))
""",
    )
    assert said == "early: False\nother's: True\nfiles: ['x.json']\n"


@LINUX
def test_a_draft_whose_sources_changed_after_its_events_were_told_is_written_anew(
    tmp_path: Path,
) -> None:
    """The same events, but the finished draft reports one more source than was told when the
    child started writing: the opening written is not this draft's, so the child writes the
    file anew, and it is exactly render_json of that draft."""
    said = run(
        tmp_path,
        DRAFTED
        + """
beside = JsonBeside(out, parallel=True)
draft = build_draft(collected, window, events_ready=beside.events_ready)
failed = SourceReport("slack", "failed", 0, 1, error="not_in_channel")
other = replace(draft, reports=(*draft.reports, failed))
beside.start(other)
print("early:", beside.early)
beside.commit()
text = out.read_text(encoding="utf-8")
print("other's:", text == render_json(other), "not the first:", text != render_json(draft))
print("files:", sorted(p.name for p in out.parent.iterdir()))
""",
    )
    assert said == "early: True\nother's: True not the first: True\nfiles: ['x.json']\n"


@LINUX
def test_the_other_incidents_analyses_are_done_by_the_json_child_and_are_the_same(
    tmp_path: Path,
) -> None:
    """With the JSON child forked, the headline incident is analysed here and the two others in
    the child, which sends them back: the draft's per-incident facts are exactly those of a
    draft built in one process, and its JSON is still render_json's text."""
    said = run(
        tmp_path,
        DRAFTED
        + """
import os
import pmdraft.draft as drafting
log = out.with_name("who")
plain = drafting._per_incident
def logged(index, analysis_of, refs):
    with open(log, "a") as said:
        said.write(f"{'parent' if os.getpid() == PARENT else 'child'} {list(refs)}\\n")
    return plain(index, analysis_of, refs)
PARENT = os.getpid()
drafting._per_incident = logged
beside = JsonBeside(out, parallel=True)
draft = build_draft(collected, window, events_ready=beside.events_ready)
beside.start(draft)
beside.commit()
print(sorted(log.read_text().splitlines()))
log.unlink()
alone = build_draft(collected, window)
print("same facts:", draft.per_incident == alone.per_incident, len(draft.per_incident))
print("same JSON:", out.read_text(encoding="utf-8") == render_json(alone))
""",
    )
    assert said.splitlines() == [
        "[\"child ['Q1', 'Q2']\", \"parent ['Q0']\"]",
        "same facts: True 3",
        "same JSON: True",
    ]


@LINUX
def test_an_aside_that_fails_in_the_child_gives_no_result_and_the_file_is_still_written(
    tmp_path: Path,
) -> None:
    """The child does the parent's aside first and sends its result back; when the aside
    raises there, aside_result() is None (the parent does the work itself) and the file is
    written as ever."""
    said = run(
        tmp_path,
        STAGED
        + """
w = StagedWrite(out, parts, aside=lambda: ("done by", os.getpid()), parallel=True)
print("result by the child:", w.aside_result() == ("done by", w.pid))
w.send("rest")
w.commit()
def failing():
    raise RuntimeError("no")
out.unlink()
w = StagedWrite(out, parts, aside=failing, parallel=True)
print("failed:", w.aside_result())
w.send("rest")
w.commit()
print(out.read_text(encoding="utf-8").endswith(" | rest"))
""",
    )
    assert said.splitlines()[1:] == ["result by the child: True", "failed: None", "True"]


@LINUX
def test_a_staged_child_that_fails_is_an_error_naming_the_file_and_the_sender_does_not_hang(
    tmp_path: Path,
) -> None:
    """The opening raises in the child, half written, while the parent sends 5 MB of rest:
    commit() returns the child's error as an OutputError, and nothing is left behind."""
    said = run(
        tmp_path,
        """
from pmdraft.cli.forked import StagedWrite
class Failing:
    def opening(self):
        yield "half an opening"
        raise ValueError("an event could not be encoded")
    def ending(self, rest):
        return rest
    def whole(self, rest):
        yield rest
w = StagedWrite(out, Failing(), parallel=True)
assert w.pid
w.send("y" * 5_000_000)
try:
    w.commit()
except OutputError as exc:
    print(exc)
""",
    )
    assert said == f"{tmp_path / 'x.json'} could not be written: an event could not be encoded\n"
    assert list(tmp_path.iterdir()) == []


@LINUX
def test_when_no_process_can_be_forked_the_file_is_written_in_process(tmp_path: Path) -> None:
    """fork() refused (EAGAIN: the user's process limit): no child, no error; both kinds of
    write make their whole file on commit, and no descriptor is left open."""
    said = run(
        tmp_path,
        STAGED
        + """
def refused():
    raise BlockingIOError(11, "Resource temporarily unavailable")
os.fork = refused
fds = len(os.listdir("/proc/self/fd"))
w = StagedWrite(out, parts, parallel=True)
w.send("the rest")
print("staged:", "forked" if w.pid else "in-process")
w.commit()
print(out.read_text(encoding="utf-8").endswith("| the rest"))
out.unlink()
w = ForkedWrite(out, lambda: TEXT, parallel=True)
print("whole:", "forked" if w.pid else "in-process")
w.commit()
print(out.read_bytes() == TEXT.encode("utf-8"), len(os.listdir("/proc/self/fd")) == fds)
""",
    )
    assert said.splitlines()[1:] == ["staged: in-process", "True", "whole: in-process", "True True"]


@LINUX
def test_no_spare_cpu_while_every_cpu_has_a_busy_task(tmp_path: Path) -> None:
    """With as many busy processes as CPUs beside it, no CPU is spare (the JSON would be
    written in-process); the runnable count it reads is there on Linux and counts them."""
    import os

    from pmdraft.cli.forked import _runnable, spare_cpu

    cpus = len(os.sched_getaffinity(0))
    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(cpus, 1))
    ]
    try:
        import time

        time.sleep(0.3)  # the busy loops are running
        running = _runnable()
        assert running is not None and running >= cpus
        assert spare_cpu() is False
    finally:
        for p in busy:
            p.kill()
            p.wait()


def test_a_task_runnable_for_an_instant_is_not_load_but_busy_cpus_are() -> None:
    """The other CPU counts as spare when one look of five sees it free (a server closing its
    connections, a child still exiting, are runnable for an instant); when every look sees as
    many other tasks as CPUs besides this one, it is not. Read on a machine of 2 CPUs."""
    import os

    from pmdraft.cli.forked import spare_cpu

    if len(os.sched_getaffinity(0)) != 2:
        pytest.skip("the counts below are those of a machine with 2 CPUs")

    def counts(*seen: int) -> object:
        looks = iter(seen)
        return lambda: next(looks)

    assert spare_cpu(5, counts(3, 2, 1, 3, 3)) is True  # this process alone, at the third look
    assert spare_cpu(5, counts(2, 2, 2, 2, 2)) is False  # one other task runnable throughout
    assert spare_cpu(5, counts(1, 9, 9, 9, 9)) is True
