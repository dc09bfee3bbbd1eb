"""The TOML configuration, read into frozen dataclasses and validated with key names in errors.

Every section is optional: a source whose section is absent is *not configured*, and the draft
says so rather than skipping it silently. ``config.example.toml`` documents every key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError


def _key(default: Any, example: str, *, required: bool = False) -> Any:
    """A config key: its default, an example of a correct value for error messages."""
    meta = {"example": example, "required": required}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class CloudWatchAccountConfig:
    """One ``[[cloudwatch.accounts]]`` table: an AWS account and how to reach it."""

    name: str = _key("", 'name = "prod"', required=True)
    """Shown in events' attrs (``account``) and in error messages."""
    role_arn: str = _key("", 'role_arn = "arn:aws:iam::111111111111:role/pmdraft-read"')
    """A role to assume (STS AssumeRole) from the profile's or boto3's own credentials."""
    profile: str = _key("", 'profile = "prod-readonly"')
    """A named profile from ~/.aws/config; empty: [cloudwatch] profile, else boto3's chain."""
    regions: list[str] = _key([], 'regions = ["eu-west-1"]')
    """This account's regions; empty: [cloudwatch] regions."""


@dataclass(frozen=True)
class CloudWatchConfig:
    """``[cloudwatch]``: alarm history from one or more regions."""

    regions: list[str] = _key(["us-east-1"], 'regions = ["us-east-1", "eu-west-1"]')
    endpoint_url: str = _key("", 'endpoint_url = "http://127.0.0.1:5000"')
    alarm_prefixes: list[str] = _key([], 'alarm_prefixes = ["api-", "HighErrorRate"]')
    profile: str = _key("", 'profile = "prod-readonly"')
    max_attempts: int = _key(5, "max_attempts = 5")
    """Attempts per AWS call in all, the first included (boto3's standard retry mode, with backoff)."""
    timeout_seconds: float = _key(30.0, "timeout_seconds = 30")
    """Seconds to wait for a connection, and then for each read of an answer, before an attempt fails."""
    retry_mode: str = _key("standard", 'retry_mode = "adaptive"  # or "standard"')
    """botocore's retry mode: "standard" (backoff) or "adaptive" (backoff and a client-side rate)."""
    max_workers: int = _key(8, "max_workers = 8")
    """(account, region) pairs read at once."""
    history_requests_per_second: float = _key(20.0, "history_requests_per_second = 20")
    """DescribeAlarmHistory requests per second per account, across its regions (retries included)."""
    alarm_tags: dict[str, str] = _key({}, '[cloudwatch.alarm_tags] team = "payments"')
    """Only alarms carrying every one of these tags (one ListTagsForResource per alarm in the history)."""
    history_retention_days: float = _key(14.0, "history_retention_days = 14")
    """Days CloudWatch keeps alarm history; an older window is a named data gap (0: never warn).
    With endpoint_url set (a stand-in keeps every item) it applies only when set in the file."""
    graphs: bool = _key(True, "graphs = false")
    """Read the alarmed metrics (GetMetricData) for the draft's graphs; --no-graphs turns it off."""
    graph_margin_minutes: int = _key(30, "graph_margin_minutes = 30")
    """Minutes of metric data drawn before and after the window."""
    metric_lookback_minutes: int = _key(60, "metric_lookback_minutes = 60")
    """Minutes before an alarm's breach start its metric is read back for an earlier start of the
    breaching run (rule metric_lookback); rides on the graphs' GetMetricData query, so needs graphs; 0: off."""
    alarm_services: bool = _key(False, "alarm_services = true")
    """Only alarms whose name, dimensions or tags mention a service of the incidents or deploys in the
    draft (one ListTagsForResource per alarm); without any such service, every alarm is kept."""
    archive_log_group: str = _key("", 'archive_log_group = "/aws/events/cloudwatch-alarms"')
    """A CloudWatch Logs group of archived EventBridge "CloudWatch Alarm State Change" events, read with
    FilterLogEvents and merged with the alarm history (also for windows older than its retention); empty: none."""
    accounts: tuple[CloudWatchAccountConfig, ...] = _key(
        (), '[[cloudwatch.accounts]] name = "prod"'
    )
    """``[[cloudwatch.accounts]]``: each account read, by profile or role; none: boto3's own credentials."""


@dataclass(frozen=True)
class PagerDutyConfig:
    """``[pagerduty]``: incidents and their log entries."""

    base_url: str = _key("https://api.pagerduty.com", 'base_url = "https://api.eu.pagerduty.com"')
    ca_bundle: str = _key("", 'ca_bundle = "/etc/ssl/certs/corp-proxy.pem"')
    token_env: str = _key("PAGERDUTY_API_TOKEN", 'token_env = "PAGERDUTY_API_TOKEN"')
    service_ids: list[str] = _key([], 'service_ids = ["PABC123"]')
    incident_margin_minutes: int = _key(60, "incident_margin_minutes = 60")
    max_retries: int = _key(5, "max_retries = 5")
    max_retry_wait_seconds: float = _key(60.0, "max_retry_wait_seconds = 60")
    timeout_seconds: float = _key(30.0, "timeout_seconds = 30")
    max_connections: int = _key(8, "max_connections = 8")
    """Pages fetched at once once their offsets are known (threads and HTTPS connections)."""
    requests_per_minute: int = _key(900, "requests_per_minute = 900")
    """At most this many requests in any 60 s (PagerDuty allows 960 per token); a run under it never waits."""
    incident_lookback_minutes: int = _key(60, "incident_lookback_minutes = 60")
    """With --incident: minutes before the earliest incident's creation the window starts."""
    incident_after_minutes: int = _key(30, "incident_after_minutes = 30")
    """With --incident: minutes after the latest resolution (now, if one is open) the window ends."""
    related_lookback_days: int = _key(90, "related_lookback_days = 90")
    """Days before the earliest in-scope incident searched for related incidents (0: off; at most 180)."""
    change_events: bool = _key(True, "change_events = false")
    """Read PagerDuty change events (GET /change_events) as deploys, with source "pagerduty"."""


@dataclass(frozen=True)
class DeploySourceConfig:
    """One ``[[deploys]]`` entry of ``type = "file"``: a file of deploy records (JSON Lines or CSV)."""

    type: str = _key("file", 'type = "file"')
    path: str = _key("", 'path = "deploys.jsonl"', required=True)
    format: str = _key("auto", 'format = "jsonl"  # or "csv", or "auto" from the file name')
    time_format: str = _key("iso8601", 'time_format = "epoch_ms"  # or "iso8601", "epoch_s"')
    """How the timestamp field is written: ISO 8601 with an offset, or epoch seconds or milliseconds (UTC)."""
    fields: dict[str, str] = _key({}, '[deploys.fields] timestamp = "ts"')
    """pmdraft field -> the file's own field (column) name, e.g. timestamp = "ts"; unnamed fields keep their names."""


@dataclass(frozen=True)
class CodeDeployConfig:
    """A ``[[deploys]]`` entry of ``type = "codedeploy"``: AWS CodeDeploy deployments."""

    type: str = _key("codedeploy", 'type = "codedeploy"')
    regions: list[str] = _key(["us-east-1"], 'regions = ["us-east-1"]')
    endpoint_url: str = _key("", 'endpoint_url = "http://127.0.0.1:5000"')
    profile: str = _key("", 'profile = "prod-readonly"')
    applications: list[str] = _key([], 'applications = ["api/production", "web"]')
    """"application/deployment-group" or "application" (all its groups); empty: every deployment."""


@dataclass(frozen=True)
class GitHubDeploysConfig:
    """A ``[[deploys]]`` entry of ``type = "github"``: GitHub Deployments and their statuses."""

    type: str = _key("github", 'type = "github"')
    repos: list[str] = _key([], 'repos = ["octocat/example"]', required=True)
    base_url: str = _key("https://api.github.com", 'base_url = "https://github.example.com/api/v3"')
    token_env: str = _key("GITHUB_TOKEN", 'token_env = "GITHUB_TOKEN"')
    environments: list[str] = _key([], 'environments = ["production"]')
    """Only deployments to these environments; empty: every environment."""
    timeout_seconds: float = _key(30.0, "timeout_seconds = 30")
    max_rate_limit_wait_seconds: float = _key(60.0, "max_rate_limit_wait_seconds = 60")
    """Longest wait for a rate limit to reset; a longer one makes the source a data gap."""


@dataclass(frozen=True)
class CloudTrailConfig:
    """A ``[[deploys]]`` entry of ``type = "cloudtrail"``: deploy-like API calls from CloudTrail."""

    type: str = _key("cloudtrail", 'type = "cloudtrail"')
    regions: list[str] = _key(["us-east-1"], 'regions = ["us-east-1"]')
    endpoint_url: str = _key("", 'endpoint_url = "http://127.0.0.1:5000"')
    profile: str = _key("", 'profile = "prod-readonly"')
    event_names: list[str] = _key(
        [], 'event_names = ["UpdateService", "UpdateFunctionCode20150331v2"]'
    )
    """CloudTrail event names to look up; empty: ECS, Lambda and CodeDeploy deploy calls."""
    requests_per_second: float = _key(2.0, "requests_per_second = 2")
    """LookupEvents allows 2 requests per second per account and region."""


DeployConfig = DeploySourceConfig | CodeDeployConfig | GitHubDeploysConfig | CloudTrailConfig


@dataclass(frozen=True)
class TimelineConfig:
    """``[timeline]``: how milestones are found."""

    suspect_lookback_hours: float = _key(6.0, "suspect_lookback_hours = 6")
    long_lookback_days: float = _key(30.0, "long_lookback_days = 30")
    """Days before the window in which the affected service's last deploys are listed apart (0: off)."""
    flap_transitions: int = _key(3, "flap_transitions = 3")
    """An alarm with this many transitions within flap_minutes, back to ALARM after an OK, is one
    "flapped" timeline line (the JSON keeps every transition; 0: never fold)."""
    flap_minutes: float = _key(10.0, "flap_minutes = 10")


@dataclass(frozen=True)
class RenderConfig:
    """``[render]``: how the Markdown draft is written."""

    template: str = _key("", 'template = "postmortem-template.md.j2"')
    """Your own jinja2 template for the Markdown draft, relative to the config file; empty: built-in."""


@dataclass(frozen=True)
class BatchConfig:
    """``[batch]``: the scheduled job that drafts every qualifying resolved incident once."""

    lookback_hours: float = _key(24.0, "lookback_hours = 24")
    """First run only: incidents resolved this many hours before it are drafted."""
    overlap_minutes: int = _key(15, "overlap_minutes = 15")
    """Each run looks this far behind the last one's high-water mark, for late-arriving resolutions."""
    created_within_days: int = _key(7, "created_within_days = 7")
    """Incidents created at most this many days before the run's start are found (PagerDuty lists by creation)."""
    priorities: list[str] = _key([], 'priorities = ["P1", "P2"]')
    """Only incidents with one of these priority names; empty: any priority, or none."""
    urgencies: list[str] = _key([], 'urgencies = ["high"]')
    service_ids: list[str] = _key([], 'service_ids = ["PABC123"]')
    """Only these services; empty: [pagerduty] service_ids, else every service."""
    team_ids: list[str] = _key([], 'team_ids = ["PTEAM01"]')
    output: str = _key("postmortems", 'output = "s3://my-bucket/postmortems/"')
    """A directory (relative to this file) or s3://bucket/prefix/."""
    state: str = _key("sqlite", 'state = "dynamodb"')
    state_path: str = _key("pmdraft-state.sqlite3", 'state_path = "/var/lib/pmdraft/state.sqlite3"')
    table: str = _key("", 'table = "pmdraft-state"')
    aws_region: str = _key("", 'aws_region = "eu-west-1"')
    aws_endpoint_url: str = _key("", 'aws_endpoint_url = "http://127.0.0.1:5000"')
    max_attempts: int = _key(3, "max_attempts = 3")
    """Drafts per incident while a source keeps failing, before the job stops retrying it."""
    claim_minutes: int = _key(30, "claim_minutes = 30")
    """How long a runner's claim on an incident lasts; a crashed run's incidents are retried after it."""
    annotate_from: str = _key("", 'annotate_from = "pmdraft-bot@example.com"')
    """With --annotate: the PagerDuty user's email the notes are added as (the From header)."""
    link_base: str = _key("", 'link_base = "https://wiki.example.com/postmortems/"')
    """With --annotate: the note links link_base + file name; empty: the draft's path or s3:// URL."""


_STATE_KINDS = ("sqlite", "dynamodb")


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``None`` for a source section that is absent."""

    cloudwatch: CloudWatchConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    deploys: tuple[DeployConfig, ...] = ()
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    path: Path | None = None
    warnings: tuple[str, ...] = ()
    """Things the file holds that work but should not be there (a value shaped like a token)."""
    incidents: tuple[str, ...] = ()
    """PagerDuty incident ids the run is scoped to (``--incident``); set by the caller, not the file."""

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file (deploy logs, CA bundle) are taken from here."""
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def source_details(self, name: str) -> str | None:
        """What this config reads from source ``name``, in a few words; ``None`` if not configured."""
        if name == "cloudwatch" and self.cloudwatch is not None:
            cw = self.cloudwatch
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
        if name == "pagerduty" and self.pagerduty is not None:
            pd = self.pagerduty
            services = (
                f"services {', '.join(pd.service_ids)}" if pd.service_ids else "every service"
            )
            return f"{pd.base_url}; {services}; token from ${pd.token_env}"
        if name == "deploys" and self.deploys:
            return "; ".join(_deploy_details(d) for d in self.deploys)
        return None


_SECTIONS: dict[str, type] = {
    "cloudwatch": CloudWatchConfig,
    "pagerduty": PagerDutyConfig,
    "deploys": DeploySourceConfig,
    "timeline": TimelineConfig,
    "render": RenderConfig,
    "batch": BatchConfig,
}


def _deploy_details(d: DeployConfig) -> str:
    if isinstance(d, CodeDeployConfig):
        return f"CodeDeploy in {', '.join(d.regions)}" + (
            f" ({', '.join(d.applications)})" if d.applications else ""
        )
    if isinstance(d, GitHubDeploysConfig):
        return f"GitHub Deployments of {', '.join(d.repos)}; token from ${d.token_env}"
    if isinstance(d, CloudTrailConfig):
        return f"CloudTrail deploy calls in {', '.join(d.regions)}"
    return d.path


_DEPLOY_CLASSES: dict[str, type] = {
    "file": DeploySourceConfig,
    "codedeploy": CodeDeployConfig,
    "github": GitHubDeploysConfig,
    "cloudtrail": CloudTrailConfig,
}
_DEPLOY_TYPES = tuple(_DEPLOY_CLASSES)
_TIME_FORMATS = ("iso8601", "epoch_s", "epoch_ms")
_DEPLOY_FIELDS = (
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
_DEPLOY_FORMATS = ("auto", "jsonl", "csv")


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_SECRET_NAME = re.compile(
    r"token|api_?key|access_?key|private_?key|secret|passw|credential|authorization", re.IGNORECASE
)
_ENV_VALUE = re.compile(r"[A-Z_][A-Z0-9_]*")
_TOKEN_SHAPE = re.compile(r"(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_+-]{20}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_TOKEN_ENV = "PAGERDUTY_API_TOKEN"


def _looks_like_token(value: Any) -> bool:
    """Shaped like a PagerDuty REST API key: 20 letters, digits, ``_+-``, upper and lower case."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and _TOKEN_SHAPE.fullmatch(v) is not None for v in values)


def _is_credential(key: str, value: Any) -> bool:
    """A value shaped like a token, or a credential-named key (unless its value is a variable's
    name, as in a misspelt ``token_env``)."""
    if _looks_like_token(value):
        return True
    return bool(_SECRET_NAME.search(key)) and not (
        isinstance(value, str) and _ENV_VALUE.fullmatch(value)
    )


def _token_advice(table: Any, section: str = "pagerduty") -> str:
    """Where a credential belongs, naming the section's own ``token_env`` when it is a usable name."""
    if section == "cloudwatch":
        return (
            "do not put AWS credentials in the config file; boto3 reads them from the environment, "
            "a named profile (profile = ...) or a role"
        )
    env = table.get("token_env") if isinstance(table, dict) else None
    if not isinstance(env, str) or not _ENV_NAME.fullmatch(env) or _looks_like_token(env):
        env = DEFAULT_TOKEN_ENV
    return f"do not put the token in the config file; export {env} (or the variable named by token_env)"


def _check_type(where: str, name: str, value: Any, default: Any, example: str) -> Any:
    """Return ``value`` if it has the type of ``default``; else raise naming the key."""
    ok: bool
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif isinstance(default, dict):
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    else:  # pragma: no cover - every key has one of the types above
        ok = True
    if not ok:
        want = {
            bool: "true or false",
            int: "a whole number",
            float: "a number",
            str: "a string",
            list: "a list of strings",
            dict: "a table of strings",
        }[type(default)]
        raise ConfigError(
            f"{where}: key '{name}' must be {want}, got "
            f"{'a value shaped like a token (not shown)' if _looks_like_token(value) else repr(value)}; "
            f"for example: {example}"
        )
    return value


def _section(origin: str, name: str, table: Any, cls: type) -> Any:
    where = f"{origin}: [{name}]"
    if not isinstance(table, dict):
        shown = (
            "a value shaped like a token (not shown)" if _looks_like_token(table) else repr(table)
        )
        raise ConfigError(f"{where} must be a table of keys, got {shown}")
    spec = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in spec and _is_credential(key, value):
            raise ConfigError(
                f"{where}: key '{key}' looks like a credential: {_token_advice(table, name)}; "
                f"remove '{key}' from the file"
            )
        if key not in spec:
            known = sorted(spec)
            raise ConfigError(
                f"{where}: unknown key '{key}'{_did_you_mean(key, known)}; "
                f"known keys: {', '.join(known)}"
            )
        f = spec[key]
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        values[key] = _check_type(where, key, value, default, f.metadata["example"])
    for f in spec.values():
        if f.metadata.get("required") and not values.get(f.name):
            raise ConfigError(
                f"{where}: key '{f.name}' is required; for example: {f.metadata['example']}"
            )
    return cls(**values)


def _deploy_section(origin: str, table: Any) -> DeployConfig:
    """One ``[[deploys]]`` table, read into the dataclass of its ``type``, validated."""
    kind = table.get("type", "file") if isinstance(table, dict) else "file"
    if isinstance(kind, str) and kind not in _DEPLOY_CLASSES:
        known = ", ".join(f'"{t}"' for t in _DEPLOY_TYPES)
        raise ConfigError(f"{origin}: [[deploys]] type {kind!r} is not known; use one of {known}")
    d = _section(origin, "deploys", table, _DEPLOY_CLASSES.get(kind, DeploySourceConfig))
    if isinstance(d, DeploySourceConfig):
        if d.format not in _DEPLOY_FORMATS:
            raise ConfigError(
                f"{origin}: [[deploys]] format {d.format!r} is not known; use one of {', '.join(_DEPLOY_FORMATS)}"
            )
        if d.time_format not in _TIME_FORMATS:
            raise ConfigError(
                f"{origin}: [[deploys]] time_format {d.time_format!r} is not known; use one of {', '.join(_TIME_FORMATS)}"
            )
        unknown = [k for k in d.fields if k not in _DEPLOY_FIELDS]
        if unknown:
            raise ConfigError(
                f"{origin}: [deploys.fields]: unknown field '{unknown[0]}'{_did_you_mean(unknown[0], list(_DEPLOY_FIELDS))}; "
                f"known fields: {', '.join(_DEPLOY_FIELDS)}"
            )
    if isinstance(d, (CodeDeployConfig, CloudTrailConfig)) and not d.regions:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "{d.type}": regions is empty; for example: regions = ["us-east-1"]'
        )
    if isinstance(d, CloudTrailConfig) and not 0 < d.requests_per_second <= 2:
        raise ConfigError(
            f'{origin}: [[deploys]] type = "cloudtrail": requests_per_second must be above 0 and '
            f"at most 2 (LookupEvents' limit), got {d.requests_per_second:g}"
        )
    if isinstance(d, GitHubDeploysConfig):
        bad = [r for r in d.repos if not re.fullmatch(r"[\w.-]+/[\w.-]+", r)]
        if bad:
            raise ConfigError(
                f'{origin}: [[deploys]] type = "github": repo {bad[0]!r} is not owner/name; '
                'for example: repos = ["octocat/example"]'
            )
        if not _ENV_NAME.fullmatch(d.token_env) or _looks_like_token(d.token_env):
            raise ConfigError(
                f"{origin}: [[deploys]] type = \"github\": key 'token_env' must be the name of the environment "
                'variable that holds the token, like token_env = "GITHUB_TOKEN" (its value is not shown)'
            )
        if not d.base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ConfigError(
                f'{origin}: [[deploys]] type = "github": base_url must start with https://, '
                f"got {d.base_url!r}"
            )
    return d  # type: ignore[no-any-return]


_RETRY_MODES = ("standard", "adaptive")


def _cloudwatch_section(origin: str, table: Any) -> CloudWatchConfig:
    """``[cloudwatch]`` with its ``[[cloudwatch.accounts]]`` tables, validated."""
    if not isinstance(table, dict):
        return _section(origin, "cloudwatch", table, CloudWatchConfig)  # type: ignore[no-any-return]
    rest = {k: v for k, v in table.items() if k != "accounts"}
    raw = table.get("accounts", [])
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        raise ConfigError(
            f"{origin}: [cloudwatch] accounts must be tables: write [[cloudwatch.accounts]] "
            'with name = "prod" and role_arn = "..." or profile = "..."'
        )
    accounts = tuple(
        _section(origin, "cloudwatch.accounts", a, CloudWatchAccountConfig) for a in raw
    )
    cw: CloudWatchConfig = _section(origin, "cloudwatch", rest, CloudWatchConfig)
    names = [a.name for a in accounts]
    for a in accounts:
        if names.count(a.name) > 1:
            raise ConfigError(
                f"{origin}: [[cloudwatch.accounts]] name {a.name!r} is used twice; give each a name"
            )
        if a.role_arn and not re.fullmatch(
            r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", a.role_arn
        ):
            raise ConfigError(
                f"{origin}: [[cloudwatch.accounts]] {a.name!r}: role_arn {a.role_arn!r} is not a "
                'role ARN; for example: role_arn = "arn:aws:iam::111111111111:role/pmdraft-read"'
            )
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
    retention = cw.history_retention_days
    if cw.endpoint_url and "history_retention_days" not in rest:
        retention = 0.0
    return replace(cw, accounts=accounts, history_retention_days=retention)


def parse_config(text: str, origin: str = "<config>", path: Path | None = None) -> Config:
    """Parse TOML text into a :class:`Config`; ``origin`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    unknown = [k for k in data if k not in _SECTIONS]
    if unknown:
        name = unknown[0]
        if _is_credential(name, data[name]):
            raise ConfigError(
                f"{origin}: key '{name}' looks like a credential: {_token_advice(data.get('pagerduty'))}; "
                f"remove '{name}' from the file"
            )
        raise ConfigError(
            f"{origin}: unknown section [{name}]{_did_you_mean(name, list(_SECTIONS))}; "
            f"known sections: [cloudwatch], [pagerduty], [[deploys]], [timeline], [render], [batch]"
        )
    cw = _cloudwatch_section(origin, data["cloudwatch"]) if "cloudwatch" in data else None
    pd = (
        _section(origin, "pagerduty", data["pagerduty"], PagerDutyConfig)
        if "pagerduty" in data
        else None
    )
    raw_deploys = data.get("deploys", [])
    if not isinstance(raw_deploys, list):
        raise ConfigError(
            f"{origin}: deploys must be an array of tables: write [[deploys]] (two brackets)"
        )
    deploys = tuple(_deploy_section(origin, d) for d in raw_deploys)
    tl = (
        _section(origin, "timeline", data["timeline"], TimelineConfig)
        if "timeline" in data
        else TimelineConfig()
    )
    rc = (
        _section(origin, "render", data["render"], RenderConfig)
        if "render" in data
        else RenderConfig()
    )
    bc = _section(origin, "batch", data["batch"], BatchConfig) if "batch" in data else BatchConfig()
    if bc.state not in _STATE_KINDS:
        raise ConfigError(
            f'{origin}: [batch] state {bc.state!r} is not known; use "sqlite" or "dynamodb"'
        )
    if bc.state == "dynamodb" and not bc.table:
        raise ConfigError(
            f'{origin}: [batch] state = "dynamodb" needs the table\'s name; for example: '
            'table = "pmdraft-state"'
        )
    for key in ("max_attempts", "claim_minutes"):
        if getattr(bc, key) < 1:
            raise ConfigError(
                f"{origin}: [batch] key '{key}' must be at least 1, got {getattr(bc, key)}"
            )
    if cw is not None and not cw.regions:
        raise ConfigError(
            f'{origin}: [cloudwatch] regions is empty; for example: regions = ["us-east-1"]'
        )
    if cw is not None and (cw.max_attempts < 1 or cw.timeout_seconds <= 0):
        raise ConfigError(
            f"{origin}: [cloudwatch] max_attempts must be at least 1 and timeout_seconds above 0, "
            f"got {cw.max_attempts} and {cw.timeout_seconds:g}; for example: max_attempts = 5"
        )
    if pd is not None and not pd.base_url.startswith("https://"):
        raise ConfigError(
            f"{origin}: [pagerduty] base_url must start with https:// (the PagerDuty client refuses "
            f"plain http), got {pd.base_url!r}"
        )
    if pd is not None:
        for key in ("max_connections", "requests_per_minute"):
            if getattr(pd, key) < 1:
                raise ConfigError(
                    f"{origin}: [pagerduty] key '{key}' must be at least 1, got {getattr(pd, key)}"
                )
        if not 0 <= pd.related_lookback_days <= 180:
            raise ConfigError(
                f"{origin}: [pagerduty] key 'related_lookback_days' must be 0 (off) to 180 days "
                f"(PagerDuty lists incidents at most 6 months at a time), got {pd.related_lookback_days}"
            )
    if cw is None and pd is None and not deploys:
        raise ConfigError(
            f"{origin}: no source is configured; add at least one of [cloudwatch], [pagerduty] "
            "or [[deploys]] (see config.example.toml)"
        )
    if pd is not None and (
        not _ENV_NAME.fullmatch(pd.token_env) or _looks_like_token(pd.token_env)
    ):
        raise ConfigError(
            f"{origin}: [pagerduty] key 'token_env' must be the name of the environment variable that "
            f'holds the token, like token_env = "{DEFAULT_TOKEN_ENV}"; its value is not such a name '
            f"(not shown, in case it is the token): {_token_advice({})}"
        )
    warnings = tuple(
        f"{origin}: [{section}] key '{key}' holds a value shaped like a PagerDuty API token (not shown); "
        f"if it is one, {_token_advice(data.get('pagerduty'))}, and remove it from the file"
        for section, tables in data.items()
        for table in (tables if isinstance(tables, list) else [tables])
        if isinstance(table, dict)
        for key, value in table.items()
        if _looks_like_token(value)
    )
    return Config(
        cloudwatch=cw,
        pagerduty=pd,
        deploys=deploys,
        timeline=tl,
        render=rc,
        batch=bc,
        path=path,
        warnings=warnings,
    )


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"config file {path} does not exist; copy config.example.toml to start"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} could not be read: {exc}") from exc
    return parse_config(text, origin=str(path), path=path.resolve())
