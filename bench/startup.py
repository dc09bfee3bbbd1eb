"""Start-up: the time to print help, against the bare interpreter, and what help imports.

Run by ``bench/run.py``; prints one JSON object. Each sample is a fresh interpreter, timed
from outside (fork, exec, imports, help text, exit); the median of ``RUNS`` is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 9
"""Fresh interpreters per command; the median is reported."""
HEAVY = ("pandas", "numpy", "boto3", "botocore", "pagerduty", "moto", "matplotlib")
SRC = str(Path(__file__).resolve().parents[1] / "src")

HELP = f"""
import json, sys
from pmdraft.cli import cli
cli.main(args=sys.argv[1:], prog_name="pmdraft", standalone_mode=False)
sys.stderr.write(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    return env


def median_seconds(args: list[str], runs: int = RUNS) -> float:
    samples = []
    env = _env()
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def heavy_imports(args: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", HELP, *args], check=True, capture_output=True, text=True, env=_env()
    )
    heavy: list[str] = json.loads(done.stderr.strip().splitlines()[-1])  # the probe's list
    return heavy


def main() -> dict[str, object]:
    bare = median_seconds([sys.executable, "-c", "pass"])
    top = median_seconds([sys.executable, "-c", HELP, "--help"])
    draft = median_seconds([sys.executable, "-c", HELP, "draft", "--help"])
    pandas = median_seconds([sys.executable, "-c", "import pandas"], runs=3)
    return {
        "runs": RUNS,
        "bare_s": bare,
        "help_s": top,
        "draft_help_s": draft,
        "import_pandas_s": pandas,
        "heavy_on_help": heavy_imports(["--help"]),
        "heavy_on_draft_help": heavy_imports(["draft", "--help"]),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
