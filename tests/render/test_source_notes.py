"""A source read with notes (a record skipped and named) says so at the top of the draft."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli

DETAIL = "1 malformed line skipped"


def test_a_skipped_deploy_line_is_named_under_source_notes(tmp_path: Path) -> None:
    """The good deploy is in the timeline and the bad line's file and number are in the notes."""
    log = tmp_path / "deploys.jsonl"
    log.write_text(
        '{"timestamp": "2024-01-15T14:15:00Z", "status": "succeeded", "version": "v2.3.4"}\n'
        '{"timestamp": "2024-01-15T14:20:00", "status": "succeeded", "version": "v2.3.5"}\n',
        encoding="utf-8",
    )
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[[deploys]]\npath = "deploys.jsonl"\n', encoding="utf-8")
    args = ["draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:00:00Z"]
    result = CliRunner().invoke(cli, [*args, "--config", str(cfg)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    top = result.stdout.split("## Summary", 1)[0]
    assert "> **Source notes:** read, with these notes" in top
    [line] = [n for n in top.splitlines() if n.startswith("> - **deploy log deploys.jsonl**")]
    assert f"{DETAIL}: {log}, line 2" in line
    assert "v2.3.4 deployed" in result.stdout and "v2.3.5" not in result.stdout
    assert f"pmdraft: note: deploys:deploys.jsonl: {DETAIL}: {log}, line 2" in result.stderr
