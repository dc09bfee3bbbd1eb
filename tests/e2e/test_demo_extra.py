"""`pmdraft demo` without the demo extra says what to install in one line and exits 1."""

from __future__ import annotations

import subprocess
import sys

BLOCK_TRUSTME = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("trustme", "moto"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda n, *a: None if n in ("trustme", "moto") else _find(n, *a)
from pmdraft.cli import main
sys.argv = ["pmdraft", "demo", "-o", "demo.md"]
main()
"""


def test_demo_without_the_extra_prints_the_install_hint(tmp_path) -> None:
    """With moto and trustme missing, stderr is one line naming `pip install 'pmdraft[demo]'`."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_TRUSTME],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: pmdraft demo needs the demo extra (moto, trustme not installed): "
        "pip install 'pmdraft[demo]'\n"
    )
    assert list(tmp_path.iterdir()) == []
