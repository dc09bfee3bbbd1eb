"""The CLI end to end on the template's worked example, against moto and the PagerDuty stand-in."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"


def impatient(config: Path) -> Path:
    """The same config with one retry per request, so a failing source fails fast."""
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[pagerduty]\n", "[pagerduty]\nmax_retries = 1\n"
        ),
        encoding="utf-8",
    )
    return config


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_json_has_every_milestone_and_duration_of_the_worked_example(demo_config: Path) -> None:
    """The JSON draft gives the worked example's milestones, each with its rule, and exact durations."""
    result = run(
        "draft",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(demo_config),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "pmdraft/draft-2"
    assert data["window"] == {"since": SINCE, "until": UNTIL}
    at = {name: (m["at"] if m else None) for name, m in data["milestones"].items()}
    assert at == {
        "impact_started": "2024-01-15T14:32:00Z",
        "detected": "2024-01-15T14:32:25Z",
        "paged": "2024-01-15T14:33:05Z",
        "acknowledged": "2024-01-15T14:35:10Z",
        "mitigated": "2024-01-15T14:50:00Z",
        "resolved": "2024-01-15T14:57:00Z",
        "suspect_change": "2024-01-15T14:15:00Z",
    }
    assert data["milestones"]["suspect_change"]["ref"] == "dep-1001"
    assert data["milestones"]["resolved"]["ref"] == "Q1DEMO1234"
    assert "earliest evaluated datapoint" in data["milestones"]["impact_started"]["rule"]
    assert data["durations"] == {
        "time_to_detect": 25,
        "time_to_acknowledge": 125,
        "time_to_mitigate": 18 * 60,
        "time_to_resolve": 25 * 60,
        "change_to_detect": 17 * 60 + 25,
    }
    sources = {s["name"]: s for s in data["sources"]}
    assert {n: s["status"] for n, s in sources.items()} == {
        "cloudwatch": "ok",
        "pagerduty": "ok",
        "pagerduty:change_events": "ok",
        "deploys:deploys.jsonl": "ok",
        "slack": "not_configured",
    }
    assert sources["cloudwatch"]["events"] == 6
    assert sources["pagerduty"]["events"] == 11  # the web incident's two entries are out of scope
    linked = [e for e in data["events"] if e["attrs"].get("correlation")]
    assert [(e["at"], e["kind"], e["attrs"]["correlation"]) for e in linked] == [
        ("2024-01-15T14:32:25Z", "alarm.alarm", "Q1DEMO1234/HighErrorRate"),
        ("2024-01-15T14:32:40Z", "incident.triggered", "Q1DEMO1234/HighErrorRate"),
    ]
    assert all(e["at"].endswith("Z") for e in data["events"])
    assert [e["at"] for e in data["events"]] == sorted(e["at"] for e in data["events"])
    assert not any(e["service"] == "web" and e["source"] == "pagerduty" for e in data["events"])


def test_markdown_tells_the_worked_example_story(demo_config: Path, tmp_path: Path) -> None:
    """The Markdown draft shows the deploy, alarm, page, ack, mitigation and resolution lines."""
    out = tmp_path / "pm.md"
    result = run(
        "draft", "--since", SINCE, "--until", UNTIL, "--config", str(demo_config), "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert md.startswith('# Postmortem: ALARM: "HighErrorRate" in US East (N. Virginia)\n')
    assert "**Status:** Draft" in md
    assert "**Severity:** P1, high urgency (from PagerDuty)" in md
    assert "the incident lasted 25 minutes (14:32 - 14:57 UTC, impact start to resolved)" in md
    assert "- Duration: 25 minutes (14:32 - 14:57 UTC" in md
    assert "| 14:15:00 | Deploy: v2.3.4 deployed to production (api)" in md
    assert (
        "| 14:32:25 | CloudWatch alarm HighErrorRate: OK -> ALARM -> paged on-call (PagerDuty #1234, triggered "
        "14:32:40) (Threshold Crossed: 2 out of the last 3 datapoints"
    ) in md
    assert "_[impact_started, detected]_ |" in md
    assert "| 14:32:40 |" not in md, "the page HighErrorRate caused shares the alarm's line"
    assert "| 14:33:05 | PagerDuty #1234: paged Jane Doe (" in md
    assert "| 14:35:10 | PagerDuty #1234 acknowledged by Jane Doe _[acknowledged]_ |" in md
    assert "| 14:50:00 | CloudWatch alarm HighErrorRate: ALARM -> OK _[mitigated]_ |" in md
    assert "| 14:57:00 | PagerDuty #1234 resolved by Jane Doe _[resolved]_ |" in md
    assert "17 minutes after deploy v2.3.4 (change_to_detect = 1045 s)" in md
    assert "Lead, not a verdict: **v2.3.4 deployed to production (api)" in md
    assert (
        "- 2024-01-15 14:38:00 UTC, Jane Doe on PagerDuty #1234: Identified: database connection pool at 100%"
        in md
    )
    assert "HighErrorRate recovered at 2024-01-15T14:41:00Z but went back to ALARM (not used)" in md
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Summary",
        "## Impact",
        "## Timeline (All times UTC)",
        "## Root Cause",
        "## Contributing Factors",
        "## What Went Well",
        "## What Went Wrong",
        "## Action Items",
        "## Lessons Learned",
        "## Related Incidents",
        "## Prevention",
        "## Appendix",
    ]
    timeline = md.split("## Timeline", 1)[1].split("## Root Cause", 1)[0]
    assert timeline.count("| 14:33:0") == 1, "the notification burst is one line"
    assert "Data gaps" not in md


def test_demo_command_writes_the_draft_and_prints_its_path(tmp_path: Path) -> None:
    """`pmdraft demo` needs no credentials, writes the Markdown and JSON, and prints both paths."""
    out = tmp_path / "demo.md"
    result = run("demo", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(out), str(out.with_suffix(".json"))]
    md = out.read_text(encoding="utf-8")
    assert "the incident lasted 25 minutes (14:32 - 14:57 UTC, impact start to resolved)" in md
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["durations"]["time_to_resolve"] == 1500


def test_timeline_command_lists_every_event_as_csv(demo_config: Path) -> None:
    """`pmdraft timeline --format csv` gives one sorted row per event from all three sources."""
    result = run(
        "timeline",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(demo_config),
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "at,source,kind,ref,summary,service,actor,url,text"
    assert len(lines) == 1 + 6 + 11 + 5
    assert lines[1].startswith("2024-01-15T14:12:30Z,deploys,deploy.started,dep-1001,")
    assert lines[-1].startswith("2024-01-15T14:57:00Z,pagerduty,incident.resolved,Q1DEMO1234,")


def test_timeline_table_says_notes_as_the_draft_does_and_shows_local_time(
    demo_config: Path,
) -> None:
    """`pmdraft timeline --tz Europe/Berlin`: each row in UTC and CET, a note with its text."""
    args = ["timeline", "--since", SINCE, "--until", UNTIL, "--config", str(demo_config)]
    result = run(*args, "--tz", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "LOCAL", "SOURCE", "KIND", "WHAT"]
    [note] = [line for line in lines if line.startswith("2024-01-15T14:38:00Z")]
    assert note.split()[1:4] == ["2024-01-15", "15:38:00", "CET"]
    assert note.endswith(
        "PagerDuty #1234 note by Jane Doe: Identified: database connection pool at 100%"
    )


def test_a_failing_source_is_a_named_gap_and_exit_code_3(
    demo_config: Path, pd, tmp_path: Path
) -> None:
    """When PagerDuty keeps failing, the draft is still written, names the gap, and exits 3."""
    pd.inject("/incidents", 503, times=10)
    out = tmp_path / "pm.md"
    result = run(
        "draft",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(impatient(demo_config)),
        "-o",
        str(out),
    )
    assert result.exit_code == 3, result.output
    md = out.read_text(encoding="utf-8")
    assert "> **Data gaps:**" in md
    assert "> - **PagerDuty incidents and log entries**: GET /incidents failed: 503" in md
    assert "| 14:32:25 | CloudWatch alarm HighErrorRate: OK -> ALARM" in md, (
        "the other sources still count"
    )
    assert "pmdraft: data gap: pagerduty failed: GET /incidents failed: 503" in result.stderr


def test_strict_makes_a_failing_source_fatal_and_writes_nothing(
    demo_config: Path, pd, tmp_path: Path
) -> None:
    """With --strict a failed source exits 1 and leaves no file behind."""
    pd.inject("/incidents", 503, times=10)
    out = tmp_path / "pm.md"
    result = run(
        "draft",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(impatient(demo_config)),
        "-o",
        str(out),
        "--strict",
    )
    assert result.exit_code == 1
    assert "--strict: a source failed, so no draft was written" in result.stderr
    assert not out.exists()
    assert list(tmp_path.glob(".pm.md.*")) == []


def test_overrides_replace_milestones_and_say_so(demo_config: Path) -> None:
    """--impact-start sets the milestone, names the flag as its rule, and moves the durations."""
    result = run(
        "draft",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--config",
        str(demo_config),
        "--format",
        "json",
        "--impact-start",
        "2024-01-15T14:30:00Z",
    )
    data = json.loads(result.stdout)
    assert data["milestones"]["impact_started"] == {
        "at": "2024-01-15T14:30:00Z",
        "rule": "set by --impact-start",
        "ref": None,
    }
    assert data["durations"]["time_to_resolve"] == 27 * 60
    assert data["durations"]["time_to_detect"] == 2 * 60 + 25
