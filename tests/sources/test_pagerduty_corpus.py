"""The PagerDuty corpus cases with a ``pd_source``: the JSON draft's record of the source names
each skipped or dropped record, and the source's status stays as listed.

``tests/test_corpus.py`` checks the Markdown draft of every case; PagerDuty's answers are injected
once there, so this reads the JSON draft in a run of its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from tests.conftest import TOKEN
from tests.test_corpus import CASES, CORPUS, WINDOW

PD_CASES = [c for c in CASES if "pd_source" in c]


def test_every_odd_record_case_is_listed() -> None:
    """The odd-record cases of the PagerDuty items carry their expected source record."""
    assert len(PD_CASES) >= 8


@pytest.mark.parametrize("case", PD_CASES, ids=[c["name"] for c in PD_CASES])
def test_the_source_names_what_it_skipped(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pd: Any
) -> None:
    """Status, events and the detail naming each skipped record (its id and field), exit 0."""
    work = tmp_path / "case"
    shutil.copytree(CORPUS / case["name"], work)
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    for listing in ("incidents", "log_entries"):
        body = (work / f"pagerduty-{listing}.json").read_text(encoding="utf-8")
        pd.inject(f"/{listing}", 200, body=body)
    config = work / "pmdraft.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("{pd_base_url}", pd.base_url).replace("{pd_ca}", pd.ca_path),
        encoding="utf-8",
    )
    out = tmp_path / "draft.json"
    argv = ["draft", *case.get("window", WINDOW), "--config", str(config), "--format", "json"]
    result = CliRunner().invoke(cli, [*argv, "-o", str(out)])
    assert result.exit_code == case["exit"], result.output
    assert "Traceback" not in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    [source] = [s for s in data["sources"] if s["name"] == "pagerduty"]
    expected = case["pd_source"]
    assert (source["status"], source["events"]) == (expected["status"], expected["events"])
    assert (source["detail"] or "") == expected["detail"]
