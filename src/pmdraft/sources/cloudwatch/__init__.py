"""CloudWatch: alarm history, breach analysis, metric series and the EventBridge archive."""

from __future__ import annotations

from datetime import timedelta

from ..base import Collector
from ..registry import BuildContext, Source
from .check import check_cloudwatch
from .config import CloudWatchConfig, describe_cloudwatch, read_cloudwatch


def build(cfg: CloudWatchConfig, context: BuildContext) -> list[Collector]:
    """One collector over every configured account and region."""
    from .collector import CloudWatchCollector
    from .targets import aws_targets

    def minutes(n: int) -> timedelta | None:
        return timedelta(minutes=n) if n > 0 else None

    retention = cfg.history_retention_days
    shared = context.shared.get("cloudwatch")
    targets = shared.makers("cloudwatch", lambda: aws_targets(cfg)) if shared else aws_targets(cfg)
    return [
        CloudWatchCollector(
            targets,
            cfg.alarm_prefixes,
            alarm_tags=cfg.alarm_tags,
            max_workers=cfg.max_workers,
            history_requests_per_second=cfg.history_requests_per_second,
            history_slices=cfg.history_slices,
            retention=timedelta(days=retention) if retention > 0 else None,
            graph_margin=timedelta(minutes=cfg.graph_margin_minutes) if cfg.graphs else None,
            metric_lookback=minutes(cfg.metric_lookback_minutes),
            keep_tags=cfg.alarm_services,
            archive_log_group=cfg.archive_log_group,
            archive_clients=aws_targets(cfg, "logs") if cfg.archive_log_group else None,
            shared=shared,
        )
    ]


SOURCES = (
    Source(
        name="cloudwatch",
        title="alarm history",
        settings=CloudWatchConfig,
        read=read_cloudwatch,
        build=build,
        describe=describe_cloudwatch,
        check=check_cloudwatch,
        table="cloudwatch",
    ),
)

__all__ = ["SOURCES", "CloudWatchConfig"]
