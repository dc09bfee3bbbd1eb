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
