"""The public surface: every command has help with an example; the README shows the two commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli

from .conftest import REPO


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(command: str) -> None:
    """`pmdraft COMMAND --help` exits 0 and shows an example invocation."""
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"pmdraft {command}" in result.output


def test_readme_first_screen_shows_demo_and_test() -> None:
    """The README's first 40 lines give `make demo` and `make test`."""
    head = "\n".join((REPO / "README.md").read_text(encoding="utf-8").splitlines()[:40])
    assert "make demo" in head and "make test" in head


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls `make test`, the command the README gives."""
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_excerpt_is_the_top_of_a_real_demo_draft(tmp_path: Path) -> None:
    """The README's "What a draft looks like" block is, line for line, the start of `pmdraft demo`'s draft."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## What a draft looks like\n", 1)[1]
    excerpt = section.split("```markdown\n", 1)[1].split("```\n", 1)[0].splitlines()
    assert len(excerpt) > 40 and excerpt[-1].startswith("| 14:")
    out = tmp_path / "demo.md"
    result = CliRunner().invoke(cli, ["demo", "-q", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    draft = out.read_text(encoding="utf-8").splitlines()
    assert draft[: len(excerpt)] == excerpt, (
        "paste the top of a fresh `pmdraft demo` draft into the README"
    )
    assert (REPO / "docs" / "demo-draft.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
