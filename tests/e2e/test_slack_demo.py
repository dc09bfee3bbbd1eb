"""The demo incident's Slack channel: its pinned decision is a timeline row, every person's message
is in the Communication Log beside the PagerDuty notes, and joins and bots are left out."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli


def test_the_pinned_decision_is_a_timeline_row_and_messages_fill_the_communication_log(
    tmp_path: Path,
) -> None:
    """`pmdraft demo`: 2 Slack rows in the timeline, 6 messages merged with 3 notes in time order."""
    out = tmp_path / "d.md"
    result = CliRunner().invoke(cli, ["demo", "-q", "--no-graphs", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    timeline = text.split("## Timeline", 1)[1].split("\n## ", 1)[0]
    slack_rows = [line for line in timeline.splitlines() if "#inc-1234-api-errors" in line]
    assert slack_rows == [
        "| 14:42:10 | #inc-1234-api-errors Jane Doe: Decision: rolling back api to v2.3.3 "
        "(https://acme.slack.com/archives/C0DEMO1234/p1705329730000000) |",
        "| 14:50:30 | #inc-1234-api-errors John Smith: Error rate back under the threshold & "
        "latency normal, watching (https://acme.slack.com/archives/C0DEMO1234/p1705330230000000) |",
    ]
    section = text.split("### Communication Log\n", 1)[1].split("\n### ", 1)[0]
    log = [line for line in section.splitlines() if line.startswith("- ")]
    assert [line.split(" UTC, ")[0] for line in log] == [
        "- 2024-01-15 14:34:02",
        "- 2024-01-15 14:36:45",
        "- 2024-01-15 14:38:00",
        "- 2024-01-15 14:38:20",
        "- 2024-01-15 14:40:00",
        "- 2024-01-15 14:42:10",
        "- 2024-01-15 14:43:00",
        "- 2024-01-15 14:50:30",
        "- 2024-01-15 14:57:30",
    ]
    assert (
        "John Smith in #inc-1234-api-errors: Joining. v2.3.4 went out at 14:15; @Jane Doe want me "
        "to check the pool settings?" in log[1]
    )
    assert "Jane Doe on PagerDuty #1234: Identified: database connection pool at 100%" in log[2]
    assert "has joined" not in text and "Rollback of api to v2.3.3 started" not in text
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    chat = [e for e in data["events"] if e["kind"] == "chat.message"]
    assert len(chat) == 6 and {e["source"] for e in chat} == {"slack"}
    slack = next(s for s in data["sources"] if s["name"] == "slack")
    assert (slack["status"], slack["events"], slack["requests"]) == ("ok", 6, 6)
