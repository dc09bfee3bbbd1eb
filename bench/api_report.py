"""The "API calls" part of docs/benchmarks.md, from ``bench/api.py``'s JSON (used by ``run.py``).

Every ratio here is of times measured in the same run, minutes apart, with the load average
at the start and end of the side-by-side runs beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

GOAL_NEARLIMIT = 1.2
"""pmdraft --no-graphs, within this many times the near-limit plain client's wall time."""
GOAL_SEQUENTIAL = 6.0
"""pmdraft --no-graphs, at least this many times faster than the sequential way."""
GOAL_GRAPHS = 1.5
"""pmdraft with graphs (real data in every series), within this many times --no-graphs."""

Add = Callable[[str], None]


def s(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def _met(ok: bool, how: str) -> str:
    return f"met ({how})" if ok else f"**not met** ({how})"


def _requests(run: dict[str, Any]) -> int:
    return int(sum(run["requests"].values()))


def _ratios(side: dict[str, Any]) -> tuple[float, float, float]:
    """pmdraft --no-graphs / near-limit, sequential / pmdraft, graphs / --no-graphs."""
    near, plain, drawn = (side[k]["wall_s"] for k in ("nearlimit", "no_graphs", "graphs"))
    return plain / near, side["sequential"]["wall_s"] / plain, drawn / plain


def summary_rows(add: Add, api: dict[str, Any], verdict: Callable[[bool, str], str]) -> None:
    """The Summary table's rows for the busy month (issue 17's goals)."""
    side = api.get("side_by_side")
    if side:
        near, seq, graphs = _ratios(side)
        load = f"load {side['load_start'][0]:.1f} -> {side['load_end'][0]:.1f}"
        add(
            f"| busy month, 50 ms a request: pmdraft `--no-graphs` / near-limit client ({load}) "
            f"| {near:.2f}x ({s(side['no_graphs']['wall_s'])} vs "
            f"{s(side['nearlimit']['wall_s'])}) | <= {GOAL_NEARLIMIT}x | "
            f"{verdict(near <= GOAL_NEARLIMIT, f'{near / GOAL_NEARLIMIT:.1f}x the goal')} |"
        )
        if "same_reads" in side:
            same = side["same_reads"]["wall_s"] / side["nearlimit"]["wall_s"]
            add(
                "| busy month: pmdraft `--no-graphs`, metric lookback off (the same reads as "
                f"the near-limit client) / near-limit | {same:.2f}x "
                f"({s(side['same_reads']['wall_s'])} vs {s(side['nearlimit']['wall_s'])}) | "
                f"<= {GOAL_NEARLIMIT}x | "
                f"{verdict(same <= GOAL_NEARLIMIT, f'{same / GOAL_NEARLIMIT:.1f}x the goal')} |"
            )
        add(
            f"| busy month: sequential / pmdraft `--no-graphs` | {seq:.1f}x "
            f"({s(side['sequential']['wall_s'])} vs {s(side['no_graphs']['wall_s'])}) | "
            f">= {GOAL_SEQUENTIAL:g}x | {verdict(seq >= GOAL_SEQUENTIAL, f'{seq:.1f}x')} |"
        )
        add(
            f"| busy month: graphs on (real data, {side['graphs']['figures']} figures) / "
            f"`--no-graphs` | {graphs:.2f}x | <= {GOAL_GRAPHS}x | "
            f"{verdict(graphs <= GOAL_GRAPHS, f'{graphs:.2f}x')} |"
        )
    pm = api["counts"]["pmdraft"]
    bound = sum(sum(v.values()) for v in api["bounds"].values())
    got = sum(r["requests"] for r in pm["sources"])
    add(
        "| busy month: requests / lower bound (ceil(records/100) per stream) | "
        f"{got / bound:.2f} ({got} / {bound}) | close to 1 | "
        f"metric lookback included: {_lookback(pm)} GetMetricData |"
    )


def _lookback(run: dict[str, Any]) -> int:
    return int(run.get("seen", {}).get("cloudwatch_operations", {}).get("GetMetricData", 0))


def _source(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next((r for r in result.get("sources", []) if r["name"] == name), {})


def add_side_by_side(add: Add, api: dict[str, Any]) -> None:
    side = api["side_by_side"]
    ms = api["latency_s"] * 1000
    add(f"\n### Side by side at {ms:.0f} ms a request\n")
    add(
        "Each client in a fresh interpreter (imports included), timed from outside, in "
        f"{side['rounds']} interleaved rounds"
    )
    add(
        "(near-limit, `--no-graphs` with the metric lookback off, `--no-graphs`, graphs on), "
        "each figure its median round; then the "
        "sequential way once."
    )
    add(
        f"Load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in side['load_start'])} at "
        f"the start, {' '.join(f'{x:.1f}' for x in side['load_end'])} at the end, on "
        "2 CPUs shared with the sandbox's two processes.\n"
    )
    add(
        "- **near-limit plain client** (`bench/nearlimit.py`): PagerDuty incidents and log "
        "entries by offset pages fanned out over 8 connections after one `total` probe "
        "(time slices past the 10,000 cap), CloudWatch `DescribeAlarms` and "
        "`DescribeAlarmHistory` in 4 time slices a region at 20 requests/s shared by the "
        "regions, the deploy file; one plain sort. Reads no metric data: no lookback, no graphs."
    )
    add(
        "- **pmdraft**: `pmdraft draft -o month.md` (Markdown, its JSON beside it), the metric "
        "lookback on (60 minutes, pmdraft's default), with `--no-graphs` or with graphs "
        "(every alarm's metric holds data: `bench/scenario.py`). As on any Linux machine, it "
        "reads CloudWatch in a forked child, writes the JSON from another when a CPU is idle, "
        "and with graphs draws them in a third process. Its CPU column counts them all; the "
        "stand-ins' own CPU (two processes: moto behind the delaying proxy, and the PagerDuty "
        "stand-in) is not counted, but shares the 2 CPUs."
    )
    add(
        "- **sequential** (`bench/naive.py`): as the libraries' documentation shows, one "
        "request at a time.\n"
    )
    near, seq, graphs = _ratios(side)
    add("| | wall (median) | all rounds | CPU | requests (PagerDuty + CloudWatch) | ratio |")
    add("|---|---|---|---|---|---|")
    rows = (
        ("near-limit plain client", "nearlimit", "1.00"),
        *(
            [
                (
                    "pmdraft `--no-graphs`, metric lookback off (reads what near-limit reads)",
                    "same_reads",
                    f"**{side['same_reads']['wall_s'] / side['nearlimit']['wall_s']:.2f}x** "
                    "the near-limit client",
                )
            ]
            if "same_reads" in side
            else []
        ),
        (
            "pmdraft `--no-graphs`",
            "no_graphs",
            f"**{near:.2f}x** the near-limit client (goal <= {GOAL_NEARLIMIT}x)",
        ),
        (
            f"pmdraft, graphs on ({side['graphs']['figures']} figures)",
            "graphs",
            f"**{graphs:.2f}x** `--no-graphs` (goal <= {GOAL_GRAPHS}x)",
        ),
        (
            "sequential",
            "sequential",
            f"**{seq:.1f}x** pmdraft `--no-graphs` (goal >= {GOAL_SEQUENTIAL:g}x)",
        ),
    )
    for label, key, ratio in rows:
        run = side[key]
        walls = ", ".join(s(w) for w in run.get("walls_s", [run["wall_s"]]))
        requests = f"{run['requests']['pagerduty']} + {run['requests']['cloudwatch']}"
        add(
            f"| {label} | {s(run['wall_s'])} | {walls} | {s(run['cpu_s'])} | {requests} | {ratio} |"
        )
    ops = side["no_graphs"].get("cloudwatch_operations", {})
    if ops:
        add(
            "\npmdraft's CloudWatch requests (`--no-graphs`) by operation: "
            + ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
            + "; with graphs: "
            + ", ".join(
                f"{k} {v}"
                for k, v in sorted(side["graphs"].get("cloudwatch_operations", {}).items())
            )
            + "."
        )
    p = api["latency"]["pmdraft"]
    add(
        f"\nWhere pmdraft's time goes (the same draft in this interpreter, no start-up: "
        f"{s(p['wall_s'])}): collecting {s(p['collect_s'])}, building the draft "
        f"{s(p['build_s'])}, rendering Markdown {s(p['render_s'])}. `render_json` of its "
        f"{p['events']:,} events: {s(p['render_json_s'])} (one event a line, C encoder) "
        f"against {s(p['render_json_indent_s'])} for the `indent=2` dump it replaced."
    )


def add_api(add: Add, api: dict[str, Any]) -> None:
    """The whole "API calls" section."""
    size = api["month_size"]
    add(
        f"A busy month served by the sandbox: {size['incidents']} PagerDuty incidents with "
        f"{size['log_entries']:,} log entries, {size['transitions']:,} alarm transitions of "
        f"{2 * size['alarms']} alarms ({size['alarms']} in each of 2 regions; moto with "
        f"`DescribeAlarmHistory`), every alarm's metric holding data (a datapoint every 10 "
        f"minutes, one a minute in the 10 minutes before each ALARM), {size['deploys']} deploys "
        "in a JSON Lines file (`bench/scenario.py`). PagerDuty's related-incident listing and "
        "change events are off (each one more listing), so the clients read the same records."
    )
    if "side_by_side" in api:
        add_side_by_side(add, api)
    add("\n### Requests (no added latency)\n")
    pm, nv, b = api["counts"]["pmdraft"], api["counts"]["naive"], api["bounds"]
    add("| source | stream | lower bound | pmdraft | naive |\n|---|---|---|---|---|")
    cw, pd = _source(pm, "cloudwatch"), _source(pm, "pagerduty")
    paths = pm.get("seen", {}).get("pagerduty_paths", {})
    cw_bound = b["cloudwatch"]
    add(
        f"| CloudWatch | {' + '.join(cw_bound)} (+ GetMetricData for the lookback) | "
        f"{' + '.join(str(v) for v in cw_bound.values())} | {cw.get('requests', 'n/a')} "
        f"({_lookback(pm)} GetMetricData) | {nv['requests']['cloudwatch']} |"
    )
    naive_incidents = nv["requests"].get("pagerduty_incidents", 0)
    add(
        f"| PagerDuty | GET /incidents | {b['pagerduty']['GET /incidents']} | "
        f"{paths.get('/incidents', 0)} | {naive_incidents} |"
    )
    add(
        f"| PagerDuty | log entries | {b['pagerduty']['GET /log_entries']} | "
        f"{paths.get('/log_entries', 0)} | "
        f"{nv['requests']['pagerduty'] - naive_incidents} (one listing per incident) |"
    )
    add(
        f"| PagerDuty | total | {sum(b['pagerduty'].values())} | {pd.get('requests', 'n/a')} | "
        f"{nv['requests']['pagerduty']} |"
    )
    add("| deploy log | file | 0 | 0 | 0 |")
    add(
        "\nThe metric lookback reads, for each alarm that fired, its metric near each breach: "
        "each history page's breaches join their time slice's open call while that stays within "
        "AWS's per-call limits (500 queries, 100,800 datapoints) and widens the call by at most "
        "2,000 datapoints (`CALL_WORTH_POINTS`; one call has one time span for all its "
        "queries), and each call goes out while the history is still being read."
    )
    for name, report in (("CloudWatch", cw), ("PagerDuty", pd)):
        if report.get("detail"):
            add(f"\n{name}'s collector said: {report['detail']}.")
        if report.get("status") == "failed":
            add(f"\n**{name} failed**: {report.get('error')}")
    add(
        f"\nEvents in the draft: {pm['events']:,} ({pm['rows']:,} timeline rows); naive records "
        "read: " + ", ".join(f"{k} {v:,}" for k, v in nv["records"].items()) + "."
    )
    add_scaling(add, api)


def add_scaling(add: Add, api: dict[str, Any]) -> None:
    ms = api["latency_s"] * 1000
    add(f"\n### Scaling (requests and wall time at {ms:.0f} ms a request)\n")
    base = api["scale_base"]
    add(
        f"Base: {base['incidents']} incidents, {base['log_entries']:,} log entries, "
        f"{base['transitions']} transitions of {base['alarms']} alarms a region, "
        f"{base['deploys']} deploys; every count multiplied by the scale. pmdraft in this "
        "interpreter (no start-up); naive requests counted without latency.\n"
    )
    add(
        "| scale | records | lower bound | pmdraft requests | pmdraft wall | naive requests |\n"
        "|---|---|---|---|---|---|"
    )
    for row in api["scaling"]:
        sz = row["size"]
        records = sz["incidents"] + sz["log_entries"] + sz["transitions"] + 2 * sz["alarms"]
        bound = sum(sum(v.values()) for v in row["bounds"].values())
        got = sum(r["requests"] for r in row["pmdraft"]["sources"])
        failed = [r["name"] for r in row["pmdraft"]["sources"] if r["status"] == "failed"]
        note = f" (failed: {', '.join(failed)})" if failed else ""
        naive = sum(
            v for k, v in row["naive"]["requests"].items() if k in ("pagerduty", "cloudwatch")
        )
        add(
            f"| {row['scale']}x | {records:,} | {bound} | {got}{note} | "
            f"{s(row['pmdraft']['wall_s'])} | {naive} |"
        )
