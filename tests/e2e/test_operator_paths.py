"""What an operator meets: -o checked before any request, umask honoured, -v anywhere, a request
ceiling that ends one source as a named gap, a window in the future refused."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.output import write_atomic
from pmdraft.sandbox import scenario
from tests.conftest import TOKEN, write_config

WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


def test_an_unwritable_output_folder_is_one_line_and_nothing_is_fetched(
    pd, tmp_path: Path, monkeypatch
) -> None:
    """-o into a folder that refuses new files: one line naming the folder and the fix, exit 1, no request."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    cfg = write_config(tmp_path / "pm.toml", pd=pd)
    if os.geteuid() == 0:
        folder = Path("/sys")  # root writes through any mode bits, but not into sysfs
    else:
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o555)
    result = CliRunner().invoke(
        cli, ["draft", *WINDOW, "--config", str(cfg), "-o", str(folder / "pm.md")]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: -o {folder}/pm.md: the folder {folder} is not writable (Permission denied); "
        "make it writable or choose another -o path\n"
    )
    assert "Traceback" not in result.output
    assert pd.requests == []


def test_a_missing_output_folder_is_named_and_not_created(pd, tmp_path: Path, monkeypatch) -> None:
    """-o /missing/dir/x.md is an error naming the folder; no folder is made and nothing is fetched."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    cfg = write_config(tmp_path / "pm.toml", pd=pd)
    out = tmp_path / "missing" / "dir" / "x.md"
    result = CliRunner().invoke(cli, ["draft", *WINDOW, "--config", str(cfg), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: -o {out}: the folder {out.parent} does not exist; create it "
        f"(mkdir -p {out.parent}) or choose another -o path\n"
    )
    assert not (tmp_path / "missing").exists()
    assert pd.requests == []


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_drafts_honour_the_umask_and_leave_no_temporary_file(
    tmp_path: Path, umask: int, mode: int
) -> None:
    """A written file has the mode a plain open() gives (0666 & ~umask), and only it is left."""
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "pm.md", "# draft\n")
    finally:
        os.umask(old)
    assert (tmp_path / "pm.md").stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["pm.md"]


def test_write_atomic_refuses_a_missing_folder(tmp_path: Path) -> None:
    """The library never makes the draft's folder silently either."""
    from pmdraft.errors import OutputError

    with pytest.raises(OutputError, match=r"the folder .*nope does not exist; create it first"):
        write_atomic(tmp_path / "nope" / "pm.md", "x")
    assert not (tmp_path / "nope").exists()


def test_a_window_wholly_in_the_future_is_a_usage_error(tmp_path: Path) -> None:
    """--since after now exits 2, naming the window and now; nothing is written."""
    cfg = write_config(tmp_path / "pm.toml", deploys=[])
    out = tmp_path / "pm.md"
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            "2099-01-01T00:00:00Z",
            "--until",
            "2099-01-02T00:00:00Z",
            "--config",
            str(cfg),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert (
        "the window 2099-01-01T00:00:00Z to 2099-01-02T00:00:00Z is entirely after now ("
        in result.stderr
    )
    assert "nothing has happened in it yet; give a --since in the past" in result.stderr
    assert not out.exists()


def test_a_window_partly_in_the_future_is_drafted_with_a_note(tmp_path: Path) -> None:
    """A window running past now is drafted (exit 0) and stderr says nothing is known after now."""
    cfg = write_config(tmp_path / "pm.toml", deploys=[])
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = CliRunner().invoke(
        cli, ["draft", "--since", since, "--until", "2099-01-01T00:00:00Z", "--config", str(cfg)]
    )
    assert result.exit_code == 0, result.output
    assert "pmdraft: note: the window ends at 2099-01-01T00:00:00Z, after now (" in result.stderr
    assert "nothing is known after now" in result.stderr


def test_the_request_ceiling_ends_one_source_as_a_named_gap(
    moto, pd, tmp_path: Path, monkeypatch
) -> None:
    """[run] max_requests = 3: PagerDuty's two lines (incidents, 3 requests in the demo, and
    change events, 1) share the ceiling, so exactly one of them, whichever asks last, stops as a
    named gap after 3 requests between them, exit 3; CloudWatch (3 requests) and the deploy file
    go on and their events are drafted."""
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    cfg = scenario.seed(moto, pd, work, token_env="PAGERDUTY_API_TOKEN")
    cfg.write_text(
        cfg.read_text(encoding="utf-8") + "\n[run]\nmax_requests = 3\n", encoding="utf-8"
    )
    out = tmp_path / "pm.json"
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            "2024-01-15T14:00:00Z",
            "--until",
            "2024-01-15T15:30:00Z",
            "--config",
            str(cfg),
            "--format",
            "json",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 3, result.output
    ceiling = (
        "failed: stopped after 3 requests, the per-run ceiling [run] max_requests; narrow the "
        "window or raise it"
    )
    gaps = [
        n
        for n in ("pagerduty", "pagerduty:change_events")
        if f"gap: {n} {ceiling}" in result.stderr
    ]
    assert len(gaps) == 1, result.stderr
    import json

    reports = {r["name"]: r for r in json.loads(out.read_text(encoding="utf-8"))["sources"]}
    lines = [reports["pagerduty"], reports["pagerduty:change_events"]]
    assert sorted(r["status"] for r in lines) == ["failed", "ok"]
    assert sum(r["requests"] for r in lines) == 3
    assert reports[gaps[0]]["status"] == "failed"
    assert reports["cloudwatch"]["status"] == "ok" and reports["cloudwatch"]["events"] == 6
    assert reports["deploys:deploys.jsonl"]["status"] == "ok"
    assert len(pd.requests) == 3, "the fourth request was never sent"


def test_verbose_after_the_subcommand_logs_sources_not_matplotlib(tmp_path: Path) -> None:
    """`pmdraft demo -v` logs one INFO line per source and no third-party debug (matplotlib fonts)."""
    out = tmp_path / "demo.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGERDUTY")}
    done = subprocess.run(
        [sys.executable, "-m", "pmdraft.cli", "demo", "-o", str(out), "-v"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pmdraft: INFO: source pagerduty: ok, 3 requests, 11 events" in done.stderr
    assert "pmdraft: INFO: source pagerduty:change_events: ok, 1 requests, 0 events" in done.stderr
    assert "pmdraft: INFO: source cloudwatch: ok, 3 requests" in done.stderr
    assert "pmdraft: INFO: source deploys:" in done.stderr
    assert "matplotlib" not in done.stderr and "findfont" not in done.stderr
    assert "DEBUG" not in done.stderr
