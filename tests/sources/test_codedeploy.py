"""CodeDeploy through boto3 against moto's server: pages, batches of 25, statuses, and a failure as a data gap."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Window
from pmdraft.pipeline import collect
from pmdraft.render import render_markdown
from pmdraft.sources.deploys.codedeploy import CodeDeployCollector
from tests.standins import codedeploy as sandbox

from ..conftest import utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "PAGE_SIZE", 10)


def test_deployments_become_deploy_rows_in_the_draft(moto, small_pages, tmp_path: Path) -> None:
    """A [[deploys]] type = "codedeploy" config shows each deployment's start, end and status in the timeline."""
    client = moto.client("codedeploy")
    routine = [
        {
            "application": "web",
            "group": "production",
            "created": utc(2024, 1, 15, 12, i),
            "version": f"w{i}",
            "completed": utc(2024, 1, 15, 12, i, 30),
            "status": "Succeeded",
        }
        for i in range(28)
    ]
    sandbox.seed(
        client,
        [
            *routine,
            {
                "application": "api",
                "group": "production",
                "created": utc(2024, 1, 15, 14, 12),
                "version": "v2.3.4",
                "completed": utc(2024, 1, 15, 14, 15),
                "status": "Succeeded",
                "rolled_back_by": "d-ROLLBACK",
            },
            {
                "application": "api",
                "group": "production",
                "created": utc(2024, 1, 15, 14, 40),
                "version": "v2.3.5",
                "completed": utc(2024, 1, 15, 14, 44),
                "status": "Failed",
                "description": "hotfix",
            },
            {
                "application": "api",
                "group": "production",
                "created": utc(2024, 1, 10),
                "version": "v2.0.0",
                "completed": utc(2024, 1, 10, 0, 5),
                "status": "Succeeded",
            },
        ],
    )
    config = tmp_path / "pm.toml"
    config.write_text(
        f'[[deploys]]\ntype = "codedeploy"\nregions = ["us-east-1"]\nendpoint_url = "{moto.endpoint_url}"\n'
        "[timeline]\nlong_lookback_days = 0\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        [
            "draft",
            "--since",
            "2024-01-15T14:00:00Z",
            "--until",
            "2024-01-15T15:30:00Z",
            "--config",
            str(config),
            "--format",
            "json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    api = [(e["at"], e["kind"], e["summary"]) for e in data["events"] if e["service"] == "api"]
    assert api == [
        ("2024-01-15T14:12:00Z", "deploy.started", "v2.3.4 deploy to production started (api)"),
        ("2024-01-15T14:15:00Z", "deploy.rolled_back", "v2.3.4 rolled back in production (api)"),
        ("2024-01-15T14:15:00Z", "deploy.succeeded", "v2.3.4 deployed to production (api)"),
        (
            "2024-01-15T14:40:00Z",
            "deploy.started",
            "v2.3.5 deploy to production started (api): hotfix",
        ),
        (
            "2024-01-15T14:44:00Z",
            "deploy.failed",
            "v2.3.5 deploy to production failed (api): hotfix",
        ),
    ]
    [source] = data["sources"][:1]
    assert source["name"] == "codedeploy:us-east-1" and source["status"] == "ok"
    # 30 deployments in range: 3 ListDeployments pages of 10, then 2 BatchGetDeployments (25 + 5).
    assert source["requests"] == 3 + 2
    assert sum(e["service"] == "web" for e in data["events"]) == 2 * 28


def test_an_application_names_every_group_and_a_group_only_itself(moto) -> None:
    """applications = ["api"] reads every group of api; "web/canary" reads only that group."""
    client = moto.client("codedeploy")
    sandbox.seed(
        client,
        [
            {
                "application": "api",
                "group": "production",
                "created": utc(2024, 1, 15, 14, 1),
                "version": "a1",
            },
            {
                "application": "api",
                "group": "canary",
                "created": utc(2024, 1, 15, 14, 2),
                "version": "a2",
            },
            {
                "application": "web",
                "group": "canary",
                "created": utc(2024, 1, 15, 14, 3),
                "version": "w1",
            },
            {
                "application": "web",
                "group": "production",
                "created": utc(2024, 1, 15, 14, 4),
                "version": "w2",
            },
        ],
    )
    events = list(
        CodeDeployCollector({"us-east-1": client}, applications=["api", "web/canary"]).collect(
            WINDOW
        )
    )
    assert sorted(e.attrs["version"] for e in events) == ["a1", "a2", "w1"]
    assert {e.kind for e in events} == {"deploy.started"}, (
        "in-progress deployments have only their start"
    )


def test_an_unreachable_endpoint_is_a_named_data_gap() -> None:
    """When CodeDeploy cannot be reached, the draft's Data gaps note names CodeDeploy, the call and the region."""
    client = boto3.client(
        "codedeploy",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=1),
    )
    collected = collect(
        [CodeDeployCollector({"us-east-1": client}, lookback=timedelta(hours=1))], WINDOW
    )
    draft = build_draft(collected, WINDOW)
    md = render_markdown(draft)
    assert (
        "> - **AWS CodeDeploy (us-east-1)**: ListDeployments in us-east-1 failed: Could not connect"
        in md
    )
