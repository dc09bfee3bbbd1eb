"""`draft -o x.md` writes the JSON draft x.json beside it (the Markdown's "see JSON" pointers refer
to it), unless --no-json; a person's file of that name is never overwritten."""

from __future__ import annotations

import json
import subprocess
import sys
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


def many_deploys(tmp_path: Path, count: int = 300) -> Path:
    """A config whose only source is a deploy log of ``count`` deploys (a JSON of ~110 KB)."""
    lines = [
        json.dumps(
            {
                "timestamp": f"2024-01-15T14:{i // 10:02d}:{i % 10:02d}Z",
                "status": "succeeded",
                "version": f"v2.3.{i}",
                "service": "checkout",
            }
        )
        for i in range(count)
    ]
    (tmp_path / "deploys.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[[deploys]]\npath = "deploys.jsonl"\n', encoding="utf-8")
    return cfg


def run_cli(args: list[str], file_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """pmdraft in its own process (one thread, so the JSON is written by a forked child), with
    files limited to ``file_limit`` bytes if given (a full disk or quota, as the kernel says)."""
    limit = (
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({file_limit}, resource.RLIM_INFINITY))"
        if file_limit
        else ""
    )
    script = f"import resource, sys\n{limit}\nfrom pmdraft.cli import main\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_json_beside_is_whole_and_the_same_as_format_json(tmp_path: Path) -> None:
    """x.json (written while x.md renders) holds exactly what --format json prints."""
    cfg = many_deploys(tmp_path)
    done = run_cli(["draft", *WINDOW, "--config", str(cfg), "-o", str(tmp_path / "x.md"), "-q"])
    assert done.returncode == 0, done.stderr
    printed = CliRunner().invoke(cli, ["draft", *WINDOW, "--config", str(cfg), "--format", "json"])
    assert printed.exit_code == 0, printed.output
    assert (tmp_path / "x.json").read_text(encoding="utf-8") == printed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "deploys.jsonl",
        "pm.toml",
        "x.json",
        "x.md",
    ]


def test_a_json_that_cannot_be_written_exits_1_with_the_reason_and_no_half_file(
    tmp_path: Path,
) -> None:
    """Files capped at 60 KB: x.md (27 KB) is written, x.json (110 KB) fails whole: exit 1,
    the reason on stderr, no x.json and no temporary file left."""
    cfg = many_deploys(tmp_path)
    out = tmp_path / "x.md"
    done = run_cli(["draft", *WINDOW, "--config", str(cfg), "-o", str(out), "-q"], 60_000)
    assert done.returncode == 1
    assert done.stderr.endswith(
        f"Error: {tmp_path / 'x.json'} could not be written: [Errno 27] File too large\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploys.jsonl", "pm.toml", "x.md"]
