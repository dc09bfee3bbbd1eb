"""The archived alarm history: EventBridge "CloudWatch Alarm State Change" events in a log group.

``FilterLogEvents`` (paginated) reads the group over the window; each event that is an alarm
state change of the region being read becomes a ``StateUpdate`` history item, so it is merged
with (and deduplicated against) what ``DescribeAlarmHistory`` gave, and also covers windows
older than the history's retention.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ...model import Window, parse_time
from .._aws import Page, paged
from .alarms import BadItem, label

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Key = tuple[str, datetime, str | None, str | None]
"""(alarm, time to the millisecond, old state, new state): what makes two items one transition."""


def archived_item(message: str, region: str) -> dict[str, Any] | None:
    """An archived EventBridge alarm state change as a ``StateUpdate`` history item, or None.

    None for another event type or another region; :class:`BadItem` for an alarm state change
    that cannot be read (not JSON, no alarm name, no readable ``state.timestamp``).
    """
    try:
        event = json.loads(message)
    except ValueError as exc:
        raise BadItem(f"message is not JSON ({exc})") from exc
    if (
        not isinstance(event, dict)
        or event.get("detail-type") != "CloudWatch Alarm State Change"
        or event.get("region", region) != region
    ):
        return None
    detail = event.get("detail")
    state = detail.get("state") if isinstance(detail, dict) else None
    name = detail.get("alarmName") if isinstance(detail, dict) else None
    if not isinstance(name, str) or not name or not isinstance(state, dict):
        raise BadItem("detail.alarmName or detail.state is missing or null")
    try:
        at = parse_time(state["timestamp"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadItem(
            f"{name}: detail.state.timestamp {state.get('timestamp')!r} is not an ISO 8601 time"
        ) from exc
    assert isinstance(detail, dict)
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
    notes: list[str],
    bad: list[str],
) -> Iterator[dict[str, Any]]:
    """The log group's alarm state changes in ``window`` for ``region``, as history items.

    ``call`` wraps the pages so that a failed ``FilterLogEvents`` becomes a ``CollectorError``;
    a paging loop is a sentence in ``notes``; an unreadable archived event is skipped and named
    (by its log event id) in ``bad``.
    """
    params = {
        "logGroupName": log_group,
        "startTime": int((window.since - EPOCH).total_seconds() * 1000),
        "endTime": int((window.until - EPOCH).total_seconds() * 1000),
    }
    what = f"FilterLogEvents on {log_group}"
    pages = paged(client.filter_log_events, params, what=what, notes=notes, token="nextToken")
    for page in call(pages):
        for record in page.get("events", []):
            try:
                item = archived_item(record.get("message", ""), region)
            except BadItem as exc:
                bad.append(f"archived event {record.get('eventId', '?')} in {log_group}: {exc}")
                continue
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


def readable(
    items: Iterable[dict[str, Any]], wanted: Callable[[str], bool]
) -> tuple[list[dict[str, Any]], list[str], int]:
    """The wanted items, each transition once; the unreadable ones named; the repeats counted.

    An item without an ``AlarmName`` or a ``Timestamp`` cannot be told apart from another, so it
    is named (by what it has) and left out here; a transition seen before (a page that went
    back) is counted and kept once.
    """
    found: list[dict[str, Any]] = []
    bad: list[str] = []
    seen: set[Key] = set()
    repeated = 0
    for item in items:
        name = item.get("AlarmName")
        if not isinstance(name, str) or not name:
            bad.append(f"{label(item)}: AlarmName is missing or null")
            continue
        if not isinstance(item.get("Timestamp"), datetime):
            bad.append(f"{label(item)}: Timestamp is missing, so the transition has no time")
            continue
        if not wanted(name):
            continue
        key = transition(item)
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        found.append(item)
    return found, bad, repeated
