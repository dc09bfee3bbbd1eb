"""The ``[[deploys]]`` tables, one dataclass per ``type``: keys, defaults, validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from ...settings import ENV_NAME, did_you_mean, key, looks_like_token, read_table
from .._regions import bad_region, region_hint


@dataclass(frozen=True)
class DeploySourceConfig:
    """A ``[[deploys]]`` table of ``type = "file"``: a file of deploy records (JSONL or CSV)."""

    type: str = key("file", 'type = "file"')
    path: str = key("", 'path = "deploys.jsonl"', required=True)
    """The file, relative to the config file's folder."""
    format: str = key("auto", 'format = "jsonl"  # or "csv", or "auto" from the file name')
    """"jsonl", "csv", or "auto" (from the file name's ending)."""
    time_format: str = key("iso8601", 'time_format = "epoch_ms"  # or "iso8601", "epoch_s"')
    """How the timestamp field is written: ISO 8601 with an offset, or epoch seconds or ms (UTC)."""
    fields: dict[str, str] = key({}, '[deploys.fields] timestamp = "ts"')
    """pmdraft field -> the file's own field (column) name; unnamed fields keep their names."""
    values: dict[str, dict[str, str]] | None = key(
        None, '[deploys.values] status = { success = "succeeded", rollback = "rolled_back" }'
    )
    """pmdraft field -> {the file's value: pmdraft's value}, e.g. a CI's statuses; none: as is."""


@dataclass(frozen=True)
class CodeDeployConfig:
    """A ``[[deploys]]`` table of ``type = "codedeploy"``: AWS CodeDeploy deployments."""

    type: str = key("codedeploy", 'type = "codedeploy"')
    regions: list[str] = key(["us-east-1"], 'regions = ["us-east-1"]')
    endpoint_url: str = key("", 'endpoint_url = "http://127.0.0.1:5000"')
    profile: str = key("", 'profile = "prod-readonly"')
    applications: list[str] = key([], 'applications = ["api/production", "web"]')
    """"application/deployment-group" or "application" (all its groups); empty: every one."""


@dataclass(frozen=True)
class GitHubDeploysConfig:
    """A ``[[deploys]]`` table of ``type = "github"``: GitHub Deployments and their statuses."""

    type: str = key("github", 'type = "github"')
    repos: list[str] = key([], 'repos = ["octocat/example"]', required=True)
    base_url: str = key("https://api.github.com", 'base_url = "https://github.example.com/api/v3"')
    token_env: str = key("GITHUB_TOKEN", 'token_env = "GITHUB_TOKEN"')
    """The environment variable holding a token that can read deployments."""
    environments: list[str] = key([], 'environments = ["production"]')
    """Only deployments to these environments; empty: every environment."""
    timeout_seconds: float = key(30.0, "timeout_seconds = 30")
    max_rate_limit_wait_seconds: float = key(60.0, "max_rate_limit_wait_seconds = 60")
    """Longest wait for a rate limit to reset; a longer one makes the source a data gap."""


@dataclass(frozen=True)
class CloudTrailConfig:
    """A ``[[deploys]]`` table of ``type = "cloudtrail"``: deploy-like API calls from CloudTrail."""

    type: str = key("cloudtrail", 'type = "cloudtrail"')
    regions: list[str] = key(["us-east-1"], 'regions = ["us-east-1"]')
    endpoint_url: str = key("", 'endpoint_url = "http://127.0.0.1:5000"')
    profile: str = key("", 'profile = "prod-readonly"')
    event_names: list[str] = key(
        [], 'event_names = ["UpdateService", "UpdateFunctionCode20150331v2"]'
    )
    """CloudTrail event names to look up; empty: ECS, Lambda and CodeDeploy deploy calls."""
    requests_per_second: float = key(2.0, "requests_per_second = 2")
    """LookupEvents allows 2 requests per second per account and region."""


TIME_FORMATS = ("iso8601", "epoch_s", "epoch_ms")
"""How a deploy log may write its timestamps."""
FIELDS = (  # the fields pmdraft reads from a deploy record
    "timestamp",
    "service",
    "version",
    "environment",
    "status",
    "actor",
    "description",
    "url",
    "id",
)
_FORMATS = ("auto", "jsonl", "csv")


def read_file(origin: str, table: Any) -> DeploySourceConfig:
    """A ``type = "file"`` table, validated: known format, time format and field names."""
    d = read_table(origin, "deploys", table, DeploySourceConfig)
    if d.format not in _FORMATS:
        raise ConfigError(
            f"{origin}: [[deploys]] format {d.format!r} is not known; "
            f"use one of {', '.join(_FORMATS)}"
        )
    if d.time_format not in TIME_FORMATS:
        raise ConfigError(
            f"{origin}: [[deploys]] time_format {d.time_format!r} is not known; "
            f"use one of {', '.join(TIME_FORMATS)}"
        )
    unknown = [k for k in d.fields if k not in FIELDS]
    if unknown:
        raise ConfigError(
            f"{origin}: [deploys.fields]: unknown field "
            f"'{unknown[0]}'{did_you_mean(unknown[0], list(FIELDS))}; "
            f"known fields: {', '.join(FIELDS)}"
        )
    _check_values(origin, d.values)
    return d


_STATUSES = ("started", "succeeded", "failed", "rolled_back")


def _check_values(origin: str, values: Any) -> None:
    """``[deploys.values]``: a table per known field, of strings; statuses map to known ones."""
    example = '[deploys.values] status = { success = "succeeded", rollback = "rolled_back" }'
    if values is None:
        return
    if not isinstance(values, dict):
        raise ConfigError(f"{origin}: [deploys.values] must be a table; for example: {example}")
    for name, table in values.items():
        if name not in FIELDS:
            raise ConfigError(
                f"{origin}: [deploys.values]: unknown field '{name}'"
                f"{did_you_mean(name, list(FIELDS))}; known fields: {', '.join(FIELDS)}"
            )
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ConfigError(
                f"{origin}: [deploys.values] key '{name}' must be a table of strings; "
                f"for example: {example}"
            )
        bad = [v for v in table.values() if name == "status" and v not in _STATUSES]
        if bad:
            raise ConfigError(
                f"{origin}: [deploys.values] key 'status' maps to {bad[0]!r}, which is not one "
                f"of {', '.join(_STATUSES)}; for example: {example}"
            )


def _regions(origin: str, d: CodeDeployConfig | CloudTrailConfig) -> None:
    if not d.regions:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "{d.type}": regions is empty; '
            'for example: regions = ["us-east-1"]'
        )
    bad = bad_region(d.regions)
    if bad is not None:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "{d.type}": region {bad!r} is not an AWS region name; '
            f'for example: regions = ["{region_hint(bad)}"]'
        )


def read_codedeploy(origin: str, table: Any) -> CodeDeployConfig:
    """A ``type = "codedeploy"`` table, validated."""
    d = read_table(origin, "deploys", table, CodeDeployConfig)
    _regions(origin, d)
    return d


def read_cloudtrail(origin: str, table: Any) -> CloudTrailConfig:
    """A ``type = "cloudtrail"`` table, validated (LookupEvents allows at most 2 per second)."""
    d = read_table(origin, "deploys", table, CloudTrailConfig)
    _regions(origin, d)
    if not 0 < d.requests_per_second <= 2:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "cloudtrail": requests_per_second must be above 0 '
            f"and at most 2 (LookupEvents' limit), got {d.requests_per_second:g}"
        )
    return d


def read_github(origin: str, table: Any) -> GitHubDeploysConfig:
    """A ``type = "github"`` table, validated: owner/name repos, a variable's name, https."""
    d = read_table(origin, "deploys", table, GitHubDeploysConfig)
    bad = [r for r in d.repos if not re.fullmatch(r"[\w.-]+/[\w.-]+", r)]
    if bad:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "github": repo {bad[0]!r} is not owner/name; '
            'for example: repos = ["octocat/example"]'
        )
    if not ENV_NAME.fullmatch(d.token_env) or looks_like_token(d.token_env):
        raise ConfigError(
            f"{origin}: [[deploys]] type = \"github\": key 'token_env' must be the name of the "
            'environment variable that holds the token, like token_env = "GITHUB_TOKEN" '
            "(its value is not shown)"
        )
    if not d.base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(
            f'{origin}: [[deploys]] type = "github": base_url must start with https://, '
            f"got {d.base_url!r}"
        )
    return d
