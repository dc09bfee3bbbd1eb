"""A 100 MB deploy log is streamed: memory stays far below the file's size, every good line counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pmdraft.model import Window

from ..conftest import utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))
SIZE = 100 * 1024 * 1024
"""Bytes of deploy log written: 100 MiB."""
LIMIT = 50 * 1024
"""KiB the process's peak resident size may grow by while reading it (half the file)."""

PROBE = """
import json, resource, sys
from pathlib import Path
from pmdraft.model import Window, parse_time
from pmdraft.sources.deploys.file import DeployFileCollector

window = Window(parse_time(sys.argv[2]), parse_time(sys.argv[3]))
collector = DeployFileCollector(Path(sys.argv[1]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
refs = [e.ref for e in collector.collect(window)]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before": before, "after": after, "refs": refs, "detail": collector.detail}))
"""
"""Reads the log in a fresh interpreter, so its peak resident size is this read's alone."""


def write_log(path: Path) -> int:
    """About SIZE bytes of JSON Lines, all a day before the window but for 3 lines; returns lines."""
    old = json.dumps(
        {
            "timestamp": "2024-01-10T09:00:00Z",
            "status": "succeeded",
            "service": "api",
            "version": "v1.0.0",
            "environment": "production",
            "description": "routine deploy " + "x" * 60,
        }
    )
    block = (old + "\n") * (1024 * 1024 // (len(old) + 1))
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"timestamp": "2024-01-15T14:15:00Z", "status": "started", "id": "first"}\n')
        written = 0
        while written < SIZE:
            out.write(block)
            written += len(block)
            lines += block.count("\n")
        out.write("not json\n")
        out.write('{"timestamp": "2024-01-15T14:20:00Z", "status": "succeeded", "id": "last"}\n')
    return lines + 3


@pytest.mark.slow
def test_a_100_mb_deploy_log_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """Reading a 100 MiB log grows peak memory by under 50 MiB; the in-window lines and the bad one are found."""
    path = tmp_path / "deploys.jsonl"
    lines = write_log(path)
    assert path.stat().st_size >= SIZE
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    growth = found["after"] - found["before"]
    print(f"\npeak RSS {found['after']:,} KiB, grown by {growth:,} KiB reading {SIZE:,} bytes")
    assert growth < LIMIT, f"peak resident size grew by {growth:,} KiB"
    assert found["refs"] == ["first", "last"]
    assert found["detail"] == (
        f"1 malformed line skipped: {path}, line {lines - 1}: not a JSON object (Expecting value); "
        'each line must be one object such as {"timestamp": "2024-01-15T14:32:00Z", "status": '
        f'"succeeded", "version": "v2.3.4"}}; {lines - 3} records outside the window and the 6 h '
        "deploy lookback before it left out"
    )
