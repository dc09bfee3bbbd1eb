"""The TOML configuration, read into frozen dataclasses and validated with key names in errors.

Every section is optional: a source whose section is absent is *not configured*, and the draft
says so rather than skipping it silently. ``config.example.toml`` documents every key.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError


def _key(default: Any, example: str, *, required: bool = False) -> Any:
    """A config key: its default, an example of a correct value for error messages."""
    meta = {"example": example, "required": required}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class CloudWatchConfig:
    """``[cloudwatch]``: alarm history from one or more regions."""

    regions: list[str] = _key(["us-east-1"], 'regions = ["us-east-1", "eu-west-1"]')
    endpoint_url: str = _key("", 'endpoint_url = "http://127.0.0.1:5000"')
    alarm_prefixes: list[str] = _key([], 'alarm_prefixes = ["api-", "HighErrorRate"]')
    profile: str = _key("", 'profile = "prod-readonly"')


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


@dataclass(frozen=True)
class DeploySourceConfig:
    """One ``[[deploys]]`` entry: a file of deploy records (JSON Lines or CSV)."""

    type: str = _key("file", 'type = "file"')
    path: str = _key("", 'path = "deploys.jsonl"', required=True)
    format: str = _key("auto", 'format = "jsonl"  # or "csv", or "auto" from the file name')


@dataclass(frozen=True)
class TimelineConfig:
    """``[timeline]``: how milestones are found."""

    suspect_lookback_hours: float = _key(6.0, "suspect_lookback_hours = 6")


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``None`` for a source section that is absent."""

    cloudwatch: CloudWatchConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    deploys: tuple[DeploySourceConfig, ...] = ()
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    path: Path | None = None

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file (deploy logs, CA bundle) are taken from here."""
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


_SECTIONS: dict[str, type] = {
    "cloudwatch": CloudWatchConfig,
    "pagerduty": PagerDutyConfig,
    "deploys": DeploySourceConfig,
    "timeline": TimelineConfig,
}

_DEPLOY_TYPES = ("file",)
_DEPLOY_FORMATS = ("auto", "jsonl", "csv")


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
    else:  # pragma: no cover - every key has one of the types above
        ok = True
    if not ok:
        want = {bool: "true or false", int: "a whole number", float: "a number",
                str: "a string", list: "a list of strings"}[type(default)]
        raise ConfigError(
            f"{where}: key '{name}' must be {want}, got {value!r}; for example: {example}"
        )
    return value


def _section(origin: str, name: str, table: Any, cls: type) -> Any:
    where = f"{origin}: [{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of keys, got {table!r}")
    spec = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
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
            raise ConfigError(f"{where}: key '{f.name}' is required; for example: {f.metadata['example']}")
    return cls(**values)


def parse_config(text: str, origin: str = "<config>", path: Path | None = None) -> Config:
    """Parse TOML text into a :class:`Config`; ``origin`` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    unknown = [k for k in data if k not in _SECTIONS]
    if unknown:
        name = unknown[0]
        raise ConfigError(
            f"{origin}: unknown section [{name}]{_did_you_mean(name, list(_SECTIONS))}; "
            f"known sections: [cloudwatch], [pagerduty], [[deploys]], [timeline]"
        )
    cw = _section(origin, "cloudwatch", data["cloudwatch"], CloudWatchConfig) if "cloudwatch" in data else None
    pd = _section(origin, "pagerduty", data["pagerduty"], PagerDutyConfig) if "pagerduty" in data else None
    raw_deploys = data.get("deploys", [])
    if not isinstance(raw_deploys, list):
        raise ConfigError(
            f"{origin}: deploys must be an array of tables: write [[deploys]] (two brackets)"
        )
    deploys = tuple(_section(origin, "deploys", d, DeploySourceConfig) for d in raw_deploys)
    for d in deploys:
        if d.type not in _DEPLOY_TYPES:
            raise ConfigError(f"{origin}: [[deploys]] type {d.type!r} is not known; use type = \"file\"")
        if d.format not in _DEPLOY_FORMATS:
            raise ConfigError(
                f"{origin}: [[deploys]] format {d.format!r} is not known; use one of {', '.join(_DEPLOY_FORMATS)}"
            )
    tl = _section(origin, "timeline", data["timeline"], TimelineConfig) if "timeline" in data else TimelineConfig()
    if cw is not None and not cw.regions:
        raise ConfigError(f"{origin}: [cloudwatch] regions is empty; for example: regions = [\"us-east-1\"]")
    if pd is not None and not pd.base_url.startswith("https://"):
        raise ConfigError(
            f"{origin}: [pagerduty] base_url must start with https:// (the PagerDuty client refuses "
            f"plain http), got {pd.base_url!r}"
        )
    if cw is None and pd is None and not deploys:
        raise ConfigError(
            f"{origin}: no source is configured; add at least one of [cloudwatch], [pagerduty] "
            "or [[deploys]] (see config.example.toml)"
        )
    return Config(cloudwatch=cw, pagerduty=pd, deploys=deploys, timeline=tl, path=path)


def load_config(path: Path) -> Config:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist; copy config.example.toml to start") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} could not be read: {exc}") from exc
    return parse_config(text, origin=str(path), path=path.resolve())
