"""A batch run's reads, made once for all its drafts, and each draft cut from them.

Drafting each incident alone reads, per incident, its record, the window's other incidents, the
past incidents before it, its log entries, the change events, and CloudWatch's alarms and
history over its window. A batch run instead plans every draft's spans first and reads:

- PagerDuty (:mod:`pmdraft.sources.pagerduty.shared`): no ``GET /incidents/{id}`` for an
  incident the run's listing gave; one incidents listing over the union of the other-incident
  and related-incident spans; one ``GET /log_entries`` stream per merged span of the incidents'
  log-entry spans; one change-events listing over the union of their spans;
- CloudWatch (:mod:`pmdraft.sources.cloudwatch.shared`): ``DescribeAlarms`` once per account and
  region, ``DescribeAlarmHistory`` once per merged span of the drafts' windows (per account and
  region).

Each draft then runs the usual collectors over its own window; their calls are answered from
those reads, clipped as the API would clip them, so the draft says what drafting the incident
alone says (only the Requests column differs: a read counts in the draft that made it). Other
sources (Slack, deploy systems, GetMetricData for the graphs) read per draft as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .config import Config
from .errors import CollectorError, PmdraftError
from .model import Window, merged_spans
from .sources.base import request_ceiling
from .sources.cloudwatch import CloudWatchConfig
from .sources.cloudwatch.shared import SharedHistory
from .sources.pagerduty import PagerDutyConfig, open_shared
from .sources.pagerduty.collector import incident_window, read_spans
from .sources.pagerduty.shared import SharedReads


@dataclass
class RunReads:
    """One run's shared reads and each planned incident's window."""

    pagerduty: SharedReads
    cloudwatch: SharedHistory | None
    windows: dict[str, Window] = field(default_factory=dict)
    """Each planned incident's draft window, by id."""

    @property
    def shared(self) -> dict[str, Any]:
        """What the sources' ``build`` reads from (``BuildContext.shared``)."""
        out: dict[str, Any] = {"pagerduty": self.pagerduty}
        if self.cloudwatch is not None:
            out["cloudwatch"] = self.cloudwatch
        return out

    def calls(self) -> Any:
        """The PagerDuty calls scoping a draft makes (its record, the window's other incidents)."""
        return self.pagerduty.view()[0]

    def close(self) -> None:
        """Close the shared clients."""
        self.pagerduty.close()


def open_reads(
    config: Config,
    environ: Mapping[str, str],
    records: Mapping[str, Mapping[str, Any]],
    missing: Iterable[str],
    now: datetime,
) -> RunReads | None:
    """The run's shared reads, planned for the incidents ``records`` (by id) and ``missing`` (ids
    without a record yet: looked up once here); ``None`` when they cannot be opened (each draft
    then reads alone and says why it failed)."""
    cfg = config.get(PagerDutyConfig)
    if cfg is None:
        return None
    context = config.context(environ)
    try:
        with request_ceiling(context.max_requests):
            pd = open_shared(cfg, context)
    except PmdraftError:
        return None
    known = {k: dict(v) for k, v in records.items()}
    for ident in missing:
        try:
            known[ident] = pd.incidents_api.incident_by_id(ident)
        except PmdraftError:
            continue
    pd.records = dict(known)
    reads = RunReads(pd, None)
    lookback = timedelta(minutes=cfg.incident_lookback_minutes)
    after = timedelta(minutes=cfg.incident_after_minutes)
    incident_spans: list[Window] = []
    log_spans: list[Window] = []
    change_spans: list[Window] = []
    for ident, inc in known.items():
        try:
            window = incident_window([inc], lookback=lookback, after=after, now=now)
        except (CollectorError, PmdraftError):
            continue
        reads.windows[ident] = window
        incidents, log, changes = read_spans(
            window,
            inc,
            margin=timedelta(minutes=cfg.incident_margin_minutes),
            related_lookback=timedelta(days=cfg.related_lookback_days),
            change_lookback=context.deploy_lookback,
        )
        incident_spans += incidents
        log_spans.append(log)
        change_spans.append(changes)
    params = {"service_ids[]": list(cfg.service_ids)} if cfg.service_ids else {}
    pd.plan(incident_spans, log_spans, change_spans if cfg.change_events else [], params)
    if config.get(CloudWatchConfig) is not None:
        reads.cloudwatch = SharedHistory(merged_spans(reads.windows.values()))
    return reads
