"""`--incident`: the CLI derives the window and the PagerDuty scope from incidents, on the worked example."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def milestones(result) -> dict[str, str | None]:
    data = json.loads(result.stdout)
    return {name: (m["at"] if m else None) for name, m in data["milestones"].items()}


def test_draft_from_an_incident_number_gives_the_window_forms_milestones(
    demo_config: Path, pd
) -> None:
    """`draft --incident 1234` finds the same milestones and durations as the explicit window."""
    by_window = run(
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
    pd.reset_requests()
    by_incident = run(
        "draft", "--incident", "1234", "--config", str(demo_config), "--format", "json"
    )
    assert by_incident.exit_code == 0, by_incident.output
    assert milestones(by_incident) == milestones(by_window)
    assert milestones(by_incident)["resolved"] == "2024-01-15T14:57:00Z"
    data = json.loads(by_incident.stdout)
    assert data["durations"] == json.loads(by_window.stdout)["durations"]
    # created 14:32:40 minus 60 minutes, resolved 14:57 plus 30 minutes
    assert data["window"] == {"since": "2024-01-15T13:32:40Z", "until": "2024-01-15T15:27:00Z"}
    refs = {e["ref"] for e in data["events"] if e["source"] == "pagerduty"}
    assert refs == {"Q1DEMO1234"}
    assert [r.path for r in pd.requests if r.path.startswith("/incidents")] == [
        "/incidents/1234",  # looked up once: the collector is given the record
        "/incidents",  # the window's other incidents, for Concurrent activity
        "/incidents/Q1DEMO1234/log_entries",
        "/incidents",  # the past incidents, for Related Incidents
    ]


def test_an_incident_outside_the_service_filter_is_still_in_scope(demo_config: Path) -> None:
    """An incident named with --incident is drafted even when service_ids would leave it out."""
    result = run("timeline", "--incident", "1235", "--config", str(demo_config), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if ",pagerduty," in line]
    assert [r.split(",")[:4] for r in rows] == [
        ["2024-01-15T14:52:00Z", "pagerduty", "incident.triggered", "Q1DEMO1235"],
        ["2024-01-15T15:05:00Z", "pagerduty", "incident.resolved", "Q1DEMO1235"],
    ]


def test_since_and_until_only_widen_the_incident_window(demo_config: Path) -> None:
    """--since earlier than the derived start moves it; a --until inside the window does not shrink it."""
    result = run(
        "draft",
        "--incident",
        "Q1DEMO1234",
        "--since",
        "2024-01-15T13:00:00Z",
        "--until",
        "2024-01-15T14:40:00Z",
        "--config",
        str(demo_config),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["window"] == {
        "since": "2024-01-15T13:00:00Z",
        "until": "2024-01-15T15:27:00Z",
    }


def test_an_unknown_incident_is_an_error_naming_it(demo_config: Path, tmp_path: Path) -> None:
    """An incident PagerDuty does not know exits 1, names it, and writes nothing."""
    out = tmp_path / "pm.md"
    result = run("draft", "--incident", "999", "--config", str(demo_config), "-o", str(out))
    assert result.exit_code == 1
    assert "Error: PagerDuty has no incident 999 (GET /incidents/999 answered 404)" in result.stderr
    assert not out.exists()


def test_without_window_or_incident_is_a_usage_error(demo_config: Path) -> None:
    """Neither --since/--until nor --incident exits 2 and says which to give."""
    result = run("draft", "--since", SINCE, "--config", str(demo_config))
    assert result.exit_code == 2
    assert (
        "give the window with --since and --until, or start from an incident with --incident ID"
        in result.stderr
    )
