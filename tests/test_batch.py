"""`pmdraft batch` as a library: each qualifying incident drafted once, resumable, shared safely."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pmdraft.batch import Batch, BatchResult, open_sink, open_state
from pmdraft.config import load_config
from pmdraft.living import blocks
from pmdraft.model import UTC
from pmdraft.render import render_markdown
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, incident, log_entry
from pmdraft.state import SqliteState
from pmdraft.state_dynamo import DynamoState

from .conftest import TOKEN, write_config

NOW = datetime.now(UTC).replace(microsecond=0)
ENV = {"PAGERDUTY_API_TOKEN": TOKEN}


def seed(
    pd: PagerDutyStandIn,
    count: int = 4,
    overrides: dict[int, dict] | None = None,
    spread: float = 1,
) -> list[dict]:
    """``count`` incidents resolved in the last hours, ``spread`` hours apart (the newest created
    ``spread`` hours ago), each with three log entries. A spread of 6 hours puts each incident's
    reads in a span of its own (a batch run reads once per merged span)."""
    incidents = []
    for n in range(1, count + 1):
        created = NOW - timedelta(hours=spread * (count - n + 1))
        fields = dict(
            id=f"QB{n:03d}",
            number=100 + n,
            title=f"Checkout errors {n}",
            created_at=created,
            service_id="PSVC001",
            service_name="api",
            priority="P1",
            urgency="high",
            resolved_at=created + timedelta(minutes=55),
            teams=[("PTEAM1", "Payments")],
        )
        fields.update((overrides or {}).get(n, {}))
        incidents.append(incident(**fields))
    pd.add_incidents(incidents)
    pd.add_log_entries(
        [
            log_entry(
                id=f"{inc['id']}-{kind}",
                type=f"{kind}_log_entry",
                incident=inc,
                created_at=datetime.fromisoformat(inc["created_at"]) + timedelta(minutes=offset),
                agent=("user_reference", "PU1", "Ana"),
            )
            for inc in incidents
            for kind, offset in (("trigger", 0), ("acknowledge", 3), ("resolve", 55))
        ]
    )
    return incidents


def config_for(pd: PagerDutyStandIn, tmp_path: Path, batch: str = "") -> Path:
    return write_config(tmp_path / "pm.toml", pd=pd, extra=f'[batch]\noutput = "drafts"\n{batch}')


def make_batch(config: Path, **kwargs) -> Batch:
    cfg = load_config(config)
    state = kwargs.pop("state", None) or open_state(cfg)
    return Batch(
        cfg, ENV, state=state, sink=open_sink(cfg), render=lambda d: render_markdown(d), **kwargs
    )


def drafted(result: BatchResult) -> list[int | None]:
    return [o.number for o in result.outcomes if o.status == "drafted"]


def log_reads(pd: PagerDutyStandIn) -> tuple[dict[str, int], int]:
    """How many times each incident's own log entries were read (never, in a batch run), and how
    many ``GET /log_entries`` stream requests were made (one per merged span and run)."""
    counts: dict[str, int] = {}
    for r in pd.requests:
        if r.path.startswith("/incidents/") and r.path.endswith("/log_entries"):
            counts[r.path.split("/")[2]] = counts.get(r.path.split("/")[2], 0) + 1
    return counts, sum(1 for r in pd.requests if r.path == "/log_entries")


def test_two_runs_draft_each_incident_once(pd, tmp_path: Path) -> None:
    """The second run over the same incidents drafts nothing and says they were already drafted."""
    seed(pd, 3)
    config = config_for(pd, tmp_path)
    first = make_batch(config).run(NOW)
    assert drafted(first) == [101, 102, 103] and first.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "drafts").iterdir())
    assert files == [
        "101-checkout-errors-1.md",
        "102-checkout-errors-2.md",
        "103-checkout-errors-3.md",
    ]
    before = {p: p.read_bytes() for p in (tmp_path / "drafts").iterdir()}
    second = make_batch(config).run(NOW + timedelta(minutes=1), since=NOW - timedelta(days=1))
    assert (
        second.summary()
        == "pmdraft batch: 0 drafted, 0 partial, 0 failed, 3 skipped (already drafted)"
    )
    assert {p: p.read_bytes() for p in (tmp_path / "drafts").iterdir()} == before
    assert log_reads(pd) == ({}, 1), "one stream over the merged span, none per incident"
    text = (tmp_path / "drafts" / "102-checkout-errors-2.md").read_text(encoding="utf-8")
    assert (
        text.startswith("# Postmortem: Checkout errors 2\n")
        and "PagerDuty #102 acknowledged by Ana" in text
    )


def test_a_run_killed_after_the_second_incident_is_completed_by_the_next(
    pd, tmp_path: Path
) -> None:
    """After a crash mid-run, the next run drafts the rest: every draft exists once, none twice."""
    seed(pd, 4)
    config = config_for(pd, tmp_path)
    seen: list[int | None] = []

    def crash_after_two(outcome) -> None:
        seen.append(outcome.number)
        if len(seen) == 2:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        make_batch(config, after_incident=crash_after_two).run(NOW)
    state = SqliteState(tmp_path / "pmdraft-state.sqlite3")
    assert state.high_water_mark() is None, "a killed run does not move the mark"
    state.close()
    second = make_batch(config).run(NOW + timedelta(minutes=1))
    assert drafted(second) == [103, 104]
    assert (
        second.summary()
        == "pmdraft batch: 2 drafted, 0 partial, 0 failed, 2 skipped (already drafted)"
    )
    assert len(list((tmp_path / "drafts").iterdir())) == 4
    assert log_reads(pd) == ({}, 2), "one stream per run, none per incident"
    state = SqliteState(tmp_path / "pmdraft-state.sqlite3")
    assert state.high_water_mark() == NOW + timedelta(minutes=1)
    assert [
        (r.number, r.status, r.attempts) for r in (state.get(f"QB00{n}") for n in range(1, 5))
    ] == [(101, "complete", 1), (102, "complete", 1), (103, "complete", 1), (104, "complete", 1)]
    state.close()


def test_a_run_killed_while_drafting_is_retried_once_its_claim_expires(pd, tmp_path: Path) -> None:
    """An incident whose run died mid-draft without a word (SIGKILL, power loss: no release) is
    skipped while claimed, then drafted by a later run."""
    seed(pd, 2)
    config = config_for(pd, tmp_path, "claim_minutes = 10\n")

    def die(draft) -> str:
        raise KeyboardInterrupt("killed while rendering")

    job = make_batch(config)
    job.render = die
    job.state.release = lambda incident_id, runner: None  # a SIGKILL gets no chance to release
    with pytest.raises(KeyboardInterrupt):
        job.run(NOW)
    soon = make_batch(config).run(NOW + timedelta(minutes=5))
    assert [(o.number, o.status, o.reason) for o in soon.outcomes] == [
        (101, "skipped", "claimed by another runner"),
        (102, "drafted", "new"),
    ]
    later = make_batch(config).run(NOW + timedelta(minutes=11))
    assert [(o.number, o.status, o.reason) for o in later.outcomes] == [
        (101, "drafted", "retry"),
        (102, "skipped", "already drafted"),
    ]
    assert len(list((tmp_path / "drafts").iterdir())) == 2


def test_an_interrupted_run_releases_its_claim_and_writes_no_half_file(pd, tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) while drafting gives the incident back at once: the next run drafts it,
    with no "claimed by another runner", and the interrupted run left no file at all."""
    seed(pd, 2)
    config = config_for(pd, tmp_path, "claim_minutes = 30\n")

    def interrupted(draft) -> str:
        raise KeyboardInterrupt

    job = make_batch(config)
    job.render = interrupted
    with pytest.raises(KeyboardInterrupt):
        job.run(NOW)
    drafts = tmp_path / "drafts"
    assert not drafts.exists() or list(drafts.iterdir()) == []
    state = SqliteState(tmp_path / "pmdraft-state.sqlite3")
    rec = state.get("QB001")
    assert rec is not None and rec.status == "" and rec.attempts == 0
    state.close()
    soon = make_batch(config).run(NOW + timedelta(minutes=1))
    assert [(o.number, o.status) for o in soon.outcomes] == [(101, "drafted"), (102, "drafted")]
    assert sorted(p.name for p in drafts.iterdir()) == [
        "101-checkout-errors-1.md",
        "102-checkout-errors-2.md",
    ]


def test_a_partial_draft_is_retried_until_complete(pd, tmp_path: Path) -> None:
    """A draft missing PagerDuty's log entries exits 3, and the next run completes it in place;
    the incident in another span of the same run is drafted whole."""
    seed(pd, 2, spread=6)
    config = config_for(pd, tmp_path)

    def fail_the_next_stream(outcome) -> None:
        if outcome.number == 101:
            pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})

    first = make_batch(config, after_incident=fail_the_next_stream).run(NOW)
    assert [(o.number, o.status) for o in first.outcomes] == [(101, "drafted"), (102, "partial")]
    assert first.exit_code == 3
    assert (
        first.summary()
        == "pmdraft batch: 1 drafted, 1 partial, 0 failed, 0 skipped (already drafted)"
    )
    path = tmp_path / "drafts" / "102-checkout-errors-2.md"
    assert "> **Data gaps:**" in path.read_text(encoding="utf-8")
    second = make_batch(config).run(NOW + timedelta(hours=1))
    assert [(o.number, o.status, o.reason, o.attempts) for o in second.outcomes] == [
        (102, "drafted", "retry", 2)
    ]
    text = path.read_text(encoding="utf-8")
    assert "Data gaps" not in text and "PagerDuty #102 acknowledged by Ana" in text


def test_an_incident_that_keeps_failing_is_given_up_after_max_attempts(pd, tmp_path: Path) -> None:
    """With max_attempts = 2, a source failing every time is tried twice, then skipped."""
    seed(pd, 1)
    config = config_for(pd, tmp_path, "max_attempts = 2\n")
    pd.inject("/log_entries", 503, times=100, headers={"Retry-After": "0"})
    runs = [make_batch(config).run(NOW + timedelta(hours=h)) for h in range(3)]
    assert [r.summary() for r in runs] == [
        "pmdraft batch: 0 drafted, 1 partial, 0 failed, 0 skipped (already drafted)",
        "pmdraft batch: 0 drafted, 1 partial, 0 failed, 0 skipped (already drafted)",
        "pmdraft batch: 0 drafted, 0 partial, 0 failed, 0 skipped (already drafted)",
    ]


def test_an_incident_pagerduty_cannot_find_fails_with_exit_1(pd, tmp_path: Path) -> None:
    """Drafting alone (no shared reads), an incident whose own GET fails is a failure (exit 1)
    recorded with its error, and retried."""
    seed(pd, 1)
    config = config_for(pd, tmp_path)
    pd.inject("/incidents/QB001", 404, times=1)
    result = make_batch(config, share_reads=False).run(NOW)
    [outcome] = result.outcomes
    assert (outcome.status, result.exit_code) == ("failed", 1)
    assert "PagerDuty has no incident QB001" in outcome.error
    assert drafted(make_batch(config).run(NOW + timedelta(hours=1))) == [101]


def test_dry_run_lists_and_changes_nothing(pd, tmp_path: Path) -> None:
    """--dry-run names what would be drafted, writes no draft and leaves the mark unset."""
    seed(pd, 2)
    config = config_for(pd, tmp_path)
    result = make_batch(config).run(NOW, dry_run=True)
    assert [(o.number, o.status, o.reason) for o in result.outcomes] == [
        (101, "would_draft", "new"),
        (102, "would_draft", "new"),
    ]
    assert (
        result.summary()
        == "pmdraft batch --dry-run: 2 would be drafted, 0 skipped (already drafted)"
    )
    assert not (tmp_path / "drafts").exists()
    assert drafted(make_batch(config).run(NOW)) == [101, 102]


def test_filters_keep_only_matching_priority_urgency_service_and_team(pd, tmp_path: Path) -> None:
    """Only incidents matching every [batch] filter are drafted."""
    seed(
        pd,
        5,
        {
            2: {"priority": "P3"},
            3: {"urgency": "low"},
            4: {"service_id": "PSVC009"},
            5: {"teams": [("PTEAM2", "Web")]},
        },
    )
    config = config_for(
        pd,
        tmp_path,
        'priorities = ["P1", "P2"]\nurgencies = ["high"]\n'
        'service_ids = ["PSVC001"]\nteam_ids = ["PTEAM1"]\n',
    )
    assert drafted(make_batch(config).run(NOW)) == [101]


def test_the_first_run_looks_back_lookback_hours_and_later_runs_from_the_mark(
    pd, tmp_path: Path
) -> None:
    """The first run drafts incidents resolved in the lookback; --since backfills older ones."""
    seed(pd, 4)  # resolved about 3h05, 2h05, 1h05 and 0h05 ago
    config = config_for(pd, tmp_path, "lookback_hours = 2.5\n")
    assert drafted(make_batch(config).run(NOW)) == [102, 103, 104]
    assert drafted(make_batch(config).run(NOW + timedelta(hours=1))) == []
    backfill = make_batch(config).run(NOW + timedelta(hours=1), since=NOW - timedelta(days=1))
    assert drafted(backfill) == [101]


def outside_blocks(text: str) -> str:
    """``text`` with each pmdraft block's marker lines and content cut out: the person's part."""
    out, pos = [], 0
    for b in blocks(text):
        out.append(text[pos : b.start])
        pos = text.index("-->", b.content_end) + len("-->")
    return "".join(out) + text[pos:]


def test_human_edits_survive_a_redraft_and_edited_blocks_are_proposed(pd, tmp_path: Path) -> None:
    """A partial draft redrafted after a person edited it keeps their text; their edited block yields a proposal."""
    seed(pd, 1)
    config = config_for(pd, tmp_path)
    pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})
    make_batch(config).run(NOW)
    path = tmp_path / "drafts" / "101-checkout-errors-1.md"
    text = path.read_text(encoding="utf-8")
    edited = (
        text.replace(
            "_To be written: the technical explanation of what failed and why._",
            "The connection pool leaked.\r\n  Found by Ana.",
        )
        .replace(
            "### Monitoring Graphs\n\n<!-- pmdraft:begin graphs",
            "### Monitoring Graphs\n\n<!-- pmdraft:begin graphs",
        )
        .replace(
            "_To be written: graphs of the alarmed metrics during the incident._",
            "![errors](errors.png)",
        )
    )
    path.write_text(edited, encoding="utf-8", newline="")
    result = make_batch(config).run(NOW + timedelta(hours=1))
    [outcome] = result.outcomes
    assert outcome.status == "drafted" and outcome.kept == ("graphs",)
    assert outcome.proposal == str(tmp_path / "drafts" / "101-checkout-errors-1.proposed.md")
    with open(path, encoding="utf-8", newline="") as handle:
        after = handle.read()
    assert (
        "The connection pool leaked.\r\n  Found by Ana." in after
        and "![errors](errors.png)" in after
    )
    assert "Data gaps" not in after and "acknowledged by Ana" in after
    assert outside_blocks(after) == outside_blocks(edited), "every byte outside the blocks stays"
    proposal = Path(outcome.proposal).read_text(encoding="utf-8")
    assert "_To be written: graphs of the alarmed metrics during the incident._" in proposal


@pytest.fixture
def dynamo(moto):
    """A fresh DynamoDB table in moto with the string hash key pmdraft expects."""
    client = moto.client("dynamodb")
    client.create_table(
        TableName="pmdraft-state",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return moto


@pytest.mark.parametrize("store", ["dynamodb", "sqlite"])
def test_two_concurrent_runners_draft_each_incident_exactly_once(
    pd, dynamo, tmp_path: Path, store: str
) -> None:
    """Two runners started together share six incidents between them, each drafted by exactly one."""
    seed(pd, 6)
    config = config_for(
        pd,
        tmp_path,
        f'state = "{store}"\ntable = "pmdraft-state"\naws_region = "us-east-1"\n'
        f'aws_endpoint_url = "{dynamo.endpoint_url}"\n',
    )
    start = threading.Barrier(2)
    results: dict[str, BatchResult] = {}

    def runner(name: str) -> None:
        try:
            job = make_batch(config, runner=name)
            start.wait(timeout=60)  # a runner that failed to start breaks the barrier, no hang
            results[name] = job.run(NOW)
        except BaseException as exc:  # shown by the assertion below
            start.abort()
            results[name] = exc  # type: ignore[assignment]

    threads = [threading.Thread(target=runner, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, BatchResult) for r in results.values()), results
    by_a, by_b = drafted(results["a"]), drafted(results["b"])
    assert sorted(by_a + by_b) == [101, 102, 103, 104, 105, 106] and not set(by_a) & set(by_b)
    per_incident, streams = log_reads(pd)
    assert per_incident == {} and streams <= 2, "at most one stream per runner"
    assert all(o.status in ("drafted", "skipped") for r in results.values() for o in r.outcomes)
    state = open_state(load_config(config))
    assert isinstance(state, DynamoState if store == "dynamodb" else SqliteState)
    assert state.high_water_mark() == NOW
    assert {state.get(f"QB00{n}").status for n in range(1, 7)} == {"complete"}
    again = make_batch(config).run(NOW + timedelta(minutes=1), since=NOW - timedelta(days=1))
    assert (
        again.summary()
        == "pmdraft batch: 0 drafted, 0 partial, 0 failed, 6 skipped (already drafted)"
    )
