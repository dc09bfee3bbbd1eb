"""`pmdraft batch` at 20 and 200 incidents: requests against the lower bound, wall time at 50 ms.

Run by ``bench/run.py``; prints one JSON object. The sandbox (moto behind the delaying proxy of
``bench/proxy.py``, and the PagerDuty stand-in, each adding 50 ms a request, as in
``bench/api.py``) runs in another process (this script with ``--serve``), so this interpreter
holds only the batch job being measured.

The scenario: incidents 45 minutes apart, each lasting 20-40 minutes, so their draft windows
overlap in chains (20 incidents: one merged span; 200: a few); 5 log entries each; 2 regions
with 10 alarms, two transitions per incident; a change event every third incident. Graphs and
the metric lookback are off (their GetMetricData is per draft either way, as drafting alone).

The lower bound, per run (what any client that reads everything once must ask):

- PagerDuty: ceil(incidents / 100) pages listing the candidates; ceil(incidents / 100) pages of
  the incidents over the drafts' union (others and related); per merged span of log-entry spans,
  ceil(entries / 100) pages (at least 1); ceil(change events / 100) pages (at least 1);
- CloudWatch, per region: ceil(alarms / 100) ``DescribeAlarms`` pages; per merged span of the
  drafts' windows, ceil(history items / 100) pages (at least 1).

Goal: requests within 1.2 x bound + 5. The same run drafting each incident alone (the way
before, ``Batch(share_reads=False)``) is measured at 20 incidents for comparison.

    python bench/batch.py [--quick]
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import Served, hermetic_aws

LATENCY = 0.05
"""Seconds added to every request, PagerDuty and CloudWatch alike."""
SIZES = (20, 200)
REGIONS = ("us-east-1", "eu-west-1")
ALARMS = 10
ENTRIES = 5
"""Log entries per incident."""
SPACING = timedelta(minutes=45)
TOKEN = "pmdraft-bench-token"
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def incidents(n: int) -> list[tuple[str, datetime, datetime]]:
    """(id, created, resolved) of ``n`` incidents, the last resolved a day before :data:`NOW`."""
    first = NOW - timedelta(days=1) - SPACING * n
    out = []
    for i in range(n):
        created = first + SPACING * i
        out.append((f"QBB{i:04d}", created, created + timedelta(minutes=20 + 10 * (i % 3))))
    return out


def _shape(path: str) -> str:
    """``/incidents/QBB0001/log_entries`` -> ``/incidents/{id}/log_entries``."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "incidents":
        parts[2] = "{id}"
    return "/".join(parts)


def serve() -> None:
    """The sandbox process: one JSON command per stdin line, one JSON answer per stdout line."""
    hermetic_aws()
    from proxy import DelayProxy
    from scenario import reset_moto

    from pmdraft.sandbox import aws
    from pmdraft.sandbox.aws import MotoSandbox
    from pmdraft.sandbox.pagerduty import PagerDutyStandIn, change_event, incident, log_entry

    pd: PagerDutyStandIn | None = None
    with MotoSandbox() as moto, DelayProxy(moto.endpoint_url, 0.0) as proxy:
        print(json.dumps({"proxy": proxy.url}), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            reply: dict[str, Any] = {}
            if op == "seed":
                if pd is not None:
                    pd.stop()
                reset_moto(moto)
                pd = PagerDutyStandIn(TOKEN, account_time_zone="UTC")
                pd.start()
                made = [
                    incident(
                        id=ident,
                        number=1000 + i,
                        title=f"Checkout errors {i}",
                        created_at=created,
                        service_id="PSVC1",
                        service_name="api",
                        resolved_at=resolved,
                    )
                    for i, (ident, created, resolved) in enumerate(incidents(command["n"]))
                ]
                pd.add_incidents(made)
                pd.add_log_entries(
                    [
                        log_entry(
                            id=f"{inc['id']}-{k}",
                            type=(
                                "trigger_log_entry",
                                "notify_log_entry",
                                "acknowledge_log_entry",
                                "notify_log_entry",
                                "resolve_log_entry",
                            )[k],
                            created_at=created + timedelta(minutes=4 * k),
                            incident=inc,
                        )
                        for inc, (_, created, _) in zip(made, incidents(command["n"]), strict=True)
                        for k in range(ENTRIES)
                    ]
                )
                pd.add_change_events(
                    [
                        change_event(
                            id=f"CE{i}",
                            summary=f"Deploy {i}",
                            timestamp=created - timedelta(minutes=10),
                            service=("PSVC1", "api"),
                        )
                        for i, (_, created, _) in enumerate(incidents(command["n"]))
                        if i % 3 == 0
                    ]
                )
                for region in REGIONS:
                    client = moto.client(region=region)
                    for a in range(ALARMS):
                        client.put_metric_alarm(
                            AlarmName=f"api-alarm-{a}",
                            MetricName="Errors",
                            Namespace="App",
                            Statistic="Sum",
                            Period=60,
                            EvaluationPeriods=1,
                            Threshold=1.0,
                            ComparisonOperator="GreaterThanThreshold",
                        )
                    client.close()
                    for i, (_, created, resolved) in enumerate(incidents(command["n"])):
                        name = f"api-alarm-{i % ALARMS}"
                        aws.add_history(region, name, created - timedelta(minutes=2), "OK", "ALARM")
                        aws.add_history(
                            region, name, resolved + timedelta(minutes=1), "ALARM", "OK"
                        )
                reply = {"pd": pd.base_url, "ca": pd.ca_path}
            elif op == "latency":
                assert pd is not None
                pd.latency = proxy.delay = float(command["seconds"])
            elif op == "reset":
                assert pd is not None
                pd.reset_requests()
                proxy.requests = 0
            elif op == "requests":
                assert pd is not None
                paths = Counter(_shape(r.path) for r in pd.requests)
                reply = {"pagerduty": dict(paths), "cloudwatch": proxy.requests}
            elif op == "stop":
                break
            print(json.dumps(reply), flush=True)
    if pd is not None:
        pd.stop()


class Sandbox(Served):
    """The ``--serve`` process, driven one JSON line at a time (as ``bench/api.py`` does)."""

    def __init__(self) -> None:
        super().__init__([sys.executable, __file__, "--serve"], "bench/batch.py --serve")


def write_config(folder: Path, proxy: str, pd: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pmdraft.toml"
    path.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f"regions = {json.dumps(list(REGIONS))}",
                f'endpoint_url = "{proxy}"',
                "graphs = false",
                "metric_lookback_minutes = 0",
                "",
                "[pagerduty]",
                f'base_url = "{pd["pd"]}"',
                f'ca_bundle = "{pd["ca"]}"',
                "",
                "[batch]",
                'output = "drafts"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def lower_bound(n: int) -> dict[str, int]:
    """The requests any client reading everything once must make (see the module docstring)."""
    from pmdraft.config import load_config  # noqa: F401  (imports settle before timing)
    from pmdraft.model import Window, merged_spans
    from pmdraft.sources.pagerduty.collector import incident_window, read_spans

    listed = incidents(n)
    windows, logs = [], []
    for ident, created, resolved in listed:
        record = {
            "id": ident,
            "created_at": created.isoformat(),
            "status": "resolved",
            "resolved_at": resolved.isoformat(),
        }
        window = incident_window(
            [record], lookback=timedelta(minutes=60), after=timedelta(minutes=30), now=NOW
        )
        windows.append(window)
        logs.append(
            read_spans(
                window,
                record,
                margin=timedelta(minutes=60),
                related_lookback=timedelta(days=90),
                change_lookback=timedelta(hours=6),
            )[1]
        )
    entries = [
        created + timedelta(minutes=4 * k) for _, created, _ in listed for k in range(ENTRIES)
    ]
    items = [t for _, c, r in listed for t in (c - timedelta(minutes=2), r + timedelta(minutes=1))]

    def pages(times: list[datetime], span: Window) -> int:
        return max(1, math.ceil(sum(1 for t in times if span.since <= t <= span.until) / 100))

    log_spans, history_spans = merged_spans(logs), merged_spans(windows)
    pagerduty = (
        2 * math.ceil(n / 100)
        + sum(pages(entries, s) for s in log_spans)
        + max(1, math.ceil(math.ceil(n / 3) / 100))
    )
    cloudwatch = len(REGIONS) * (
        math.ceil(ALARMS / 100) + sum(pages(items, s) for s in history_spans)
    )
    return {
        "pagerduty": pagerduty,
        "cloudwatch": cloudwatch,
        "total": pagerduty + cloudwatch,
        "log_spans": len(log_spans),
        "history_spans": len(history_spans),
    }


def run_batch(
    sandbox: Sandbox, folder: Path, seeded: dict[str, Any], *, share: bool
) -> dict[str, Any]:
    """One batch run at :data:`LATENCY`: its wall time, outcomes and requests."""
    from pmdraft.batch import Batch, open_sink, open_state
    from pmdraft.config import load_config
    from pmdraft.render import render_markdown

    cfg = load_config(write_config(folder, sandbox.info["proxy"], seeded))
    sandbox.ask("latency", seconds=LATENCY)
    sandbox.ask("reset")
    job = Batch(
        cfg,
        {"PAGERDUTY_API_TOKEN": TOKEN},
        state=open_state(cfg),
        sink=open_sink(cfg),
        render=render_markdown,
        share_reads=share,
    )
    start = time.perf_counter()
    result = job.run(NOW, since=NOW - timedelta(days=30))
    wall = time.perf_counter() - start
    seen = sandbox.ask("requests")
    job.state.close()
    return {
        "wall_s": wall,
        "statuses": dict(Counter(o.status for o in result.outcomes)),
        "pagerduty_paths": seen["pagerduty"],
        "pagerduty": sum(seen["pagerduty"].values()),
        "cloudwatch": seen["cloudwatch"],
        "requests": sum(seen["pagerduty"].values()) + seen["cloudwatch"],
    }


def main(quick: bool) -> dict[str, Any]:
    hermetic_aws()
    started = time.perf_counter()
    out: dict[str, Any] = {"latency_s": LATENCY, "runs": []}
    sandbox = Sandbox()
    try:
        with tempfile.TemporaryDirectory(prefix="pmdraft-bench-batch-") as tmp:
            for n in SIZES if not quick else (20,):
                seeded = sandbox.ask("seed", n=n)
                row: dict[str, Any] = {"incidents": n, "bound": lower_bound(n)}
                row["shared"] = run_batch(sandbox, Path(tmp) / f"shared-{n}", seeded, share=True)
                if n <= 20:
                    row["alone"] = run_batch(sandbox, Path(tmp) / f"alone-{n}", seeded, share=False)
                bound = row["bound"]["total"]
                row["goal"] = 1.2 * bound + 5
                row["within_goal"] = row["shared"]["requests"] <= row["goal"]
                out["runs"].append(row)
    finally:
        sandbox.close()
    out["total_s"] = time.perf_counter() - started
    out["load"] = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return out


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        print(json.dumps(main("--quick" in sys.argv)))
