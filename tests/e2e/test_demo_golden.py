"""The demo draft's bytes are pinned: a refactor that changes a word or a time of it fails here.

The golden files in ``tests/data/golden/`` were written by ``pmdraft demo -o pmdraft-demo.md`` at
the commit that added this test. A deliberate change to the draft re-writes them (run the demo and
copy both files); the diff then shows reviewers every changed line of what users read.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from click.testing import CliRunner

from pmdraft.cli import cli

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def test_demo_markdown_and_json_are_byte_for_byte_the_golden_ones(tmp_path: Path) -> None:
    """`pmdraft demo` writes exactly the pinned Markdown and JSON, graph links included."""
    out = tmp_path / "pmdraft-demo.md"
    result = CliRunner().invoke(cli, ["demo", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = out.read_text(encoding="utf-8")
    want = (GOLDEN / "pmdraft-demo.md").read_text(encoding="utf-8")
    diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "golden", "now", lineterm="")
    assert got == want, "\n".join(diff)
    assert out.with_suffix(".json").read_bytes() == (GOLDEN / "pmdraft-demo.json").read_bytes()
    assert sorted(p.name for p in (tmp_path / "pmdraft-demo-graphs").iterdir()) == [
        "HighErrorRate.png",
        "HighLatencyP99.png",
        "overview.png",
    ]
