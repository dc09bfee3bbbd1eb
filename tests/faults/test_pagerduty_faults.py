"""PagerDuty misbehaving mid-run: each fault is ridden out or becomes a named gap (exit 3), never a traceback."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pmdraft.cli import cli
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, log_entry
from tests.conftest import TOKEN
from tests.faults.common import LAST_LINE, SINCE, UNTIL, assert_clean, draft

PD_EVENTS = 11
"""PagerDuty events of the worked example in scope (the other service's two are left out)."""


@pytest.fixture
def config(moto, pd: PagerDutyStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worked example with one retry per request and waits of at most 2 s, so faults resolve fast."""
    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    path = scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("[pagerduty]\n", "[pagerduty]\nmax_retries = 1\nmax_retry_wait_seconds = 2\n"),
        encoding="utf-8",
    )
    return path


def assert_ridden_out(
    result: Result, out: Path, pd: PagerDutyStandIn, path: str, status: int
) -> None:
    """Exit 0, every PagerDuty event present, and ``path`` answered the fault then a success."""
    assert result.exit_code == 0, result.output
    assert_clean(result, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    pagerduty = next(s for s in data["sources"] if s["name"] == "pagerduty")
    assert (pagerduty["status"], pagerduty["events"], pagerduty["error"]) == ("ok", PD_EVENTS, None)
    assert data["milestones"]["acknowledged"]["at"] == "2024-01-15T14:35:10Z"
    assert [r.status for r in pd.requests if r.path == path][:2] == [status, 200]


def assert_gap(result: Result, out: Path, error: str) -> None:
    """Exit 3, a complete Markdown draft naming the gap, the other sources intact."""
    assert result.exit_code == 3, result.output
    assert_clean(result, out)
    md = out.read_text(encoding="utf-8")
    assert md.endswith(LAST_LINE), "the draft is complete"
    assert "> **Data gaps:** this draft is missing events from a source that failed" in md
    assert f"> - **PagerDuty incidents and log entries**: {error}" in md
    assert f"pmdraft: data gap: pagerduty failed: {error}" in result.stderr
    assert "| 14:32:25 | CloudWatch alarm HighErrorRate: OK -> ALARM" in md, (
        "CloudWatch still counts"
    )
    assert "| 14:15:00 | Deploy: v2.3.4 deployed to production (api)" in md, (
        "the deploy log still counts"
    )


def test_429_with_retry_after_is_waited_out(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A 429 asking to wait 1 s is retried after the wait and every event arrives."""
    pd.inject("/incidents", 429, headers={"Retry-After": "1"})
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert_ridden_out(result, out, pd, "/incidents", 429)


def test_429_without_retry_after_backs_off_and_recovers(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A 429 with neither Retry-After nor ratelimit-reset is retried after a backoff; nothing is lost."""
    pd.inject("/log_entries", 429, headers={"ratelimit-reset": ""})
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert_ridden_out(result, out, pd, "/log_entries", 429)


def test_429_asking_for_too_long_a_wait_is_a_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A Retry-After beyond max_retry_wait_seconds is not slept through: it is a named gap."""
    pd.inject("/incidents", 429, headers={"Retry-After": "120"}, times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(
        result,
        out,
        "GET /incidents failed: 429 and asked to wait 120 s, more than max_retry_wait_seconds=2",
    )


def test_a_single_500_is_retried(config: Path, pd: PagerDutyStandIn, tmp_path: Path) -> None:
    """One 500 on the incidents listing is retried and the draft is complete."""
    pd.inject("/incidents", 500, headers={"Retry-After": "0"})
    out = tmp_path / "pm.json"
    assert_ridden_out(draft(config, out, "json"), out, pd, "/incidents", 500)


def test_a_persistent_500_is_a_named_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A 500 that outlasts the retries names the endpoint, the status and PagerDuty's message."""
    pd.inject("/log_entries", 500, headers={"Retry-After": "0"}, times=10)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(result, out, "GET /log_entries failed: 500 after 2 attempts:")
    assert "Internal Server Error" in out.read_text(encoding="utf-8")


def test_a_single_503_is_retried(config: Path, pd: PagerDutyStandIn, tmp_path: Path) -> None:
    """One 503 on the log entries listing is retried and every event arrives."""
    pd.inject("/log_entries", 503, headers={"Retry-After": "0"})
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert_ridden_out(result, out, pd, "/log_entries", 503)


def test_a_persistent_503_is_a_gap_in_the_json_sources(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """In JSON the failed source is listed with its status and error, and the other sources' events stay."""
    pd.inject("/incidents", 503, headers={"Retry-After": "0"}, times=10)
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert result.exit_code == 3, result.output
    assert_clean(result, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in data["sources"]}
    assert sources["pagerduty"]["status"] == "failed"
    assert sources["pagerduty"]["events"] == 0
    assert sources["pagerduty"]["error"].startswith("GET /incidents failed: 503 after 2 attempts:")
    assert (sources["cloudwatch"]["status"], sources["cloudwatch"]["events"]) == ("ok", 6)
    assert data["milestones"]["acknowledged"] is None, "unknown, not zero"


@pytest.mark.parametrize(
    "body",
    ['{"incidents": [{"id": "Q1DEMO1234", "title": "ALA', "<html>502 Bad Gateway</html>", ""],
    ids=["truncated", "html", "empty"],
)
def test_a_200_with_a_broken_body_is_a_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path, body: str
) -> None:
    """A 200 whose body is not JSON (cut off, HTML, empty) is a named gap, not a crash."""
    pd.inject("/incidents", 200, body=body)
    out = tmp_path / "pm.md"
    assert_gap(draft(config, out), out, "GET /incidents answered with invalid JSON")


def test_a_200_with_json_of_the_wrong_shape_is_a_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A 200 whose JSON lacks the listing is a gap naming the missing key."""
    pd.inject("/log_entries", 200, body='{"log_entries": null, "more": false}')
    out = tmp_path / "pm.md"
    assert_gap(draft(config, out), out, "GET /log_entries answered without a 'log_entries' list")


def test_401_after_the_incidents_were_read_is_a_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A token revoked between the incidents and the log entries gives a gap explaining the 401."""
    pd.inject("/log_entries", 401, times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(
        result,
        out,
        "GET /log_entries was refused (401 Unauthorized): the API token is invalid or deactivated",
    )
    assert [r.status for r in pd.requests if r.path == "/incidents"] == [200]
    assert "| PagerDuty incidents and log entries | failed | 0 |" in out.read_text(encoding="utf-8")


def test_strict_turns_a_fault_into_exit_1_and_no_file(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """With --strict a persistent fault writes nothing at all, not even a temporary file."""
    pd.inject("/incidents", 500, headers={"Retry-After": "0"}, times=10)
    out = tmp_path / "out" / "pm.md"
    out.parent.mkdir()  # -o never makes a missing folder
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            SINCE,
            "--until",
            UNTIL,
            "--config",
            str(config),
            "-o",
            str(out),
            "--strict",
        ],
    )
    assert result.exit_code == 1
    assert "Error: --strict: a source failed, so no draft was written" in result.stderr
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


@pytest.fixture
def fast_config(config: Path) -> Path:
    """The worked example with a 0.5 s client timeout, so a slow answer times out quickly."""
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("[pagerduty]\n", "[pagerduty]\ntimeout_seconds = 0.5\n"), encoding="utf-8"
    )
    return config


def test_one_answer_slower_than_the_timeout_is_retried(
    fast_config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """An incidents listing that answers after the client's timeout is asked again and nothing is lost."""
    pd.inject_fault("/incidents", "slow", seconds=6)
    out = tmp_path / "pm.json"
    result = draft(fast_config, out, "json")
    assert result.exit_code == 0, result.output
    assert_clean(result, out)
    data = json.loads(out.read_text(encoding="utf-8"))
    pagerduty = next(s for s in data["sources"] if s["name"] == "pagerduty")
    assert (pagerduty["status"], pagerduty["events"], pagerduty["error"]) == ("ok", PD_EVENTS, None)
    assert data["milestones"]["acknowledged"]["at"] == "2024-01-15T14:35:10Z"


def test_answers_always_slower_than_the_timeout_are_a_gap(
    fast_config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """A log entries listing that never answers in time is a gap naming the timeout, within bounded time."""
    pd.inject_fault("/log_entries", "slow", seconds=6, times=5)
    out = tmp_path / "pm.md"
    result = draft(fast_config, out)
    assert_gap(
        result,
        out,
        "GET /log_entries failed after 2 attempts: no answer within timeout_seconds=0.5; "
        "check the network and base_url, or raise timeout_seconds",
    )


def test_a_connection_reset_is_retried(config: Path, pd: PagerDutyStandIn, tmp_path: Path) -> None:
    """A connection cut without an answer is retried on a new connection and every event arrives."""
    pd.inject_fault("/log_entries", "reset")
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert_ridden_out(result, out, pd, "/log_entries", 0)


def test_connection_resets_that_persist_are_a_gap(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """Connections cut on every attempt are a gap naming the network failure, not a traceback."""
    pd.inject_fault("/incidents", "reset", times=5)
    out = tmp_path / "pm.md"
    result = draft(config, out)
    assert_gap(result, out, "GET /incidents failed after 2 attempts: ")
    assert "check the network and base_url" in result.stderr
    assert [r.status for r in pd.requests if r.path == "/incidents"] == [0, 0]


BURST = 150
"""Extra notifications seeded so the log entries listing spans two pages of 100."""


@pytest.fixture
def paged(pd: PagerDutyStandIn) -> list[str]:
    """150 more notifications on incident 1234 (14:44-14:46:30), so /log_entries has a second page; their ids."""
    main = pd._store.incidents["Q1DEMO1234"]
    burst = [
        log_entry(
            id=f"RBURST{n:03d}",
            type="notify_log_entry",
            created_at=scenario.at(14, 44) + timedelta(seconds=n),
            incident=main,
            agent=("service_reference", "PSVC001", "api"),
            user=scenario.JOHN,
        )
        for n in range(BURST)
    ]
    pd.add_log_entries(burst)
    return [e["id"] for e in burst]


def pagerduty_entry_ids(out: Path) -> list[str]:
    data = json.loads(out.read_text(encoding="utf-8"))
    return [e["attrs"]["log_entry_id"] for e in data["events"] if e["source"] == "pagerduty"]


REREAD = (
    "GET /log_entries changed while it was read (its total moved, or its pages repeated or skipped records), "
    "so it was read again"
)


@pytest.mark.parametrize(("shift", "detail"), [(1, None), (-1, REREAD)], ids=["repeats", "skips"])
def test_a_page_that_repeats_or_skips_items_loses_nothing(
    config: Path,
    pd: PagerDutyStandIn,
    paged: list[str],
    tmp_path: Path,
    shift: int,
    detail: str | None,
) -> None:
    """A second page whose offsets moved (total unchanged): a repeated entry is kept once, a skipped one re-read."""
    pd.inject_fault("/log_entries", "shift", shift=shift)
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert result.exit_code == 0, result.output
    assert_clean(result, out)
    ids = pagerduty_entry_ids(out)
    assert len(ids) == PD_EVENTS + BURST
    assert set(ids) == {f"RLOG{n:02d}" for n in range(1, 12)} | set(paged)
    report = next(
        s
        for s in json.loads(out.read_text(encoding="utf-8"))["sources"]
        if s["name"] == "pagerduty"
    )
    assert report["detail"] == detail


def test_an_entry_written_between_pages_is_kept_once(
    config: Path, pd: PagerDutyStandIn, paged: list[str], tmp_path: Path
) -> None:
    """A note added newest-first between page 1 and page 2 shifts the offsets; the duplicate is dropped, the note kept."""
    main = pd._store.incidents["Q1DEMO1234"]
    late = log_entry(
        id="RLATE01",
        type="annotate_log_entry",
        created_at=scenario.at(14, 58),
        incident=main,
        agent=("user_reference", *scenario.JANE),
        note="Follow-up: postmortem scheduled",
    )
    pd.inject_fault("/log_entries", "insert", entries=[late])
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert result.exit_code == 0, result.output
    ids = pagerduty_entry_ids(out)
    assert len(ids) == PD_EVENTS + BURST + 1
    assert ids.count("RLATE01") == 1 and len(set(ids)) == len(ids)


def test_a_total_that_keeps_disagreeing_is_reported_not_fatal(
    config: Path, pd: PagerDutyStandIn, paged: list[str], tmp_path: Path
) -> None:
    """Pages that skip a record on every read keep what they gave and say so in detail, exit 0."""
    pd.inject_fault("/log_entries", "shift", shift=-1, times=10)
    out = tmp_path / "pm.json"
    result = draft(config, out, "json")
    assert result.exit_code == 0, result.output
    assert_clean(result, out)
    ids = pagerduty_entry_ids(out)
    assert len(ids) == len(set(ids)) == PD_EVENTS + BURST - 1
    report = next(
        s
        for s in json.loads(out.read_text(encoding="utf-8"))["sources"]
        if s["name"] == "pagerduty"
    )
    assert report["status"] == "ok"
    assert report["detail"] == (
        f"{REREAD}; GET /log_entries reported a total of {PD_EVENTS + BURST + 2} records but "
        f"its pages held {PD_EVENTS + BURST + 1} (its records moved while it was read, or its "
        "total is wrong); the records read are kept"
    )


def test_a_change_events_failure_is_its_own_line_in_sources(
    config: Path, pd: PagerDutyStandIn, tmp_path: Path
) -> None:
    """GET /change_events failing is a gap on the change events' own line, with its real cause,
    in the Markdown's Sources and Data gaps and in the JSON's sources; the incidents' line stays
    ok with every incident event drafted."""
    pd.inject("/change_events", 503, times=10)
    (tmp_path / "md").mkdir()
    md_out, json_out = tmp_path / "md" / "pm.md", tmp_path / "pm.json"
    md_result = draft(config, md_out)
    result = draft(config, json_out, "json")
    cause = "GET /change_events failed: 503 after 2 attempts"
    for run, out in ((md_result, md_out), (result, json_out)):
        assert run.exit_code == 3, run.output
        assert_clean(run, out)
        assert f"pmdraft: data gap: pagerduty:change_events failed: {cause}" in run.stderr
        assert "Traceback" not in run.stderr
    md = md_out.read_text(encoding="utf-8")
    sources = md.split("### Sources", 1)[1].split("<!-- pmdraft:end sources -->", 1)[0]
    rows = [line for line in sources.splitlines() if line.startswith("| PagerDuty")]
    assert rows[0] == f"| PagerDuty incidents and log entries | ok | {PD_EVENTS} | 3 |  |"
    assert rows[1].startswith(f"| PagerDuty change events | failed | 0 | 2 | {cause}")
    assert len(rows) == 2
    assert f"> - **PagerDuty change events**: {cause}" in md
    assert "**PagerDuty incidents and log entries**:" not in md
    data = json.loads(json_out.read_text(encoding="utf-8"))
    by_name = {s["name"]: s for s in data["sources"]}
    assert (by_name["pagerduty"]["status"], by_name["pagerduty"]["error"]) == ("ok", None)
    assert by_name["pagerduty"]["events"] == PD_EVENTS
    changes = by_name["pagerduty:change_events"]
    assert (changes["status"], changes["events"], changes["requests"]) == ("failed", 0, 2)
    assert changes["error"].startswith(cause)
    assert len(pagerduty_entry_ids(json_out)) == PD_EVENTS
