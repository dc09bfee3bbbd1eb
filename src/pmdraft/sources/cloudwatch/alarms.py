"""Alarm descriptions (DescribeAlarms) and breach analysis: one history item becomes one event.

A transition to ``ALARM`` also says when the metric began to breach (``breach_start``) and by
which rule it was found (``breach_start_rule``): the earliest evaluated datapoint that breaches
the threshold, else the history's ``stateReasonData.startDate``, else the transition itself.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...model import ALARM_ALARM, ALARM_INSUFFICIENT_DATA, ALARM_OK, Event, iso_z, parse_time
from .._aws import Page, Target, where

ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
"""Both kinds: DescribeAlarms and DescribeAlarmHistory leave composite alarms out unless asked."""

KIND_BY_STATE = {
    "ALARM": ALARM_ALARM,
    "OK": ALARM_OK,
    "INSUFFICIENT_DATA": ALARM_INSUFFICIENT_DATA,
}
"""The event kind of each CloudWatch alarm state."""

BREACHES: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
"""Whether ``value`` breaches ``threshold``, by the alarm's comparison operator."""

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
    alarm_type: str = "MetricAlarm"
    rule: str | None = None
    """A composite alarm's rule, such as ``ALARM("A") OR ALARM("B")``."""
    statistic: str | None = None
    period: int | None = None
    dimensions: tuple[tuple[str, str], ...] = field(default=())


def alarms_of(page: Page) -> dict[str, AlarmInfo]:
    """The metric and composite alarms of one DescribeAlarms page, by name."""
    alarms: dict[str, AlarmInfo] = {}
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


def breach_start(
    reason_data: Mapping[str, Any], alarm: AlarmInfo | None, transition_at: datetime
) -> tuple[datetime, str]:
    """When the metric began to breach, and which rule found it.

    The earliest evaluated datapoint that breaches the threshold under the alarm's comparison
    operator; else ``stateReasonData.startDate``; else the transition itself.
    """
    # DescribeAlarms' threshold wins; stateReasonData's is the fallback for an alarm since deleted.
    threshold = (
        alarm.threshold if alarm and alarm.threshold is not None else reason_data.get("threshold")
    )
    breaches = BREACHES.get(alarm.comparison if alarm and alarm.comparison else "")
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


def account_of(arn: str | None) -> str | None:
    """The account id in an ARN (its fifth field), or None."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def alarm_event(
    source: str, target: Target, item: Mapping[str, Any], alarm: AlarmInfo | None
) -> Event | None:
    """The event of one ``StateUpdate`` history item; None for an unknown state or no timestamp."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        data = {}
    new = data.get("newState") or {}
    old = data.get("oldState") or {}
    new_state = new.get("stateValue")
    kind = KIND_BY_STATE.get(new_state or "")
    stamp = item.get("Timestamp")
    if kind is None or not isinstance(stamp, datetime):
        return None
    at = stamp.astimezone(UTC)
    name = item["AlarmName"]
    account, region = target
    attrs: dict[str, Any] = {
        "alarm_name": name,
        "account": account or account_of(alarm.arn if alarm else None),
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
        start, rule = breach_start(reason_data if isinstance(reason_data, dict) else {}, alarm, at)
        attrs["breach_start"] = iso_z(start)
        attrs["breach_start_rule"] = rule
    ref = alarm.arn if alarm is not None and alarm.arn else f"{where(target)}:{name}"
    return Event(
        at=at,
        source=source,
        kind=kind,
        ref=ref,
        summary=f"{name} {old.get('stateValue', '?')} -> {new_state}",
        url=f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}",
        attrs=attrs,
    )
