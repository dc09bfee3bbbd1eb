"""The sources pmdraft reads, registered by name.

Each factory turns the config (and the environment, which only the CLI reads and passes in)
into collectors; an absent config section gives none, and the source is reported as not
configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..config import Config
from ..errors import InputError
from .base import Collector, Registry, RequestCounter

registry = Registry()


def _cloudwatch(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    cfg = config.cloudwatch
    if cfg is None:
        return []
    import boto3
    from botocore.config import Config as BotoConfig

    from .cloudwatch import CloudWatchCollector

    session = boto3.session.Session(profile_name=cfg.profile or None)
    boto_config = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
    clients = {
        region: session.client(
            "cloudwatch", region_name=region, endpoint_url=cfg.endpoint_url or None, config=boto_config
        )
        for region in cfg.regions
    }
    return [CloudWatchCollector(clients, cfg.alarm_prefixes)]


def _pagerduty(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    cfg = config.pagerduty
    if cfg is None:
        return []
    from .pagerduty import PagerDutyCollector, build_client

    token = environ.get(cfg.token_env, "").strip()
    if not token:
        raise InputError(
            f"[pagerduty] is configured but the environment variable {cfg.token_env} is not set; "
            f"export {cfg.token_env}=<your REST API token> (a read-only key is enough), "
            "or remove [pagerduty] from the config"
        )
    counter = RequestCounter()
    client = build_client(
        token,
        cfg.base_url,
        counter,
        ca_bundle=str(config.resolve(cfg.ca_bundle)) if cfg.ca_bundle else None,
        max_retries=cfg.max_retries,
        max_wait=cfg.max_retry_wait_seconds,
        timeout=cfg.timeout_seconds,
    )
    return [
        PagerDutyCollector(
            client, counter, service_ids=cfg.service_ids, margin=timedelta(minutes=cfg.incident_margin_minutes)
        )
    ]


def _deploys(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    from .deploys import DeployFileCollector

    lookback = timedelta(hours=config.timeline.suspect_lookback_hours)
    return [
        DeployFileCollector(config.resolve(d.path), fmt=d.format, lookback=lookback) for d in config.deploys
    ]


registry.register("cloudwatch", _cloudwatch)
registry.register("pagerduty", _pagerduty)
registry.register("deploys", _deploys)


def build_collectors(config: Config, environ: Mapping[str, str]) -> tuple[list[Collector], list[str]]:
    """The configured collectors, and the names of the sources that are not configured."""
    collectors: list[Collector] = []
    missing: list[str] = []
    for name in registry.names:
        built = registry.build(name, config, environ)
        collectors.extend(built)
        if not built:
            missing.append(name)
    return collectors, missing


__all__ = ["Collector", "Registry", "RequestCounter", "build_collectors", "registry"]
