"""The sources pmdraft reads, registered by name.

Each factory turns the config (and the environment, which only the CLI reads and passes in)
into collectors; an absent config section gives none, and the source is reported as not
configured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from ..config import Config
from ..errors import InputError
from ..model import Window
from .base import Collector, Registry, RequestCounter

registry = Registry()


def _cloudwatch(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    cfg = config.cloudwatch
    if cfg is None:
        return []
    from .cloudwatch.collector import CloudWatchCollector, aws_targets

    targets = aws_targets(cfg)
    return [
        CloudWatchCollector(
            targets,
            cfg.alarm_prefixes,
            alarm_tags=cfg.alarm_tags,
            max_workers=cfg.max_workers,
            history_requests_per_second=cfg.history_requests_per_second,
            retention=timedelta(days=cfg.history_retention_days)
            if cfg.history_retention_days > 0
            else None,
            graph_margin=timedelta(minutes=cfg.graph_margin_minutes) if cfg.graphs else None,
            metric_lookback=timedelta(minutes=cfg.metric_lookback_minutes)
            if cfg.metric_lookback_minutes > 0
            else None,
            keep_tags=cfg.alarm_services,
            archive_log_group=cfg.archive_log_group,
            archive_clients=aws_targets(cfg, "logs") if cfg.archive_log_group else None,
        )
    ]


def _pagerduty(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    cfg = config.pagerduty
    if cfg is None:
        return []
    from ._rate import RequestBudget
    from .pagerduty.client import build_client
    from .pagerduty.collector import PagerDutyCollector

    token = environ.get(cfg.token_env, "").strip()
    if not token:
        raise InputError(
            f"[pagerduty] is configured but the environment variable {cfg.token_env} is not set; "
            f"export {cfg.token_env}=<your REST API token> (a read-only key is enough), "
            "or remove [pagerduty] from the config"
        )
    counter = RequestCounter()
    budget = RequestBudget(cfg.requests_per_minute)
    client = build_client(
        token,
        cfg.base_url,
        counter,
        ca_bundle=str(config.resolve(cfg.ca_bundle)) if cfg.ca_bundle else None,
        max_retries=cfg.max_retries,
        max_wait=cfg.max_retry_wait_seconds,
        timeout=cfg.timeout_seconds,
        max_connections=cfg.max_connections,
        budget=budget,
    )
    return [
        PagerDutyCollector(
            client,
            counter,
            service_ids=cfg.service_ids,
            margin=timedelta(minutes=cfg.incident_margin_minutes),
            incident_ids=config.incidents,
            max_connections=cfg.max_connections,
            budget=budget,
            related_lookback=timedelta(days=cfg.related_lookback_days),
            change_events=cfg.change_events,
            change_lookback=deploy_lookback(config),
        )
    ]


def deploy_lookback(config: Config) -> timedelta:
    """How long before the window deploys are read: the suspect lookback or the long one, if longer."""
    return max(
        timedelta(hours=config.timeline.suspect_lookback_hours),
        timedelta(days=config.timeline.long_lookback_days),
    )


def _deploys(config: Config, environ: Mapping[str, str]) -> list[Collector]:
    from ..config import CloudTrailConfig, CodeDeployConfig, GitHubDeploysConfig

    lookback = deploy_lookback(config)
    collectors: list[Collector] = []
    for d in config.deploys:
        if isinstance(d, CodeDeployConfig):
            from .deploys.codedeploy import CodeDeployCollector

            collectors.append(
                CodeDeployCollector(
                    _aws_clients("codedeploy", d.regions, d.endpoint_url, d.profile),
                    applications=d.applications,
                    lookback=lookback,
                )
            )
        elif isinstance(d, CloudTrailConfig):
            from .deploys.cloudtrail import DEPLOY_EVENT_NAMES, CloudTrailCollector

            collectors.append(
                CloudTrailCollector(
                    _aws_clients("cloudtrail", d.regions, d.endpoint_url, d.profile),
                    event_names=d.event_names or DEPLOY_EVENT_NAMES,
                    lookback=lookback,
                    requests_per_second=d.requests_per_second,
                )
            )
        elif isinstance(d, GitHubDeploysConfig):
            from .deploys.github import GitHubDeploymentsCollector

            token = environ.get(d.token_env, "").strip()
            if not token:
                raise InputError(
                    f'[[deploys]] type = "github" is configured but the environment variable {d.token_env} is not '
                    f"set; export {d.token_env}=<a token that can read deployments>, or remove that [[deploys]] table"
                )
            collectors.append(
                GitHubDeploymentsCollector(
                    d.base_url,
                    token,
                    d.repos,
                    environments=d.environments,
                    lookback=lookback,
                    timeout=d.timeout_seconds,
                    max_wait=d.max_rate_limit_wait_seconds,
                )
            )
        else:
            from .deploys.file import DeployFileCollector

            collectors.append(
                DeployFileCollector(
                    config.resolve(d.path),
                    fmt=d.format,
                    lookback=lookback,
                    time_format=d.time_format,
                    fields=d.fields,
                )
            )
    return collectors


def _aws_clients(
    service: str, regions: Sequence[str], endpoint_url: str, profile: str
) -> dict[str, object]:
    import boto3
    from botocore.config import Config as BotoConfig

    session = boto3.session.Session(profile_name=profile or None)
    boto_config = BotoConfig(retries={"mode": "standard", "max_attempts": 5})
    return {
        region: session.client(
            service, region_name=region, endpoint_url=endpoint_url or None, config=boto_config
        )
        for region in regions
    }


registry.register("cloudwatch", _cloudwatch)
registry.register("pagerduty", _pagerduty)
registry.register("deploys", _deploys)


def scope_to_incidents(
    config: Config,
    environ: Mapping[str, str],
    refs: Sequence[str],
    *,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Config, Window]:
    """The config scoped to the PagerDuty incidents ``refs`` (numbers or ids), and their window.

    The window runs from the earliest incident's creation minus ``incident_lookback_minutes`` to
    the latest resolution (``now`` for one still open) plus ``incident_after_minutes``;
    ``since`` and ``until`` can only widen it.
    """
    cfg = config.pagerduty
    if cfg is None:
        raise InputError(
            "--incident needs PagerDuty: add a [pagerduty] section to the config (see config.example.toml)"
        )
    from .pagerduty.collector import incident_window

    [collector] = registry.build("pagerduty", config, environ)
    try:
        incidents = collector.resolve(refs)  # type: ignore[attr-defined]
    finally:
        collector.close()  # type: ignore[attr-defined]
    window = incident_window(
        incidents,
        lookback=timedelta(minutes=cfg.incident_lookback_minutes),
        after=timedelta(minutes=cfg.incident_after_minutes),
        now=now,
    )
    window = Window(
        min(window.since, since or window.since), max(window.until, until or window.until)
    )
    return dataclasses.replace(config, incidents=tuple(i["id"] for i in incidents)), window


def build_collectors(
    config: Config, environ: Mapping[str, str]
) -> tuple[list[Collector], list[str]]:
    """The configured collectors, and the names of the sources that are not configured."""
    collectors: list[Collector] = []
    missing: list[str] = []
    for name in registry.names:
        built = registry.build(name, config, environ)
        collectors.extend(built)
        if not built:
            missing.append(name)
    return collectors, missing


__all__ = [
    "Collector",
    "Registry",
    "RequestCounter",
    "build_collectors",
    "deploy_lookback",
    "registry",
    "scope_to_incidents",
]
