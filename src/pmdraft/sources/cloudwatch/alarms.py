"""Alarm descriptions (DescribeAlarms) and breach analysis: one history item becomes one event.

A transition to ``ALARM`` also says when the metric began to breach (``breach_start``) and by
which rule it was found (``breach_start_rule``): the earliest evaluated datapoint that breaches
the threshold, else the history's ``stateReasonData.startDate``, else the transition itself.

An item that cannot become an event (no ``AlarmName``, no ``Timestamp``, a ``HistoryData`` that
is null or not JSON, an unknown state) raises :class:`BadItem`, whose message names the alarm,
the time and the field, so the collector skips it and says so.
"""

from __future__ import annotations

import functools
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


class BadItem(ValueError):
    """A history item that cannot become an event; the message names the item and the field."""


def label(item: Mapping[str, Any]) -> str:
    """``HighErrorRate at 2024-01-15T14:32:00Z``: the alarm and time of an item, as far as known."""
    name, stamp = item.get("AlarmName"), item.get("Timestamp")
    who = name if isinstance(name, str) and name else "an alarm with no AlarmName"
    return f"{who} at {iso_z(stamp) if isinstance(stamp, datetime) else 'an unknown time'}"


def history_data(item: Mapping[str, Any]) -> dict[str, Any]:
    """The item's ``HistoryData``, parsed; :class:`BadItem` when it is null or not a JSON object."""
    raw = item.get("HistoryData")
    if raw is None:
        raise BadItem(f"{label(item)}: HistoryData is missing or null, so its states are unknown")
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise BadItem(f"{label(item)}: HistoryData is not JSON ({why})") from exc
    if not isinstance(data, dict):
        raise BadItem(f"{label(item)}: HistoryData is not a JSON object")
    return data


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
    state_updated: datetime | None = None
    """When the alarm last changed state (``StateUpdatedTimestamp``); None: not said."""

    def changed_since(self, at: datetime) -> bool:
        """Whether the alarm may have changed state at or after ``at`` (unknown: yes)."""
        return self.state_updated is None or self.state_updated >= at


def _aware(value: Any) -> datetime | None:
    """A boto3 timestamp in UTC; anything else is None."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
            state_updated=_aware(a.get("StateUpdatedTimestamp")),
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
) -> Event:
    """The event of one ``StateUpdate`` history item; :class:`BadItem` names what it lacks."""
    name, stamp = item.get("AlarmName"), item.get("Timestamp")
    if not isinstance(name, str) or not name:
        raise BadItem(f"{label(item)}: AlarmName is missing or null")
    if not isinstance(stamp, datetime):
        raise BadItem(f"{label(item)}: Timestamp is missing, so the transition has no time")
    data = history_data(item)
    raw_new, raw_old = data.get("newState"), data.get("oldState")
    new: dict[str, Any] = raw_new if isinstance(raw_new, dict) else {}
    old: dict[str, Any] = raw_old if isinstance(raw_old, dict) else {}
    new_state = new.get("stateValue")
    kind = KIND_BY_STATE.get(new_state if isinstance(new_state, str) else "")
    if kind is None:
        raise BadItem(
            f"{label(item)}: HistoryData newState.stateValue {new_state!r} is not one of "
            f"{', '.join(KIND_BY_STATE)}"
        )
    at = stamp.astimezone(UTC)
    account, region = target
    # An alarm's own texts (its name, type, states, console link, dimensions) are one object
    # for all its events rather than a copy per history item: pickled across from the process
    # that reads CloudWatch, each is written once (the busy month's 5,000 events: 0.8 MB, not 2).
    name = _one(name)
    old_state = old.get("stateValue")
    attrs: dict[str, Any] = {
        "alarm_name": name,
        "account": account or account_of(alarm.arn if alarm else None),
        "region": region,
        "alarm_type": _one(item.get("AlarmType") or (alarm.alarm_type if alarm else "MetricAlarm")),
        "old_state": _one(old_state),
        "new_state": _one(new_state),
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
            attrs["dimensions"] = _dimensions(alarm.dimensions)
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
        summary=_one(f"{name} {old.get('stateValue', '?')} -> {new_state}"),
        url=_console_url(region, name),
        attrs=attrs,
    )


_SAME: dict[str, str] = {}
"""Texts seen in alarm events, each kept once (:func:`_one`)."""
_SAME_MOST = 100_000
"""Texts :func:`_one` keeps at most; past that, a text is used as it is."""


def _one(value: Any) -> Any:
    """``value``, or the equal text seen before (one object for equal texts)."""
    if not isinstance(value, str):
        return value
    same = _SAME.get(value)
    if same is not None:
        return same
    if len(_SAME) < _SAME_MOST:
        _SAME[value] = value
    return value


@functools.lru_cache(maxsize=4096)
def _console_url(region: str, name: str) -> str:
    """The alarm's page in the CloudWatch console (one text per alarm, see :func:`_one`)."""
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}"


@functools.lru_cache(maxsize=4096)
def _dimensions(dimensions: tuple[tuple[str, str], ...]) -> str:
    """An alarm's dimensions as its events say them: ``k=v, k=v``."""
    return ", ".join(f"{k}={v}" for k, v in dimensions)


def summary(notes: list[str], bad: list[str], outside: int, shown: int) -> str | None:
    """The collector's ``detail``: its notes, the skipped items (``shown`` named), the dropped."""
    parts = list(notes)
    if bad:
        more = len(bad) - shown
        parts.append(
            f"{len(bad)} history item{'s' if len(bad) > 1 else ''} skipped: "
            + " / ".join(bad[:shown])
            + (f" / and {more} more" if more > 0 else "")
        )
    if outside:
        parts.append(
            f"{outside} transition{'s' if outside > 1 else ''} outside the window dropped "
            "(CloudWatch answered more than was asked)"
        )
    return "; ".join(parts) or None
