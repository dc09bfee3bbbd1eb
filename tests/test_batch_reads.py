"""`pmdraft batch` reads once per run and cuts each draft from those reads: the drafts say exactly
what drafting each incident alone says, and a failed shared read is named in every draft it
touches."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

from pmdraft.batch import Batch, open_sink, open_state
from pmdraft.config import load_config
from pmdraft.render import render_markdown
from pmdraft.sandbox import aws
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, change_event, incident, log_entry

from .conftest import TOKEN
from .test_batch import NOW

ENV = {"PAGERDUTY_API_TOKEN": TOKEN}
REGION = "us-east-1"

# A and B overlap (B starts while A is open), C is six hours later: two merged spans.
STARTS = {"QA1": (101, -10 * 60, 40), "QA2": (102, -9 * 60 - 30, 50), "QA3": (103, -3 * 60, 30)}
"""Incident id -> (number, minutes from NOW it was created, minutes it lasted)."""


def seed(pd: PagerDutyStandIn, moto) -> None:
    """Three incidents with log entries, change events and alarm transitions in and around them."""
    incidents = []
    for ident, (number, start, lasted) in STARTS.items():
        created = NOW + timedelta(minutes=start)
        incidents.append(
            incident(
                id=ident,
                number=number,
                title=f"Checkout errors {number}",
                created_at=created,
                service_id="PSVC001",
                service_name="api",
                priority="P1",
                resolved_at=created + timedelta(minutes=lasted),
            )
        )
    pd.add_incidents(incidents)
    pd.add_log_entries(
        [
            log_entry(
                id=f"{inc['id']}-{kind}",
                type=f"{kind}_log_entry",
                incident=inc,
                created_at=NOW + timedelta(minutes=STARTS[inc["id"]][1] + offset),
                agent=("user_reference", "PU1", "Ana"),
            )
            for inc in incidents
            for kind, offset in (("trigger", 0), ("acknowledge", 4), ("resolve", 30))
        ]
    )
    pd.add_change_events(
        [
            change_event(
                id=f"CE{n}",
                summary=f"Deploy v{n}",
                timestamp=NOW + timedelta(minutes=at),
                service=("PSVC001", "api"),
            )
            for n, at in enumerate((-10 * 60 - 20, -9 * 60 - 40, -6 * 60, -3 * 60 - 15))
        ]
    )
    client = moto.client(region=REGION)
    client.put_metric_alarm(
        AlarmName="api-errors",
        MetricName="Errors",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    client.close()
    for at, old, new in (
        (-10 * 60 - 5, "OK", "ALARM"),
        (-9 * 60 - 25, "ALARM", "OK"),
        (-9 * 60 - 20, "OK", "ALARM"),
        (-8 * 60 - 50, "ALARM", "OK"),
        (-6 * 60, "OK", "ALARM"),
        (-6 * 60 + 10, "ALARM", "OK"),
        (-3 * 60 - 2, "OK", "ALARM"),
        (-2 * 60 - 40, "ALARM", "OK"),
    ):
        aws.add_history(REGION, "api-errors", NOW + timedelta(minutes=at), old, new)


def config(tmp_path: Path, name: str, moto, pd: PagerDutyStandIn) -> Path:
    """A config of its own folder (drafts and state apart), graphs off (drawn per draft anyway)."""
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "pm.toml"
    path.write_text(
        "\n".join(
            [
                "[cloudwatch]",
                f'regions = ["{REGION}"]',
                f'endpoint_url = "{moto.endpoint_url}"',
                "graphs = false",
                "",
                "[pagerduty]",
                f'base_url = "{pd.base_url}"',
                f'ca_bundle = "{pd.ca_path}"',
                "max_retries = 2",
                "max_retry_wait_seconds = 2",
                "",
                "[batch]",
                'output = "drafts"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def run(path: Path, *, share_reads: bool = True):
    cfg = load_config(path)
    job = Batch(
        cfg,
        ENV,
        state=open_state(cfg),
        sink=open_sink(cfg),
        render=render_markdown,
        share_reads=share_reads,
    )
    return job.run(NOW, since=NOW - timedelta(days=1))


def drafts(path: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted((path.parent / "drafts").glob("*.md"))
    }


def sources(text: str) -> list[list[str]]:
    """The rows of a draft's Sources table, as cells."""
    block = text.split("### Sources", 1)[1].split("<!-- pmdraft:end sources -->", 1)[0]
    return [
        [c.strip() for c in line.strip("|").split("|")]
        for line in block.splitlines()
        if line.startswith("| ") and not line.startswith("| Source ")
    ]


def without_requests(text: str) -> str:
    """``text`` with the Sources table's Requests column (and its block's checksum) blanked:
    a shared read counts in the draft that made it, so that column differs by design."""
    text = re.sub(r"(pmdraft:begin sources) sha256=[0-9a-f]+", r"\1", text)
    return re.sub(r"^(\| [^|]+ \| [^|]+ \| \d+ \| )\d+( \|)", r"\1-\2", text, flags=re.MULTILINE)


def test_batch_drafts_cut_from_shared_reads_equal_drafts_read_alone(
    pd: PagerDutyStandIn, moto, tmp_path: Path
) -> None:
    """Two overlapping incidents and a far one: every draft equals its drafted-alone twin, byte
    for byte but the Requests column, from 2 PagerDuty listings, 2 log streams, 1 change-events
    listing and 3 CloudWatch requests instead of per-incident reads."""
    seed(pd, moto)
    alone_config, shared_config = (
        config(tmp_path, "alone", moto, pd),
        config(tmp_path, "shared", moto, pd),
    )
    alone = run(alone_config, share_reads=False)
    before = len(pd.requests)
    shared = run(shared_config)
    assert [(o.number, o.status) for o in shared.outcomes] == [
        (101, "drafted"),
        (102, "drafted"),
        (103, "drafted"),
    ]
    assert [(o.number, o.status) for o in alone.outcomes] == [
        (o.number, o.status) for o in shared.outcomes
    ]
    mine, theirs = drafts(shared_config), drafts(alone_config)
    assert (
        sorted(mine)
        == sorted(theirs)
        == [
            "101-checkout-errors-101.md",
            "102-checkout-errors-102.md",
            "103-checkout-errors-103.md",
        ]
    )
    for name, text in mine.items():
        assert without_requests(text) == without_requests(theirs[name]), name
    b = mine["102-checkout-errors-102.md"]
    assert "- Incident [#101](" in b and "Deploy v1 (api)" in b, "B's draft holds A's overlap"
    assert "Deploy v3" not in b and "Deploy v3" in mine["103-checkout-errors-103.md"]

    paths = Counter(r.path for r in pd.requests[before:])
    # The candidates' listing, then one listing over every draft's other and past incidents,
    # one /log_entries stream per merged span (A+B, C), one change-events listing: no
    # GET /incidents/{id} and no per-incident log entries.
    assert paths == {"/incidents": 2, "/log_entries": 2, "/change_events": 1}
    cloudwatch = [
        int(row[3])
        for t in mine.values()
        for row in sources(t)
        if row[0] == "CloudWatch alarm history"
    ]
    # DescribeAlarms once (in the first draft), one history page per merged span (A's and C's),
    # and each draft's own GetMetricData for the metric lookback (per draft, as alone).
    assert cloudwatch == [1 + 1 + 1, 1, 1 + 1]


def test_a_failed_shared_read_is_named_in_every_draft_it_touches(
    pd: PagerDutyStandIn, moto, tmp_path: Path
) -> None:
    """The change-events listing failing fails that line in all three drafts; the log stream of
    A and B's span failing fails their incidents' line, while C's, read apart, stays ok."""
    seed(pd, moto)
    pd.inject("/change_events", 503, times=3, headers={"Retry-After": "0"})
    pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})
    result = run(config(tmp_path, "shared", moto, pd))
    assert [(o.number, o.status) for o in result.outcomes] == [
        (101, "partial"),
        (102, "partial"),
        (103, "partial"),
    ]
    lines = {
        name: {row[0]: (row[1], row[4].split(": {")[0]) for row in sources(text)}
        for name, text in drafts(tmp_path / "shared" / "pm.toml").items()
    }
    changes = ("failed", "GET /change_events failed: 503 after 3 attempts")
    logs = ("failed", "GET /log_entries failed: 503 after 3 attempts")
    for name, rows in lines.items():
        assert rows["PagerDuty change events"] == changes, name
        assert rows["CloudWatch alarm history"] == ("ok", ""), name
    assert lines["101-checkout-errors-101.md"]["PagerDuty incidents and log entries"] == logs
    assert lines["102-checkout-errors-102.md"]["PagerDuty incidents and log entries"] == logs
    assert lines["103-checkout-errors-103.md"]["PagerDuty incidents and log entries"] == ("ok", "")


def test_a_log_entry_naming_no_incident_is_said_not_dropped(
    pd: PagerDutyStandIn, moto, tmp_path: Path
) -> None:
    """An odd record in the run's log-entry listing (no ``incident`` reference) cannot be cut
    into any incident's draft: the drafts whose window holds it say so in their Sources table."""
    seed(pd, moto)
    odd = next(row[2] for row in pd._rows["entries"] if row[2]["id"] == "QA1-acknowledge")
    del odd["incident"]  # the stand-in now lists it without one
    shared_config = config(tmp_path, "shared", moto, pd)
    shared = run(shared_config)
    assert [(o.number, o.status) for o in shared.outcomes] == [
        (101, "drafted"),
        (102, "drafted"),
        (103, "drafted"),
    ]
    mine = drafts(shared_config)
    said = (
        "1 log entry in this window of the run's GET /log_entries had no readable incident "
        "reference, so no draft holds them"
    )
    a, b, c = (mine[n] for n in sorted(mine))
    assert a.count(said) == b.count(said) == 1, "A's and B's windows hold the odd entry, said once"
    assert said not in c, "C's window, six hours later, does not"
    assert "PagerDuty #101 acknowledged by Ana" not in a, "nor is it put in a draft by guess"
