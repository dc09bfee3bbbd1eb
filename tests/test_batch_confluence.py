"""`pmdraft batch -o confluence://SPACE/Parent`: each incident a Confluence page, one per incident."""

from __future__ import annotations

from pathlib import Path

from pmdraft.batch import Batch, open_sink, open_state
from pmdraft.config import load_config
from pmdraft.render import render_markdown
from tests.standins.confluence import ConfluenceStandIn

from .conftest import TOKEN
from .test_batch import NOW, config_for, drafted, seed

USER, API_TOKEN = "sre@example.com", "atlassian-token-0123456789"


def test_batch_publishes_each_incident_once_under_the_parent(pd, tmp_path: Path) -> None:
    """Two incidents: two pages under 'Postmortems' in SRE; a second run creates no third page."""
    seed(pd, 2)
    env = {"PAGERDUTY_API_TOKEN": TOKEN, "CONFLUENCE_USER": USER, "CONFLUENCE_API_TOKEN": API_TOKEN}
    with ConfluenceStandIn(USER, API_TOKEN) as conf:
        parent = conf.add_page("SRE", "Postmortems")
        path = config_for(pd, tmp_path, f'\n[confluence]\nbase_url = "{conf.base_url}"\n')
        cfg = load_config(path)

        def batch() -> Batch:
            sink = open_sink(cfg, "confluence://SRE/Postmortems", env)
            return Batch(cfg, env, state=open_state(cfg), sink=sink, render=render_markdown)

        assert drafted(batch().run(NOW)) == [101, 102]
        pages = {p["title"]: p for pid, p in conf.pages.items() if pid != parent}
        assert sorted(pages) == ["Postmortem: Checkout errors 1", "Postmortem: Checkout errors 2"]
        assert {p["parentId"] for p in pages.values()} == {parent}
        assert drafted(batch().run(NOW)) == []
        assert len(conf.pages) == 3
