"""`pmdraft publish DRAFT.md`: one Confluence page per incident, refreshed in place, a person's edit
in Confluence kept, graphs attached; against a stand-in of Confluence Cloud's REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.living_storage import parse
from tests.standins.confluence import ConfluenceStandIn

USER, TOKEN = "sre@example.com", "atlassian-token-0123456789"


@pytest.fixture
def conf(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConfluenceStandIn]:
    """A Confluence site with the SRE space; the credentials in the environment."""
    monkeypatch.setenv("CONFLUENCE_USER", USER)
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", TOKEN)
    with ConfluenceStandIn(USER, TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo draft with its graphs, written once."""
    out = tmp_path_factory.mktemp("demo") / "1234-api-errors.md"
    result = CliRunner().invoke(cli, ["demo", "-q", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def publish(draft: Path, conf: ConfluenceStandIn) -> str:
    args = ["publish", str(draft), "--confluence-url", conf.base_url, "--confluence-space", "SRE"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    return result.stdout


def test_publish_twice_is_one_page_refreshed_with_a_person_s_edit_kept(
    demo: Path, conf: ConfluenceStandIn, tmp_path: Path
) -> None:
    """First publish creates the page (3 graphs attached); after a person edits the timeline in
    Confluence and pmdraft refreshes the draft, the second publish updates the same page, keeps
    the edit, and proposes pmdraft's timeline in a comment."""
    draft = tmp_path / demo.name
    draft.write_text(demo.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "1234-api-errors-graphs").symlink_to(demo.parent / "1234-api-errors-graphs")
    first = publish(draft, conf)
    [page_id] = conf.pages
    assert first.endswith(" (created)\n") and page_id in first
    page = conf.pages[page_id]
    assert page["title"] == 'Postmortem: ALARM: "HighErrorRate" in US East (N. Virginia)'
    body = page["body"]
    parse(body)
    assert "pmdraft-begin-timeline-" in body and 'ac:name="status"' in body
    assert sorted(conf.attachments[page_id]) == [
        "HighErrorRate.png",
        "HighLatencyP99.png",
        "overview.png",
    ]
    assert json.loads(draft.with_suffix(".confluence.json").read_text())["page_id"] == page_id

    conf.edit(
        page_id, body.replace("Decision: rolling back api to v2.3.3", "Decision (Bob): roll back")
    )
    refreshed = draft.read_text(encoding="utf-8").replace(
        "| Jane Doe | 14:33:05 |", "| Jane D. | 14:33:05 |"
    )
    draft.write_text(refreshed, encoding="utf-8")
    second = publish(draft, conf)

    assert list(conf.pages) == [page_id]
    stored = conf.pages[page_id]
    assert stored["version"]["number"] == 3  # created, the person's save, pmdraft's refresh
    assert "Decision (Bob): roll back" in stored["body"] and "Jane D." in stored["body"]
    assert second.splitlines()[0].endswith(" (updated to version 3)")
    assert "kept your edit of timeline" in second
    [comment] = conf.comments
    assert "Decision: rolling back api to v2.3.3" in comment["body"]["storage"]["value"]


def test_publish_names_a_missing_graph_and_missing_credentials(
    demo: Path, conf: ConfluenceStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A draft whose graph files are gone, or no credentials: one clear error, exit 1, no page."""
    draft = tmp_path / "moved.md"
    draft.write_text(demo.read_text(encoding="utf-8"), encoding="utf-8")
    args = ["publish", str(draft), "--confluence-url", conf.base_url, "--confluence-space", "SRE"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert f"{draft} shows the image 1234-api-errors-graphs/overview.png, but" in result.stderr
    monkeypatch.delenv("CONFLUENCE_API_TOKEN")
    draft.write_text("# Postmortem: x\n\nNo images.\n", encoding="utf-8")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "CONFLUENCE_API_TOKEN not set" in result.stderr
    assert conf.pages == {}


def test_draft_format_confluence_is_storage_format_that_parses(
    moto, pd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`draft --format confluence` writes XHTML with the Draft lozenge and the timeline's rows."""
    from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario
    from tests.conftest import TOKEN

    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    config = scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)
    out = tmp_path / "pm.xhtml"
    args = ["draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]
    args += ["--config", str(config), "--format", "confluence", "--no-graphs", "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    body = out.read_text(encoding="utf-8")
    root = parse(body)
    assert root.find(".//{http://atlassian.com/content}structured-macro") is not None
    assert "PagerDuty #1234 acknowledged by Jane Doe" in body
    assert ">Draft<" in body
