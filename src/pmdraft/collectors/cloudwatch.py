"""CloudWatch alarm history: every state transition of every alarm in the window.

One paginated ``DescribeAlarmHistory`` stream per region (``HistoryItemType=StateUpdate``,
``MaxRecords=100``), never one call per alarm, and one paginated ``DescribeAlarms`` per region
for each alarm's metric, threshold and comparison operator.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import CollectorError
from ..model import (
    ALARM_ALARM,
    ALARM_INSUFFICIENT_DATA,
    ALARM_OK,
    UTC,
    Event,
    Window,
    iso_z,
)
from .base import RequestCounter, parse_time

PAGE_SIZE = 100
"""Records per DescribeAlarmHistory page: the API's maximum."""

_THROTTLING = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})
"""Error codes that mean "slow down", not "not allowed"."""

_KIND_BY_STATE = {"ALARM": ALARM_ALARM, "OK": ALARM_OK, "INSUFFICIENT_DATA": ALARM_INSUFFICIENT_DATA}

_BREACHES: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}

RULE_DATAPOINT = "earliest evaluated datapoint breaching the threshold"
RULE_START_DATE = "stateReasonData.startDate (no breaching datapoint listed)"
RULE_TRANSITION = "transition time (the alarm history gave no datapoints)"


@dataclass(frozen=True)
class AlarmInfo:
    """What DescribeAlarms says of one alarm."""

    name: str
    arn: str | None
    metric: str | None
    namespace: str | None
    threshold: float | None
    comparison: str | None


def breach_start(
    reason_data: Mapping[str, Any], alarm: AlarmInfo | None, transition_at: datetime
) -> tuple[datetime, str]:
    """When the metric began to breach, and which rule found it.

    The earliest evaluated datapoint that breaches the threshold under the alarm's comparison
    operator; else ``stateReasonData.startDate``; else the transition itself.
    """
    threshold = alarm.threshold if alarm and alarm.threshold is not None else reason_data.get("threshold")
    breaches = _BREACHES.get(alarm.comparison if alarm and alarm.comparison else "")
    if breaches is not None and isinstance(threshold, (int, float)):
        times = []
        for point in reason_data.get("evaluatedDatapoints") or []:
            value = point.get("value") if isinstance(point, dict) else None
            stamp = point.get("timestamp") if isinstance(point, dict) else None
            if isinstance(value, (int, float)) and isinstance(stamp, str) and breaches(value, threshold):
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


class CloudWatchCollector:
    """Alarm transitions from CloudWatch, one boto3 client per region."""

    name = "cloudwatch"

    def __init__(self, clients: Mapping[str, Any], alarm_prefixes: Sequence[str] = ()) -> None:
        self.clients = dict(clients)
        self.alarm_prefixes = tuple(alarm_prefixes)
        self._counter = RequestCounter()
        for client in self.clients.values():
            client.meta.events.register("before-send.cloudwatch", self._counter.add)

    @property
    def requests(self) -> int:
        return self._counter.value

    def close(self) -> None:
        """Close every region's client."""
        for client in self.clients.values():
            client.close()

    def _wanted(self, name: str) -> bool:
        return not self.alarm_prefixes or name.startswith(self.alarm_prefixes)

    def collect(self, window: Window) -> Iterator[Event]:
        for region, client in self.clients.items():
            yield from self._collect_region(region, client, window)

    def _call(self, region: str, what: str, pages: Iterator[dict]) -> Iterator[dict]:
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
                else "Check the credentials' cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory "
                "permissions and the region."
            )
            raise CollectorError(
                self.name, f"{what} in {region} failed: {err.get('Code', '?')}: {err.get('Message', '')}. {advice}"
            ) from exc
        except (HTTPClientError, BotoConnectionError) as exc:
            retries = getattr(getattr(self.clients[region], "meta", None), "config", None)
            attempts = (getattr(retries, "retries", None) or {}).get("total_max_attempts")
            tried = f" ({attempts} attempt{'s' if attempts != 1 else ''})" if attempts else ""
            raise CollectorError(
                self.name,
                f"{what} in {region} failed: {str(exc).rstrip('.')}{tried}. Check the network and endpoint_url, "
                "or raise timeout_seconds or max_attempts in [cloudwatch].",
            ) from exc
        except BotoCoreError as exc:
            raise CollectorError(
                self.name, f"{what} in {region} failed: {exc}. Check the region, endpoint_url and credentials."
            ) from exc

    def _alarms(self, region: str, client: Any) -> dict[str, AlarmInfo]:
        pages = client.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        alarms: dict[str, AlarmInfo] = {}
        for page in self._call(region, "DescribeAlarms", iter(pages)):
            for a in page.get("MetricAlarms", []):
                alarms[a["AlarmName"]] = AlarmInfo(
                    name=a["AlarmName"],
                    arn=a.get("AlarmArn"),
                    metric=a.get("MetricName"),
                    namespace=a.get("Namespace"),
                    threshold=a.get("Threshold"),
                    comparison=a.get("ComparisonOperator"),
                )
        return alarms

    def _collect_region(self, region: str, client: Any, window: Window) -> Iterator[Event]:
        alarms = self._alarms(region, client)
        pages = client.get_paginator("describe_alarm_history").paginate(
            HistoryItemType="StateUpdate",
            StartDate=window.since,
            EndDate=window.until,
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in self._call(region, "DescribeAlarmHistory", iter(pages)):
            for item in page.get("AlarmHistoryItems", []):
                name = item.get("AlarmName", "")
                if item.get("HistoryItemType") != "StateUpdate" or not self._wanted(name):
                    continue
                event = self._event(region, item, alarms.get(name))
                if event is not None and event.at in window:
                    yield event

    def _event(self, region: str, item: Mapping[str, Any], alarm: AlarmInfo | None) -> Event | None:
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
        attrs: dict[str, Any] = {
            "alarm_name": name,
            "region": region,
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
        if kind == ALARM_ALARM:
            reason_data = new.get("stateReasonData")
            start, rule = breach_start(reason_data if isinstance(reason_data, dict) else {}, alarm, at)
            attrs["breach_start"] = iso_z(start)
            attrs["breach_start_rule"] = rule
        ref = alarm.arn if alarm is not None and alarm.arn else f"{region}:{name}"
        return Event(
            at=at,
            source=self.name,
            kind=kind,
            ref=ref,
            summary=f"{name} {old.get('stateValue', '?')} -> {new_state}",
            url=f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}",
            attrs=attrs,
        )
