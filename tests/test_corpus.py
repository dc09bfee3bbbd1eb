"""The bad-input corpus (tests/corpus/cases.toml) through the CLI: exact messages, exit codes, no stray files."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.model import parse_time
from pmdraft.sandbox import aws
from tests.conftest import TOKEN

CORPUS = Path(__file__).parent / "corpus"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))[
    "case"
]
WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


def test_the_corpus_is_complete() -> None:
    """Every case has a directory and every directory a case, at least forty of them."""
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)) >= 40
    assert sorted(names) == sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(
    case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The case's exit code and message are exactly as listed; an error writes no file at all."""
    work = tmp_path / "case"
    shutil.copytree(CORPUS / case["name"], work)
    if case.get("pagerduty"):
        pd = request.getfixturevalue("pd")
        monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
        for listing in ("incidents", "log_entries"):
            body = work / f"pagerduty-{listing}.json"
            pd.inject(f"/{listing}", 200, body=body.read_text(encoding="utf-8"))
        for toml in work.glob("*.toml"):
            text = toml.read_text(encoding="utf-8")
            toml.write_text(
                text.replace("{pd_base_url}", pd.base_url).replace("{pd_ca}", pd.ca_path),
                encoding="utf-8",
            )
    if case.get("moto"):
        seed_moto(work, request.getfixturevalue("moto"))
    config = work / case.get("config", "pmdraft.toml")
    out = tmp_path / "out" / "draft.md"
    out.parent.mkdir()  # -o never makes a missing folder
    argv = ["draft", *case.get("window", WINDOW), "--config", str(config), "-o", str(out)]

    result = CliRunner().invoke(cli, argv)

    def fill(text: str, escape: bool = False) -> str:
        quote = re.escape if escape else str
        return text.replace("{config}", quote(str(config))).replace("{dir}", quote(str(work)))

    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == case["exit"], result.output
    if "stderr" in case:
        assert result.stderr == fill(case["stderr"])
    if "stderr_regex" in case:
        assert re.fullmatch(fill(case["stderr_regex"], escape=True), result.stderr), result.stderr
    if "stderr_last" in case:
        assert result.stderr.splitlines()[-1] == fill(case["stderr_last"])
    for line in case.get("stderr_contains", []):
        assert fill(line) in result.stderr
    if case["exit"] in (1, 2):
        assert not out.parent.exists() or list(out.parent.iterdir()) == [], (
            "an error case wrote a file"
        )
        return
    if case.get("strict"):
        strict_out = tmp_path / "strict" / "draft.md"
        strict_out.parent.mkdir()  # -o never makes a missing folder
        strict = CliRunner().invoke(cli, [*argv[:-1], str(strict_out), "--strict"])
        assert strict.exit_code == 1, strict.output
        assert (
            strict.stderr.splitlines()[-1]
            == "Error: --strict: a source failed, so no draft was written"
        )
        for line in case.get("stderr_contains", []):
            assert fill(line) in strict.stderr
        assert not strict_out.parent.exists() or list(strict_out.parent.iterdir()) == [], (
            "--strict wrote a file"
        )
    draft = out.read_text(encoding="utf-8")
    assert draft.endswith("_To be written: the pull request that fixed it._\n"), (
        "the draft is complete"
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["draft.json", "draft.md"], (
        "the draft and its JSON, and no temporary file"
    )
    for text in case.get("contains", []):
        assert fill(text) in draft
    for text in case.get("absent", []):
        assert text not in draft
    if "source" in case:
        check_source(case["source"], [*argv[:-1], str(tmp_path / "out.json")], fill)


def seed_moto(work: Path, moto: object) -> None:
    """Serve the case's ``history.json`` items from moto and point its config at moto.

    Each entry is ``{"at": <when it is filed>, "item": {...}}``; ``"Timestamp": "$at"`` in an item
    is that time, and a field left out or ``null`` is not sent, as CloudWatch would not send it.
    """
    for entry in json.loads((work / "history.json").read_text(encoding="utf-8")):
        at: datetime = parse_time(entry["at"])
        item = {k: (at if v == "$at" else v) for k, v in entry["item"].items() if v is not None}
        aws.add_history_item("us-east-1", item, at)
    for toml in work.glob("*.toml"):
        text = toml.read_text(encoding="utf-8")
        toml.write_text(text.replace("{moto_url}", moto.endpoint_url), encoding="utf-8")  # type: ignore[attr-defined]


def check_source(expected: dict[str, Any], argv: list[str], fill: Any) -> None:
    """The JSON draft's record of the source: its status, events, and the note in its detail."""
    result = CliRunner().invoke(cli, [*argv[:-2], "--format", "json", *argv[-2:]])
    assert result.exit_code in (0, 3), result.output
    data = json.loads(Path(argv[-1]).read_text(encoding="utf-8"))
    [source] = [s for s in data["sources"] if s["name"] == expected["name"]]
    assert source["status"] == expected["status"]
    assert fill(expected["detail"]) in (source["detail"] or ""), source["detail"]
    if "events" in expected:
        assert source["events"] == expected["events"]
