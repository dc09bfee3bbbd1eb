"""PagerDuty: incidents, their log entries, related incidents and change events."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...errors import InputError
from ..base import Collector
from ..registry import BuildContext, Source
from .check import check_pagerduty
from .config import (
    PagerDutyConfig,
    ScopedPagerDutyConfig,
    describe_pagerduty,
    read_pagerduty,
)

if TYPE_CHECKING:
    from .api import PagerDutyApi


def token_of(cfg: PagerDutyConfig, environ: dict[str, str] | object) -> str:
    """The REST API token from the environment variable ``token_env``; a clear error if unset."""
    get = getattr(environ, "get", None)
    token = str(get(cfg.token_env, "") if get else "").strip()
    if not token:
        raise InputError(
            f"[pagerduty] is configured but the environment variable {cfg.token_env} is not set; "
            f"export {cfg.token_env}=<your REST API token> (a read-only key is enough), "
            "or remove [pagerduty] from the config"
        )
    return token


def _client(cfg: PagerDutyConfig, context: BuildContext) -> tuple[Any, Any, Any]:
    """The official client (retrying, budgeted, counted), its request counter and its budget."""
    from .._rate import RequestBudget
    from ..base import RequestCounter
    from .client import build_client

    counter = RequestCounter()
    budget = RequestBudget(cfg.requests_per_minute)
    client = build_client(
        token_of(cfg, context.environ),
        cfg.base_url,
        counter,
        ca_bundle=str(context.resolve(cfg.ca_bundle)) if cfg.ca_bundle else None,
        max_retries=cfg.max_retries,
        max_wait=cfg.max_retry_wait_seconds,
        timeout=cfg.timeout_seconds,
        max_connections=cfg.max_connections,
        budget=budget,
    )
    return client, counter, budget


def open_api(cfg: PagerDutyConfig, context: BuildContext) -> PagerDutyApi:
    """The REST API calls batch, doctor and ``--incident`` make; close it after use."""
    from .api import PagerDutyApi

    client, _, _ = _client(cfg, context)
    return PagerDutyApi(client, max_connections=cfg.max_connections)


def build(cfg: PagerDutyConfig, context: BuildContext) -> list[Collector]:
    """One collector with its own client, request counter and per-minute budget."""
    from .collector import PagerDutyCollector

    client, counter, budget = _client(cfg, context)
    return [
        PagerDutyCollector(
            client,
            counter,
            service_ids=cfg.service_ids,
            margin=timedelta(minutes=cfg.incident_margin_minutes),
            incident_ids=context.incidents,
            incidents=getattr(cfg, "resolved", ()),
            max_connections=cfg.max_connections,
            budget=budget,
            related_lookback=timedelta(days=cfg.related_lookback_days),
            change_events=cfg.change_events,
            change_lookback=context.deploy_lookback,
        )
    ]


SOURCES = (
    Source(
        name="pagerduty",
        title="incidents",
        settings=PagerDutyConfig,
        read=read_pagerduty,
        build=build,
        describe=describe_pagerduty,
        check=check_pagerduty,
        table="pagerduty",
        env=("PAGERDUTY_API_TOKEN",),
    ),
)

__all__ = ["SOURCES", "PagerDutyConfig", "ScopedPagerDutyConfig", "build", "open_api", "token_of"]
