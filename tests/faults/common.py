"""What the fault tests share: the worked example's window, drafting it, and a clean finish."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from pmdraft.cli import cli

SINCE, UNTIL = "2024-01-15T14:00:00Z", "2024-01-15T15:30:00Z"
LAST_LINE = "_To be written: the pull request that fixed it._\n"
"""The template's last line: a draft that ends with it was written whole."""


def draft(config: Path, out: Path, fmt: str = "markdown") -> Result:
    """``pmdraft draft`` of the worked example's window into ``out``."""
    args = ["draft", "--since", SINCE, "--until", UNTIL, "--config", str(config)]
    return CliRunner().invoke(cli, [*args, "--format", fmt, "-o", str(out)])


def assert_clean(result: Result, out: Path) -> None:
    """No traceback, no exception escaped, and no temporary file left next to the output."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert sorted(p.name for p in out.parent.glob(f".{out.name}.*")) == []
