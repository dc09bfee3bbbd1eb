"""GitHub Deployments through httpx2 against the local stand-in: pages, statuses, rate limits, gaps."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.draft import build_draft
from pmdraft.model import Window
from pmdraft.pipeline import collect
from pmdraft.render import render_markdown
from pmdraft.sources.deploys import github
from pmdraft.sources.deploys.github import GitHubDeploymentsCollector
from tests.standins.github import GitHubStandIn

from ..conftest import DATA, TOKEN, utc

WINDOW = Window(utc(2024, 1, 15, 14), utc(2024, 1, 15, 15, 30))
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def gh():
    with GitHubStandIn(TOKEN) as server:
        yield server


def seed(gh: GitHubStandIn) -> None:
    for minute in range(5):
        gh.add_deployment(
            "acme/web",
            created_at=utc(2024, 1, 15, 13, minute),
            sha=f"{minute:x}" * 40,
            statuses=[
                (utc(2024, 1, 15, 13, minute, 10), "in_progress"),
                (utc(2024, 1, 15, 13, minute, 50), "success"),
            ],
        )
    gh.add_deployment(
        "acme/api",
        created_at=utc(2024, 1, 15, 14, 12),
        sha=SHA,
        description="Caching layer",
        creator="deploy-bot",
        statuses=[
            (utc(2024, 1, 15, 14, 12, 5), "queued"),
            (utc(2024, 1, 15, 14, 13), "in_progress"),
            (utc(2024, 1, 15, 14, 15), "success"),
        ],
    )
    gh.add_deployment(
        "acme/api", created_at=utc(2024, 1, 14, 1), statuses=[(utc(2024, 1, 14, 1, 5), "success")]
    )


def test_the_stand_in_answers_with_the_documented_shapes(gh: GitHubStandIn) -> None:
    """The stand-in's deployments and statuses have exactly the keys of GitHub's documented examples."""
    import httpx2

    gh.add_deployment(
        "octocat/example",
        created_at=utc(2024, 1, 15, 14),
        statuses=[(utc(2024, 1, 15, 14, 1), "success")],
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    [deployment] = httpx2.get(
        f"{gh.base_url}/repos/octocat/example/deployments", headers=headers
    ).json()
    [status] = httpx2.get(
        f"{gh.base_url}/repos/octocat/example/deployments/{deployment['id']}/statuses",
        headers=headers,
    ).json()
    payloads = DATA / "payloads"
    [example] = json.loads((payloads / "github-list-deployments.json").read_text(encoding="utf-8"))
    [example_status] = json.loads(
        (payloads / "github-list-deployment-statuses.json").read_text(encoding="utf-8")
    )
    assert set(deployment) == set(example) and set(deployment["creator"]) == set(example["creator"])
    assert set(status) == set(example_status)


def test_deployments_and_statuses_become_timeline_rows(
    gh: GitHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A [[deploys]] type = "github" config shows each deployment's start and success, read across Link pages."""
    monkeypatch.setattr(github, "PER_PAGE", 2)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    seed(gh)
    config = tmp_path / "pm.toml"
    config.write_text(
        f'[[deploys]]\ntype = "github"\nrepos = ["acme/api", "acme/web"]\nbase_url = "{gh.base_url}"\n'
        'token_env = "GITHUB_TOKEN"\n[timeline]\nlong_lookback_days = 0\n',
        encoding="utf-8",
    )
    out = tmp_path / "pm.md"
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
            "-o",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    md = out.read_text(encoding="utf-8")
    assert (
        "| 14:12:00 | Deploy: 0123456789ab deploy to production started (api): Caching layer |"
        in md
    )
    assert "| 14:15:00 | Deploy: 0123456789ab deployed to production (api): Caching layer |" in md
    assert "| 13:04:50 | Deploy: 444444444444 deployed to production (web) |" in md
    assert "| GitHub Deployments (acme/api,acme/web) | ok | 12 |" in md
    assert "2024-01-14" not in md, "a deployment older than the lookback is not read"
    assert any(
        "page=2" in r for r in gh.requests if r.startswith("/repos/acme/web/deployments?")
    ), "Link pages followed"
    assert all(TOKEN not in r for r in gh.requests)


def test_a_spent_rate_limit_is_waited_out(gh: GitHubStandIn) -> None:
    """With the quota spent, the collector waits for x-ratelimit-reset, then reads everything and says it waited."""
    seed(gh)
    gh.spend_quota(remaining=0, reset_in=30)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        gh.reset_quota()

    collector = GitHubDeploymentsCollector(gh.base_url, TOKEN, ["acme/api"], sleep=sleep)
    events = list(collector.collect(WINDOW))
    assert [e.kind for e in events] == ["deploy.started", "deploy.succeeded"]
    assert len(waits) == 1 and 25 < waits[0] <= 31
    assert collector.detail == f"waited {waits[0]:.0f} s for GitHub's rate limit"


def test_a_rate_limit_longer_than_the_wait_is_a_named_data_gap(gh: GitHubStandIn) -> None:
    """A quota that resets in an hour is not waited for: the Data gaps note names GitHub and the reset time."""
    seed(gh)
    gh.spend_quota(remaining=0, reset_in=3600)
    collector = GitHubDeploymentsCollector(
        gh.base_url, TOKEN, ["acme/api"], max_wait=60, sleep=pytest.fail
    )
    md = render_markdown(build_draft(collect([collector], WINDOW), WINDOW))
    assert (
        "> - **GitHub Deployments (acme/api)**: GET /repos/acme/api/deployments: the GitHub rate limit is used up "
        "until "
    ) in md
    assert "longer than max_rate_limit_wait_seconds (60 s)" in md


def test_a_refused_token_is_a_named_data_gap_without_the_token(gh: GitHubStandIn) -> None:
    """A wrong token gives a Data gaps entry with GitHub's 401 message and never the token itself."""
    collector = GitHubDeploymentsCollector(
        gh.base_url, "wrong-token-123", ["acme/api"], lookback=timedelta(0)
    )
    md = render_markdown(build_draft(collect([collector], WINDOW), WINDOW))
    assert (
        "> - **GitHub Deployments (acme/api)**: GET /repos/acme/api/deployments answered 401: Bad credentials; "
        "the token was refused: check the variable named by token_env"
    ) in md
    assert "wrong-token-123" not in md


def test_server_errors_are_retried(gh: GitHubStandIn) -> None:
    """Two 502 answers in a row are retried, and the deployments still arrive."""
    seed(gh)
    gh.inject("/repos/acme/api/deployments", 502, times=2)
    collector = GitHubDeploymentsCollector(gh.base_url, TOKEN, ["acme/api"], sleep=lambda s: None)
    assert len(list(collector.collect(WINDOW))) == 2


def test_a_missing_token_variable_stops_the_run_naming_it(tmp_path: Path) -> None:
    """A github source whose token variable is unset exits 1 and says which variable to export."""
    config = tmp_path / "pm.toml"
    config.write_text(
        '[[deploys]]\ntype = "github"\nrepos = ["acme/api"]\ntoken_env = "ACME_GH_TOKEN"\n',
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
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        'Error: [[deploys]] type = "github" is configured but the environment variable '
        "ACME_GH_TOKEN is not set; export ACME_GH_TOKEN="
    )


def test_odd_records_are_skipped_and_named_while_good_ones_stay(gh: GitHubStandIn) -> None:
    """A deployment that is a string, one without an id, one whose created_at is not a time, a
    status whose created_at is an object, objects where text belongs: the good deployment's
    events are all there, each odd record is named in the Data gaps note, the source stays ok."""
    good = gh.add_deployment(
        "acme/api",
        created_at=utc(2024, 1, 15, 14, 12),
        sha=SHA,
        statuses=[(utc(2024, 1, 15, 14, 13), "failure"), (utc(2024, 1, 15, 14, 15), "success")],
    )
    odd = gh.add_deployment(
        "acme/api",
        created_at=utc(2024, 1, 15, 14, 20),
        statuses=[(utc(2024, 1, 15, 14, 21), "success"), (utc(2024, 1, 15, 14, 22), "error")],
    )
    gh.alter("acme/api", odd, ref={"name": "main"}, description=["x"], creator="octocat")
    gh.alter_status("acme/api", odd, 0, {"id": 9, "state": "error", "created_at": {"at": 1}})
    bad_time = gh.add_deployment("acme/api", created_at=utc(2024, 1, 15, 14, 30))
    gh.alter("acme/api", bad_time, created_at="yesterday")
    no_id = gh.add_deployment("acme/api", created_at=utc(2024, 1, 15, 14, 31))
    gh.alter("acme/api", no_id, id=None)
    gh.insert_raw("acme/api", 0, "not a deployment")

    collector = GitHubDeploymentsCollector(gh.base_url, TOKEN, ["acme/api"])
    collected = collect([collector], WINDOW)
    md = render_markdown(build_draft(collected, WINDOW))

    assert "| 14:12:00 | Deploy: 0123456789ab deploy to production started (api) |" in md
    assert "| 14:13:00 | Deploy: 0123456789ab deploy to production failed (api) |" in md
    assert "| 14:15:00 | Deploy: 0123456789ab deployed to production (api) |" in md
    assert "| 14:21:00 | Deploy: a84d88e7554f deployed to production (api) |" in md
    assert "| GitHub Deployments (acme/api) | ok | 5 |" in md
    assert collector.detail == (
        "4 GitHub records skipped: "
        "acme/api: deployment that is not an object (str) / "
        f"acme/api: deployment {bad_time}: created_at 'yesterday' is not a time / "
        "acme/api: deployment without a numeric id (None) / "
        f"acme/api: deployment {odd}: status 9: created_at {{'at': 1}} is not a time"
    )
    assert collector.detail in md
    assert good != odd


def test_records_after_the_window_are_left_out_and_counted(gh: GitHubStandIn) -> None:
    """A deployment created after the window and a status after its end are not drafted; the
    detail counts them beside the deploy lookback."""
    gh.add_deployment(
        "acme/api",
        created_at=utc(2024, 1, 15, 15, 20),
        statuses=[(utc(2024, 1, 15, 15, 25), "success"), (utc(2024, 1, 15, 15, 40), "failure")],
    )
    gh.add_deployment("acme/api", created_at=utc(2024, 1, 15, 16), statuses=[])
    collector = GitHubDeploymentsCollector(gh.base_url, TOKEN, ["acme/api"])
    events = list(collector.collect(WINDOW))
    assert [(e.kind, e.at) for e in events] == [
        ("deploy.started", utc(2024, 1, 15, 15, 20)),
        ("deploy.succeeded", utc(2024, 1, 15, 15, 25)),
    ]
    assert collector.detail == (
        "2 events outside the window and the 6 h deploy lookback before it left out"
    )


def test_the_per_run_request_ceiling_stops_github_as_a_named_gap(
    gh: GitHubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[run] max_requests = 2 with three deployment listings' worth of pages: GitHub stops after
    two requests and the Data gaps note names the ceiling; the draft is still written."""
    monkeypatch.setattr(github, "PER_PAGE", 1)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    seed(gh)
    config = tmp_path / "pm.toml"
    config.write_text(
        f'[run]\nmax_requests = 2\n[[deploys]]\ntype = "github"\nrepos = ["acme/api"]\n'
        f'base_url = "{gh.base_url}"\ntoken_env = "GITHUB_TOKEN"\n',
        encoding="utf-8",
    )
    out = tmp_path / "pm.md"
    result = CliRunner().invoke(
        cli,
        [
            *("draft", "--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"),
            *("--config", str(config), "-o", str(out)),
        ],
    )
    md = out.read_text(encoding="utf-8")
    assert (
        "stopped after 2 requests, the per-run ceiling [run] max_requests; narrow the window or "
        "raise it"
    ) in md
    assert len(gh.requests) == 2
    assert result.exit_code == 3, result.output
