"""The Slack source from the command line: --slack-channel adds a channel, and the bot token never
shows in any output, log record or file, even when Slack refuses it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sandbox import SANDBOX_TOKEN_ENV, scenario
from pmdraft.sandbox.slack import SlackStandIn
from tests.conftest import TOKEN

SLACK_TOKEN = "xoxb-111122223333-4444555566667777-AbCdEfGhIjKlMnOpQrStUvWx"
WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(SLACK_TOKEN) as server:
        yield server


@pytest.fixture
def seeded(moto, pd, slack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo incident with its Slack channel, but [slack] naming no channel."""
    monkeypatch.setenv(SANDBOX_TOKEN_ENV, TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    config = scenario.seed(moto, pd, tmp_path, token_env=SANDBOX_TOKEN_ENV)
    scenario.seed_slack(slack, config, token_env="SLACK_BOT_TOKEN")
    text = config.read_text(encoding="utf-8").replace('channels = ["C0DEMO1234"]', "channels = []")
    config.write_text(text, encoding="utf-8")
    return config


def test_slack_channel_flag_reads_that_channel(seeded: Path) -> None:
    """Without the flag Slack reads no channel; with --slack-channel its pinned decision is a row."""
    args = ["timeline", *WINDOW, "--config", str(seeded)]
    without = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "chat.message" not in without.stdout
    result = CliRunner().invoke(cli, [*args, "--slack-channel", "C0DEMO1234"])
    assert result.exit_code == 0, result.output
    chat = [line for line in result.stdout.splitlines() if "chat.message" in line]
    assert len(chat) == 6
    assert any("Jane Doe: Decision: rolling back api to v2.3.3" in line for line in chat)


def test_a_channel_name_instead_of_an_id_is_a_usage_error(seeded: Path) -> None:
    """--slack-channel '#inc-1234' names the flag and what an id looks like; exit 2."""
    args = ["draft", *WINDOW, "--config", str(seeded), "--slack-channel", "#inc-1234"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "Invalid value for --slack-channel: '#inc-1234' is not a channel id" in result.stderr


def test_the_slack_token_never_shows_even_when_slack_refuses_it(
    seeded: Path, slack: SlackStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """draft, timeline and doctor with Slack answering invalid_auth: a named gap, never the token."""
    caplog.set_level(logging.DEBUG)
    slack.fail("auth.test", "invalid_auth")
    outputs = []
    out = tmp_path / "pm.md"
    for args in (
        [
            "draft",
            *WINDOW,
            "--config",
            str(seeded),
            "--slack-channel",
            "C0DEMO1234",
            "-o",
            str(out),
        ],
        ["timeline", *WINDOW, "--config", str(seeded), "--slack-channel", "C0DEMO1234", "-v"],
        ["doctor", "--config", str(seeded)],
    ):
        result = CliRunner().invoke(cli, args)
        outputs.append(result.output)
        assert result.exit_code in (1, 3), result.output
    assert "invalid_auth" in outputs[0] or "SLACK_BOT_TOKEN" in outputs[0]
    seen = "\n".join(outputs) + "\n".join(r.getMessage() for r in caplog.records)
    seen += "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("pm.*"))
    for piece in (SLACK_TOKEN, SLACK_TOKEN[-24:], SLACK_TOKEN[5:30]):
        assert piece not in seen
