"""PagerDuty in depth, end to end on the demo incident: one line per signal, the incident's people,
related incidents and change events, as a reader sees them in the Markdown and a tool in the JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox.pagerduty import change_event, incident

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"


def draft(config: Path, fmt: str = "markdown") -> str:
    result = CliRunner().invoke(
        cli,
        ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(config), "--format", fmt],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def section(md: str, heading: str) -> list[str]:
    """The lines of one section, from its heading to the next heading of the same or a higher level."""
    lines = md.splitlines()
    start = lines.index(heading)
    level = heading.split(" ")[0]
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i].split(" ")[0]) <= len(level)
        ),
        len(lines),
    )
    return lines[start + 1 : end]


def test_the_alarm_and_the_page_it_caused_are_one_timeline_line_and_share_a_correlation(
    demo_config: Path,
) -> None:
    """HighErrorRate's ALARM and PagerDuty #1234's trigger read as one line naming both; the JSON keeps both, linked."""
    md = draft(demo_config)
    timeline = [
        line for line in section(md, "## Timeline (All times UTC)") if "HighErrorRate" in line
    ]
    assert timeline[0].startswith(
        "| 14:32:25 | CloudWatch alarm HighErrorRate: OK -> ALARM -> paged on-call (PagerDuty #1234, triggered 14:32:40) "
        "(Threshold Crossed: 2 out of the last 3 datapoints"
    )
    assert timeline[0].endswith("_[impact_started, detected]_ |")
    assert not any(
        line.startswith("| 14:32:40 |") for line in section(md, "## Timeline (All times UTC)")
    )
    # The second firing at 14:42:30 paged nobody new: it keeps its own plain line.
    assert "| 14:42:30 | CloudWatch alarm HighErrorRate: OK -> ALARM (Threshold" in md

    data = json.loads(draft(demo_config, "json"))
    linked = {
        (e["source"], e["kind"], e["at"]): e["attrs"]
        for e in data["events"]
        if "correlation" in e["attrs"]
    }
    assert set(linked) == {
        ("cloudwatch", "alarm.alarm", "2024-01-15T14:32:25Z"),
        ("pagerduty", "incident.triggered", "2024-01-15T14:32:40Z"),
    }
    assert {a["correlation"] for a in linked.values()} == {"Q1DEMO1234/HighErrorRate"}
    assert {a["correlated_by"] for a in linked.values()} == {"incident key"}
    assert data["milestones"]["detected"]["at"] == "2024-01-15T14:32:25Z"


def test_the_draft_names_the_incidents_people_and_each_responders_time_to_acknowledge(
    demo_config: Path,
) -> None:
    """The Incident table shows priority, urgency, service, policy, assignees and acknowledgers; Responders times each ack."""
    md = draft(demo_config)
    assert (
        "| [#1234](https://sandbox.pagerduty.com/incidents/Q1DEMO1234) | P1 | high | api | API on-call | "
        "Jane Doe, John Smith | Jane Doe |"
    ) in md
    assert md.index("| PagerDuty incident | Priority |") < md.index("## Summary")
    responders = section(md, "### Responders")
    assert "| #1234 | Jane Doe | 14:33:05 | 14:35:10 | 2 minutes (125 s) |" in responders
    assert "| #1234 | John Smith | 14:36:32 | paged; Jane Doe acknowledged | n/a |" in responders


def test_related_incidents_lists_past_incidents_of_the_service_most_similar_first(
    demo_config: Path,
) -> None:
    """Two past api incidents are listed with date, link, title and duration, the alike title first; JSON 'related' too."""
    md = draft(demo_config)
    rows = [line for line in section(md, "## Related Incidents") if line.startswith("| 20")]
    assert rows == [
        (
            '| 2024-01-02 | [#1180](https://sandbox.pagerduty.com/incidents/Q1DEMO1180) | ALARM: "HighErrorRate" in US East '
            "(N. Virginia) | 40 minutes | same service (api); title 100% alike |"
        ),
        (
            "| 2023-11-20 | [#1102](https://sandbox.pagerduty.com/incidents/Q1DEMO1102) | API database connection pool "
            "exhausted | 1 hour 5 minutes | same service (api) |"
        ),
    ]
    assert "the 90 days before" in md
    data = json.loads(draft(demo_config, "json"))
    assert [
        (r["number"], r["created_at"], r["duration_seconds"], r["same_service"])
        for r in data["related"]
    ] == [
        (1180, "2024-01-02T09:10:00Z", 2400, True),
        (1102, "2023-11-20T22:05:00Z", 3900, True),
    ]
    assert {
        "schema",
        "window",
        "sources",
        "events",
        "milestones",
        "durations",
        "notes",
        "suspects",
    } <= set(data)


def test_a_similar_title_on_another_service_is_related_and_the_list_stops_at_five(
    demo_config: Path, pd
) -> None:
    """Without a service filter, a look-alike on another service is listed, a stranger is not, and at most 5 show."""
    demo_config.write_text(
        demo_config.read_text(encoding="utf-8").replace('service_ids = ["PSVC001"]\n', ""),
        encoding="utf-8",
    )
    pd.add_incidents(
        [
            incident(
                id=f"QOLD{n}",
                number=900 + n,
                title="High error rate on checkout",
                service_id="PSVC009",
                service_name="checkout",
                created_at=datetime(2023, 12, 1 + n, 8, tzinfo=UTC),
                resolved_at=datetime(2023, 12, 1 + n, 9, tzinfo=UTC),
            )
            for n in range(6)
        ]
        + [
            incident(
                id="QOLD99",
                number=999,
                title="Disk full on batch host",
                service_id="PSVC009",
                service_name="checkout",
                created_at=datetime(2023, 12, 20, tzinfo=UTC),
            )
        ]
    )
    data = json.loads(draft(demo_config, "json"))
    # The window now also holds the web incident #1235, so web's past incident is on "the same service" too.
    assert [(r["number"], r["reasons"]) for r in data["related"]] == [
        (1180, "same service (api); title 100% alike"),
        (1150, "same service (web); title 33% alike"),
        (1102, "same service (api)"),
        (905, "title 43% alike"),
        (904, "title 43% alike"),
    ]


def test_pagerduty_change_events_are_deploys_in_the_timeline_and_the_json(
    demo_config: Path, pd
) -> None:
    """A change event sent to PagerDuty shows as a deploy line and a deploy.* event with source pagerduty."""
    pd.add_change_events(
        [
            change_event(
                id="PCHG001",
                summary="Feature flag profile-cache enabled at 100%",
                timestamp=datetime(2024, 1, 15, 14, 25, tzinfo=UTC),
                service=("PSVC001", "api"),
                custom_details={"version": "flag-42", "environment": "production"},
                link="https://flags.example.com/profile-cache",
            ),
            change_event(
                id="PCHG002",
                summary="web CDN config pushed",
                timestamp=datetime(2024, 1, 15, 14, 26, tzinfo=UTC),
                service=("PSVC002", "web"),
            ),
        ]
    )
    md = draft(demo_config)
    assert (
        "| 14:25:00 | Deploy (PagerDuty change event): Feature flag profile-cache enabled at 100% (api) |"
        in section(md, "## Timeline (All times UTC)")
    )
    assert "web CDN config pushed" not in md, (
        "the demo's service filter applies to change events too"
    )
    data = json.loads(draft(demo_config, "json"))
    [change] = [e for e in data["events"] if e["ref"] == "PCHG001"]
    assert (change["source"], change["kind"], change["service"], change["url"]) == (
        "pagerduty",
        "deploy.succeeded",
        "api",
        "https://flags.example.com/profile-cache",
    )
    assert change["attrs"]["version"] == "flag-42"
    assert any(lead["ref"] == "PCHG001" for lead in data["suspects"]["leads"])
    assert data["milestones"]["resolved"]["at"] == "2024-01-15T14:57:00Z", (
        "a change event is no incident"
    )


def test_change_events_can_be_turned_off(demo_config: Path, pd) -> None:
    """With change_events = false no GET /change_events is made and no change shows."""
    demo_config.write_text(
        demo_config.read_text(encoding="utf-8").replace(
            "[pagerduty]\n", "[pagerduty]\nchange_events = false\n"
        ),
        encoding="utf-8",
    )
    pd.add_change_events(
        [
            change_event(
                id="PCHG001",
                summary="Feature flag flipped",
                service=("PSVC001", "api"),
                timestamp=datetime(2024, 1, 15, 14, 25, tzinfo=UTC),
            )
        ]
    )
    md = draft(demo_config)
    assert "Feature flag flipped" not in md
    assert not [r for r in pd.requests if r.path == "/change_events"]


def test_the_html_draft_shows_the_incident_related_incidents_and_responders(
    demo_config: Path,
) -> None:
    """The HTML page carries the same Incident, Related Incidents and Responders rows, escaped and linked."""
    page = draft(demo_config, "html")
    assert (
        '<tr class="incident-row"><td>#1234</td><td>P1</td><td>high</td><td>api</td><td>API on-call</td>'
        "<td>Jane Doe, John Smith</td><td>Jane Doe</td></tr>"
    ) in page
    assert (
        '<td><a href="https://sandbox.pagerduty.com/incidents/Q1DEMO1180">#1180</a></td>'
        "<td>ALARM: &#34;HighErrorRate&#34; in US East (N. Virginia)</td><td>40 minutes</td>"
    ) in page
    assert (
        '<tr class="responder-row"><td>#1234</td><td>Jane Doe</td><td>14:33:05</td><td>14:35:10</td>'
        "<td>2 minutes (125 s)</td></tr>"
    ) in page
