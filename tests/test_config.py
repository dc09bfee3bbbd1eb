"""The config file: every documented key parses, and mistakes are named precisely."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from pmdraft.config import BatchConfig, RenderConfig, TimelineConfig, load_config, parse_config
from pmdraft.errors import ConfigError
from pmdraft.sources.cloudwatch.config import CloudWatchAccountConfig, CloudWatchConfig
from pmdraft.sources.deploys.config import (
    CloudTrailConfig,
    CodeDeployConfig,
    DeploySourceConfig,
    GitHubDeploysConfig,
)
from pmdraft.sources.pagerduty.config import PagerDutyConfig

from .conftest import REPO


def test_example_config_parses_and_documents_every_key() -> None:
    """config.example.toml loads, and every key the code knows appears in it."""
    path = REPO / "config.example.toml"
    config = load_config(path)
    assert (cw := config.get(CloudWatchConfig)) is not None and cw.regions == ["us-east-1"]
    assert (pd := config.get(PagerDutyConfig)) is not None and pd.token_env == "PAGERDUTY_API_TOKEN"
    assert config.deploys[0].path == "deploys.jsonl"
    text = path.read_text(encoding="utf-8")
    assert [d.type for d in config.deploys] == ["file", "codedeploy", "github", "cloudtrail"]
    for cls in (
        CloudWatchConfig,
        CloudWatchAccountConfig,
        PagerDutyConfig,
        DeploySourceConfig,
        CodeDeployConfig,
        GitHubDeploysConfig,
        CloudTrailConfig,
        TimelineConfig,
        RenderConfig,
        BatchConfig,
    ):
        for f in fields(cls):
            documented = rf"^\[deploys\.{f.name}\]$" if f.name == "fields" else rf"^{f.name} = "
            if f.name == "accounts":
                documented = r"^# \[\[cloudwatch\.accounts\]\]$"
            elif cls is CloudWatchAccountConfig:
                documented = rf"^# {f.name} = "
            assert re.search(documented, text, re.M), f"{cls.__name__}.{f.name} is not documented"


def test_unknown_key_names_the_section_and_suggests_the_right_one() -> None:
    """A misspelt key is an error naming the file, section and the closest known key."""
    with pytest.raises(ConfigError) as err:
        parse_config('[cloudwatch]\nregoins = ["us-east-1"]\n', origin="pm.toml")
    assert str(err.value) == (
        "pm.toml: [cloudwatch]: unknown key 'regoins' (did you mean 'regions'?); "
        "known keys: accounts, alarm_prefixes, alarm_services, alarm_tags, archive_log_group, endpoint_url, graph_margin_minutes, graphs, "
        "history_requests_per_second, history_retention_days, history_slices, max_attempts, max_graphs, max_workers, metric_lookback_minutes, profile, regions, "
        "retry_mode, timeout_seconds"
    )


def test_wrong_type_shows_a_correct_example() -> None:
    """A string where a list belongs is named, with an example of a correct value."""
    with pytest.raises(ConfigError) as err:
        parse_config('[cloudwatch]\nregions = "us-east-1"\n', origin="pm.toml")
    assert str(err.value) == (
        "pm.toml: [cloudwatch]: key 'regions' must be a list of strings, got 'us-east-1'; "
        'for example: regions = ["us-east-1", "eu-west-1"]'
    )


def test_invalid_toml_gives_the_line() -> None:
    """A TOML syntax error carries the line number."""
    with pytest.raises(ConfigError, match=r"pm.toml: invalid TOML: .*line 2"):
        parse_config("[pagerduty]\nservice_ids = [P1]\n", origin="pm.toml")


def test_unknown_section_and_no_source_are_errors() -> None:
    """An unknown section is named; a config with no source says which sections exist."""
    with pytest.raises(
        ConfigError, match=r"unknown section \[pagerdutty\] \(did you mean 'pagerduty'\?\)"
    ):
        parse_config("[pagerdutty]\n", origin="pm.toml")
    with pytest.raises(
        ConfigError, match=r"no source is configured; add at least one of \[cloudwatch\]"
    ):
        parse_config("[timeline]\nsuspect_lookback_hours = 2\n", origin="pm.toml")


def test_deploys_need_a_path_and_double_brackets() -> None:
    """[[deploys]] without path, or [deploys] as a table, is explained."""
    with pytest.raises(
        ConfigError,
        match=r"\[deploys\]: key 'path' is required; for example: path = \"deploys.jsonl\"",
    ):
        parse_config('[[deploys]]\ntype = "file"\n', origin="pm.toml")
    with pytest.raises(ConfigError, match=r"write \[\[deploys\]\] \(two brackets\)"):
        parse_config('[deploys]\npath = "d.jsonl"\n', origin="pm.toml")


def test_plain_http_pagerduty_is_refused() -> None:
    """The PagerDuty client refuses http://, so the config says so up front."""
    with pytest.raises(ConfigError, match="base_url must start with https://"):
        parse_config('[pagerduty]\nbase_url = "http://127.0.0.1:8080"\n', origin="pm.toml")


def test_missing_file_points_at_the_example(tmp_path: Path) -> None:
    """A config path that does not exist says how to start one."""
    with pytest.raises(ConfigError, match=r"does not exist; copy config.example.toml to start"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    """A deploy log named relatively is looked for beside the config file."""
    (tmp_path / "sub").mkdir()
    cfg = tmp_path / "sub" / "pm.toml"
    cfg.write_text('[[deploys]]\npath = "deploys.csv"\n', encoding="utf-8")
    config = load_config(cfg)
    assert config.resolve(config.deploys[0].path) == (tmp_path / "sub" / "deploys.csv").resolve()


def test_batch_state_must_be_known_and_dynamodb_needs_a_table() -> None:
    """[batch] state is sqlite or dynamodb, and dynamodb names its table."""
    with pytest.raises(
        ConfigError, match=r"\[batch\] state 'redis' is not known; use \"sqlite\" or \"dynamodb\""
    ):
        parse_config('[pagerduty]\n[batch]\nstate = "redis"\n', origin="pm.toml")
    with pytest.raises(
        ConfigError, match=r"needs the table's name; for example: table = \"pmdraft-state\""
    ):
        parse_config('[pagerduty]\n[batch]\nstate = "dynamodb"\n', origin="pm.toml")


def test_each_deploy_source_type_reads_its_own_keys() -> None:
    """A [[deploys]] table is read by its type: github keys for github, a field mapping for files, and typos named."""
    config = parse_config(
        '[[deploys]]\npath = "ci.jsonl"\ntime_format = "epoch_ms"\n[deploys.fields]\ntimestamp = "ts"\n'
        '[[deploys]]\ntype = "github"\nrepos = ["acme/api"]\n',
        origin="pm.toml",
    )
    file, gh = config.deploys
    assert (
        isinstance(file, DeploySourceConfig)
        and file.fields == {"timestamp": "ts"}
        and file.time_format == "epoch_ms"
    )
    assert isinstance(gh, GitHubDeploysConfig) and gh.token_env == "GITHUB_TOKEN"
    with pytest.raises(
        ConfigError,
        match=r"pm.toml: \[deploys.fields\]: unknown field 'timestmp' \(did you mean 'timestamp'\?\)",
    ):
        parse_config(
            '[[deploys]]\npath = "a"\n[deploys.fields]\ntimestmp = "ts"\n', origin="pm.toml"
        )
    with pytest.raises(ConfigError, match=r"pm.toml: \[deploys\]: unknown key 'path'"):
        parse_config('[[deploys]]\ntype = "codedeploy"\npath = "a"\n', origin="pm.toml")
    with pytest.raises(ConfigError, match=r"requests_per_second must be above 0 and at most 2"):
        parse_config(
            '[[deploys]]\ntype = "cloudtrail"\nrequests_per_second = 5\n', origin="pm.toml"
        )


@pytest.mark.parametrize("line", ["max_attempts = 0", "timeout_seconds = 0"])
def test_cloudwatch_retries_and_timeout_must_be_positive(line: str) -> None:
    """No attempt at all, or a zero timeout, would make every run a data gap: it is refused up front."""
    with pytest.raises(
        ConfigError,
        match=r"pm.toml: \[cloudwatch\] max_attempts must be at least 1 and "
        r"timeout_seconds above 0",
    ):
        parse_config(f'[cloudwatch]\nregions = ["us-east-1"]\n{line}\n', origin="pm.toml")


def test_example_accounts_block_parses_when_uncommented() -> None:
    """The commented [[cloudwatch.accounts]] example becomes one account with its role."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    block = text[text.index("# [[cloudwatch.accounts]]") :].split("\n\n")[0]
    config = parse_config(
        "[cloudwatch]\n" + "\n".join(line[2:] for line in block.splitlines()), origin="pm.toml"
    )
    cw = config.get(CloudWatchConfig)
    assert cw is not None
    [account] = cw.accounts
    assert (account.name, account.role_arn) == (
        "prod",
        "arn:aws:iam::111111111111:role/pmdraft-read",
    )


def test_bad_role_arn_is_named() -> None:
    """A role_arn that is not a role ARN is refused with an example."""
    with pytest.raises(
        ConfigError,
        match=r"\[\[cloudwatch.accounts\]\] 'prod': role_arn 'prod-role' is not a role ARN",
    ):
        parse_config(
            '[cloudwatch]\n[[cloudwatch.accounts]]\nname = "prod"\nrole_arn = "prod-role"\n',
            origin="pm.toml",
        )
