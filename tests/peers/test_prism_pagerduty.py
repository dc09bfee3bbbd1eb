"""PagerDuty's own OpenAPI document, served by Stoplight Prism (a peer nobody here wrote), read by
the official client and by pmdraft end to end, over HTTPS through a loopback proxy.

The examples describe one incident, PT4KHLK (#1234, created 2015-10-06T21:30:42Z), whose only log
entry is a trigger at 2015-11-07T00:14:20Z, and two change events on 2020-07-17. Prism answers
every request with them whatever its query, so listings claim ``more`` forever.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pagerduty
import pytest
from click.testing import CliRunner, Result

from pmdraft.cli import cli
from pmdraft.sources.base import parse_time
from tests.conftest import TOKEN, write_config
from tests.peers.prism import PrismPeer, example, missing_reason

SINCE, UNTIL = "2015-10-06T21:00:00Z", "2015-10-06T22:00:00Z"
"""A window around the example incident's creation."""

SEED = "6"
"""Prism's seed for dynamic mode: each endpoint then answers with the same random data every
time. Under this one every listing reads in one page (a log entry of an incident in scope among
them), and GET /incidents/{id} answers with an id that is not alphanumeric."""

MISSING_TOTAL = (
    "GET /incidents did not report a total with total=true, so it cannot be read completely "
    "past its first page"
)
ISSUE_15 = (
    "issue 15: PagerDuty listings without total (Prism's examples: no total, limit 1, more true, "
    "the same record at every offset) fail the whole source; the fix follows more, bounded, and "
    "ends a listing that repeats records with a note"
)


def _peer(tmp_path_factory: pytest.TempPathFactory, name: str, **kw: object) -> Iterator[PrismPeer]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with PrismPeer(tmp_path_factory.mktemp(name), **kw) as peer:  # type: ignore[arg-type]
        yield peer


@pytest.fixture(scope="session")
def prism_examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismPeer]:
    """Prism answering from the document's examples (static mode), behind the TLS proxy."""
    yield from _peer(tmp_path_factory, "prism-examples")


@pytest.fixture(scope="session")
def prism_dynamic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrismPeer]:
    """Prism answering with random schema-valid data (``-d``, seeded), behind the TLS proxy."""
    yield from _peer(tmp_path_factory, "prism-dynamic", dynamic=True, seed=SEED)


@pytest.fixture
def examples(prism_examples: PrismPeer) -> PrismPeer:
    """The example-mode peer with no request recorded yet."""
    assert prism_examples.proxy is not None
    prism_examples.proxy.clear()
    return prism_examples


@pytest.fixture
def client(examples: PrismPeer) -> Iterator[pagerduty.RestApiV2Client]:
    """The official client for the example-mode peer, trusting the proxy's CA."""
    with pagerduty.RestApiV2Client(
        TOKEN,
        base_url=examples.base_url,
        verify=ssl.create_default_context(cafile=examples.ca_path),
    ) as session:
        yield session


def targets(peer: PrismPeer) -> list[str]:
    """Method and target of each request Prism was sent."""
    assert peer.proxy is not None
    return [f"{f.method} {f.target}" for f in peer.proxy.forwarded]


def run(peer: PrismPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """pmdraft ``args`` with a config whose only source is PagerDuty at ``peer``."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    config = write_config(tmp_path / "pmdraft.toml", pd=peer)  # type: ignore[arg-type]
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


def pagerduty_report(result: Result, name: str = "pagerduty") -> dict:
    """The ``name`` entry (PagerDuty's incidents by default) of a JSON draft's ``sources``."""
    [report] = [s for s in json.loads(result.stdout)["sources"] if s["name"] == name]
    return report


# The official client against the examples


def test_client_reads_the_incident_listing_example(examples, client):
    """GET /incidents gives the document's example verbatim: PT4KHLK with the fields pmdraft reads, no total."""
    response = client.get("incidents", params={"time_zone": "UTC", "total": "true"})
    body = response.json()
    assert response.status_code == 200
    [inc] = body["incidents"]
    assert (inc["id"], inc["incident_number"], inc["title"]) == (
        "PT4KHLK",
        1234,
        "The server is on fire.",
    )
    assert parse_time(inc["created_at"]) == datetime(2015, 10, 6, 21, 30, 42, tzinfo=UTC)
    assert (inc["resolved_at"], inc["status"], inc["urgency"]) == (
        "2015-10-06T21:38:23Z",
        "resolved",
        "high",
    )
    assert (inc["service"]["summary"], inc["priority"]["summary"]) == ("My Mail Service", "P2")
    assert inc["escalation_policy"]["summary"] == "Another Escalation Policy"
    assert inc["incident_key"] == "baf7cf21b1da41b4b0221008339ff357"
    # The shape behind issue 15: one record, more to come, and no total although it was asked for.
    assert (body["limit"], body["offset"], body["more"], "total" in body) == (1, 0, True, False)
    assert body == example("/incidents")
    assert targets(examples) == ["GET /incidents?time_zone=UTC&total=true"]


def test_client_reads_the_log_entry_listing_example(examples, client):
    """GET /log_entries gives trigger entry Q02JTSNZWHSEKV of incident PT4KHLK at 2015-11-07T00:14:20Z."""
    body = client.get("log_entries", params={"time_zone": "UTC", "is_overview": "false"}).json()
    [entry] = body["log_entries"]
    assert (entry["id"], entry["type"], entry["created_at"]) == (
        "Q02JTSNZWHSEKV",
        "trigger_log_entry",
        "2015-11-07T00:14:20Z",
    )
    assert entry["incident"]["id"] == "PT4KHLK"
    assert (entry["agent"]["type"], entry["agent"]["summary"]) == (
        "service_reference",
        "My Mail Service",
    )
    assert entry["channel"]["type"] == "api"
    assert entry["event_details"]["description"] == "Tasks::SFDCValidator - PD_Data__c - duplicates"
    assert (body["limit"], body["more"], "total" in body) == (1, True, False)


def test_client_reads_one_incident_example(examples, client):
    """GET /incidents/PT4KHLK gives #1234, acknowledged by Earline Greenholt at 2015-11-10T00:32:52Z."""
    inc = client.rget("incidents/PT4KHLK", params={"time_zone": "UTC"})
    assert (inc["id"], inc["incident_number"], inc["status"], inc["resolved_at"]) == (
        "PT4KHLK",
        1234,
        "acknowledged",
        None,
    )
    assert inc["created_at"] == "2015-10-06T21:30:42Z"
    assert inc["last_status_change_at"] == "2015-10-06T21:38:23Z"
    assert [(a["acknowledger"]["summary"], a["at"]) for a in inc["acknowledgements"]] == [
        ("Earline Greenholt", "2015-11-10T00:32:52Z")
    ]
    assert targets(examples) == ["GET /incidents/PT4KHLK?time_zone=UTC"]


def test_client_reads_one_incidents_log_entries_example(examples, client):
    """GET /incidents/PT4KHLK/log_entries gives the trigger entry, in a body with no pagination fields."""
    body = client.get("incidents/PT4KHLK/log_entries", params={"time_zone": "UTC"}).json()
    assert [
        (e["id"], e["type"], e["created_at"], e["incident"]["id"]) for e in body["log_entries"]
    ] == [("Q02JTSNZWHSEKV", "trigger_log_entry", "2015-11-07T00:14:20Z", "PT4KHLK")]
    assert set(body) == {"log_entries"}


def test_client_reads_the_change_events_example(examples, client):
    """GET /change_events (times in UTC, as the API wants) gives two finished builds and more=false."""
    body = client.get(
        "change_events", params={"since": "2020-07-17T00:00:00Z", "until": "2020-07-18T00:00:00Z"}
    ).json()
    assert [
        (c["id"], c["timestamp"], c["custom_details"]["build_state"], c["links"][0]["href"])
        for c in body["change_events"]
    ] == [
        (
            "01BBYA6PEVW6A852BUO6QYUE7O",
            "2020-07-17T08:42:58Z",
            "passed",
            "https://acme.pagerduty.dev/build/2",
        ),
        (
            "01BBYA6PDIXPL8KO1HPIUL9CZN",
            "2020-07-17T07:42:58Z",
            "passed",
            "https://acme.pagerduty.dev/build/1",
        ),
    ]
    assert (body["more"], body["total"]) == (False, None)


def test_a_request_without_a_token_is_refused_with_401(examples):
    """Prism checks the document's API-key scheme: no Authorization header, no data (401)."""
    with httpx2.Client(
        base_url=examples.base_url, verify=ssl.create_default_context(cafile=examples.ca_path)
    ) as raw:
        response = raw.get(
            "/incidents", headers={"Accept": "application/vnd.pagerduty+json;version=2"}
        )
    assert response.status_code == 401
    assert "Invalid security scheme used" in response.headers["sl-violations"]


# pmdraft end to end against the examples


def assert_repeats_noted(report: dict, exit_code: int) -> None:
    """PagerDuty was read (ok, or partial with exit 3) with a note naming each listing that repeated."""
    assert report["status"] in ("ok", "partial"), report
    assert exit_code == (0 if report["status"] == "ok" else 3)
    note = " ".join(filter(None, [report["error"], report["detail"]]))
    for path in ("/incidents", "/log_entries"):
        said = f"GET {path} answered offset 1 with only records it had already given"
        assert said in note, note


def test_draft_json_reads_the_examples_notes_the_repeats_and_clips_their_odd_dates(
    examples, tmp_path, monkeypatch
):
    """PagerDuty's own examples (no total, limit 1, more true, the same record at every offset,
    records dated years apart) are read without failing: exit 0, the repeating listings ended
    with a note, and every record dated outside the window dropped and counted, never drafted."""
    result = run(
        examples,
        tmp_path,
        monkeypatch,
        "draft",
        "--since",
        SINCE,
        "--until",
        UNTIL,
        "--format",
        "json",
    )
    report = pagerduty_report(result)
    assert_repeats_noted(report, result.exit_code)
    assert result.exit_code == 0 and report["status"] == "ok"
    assert "1 log entry dated outside the span read" in report["detail"]
    changes = pagerduty_report(result, "pagerduty:change_events")
    assert changes["status"] == "ok", changes
    assert "2 change events dated outside the span read" in changes["detail"]
    assert json.loads(result.stdout)["events"] == []
    assert "data gap" not in result.stderr


def test_timeline_reads_the_examples_without_a_gap(examples, tmp_path, monkeypatch):
    """`pmdraft timeline` on PagerDuty's examples: exit 0, PagerDuty not failed, only the header."""
    result = run(examples, tmp_path, monkeypatch, "timeline", "--since", SINCE, "--until", UNTIL)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[:3] == ["TIME", "(UTC)", "SOURCE"]
    assert "pagerduty failed" not in result.stderr


# pmdraft against random, schema-valid data


def assert_named_outcome(result: Result) -> None:
    """Exit 0, or exit 3 with each failure a named data gap: never a traceback or an unexpected error."""
    assert result.exit_code in (0, 3), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "unexpected" not in result.stderr
    gaps = [line for line in result.stderr.splitlines() if line.startswith("pmdraft: data gap:")]
    if result.exit_code == 3:
        assert gaps and all(
            re.fullmatch(r"pmdraft: data gap: pagerduty failed: GET /\S+ .+", line) for line in gaps
        ), result.stderr
    else:
        assert gaps == []


@pytest.mark.parametrize(
    "args",
    [
        ("draft", "--format", "json"),
        ("draft", "--format", "markdown"),
        ("timeline", "--format", "table"),
    ],
    ids=["draft-json", "draft-markdown", "timeline"],
)
def test_random_data_gives_a_draft_or_a_named_gap(prism_dynamic, tmp_path, monkeypatch, args):
    """On Prism's random answers pmdraft writes its output and exits 0, or 3 naming the request that failed."""
    result = run(
        prism_dynamic, tmp_path, monkeypatch, *args, "--since", "2024-01-15T14:00:00Z",
        "--until", "2024-01-15T15:00:00Z",
    )  # fmt: skip
    assert_named_outcome(result)
    assert result.stdout.strip()
    if args[-1] == "json":
        report = pagerduty_report(result)
        assert report["status"] == ("ok" if result.exit_code == 0 else "failed")
        assert (report["error"] is None) == (result.exit_code == 0)


def test_random_incident_gives_a_draft_or_a_named_gap(prism_dynamic, tmp_path, monkeypatch):
    """`draft --incident 1234` on a random incident exits 0 or 3, never blaming an --incident the user did not type."""
    result = run(
        prism_dynamic, tmp_path, monkeypatch, "draft", "--incident", "1234", "--format", "json"
    )
    assert "--incident '" not in result.stderr, result.stderr
    assert_named_outcome(result)
