"""Render and write one file in a forked child while the parent goes on (the JSON draft beside
the Markdown one). :class:`StagedWrite` forks earlier, as soon as the draft's events are final,
writes the file's opening and events then, and ends the file once the parent sends the rest (the
JSON draft's events, nine tenths of it, are encoded and written while the parent finishes the
draft).

The busy month's JSON draft is 25 MB: rendering and writing it takes about as long as the
Markdown draft, on one CPU, after collection has finished. :class:`ForkedWrite` renders it in a
child process made with ``fork()``, which shares the finished draft without copying it, while
the parent renders the Markdown; the parent then waits for the child and commits its file.

It forks only when a second CPU is likely idle (:func:`spare_cpu`); on one busy or single CPU
the child would only share it, and cost its page copies on top.

Safe to fork only when nothing else runs: ``fork()`` copies the calling thread alone, so a lock
another thread held (an import, a logger, a buffer) would stay held in the child forever. It
forks only when the process has one Python thread (the collectors' pool has joined; the
warm-up thread that imports the renderers is given :data:`JOIN_S` to finish) and only on Linux
(macOS's system libraries may start threads of their own, which is why Python's own
``multiprocessing`` does not fork there); otherwise it renders and writes in-process, exactly
as before. The child only runs code the parent has imported already (a staged write's aside: the
draft's own analyses), encodes text and writes a file: no imports, no logging, no network.

The file appears only when the parent commits it (:meth:`ForkedWrite.commit`): the child writes
a hidden staging file (whole, through :func:`pmdraft.output.atomic_file`) and the parent renames
it into place, so a child that fails or a Markdown draft that could not be rendered leaves no
file, never a half one. A child's failure comes back as its error text and is raised as an
:class:`~pmdraft.errors.OutputError` in the parent (exit 1).
"""

from __future__ import annotations

import contextlib
import gc
import glob
import os
import pickle
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from ..apart import fork_safe, widen_pipe
from ..errors import OutputError
from ..output import atomic_file, write_atomic
from ..warm import THREAD_NAME

JOIN_S = 1.0
"""Seconds to wait for the warm-up imports' thread to end; past that, or with any other thread
alive, the file is written in-process."""

_FAILED = 1
"""The child's exit status when rendering or writing raised (its error text is in the pipe)."""


def _warm_up_joined(join_s: float) -> None:
    """Give the warm-up thread ``join_s`` to end (it has long finished, in practice)."""
    for thread in threading.enumerate():
        if thread.name == THREAD_NAME:
            thread.join(join_s)


RUNNABLE_READS = 5
"""How many times :func:`spare_cpu` reads the number of runnable tasks (a millisecond apart)."""


def _runnable() -> int | None:
    """Tasks runnable now on the whole machine, this one included (``procs_running`` in
    ``/proc/stat``); None where there is no such count."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("procs_running "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def spare_cpu(reads: int = RUNNABLE_READS, runnable: Callable[[], int | None] = _runnable) -> bool:
    """Whether a CPU this process may use is idle now: two or more of them, and at one of
    ``reads`` looks (a millisecond apart) at most as many other tasks runnable as there are
    CPUs besides this process's (``runnable``: ``procs_running`` in ``/proc/stat``).

    One look is enough, so that a task runnable for an instant does not count as load: at the
    end of a collection the servers close their connections, and a child process that sent its
    events is still exiting. (With every look required to show a spare CPU, the benchmark's busy
    month saw none in 3 of 14 drafts, each then about 0.4-0.8 s slower with its JSON written
    in-process.) Work that keeps the CPUs busy is runnable at every look.

    Only then does a child help: rendering beside the Markdown on a busy or single CPU just
    shares it, and the child's copy-on-write page faults (about 0.15 s of CPU for the busy
    month) make the whole slower. (Busy month on 2 CPUs: about 0.3-0.5 s faster with the other
    CPU idle; with a load average of 3.5, 1.87 s in-process against 2.05 s forked.) The minute's
    load average is no guide here: it still counts the collection that just ended (this process
    and, in a benchmark, the stand-in servers), while what matters is the CPUs now. (The
    machine's idle time measured over 20 ms said the same, but kept the draft waiting 20 ms.)
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return False
    if cpus < 2:
        return False
    for n in range(reads):
        if n:
            time.sleep(0.001)
        running = runnable()
        if running is None:
            return False
        if running - 1 <= cpus - 2:
            return True
    return False


class ForkedWrite:
    """``render()``'s text written to ``path``, rendered by a forked child when that is safe.

    Start it, do other work, then :meth:`commit` (the file appears) or :meth:`abandon` (no file).
    """

    def __init__(
        self,
        path: Path,
        render: Callable[[], str | bytes],
        *,
        join_s: float = JOIN_S,
        parallel: bool | None = None,
    ) -> None:
        """``parallel``: whether a second CPU is there for the child (``None``: see
        :func:`spare_cpu`); it forks only if so, and only when that is safe."""
        self.path = path
        self._render = render
        self._staging = path.with_name(f".{path.name}.{secrets.token_hex(6)}.pending")
        self.pid: int | None = None
        """The child's process id, ``None`` when the file is written in-process."""
        self._errors: int | None = None
        if parallel is None:
            parallel = spare_cpu()
        if parallel:
            _warm_up_joined(join_s)
        if parallel and fork_safe():
            try:
                self._fork()
            except OSError:  # no process to spare (EAGAIN, ENOMEM): written in-process instead
                self.pid = None

    def _fork(self) -> None:
        read, write = os.pipe()
        # Frozen, the objects made so far are left out of every collection in both processes,
        # so a collection neither walks the draft's million objects nor copies their pages.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(read)
            os.close(write)
            raise
        if pid == 0:  # the child: render, write, say what failed, exit without cleanup handlers
            os.close(read)
            gc.disable()
            status = 0
            try:
                self._child_write()
            except BaseException as exc:  # everything goes back to the parent as text
                status = _FAILED
                message = str(exc) or type(exc).__name__
                os.write(write, message.encode("utf-8", "replace")[:4000])
            finally:
                os._exit(status)
        os.close(write)
        self.pid, self._errors = pid, read

    def _child_write(self) -> None:
        """The child writes its file, whole, to the staging path (it runs only there)."""
        write_atomic(self._staging, self._render())

    def commit(self) -> None:
        """Wait for the child and move its file into place (or render and write here)."""
        if self.pid is None:
            try:
                write_atomic(self.path, self._render())
            except OSError as exc:
                raise OutputError(f"{self.path} could not be written: {exc}") from exc
            return
        self._sent()
        status, message = self._wait()
        if status != 0:
            self._clean()
            raise OutputError(f"{self.path} could not be written: {message}")
        try:
            os.replace(self._staging, self.path)
        except OSError as exc:
            self._clean()
            raise OutputError(f"{self.path} could not be written: {exc}") from exc

    def abandon(self) -> None:
        """Wait for the child and remove its file: nothing is written."""
        if self.pid is not None:
            self._sent()
            self._wait()
            self._clean()

    def _sent(self) -> None:
        """Whatever the parent still sends the child has gone (:class:`StagedWrite`)."""

    def _clean(self) -> None:
        """Remove the staging file and, if the child died while writing it, its temporary file
        (``write_atomic`` writes ``.<name>.<token>.tmp`` beside it first)."""
        self._staging.unlink(missing_ok=True)
        for leftover in self._staging.parent.glob(f".{glob.escape(self._staging.name)}.*.tmp"):
            leftover.unlink(missing_ok=True)

    def _wait(self) -> tuple[int, str]:
        """The child's exit status (non-zero when it failed) and its error text."""
        assert self.pid is not None and self._errors is not None
        chunks = []
        with os.fdopen(self._errors, "rb") as errors:
            while chunk := errors.read(4096):
                chunks.append(chunk)
        _, raw = os.waitpid(self.pid, 0)
        self.pid = None
        gc.unfreeze()
        message = b"".join(chunks).decode("utf-8", "replace")
        if os.WIFSIGNALED(raw):
            return 128 + os.WTERMSIG(
                raw
            ), f"the process writing it was killed (signal {os.WTERMSIG(raw)})"
        status = os.WEXITSTATUS(raw)
        return status, message or f"the process writing it exited with status {status}"


class Staged(Protocol):
    """A file's text in stages (:class:`StagedWrite`): its opening, final early and written as
    it is made, and its ending, made from a rest of the text that comes later."""

    def opening(self) -> Iterable[str]:
        """The file's first text, in pieces (each written as soon as it is made)."""

    def ending(self, rest: str) -> str | None:
        """The file's last text, made from ``rest``; ``None`` when ``rest`` says the opening
        should have been another (then the file is :meth:`whole` instead)."""

    def whole(self, rest: str) -> Iterable[str]:
        """The whole file's text, in pieces, from ``rest``."""


class StagedWrite(ForkedWrite):
    """A file written in stages: the child writes ``parts.opening()`` as soon as it is forked,
    piece by piece as they are made, then waits for the rest of the text (:meth:`send`) and
    ends the file with ``parts.ending(rest)``.

    The JSON draft: its opening and events (nine tenths of its 25 MB in the busy month) are
    final once the frame and its scope are, while the rest (milestones, incidents) needs the
    whole draft; so the child encodes and writes the events while the parent works out the
    milestones, and only the small ending is left once the parent sends the rest. Written piece
    by piece, the 25 MB are never one string, nor copied into another (each copy of fresh
    memory costs its page faults). Should the rest say the opening was not the one to write,
    the child writes ``parts.whole(rest)`` instead. Without a fork it makes the whole text at
    :meth:`commit`, in-process, as :class:`ForkedWrite` does. The file is written through
    :func:`~pmdraft.output.atomic_file`: it is whole, or not there.

    The rest goes through a pipe, written by a thread of the parent's so that the parent never
    waits for a child still encoding; it is sent with its length, and a child that reads less
    (the parent abandoned it, or died) writes nothing.
    """

    def __init__(
        self,
        path: Path,
        parts: Staged,
        *,
        aside: Callable[[], object] | None = None,
        join_s: float = JOIN_S,
        parallel: bool | None = None,
    ) -> None:
        """``aside``: a piece of the parent's own work the child does first, before its
        opening, and sends back pickled (:meth:`aside_result`)."""
        self._parts = parts
        self._aside = aside
        self._rest: str | None = None
        self._inbox: int | None = None
        self._outbox: int | None = None
        self._sender: threading.Thread | None = None
        self._answer: int | None = None
        """The child's end of the pipe that takes ``aside``'s result back."""
        self._heard: int | None = None
        """The parent's end of that pipe (read by :meth:`_listen`'s thread)."""
        self._answered: list[bytes] = []
        self._listener: threading.Thread | None = None
        super().__init__(path, self._in_process, join_s=join_s, parallel=parallel)

    def _in_process(self) -> str | bytes:
        rest = self._rest
        if rest is None:
            raise OutputError("the rest of the file was never sent")
        ending = self._parts.ending(rest)
        if ending is None:
            return "".join(self._parts.whole(rest))
        return "".join(self._parts.opening()) + ending

    def _fork(self) -> None:
        inbox, outbox = self._inbox, self._outbox = os.pipe()
        heard, self._answer = os.pipe() if self._aside is not None else (None, None)
        self._heard = heard
        if self._answer is not None:
            # The busy month's aside is about 160 kB: in a default 64 kB pipe the child would
            # wait for the parent's reader thread, itself waiting for the busy main thread.
            widen_pipe(self._answer)
        try:
            super()._fork()
        except OSError:
            for fd in (inbox, outbox, heard, self._answer):
                if fd is not None:
                    os.close(fd)
            self._inbox = self._outbox = self._answer = self._heard = None
            raise
        os.close(inbox)
        self._inbox = None
        if heard is not None:
            assert self._answer is not None
            os.close(self._answer)
            self._answer = self._heard = None
            # Read by a thread as it comes, so the child never waits for the parent to read.
            self._listener = threading.Thread(
                target=self._listen, args=(heard,), name="pmdraft-aside", daemon=True
            )
            self._listener.start()

    def _listen(self, heard: int) -> None:
        with os.fdopen(heard, "rb") as answer:
            self._answered.append(answer.read())

    def aside_result(self) -> object | None:
        """What ``aside`` returned in the child; ``None`` without a child, or when ``aside``
        raised there (then the parent does that work itself: the same result or error)."""
        if self._listener is None:
            return None
        self._listener.join()
        self._listener = None
        data = b"".join(self._answered)
        self._answered.clear()
        # The child is this process's own fork: its pickle is made by pmdraft's own code.
        return pickle.loads(data) if data else None

    def _child_aside(self) -> None:
        """The child does ``aside`` and sends its result back (nothing, if it raised)."""
        assert self._aside is not None and self._answer is not None and self._heard is not None
        os.close(self._heard)
        with os.fdopen(self._answer, "wb") as answer:
            try:
                result = pickle.dumps(self._aside(), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # the parent does the work itself, and meets the error there
                return
            with contextlib.suppress(BrokenPipeError):  # a parent gone wants no answer
                answer.write(result)

    def _child_write(self) -> None:
        assert self._inbox is not None and self._outbox is not None
        os.close(self._outbox)
        if self._aside is not None:
            self._child_aside()
        with atomic_file(self._staging) as handle:
            for piece in self._parts.opening():
                handle.write(piece.encode("utf-8"))
            rest = self._received()
            ending = self._parts.ending(rest)
            if ending is not None:
                handle.write(ending.encode("utf-8"))
                return
            # The opening written is not this draft's: the file is written anew.
            handle.seek(0)
            handle.truncate()
            for piece in self._parts.whole(rest):
                handle.write(piece.encode("utf-8"))

    def _received(self) -> str:
        """The rest, as the parent sent it (the child reads it once its opening is written)."""
        assert self._inbox is not None
        with os.fdopen(self._inbox, "rb") as inbox:
            data = inbox.read()
        size = int.from_bytes(data[:8], "big")
        if len(data) != 8 + size:
            raise OutputError("the draft was not finished, so its file was not written")
        return data[8:].decode("utf-8")

    def send(self, rest: str) -> None:
        """Give the rest of the text: to the child (by a thread: this returns at once), or kept
        for :meth:`commit` when the file is written in-process."""
        if self.pid is None:
            self._rest = rest
            return
        data = rest.encode("utf-8")
        outbox, self._outbox = self._outbox, None
        assert outbox is not None

        def write_all() -> None:
            message = memoryview(len(data).to_bytes(8, "big") + data)
            try:
                # A child that died closed its end; its exit status says why.
                with contextlib.suppress(BrokenPipeError):
                    while message:
                        message = message[os.write(outbox, message) :]
            finally:
                os.close(outbox)

        self._sender = threading.Thread(target=write_all, name="pmdraft-send", daemon=True)
        self._sender.start()

    def _wait(self) -> tuple[int, str]:
        status = super()._wait()
        if self._listener is not None:  # the child has exited: its answer has ended
            self._listener.join()
            self._listener = None
        return status

    def _sent(self) -> None:
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._outbox is not None:  # nothing was sent: the child reads a short message
            os.close(self._outbox)
            self._outbox = None
