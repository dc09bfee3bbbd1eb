"""A collector that runs apart (``runs_apart``) is read in a forked child (``pmdraft.apart``): what
the draft gets from it is what it would get in-process, and a child that fails says so.

Forking needs a process with one thread, which pytest's (with its stand-in servers) is not: each
case runs in a fresh interpreter, as the CLI does.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import python

SOURCE = """
import json, os, sys
from datetime import datetime, timedelta, UTC
from pmdraft.model import Event, MetricSeries, SourceExtras, Window
from pmdraft.pipeline import collect
from pmdraft.errors import CollectorError, InputError

T0 = datetime(2024, 1, 15, 14, tzinfo=UTC)
HOW = sys.argv[1]

class Source:
    name = "fake"
    runs_apart = HOW != "in-process"
    detail = None

    def __init__(self):
        self.requests = 0
        self.pid = None

    def collect(self, window):
        self.pid = os.getpid()
        for i in range(3):
            self.requests += 1
            yield Event(at=T0 + timedelta(minutes=i), source="fake", kind="alarm.alarm",
                        ref=f"r{i}", summary=f"event {i} from {self.pid == PARENT}",
                        attrs={"n": i})
        if HOW == "parent fails":
            with open(sys.argv[2], "w") as f:
                f.write(str(os.getpid()))
            import time
            time.sleep(60)
        if HOW == "killed":
            os.kill(os.getpid(), 9)
        if HOW == "failed":
            raise CollectorError("fake", "the fake source refused")
        if HOW == "bad input":
            raise InputError("[fake] says the window is wrong")
        self.detail = "read 3 events"

    def extras(self):
        return SourceExtras(series=(MetricSeries("A", "r", None, "us-east-1", "Errors", "App",
                                                 "Sum", 60, 5.0, ">", ("2024-01-15T14:00:00Z",),
                                                 (1.0,)),))

    def close(self):
        pass

PARENT = os.getpid()
source = Source()

def started():
    if HOW == "parent fails":
        while not os.path.exists(sys.argv[2]) or not open(sys.argv[2]).read():
            time.sleep(0.01)
        raise RuntimeError("the parent failed")

import time
try:
    got = collect([source], Window(T0, T0 + timedelta(hours=1)), started=started)
except (InputError, RuntimeError) as exc:
    pid = int(open(sys.argv[2]).read()) if HOW == "parent fails" else None
    gone = None
    if pid:
        try:
            os.kill(pid, 0)
            gone = False
        except ProcessLookupError:
            gone = True
    print(json.dumps({"raised": str(exc), "child gone": gone}))
    sys.exit(0)
print(json.dumps({
    "summaries": [e.summary for e in got.events],
    "reports": [r.to_record() for r in got.reports],
    "series": [s.alarm_name for s in got.series],
    "read_in_parent": source.pid is not None,
}))
"""


def run(how: str, pid_file: Path | None = None) -> dict:
    done = python("-c", SOURCE, how, str(pid_file or ""))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_source_read_apart_gives_the_draft_what_it_gives_in_process() -> None:
    """The same events, report (requests, detail) and extras; only where it ran differs."""
    apart, alone = run("apart"), run("in-process")
    assert apart["summaries"] == ["event 0 from False", "event 1 from False", "event 2 from False"]
    assert alone["summaries"] == [s.replace("False", "True") for s in apart["summaries"]]
    assert (
        apart["reports"]
        == alone["reports"]
        == [
            {
                "name": "fake",
                "status": "ok",
                "events": 3,
                "requests": 3,
                "error": None,
                "detail": "read 3 events",
            }
        ]
    )
    assert apart["series"] == alone["series"] == ["A"]
    assert (apart["read_in_parent"], alone["read_in_parent"]) == (False, True)


def test_a_child_that_dies_or_fails_is_its_sources_gap_and_bad_input_still_stops() -> None:
    """Killed: a failed source naming the signal, no events. A CollectorError: the source's
    own gap, its events kept, as in-process. An InputError: raised in the parent."""
    killed = run("killed")
    assert killed["summaries"] == []
    assert killed["reports"][0]["status"] == "failed"
    assert killed["reports"][0]["error"] == (
        "the process reading fake ended (killed by signal 9) before it gave its events"
    )
    failed = run("failed")
    assert failed["reports"][0]["status"] == "failed"
    assert failed["reports"][0]["error"] == "the fake source refused"
    assert len(failed["summaries"]) == 3
    assert run("bad input") == {"raised": "[fake] says the window is wrong", "child gone": None}


def test_a_run_that_fails_before_taking_the_childs_result_kills_the_child(tmp_path: Path) -> None:
    """No child is left behind (it would wait forever on a pipe nobody reads)."""
    said = run("parent fails", tmp_path / "child.pid")
    assert said == {"raised": "the parent failed", "child gone": True}


EARLY = """
import json, os, sys, time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pmdraft.config import parse_config
from pmdraft.errors import InputError
from pmdraft.model import DEPLOY_SUCCEEDED, Event, SourceExtras, Window
from pmdraft.pipeline import collect, start_collectors
from pmdraft.sources.registry import Source, registry

HOW, MARK = sys.argv[1], sys.argv[2]
T0 = datetime(2024, 1, 15, 14, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(hours=1))

@dataclass(frozen=True)
class Empty:
    pass

class Early:
    name, runs_apart, requests, detail = "early", True, 0, None
    def collect(self, window):
        with open(MARK, "w") as f:
            f.write(str(os.getpid()))
        yield Event(T0, "early", DEPLOY_SUCCEEDED, "e1", f"read in the parent: {os.getpid() == PARENT}")
        if HOW == "later fails":
            time.sleep(60)
    def extras(self):
        return SourceExtras()

class Later:
    name, requests, detail = "later", 0, None
    def collect(self, window):
        yield Event(T0 + timedelta(minutes=1), "later", DEPLOY_SUCCEEDED, "l1", "read here")
    def extras(self):
        return SourceExtras()

seen = {}
def build_later(cfg, context):
    deadline = time.monotonic() + 10
    while not os.path.exists(MARK) and time.monotonic() < deadline:
        time.sleep(0.01)
    seen["early reading while later was built"] = os.path.exists(MARK)
    if HOW == "later fails":
        raise InputError("[later] is wrong")
    return [Later()]

for name, build in (("early", lambda cfg, context: [Early()]), ("later", build_later)):
    registry.register(Source(name=name, title=name, settings=Empty, read=lambda o, t: Empty(),
                             build=build, describe=lambda c: "", check=lambda c, x: [], table=name))
PARENT = os.getpid()
config = parse_config("[early]\\n[later]\\n", "test.toml")
try:
    collectors, missing, apart = start_collectors(config, {}, None, WINDOW)
except InputError as exc:
    pid = int(open(MARK).read())
    try:
        os.kill(pid, 0)
        gone = False
    except ProcessLookupError:
        gone = True
    print(json.dumps({"raised": str(exc), "early's child gone": gone, **seen}))
    sys.exit(0)
got = collect(collectors, WINDOW, missing, apart=apart)
print(json.dumps({"summaries": [e.summary for e in got.events],
                  "reports": [(r.name, r.status, r.events) for r in got.reports], **seen}))
"""


def test_a_source_read_apart_starts_reading_before_the_next_source_is_built(
    tmp_path: Path,
) -> None:
    """The first source's child is reading while the second source is built (its client
    libraries imported, about 0.1 s for PagerDuty), not after; what the draft gets is the same."""
    done = python("-c", EARLY, "ok", str(tmp_path / "early.pid"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "summaries": ["read in the parent: False", "read here"],
        "reports": [
            ["early", "ok", 1],
            ["later", "ok", 1],
            ["cloudwatch", "not_configured", 0],
            ["pagerduty", "not_configured", 0],
            ["slack", "not_configured", 0],
            ["deploys", "not_configured", 0],
        ],
        "early reading while later was built": True,
    }


def test_a_source_that_fails_to_build_after_one_was_forked_leaves_no_child(tmp_path: Path) -> None:
    """Bad input in a later source (a missing token) stops the run with its error, and the
    child already reading the first source is killed, not left waiting on its pipe."""
    done = python("-c", EARLY, "later fails", str(tmp_path / "early.pid"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "raised": "[later] is wrong",
        "early's child gone": True,
        "early reading while later was built": True,
    }


GIVES_WAY = """
import os, sys, time
from datetime import datetime, timedelta, UTC
from pmdraft.model import Event, SourceExtras, Window
from pmdraft.pipeline import collect

T0 = datetime(2024, 1, 15, 14, tzinfo=UTC)

class Slow:
    name = "slow"
    runs_apart = True
    detail = None
    requests = 0
    def collect(self, window):
        time.sleep(0.3)  # the quick source ends first
        for i in range(20_000):  # a result of a few MB: many pipe reads
            yield Event(at=T0 + timedelta(seconds=i), source="slow", kind="alarm.alarm",
                        ref=f"r{i}", summary="x" * 100)
    def extras(self):
        return SourceExtras()
    def close(self):
        pass

class Quick(Slow):
    name = "quick"
    runs_apart = False
    def collect(self, window):
        yield Event(at=T0, source="quick", kind="deploy.started", ref="d", summary="d")

said = []
def meanwhile(name, events, reading):
    while reading():  # busy, holding the interpreter lock, as heads being made do
        sum(range(20_000))
    slow_done = futures_done()
    said.append((name, slow_done))

import pmdraft.pipeline as pipeline
seen = {}
plain_wait = pipeline._Waiting.wait
def wait(self, names, futures, apart=()):
    seen["futures"] = futures
    return plain_wait(self, names, futures, apart)
pipeline._Waiting.wait = wait
def futures_done():
    return seen["futures"][0].done()

got = collect([Slow(), Quick()], Window(T0, T0 + timedelta(days=1)), meanwhile=meanwhile)
print(said, len(got.events))
"""


def test_meanwhile_gives_way_as_soon_as_a_child_s_result_comes_in() -> None:
    """The quick source's events go to ``meanwhile`` while the child still reads; once the
    child's result starts coming in, reading() turns false before that source is done (its
    reader thread needs the interpreter lock ``meanwhile``'s work holds), and every event
    arrives."""
    done = python("-c", GIVES_WAY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[('quick', False)] 20001\n"


STREAMED = """
import json, os, sys, threading, time
from datetime import UTC, datetime, timedelta
from pmdraft.apart import Apart
from pmdraft.model import DEPLOY_SUCCEEDED, Event, SourceExtras, Window
from pmdraft.pipeline import _extras_of, _run

GO = sys.argv[1]
T0 = datetime(2024, 1, 15, 14, tzinfo=UTC)

class Source:
    name, runs_apart, requests, detail = "fake", True, 0, None
    def collect(self, window):
        for i in range(4):
            if i == 2:  # the second part waits until the parent has taken in the first
                deadline = time.monotonic() + 20
                while not os.path.exists(GO) and time.monotonic() < deadline:
                    time.sleep(0.01)
            yield Event(T0 + timedelta(minutes=i), "fake", DEPLOY_SUCCEEDED, f"r{i}", "x")
    def extras(self):
        return SourceExtras()

apart = Apart(Source(), Window(T0, T0 + timedelta(hours=1)), _run, _extras_of)
got = {}
reader = threading.Thread(target=lambda: got.update(result=apart.result()))
reader.start()
deadline = time.monotonic() + 10
while apart.streamed < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
early = apart.streamed
open(GO, "w").close()
reader.join(30)
events, report = got["result"]
print(json.dumps({"early": early, "refs": [e.ref for e in events], "events": report.events}))
"""


def test_events_the_child_gives_early_reach_the_parent_while_it_still_reads(
    tmp_path: Path,
) -> None:
    """A source run apart that gives its events in parts (CloudWatch gives each region's as it
    is read): the parent has the first part while the child still reads, and the result is
    every event once, in the order given."""
    done = python("-c", STREAMED, str(tmp_path / "go"))
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"early": 2, "refs": ["r0", "r1", "r2", "r3"], "events": 4}
