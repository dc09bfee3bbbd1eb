"""Incident scope through the CLI: two concurrent incidents on two services, each drafted apart.

checkout #4711 (alarm checkout-5xx-high, Alice and Carol paged, Alice acknowledges) and payments
#4712 (alarm payments-latency-high, Bob paged and acknowledges, before Alice does), each with a
deploy of its own service, in the same hour, against moto and the PagerDuty stand-in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox import aws
from pmdraft.sandbox.pagerduty import incident, log_entry
from tests.conftest import TOKEN

DAY = datetime(2024, 3, 7, tzinfo=UTC)
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
ALICE, BOB, CAROL = ("PU1", "Alice Ng"), ("PU2", "Bob Ray"), ("PU3", "Carol Li")


def at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


def _alarm(cw: Any, name: str, fired: datetime, ok: datetime) -> None:
    cw.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="Shop",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    aws.add_history("us-east-1", name, fired, "OK", "ALARM", reason="Threshold Crossed")
    aws.add_history("us-east-1", name, ok, "ALARM", "OK", reason="Threshold Crossed")


def _incident(pd, number, service, alarm, trigger, acks, pages, resolved) -> None:
    inc = incident(
        id=f"Q{number}",
        number=number,
        title=f'ALARM: "{alarm}" in US East (N. Virginia)',
        created_at=trigger,
        service_id=service[0],
        service_name=service[1],
        resolved_at=resolved,
        incident_key=ARN + alarm,
    )
    pd.add_incidents([inc])
    agent = ("service_reference", *service)
    entries = [
        log_entry(id=f"T{number}", type="trigger_log_entry", created_at=trigger, incident=inc),
        log_entry(
            id=f"R{number}",
            type="resolve_log_entry",
            created_at=resolved,
            incident=inc,
            agent=("user_reference", *acks[0]),
        ),
    ]
    entries += [
        log_entry(
            id=f"N{number}{i}",
            type="notify_log_entry",
            created_at=when,
            incident=inc,
            agent=agent,
            user=who,
        )
        for i, (who, when) in enumerate(pages)
    ]
    entries.append(
        log_entry(
            id=f"A{number}",
            type="acknowledge_log_entry",
            created_at=acks[1],
            incident=inc,
            agent=("user_reference", *acks[0]),
        )
    )
    pd.add_log_entries(entries)


DEPLOYS = [
    {"ts": "2024-03-07T01:55:00Z", "svc": "checkout", "version": "v5.2.0", "result": "success"},
    {
        "ts": "2024-03-07T02:05:00Z",
        "svc": "payments-worker",
        "version": "v3.1.0",
        "result": "success",
    },
    {
        "ts": "2024-03-07T02:50:00Z",
        "svc": "payments-worker",
        "version": "v3.1.0",
        "result": "rollback",
    },
]

CATALOG = """
[[services]]
name = "checkout"
pagerduty_service_ids = ["PCHK01"]
deploy_services = ["checkout"]
alarm_prefixes = ["checkout-"]

[[services]]
name = "payments"
pagerduty_service_ids = ["PPAY01"]
deploy_services = ["payments-worker"]
alarm_prefixes = ["payments-"]
"""


@pytest.fixture
def shop(moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The two incidents seeded in the stand-ins, and a config with a catalog and a CI's vocabulary."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    cw = moto.client("cloudwatch", "us-east-1")
    _alarm(cw, "checkout-5xx-high", at(2, 1, 30), at(2, 43, 30))
    _alarm(cw, "payments-latency-high", at(2, 10), at(2, 55, 10))
    checkout, payments = ("PCHK01", "checkout"), ("PPAY01", "payments")
    pages = [(ALICE, at(2, 2, 10)), (CAROL, at(2, 2, 10))]
    _incident(pd, 4711, checkout, "checkout-5xx-high", at(2, 2), (ALICE, at(2, 12)), pages, at(3))
    pages = [(BOB, at(2, 10, 40))]
    _incident(
        pd,
        4712,
        payments,
        "payments-latency-high",
        at(2, 10, 30),
        (BOB, at(2, 11, 40)),
        pages,
        at(3, 10),
    )
    (tmp_path / "deploys.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in DEPLOYS), encoding="utf-8"
    )
    config = tmp_path / "pmdraft.toml"
    config.write_text(
        f"""
[cloudwatch]
regions = ["us-east-1"]
endpoint_url = "{moto.endpoint_url}"
graphs = false

[pagerduty]
base_url = "{pd.base_url}"
ca_bundle = "{pd.ca_path}"
related_lookback_days = 0
change_events = false

[[deploys]]
type = "file"
path = "deploys.jsonl"
fields = {{ timestamp = "ts", service = "svc", status = "result" }}
values = {{ status = {{ success = "succeeded", rollback = "rolled_back" }} }}
{CATALOG}""",
        encoding="utf-8",
    )
    return config


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def draft_json(config: Path, *args: str) -> dict[str, Any]:
    result = run("draft", *args, "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def times(milestones: dict[str, Any]) -> dict[str, str | None]:
    return {name: m["at"] if m else None for name, m in milestones.items()}


CHECKOUT = {
    "impact_started": "2024-03-07T02:01:30Z",
    "detected": "2024-03-07T02:01:30Z",
    "paged": "2024-03-07T02:02:10Z",
    "acknowledged": "2024-03-07T02:12:00Z",
    "mitigated": "2024-03-07T02:43:30Z",
    "resolved": "2024-03-07T03:00:00Z",
    "suspect_change": "2024-03-07T01:55:00Z",
}
CHECKOUT_DURATIONS = {
    "time_to_detect": 0,
    "time_to_acknowledge": 590,
    "time_to_mitigate": 2520,
    "time_to_resolve": 3510,
    "change_to_detect": 390,
}
PAYMENTS = {
    "impact_started": "2024-03-07T02:10:00Z",
    "detected": "2024-03-07T02:10:00Z",
    "paged": "2024-03-07T02:10:40Z",
    "acknowledged": "2024-03-07T02:11:40Z",
    "mitigated": "2024-03-07T02:55:10Z",
    "resolved": "2024-03-07T03:10:00Z",
    "suspect_change": "2024-03-07T02:05:00Z",
}
PAYMENTS_DURATIONS = {
    "time_to_detect": 0,
    "time_to_acknowledge": 60,
    "time_to_mitigate": 2710,
    "time_to_resolve": 3600,
    "change_to_detect": 300,
}


def test_each_incident_gets_its_own_milestones_durations_and_lead(shop: Path) -> None:
    """`draft --incident` for each incident gives its exact milestones and durations and its own deploy as the lead."""
    checkout = draft_json(shop, "--incident", "4711")
    assert checkout["schema"] == "pmdraft/draft-2"
    assert times(checkout["milestones"]) == CHECKOUT
    assert checkout["durations"] == CHECKOUT_DURATIONS
    assert [lead["version"] for lead in checkout["suspects"]["leads"]] == ["v5.2.0"]
    payments = draft_json(shop, "--incident", "4712")
    assert times(payments["milestones"]) == PAYMENTS
    assert payments["durations"] == PAYMENTS_DURATIONS
    lead = payments["suspects"]["leads"][0]
    assert (lead["service"], lead["version"], lead["kind"]) == (
        "payments",
        "v3.1.0",
        "deploy.succeeded",
    )
    assert "same service (payments)" in lead["reasons"]


def test_the_other_incident_is_concurrent_activity_never_a_milestone(shop: Path) -> None:
    """The #4711 draft lists #4712 and its alarm under concurrent activity, and marks their events out of scope."""
    data = draft_json(shop, "--incident", "4711")
    assert [(i["number"], i["service"]) for i in data["concurrent"]["incidents"]] == [
        (4712, "payments")
    ]
    assert [(a["alarm"], a["link"]["reason"]) for a in data["concurrent"]["alarms"]] == [
        ("payments-latency-high", "catalog")
    ]
    out = {
        (e["source"], e["service"] or e["attrs"].get("alarm_name"))
        for e in data["events"]
        if not e["in_scope"]
    }
    assert out == {("cloudwatch", "payments-latency-high"), ("deploys", "payments")}
    markdown = run("draft", "--incident", "4711", "--config", str(shop)).stdout
    section = markdown.split("### Concurrent activity", 1)[1].split("<!-- pmdraft:end", 1)[0]
    assert (
        "- Incident [#4712](https://sandbox.pagerduty.com/incidents/Q4712) on payments: " in section
    )
    assert "(triggered 02:10:30 UTC, resolved 03:10:00)" in section
    assert (
        "- Alarm payments-latency-high fired at 02:10:00, OK at 02:55:10 UTC: service catalog: payments alarm_prefixes 'payments-'"
        in section
    )
    timeline = markdown.split("## Timeline", 1)[1].split("## Root Cause", 1)[0]
    assert "payments" not in timeline and "#4712" not in timeline
    assert (
        "customer-facing impact lasted 42 minutes (02:01 - 02:43 UTC, impact start to mitigated) "
        "and the incident lasted 58 minutes (02:01 - 03:00 UTC, impact start to resolved)"
    ) in markdown


def test_window_mode_pairs_each_acknowledgement_with_its_own_incidents_page(shop: Path) -> None:
    """Without --incident, each incident's time to acknowledge runs from its own page, and the headline follows #4711."""
    data = draft_json(shop, "--since", "2024-03-07T01:30:00Z", "--until", "2024-03-07T03:45:00Z")
    by_number = {i["number"]: i for i in data["incidents"]}
    assert times(by_number[4711]["milestones"]) == CHECKOUT
    assert by_number[4711]["durations"] == CHECKOUT_DURATIONS
    assert times(by_number[4712]["milestones"]) == PAYMENTS
    assert by_number[4712]["durations"] == PAYMENTS_DURATIONS
    assert [i["headline"] for i in data["incidents"]] == [True, False]
    assert data["scope"]["headline_incident"] == {"id": "Q4711", "number": 4711}
    assert data["durations"] == CHECKOUT_DURATIONS
    markdown = run(
        "draft",
        "--since",
        "2024-03-07T01:30:00Z",
        "--until",
        "2024-03-07T03:45:00Z",
        "--config",
        str(shop),
    ).stdout
    assert (
        "These times follow PagerDuty #4711, the first incident triggered in this draft; #4712 has its own under Metrics."
        in markdown
    )
    assert "| #4711 | Carol Li | 02:02:10 | paged; Alice Ng acknowledged | n/a |" in markdown
    assert "Slow response" not in markdown and "did not acknowledge" not in markdown


def test_the_catalog_maps_a_ci_vocabulary_so_the_payments_deploy_leads(shop: Path) -> None:
    """payments-worker deploys with success/rollback statuses are read as payments deploys, and the mapped one leads."""
    data = draft_json(shop, "--incident", "4712")
    deploys = [e for e in data["events"] if e["source"] == "deploys" and e["in_scope"]]
    assert [(e["kind"], e["service"], e["attrs"]["service_as_written"]) for e in deploys] == [
        ("deploy.succeeded", "payments", "payments-worker"),
        ("deploy.rolled_back", "payments", "payments-worker"),
    ]
    assert {s["name"]: s["status"] for s in data["sources"]}["deploys:deploys.jsonl"] == "ok"
    assert data["milestones"]["suspect_change"]["rule"].startswith(
        "top-ranked deploy at or before impact start within 6 h: same service (payments)"
    )


def test_service_flag_narrows_a_window_to_that_service_s_incident(shop: Path) -> None:
    """`draft --since/--until --service payments` gives payments' milestones; checkout is concurrent."""
    window = ["--since", "2024-03-07T01:30:00Z", "--until", "2024-03-07T03:30:00Z"]
    payments = draft_json(shop, *window, "--service", "payments")
    assert times(payments["milestones"]) == PAYMENTS
    assert payments["durations"] == PAYMENTS_DURATIONS
    assert [i["number"] for i in payments["concurrent"]["incidents"]] == [4711]
