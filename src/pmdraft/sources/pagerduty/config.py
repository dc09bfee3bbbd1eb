"""``[pagerduty]``: keys, defaults, validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from ...settings import DEFAULT_TOKEN_ENV, key, read_table, require_env_name


@dataclass(frozen=True)
class PagerDutyConfig:
    """``[pagerduty]``: incidents and their log entries."""

    base_url: str = key("https://api.pagerduty.com", 'base_url = "https://api.eu.pagerduty.com"')
    """The REST API's base URL (EU accounts: https://api.eu.pagerduty.com); https only."""
    ca_bundle: str = key("", 'ca_bundle = "/etc/ssl/certs/corp-proxy.pem"')
    """A PEM file of extra CAs (a TLS-inspecting proxy's), relative to the config file."""
    token_env: str = key("PAGERDUTY_API_TOKEN", 'token_env = "PAGERDUTY_API_TOKEN"')
    """The environment variable holding the REST API token (never the token itself)."""
    service_ids: list[str] = key([], 'service_ids = ["PABC123"]')
    """Only these services' incidents; empty: every service."""
    incident_margin_minutes: int = key(60, "incident_margin_minutes = 60")
    """Minutes before the window incidents are listed from, so an earlier trigger is seen."""
    max_retries: int = key(5, "max_retries = 5")
    """Retries of a request that got 429, 5xx or a network error (default 5)."""
    max_retry_wait_seconds: float = key(60.0, "max_retry_wait_seconds = 60")
    """Longest wait before one retry, in seconds; a longer one makes the source a data gap."""
    timeout_seconds: float = key(30.0, "timeout_seconds = 30")
    """Seconds to wait for a connection and for each read (default 30)."""
    max_connections: int = key(8, "max_connections = 8")
    """Pages fetched at once once their offsets are known (threads and HTTPS connections)."""
    requests_per_minute: int = key(900, "requests_per_minute = 900")
    """At most this many requests in any 60 s (PagerDuty allows 960 per token)."""
    incident_lookback_minutes: int = key(60, "incident_lookback_minutes = 60")
    """With --incident: minutes before the earliest incident's creation the window starts."""
    incident_after_minutes: int = key(30, "incident_after_minutes = 30")
    """With --incident: minutes after the latest resolution (now, if one is open) it ends."""
    related_lookback_days: int = key(90, "related_lookback_days = 90")
    """Days before the earliest in-scope incident searched for related ones (0: off; max 180)."""
    change_events: bool = key(True, "change_events = false")
    """Read PagerDuty change events (GET /change_events) as deploys, with source "pagerduty"."""


def read_pagerduty(origin: str, table: Any) -> PagerDutyConfig:
    """``[pagerduty]``, validated: https only, positive limits, a variable's name in token_env."""
    pd = read_table(origin, "pagerduty", table, PagerDutyConfig)
    if not pd.base_url.startswith("https://"):
        raise ConfigError(
            f"{origin}: [pagerduty] base_url must start with https:// (the PagerDuty client "
            f"refuses plain http), got {pd.base_url!r}"
        )
    for name in ("max_connections", "requests_per_minute"):
        if getattr(pd, name) < 1:
            raise ConfigError(
                f"{origin}: [pagerduty] key '{name}' must be at least 1, got {getattr(pd, name)}"
            )
    if not 0 <= pd.related_lookback_days <= 180:
        raise ConfigError(
            f"{origin}: [pagerduty] key 'related_lookback_days' must be 0 (off) to 180 days "
            "(PagerDuty lists incidents at most 6 months at a time), "
            f"got {pd.related_lookback_days}"
        )
    require_env_name(f"{origin}: [pagerduty]", pd.token_env, DEFAULT_TOKEN_ENV)
    return pd


def describe_pagerduty(pd: PagerDutyConfig) -> str:
    """What this ``[pagerduty]`` reads, in a few words."""
    services = f"services {', '.join(pd.service_ids)}" if pd.service_ids else "every service"
    return f"{pd.base_url}; {services}; token from ${pd.token_env}"


@dataclass(frozen=True)
class ScopedPagerDutyConfig(PagerDutyConfig):
    """``[pagerduty]`` scoped to ``--incident``: the incidents already looked up by
    :func:`pmdraft.scope.scope_to_incidents`, so the collector does not look them up again.

    Not a key of the file: made only by the scoping step, never read from TOML.
    """

    resolved: tuple[dict[str, Any], ...] = ()
    """The incident records (``GET /incidents/{id}``'s ``incident``) the draft is scoped to."""
