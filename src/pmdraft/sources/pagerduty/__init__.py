"""PagerDuty: incidents, their log entries, related incidents and change events.

Change events are a collector of their own (:mod:`.changes`), with their own line in Sources.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...errors import InputError
from ..base import Collector
from ..registry import BuildContext, Check, Source
from .config import (
    PagerDutyConfig,
    ScopedPagerDutyConfig,
    describe_pagerduty,
    read_pagerduty,
)

if TYPE_CHECKING:
    from .api import PagerDutyApi
    from .shared import SharedReads


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


def _client(
    cfg: PagerDutyConfig, context: BuildContext, counter: Any = None, budget: Any = None
) -> tuple[Any, Any, Any]:
    """The official client (retrying, budgeted, counted), its request counter and its budget.

    ``counter`` and ``budget``: the ones to use (a second client shares the first's budget);
    by default new ones.
    """
    from .._rate import RequestBudget
    from ..base import RequestCounter
    from .client import build_client

    counter = RequestCounter() if counter is None else counter
    budget = RequestBudget(cfg.requests_per_minute) if budget is None else budget
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


def open_shared(cfg: PagerDutyConfig, context: BuildContext) -> SharedReads:
    """A batch run's shared reads (:mod:`.shared`), over the clients a draft would use."""
    from .shared import SharedReads

    (incidents, counter), changes, _ = _apis(cfg, context)
    return SharedReads(incidents, counter, *(changes or (None, None)))


def _apis(
    cfg: PagerDutyConfig, context: BuildContext
) -> tuple[tuple[Any, Any], tuple[Any, Any] | None, Any]:
    """The incidents' API and its request counter, the change events' (``None`` when they are
    not read), and their one per-minute budget. Each client has its own count; both count in
    one pool that holds the per-run ceiling (``[run] max_requests``)."""
    from ..base import RequestCounter
    from .api import PagerDutyApi

    pool = RequestCounter()
    client, counter, budget = _client(cfg, context, RequestCounter(pool=pool))
    incidents = (PagerDutyApi(client, max_connections=cfg.max_connections), counter)
    if not cfg.change_events:
        return incidents, None, budget
    client, counter, _ = _client(cfg, context, RequestCounter(pool=pool), budget)
    return incidents, (PagerDutyApi(client, max_connections=cfg.max_connections), counter), budget


def check(cfg: PagerDutyConfig, context: BuildContext) -> list[Check]:
    """The doctor's PagerDuty lines (:func:`.check.check_pagerduty`), imported when the doctor
    runs: it loads the HTTP client, which a draft's start should not wait for before the
    sources that run apart are forked."""
    from .check import check_pagerduty

    return check_pagerduty(cfg, context)


def build(cfg: PagerDutyConfig, context: BuildContext) -> list[Collector]:
    """The incidents' collector and (with ``change_events``) the change events' collector.

    Each has its own line in Sources and its own request count; they share the per-minute
    budget and the per-run ceiling. In a batch run (``context.shared``), both read from the
    run's shared reads (:mod:`.shared`).
    """
    from .changes import ChangeEventsCollector
    from .collector import PagerDutyCollector

    shared = context.shared.get("pagerduty")
    budget = None
    if shared is not None:
        views = shared.view()
        incidents: tuple[Any, Any] = (views[0], views[0].counter)
        changes: tuple[Any, Any] | None = (views[1], views[1].counter)
    else:
        incidents, changes, budget = _apis(cfg, context)
    collectors: list[Collector] = [
        PagerDutyCollector(
            None,
            incidents[1],
            service_ids=cfg.service_ids,
            margin=timedelta(minutes=cfg.incident_margin_minutes),
            incident_ids=context.incidents,
            incidents=getattr(cfg, "resolved", ()),
            max_connections=cfg.max_connections,
            budget=budget,
            related_lookback=timedelta(days=cfg.related_lookback_days),
            api=incidents[0],
        )
    ]
    if cfg.change_events and changes is not None:
        collectors.append(
            ChangeEventsCollector(
                changes[0],
                changes[1],
                service_ids=cfg.service_ids,
                lookback=context.deploy_lookback,
            )
        )
    return collectors


SOURCES = (
    Source(
        name="pagerduty",
        title="incidents and change events",
        settings=PagerDutyConfig,
        read=read_pagerduty,
        build=build,
        describe=describe_pagerduty,
        check=check,
        table="pagerduty",
        env=("PAGERDUTY_API_TOKEN",),
    ),
)

__all__ = [
    "SOURCES",
    "PagerDutyConfig",
    "ScopedPagerDutyConfig",
    "build",
    "open_api",
    "open_shared",
    "token_of",
]
