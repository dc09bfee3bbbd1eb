"""The sandbox's DescribeAlarmHistory: pages of plain items are written by pmdraft's own encoder
(moto's serializer would be what a benchmark times), and read back by boto3 exactly as moto's
serializer has them; an item it cannot write plainly goes through moto's serializer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pmdraft.sandbox import aws
from pmdraft.sandbox.aws import MotoSandbox

T0 = datetime(2024, 3, 1, 14, 0, 0, 125_000, tzinfo=UTC)


def items(n: int, extra: dict[str, Any] | None = None) -> None:
    for i in range(n):
        aws.add_history_item(
            "us-east-1",
            {
                "AlarmName": f"Fehlerrate-Zürich-{i}",
                "Timestamp": T0 + timedelta(seconds=61 * i),
                "HistorySummary": f'Alarm updated from OK to ALARM "{i}" \\ ✓',
                "HistoryData": '{"version":"1.0","newState":{"stateValue":"ALARM"}}',
                **(extra or {}),
            },
            T0 + timedelta(seconds=61 * i),
        )


def read(moto: MotoSandbox) -> list[list[dict[str, Any]]]:
    client = moto.client()
    pages = client.get_paginator("describe_alarm_history").paginate(
        HistoryItemType="StateUpdate", ScanBy="TimestampAscending", MaxRecords=100
    )
    return [page["AlarmHistoryItems"] for page in pages]


def test_plain_pages_read_back_as_seeded_in_pages_of_100(moto: MotoSandbox) -> None:
    """150 items: two pages (100 and 50) by NextToken, each item's text and time as seeded."""
    items(150)
    pages = read(moto)
    assert [len(p) for p in pages] == [100, 50]
    first, last = pages[0][0], pages[1][-1]
    assert first == {
        "AlarmName": "Fehlerrate-Zürich-0",
        "AlarmType": "MetricAlarm",
        "Timestamp": T0,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": 'Alarm updated from OK to ALARM "0" \\ ✓',
        "HistoryData": '{"version":"1.0","newState":{"stateValue":"ALARM"}}',
    }
    assert (last["AlarmName"], last["Timestamp"]) == (
        "Fehlerrate-Zürich-149",
        T0 + timedelta(seconds=61 * 149),
    )


def test_plain_pages_read_as_moto_s_serializer_writes_them(
    moto: MotoSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same items, once plain (pmdraft's encoder) and once each with a field moto's
    serializer leaves out (an absent value): boto3 reads the same pages from both."""
    written: list[str] = []  # the pages pmdraft's encoder wrote (CBOR or JSON protocol)
    cbor, epoch = aws._cbor, aws._epoch_times

    def counted_cbor(value: Any) -> bytes:
        written.append("cbor")
        return cbor(value)

    def counted_json(item: dict[str, Any]) -> dict[str, Any]:
        if item["AlarmName"].endswith("-0") or item["AlarmName"].endswith("-100"):
            written.append("json")  # the first item of each page
        return epoch(item)

    monkeypatch.setattr(aws, "_cbor", counted_cbor)
    monkeypatch.setattr(aws, "_epoch_times", counted_json)
    items(120)
    plain = read(moto)
    assert len(written) == 2  # both pages by pmdraft's encoder
    aws.clear_history()
    items(120, {"AlarmType": "MetricAlarm", "AlarmArn": None})  # type: ignore[dict-item]
    through_moto = read(moto)
    assert len(written) == 2  # neither page by it
    assert through_moto == plain
    assert "AlarmArn" not in through_moto[0][0]
