"""CloudWatch alarm history: every state transition of every alarm in the window.

For each (account, region) pair, read concurrently over a bounded pool: one paginated
``DescribeAlarms`` (metric and composite alarms) for each alarm's metric, threshold, operator
and rule, then one paginated ``DescribeAlarmHistory`` stream (``HistoryItemType=StateUpdate``,
``MaxRecords=100``), never one call per alarm. ``ListTagsForResource`` is called per alarm only
when ``alarm_tags`` or ``keep_tags`` is set, and ``GetMetricData`` (500 queries a call) only for the graphs; the
same query, its start widened by ``metric_lookback``, also finds breaches that began before an
alarm's evaluated range. With ``archive_log_group``, EventBridge "CloudWatch Alarm State Change"
events archived in a CloudWatch Logs group (``FilterLogEvents``, paginated) are merged in, one
event per transition, which also covers windows older than the history's retention.
An account is reached with boto3's own credentials, a named profile, or an assumed role.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ...errors import CollectorError
from ...model import (
    ALARM_ALARM,
    ALARM_INSUFFICIENT_DATA,
    ALARM_OK,
    UTC,
    Event,
    Window,
    iso_z,
)
from ..base import RequestCounter, parse_time
from ..deploys.cloudtrail import RateLimiter

if TYPE_CHECKING:
    from .config import CloudWatchConfig

PAGE_SIZE = 100
"""Records per DescribeAlarmHistory page: the API's maximum."""

METRIC_QUERIES_PER_CALL = 500
"""GetMetricData's limit on queries in one call."""

ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
"""Both kinds: DescribeAlarms and DescribeAlarmHistory leave composite alarms out unless asked."""

_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
"""Error codes that mean "slow down", not "not allowed"."""

_KIND_BY_STATE = {
    "ALARM": ALARM_ALARM,
    "OK": ALARM_OK,
    "INSUFFICIENT_DATA": ALARM_INSUFFICIENT_DATA,
}

_BREACHES: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}

RULE_DATAPOINT = "earliest evaluated datapoint breaching the threshold"
RULE_START_DATE = "stateReasonData.startDate (no breaching datapoint listed)"
RULE_TRANSITION = "transition time (the alarm history gave no datapoints)"
RULE_LOOKBACK = (
    "metric_lookback (first breaching datapoint of the run, read back with GetMetricData)"
)


@dataclass(frozen=True)
class AlarmInfo:
    """What DescribeAlarms says of one alarm."""

    name: str
    arn: str | None
    metric: str | None
    namespace: str | None
    threshold: float | None
    comparison: str | None
    alarm_type: str = "MetricAlarm"
    rule: str | None = None
    """A composite alarm's rule, such as ``ALARM("A") OR ALARM("B")``."""
    statistic: str | None = None
    period: int | None = None
    dimensions: tuple[tuple[str, str], ...] = field(default=())


def breach_start(
    reason_data: Mapping[str, Any], alarm: AlarmInfo | None, transition_at: datetime
) -> tuple[datetime, str]:
    """When the metric began to breach, and which rule found it.

    The earliest evaluated datapoint that breaches the threshold under the alarm's comparison
    operator; else ``stateReasonData.startDate``; else the transition itself.
    """
    threshold = (
        alarm.threshold if alarm and alarm.threshold is not None else reason_data.get("threshold")
    )
    breaches = _BREACHES.get(alarm.comparison if alarm and alarm.comparison else "")
    if breaches is not None and isinstance(threshold, (int, float)):
        times = []
        for point in reason_data.get("evaluatedDatapoints") or []:
            value = point.get("value") if isinstance(point, dict) else None
            stamp = point.get("timestamp") if isinstance(point, dict) else None
            if (
                isinstance(value, (int, float))
                and isinstance(stamp, str)
                and breaches(value, threshold)
            ):
                try:
                    times.append(parse_time(stamp))
                except ValueError:
                    continue
        if times:
            return min(times), RULE_DATAPOINT
    start = reason_data.get("startDate")
    if isinstance(start, str):
        try:
            return parse_time(start), RULE_START_DATE
        except ValueError:
            pass
    return transition_at, RULE_TRANSITION


def earlier_breach(
    times: Sequence[datetime],
    values: Sequence[float],
    alarm: AlarmInfo,
    start: datetime,
    lookback: timedelta,
) -> datetime | None:
    """The first datapoint of the breaching run that ends just before ``start``, if it is earlier.

    Walks back from ``start`` one period at a time while each datapoint breaches the threshold;
    a missing or non-breaching datapoint ends the run, and so does ``start - lookback``.
    """
    breaches = _BREACHES.get(alarm.comparison or "")
    if breaches is None or alarm.threshold is None or not alarm.period:
        return None
    period = timedelta(seconds=alarm.period)
    found, expected = None, start
    for at, value in sorted(
        ((t, v) for t, v in zip(times, values, strict=True) if t < start), reverse=True
    ):
        if (
            at < start - lookback
            or expected - at > period
            or math.isnan(value)
            or not breaches(value, alarm.threshold)
        ):
            break
        found = expected = at
    return found


Target = tuple[str, str]
"""(account name, region); the account name is empty for boto3's own credentials."""


def archived_item(message: str, region: str) -> dict[str, Any] | None:
    """An archived EventBridge alarm state change as a ``StateUpdate`` history item, or None.

    None for anything else: another event type, another region, or a malformed message.
    """
    try:
        event = json.loads(message)
        detail = event["detail"]
        name, state = detail["alarmName"], detail["state"]
        at = parse_time(state["timestamp"])
    except (ValueError, KeyError, TypeError):
        return None
    if (
        event.get("detail-type") != "CloudWatch Alarm State Change"
        or event.get("region", region) != region
    ):
        return None
    try:
        reason_data = json.loads(state.get("reasonData") or "{}")
    except ValueError:
        reason_data = {}
    new = {"stateValue": state.get("value"), "stateReason": state.get("reason")}
    if isinstance(reason_data, dict) and reason_data:
        new["stateReasonData"] = reason_data
    item: dict[str, Any] = {
        "AlarmName": name,
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistoryData": json.dumps(
            {
                "oldState": {"stateValue": (detail.get("previousState") or {}).get("value")},
                "newState": new,
            }
        ),
    }
    if "alarmRule" in (detail.get("configuration") or {}):
        item["AlarmType"] = "CompositeAlarm"
    return item


def _transition(item: Mapping[str, Any]) -> tuple[str, datetime, str | None, str | None]:
    """(alarm, time to the millisecond, old state, new state): one transition, whichever source told it."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        data = {}
    at = item["Timestamp"].astimezone(UTC)
    return (
        item["AlarmName"],
        at.replace(microsecond=at.microsecond // 1000 * 1000),
        (data.get("oldState") or {}).get("stateValue"),
        (data.get("newState") or {}).get("stateValue"),
    )


def where(target: Target) -> str:
    """``region``, or ``account/region`` for a named account."""
    account, region = target
    return f"{account}/{region}" if account else region


def _account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _once(call: Callable[..., dict], **params: Any) -> Iterator[dict]:
    """One API answer as a one-page iterator, so :meth:`CloudWatchCollector._call` translates its errors."""
    yield call(**params)


class CloudWatchCollector:
    """Alarm transitions from CloudWatch, one boto3 client per (account, region).

    ``clients`` maps a region, or an ``(account, region)`` pair, to a boto3 CloudWatch client or
    to a function that makes one when the pair is read (where a role is assumed).
    """

    name = "cloudwatch"

    def __init__(
        self,
        clients: Mapping[str | Target, Any],
        alarm_prefixes: Sequence[str] = (),
        *,
        alarm_tags: Mapping[str, str] | None = None,
        max_workers: int = 8,
        history_requests_per_second: float = 20.0,
        retention: timedelta | None = None,
        graph_margin: timedelta | None = None,
        metric_lookback: timedelta | None = None,
        keep_tags: bool = False,
        archive_log_group: str = "",
        archive_clients: Mapping[str | Target, Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.targets: dict[Target, Any] = {
            (key if isinstance(key, tuple) else ("", key)): value for key, value in clients.items()
        }
        self.alarm_prefixes = tuple(alarm_prefixes)
        self.alarm_tags = dict(alarm_tags or {})
        self.max_workers = max_workers
        self.retention = retention
        """Alarm history CloudWatch keeps; a window starting earlier is reported as a gap. None: no check."""
        self.graph_margin = graph_margin
        """Metric data is read for the graphs over the window widened by this; None: no metric data."""
        self.metric_lookback = metric_lookback
        self.keep_tags = keep_tags
        """Put each alarm's tags in its events' attrs (``tags``; one ListTagsForResource per alarm)."""
        self.archive_log_group = archive_log_group
        """A CloudWatch Logs group of archived EventBridge alarm state changes; empty: none."""
        self._archives: dict[Target, Any] = {
            (key if isinstance(key, tuple) else ("", key)): value
            for key, value in (archive_clients or {}).items()
        }
        """How far before a breach start the graphs' metric query also reads (no extra call); None: off."""
        self._now = now
        self._counter = RequestCounter()
        self._limiters = {
            account: RateLimiter(history_requests_per_second) for account, _ in self.targets
        }
        self._made: list[Any] = []
        self._lock = threading.Lock()
        self.series: list[dict[str, Any]] = []
        """Each alarmed metric's datapoints over the graph window, as plain values (for the graphs)."""
        self.detail: str | None = None
        self._notes: list[str] = []
        for (account, _), client in self.targets.items():
            if hasattr(client, "meta"):
                self._instrument(account, client)
        for client in self._archives.values():
            if hasattr(client, "meta"):
                client.meta.events.register("before-send", self._counter.add)

    @property
    def requests(self) -> int:
        return self._counter.value

    def _instrument(self, account: str, client: Any) -> None:
        limiter = self._limiters[account]
        client.meta.events.register("before-send.cloudwatch", self._counter.add)
        client.meta.events.register(
            "before-send.cloudwatch.DescribeAlarmHistory", lambda **_: limiter.wait()
        )

    def close(self) -> None:
        """Close every client."""
        for client in [*self.targets.values(), *self._archives.values(), *self._made]:
            if hasattr(client, "close"):
                client.close()

    def _wanted(self, name: str) -> bool:
        return not self.alarm_prefixes or name.startswith(self.alarm_prefixes)

    def collect(self, window: Window) -> Iterator[Event]:
        gaps: list[str] = []
        workers = max(1, min(self.max_workers, len(self.targets)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cloudwatch") as pool:
            futures = [
                pool.submit(self._collect_pair, target, source, window)
                for target, source in self.targets.items()
            ]
            for future in futures:
                try:
                    events = future.result()
                except CollectorError as exc:
                    gaps.append(exc.message)
                    continue
                yield from events
        if self.retention is not None and window.since < self._now() - self.retention:
            days = self.retention / timedelta(days=1)
            if self.archive_log_group:
                self._notes.append(
                    f"the window starts {iso_z(window.since)}, more than {days:g} days ago, older than CloudWatch's "
                    f"alarm history: transitions were read from the archive log group {self.archive_log_group}"
                )
            else:
                gaps.append(
                    f"the window starts {iso_z(window.since)}, more than {days:g} days ago, and CloudWatch keeps "
                    f"alarm history for about {days:g} days: transitions older than that are gone, so the timeline "
                    "may lack them. Set milestones by hand (--impact-start, --mitigated-at), set archive_log_group, "
                    "or raise history_retention_days in [cloudwatch] if your history is kept longer"
                )
        if self._notes:
            self.detail = "; ".join(self._notes)
        if gaps:
            raise CollectorError(self.name, "; ".join(gaps))

    def client(self, target: Target) -> Any:
        """The boto3 client of one (account, region) pair, made (and its role assumed) on first use."""
        source = self.targets[target]
        if hasattr(source, "meta"):
            return source
        client = self._make(target, source)
        self.targets[target] = client
        return client

    def _make(self, target: Target, source: Any) -> Any:
        try:
            client = source()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise CollectorError(
                self.name,
                f"reaching account {target[0] or 'default'} for {target[1]} failed: "
                f"{err.get('Code', '?')}: {err.get('Message', '')}. Check role_arn (its trust policy must allow "
                "the caller's sts:AssumeRole) or the profile in [[cloudwatch.accounts]].",
            ) from exc
        except BotoCoreError as exc:
            raise CollectorError(
                self.name,
                f"reaching account {target[0] or 'default'} for {target[1]} failed: {exc}. "
                "Check the profile, role_arn and endpoint_url.",
            ) from exc
        with self._lock:
            self._made.append(client)
        self._instrument(target[0], client)
        return client

    def _collect_pair(self, target: Target, source: Any, window: Window) -> list[Event]:
        client = source if hasattr(source, "meta") else self._make(target, source)
        alarms = self._alarms(target, client)
        pages = client.get_paginator("describe_alarm_history").paginate(
            AlarmTypes=ALARM_TYPES,
            HistoryItemType="StateUpdate",
            StartDate=window.since,
            EndDate=window.until,
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        items = [
            item
            for page in self._call(target, client, "DescribeAlarmHistory", iter(pages))
            for item in page.get("AlarmHistoryItems", [])
            if item.get("HistoryItemType") == "StateUpdate"
            and self._wanted(item.get("AlarmName", ""))
        ]
        if self.archive_log_group:
            seen = {_transition(i) for i in items}
            for item in self._archived(target, window):
                key = _transition(item)
                if key not in seen and self._wanted(item["AlarmName"]):
                    seen.add(key)
                    items.append(item)
        tags: dict[str, dict[str, str]] = {}
        if self.alarm_tags or self.keep_tags:
            tags = self._tags(target, client, {i["AlarmName"] for i in items}, alarms)
        if self.alarm_tags:
            items = [
                i
                for i in items
                if all(tags.get(i["AlarmName"], {}).get(k) == v for k, v in self.alarm_tags.items())
            ]
        events = []
        for item in items:
            event = self._event(target, item, alarms.get(item["AlarmName"]))
            if event is not None and self.keep_tags:
                shown = ", ".join(
                    f"{k}={v}" for k, v in sorted(tags.get(item["AlarmName"], {}).items())
                )
                event = dataclasses.replace(event, attrs={**event.attrs, "tags": shown})
            if event is not None and event.at in window:
                events.append(event)
        if self.graph_margin is not None:
            fired = [e for e in events if e.kind == ALARM_ALARM]
            names = sorted({str(e.attrs["alarm_name"]) for e in fired})
            starts = [parse_time(str(e.attrs["breach_start"])) for e in fired]
            lookback = self.metric_lookback if self.metric_lookback and starts else None
            since = (
                min([window.since - self.graph_margin, *(s - lookback for s in starts)])
                if lookback
                else window.since - self.graph_margin
            )
            points = self._metrics(
                target, client, [alarms[n] for n in names if n in alarms], window, since
            )
            if lookback is not None:
                events = [
                    self._looked_back(e, alarms, points, lookback) if e.kind == ALARM_ALARM else e
                    for e in events
                ]
        return events

    @staticmethod
    def _looked_back(
        event: Event,
        alarms: Mapping[str, AlarmInfo],
        points: Mapping[str, tuple[list[datetime], list[float]]],
        lookback: timedelta,
    ) -> Event:
        """``event`` with its breach start moved to the start of the metric's breaching run, if earlier."""
        name = str(event.attrs["alarm_name"])
        if name not in alarms or name not in points:
            return event
        start = parse_time(str(event.attrs["breach_start"]))
        earlier = earlier_breach(*points[name], alarms[name], start, lookback)
        if earlier is None:
            return event
        return dataclasses.replace(
            event,
            attrs={
                **event.attrs,
                "breach_start": iso_z(earlier),
                "breach_start_rule": RULE_LOOKBACK,
                "evaluated_breach_start": iso_z(start),
            },
        )

    def _archived(self, target: Target, window: Window) -> Iterator[dict[str, Any]]:
        """The archive log group's alarm state changes in the window, as history items."""
        source = self._archives.get(target)
        if source is None:
            return
        if not hasattr(source, "meta"):
            source = self._archives[target] = source()
            source.meta.events.register("before-send", self._counter.add)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        pages = source.get_paginator("filter_log_events").paginate(
            logGroupName=self.archive_log_group,
            startTime=int((window.since - epoch).total_seconds() * 1000),
            endTime=int((window.until - epoch).total_seconds() * 1000),
        )
        for page in self._call(
            target, source, f"FilterLogEvents on {self.archive_log_group}", iter(pages)
        ):
            for record in page.get("events", []):
                item = archived_item(record.get("message", ""), target[1])
                if item is not None:
                    yield item

    def _tags(
        self, target: Target, client: Any, names: set[str], alarms: Mapping[str, AlarmInfo]
    ) -> dict[str, dict[str, str]]:
        """The tags of each alarm among ``names`` that DescribeAlarms listed."""
        found: dict[str, dict[str, str]] = {}
        for name in sorted(names):
            arn = alarms[name].arn if name in alarms else None
            if arn is None:
                continue
            [answer] = self._call(
                target,
                client,
                "ListTagsForResource",
                _once(client.list_tags_for_resource, ResourceARN=arn),
            )
            found[name] = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}
        return found

    def _metrics(
        self, target: Target, client: Any, alarms: list[AlarmInfo], window: Window, since: datetime
    ) -> dict[str, tuple[list[datetime], list[float]]]:
        """Each alarm's metric from ``since`` to the window's end plus the margin, by alarm name.

        ``METRIC_QUERIES_PER_CALL`` queries a call; the graphs get the window plus the margin.
        """
        assert self.graph_margin is not None
        usable = [a for a in alarms if a.metric and a.namespace and a.statistic and a.period]
        queries: list[dict[str, Any]] = [
            {
                "Id": f"m{i}",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {
                        "Namespace": a.namespace,
                        "MetricName": a.metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in a.dimensions],
                    },
                    "Period": a.period,
                    "Stat": a.statistic,
                },
            }
            for i, a in enumerate(usable)
        ]
        points: dict[str, tuple[list[datetime], list[float]]] = {q["Id"]: ([], []) for q in queries}
        if not queries:
            return {}
        step = max(60, *(a.period or 60 for a in usable))
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        first = since - timedelta(seconds=(since - epoch).total_seconds() % step)
        shown = window.since - self.graph_margin
        shown -= timedelta(seconds=(shown - epoch).total_seconds() % step)
        end = window.until + self.graph_margin
        try:
            for batch in range(0, len(queries), METRIC_QUERIES_PER_CALL):
                pages = client.get_paginator("get_metric_data").paginate(
                    MetricDataQueries=queries[batch : batch + METRIC_QUERIES_PER_CALL],
                    StartTime=first,
                    EndTime=end,
                    ScanBy="TimestampAscending",
                )
                for page in self._call(target, client, "GetMetricData", iter(pages)):
                    for result in page.get("MetricDataResults", []):
                        times, values = points[result["Id"]]
                        times.extend(t.astimezone(UTC) for t in result.get("Timestamps", []))
                        values.extend(
                            v if isinstance(v, (int, float)) else float("nan")
                            for v in result.get("Values", [])
                        )
        except CollectorError as exc:
            with self._lock:
                self._notes.append(f"no graphs for {where(target)}: {exc.message}")
            return {}
        account, region = target
        with self._lock:
            for q, a in zip(queries, usable, strict=True):
                times, values = points[q["Id"]]
                order = sorted(
                    (i for i in range(len(times)) if times[i] >= shown), key=times.__getitem__
                )
                self.series.append(
                    {
                        "alarm_name": a.name,
                        "ref": a.arn or f"{region}:{a.name}",
                        "account": account or _account_of(a.arn),
                        "region": region,
                        "metric": a.metric,
                        "namespace": a.namespace,
                        "statistic": a.statistic,
                        "period": a.period,
                        "threshold": a.threshold,
                        "comparison_operator": a.comparison,
                        "times": [iso_z(times[i]) for i in order],
                        "values": [values[i] for i in order],
                    }
                )
        return {a.name: points[q["Id"]] for q, a in zip(queries, usable, strict=True)}

    def _call(
        self, target: Target, client: Any, what: str, pages: Iterator[dict]
    ) -> Iterator[dict]:
        place = where(target)
        try:
            yield from pages
        except ClientError as exc:
            err = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            transient = err.get("Code") in _THROTTLING or meta.get("HTTPStatusCode", 0) >= 500
            advice = (
                f"CloudWatch still refused after {meta.get('RetryAttempts', 0) + 1} attempts; try again later, "
                "or raise max_attempts in [cloudwatch]."
                if transient
                else "Check the credentials' logs:FilterLogEvents permission and archive_log_group in [cloudwatch]."
                if what.startswith("FilterLogEvents")
                else "Check the credentials' cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory "
                "permissions and the region."
            )
            raise CollectorError(
                self.name,
                f"{what} in {place} failed: {err.get('Code', '?')}: {err.get('Message', '')}. {advice}",
            ) from exc
        except (HTTPClientError, BotoConnectionError) as exc:
            retries = getattr(getattr(client, "meta", None), "config", None)
            attempts = (getattr(retries, "retries", None) or {}).get("total_max_attempts")
            tried = f" ({attempts} attempt{'s' if attempts != 1 else ''})" if attempts else ""
            raise CollectorError(
                self.name,
                f"{what} in {place} failed: {str(exc).rstrip('.')}{tried}. Check the network and endpoint_url, "
                "or raise timeout_seconds or max_attempts in [cloudwatch].",
            ) from exc
        except BotoCoreError as exc:
            raise CollectorError(
                self.name,
                f"{what} in {place} failed: {exc}. Check the region, endpoint_url and credentials.",
            ) from exc

    def _alarms(self, target: Target, client: Any) -> dict[str, AlarmInfo]:
        pages = client.get_paginator("describe_alarms").paginate(
            AlarmTypes=ALARM_TYPES, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        alarms: dict[str, AlarmInfo] = {}
        for page in self._call(target, client, "DescribeAlarms", iter(pages)):
            for a in page.get("MetricAlarms", []):
                alarms[a["AlarmName"]] = AlarmInfo(
                    name=a["AlarmName"],
                    arn=a.get("AlarmArn"),
                    metric=a.get("MetricName"),
                    namespace=a.get("Namespace"),
                    threshold=a.get("Threshold"),
                    comparison=a.get("ComparisonOperator"),
                    statistic=a.get("Statistic") or a.get("ExtendedStatistic"),
                    period=a.get("Period"),
                    dimensions=tuple((d["Name"], d["Value"]) for d in a.get("Dimensions", [])),
                )
            for a in page.get("CompositeAlarms", []):
                alarms[a["AlarmName"]] = AlarmInfo(
                    name=a["AlarmName"],
                    arn=a.get("AlarmArn"),
                    metric=None,
                    namespace=None,
                    threshold=None,
                    comparison=None,
                    alarm_type="CompositeAlarm",
                    rule=a.get("AlarmRule"),
                )
        return alarms

    def _event(
        self, target: Target, item: Mapping[str, Any], alarm: AlarmInfo | None
    ) -> Event | None:
        try:
            data = json.loads(item.get("HistoryData") or "{}")
        except ValueError:
            data = {}
        new = data.get("newState") or {}
        old = data.get("oldState") or {}
        new_state = new.get("stateValue")
        kind = _KIND_BY_STATE.get(new_state or "")
        stamp = item.get("Timestamp")
        if kind is None or not isinstance(stamp, datetime):
            return None
        at = stamp.astimezone(UTC)
        name = item["AlarmName"]
        account, region = target
        attrs: dict[str, Any] = {
            "alarm_name": name,
            "account": account or _account_of(alarm.arn if alarm else None),
            "region": region,
            "alarm_type": item.get("AlarmType") or (alarm.alarm_type if alarm else "MetricAlarm"),
            "old_state": old.get("stateValue"),
            "new_state": new_state,
            "reason": new.get("stateReason"),
        }
        if alarm is not None:
            attrs.update(
                metric=alarm.metric,
                namespace=alarm.namespace,
                threshold=alarm.threshold,
                comparison_operator=alarm.comparison,
            )
            if alarm.dimensions:
                attrs["dimensions"] = ", ".join(f"{k}={v}" for k, v in alarm.dimensions)
            if alarm.rule is not None:
                attrs["alarm_rule"] = alarm.rule
        if kind == ALARM_ALARM:
            reason_data = new.get("stateReasonData")
            start, rule = breach_start(
                reason_data if isinstance(reason_data, dict) else {}, alarm, at
            )
            attrs["breach_start"] = iso_z(start)
            attrs["breach_start_rule"] = rule
        ref = alarm.arn if alarm is not None and alarm.arn else f"{where(target)}:{name}"
        return Event(
            at=at,
            source=self.name,
            kind=kind,
            ref=ref,
            summary=f"{name} {old.get('stateValue', '?')} -> {new_state}",
            url=f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}",
            attrs=attrs,
        )


def aws_targets(
    cfg: CloudWatchConfig, service: str = "cloudwatch"
) -> dict[Target, Callable[[], Any]]:
    """Each configured (account, region) pair and a function that makes its boto3 client of ``service``.

    An account with ``role_arn`` assumes the role once (STS ``AssumeRole``), when its first
    region is read; ``profile`` (the account's, else ``[cloudwatch]``'s) picks the credentials
    it starts from. Retries use ``retry_mode`` up to ``max_attempts`` attempts in all.
    """
    import boto3
    from botocore.config import Config as BotoConfig

    from .config import CloudWatchAccountConfig

    boto_config = BotoConfig(
        retries={"mode": cfg.retry_mode, "total_max_attempts": cfg.max_attempts},  # type: ignore[typeddict-item]
        connect_timeout=cfg.timeout_seconds,
        read_timeout=cfg.timeout_seconds,
    )
    endpoint = cfg.endpoint_url or None
    lock = threading.Lock()
    sessions: dict[str, Any] = {}

    def session_for(account: CloudWatchAccountConfig, region: str) -> Any:
        with lock:
            if account.name not in sessions:
                base = boto3.session.Session(profile_name=account.profile or cfg.profile or None)
                if account.role_arn:
                    sts = base.client(
                        "sts", region_name=region, endpoint_url=endpoint, config=boto_config
                    )
                    try:
                        creds = sts.assume_role(
                            RoleArn=account.role_arn, RoleSessionName="pmdraft"
                        )["Credentials"]
                    finally:
                        sts.close()
                    base = boto3.session.Session(
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"],
                    )
                sessions[account.name] = base
            return sessions[account.name]

    def maker(account: CloudWatchAccountConfig, region: str) -> Callable[[], Any]:
        def make() -> Any:
            session = session_for(account, region)
            with lock:
                return session.client(
                    service, region_name=region, endpoint_url=endpoint, config=boto_config
                )

        return make

    accounts = cfg.accounts or (CloudWatchAccountConfig(name="", profile=cfg.profile),)
    return {
        (a.name, region): maker(a, region)
        for a in accounts
        for region in (a.regions or cfg.regions)
    }
