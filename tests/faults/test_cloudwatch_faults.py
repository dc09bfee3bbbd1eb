"""CloudWatch misbehaving behind the sandbox's fault proxy: each fault is ridden out or a named gap (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from click.testing import Result

from pmdraft.model import Window
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario
from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn
from pmdraft.sources.cloudwatch.collector import CloudWatchCollector
from tests.conftest import TOKEN
from tests.faults.common import LAST_LINE, assert_clean, draft
from tests.standins.faults import FaultProxy

CW_EVENTS = 6
"""Alarm transitions of the worked example: two alarms firing, one flapping, all recovering."""
HISTORY = "DescribeAlarmHistory"


@pytest.fixture
def proxy(moto: MotoSandbox) -> Iterator[FaultProxy]:
    """The fault proxy in front of a clean moto server."""
    with FaultProxy(moto.endpoint_url) as running:
        yield running


@pytest.fixture
def config(
    moto: MotoSandbox,
    pd: PagerDutyStandIn,
    proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The worked example read through the proxy, with 2 attempts per call and a 0.5 s timeout."""
    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    path = scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)
    text = path.read_text(encoding="utf-8").replace(moto.endpoint_url, proxy.endpoint_url)
    path.write_text(
        text.replace("[cloudwatch]\n", "[cloudwatch]\nmax_attempts = 2\ntimeout_seconds = 0.5\n"),
        encoding="utf-8",
    )
    return path


def assert_ridden_out(result: Result, out: Path, proxy: FaultProxy, fault: str) -> None:
    """Exit 0, every alarm transition present, and the history call answered the fault then a success."""
    assert result.exit_code == 0, result.output
    assert_clean(result, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    cloudwatch = next(s for s in data["sources"] if s["name"] == "cloudwatch")
    assert (cloudwatch["status"], cloudwatch["events"], cloudwatch["error"]) == (
        "ok",
        CW_EVENTS,
        None,
    )
    assert data["milestones"]["impact_started"]["at"] == "2024-01-15T14:32:00Z"
    assert data["milestones"]["mitigated"]["at"] == "2024-01-15T14:50:00Z"
    history = [(r.fault, r.status) for r in proxy.requests if r.operation == HISTORY]
    assert [f for f, _ in history] == [fault, None]
    assert history[-1][1] == 200


def assert_gap(result: Result, out: Path, error: str) -> None:
    """Exit 3, a complete Markdown draft naming the CloudWatch gap, the other sources intact."""
    assert result.exit_code == 3, result.output
    assert_clean(result, out)
    md = out.read_text(encoding="utf-8")
    assert md.endswith(LAST_LINE), "the draft is complete"
    assert "> **Data gaps:** this draft is missing events from a source that failed" in md
    assert f"> - **CloudWatch alarm history**: {error}" in md
    assert f"pmdraft: data gap: cloudwatch failed: {error}" in result.stderr
    assert "| 14:32:25 | CloudWatch alarm HighErrorRate" not in md, (
        "no alarm row survives a failed read"
    )
    assert "| 14:35:10 | PagerDuty #1234 acknowledged by Jane Doe" in md, "PagerDuty still counts"
    assert "| 14:15:00 | Deploy: v2.3.4 deployed to production (api)" in md, (
        "the deploy log still counts"
    )


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttle", {}),
        ("error", {"status": 500}),
        ("error", {"status": 503}),
        ("slow", {"seconds": 1.0}),
        ("reset", {}),
        ("truncate", {}),
    ],
    ids=["throttled", "500", "503", "slow", "reset", "truncated"],
)
def test_one_fault_is_retried_and_every_transition_arrives(
    config: Path, proxy: FaultProxy, tmp_path: Path, kind: str, options: dict
) -> None:
    """A single throttle, 5xx, timeout, reset or cut-off body on the history call is retried; nothing is lost."""
    proxy.inject(HISTORY, kind, **options)
    out = tmp_path / "pm.json"
    assert_ridden_out(draft(config, out, "json"), out, proxy, kind)


def test_a_throttle_asking_to_wait_is_honoured(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """A throttle carrying x-amz-retry-after: 0.6 s makes the run wait at least that long, then succeed."""
    proxy.inject(HISTORY, "throttle", retry_after=0.6)
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert_ridden_out(result, out, proxy, "throttle")


def test_persistent_throttling_is_a_gap_with_advice(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """Throttling that outlasts max_attempts is a gap saying so and what to do, not a permissions hint."""
    proxy.inject(HISTORY, "throttle", times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(
        result,
        out,
        "DescribeAlarmHistory in us-east-1 failed: Throttling: Rate exceeded. CloudWatch still "
        "refused after 2 attempts; try again later, or raise max_attempts in [cloudwatch].",
    )
    assert [r.status for r in proxy.requests if r.operation == HISTORY] == [400, 400]


def test_a_persistent_503_is_a_gap_in_the_json_sources(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """In JSON the failed CloudWatch source has its error and no events, and the milestones it fed are unknown."""
    proxy.inject(HISTORY, "error", status=503, times=5)
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert result.exit_code == 3, result.output
    assert_clean(result, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in data["sources"]}
    assert (sources["cloudwatch"]["status"], sources["cloudwatch"]["events"]) == ("failed", 0)
    assert sources["cloudwatch"]["error"].startswith(
        "DescribeAlarmHistory in us-east-1 failed: ServiceUnavailable: "
    )
    assert (sources["pagerduty"]["status"], sources["pagerduty"]["events"]) == ("ok", 11)
    assert not any(e["source"] == "cloudwatch" for e in data["events"])
    assert data["milestones"]["mitigated"] is None, "unknown, not guessed"


CLOSED = (
    "DescribeAlarmHistory in us-east-1 failed: Connection was closed before we received a valid response "
    'from endpoint URL: "{url}/" (2 attempts).'
)
"""What botocore reports for a connection cut before a whole answer arrived (a reset, or a body cut short)."""


@pytest.mark.parametrize(
    ("kind", "options", "error"),
    [
        (
            "slow",
            {"seconds": 6.0},
            'DescribeAlarmHistory in us-east-1 failed: Read timeout on endpoint URL: "{url}/" (2 attempts).',
        ),
        ("reset", {}, CLOSED),
        ("truncate", {}, CLOSED),
    ],
    ids=["slow", "reset", "truncated"],
)
def test_a_network_fault_that_persists_is_a_gap(
    config: Path, proxy: FaultProxy, tmp_path: Path, kind: str, options: dict, error: str
) -> None:
    """Timeouts, resets or cut-off bodies on every attempt are a gap naming the call, within bounded time."""
    proxy.inject(HISTORY, kind, times=5, **options)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(result, out, error.format(url=proxy.endpoint_url))
    assert (
        "Check the network and endpoint_url, or raise timeout_seconds or max_attempts in [cloudwatch]."
        in (out.read_text(encoding="utf-8"))
    )


def test_a_fault_on_describe_alarms_is_a_gap_too(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """The alarm listing read beside the history fails the same way: a named gap, and the history stops at its first page (its chain is not read on)."""
    proxy.inject("DescribeAlarms", "error", status=500, times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(
        result,
        out,
        "DescribeAlarms in us-east-1 failed: InternalFailure: injected 500 from the sandbox "
        "fault layer. CloudWatch still refused after 2 attempts",
    )
    operations = [r.operation for r in proxy.requests]
    assert operations.count("DescribeAlarms") == 2
    assert operations.count("DescribeAlarmHistory") <= 1, operations
    assert len(operations) <= 3


def test_credentials_that_expire_mid_run_are_a_gap_saying_how_to_refresh(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """An ExpiredToken after the first call is a named gap that says the credentials expired and how to refresh them."""
    proxy.inject("*", "expired", after=1, times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    # DescribeAlarms and the history chain start together, so either may be the one call
    # that got through; the gap names the other, which met the expired token.
    passed = [r.operation for r in proxy.requests if not r.fault]
    assert len(passed) == 1, proxy.requests
    failed = {"DescribeAlarms": HISTORY, HISTORY: "DescribeAlarms"}[passed[0]]
    assert_gap(
        result,
        out,
        f"{failed} in us-east-1 failed: ExpiredToken: The security token included in "
        "the request is expired. The AWS credentials expired during the run; refresh them (aws "
        "sso login, new temporary keys in the environment, or a new role session for the "
        "profile) and draft again.",
    )
    expired = [r.operation for r in proxy.requests if r.fault == "expired"]
    assert failed in expired
    assert len(expired) == len(set(expired)), "an expired token is not retried"


def test_a_body_that_is_not_json_is_a_named_gap(
    config: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    """A 200 whose body is a portal's text (not the JSON asked for) is a named gap, never an empty history."""
    proxy.inject(HISTORY, "garbage")
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(
        result,
        out,
        "DescribeAlarmHistory in us-east-1 failed: the HTTP 200 answer is not valid JSON "
        "(Expecting value: line 1 column 1 (char 0)); body starts b'Sign in to the guest network "
        "to continue'; it is not an AWS answer (a proxy or captive portal in the way, or "
        "a cut connection). Check endpoint_url and any proxy, then try again.",
    )


def paged_collector(moto: MotoSandbox, proxy: FaultProxy, items: int) -> CloudWatchCollector:
    """A collector reading ``items`` transitions of one alarm (pages of 100) through the proxy."""
    from pmdraft.sandbox.aws import add_history

    for n in range(items):
        at = datetime(2024, 1, 15, 14, 1, tzinfo=UTC) + timedelta(seconds=20 * n)
        old, new = ("OK", "ALARM") if n % 2 == 0 else ("ALARM", "OK")
        add_history("us-east-1", "Flappy", at, old, new)
    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url=proxy.endpoint_url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    return CloudWatchCollector({"us-east-1": client})


WINDOW = Window(datetime(2024, 1, 15, 14, tzinfo=UTC), datetime(2024, 1, 15, 15, 30, tzinfo=UTC))


def test_a_repeated_next_token_ends_the_listing_and_keeps_what_was_read(
    moto: MotoSandbox, proxy: FaultProxy
) -> None:
    """A NextToken answered twice (a paging loop) ends the listing with a note; the records read are kept, once each."""
    collector = paged_collector(moto, proxy, 150)
    proxy.inject(HISTORY, "token", token="100", after=1)
    events = list(collector.collect(WINDOW))
    collector.close()
    assert len(events) == 150 and len({e.at for e in events}) == 150
    assert [r.operation for r in proxy.requests].count(HISTORY) == 2
    assert collector.detail == (
        "DescribeAlarmHistory in us-east-1 answered page 2 with a NextToken it had already given "
        "('100'), a paging loop: the listing was ended there and the 2 pages read are kept"
    )


def test_a_next_token_going_back_to_a_page_already_read_is_caught(
    moto: MotoSandbox, proxy: FaultProxy
) -> None:
    """A NextToken that leads back to page 1 re-reads it once, then the loop is ended; no transition is drafted twice."""
    collector = paged_collector(moto, proxy, 150)
    proxy.inject(HISTORY, "token", token="0", after=1)
    events = list(collector.collect(WINDOW))
    collector.close()
    assert len(events) == 150 and len({e.at for e in events}) == 150, "each transition once"
    assert [r.operation for r in proxy.requests].count(HISTORY) == 3
    assert collector.detail == (
        "DescribeAlarmHistory in us-east-1 answered page 3 with a NextToken it had already given "
        "('100'), a paging loop: the listing was ended there and the 3 pages read are kept; "
        "DescribeAlarmHistory in us-east-1 answered 100 items it had already given (a page that "
        "went back); each was kept once"
    )


def test_a_next_token_that_skips_ahead_loses_no_more_than_the_page(
    moto: MotoSandbox, proxy: FaultProxy
) -> None:
    """A NextToken that jumps past a page cannot be seen from the client; the run ends cleanly with what came."""
    collector = paged_collector(moto, proxy, 250)
    proxy.inject(HISTORY, "token", token="200")
    events = list(collector.collect(WINDOW))
    collector.close()
    assert len(events) == 150, "pages 1 and 3 arrive; page 2 was skipped by the server"
    assert collector.detail is None
