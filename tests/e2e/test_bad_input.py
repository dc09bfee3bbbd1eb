"""Bad input: a clear message naming the thing, a non-zero exit, and no output file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from tests.conftest import TOKEN, write_config

WINDOW = ["--since", "2024-01-15T14:00:00Z", "--until", "2024-01-15T15:30:00Z"]


def draft(tmp_path: Path, *args: str):
    out = tmp_path / "out" / "pm.md"
    out.parent.mkdir(exist_ok=True)
    result = CliRunner().invoke(cli, ["draft", *args, "-o", str(out)], catch_exceptions=False)
    return result, out


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def deploy_config(tmp_path: Path, line: str) -> Path:
    cfg = write_config(tmp_path / "pm.toml", deploys=[])
    (tmp_path / "deploys.jsonl").write_text(line + "\n", encoding="utf-8")
    return cfg


def test_naive_since_is_a_usage_error_with_an_example(tmp_path: Path) -> None:
    """--since without an offset exits 2 and shows how to write it."""
    cfg = deploy_config(tmp_path, "")
    result, out = draft(
        tmp_path,
        "--since",
        "2024-01-15T14:00:00",
        "--until",
        "2024-01-15T15:00:00Z",
        "--config",
        str(cfg),
    )
    assert result.exit_code == 2
    assert (
        "Invalid value for '--since': '2024-01-15T14:00:00' has no UTC offset, so its instant is unknown; "
        "add Z or an offset, like 2024-01-15T14:32:00Z or 2024-01-15T15:32:00+01:00"
    ) in result.stderr
    assert_nothing_written(out)


def test_until_before_since_is_a_usage_error(tmp_path: Path) -> None:
    """A reversed window exits 2 and names both flags."""
    cfg = deploy_config(tmp_path, "")
    result, out = draft(
        tmp_path,
        "--since",
        "2024-01-15T15:00:00Z",
        "--until",
        "2024-01-15T14:00:00Z",
        "--config",
        str(cfg),
    )
    assert result.exit_code == 2
    assert (
        "Invalid value for '--until': --until (2024-01-15T14:00:00+00:00) must be after --since (2024-01-15T15:00:00+00:00)"
        in result.stderr
    )
    assert_nothing_written(out)


def test_unknown_config_key_exits_1_naming_it(tmp_path: Path) -> None:
    """A misspelt key in the config file is named with the file and the section."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[cloudwatch]\nregion = ["us-east-1"]\n', encoding="utf-8")
    result, out = draft(tmp_path, *WINDOW, "--config", str(cfg))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {cfg}: [cloudwatch]: unknown key 'region' (did you mean 'regions'?); "
        "known keys: accounts, alarm_prefixes, alarm_services, alarm_tags, archive_log_group, endpoint_url, graph_margin_minutes, graphs, "
        "history_requests_per_second, history_retention_days, history_slices, max_attempts, max_graphs, max_workers, metric_lookback_minutes, profile, regions, "
        "retry_mode, timeout_seconds\n"
    )
    assert_nothing_written(out)


NAIVE_LINE = '{"timestamp": "2024-01-15T14:15:00", "status": "succeeded", "version": "v2.3.4"}'


def test_deploy_line_without_offset_is_skipped_and_named_in_the_source_detail(
    tmp_path: Path,
) -> None:
    """A naive deploy timestamp is skipped, never guessed: the source stays ok (exit 0) and its detail names the file and line."""
    cfg = deploy_config(tmp_path, NAIVE_LINE)
    out = tmp_path / "out" / "pm.json"
    out.parent.mkdir()  # -o never makes a missing folder
    result = CliRunner().invoke(
        cli, ["draft", *WINDOW, "--config", str(cfg), "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    message = f"1 malformed line skipped: {tmp_path / 'deploys.jsonl'}, line 1: timestamp '2024-01-15T14:15:00' has no UTC offset"
    sources = json.loads(out.read_text(encoding="utf-8"))["sources"]
    [source] = [s for s in sources if s["name"] == "deploys:deploys.jsonl"]
    assert (source["name"], source["status"]) == ("deploys:deploys.jsonl", "ok")
    assert source["detail"].startswith(message)


def test_missing_token_exits_1_naming_the_variable(tmp_path: Path, pd) -> None:
    """[pagerduty] without its token in the environment says which variable to set."""
    cfg = write_config(tmp_path / "pm.toml", pd=pd)
    result, out = draft(tmp_path, *WINDOW, "--config", str(cfg))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: [pagerduty] is configured but the environment variable PAGERDUTY_API_TOKEN is not set; "
        "export PAGERDUTY_API_TOKEN=<your REST API token>"
    )
    assert_nothing_written(out)
    assert pd.requests == [], "nothing is sent without a token"


def test_no_config_anywhere_is_a_usage_error(tmp_path: Path) -> None:
    """Without --config, $PMDRAFT_CONFIG or ./pmdraft.toml the user is told all three."""
    result, out = draft(tmp_path, *WINDOW)
    assert result.exit_code == 2
    assert (
        "no config file: pass --config FILE, set PMDRAFT_CONFIG, or create ./pmdraft.toml"
        in result.stderr
    )
    assert_nothing_written(out)


def test_config_from_environment_variable_is_used(
    tmp_path: Path, pd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PMDRAFT_CONFIG names the config when --config is absent; the token comes from the environment."""
    cfg = write_config(tmp_path / "pm.toml", pd=pd)
    monkeypatch.setenv("PMDRAFT_CONFIG", str(cfg))
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", TOKEN)
    result, out = draft(tmp_path, *WINDOW)
    assert result.exit_code == 0, result.output
    assert "**Status:** Draft" in out.read_text(encoding="utf-8")
    assert "Not configured, so not read:** CloudWatch alarm history" in out.read_text(
        encoding="utf-8"
    )
