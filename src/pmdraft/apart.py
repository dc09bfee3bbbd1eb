"""A collector run apart, in a forked child process, so that its CPU work uses another CPU.

Reading the sources is I/O for the most part, but parsing what comes back is not: in a busy month
the CloudWatch collector spends about 1.5 s of CPU (botocore's parsing of the history, the
metric lookback's datapoints) and PagerDuty about 2 s, all under one interpreter lock, while
the sources' round trips wait on them. A collector that says it may run apart
(``runs_apart = True``) is run by :class:`Apart` in a child made with ``fork()``: the child
runs it exactly as :mod:`pmdraft.pipeline` would, and sends back its events, its report and
its extras (pickled, through a pipe); the child's counts of requests and events come back
meanwhile, for the progress line.

It forks only when that is safe: on Linux (macOS's system libraries may start threads of their
own), from a process with one thread (``fork()`` copies the calling thread alone, so a lock
another thread held would stay held in the child), and never for a batch run's shared reads
(those are the parent's, shared by every draft). Otherwise the collector runs in-process as
before. A child that dies says so as the source's error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .model import Event, SourceExtras, Window
from .sources.base import Collector

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25
"""Seconds between two counts the child sends while it runs."""

STREAM_EVERY = 0.01
"""Seconds between two looks of the child for events it has not sent yet (sent as they come,
the parent takes them in while it waits: at the end only the last ones are left to send)."""

_HEAD = struct.Struct(">cQ")
"""One message from the child: its kind (``p`` counts, ``e`` events so far, ``r`` the result)
and length."""

Run = Callable[[Collector, Window, list[Event]], tuple[list[Event], Any]]
"""How the pipeline runs one collector: ``(events, report)``."""

ExtrasOf = Callable[[Collector], SourceExtras]
"""How the pipeline reads a collector's extras once it is done."""


def fork_safe() -> bool:
    """Whether this process may ``fork()`` now: on Linux, with one thread (see the module's
    docstring). The JSON draft's forked writer (:mod:`pmdraft.cli.forked`) asks the same."""
    return sys.platform == "linux" and threading.active_count() == 1


def may_fork(collector: Collector) -> bool:
    """Whether ``collector`` can run apart now (see the module's docstring)."""
    return (
        bool(getattr(collector, "runs_apart", False))
        and getattr(collector, "shared", None) is None
        and fork_safe()
    )


_SENDING = threading.Lock()
"""The child's two senders (its counts, its result) write whole messages one at a time."""


def _send(fd: int, kind: bytes, payload: bytes) -> None:
    data = memoryview(_HEAD.pack(kind, len(payload)) + payload)
    with _SENDING:
        while data:
            data = data[os.write(fd, data) :]


PIPE_BYTES = 1 << 20
"""Bytes a result pipe is asked to hold (Linux's default most, ``/proc/sys/fs/pipe-max-size``):
the busy month's CloudWatch events (0.8 MB pickled) in a few reads rather than a read per 64 kB,
each of which waits for the interpreter lock that the process's other threads may hold."""


def widen_pipe(fd: int) -> None:
    """Ask the pipe ``fd`` to hold :data:`PIPE_BYTES`; where it cannot (another system, a lower
    limit), it stays as it is: what it carries is only slower to come."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl  # not on every system (pmdraft forks only on Linux, where it is)

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined,unused-ignore]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Apart:
    """One collector running in a forked child; :meth:`result` waits for what it gave."""

    def __init__(self, collector: Collector, window: Window, run: Run, extras_of: ExtrasOf) -> None:
        self.collector = collector
        self.requests = 0
        self.events = 0
        self.extras = SourceExtras()
        self.receiving = False
        """Whether the child's result is coming in (the process's other work may give way)."""
        self.streamed = 0
        """Events taken in while the child still ran (:meth:`result` is reading them)."""
        read, write = os.pipe()
        widen_pipe(write)
        sys.stdout.flush()  # what is buffered now would be written by both processes
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: run, send, and leave without running the parent's cleanup
            os.close(read)
            _child(collector, window, run, extras_of, write)
        os.close(write)
        self._pid, self._fd = pid, read
        log.info("source %s: read in a child process (pid %d)", collector.name, pid)

    def result(self) -> tuple[list[Event], Any]:
        """``(events, report)`` as the collector gave them in the child; its error re-raised.

        The events the child sent while it ran are taken in as they come; its result says how
        many of them are its events' first ones, and brings the rest."""
        streamed: list[Event] = []
        try:
            while True:
                head = _read_exactly(self._fd, _HEAD.size)
                if head is None:
                    break
                kind, size = _HEAD.unpack(head)
                if kind == b"r":
                    self.receiving = True
                payload = _read_exactly(self._fd, size)
                if payload is None:
                    break
                if kind == b"p":
                    self.requests, self.events = pickle.loads(payload)
                    continue
                if kind == b"e":
                    streamed.extend(pickle.loads(payload))
                    self.streamed = len(streamed)
                    continue
                outcome = pickle.loads(payload)
                if outcome[0] == "raised":
                    raise outcome[1]
                kept, rest, report, self.extras = outcome[1:]
                del streamed[kept:]
                streamed.extend(rest)
                return streamed, report
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
        raise ChildDied(self.collector.name, status)

    def stop(self) -> None:
        """Kill the child if its result was never taken (the run is ending early): it would
        otherwise wait forever on a full pipe nobody reads."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._pid = 0


class ChildDied(RuntimeError):
    """The child running a collector ended without sending its result."""

    def __init__(self, name: str, status: int) -> None:
        how = (
            f"killed by signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.WEXITSTATUS(status)}"
        )
        super().__init__(f"the process reading {name} ended ({how}) before it gave its events")


def _child(collector: Collector, window: Window, run: Run, extras_of: ExtrasOf, fd: int) -> None:
    """The child's whole life: never returns."""
    code = 0
    try:
        events: list[Event] = []
        done = threading.Event()
        sent = [0]
        """How many of ``events`` (their first ones) have been sent."""

        def stream() -> None:
            """Counts every :data:`PROGRESS_EVERY`; new events as they come (a collector that
            gives its events in parts, as CloudWatch gives each region's, has the parent take
            in the first parts while the last is still read)."""
            last = time.monotonic()
            while not done.wait(STREAM_EVERY):
                count = len(events)
                if count > sent[0]:
                    part = pickle.dumps(events[sent[0] : count], protocol=pickle.HIGHEST_PROTOCOL)
                    _send(fd, b"e", part)
                    sent[0] = count
                if time.monotonic() - last >= PROGRESS_EVERY:
                    _send(fd, b"p", pickle.dumps((collector.requests, len(events))))
                    last = time.monotonic()

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        try:
            given, report = run(collector, window, events)
        finally:
            done.set()
            sender.join()
        # The events sent are the first of those given, unless the run gave another list.
        kept = sent[0] if given is events else 0
        extras = extras_of(collector)
        payload = pickle.dumps(
            ("ok", kept, given[kept:], report, extras), protocol=pickle.HIGHEST_PROTOCOL
        )
    except BaseException as exc:  # handed to the parent, which raises it where run() would
        try:  # an exception whose arguments do not rebuild it goes as its text
            payload = pickle.dumps(("raised", exc))
            pickle.loads(payload)
        except Exception:
            payload = pickle.dumps(("raised", RuntimeError(f"{type(exc).__name__}: {exc}")))
    try:
        _send(fd, b"r", payload)
    except OSError:
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
