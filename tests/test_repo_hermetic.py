"""The repository carries everything its code and tests read: nothing names a path outside it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Built from parts so this file does not trip its own check.
_SIBLING = "sh" + "ared"
_OUTSIDE = [
    re.compile(r"\.\./" + _SIBLING + r"\b"),
    re.compile(_SIBLING + r"/reference\b"),
    re.compile(r"REPO\.parent\b"),
    re.compile(r"\.parent\s*/\s*['\"]" + _SIBLING + r"['\"]"),
    re.compile(r"['\"]/work/"),
]
_PARENTS = re.compile(r"__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def outside_references(path: Path, text: str) -> list[str]:
    """Each line of ``text`` (the file at ``path``) that names a place outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if any(p.search(line) for p in _OUTSIDE):
            found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
        for match in _PARENTS.finditer(line):
            target = path.resolve().parents[int(match.group(1))]
            if not target.is_relative_to(REPO):
                found.append(f"{path.relative_to(REPO)}:{number}: climbs to {target}")
    return found


def test_no_file_under_src_or_tests_names_a_path_outside_the_repository() -> None:
    """Every .py, .toml, .json, .cfg and .md file under src/ and tests/ stays inside the repository."""
    offenders: list[str] = []
    for folder in ("src", "tests"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix in {".py", ".toml", ".json", ".cfg", ".md", ".j2", ".yaml", ".yml"}:
                offenders += outside_references(
                    path, path.read_text(encoding="utf-8", errors="replace")
                )
    assert offenders == []


def test_the_check_catches_each_way_out() -> None:
    """A sibling-folder path, a climb past the repository and an absolute work path are all caught."""
    here = REPO / "tests" / "x.py"
    lines = [
        "DOC = REPO" + ".parent / 'x.json'",
        f'PAYLOADS = Path("../{_SIBLING}/payloads")',
        "TOP = Path(__file__)" + ".resolve().parents[3]",
        "DATA = '/wo" + "rk/x'",
    ]
    assert [len(outside_references(here, line)) > 0 for line in lines] == [True] * 4
    assert outside_references(here, 'DATA = REPO / "tests" / "data"') == []
