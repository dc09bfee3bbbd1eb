"""`pmdraft batch` and `pmdraft draft --update` end to end: S3 in moto, notes in the PagerDuty stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario
from tests.conftest import TOKEN
from tests.test_batch import config_for, seed


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def seeded(pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three incidents resolved in the last day, each in a read span of its own, and a config
    whose drafts go to ./drafts."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    seed(pd, 3, spread=6)
    return config_for(pd, tmp_path)


def test_batch_prints_each_draft_and_a_one_line_summary(seeded: Path, tmp_path: Path) -> None:
    """A run prints the drafts' paths on stdout and the summary on stderr; the rerun drafts nothing."""
    first = run("batch", "--config", str(seeded))
    assert first.exit_code == 0, first.output
    drafts = tmp_path / "drafts"
    assert first.stdout.splitlines() == [
        str(drafts / f"10{n}-checkout-errors-{n}.md") for n in (1, 2, 3)
    ]
    assert (
        first.stderr
        == "pmdraft batch: 3 drafted, 0 partial, 0 failed, 0 skipped (already drafted)\n"
    )
    again = run("batch", "--config", str(seeded), "--since", "2020-01-01T00:00:00Z")
    assert again.exit_code == 0 and again.stdout == ""
    assert (
        again.stderr
        == "pmdraft batch: 0 drafted, 0 partial, 0 failed, 3 skipped (already drafted)\n"
    )


def test_batch_log_json_gives_one_line_per_incident_and_exit_3_when_partial(
    seeded: Path, pd
) -> None:
    """--log-json writes a JSON line per incident and a summary line; a partial draft exits 3."""
    pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})
    result = run("batch", "--config", str(seeded), "--log-json")
    assert result.exit_code == 3, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["event"], e.get("number"), e.get("status")) for e in lines] == [
        ("incident", 101, "partial"),
        ("incident", 102, "drafted"),
        ("incident", 103, "drafted"),
        ("summary", None, None),
    ]
    assert "GET /log_entries failed: 503" in lines[0]["error"]
    assert (
        lines[3]["summary"]
        == "pmdraft batch: 2 drafted, 1 partial, 0 failed, 0 skipped (already drafted)"
    )
    assert lines[3]["exit_code"] == 3


def test_batch_dry_run_lists_without_writing(seeded: Path, tmp_path: Path) -> None:
    """--dry-run prints what it would draft and writes neither drafts nor notes."""
    result = run("batch", "--config", str(seeded), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"would draft #10{n} (new): Checkout errors {n}" for n in (1, 2, 3)
    ]
    assert (
        result.stderr
        == "pmdraft batch --dry-run: 3 would be drafted, 0 skipped (already drafted)\n"
    )
    assert not (tmp_path / "drafts").exists()


def test_batch_writes_to_s3_under_the_same_names(
    pd, moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With -o s3://bucket/prefix/ each draft is an object named like the file, refreshed in place."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    seed(pd, 2, spread=6)
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="postmortems")
    config = config_for(
        pd, tmp_path, f'aws_region = "us-east-1"\naws_endpoint_url = "{moto.endpoint_url}"\n'
    )
    pd.inject("/log_entries", 503, times=3, headers={"Retry-After": "0"})
    result = run("batch", "--config", str(config), "-o", "s3://postmortems/team/pm/")
    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [
        "s3://postmortems/team/pm/101-checkout-errors-1.md",
        "s3://postmortems/team/pm/102-checkout-errors-2.md",
    ]
    key = "team/pm/101-checkout-errors-1.md"
    body = s3.get_object(Bucket="postmortems", Key=key)["Body"].read().decode()
    assert body.startswith("# Postmortem: Checkout errors 1\n") and "> **Data gaps:**" in body
    edited = body.replace("_To be written: the pull request that fixed it._", "PR #77")
    s3.put_object(Bucket="postmortems", Key=key, Body=edited.encode())
    retry = run("batch", "--config", str(config), "-o", "s3://postmortems/team/pm/")
    assert retry.exit_code == 0, retry.output
    body = s3.get_object(Bucket="postmortems", Key=key)["Body"].read().decode()
    assert (
        "PR #77" in body
        and "Data gaps" not in body
        and "PagerDuty #101 acknowledged by Ana" in body
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="postmortems")["Contents"])
    assert keys == ["team/pm/101-checkout-errors-1.md", "team/pm/102-checkout-errors-2.md"]


def test_annotate_adds_one_note_per_incident(seeded: Path, pd, tmp_path: Path) -> None:
    """--annotate posts the draft's link as a note on each incident, with From, and never twice."""
    config = seeded
    config.write_text(
        config.read_text() + 'annotate_from = "pmdraft@example.com"\n'
        'link_base = "https://wiki.example.com/pm/"\n',
        encoding="utf-8",
    )
    pd.inject("/incidents/QB002/notes", 500, times=3, headers={"Retry-After": "0"})
    first = run("batch", "--config", str(config), "--annotate")
    assert first.exit_code == 1, first.output
    assert (
        "pmdraft: note not added: incident 102: pagerduty: GET /incidents/QB002/notes failed: 500"
        in first.stderr
    )
    second = run("batch", "--config", str(config), "--annotate", "--since", "2020-01-01T00:00:00Z")
    assert second.exit_code == 0, second.output
    assert (
        run(
            "batch", "--config", str(config), "--annotate", "--since", "2020-01-01T00:00:00Z"
        ).exit_code
        == 0
    )
    for n in (1, 2, 3):
        notes = pd.posted_notes(f"QB00{n}")
        assert [x["content"] for x in notes] == [
            f"Postmortem draft by pmdraft: https://wiki.example.com/pm/10{n}-checkout-errors-{n}.md"
        ]
        assert notes[0]["user"]["summary"] == "pmdraft@example.com"
    posts = [r for r in pd.requests if r.method == "POST"]
    assert [(r.path, r.status) for r in posts] == [
        (f"/incidents/QB00{n}/notes", 200) for n in (1, 3, 2)
    ]


def test_annotate_without_a_sender_is_explained(seeded: Path) -> None:
    """--annotate with no [batch] annotate_from exits 1 and says which key to set."""
    result = run("batch", "--config", str(seeded), "--annotate")
    assert result.exit_code == 1
    assert (
        "Error: --annotate needs the PagerDuty user the notes are added as: set [batch] annotate_from"
        in result.stderr
    )


@pytest.fixture
def demo_config(moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    return scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)


def test_draft_refuses_an_existing_file_without_update(demo_config: Path, tmp_path: Path) -> None:
    """`draft -o EXISTING.md` exits 1 naming --update and leaves the file as it was."""
    out = tmp_path / "pm.md"
    out.write_text("my notes\n", encoding="utf-8")
    result = run("draft", "--incident", "1234", "--config", str(demo_config), "-o", str(out))
    assert result.exit_code == 1
    assert (
        f"Error: {out} exists; pass --update to refresh the pmdraft blocks in it" in result.stderr
    )
    assert out.read_text(encoding="utf-8") == "my notes\n"


def test_draft_update_keeps_edits_and_proposes_an_edited_block(
    demo_config: Path, tmp_path: Path
) -> None:
    """--update keeps a person's text byte for byte, keeps their edited timeline and proposes the new one."""
    out = tmp_path / "pm.md"
    assert (
        run("draft", "--incident", "1234", "--config", str(demo_config), "-o", str(out)).exit_code
        == 0
    )
    original = out.read_text(encoding="utf-8")
    edited = original.replace(
        "_To be written: the technical explanation of what failed and why._",
        "Connection leak in v2.3.4's cache.",
    ).replace(
        "| 14:50:00 | CloudWatch alarm HighErrorRate: ALARM -> OK _[mitigated]_ |",
        "| 14:50:00 | Errors back to normal (Ana) |",
    )
    out.write_text(edited, encoding="utf-8")
    result = run(
        "draft",
        "--incident",
        "1234",
        "--config",
        str(demo_config),
        "-o",
        str(out),
        "--update",
        "--since",
        "2024-01-15T12:00:00Z",
    )
    assert result.exit_code == 0, result.output
    proposal = tmp_path / "pm.proposed.md"
    assert result.stderr.splitlines()[-1] == (
        f"pmdraft: kept the timeline block (edited by hand) in {out}; the new version is in {proposal}"
    )
    after = out.read_text(encoding="utf-8")
    assert (
        "Connection leak in v2.3.4's cache." in after
        and "| 14:50:00 | Errors back to normal (Ana) |" in after
    )
    assert "2024-01-15T12:00:00Z .. 2024-01-15T15:27:00Z" in after, (
        "the header's window is pmdraft's sentence, refreshed with the rest"
    )
    assert (
        after.split("<!-- pmdraft:end graphs -->")[1]
        == edited.split("<!-- pmdraft:end graphs -->")[1]
    )
    assert (
        "| 14:50:00 | CloudWatch alarm HighErrorRate: ALARM -> OK _[mitigated]_ |"
        in proposal.read_text(encoding="utf-8")
    )
    # The same window as the update above: the graphs' period follows the window (issue 17).
    unchanged = run(
        "draft",
        "--incident",
        "1234",
        "--config",
        str(demo_config),
        "-o",
        str(out),
        "--update",
        "--since",
        "2024-01-15T12:00:00Z",
    )
    assert unchanged.exit_code == 0 and out.read_text(encoding="utf-8") == after


def test_batch_dry_run_leaves_the_folder_as_it_was(seeded: Path, tmp_path: Path) -> None:
    """--dry-run creates no SQLite file, no draft folder, no state: only the config is there."""
    result = run("batch", "--config", str(seeded), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("would draft #10") == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pm.toml"]


def test_batch_dry_run_far_back_stops_at_the_request_ceiling(seeded: Path, pd) -> None:
    """`batch --dry-run --since 2015-...` with [run] max_requests = 2 stops after two listing
    requests with an error naming the ceiling and the fix, exit 1."""
    seeded.write_text(
        seeded.read_text(encoding="utf-8") + "\n[run]\nmax_requests = 2\n", encoding="utf-8"
    )
    result = run("batch", "--config", str(seeded), "--dry-run", "--since", "2015-01-01T00:00:00Z")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: listing the PagerDuty incidents resolved since 2015-01-01T00:00:00+00:00 stopped "
        "after 2 requests, the per-run ceiling [run] max_requests; narrow the window or raise it; "
        "use a later --since\n"
    )
    assert len(pd.requests) == 2


def test_sigterm_during_batch_releases_the_claim_and_exits_130(
    seeded: Path, pd, tmp_path: Path
) -> None:
    """SIGTERM while an incident is being drafted: exit 130, no draft file, the claim released,
    and the next run drafts that incident at once (no "claimed by another runner")."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    pd.inject_fault("/log_entries", "slow", seconds=3, times=2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmdraft.cli", "batch", "--config", str(seeded)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    first = tmp_path / "drafts" / "101-checkout-errors-1.md"
    while not first.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # now drafting #102, whose span's log entries answer slowly
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert (
        "pmdraft: batch interrupted: no incident is left claimed (the next run drafts it); "
        "no draft was half-written"
    ) in err
    assert "Traceback" not in err
    drafts = tmp_path / "drafts"
    assert [p.name for p in drafts.iterdir()] == ["101-checkout-errors-1.md"]
    db = sqlite3.connect(tmp_path / "pmdraft-state.sqlite3")
    rows = db.execute("SELECT claimed_by, status FROM incidents WHERE incident_id='QB002'")
    assert rows.fetchall() == [(None, "")]
    db.close()
    again = run("batch", "--config", str(seeded))
    assert again.exit_code == 0, again.output
    assert "claimed by another runner" not in again.output
    assert again.stdout.splitlines() == [
        str(drafts / "102-checkout-errors-2.md"),
        str(drafts / "103-checkout-errors-3.md"),
    ]


def test_batch_drafts_get_graphs_beside_them(demo_config: Path, tmp_path: Path) -> None:
    """A batch draft of the demo incident links its graphs, written in <name>-graphs/ beside it."""
    out = tmp_path / "drafts"
    result = run(
        "batch", "--config", str(demo_config), "--since", "2024-01-15T00:00:00Z", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    [draft] = [p for p in out.iterdir() if p.suffix == ".md"]
    folder = out / (draft.stem + "-graphs")
    pngs = sorted(p.name for p in folder.iterdir())
    assert "overview.png" in pngs and len(pngs) >= 2
    text = draft.read_text(encoding="utf-8")
    assert f"]({draft.stem}-graphs/overview.png)" in text
