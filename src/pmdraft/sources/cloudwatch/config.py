"""``[cloudwatch]`` and its ``[[cloudwatch.accounts]]`` tables: keys, defaults, validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ConfigError
from ...settings import key, read_table
from .._regions import bad_region, region_hint


@dataclass(frozen=True)
class CloudWatchAccountConfig:
    """One ``[[cloudwatch.accounts]]`` table: an AWS account and how to reach it."""

    name: str = key("", 'name = "prod"', required=True)
    """Shown in events' attrs (``account``) and in error messages."""
    role_arn: str = key("", 'role_arn = "arn:aws:iam::111111111111:role/pmdraft-read"')
    """A role to assume (STS AssumeRole) from the profile's or boto3's own credentials."""
    profile: str = key("", 'profile = "prod-readonly"')
    """A named profile from ~/.aws/config; empty: [cloudwatch] profile, else boto3's chain."""
    regions: list[str] = key([], 'regions = ["eu-west-1"]')
    """This account's regions; empty: [cloudwatch] regions."""


@dataclass(frozen=True)
class CloudWatchConfig:
    """``[cloudwatch]``: alarm history from one or more regions."""

    regions: list[str] = key(["us-east-1"], 'regions = ["us-east-1", "eu-west-1"]')
    """AWS regions read (default ["us-east-1"])."""
    endpoint_url: str = key("", 'endpoint_url = "http://127.0.0.1:5000"')
    """Another endpoint (a stand-in); empty: AWS's own."""
    alarm_prefixes: list[str] = key([], 'alarm_prefixes = ["api-", "HighErrorRate"]')
    """Only alarms whose names start with one of these; empty: every alarm."""
    profile: str = key("", 'profile = "prod-readonly"')
    """A named profile from ~/.aws/config; empty: boto3's credential chain."""
    max_attempts: int = key(5, "max_attempts = 5")
    """Attempts per AWS call in all, the first included (boto3's standard retry mode, with backoff).
    """
    timeout_seconds: float = key(30.0, "timeout_seconds = 30")
    """Seconds to wait for a connection, and then for each read of an answer (default 30)."""
    retry_mode: str = key("standard", 'retry_mode = "adaptive"  # or "standard"')
    """botocore's retry mode: "standard" (backoff) or "adaptive" (backoff and a client-side rate).
    """
    max_workers: int = key(8, "max_workers = 8")
    """(account, region) pairs read at once (default 8)."""
    history_requests_per_second: float = key(20.0, "history_requests_per_second = 20")
    """DescribeAlarmHistory requests per second per account, across its regions (default 20)."""
    history_slices: int = key(4, "history_slices = 4")
    """Time slices (each at least 6 hours) a long window's history is read as, side by side,
    each its own NextToken chain under the same rate limit (default 4)."""
    alarm_tags: dict[str, str] = key({}, '[cloudwatch.alarm_tags] team = "payments"')
    """Only alarms carrying every one of these tags (one ListTagsForResource per alarm)."""
    history_retention_days: float = key(14.0, "history_retention_days = 14")
    """Days CloudWatch keeps alarm history; an older window is a named data gap (0: never warn).
    With endpoint_url set (a stand-in keeps every item) it applies only when set in the file."""
    graphs: bool = key(True, "graphs = false")
    """Read the alarmed metrics (GetMetricData) for the draft's graphs; --no-graphs turns it off."""
    graph_margin_minutes: int = key(30, "graph_margin_minutes = 30")
    """Minutes of metric data drawn before and after the window (default 30)."""
    max_graphs: int = key(8, "max_graphs = 8")
    """At most this many alarm figures, the alarms longest in ALARM first (plus the overview);
    the rest are named in the draft's graphs note (default 8)."""
    metric_lookback_minutes: int = key(60, "metric_lookback_minutes = 60")
    """Minutes before an alarm's breach start its metric is read back for an earlier start of
    the breaching run (rule metric_lookback); widens the graphs' GetMetricData query, or with
    graphs off reads its own for the fired alarms, so the milestones are the same; 0: off
    (default 60)."""
    alarm_services: bool = key(False, "alarm_services = true")
    """Only alarms whose name, dimensions or tags mention a service of the incidents or deploys
    in the draft (one ListTagsForResource per alarm); without any such service, every alarm."""
    archive_log_group: str = key("", 'archive_log_group = "/aws/events/cloudwatch-alarms"')
    """A CloudWatch Logs group of archived EventBridge "CloudWatch Alarm State Change" events,
    read with FilterLogEvents and merged with the alarm history; empty: none."""
    accounts: tuple[CloudWatchAccountConfig, ...] = key((), '[[cloudwatch.accounts]] name = "prod"')
    """``[[cloudwatch.accounts]]``: each account read, by profile or role; none: boto3's own."""


_RETRY_MODES = ("standard", "adaptive")
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")


def read_cloudwatch(origin: str, table: Any) -> CloudWatchConfig:
    """``[cloudwatch]`` with its ``[[cloudwatch.accounts]]`` tables, validated."""
    if not isinstance(table, dict):
        return read_table(origin, "cloudwatch", table, CloudWatchConfig)
    rest = {k: v for k, v in table.items() if k != "accounts"}
    raw = table.get("accounts", [])
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise ConfigError(
            f"{origin}: [cloudwatch] accounts must be tables: write [[cloudwatch.accounts]] "
            'with name = "prod" and role_arn = "..." or profile = "..."'
        )
    accounts = tuple(
        read_table(origin, "cloudwatch.accounts", a, CloudWatchAccountConfig) for a in raw
    )
    cw = read_table(origin, "cloudwatch", rest, CloudWatchConfig)
    _check_accounts(origin, accounts)
    _check_values(origin, replace(cw, accounts=accounts))
    retention = cw.history_retention_days
    if cw.endpoint_url and "history_retention_days" not in rest:
        retention = 0.0
    return replace(cw, accounts=accounts, history_retention_days=retention)


def _check_accounts(origin: str, accounts: tuple[CloudWatchAccountConfig, ...]) -> None:
    names = [a.name for a in accounts]
    for a in accounts:
        if names.count(a.name) > 1:
            raise ConfigError(
                f"{origin}: [[cloudwatch.accounts]] name {a.name!r} is used twice; give each a name"
            )
        if a.role_arn and not _ROLE_ARN.fullmatch(a.role_arn):
            raise ConfigError(
                f"{origin}: [[cloudwatch.accounts]] {a.name!r}: role_arn {a.role_arn!r} is not a "
                'role ARN; for example: role_arn = "arn:aws:iam::111111111111:role/pmdraft-read"'
            )


def _check_values(origin: str, cw: CloudWatchConfig) -> None:
    if cw.retry_mode not in _RETRY_MODES:
        raise ConfigError(
            f"{origin}: [cloudwatch] retry_mode {cw.retry_mode!r} is not known; "
            'use "standard" or "adaptive"'
        )
    if cw.max_workers < 1 or cw.history_requests_per_second <= 0:
        raise ConfigError(
            f"{origin}: [cloudwatch] max_workers must be at least 1 and "
            "history_requests_per_second above 0"
        )
    if cw.history_slices < 1 or cw.max_graphs < 1:
        raise ConfigError(
            f"{origin}: [cloudwatch] history_slices and max_graphs must be at least 1, got "
            f"{cw.history_slices} and {cw.max_graphs}; for example: history_slices = 4"
        )
    if not cw.regions:
        raise ConfigError(
            f'{origin}: [cloudwatch] regions is empty; for example: regions = ["us-east-1"]'
        )
    for table, regions in [("[cloudwatch]", cw.regions)] + [
        (f"[[cloudwatch.accounts]] {a.name!r}", a.regions) for a in cw.accounts
    ]:
        bad = bad_region(regions)
        if bad is not None:
            raise ConfigError(
                f"{origin}: {table} region {bad!r} is not an AWS region name; "
                f'for example: regions = ["{region_hint(bad)}"]'
            )
    if cw.max_attempts < 1 or cw.timeout_seconds <= 0:
        raise ConfigError(
            f"{origin}: [cloudwatch] max_attempts must be at least 1 and timeout_seconds above 0, "
            f"got {cw.max_attempts} and {cw.timeout_seconds:g}; for example: max_attempts = 5"
        )


def describe_cloudwatch(cw: CloudWatchConfig) -> str:
    """What this ``[cloudwatch]`` reads, in a few words."""
    parts = [f"regions {', '.join(cw.regions)}"]
    if cw.alarm_prefixes:
        parts.append(f"alarms starting with {', '.join(cw.alarm_prefixes)}")
    if cw.profile:
        parts.append(f"profile {cw.profile}")
    if cw.accounts:
        parts.append(f"accounts {', '.join(a.name for a in cw.accounts)}")
    if cw.endpoint_url:
        parts.append(f"endpoint {cw.endpoint_url}")
    return "; ".join(parts)
