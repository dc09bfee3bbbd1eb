"""`pmdraft sources`: the registered sources and whether the config sets each one up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pmdraft.cli import cli
from pmdraft.sources.registry import registry


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


CONFIG = """\
[cloudwatch]
regions = ["us-east-1", "eu-west-1"]
alarm_prefixes = ["api-"]

[[deploys]]
path = "deploys/api.jsonl"

[[deploys]]
path = "deploys/web.csv"
"""


def test_sources_lists_every_registered_source_and_what_is_configured(tmp_path: Path) -> None:
    """Each registered source is a row; configured ones say what they read, the others how to add them."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    result = run("sources", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Sources in {cfg}:\n"
        "\n"
        "SOURCE      CONFIGURED  DETAILS\n"
        "cloudwatch  yes         regions us-east-1, eu-west-1; alarms starting with api-\n"
        "pagerduty   no          add a [pagerduty] section (see config.example.toml)\n"
        "deploys     yes         deploys/api.jsonl; deploys/web.csv\n"
        'codedeploy  no          add a [[deploys]] table with type = "codedeploy" (see config.example.toml)\n'
        'github      no          add a [[deploys]] table with type = "github" (see config.example.toml)\n'
        'cloudtrail  no          add a [[deploys]] table with type = "cloudtrail" (see config.example.toml)\n'
        "slack       no          add a [slack] section (see config.example.toml)\n"
    )
    rows = [line.split()[0] for line in result.stdout.splitlines()[3:]]
    assert rows == registry.names


def test_sources_reads_the_config_from_the_environment_then_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --config, $PMDRAFT_CONFIG is used, else ./pmdraft.toml; PagerDuty names its token variable."""
    (tmp_path / "pmdraft.toml").write_text(
        '[pagerduty]\nservice_ids = ["PSVC001"]\ntoken_env = "PD_RO"\n', encoding="utf-8"
    )
    result = run("sources")
    assert result.stdout.splitlines()[0] == "Sources in pmdraft.toml:"
    assert (
        "pagerduty   yes         https://api.pagerduty.com; services PSVC001; token from $PD_RO"
        in result.stdout
    )
    other = tmp_path / "other.toml"
    other.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PMDRAFT_CONFIG", str(other))
    result = run("sources")
    assert result.stdout.splitlines()[0] == f"Sources in {other}:"
    assert "pagerduty   no " in result.stdout


def test_sources_without_a_config_says_how_to_make_one() -> None:
    """No --config, no $PMDRAFT_CONFIG, no ./pmdraft.toml: a usage error pointing at the example."""
    result = run("sources")
    assert result.exit_code == 2
    assert (
        "no config file: pass --config FILE, set PMDRAFT_CONFIG, or create ./pmdraft.toml"
        in result.output
    )


def test_sources_with_a_broken_config_names_the_key(tmp_path: Path) -> None:
    """A config error is reported as it is for `draft`: exit 1 and the key named."""
    cfg = tmp_path / "pm.toml"
    cfg.write_text('[cloudwatch]\nregoins = ["us-east-1"]\n', encoding="utf-8")
    result = run("sources", "--config", str(cfg))
    assert result.exit_code == 1
    assert "unknown key 'regoins' (did you mean 'regions'?)" in result.stderr
