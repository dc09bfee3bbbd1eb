"""Run every benchmark and rewrite docs/benchmarks.md with the machine, versions and figures.

Each benchmark runs in its own interpreter (so peak memory is its own) and prints JSON; a
benchmark that fails is reported in the document with its error, and the others still run.
Figures are counts, or times and their ratios measured in this same run; targets are stated
next to them. Nothing here is asserted: the tests never time anything.

    python bench/run.py            # everything (a few minutes on 2 cores)
    python bench/run.py --quick    # smaller inputs, for trying the scripts out
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from api_report import add_api, summary_rows  # bench/, the script's folder, is on sys.path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DOC = REPO / "docs" / "benchmarks.md"
PACKAGES = (
    "pandas",
    "numpy",
    "boto3",
    "botocore",
    "pagerduty",
    "slack_sdk",
    "moto",
    "click",
    "jinja2",
)

MERGE_EVENTS = 1_000_000
RENDER_EVENTS = 10_000
TARGET_MERGE_S = 5.0
TARGET_MERGE_MB = 1536
TARGET_RENDER_S = 1.0
TARGET_VS_PANDAS = 1.5
"""pmdraft from raw records to milestones, against plain pandas: at most this many times the
time and the peak memory (issue 17)."""


def step(name: str, args: list[str]) -> dict[str, Any]:
    """Run ``python bench/<args>`` and parse its JSON; a failure is kept as ``{"error": ...}``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    took = time.perf_counter() - start
    print(f"bench: {name} took {took:.1f} s", file=sys.stderr, flush=True)
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        return {"error": f"exit {done.returncode}: {tail}", "took_s": took}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["took_s"] = took
    return result


def machine() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "load": "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()),
    }


def s(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def under(target: float, value: float) -> str:
    return (
        f"{target / value:.1f}x under the target"
        if value < target
        else f"{value / target:.1f}x the target"
    )


def spare(mb: float) -> str:
    return (
        f"{TARGET_MERGE_MB - mb:,.0f} MB to spare"
        if mb < TARGET_MERGE_MB
        else f"{mb - TARGET_MERGE_MB:,.0f} MB over"
    )


def verdict(ok: bool, how: str) -> str:
    return f"met ({how})" if ok else f"**not met** ({how})"


def render(
    m: dict[str, str],
    merge: dict[str, Any],
    rend: dict[str, Any],
    start: dict[str, Any],
    api: dict[str, Any],
    total_s: float,
    quick: bool,
    cap: dict[str, Any] | None = None,
    slack: dict[str, Any] | None = None,
    records: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None = None,
) -> str:
    out: list[str] = []
    add = out.append
    add("# Benchmarks\n")
    add(
        "Written by `make bench` (`bench/run.py`); do not edit by hand. Every figure below was "
        "measured in"
    )
    add(
        "the same run: counts, times, and ratios of times taken on this machine minutes apart. "
        "Targets are"
    )
    add("the project's (issue 8); the tests assert request counts but never time anything.")
    if quick:
        add("\n> **Quick run** (`--quick`): smaller inputs than the targets are stated for.")
    add("\n## Machine\n")
    add("| | |\n|---|---|")
    add(f"| date | {m['date']} |\n| CPUs | {m['cpus']} |\n| Python | {m['python']} |")
    add(f"| platform | {m['platform']} |\n| packages | {m['versions']} |")
    add(f"| load average (1, 5, 15 min) | {m['load']} at the start, {m['load_end']} at the end |")
    add(f"| whole run | {total_s:.0f} s |")
    add(
        "\nThe load average counts every runnable process on the machine; above the number of "
        "CPUs, other"
    )
    add(
        "work was competing with the benchmark and its times (not its counts) are longer than on "
        "an idle machine."
    )

    add("\n## Summary\n")
    add("| what | measured | target | |\n|---|---|---|---|")
    if "error" not in merge:
        add(
            f"| merge + dedupe + sort + milestones + timeline rows, {merge['events']:,} events | "
            f"{s(merge['merge_s'])} | < {TARGET_MERGE_S:g} s | "
            f"{verdict(merge['merge_s'] < TARGET_MERGE_S, under(TARGET_MERGE_S, merge['merge_s']))} |"  # noqa: E501
        )
        add(
            "| peak resident memory while merging (events included) | "
            f"{merge['peak_merge_mb']:,.0f} MB | "
            f"< {TARGET_MERGE_MB:,} MB | "
            f"{verdict(merge['peak_merge_mb'] < TARGET_MERGE_MB, spare(merge['peak_merge_mb']))} |"
        )
    else:
        add(
            f"| merge of {MERGE_EVENTS:,} events | **failed**: {merge['error']} | < "
            f"{TARGET_MERGE_S:g} s | |"
        )
    if records is not None and not any("error" in r for r in records[:2]):
        pm, pl, _ = records
        t, m = pm["total_s"] / pl["total_s"], pm["peak_mb"] / pl["peak_mb"]
        add(
            f"| {pm['records']:,} raw records to milestones: pmdraft / plain pandas, time and "
            f"peak memory | {t:.2f}x and {m:.2f}x | <= {TARGET_VS_PANDAS:g}x both | "
            f"{verdict(max(t, m) <= TARGET_VS_PANDAS, 'see Local work')} |"
        )
    if "error" not in rend:
        add(
            f"| Markdown render of a {rend['events']:,}-event draft | {s(rend['markdown_s'])} | < "
            f"{TARGET_RENDER_S:g} s | "
            f"{verdict(rend['markdown_s'] < TARGET_RENDER_S, under(TARGET_RENDER_S, rend['markdown_s']))} |"  # noqa: E501
        )
    else:
        add(f"| Markdown render | **failed**: {rend['error']} | < {TARGET_RENDER_S:g} s | |")
    if "error" not in start:
        heavy = start["heavy_on_help"] + start["heavy_on_draft_help"]
        add(
            f"| `pmdraft --help` / `python -c pass` | {start['help_s'] / start['bare_s']:.1f}x "
            f"({s(start['help_s'])} vs {s(start['bare_s'])}) | no heavy import | "
            f"{verdict(not heavy, 'imports ' + (', '.join(heavy) if heavy else 'none of ' + ', '.join(start_heavy())))} |"  # noqa: E501
        )
    if "error" not in api:
        summary_rows(add, api, verdict)
    else:
        add(f"| API benchmarks | **failed**: {api['error']} | | |")
    if slack is not None and "error" not in slack:
        bound = sum(slack["lower_bound"].values())
        add(
            f"| busy Slack channel ({slack['size']['messages']:,} messages): "
            "requests / lower bound | "
            f"{slack['requests'] / bound:.2f} ({slack['requests']} / {bound}) | close to 1 | "
            "pages, not messages |"
        )

    add("\n## Local work\n")
    if "error" not in merge:
        add(
            f"{merge['events']:,} synthetic events (`bench/synth.py`: 40 % alarm transitions of "
            f"{merge['events'] * 0.4 // 250:,.0f} alarms, 55 % PagerDuty log entries, 5 % "
            "deploys, 1 % exact duplicates),"
        )
        add(
            "delivered source after source as the pipeline gathers them, each alarm's and "
            "incident's events"
        )
        add("together (not in time order). Making them is not part of the timed merge.\n")
        add("| step | time |\n|---|---|")
        add(
            f"| making {merge['events']:,} `Event` objects from raw records (`synth.to_events`, "
            f"validated) | {s(merge['create_s'])} |"
        )
        add(
            f"| `build_frame` (merge, dedupe to {merge['distinct']:,}, sort) | "
            f"{s(merge['frame_s'])} |"
        )
        add(f"| `analyse` (milestones, durations) | {s(merge['analyse_s'])} |")
        add(f"| `build_rows` ({merge['rows']:,} timeline rows) | {s(merge['rows_s'])} |")
        if merge.get("rows_without_flapping_s") is not None:
            add(
                "| (`build_rows` without the flapping-alarm fold, `flap_transitions=0`, one run) "
                "| "
                f"{s(merge['rows_without_flapping_s'])} |"
            )
        add(
            f"| **merge total** (median of {merge['repeats']} runs: "
            f"{', '.join(s(t) for t in merge['merge_runs_s'])}) | **{s(merge['merge_s'])}** |"
        )
        add(
            f"| `frame_events` (the draft's {merge['rebuilt']:,} events back out of the frame) | "
            f"{s(merge['frame_events_s'])} |"
        )
        add(
            f"\nResident memory: {merge['rss_before_merge_mb']:,.0f} MB with the events made, "
            f"{merge['peak_merge_mb']:,.0f} MB at the merge's peak, {merge['peak_mb']:,.0f} MB "
            "after `frame_events` "
            "(`ru_maxrss`). The events themselves are most of it."
        )
        add(
            f"Making the events takes {merge['create_s'] / merge['merge_s']:.1f}x as long as "
            "merging them: past this point the"
        )
        add(
            "cost is Python objects (one `Event`, its `Attrs` and their values per event), not "
            "pandas."
        )
    if records is not None:
        add_records(add, *records)
    if "error" not in rend:
        add(
            f"\nRendering: {rend['events']:,} events over one 8-hour day "
            f"({rend['json_events']:,} distinct) give {rend['rows']:,} timeline rows: "
            f"{rend['collapsed_lines']} collapsed "
            f"bursts, {rend.get('flapping_lines', 0)} flapping-alarm lines (one per alarm and 10 "
            "minutes), the rest one "
            f"event each; the draft has {rend['markdown_lines']:,} lines.\n"
        )
        add("| step | time |\n|---|---|")
        add(
            f"| `build_draft` | {s(rend['draft_s'])} |\n| `render_markdown` (median of 3) | "
            f"{s(rend['markdown_s'])} |"
        )
        add(f"| `render_json` (all {rend['json_events']:,} events) | {s(rend['json_s'])} |")

    add("\n## Start-up\n")
    if "error" not in start:
        add(
            f"Median of {start['runs']} fresh interpreters each, timed from outside (fork, exec, "
            "imports, help, exit).\n"
        )
        add("| command | time | / `python -c pass` |\n|---|---|---|")
        for label, key in (
            ("`python -c pass`", "bare_s"),
            ("`pmdraft --help`", "help_s"),
            ("`pmdraft draft --help`", "draft_help_s"),
            ("`python -c 'import pandas'`", "import_pandas_s"),
        ):
            add(f"| {label} | {s(start[key])} | {start[key] / start['bare_s']:.1f}x |")
        add(
            f"\nHeavy modules imported by `--help`: {start['heavy_on_help'] or 'none'}; by `draft "
            "--help`: "
            f"{start['heavy_on_draft_help'] or 'none'} (checked: {', '.join(start_heavy())})."
        )
    else:
        add(f"**failed**: {start['error']}")

    add("\n## API calls\n")
    if "error" in api:
        add(f"**failed**: {api['error']}")
    else:
        add_api(add, api)
    if cap is not None:
        add_cap(add, cap)
    if slack is not None:
        add_slack(add, slack)
    add("")
    return "\n".join(out)


def add_records(add: Any, pm: dict[str, Any], pl: dict[str, Any], layouts: dict[str, Any]) -> None:
    """Local work: raw records to milestones, pmdraft against plain pandas (``bench/plain.py``),
    and the event attrs layouts that were measured to choose how events hold their facts."""
    add("\n### From raw records to milestones, against plain pandas\n")
    if "error" in pm or "error" in pl:
        add(f"**failed**: {pm.get('error') or pl.get('error')}")
        return
    same = "yes" if pm["milestones"] == pl["milestones"] else "**no**"
    add(
        f"{pm['records']:,} raw records (`synth.records`: flat dicts with the time as ISO 8601 "
        "text, plus each incident's and alarm's facts read once, keyed by ref; 1 % exact copies) "
        "are built the same way in two fresh interpreters, then turned into the milestones "
        "impact started, detected, paged, acknowledged, mitigated and resolved. **pmdraft**: "
        "records -> `Event`s as a collector makes them (`synth.to_events`: time parsed, each "
        "object's facts one shared `Attrs`; the garbage collector paused, as `make_draft` has "
        "it while the sources are read) -> `build_frame` -> `analyse`, which also writes "
        "the notes and ranks suspect deploys. **Plain pandas** (`bench/plain.py`): "
        "`DataFrame(records)`, `to_datetime`, `drop_duplicates()`, a stable sort by (at, "
        "source, kind, ref), then masks and `groupby` for the same six milestones (no notes, "
        f"suspects or rollback). Same milestones: {same}; distinct records: "
        f"{pm['distinct']:,} and {pl['distinct']:,}. Peak memory is each interpreter's "
        "`ru_maxrss`, so it includes the records both hold.\n"
    )
    add("| | time | peak memory | peak over the records alone |\n|---|---|---|---|")
    steps = ", ".join(
        f"{name} {s(pm[key])}"
        for name, key in (
            ("events", "events_s"),
            ("`build_frame`", "frame_s"),
            ("`analyse`", "analyse_s"),
        )
    )
    for label, r, detail in (("pmdraft", pm, f" ({steps})"), ("plain pandas", pl, "")):
        add(
            f"| {label} | {s(r['total_s'])}{detail} | {r['peak_mb']:,.0f} MB | "
            f"+{r['peak_mb'] - r['records_mb']:,.0f} MB |"
        )
    t, m = pm["total_s"] / pl["total_s"], pm["peak_mb"] / pl["peak_mb"]
    over = (pm["peak_mb"] - pm["records_mb"]) / (pl["peak_mb"] - pl["records_mb"])
    add(
        f"| **pmdraft / plain pandas** | **{t:.2f}x** | **{m:.2f}x** | {over:.2f}x |\n\n"
        f"Goal: within {TARGET_VS_PANDAS:g}x on both: "
        f"{'met' if max(t, m) <= TARGET_VS_PANDAS else '**not met**'}. Load average (1, 5, 15 "
        "min) when each finished: pmdraft "
        + " ".join(f"{x:.1f}" for x in pm["load"])
        + ", plain pandas "
        + " ".join(f"{x:.1f}" for x in pl["load"])
        + ". The records alone took "
        f"{pm['records_mb']:,.0f} MB."
    )
    add_layouts(add, layouts)


LAYOUT_NAMES = {
    "proxy_dict": "the checked dict",
    "attrs_copied": "`Attrs` with the facts copied",
    "attrs_shared": "`Attrs` sharing the facts",
}


def add_layouts(add: Any, lay: dict[str, Any]) -> None:
    """How events hold their ``attrs``: the three layouts measured, and why the shared one."""
    add("\n### How events hold their facts\n")
    if "error" in lay:
        add(f"**failed**: {lay['error']}")
        return
    add(
        f"The `attrs` of {lay['events']:,} of the same records, held three ways, one after "
        "the other in one interpreter (resident memory added per event, and time to make each, "
        "checks included):\n"
    )
    add("| layout | bytes per event | time per event |\n|---|---|---|")
    for label, key in (
        ("a checked, read-only dict per event (what `Event` held before)", "proxy_dict"),
        ("`Attrs`, the object's facts copied into each", "attrs_copied"),
        ("`Attrs` sharing the object's facts (`Attrs(own, base=facts)`)", "attrs_shared"),
    ):
        add(f"| {label} | {lay[key + '_bytes']:,.0f} | {lay[key + '_us']:.2f} us |")
    quickest = min(("proxy_dict", "attrs_copied", "attrs_shared"), key=lambda k: lay[k + "_us"])
    add(
        "\nChosen: `Attrs` (keys kept once per layout, a tuple of values per event) with the "
        "per-incident and per-alarm facts kept once as a shared base: the smallest by far "
        f"({lay['attrs_shared_bytes']:,.0f} B against {lay['proxy_dict_bytes']:,.0f} B), "
        f"and in this run the quickest to make was {LAYOUT_NAMES[quickest]}. It "
        "keeps `Event`'s constructor, its attributes, `to_record` and equality as they were, "
        "so no collector has to change (a dict given to `Event` is compacted; a collector "
        "that makes one `Attrs` per object also shares the facts). Column batches from the "
        "collectors would change every collector and `Collector.collect`'s contract for what "
        "is left: past the attrs, an event is its `Event`, its `datetime` and its strings, and "
        "the time is Python making objects (`Event()` is written out: one type check per "
        "field, slots set directly), not checks that a per-page validation could skip: "
        f"`Event(...)` takes {lay['event_us']:.2f} us, the same object made with no check at "
        f"all {lay['unchecked_us']:.2f} us."
    )


def add_cap(add: Any, cap: dict[str, Any]) -> None:
    """PagerDuty past its 10,000-record cap: requests next to their lower bound (issue 3)."""
    add("\n### PagerDuty past the 10,000-record cap\n")
    if "error" in cap:
        add(f"**failed**: {cap['error']}")
        return
    whole = cap["records"] == cap["distinct"] == cap["expected"]
    add(
        "One day holding 25,000 log entries of 50 incidents (`bench/window25k.py`), read by the "
        "collector alone.\n"
    )
    add(
        "| log entries read | distinct | requests | lower bound ceil(25,000/100) + ceil(50/100) | "
        "over the bound |"
    )
    add("|---|---|---|---|---|")
    over = cap["requests"] - cap["lower_bound"]
    add(
        f"| {cap['records']:,} | {cap['distinct']:,} | {cap['requests']} | {cap['lower_bound']} | "
        f"{over} ({100 * over / cap['lower_bound']:.1f} %) |"
    )
    add(
        f"\n{'Every entry came back exactly once.' if whole else '**Entries were lost or repeated.**'} "  # noqa: E501
        f"The collector said: {cap['detail']}."
    )


def add_slack(add: Any, slack: dict[str, Any]) -> None:
    """The Slack source on a busy incident channel: requests by method beside the lower bound."""
    add("\n### Slack: a busy incident channel\n")
    if "error" in slack:
        add(f"**failed**: {slack['error']}")
        return
    size, bound, got = slack["size"], slack["lower_bound"], slack["by_method"]
    add(
        f"One channel holding {size['messages']:,} top-level messages, {size['threads']} of them "
        f"threads of {size['replies']} replies, by {size['people']} people, read at "
        f"`page_size = {size['page_size']}`"
    )
    add(
        "by the Slack collector alone (`bench/slack.py`: the Slack stand-in, slack_sdk's own "
        "`WebClient`)."
    )
    add(
        "The lower bound: ceil(messages / page) history pages, one replies page set per thread, one"
    )
    add("`auth.test`, one `pins.list` per channel and one `users.info` per person.\n")
    add("| method | lower bound | pmdraft |\n|---|---|---|")
    for method in sorted(set(bound) | set(got)):
        add(f"| `{method}` | {bound.get(method, 0)} | {got.get(method, 0)} |")
    add(f"| **total** | **{sum(bound.values())}** | **{slack['requests']}** |")
    extra = got.get("conversations.info", 0)
    add(
        f"\n{slack['events']:,} messages became events "
        f"({slack['detail'] or 'a plain read: nothing clipped, nothing to note'}). "
        + (
            f"Above the bound: {extra} `conversations.info`, the channel's name for a channel "
            "configured by id (a channel found by `--incident` has its name from the listing). "
            if extra
            else ""
        )
        + f"Reading took {s(slack['wall_s'])} with no added latency, the stand-in in the same "
        "process."
    )


def start_heavy() -> tuple[str, ...]:
    sys.path.insert(0, str(BENCH))
    from startup import HEAVY

    return HEAVY


def graphs_table(g: dict[str, Any]) -> str:
    """The graphs section (``bench/graphs.py``): a month, 200 alarms all with data."""
    if "error" in g:
        return f"\n## Graphs\n\n**failed**: {g['error']}\n"
    return (
        f"\n## Graphs\n\nA 30-day window, {g['alarms']} alarms all with data ("
        f"{g['points']:,} points "
        f"each at the {g['period_s']} s period the window gives), {g['deploys']} deploys "
        f"(`bench/graphs.py`), drawn as `pmdraft draft -o` does.\n\n"
        "| figures | total graph time | per alarm figure (median) | overview | deploy markers |\n"
        "|---|---|---|---|---|\n"
        f"| {g['figures']} | {s(g['total_s'])} | {s(g['figure_median_s'])} | {s(g['overview_s'])} "
        f"| {g['near_deploys']} of {g['deploys']} (near the impact) |\n"
        "\nTotal graph time is drawing in this process, importing matplotlib included; the alarm "
        "figures are drawn together on one canvas, so each one's time is their time shared out. "
        + _background(g.get("background"))
    )


def _background(b: dict[str, Any] | None) -> str:
    """How ``pmdraft draft -o`` draws them: in a second process started before the sources are
    read, the PNGs drawn while the draft is written (median of 3 rounds)."""
    if not b:
        return "\n"
    return (
        "`pmdraft draft -o` draws them in a second process started before the sources are read "
        "(matplotlib imported meanwhile) and writes the draft while it draws (median of 3 rounds): "
        f"planning and sending the figures {s(b['send_s'])}, the process drawing them "
        f"{s(b['drawing_wall_s'])} (its CPU, import included: {s(b['process_cpu_s'])}), "
        f"Markdown and JSON written meanwhile in {s(b['render_s'])}; the graphs added "
        f"**{s(b['added_wall_s'])}** of wall time to writing the draft.\n"
    )


def batch_table(b: dict[str, Any]) -> str:
    """The batch section (``bench/batch.py``): requests against the lower bound, wall time."""
    if "error" in b:
        return f"\n## Batch\n\n**failed**: {b['error']}\n"
    lines = [
        "\n## Batch\n",
        "`pmdraft batch` over incidents 45 minutes apart, "
        f"{b['latency_s'] * 1000:.0f} ms a request (`bench/batch.py`: the lower bound is "
        "defined there; goal: within 1.2 x bound + 5). "
        "Each draft's reads are cut from one read per run or merged span; drafting each "
        f"incident alone is shown for comparison. Load at the end: {b['load']}.\n",
        "| incidents | requests (PagerDuty + CloudWatch) | lower bound | goal met | wall | "
        "drafting each alone |",
        "|---|---|---|---|---|---|",
    ]
    for r in b["runs"]:
        sh, alone = r["shared"], r.get("alone")
        lines.append(
            f"| {r['incidents']} | {sh['requests']} ({sh['pagerduty']} + {sh['cloudwatch']}) | "
            f"{r['bound']['total']} ({r['bound']['log_spans']} merged span(s)) | "
            f"{'yes' if r['within_goal'] else 'no'} | {s(sh['wall_s'])} | "
            + (f"{alone['requests']} requests, {s(alone['wall_s'])}" if alone else "not run")
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    m = machine()
    merge = step("merge", ["local.py", "merge", str(MERGE_EVENTS // (10 if quick else 1))])
    rend = step("render", ["local.py", "render", str(RENDER_EVENTS)])
    n = str(MERGE_EVENTS // (10 if quick else 1))
    records = (
        step("pmdraft", ["local.py", "pmdraft", n]),
        step("plain", ["local.py", "plain", n]),
        step("attrs", ["local.py", "attrs", str(int(n) * 3 // 10)]),
    )
    start = step("start-up", ["startup.py"])
    api = step("api", ["api.py", *(["--quick"] if quick else [])])
    cap = step("window-25k", ["window25k.py"])
    slack = step("slack", ["slack.py", *(["--quick"] if quick else [])])
    drawn = step("graphs", ["graphs.py"])
    batched = step("batch", ["batch.py", *(["--quick"] if quick else [])])
    total = time.perf_counter() - started
    m["load_end"] = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = render(m, merge, rend, start, api, total, quick, cap, slack, records)
    text += graphs_table(drawn)
    text += batch_table(batched)
    DOC.write_text(text, encoding="utf-8")
    print(f"bench: wrote {DOC.relative_to(REPO)} in {total:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
