"""The ``pmdraft`` process's own exit (``cli.main``): it leaves without tearing down its heap,
so what it printed, its exit code and its exit handlers must come out as with ``sys.exit``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pmdraft
from tests.conftest import python

TEMPLATE = Path(pmdraft.__file__).parent / "render" / "templates" / "postmortem.md.j2"


def pmdraft_process(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m pmdraft.cli ARGS`` (or ``code`` run before ``main()``), stdout a pipe."""
    command = (
        ["-c", f"{code}\nfrom pmdraft.cli import main\nmain()"] if code else ["-m", "pmdraft.cli"]
    )
    # stdout buffered, as a user's pipe is
    return python(*command, *args, unset=["PYTHONUNBUFFERED"])


def test_everything_printed_to_a_pipe_arrives() -> None:
    """Stdout is a block-buffered pipe: the whole template comes out, byte for byte, exit 0."""
    done = pmdraft_process("template", "--dump")
    assert done.returncode == 0, done.stderr
    assert done.stdout == TEMPLATE.read_text(encoding="utf-8")
    assert len(done.stdout) > 8192, "longer than one pipe buffer, so a lost flush would show"


def test_a_usage_error_keeps_exit_2_and_its_message() -> None:
    """A bad flag still exits 2 and says which flag and what a correct one looks like."""
    done = pmdraft_process("draft", "--since", "yesterday-ish")
    assert done.returncode == 2
    assert "Invalid value for '--since'" in done.stderr
    assert "write it like 2024-01-15T14:32:00Z" in done.stderr


def test_exit_handlers_and_other_threads_finish_first() -> None:
    """A thread still working when the command ends is waited for, and exit handlers run,
    before the process leaves: neither loses what it was writing."""
    code = """
import atexit, sys, threading, time
def late():
    time.sleep(0.3)
    print("thread done", flush=True)
threading.Thread(target=late).start()
atexit.register(lambda: print("handler ran"))
sys.argv = ["pmdraft", "--version"]
"""
    done = pmdraft_process(code=code)
    assert done.returncode == 0, done.stderr
    # The thread's line may come before the version (an import slowed by a busy machine);
    # the exit handler's comes last, once the thread is done.
    *first, last = done.stdout.splitlines()
    assert last == "handler ran"
    assert len(first) == 2 and "thread done" in first
    assert any(line.startswith("pmdraft, version ") for line in first)
