"""`draft -o x.md` writes the JSON draft x.json beside it (the Markdown's "see JSON" pointers refer
to it), unless --no-json; a person's file of that name is never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli

LINE = '{"timestamp": "2024-01-15T14:15:00Z", "status": "succeeded", "version": "v2.3.4"}\n'
WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:00:00Z"]


def config(tmp_path: Path) -> Path:
    (tmp_path / "deploys.jsonl").write_text(LINE, encoding="utf-8")
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[[deploys]]\npath = "deploys.jsonl"\n', encoding="utf-8")
    return cfg


def draft(tmp_path: Path, out: Path, *extra: str):
    args = ["draft", *WINDOW, "--config", str(config(tmp_path)), "-o", str(out), *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_draft_o_writes_the_json_beside_the_markdown(tmp_path: Path) -> None:
    """x.md and x.json, the JSON holding the deploy the Markdown shows."""
    result = draft(tmp_path, tmp_path / "x.md")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert data["schema"].startswith("pmdraft/draft-")
    assert [e["summary"] for e in data["events"]] == ["v2.3.4 deployed to an unnamed environment"]


def test_no_json_writes_only_the_markdown(tmp_path: Path) -> None:
    """--no-json: x.md alone."""
    result = draft(tmp_path, tmp_path / "x.md", "--no-json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.md").exists() and not (tmp_path / "x.json").exists()


def test_a_person_s_json_of_that_name_stops_the_run_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """An x.json that is not a pmdraft draft: exit 1, its bytes untouched, no x.md."""
    mine = tmp_path / "x.json"
    mine.write_text('{"my": "notes"}\n', encoding="utf-8")
    result = draft(tmp_path, tmp_path / "x.md")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {mine} exists and is not a pmdraft JSON draft; move it, or pass --no-json\n"
    )
    assert mine.read_text(encoding="utf-8") == '{"my": "notes"}\n'
    assert not (tmp_path / "x.md").exists()
