"""The archived alarm history: EventBridge "CloudWatch Alarm State Change" events in a log group.

``FilterLogEvents`` (paginated) reads the group over the window; each event that is an alarm
state change of the region being read becomes a ``StateUpdate`` history item, so it is merged
with (and deduplicated against) what ``DescribeAlarmHistory`` gave, and also covers windows
older than the history's retention.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ...model import Window, parse_time
from .._aws import Page

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Key = tuple[str, datetime, str | None, str | None]
"""(alarm, time to the millisecond, old state, new state): what makes two items one transition."""


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


def transition(item: Mapping[str, Any]) -> Key:
    """One transition's identity, whichever source (history or archive) told it."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        data = {}
    at = item["Timestamp"].astimezone(UTC)
    return (
        item["AlarmName"],
        # To the millisecond: the archived state change's timestamp has no finer precision.
        at.replace(microsecond=at.microsecond // 1000 * 1000),
        (data.get("oldState") or {}).get("stateValue"),
        (data.get("newState") or {}).get("stateValue"),
    )


def archived_items(
    client: Any,
    log_group: str,
    region: str,
    window: Window,
    call: Callable[[Iterator[Page]], Iterator[Page]],
) -> Iterator[dict[str, Any]]:
    """The log group's alarm state changes in ``window`` for ``region``, as history items.

    ``call`` wraps the pages so that a failed ``FilterLogEvents`` becomes a ``CollectorError``.
    """
    pages = client.get_paginator("filter_log_events").paginate(
        logGroupName=log_group,
        startTime=int((window.since - EPOCH).total_seconds() * 1000),
        endTime=int((window.until - EPOCH).total_seconds() * 1000),
    )
    for page in call(iter(pages)):
        for record in page.get("events", []):
            item = archived_item(record.get("message", ""), region)
            if item is not None:
                yield item


def merged(
    items: list[dict[str, Any]],
    archived: Iterator[dict[str, Any]],
    wanted: Callable[[str], bool],
) -> list[dict[str, Any]]:
    """``items`` and then each wanted archived item that is not a transition already seen."""
    seen = {transition(i) for i in items}
    result = list(items)
    for item in archived:
        key = transition(item)
        if key not in seen and wanted(item["AlarmName"]):
            seen.add(key)
            result.append(item)
    return result
