"""Monitoring graphs through the CLI: PNGs beside the draft, linked with alt text; skipped or explained otherwise."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.cli.write import start_graphs

WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


def draft(config: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        cli,
        ["draft", *WINDOW, "--config", str(config), "-o", str(out), *extra],
        catch_exceptions=False,
    )


def test_demo_draft_links_png_graphs_that_exist(demo_config: Path, tmp_path: Path) -> None:
    """The draft's Monitoring Graphs links an overview and one PNG per alarm, with alt text naming threshold and ALARM."""
    out = tmp_path / "pm.md"
    assert draft(demo_config, out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    block = text[
        text.index("<!-- pmdraft:begin graphs") : text.index("<!-- pmdraft:end graphs -->")
    ]
    assert "](pm-graphs/overview.png)" in block
    assert (
        "![HighErrorRate: HTTPCode_Target_5XX_Count (Sum per 10 s, UTC), threshold 5 (dashed line); "
        "ALARM shaded red: 14:32-14:41, 14:42-14:50; peak"
    ) in block
    assert "](pm-graphs/HighLatencyP99.png)" in block
    for name in ("overview.png", "HighErrorRate.png", "HighLatencyP99.png"):
        assert (tmp_path / "pm-graphs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_graphs_renders_the_draft_without_them(demo_config: Path, tmp_path: Path) -> None:
    """--no-graphs writes no PNG and leaves the Monitoring Graphs prompt for the writer."""
    out = tmp_path / "pm.md"
    assert draft(demo_config, out, "--no-graphs").exit_code == 0
    assert not (tmp_path / "pm-graphs").exists()
    assert "_To be written: graphs of the alarmed metrics during the incident._" in out.read_text(
        encoding="utf-8"
    )


def test_without_matplotlib_the_draft_says_how_to_get_graphs(
    demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without matplotlib the draft is still written (exit 0) and stderr and the draft name pmdraft[graphs]."""
    # None in sys.modules: `import matplotlib` fails and find_spec finds nothing, as uninstalled.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "pm.md"
    result = draft(demo_config, out)
    assert result.exit_code == 0
    assert (
        "pmdraft: the monitoring graphs need matplotlib, which is not installed: install pmdraft[graphs] "
        "(pip install 'pmdraft[graphs]') to draw them, or pass --no-graphs"
    ) in result.stderr
    assert "(graphs not drawn: install pmdraft[graphs])" in out.read_text(encoding="utf-8")
    assert not (tmp_path / "pm-graphs").exists()


def test_a_drawing_that_fails_is_an_error_naming_why(
    demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the drawing process cannot draw (its matplotlib is broken) the draft is written and linked, and the command exits 1 naming the failure."""
    broken = tmp_path / "broken" / "matplotlib"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise RuntimeError("this matplotlib is broken")\n')
    # The drawing process is a fresh Python that reads PYTHONPATH; this one keeps its sys.path.
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(broken.parent), path) if p))
    out = tmp_path / "pm.md"
    result = draft(demo_config, out)
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: the monitoring graphs could not be drawn: "
        "RuntimeError('this matplotlib is broken'); "
        f"{out} links them: run again, or pass --no-graphs\n"
    )
    assert "](pm-graphs/overview.png)" in out.read_text(encoding="utf-8")
    assert not (tmp_path / "pm-graphs").exists()


def test_a_command_that_stops_early_leaves_no_drawing_process(tmp_path: Path) -> None:
    """A command that started the drawing process and then failed has stopped it by the time it exits."""
    started = {}

    @click.command()
    def stops() -> None:
        start_graphs(str(tmp_path / "pm.md"), None, wanted=True)
        started.update(click.get_current_context().meta)
        raise click.ClickException("a source failed")

    result = CliRunner().invoke(stops)
    assert (result.exit_code, result.output) == (1, "Error: a source failed\n")
    drawing = started["pmdraft.graphs.started"]
    assert drawing.process.returncode is not None
    assert not (tmp_path / "pm-graphs").exists()
