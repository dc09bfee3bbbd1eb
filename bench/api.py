"""API calls against the sandbox: request counts, wall time at 50 ms a request, and scaling.

Run by ``bench/run.py``; prints one JSON object. The sandbox (moto, the PagerDuty stand-in, the
delaying proxy) runs in another process (``bench/serve.py``), so this interpreter holds only the
client being measured; the stand-ins do O(log n) work a request, so the added latency dominates.

    python bench/api.py [--quick]
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive
import scenario
from driver import Served, hermetic_aws
from scenario import MONTH, MONTH_SIZE, REGIONS, TOKEN_ENV, Size

from pmdraft.model import iso_z

LATENCY = 0.05
"""Seconds added to every request, PagerDuty and CloudWatch alike."""
SCALE_BASE = Size(incidents=20, log_entries=2_000, transitions=300, alarms=3, deploys=30)
SCALES = (1, 4, 16)


class Sandbox(Served):
    """The ``bench/serve.py`` process, driven one JSON line at a time."""

    def __init__(self) -> None:
        super().__init__(
            [sys.executable, str(Path(__file__).with_name("serve.py"))], "bench/serve.py"
        )


@contextlib.contextmanager
def _timed_collect() -> Iterator[list[float]]:
    """Time ``pipeline.collect`` as ``make_draft`` calls it (the sources, all at once)."""
    import pmdraft.draft

    took = [0.0]
    original = pmdraft.draft.collect  # type: ignore[attr-defined]  # draft.py's own import

    def timed(*args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            took[0] += time.perf_counter() - start

    pmdraft.draft.collect = timed  # type: ignore[attr-defined]  # patched where make_draft looks
    try:
        yield took
    finally:
        pmdraft.draft.collect = original  # type: ignore[attr-defined]


class _Server:
    """What ``scenario.write_config`` needs of a PagerDuty stand-in."""

    def __init__(self, base_url: str, ca_path: str) -> None:
        self.base_url, self.ca_path = base_url, ca_path


class Bed:
    """One seeded scenario: runs pmdraft or the naive baseline against it at a given latency."""

    def __init__(self, sandbox: Sandbox, size: Size, workdir: Path) -> None:
        self.sandbox, self.size, self.workdir = sandbox, size, workdir
        seeded = sandbox.ask("seed", size=vars(size))
        self.seed_s = seeded["seed_s"]
        self.pd = _Server(seeded["pd"], seeded["ca"])
        self.deploys = scenario.write_deploys(workdir / "deploys.jsonl", size)
        self.config = scenario.write_config(workdir, sandbox.info["proxy"], self.pd)
        self.config_graphs = scenario.write_config(
            workdir,
            sandbox.info["proxy"],
            self.pd,
            graphs=True,
        )
        self.config_same = scenario.write_config(
            workdir,
            sandbox.info["proxy"],
            self.pd,
            lookback=False,
        )
        self.runs = 0

    def pmdraft(self, latency: float) -> dict[str, Any]:
        """One full draft (collect, merge, analyse, render) as the CLI would make it."""
        from pmdraft.config import load_config
        from pmdraft.draft import make_draft
        from pmdraft.render import render_markdown

        self.sandbox.ask("latency", seconds=latency)
        self.sandbox.ask("reset")
        with _timed_collect() as collecting:
            start = time.perf_counter()
            draft = make_draft(
                load_config(self.config), MONTH, {TOKEN_ENV: self.sandbox.info["token"]}
            )
            drafted = time.perf_counter()
            render_markdown(draft)
            wall = time.perf_counter() - start
        seen = self.sandbox.ask("requests")
        json_s, json_indent_s = _json_times(draft)
        return {
            "wall_s": wall,
            "collect_s": collecting[0],
            "build_s": drafted - start - collecting[0],
            "render_s": wall - (drafted - start),
            "events": len(draft.events),
            "rows": len(draft.rows),
            "render_json_s": json_s,
            "render_json_indent_s": json_indent_s,
            "sources": [r.to_record() for r in draft.reports],
            "seen": seen,
        }

    def naive(self, latency: float) -> dict[str, Any]:
        self.sandbox.ask("latency", seconds=latency)
        self.sandbox.ask("reset")
        start = time.perf_counter()
        got = naive.collect(
            token=self.sandbox.info["token"],
            pd_url=self.pd.base_url,
            ca_path=self.pd.ca_path,
            cw_url=self.sandbox.info["proxy"],
            regions=list(REGIONS),
            window=MONTH,
            deploys=self.deploys,
            pd_requests=lambda: self.sandbox.ask("requests")["pagerduty"],
        )
        wall = time.perf_counter() - start
        return {"wall_s": wall, "records": got.records, "requests": got.requests}

    def _process(self, name: str, command: list[str], latency: float) -> dict[str, Any]:
        """Run ``command`` in a fresh interpreter; its wall and CPU time, and the requests."""
        self.sandbox.ask("latency", seconds=latency)
        self.sandbox.ask("reset")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=_env(self.sandbox.info["token"]),
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 3):
            raise RuntimeError(f"{name} exited {done.returncode}: {done.stderr[-600:]}")
        seen = self.sandbox.ask("requests")
        return {
            "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "exit": done.returncode,
            "requests": {"pagerduty": seen["pagerduty"], "cloudwatch": seen["cloudwatch"]},
            "cloudwatch_operations": seen.get("cloudwatch_operations", {}),
        }

    def _args(self) -> str:
        return json.dumps(
            {
                "token": self.sandbox.info["token"],
                "pd_url": self.pd.base_url,
                "ca_path": self.pd.ca_path,
                "cw_url": self.sandbox.info["proxy"],
                "regions": list(REGIONS),
                "since": iso_z(MONTH.since),
                "until": iso_z(MONTH.until),
                "deploys": str(self.deploys),
            }
        )

    def cli(self, latency: float, *, graphs: bool, lookback: bool = True) -> dict[str, Any]:
        """``pmdraft draft -o month.md`` (Markdown, its JSON beside it, graphs or --no-graphs;
        ``lookback=False``: the metric lookback off, reading what the near-limit client reads)."""
        config = self.config_graphs if graphs else self.config if lookback else self.config_same
        self.runs += 1
        out = self.workdir / f"run{self.runs}" / "month.md"
        out.parent.mkdir()
        command = [
            sys.executable,
            "-m",
            "pmdraft.cli",
            "draft",
            "--since",
            iso_z(MONTH.since),
            "--until",
            iso_z(MONTH.until),
            "--config",
            str(config),
            "-o",
            str(out),
            "-q",
            *([] if graphs else ["--no-graphs"]),
        ]
        run = self._process("pmdraft", command, latency)
        folder = out.parent / "month-graphs"
        run["figures"] = len(list(folder.glob("*.png"))) if folder.exists() else 0
        return run

    def nearlimit(self, latency: float) -> dict[str, Any]:
        command = [sys.executable, str(Path(__file__).with_name("nearlimit.py")), self._args()]
        return self._process("nearlimit", command, latency)

    def sequential(self, latency: float) -> dict[str, Any]:
        command = [sys.executable, str(Path(__file__).with_name("naive.py")), self._args()]
        return self._process("naive", command, latency)


def _env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def _json_times(draft: Any) -> tuple[float, float]:
    """``render_json`` (C encoder, one event a line) and the indent=2 dump it replaced: the
    best of 3 runs each, alternated (a busy machine's pauses fall on both alike)."""
    from pmdraft.render import render_json
    from pmdraft.render.structured import draft_record

    lined, indented = [], []
    for _ in range(3):
        start = time.perf_counter()
        render_json(draft)
        lined.append(time.perf_counter() - start)
        start = time.perf_counter()
        json.dumps(draft_record(draft), indent=2, ensure_ascii=False)
        indented.append(time.perf_counter() - start)
    return min(lined), min(indented)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def side_by_side(bed: Bed, rounds: int) -> dict[str, Any]:
    """The busy month at 50 ms a request, each client in a fresh interpreter, interleaved.

    ``rounds`` rounds of: the near-limit client, pmdraft --no-graphs without then with the metric
    lookback, pmdraft with graphs; then
    the sequential baseline once. Each client's figure is its median round.
    """
    out: dict[str, Any] = {"load_start": _load(), "rounds": rounds}
    runs: dict[str, list[dict[str, Any]]] = {
        "nearlimit": [],
        "same_reads": [],
        "no_graphs": [],
        "graphs": [],
    }
    for _ in range(rounds):
        runs["nearlimit"].append(bed.nearlimit(LATENCY))
        runs["same_reads"].append(bed.cli(LATENCY, graphs=False, lookback=False))
        runs["no_graphs"].append(bed.cli(LATENCY, graphs=False))
        runs["graphs"].append(bed.cli(LATENCY, graphs=True))
    out["sequential"] = bed.sequential(LATENCY)
    for name, got in runs.items():
        got.sort(key=lambda r: r["wall_s"])
        out[name] = got[len(got) // 2]
        out[name]["walls_s"] = [r["wall_s"] for r in got]
    out["load_end"] = _load()
    return out


def main(quick: bool) -> dict[str, Any]:
    hermetic_aws()
    started = time.perf_counter()
    month = MONTH_SIZE if not quick else SCALE_BASE.times(4)
    out: dict[str, Any] = {
        "latency_s": LATENCY,
        "month_size": vars(month),
        "scale_base": vars(SCALE_BASE),
    }
    sandbox = Sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="pmdraft-bench-") as tmp:
            bed = Bed(sandbox, month, Path(tmp))
            out["seed_s"] = bed.seed_s
            out["bounds"] = month.bounds()
            out["counts"] = {"pmdraft": bed.pmdraft(0.0), "naive": bed.naive(0.0)}
            out["side_by_side"] = side_by_side(bed, 1 if quick else 5)
            out["latency"] = {
                "pmdraft": bed.pmdraft(LATENCY),
                "naive": out["side_by_side"]["sequential"],
            }
            out["scaling"] = []
            for k in SCALES if not quick else (1, 4):
                size = SCALE_BASE.times(k)
                bed = Bed(sandbox, size, Path(tmp))
                out["scaling"].append(
                    {
                        "scale": k,
                        "size": vars(size),
                        "bounds": size.bounds(),
                        "pmdraft": bed.pmdraft(LATENCY),
                        "naive": bed.naive(0.0),
                    }
                )
    finally:
        sandbox.close()
    out["total_s"] = time.perf_counter() - started
    return out


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv)))
