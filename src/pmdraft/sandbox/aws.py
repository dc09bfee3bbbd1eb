"""moto's server on loopback, with the ``DescribeAlarmHistory`` moto lacks.

The history is seeded with explicit timestamps and the documented ``HistoryData`` shape, and
served through moto's own serializer, so boto3 reads it exactly as it reads AWS.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import struct
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..model import require_aware

DEFAULT_ACCOUNT = "123456789012"

_lock = threading.Lock()
_history: dict[tuple[str, str], list[tuple[datetime, int, dict[str, Any]]]] = {}
_sequence = 0


def _aws_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def add_history(
    region: str,
    alarm_name: str,
    at: datetime,
    old_state: str,
    new_state: str,
    *,
    reason: str = "",
    reason_data: dict[str, Any] | None = None,
    account: str = DEFAULT_ACCOUNT,
    alarm_type: str = "MetricAlarm",
) -> None:
    """Record one ``StateUpdate`` history item, shaped as CloudWatch documents it.

    ``alarm_type`` is ``"MetricAlarm"`` or ``"CompositeAlarm"``; the latter is listed only to a
    caller that asks for it with ``AlarmTypes``, as AWS does.
    """
    global _sequence
    at = require_aware(at, "history time")
    new: dict[str, Any] = {"stateValue": new_state, "stateReason": reason}
    if reason_data is not None:
        new["stateReasonData"] = {"version": "1.0", "queryDate": _aws_time(at), **reason_data}
    item = {
        "AlarmName": alarm_name,
        "AlarmType": alarm_type,
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old_state} to {new_state}",
        "HistoryData": json.dumps(
            {"version": "1.0", "oldState": {"stateValue": old_state}, "newState": new},
            separators=(",", ":"),
        ),
    }
    with _lock:
        _sequence += 1
        bisect.insort(
            _history.setdefault((account, region), []),
            (at, _sequence, item),
            key=lambda t: (t[0], t[1]),
        )


def add_history_item(
    region: str, item: dict[str, Any], at: datetime, *, account: str = DEFAULT_ACCOUNT
) -> None:
    """Record one history item exactly as given, filed at ``at`` (for the date filter and order).

    For odd items: a field left out or ``None`` is not sent, a ``HistoryData`` that is not JSON is
    sent as it is. ``HistoryItemType`` and ``AlarmType`` default to a metric alarm's state update.
    """
    global _sequence
    at = require_aware(at, "history time")
    item = {"HistoryItemType": "StateUpdate", "AlarmType": "MetricAlarm", **item}
    with _lock:
        _sequence += 1
        bisect.insort(
            _history.setdefault((account, region), []),
            (at, _sequence, item),
            key=lambda t: (t[0], t[1]),
        )


def add_archived(
    region: str,
    group: str,
    stream: str,
    events: list[dict[str, Any]],
    *,
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Store EventBridge events in an existing log group and stream at their own ``time``, as an
    archive
    written when they happened would hold them (PutLogEvents, on moto as on AWS, refuses events
    over 14 days old).
    """
    from moto.logs.models import logs_backends

    stamped = sorted(
        (
            (int(datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000), e)
            for e in events
        ),
        key=lambda pair: pair[0],
    )
    records = [{"timestamp": ms, "message": json.dumps(e)} for ms, e in stamped]
    logs_backends[account][region].groups[group].put_log_events(stream, records)


def clear_history() -> None:
    """Forget the alarm history and the stored metric data."""
    with _lock:
        _history.clear()
        _metrics.clear()
        _aggregates.clear()


_metrics: dict[tuple[str, str, str, str, tuple[tuple[str, str], ...]], _Series] = {}

_aggregates: dict[tuple[Any, ...], tuple[list[float], list[float]]] = {}

MAX_DATAPOINTS = 100_800
"""GetMetricData's datapoints per answer (``MaxDatapoints``' default); more come by NextToken."""


@dataclass
class _Series:
    """One metric's raw datapoints, ordered by time (epoch seconds)."""

    times: list[float]
    values: list[float]


def add_metric_data(
    region: str,
    namespace: str,
    metric: str,
    points: list[tuple[datetime, float]],
    *,
    dimensions: dict[str, str] | None = None,
    account: str = DEFAULT_ACCOUNT,
) -> None:
    """Store raw datapoints of one metric, served by ``GetMetricData`` without moto's backend.

    moto answers GetMetricData by scanning every stored datapoint for every period of every
    query, which for a month of 200 metrics is the stand-in's minutes, not the client's. A
    metric stored here is answered from its sorted datapoints instead, aggregated per period
    (``Sum``, ``Average``, ``Minimum``, ``Maximum``, ``SampleCount``), in NextToken pages of
    :data:`MAX_DATAPOINTS` as AWS pages them; only periods holding data come back.
    """
    key = (account, region, namespace, metric, tuple(sorted((dimensions or {}).items())))
    ordered = sorted((require_aware(at, "datapoint time").timestamp(), v) for at, v in points)
    with _lock:
        series = _metrics.setdefault(key, _Series([], []))
        merged = sorted([*zip(series.times, series.values, strict=True), *ordered])
        series.times, series.values = [t for t, _ in merged], [v for _, v in merged]
        _aggregates.clear()


_STATS: dict[str, Any] = {
    "Sum": sum,
    "Average": lambda v: sum(v) / len(v),
    "Minimum": min,
    "Maximum": max,
    "SampleCount": lambda v: float(len(v)),
}


def _aggregate(
    series: _Series, start: float, end: float, period: int, stat: str
) -> tuple[list[float], list[float]]:
    """Per period from ``start`` holding data: its start (epoch seconds) and ``stat`` value."""
    lo = bisect.bisect_left(series.times, start)
    hi = bisect.bisect_left(series.times, end)
    combine = _STATS[stat]
    times, values = [], []
    # The datapoints are sorted, so each period's are adjacent: one pass, no per-point dict.
    keyed = zip(series.times[lo:hi], series.values[lo:hi], strict=True)
    for k, group in itertools.groupby(keyed, key=lambda p: (p[0] - start) // period):
        times.append(start + k * period)
        values.append(float(combine([v for _, v in group])))
    return times, values


def _stored_metric_data(self: Any, account: str, region: str) -> Any:
    """``GetMetricData`` over :func:`add_metric_data`'s metrics, or None when one is not there."""
    from moto.core.responses import ActionResult

    params = self._get_params()
    queries = params.get("MetricDataQueries", [])
    keys = []
    for q in queries:
        stat = q.get("MetricStat")
        if stat is None or stat.get("Stat") not in _STATS:
            return None
        metric = stat["Metric"]
        dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
        key = (account, region, metric["Namespace"], metric["MetricName"], dims)
        if key not in _metrics:
            return None
        keys.append(key)
    start = params["StartTime"].replace(tzinfo=UTC).timestamp()
    end = params["EndTime"].replace(tzinfo=UTC).timestamp()
    skip = int(params.get("NextToken") or 0)
    stop = skip + int(params.get("MaxDatapoints") or MAX_DATAPOINTS)
    descending = (params.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
    results, seen = [], 0
    for q, key in zip(queries, keys, strict=True):
        period = int(q["MetricStat"]["Period"])
        asked = (key, start, end, period, q["MetricStat"]["Stat"])
        with _lock:
            # A call's NextToken pages ask for the same aggregates again: computed once.
            if asked not in _aggregates:
                if len(_aggregates) > 4096:
                    _aggregates.clear()
                _aggregates[asked] = _aggregate(_metrics[key], *asked[1:])
            times, values = (list(x) for x in _aggregates[asked])
        if descending:
            times.reverse()
            values.reverse()
        # This page is the datapoints skip..stop of all the queries' datapoints, in order.
        lo, hi = (min(len(times), max(0, b - seen)) for b in (skip, stop))
        seen += len(times)
        results.append(
            {
                "id": q["Id"],
                "label": q.get("Label") or q["MetricStat"]["Metric"]["MetricName"],
                "timestamps": times[lo:hi],  # epoch seconds; datetimes only where moto writes
                "values": values[lo:hi],
                "status_code": "Complete" if hi == len(times) else "PartialData",
            }
        )
    result: dict[str, Any] = {"MetricDataResults": results}
    if stop < seen:
        result["NextToken"] = str(stop)
    # moto's own serializer takes ~10-25 us a datapoint: a month's answer would time the
    # stand-in. The same answer is written here as the protocol the client spoke has it.
    kind = self.headers.get("Content-Type", "")
    if "cbor" in kind:
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        for r in results:  # CBOR's timestamps are tagged epoch seconds (tag 1)
            r["timestamps"] = [_Epoch(t) for t in r["timestamps"]]
        return _cbor(_shaped(result)), {**headers, "status": 200}
    if "amz-json" in kind:
        return json.dumps(_shaped(result)), {"Content-Type": kind, "status": 200}
    for r in results:
        r["timestamps"] = [datetime.fromtimestamp(t, UTC) for t in r["timestamps"]]
    return ActionResult(result)


def _shaped(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with the answer's member names (moto's snake_case ones capitalised)."""
    names = {"id": "Id", "label": "Label", "timestamps": "Timestamps", "values": "Values"}
    names["status_code"] = "StatusCode"
    return {
        **result,
        "MetricDataResults": [
            {names[k]: v for k, v in r.items()} for r in result["MetricDataResults"]
        ],
    }


@dataclass(frozen=True)
class _Epoch:
    """A timestamp as epoch seconds, for :func:`_cbor` (a datetime costs a microsecond to make)."""

    seconds: float


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, n)
    raise ValueError(n)


def _cbor(value: Any) -> bytes:
    """``value`` (dict, list, str, float, int, datetime, None) as CBOR (RFC 8949)."""
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(_cbor(k) + _cbor(v) for k, v in value.items())
    if isinstance(value, list):
        if value and all(isinstance(v, float) for v in value):
            return _cbor_head(4, len(value)) + b"".join(b"\xfb" + _DOUBLE(v) for v in value)
        return _cbor_head(4, len(value)) + b"".join(_cbor(v) for v in value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, datetime):
        return b"\xc1\xfb" + _DOUBLE(value.timestamp())
    if isinstance(value, _Epoch):
        return b"\xc1\xfb" + _DOUBLE(value.seconds)
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + _DOUBLE(value)
    if value is None:
        return b"\xf6"
    raise TypeError(type(value))


_DOUBLE = struct.Struct(">d").pack


def _describe_alarm_history(self: Any) -> Any:
    """moto response method: ``DescribeAlarmHistory`` over the seeded items."""
    from moto.core.responses import ActionResult

    def aware(value: Any) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    start, end = aware(self._get_param("StartDate")), aware(self._get_param("EndDate"))
    kind = self._get_param("HistoryItemType")
    name = self._get_param("AlarmName")
    limit = min(int(self._get_param("MaxRecords") or 100), 100)
    offset = int(self._get_param("NextToken") or 0)
    with _lock:
        items = list(_history.get((self.current_account, self.region), []))
    lo = 0 if start is None else bisect.bisect_left(items, start, key=lambda t: t[0])
    hi = len(items) if end is None else bisect.bisect_right(items, end, key=lambda t: t[0])
    chosen = [t[2] for t in items[lo:hi]]
    if kind:
        chosen = [i for i in chosen if i["HistoryItemType"] == kind]
    if name:
        chosen = [i for i in chosen if i["AlarmName"] == name]
    types = self._get_param("AlarmTypes") or ["MetricAlarm"]
    chosen = [i for i in chosen if i["AlarmType"] in types]
    if self._get_param("ScanBy") != "TimestampAscending":
        chosen.reverse()
    page = chosen[offset : offset + limit]
    result: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + limit < len(chosen):
        result["NextToken"] = str(offset + limit)
    # moto's serializer takes ~10 ms a page of 100 items: the benchmarks would time the stand-in
    # (reference/performance.md). Items of plain text and times are written here as the
    # protocol the client spoke has them; any other item goes through moto's serializer.
    kind = self.headers.get("Content-Type", "")
    plain = all(type(v) is str or type(v) is datetime for item in page for v in item.values())
    if plain and "cbor" in kind:
        headers = {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
        return _cbor(result), {**headers, "status": 200}
    if plain and "amz-json" in kind:
        epoch = {"AlarmHistoryItems": [_epoch_times(item) for item in page]}
        return json.dumps({**result, **epoch}), {"Content-Type": kind, "status": 200}
    return ActionResult(result)


def _epoch_times(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with its times as epoch seconds, as the JSON protocol writes timestamps."""
    return {k: v.timestamp() if type(v) is datetime else v for k, v in item.items()}


def install() -> None:
    """Teach moto's CloudWatch responses ``DescribeAlarmHistory`` and ``PutCompositeAlarm``,
    and ``GetMetricData`` over :func:`add_metric_data`'s metrics (idempotent)."""
    from moto.cloudwatch.responses import CloudWatchResponse

    original = CloudWatchResponse.get_metric_data
    if not getattr(original, "pmdraft", False):

        def get_metric_data(self: Any) -> Any:
            stored = _stored_metric_data(self, self.current_account, self.region)
            return original(self) if stored is None else stored

        get_metric_data.pmdraft = True  # type: ignore[attr-defined]  # a marker
        CloudWatchResponse.get_metric_data = get_metric_data  # type: ignore[method-assign]  # patched
    CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]  # moto lacks it
    # moto's put_metric_alarm already stores AlarmRule: it serves PutCompositeAlarm as it is.
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm  # type: ignore[attr-defined]  # moto lacks it
    _teach_percentiles()


def _teach_percentiles() -> None:
    """Let moto's GetMetricData answer percentile statistics (``p99``), which it leaves empty."""
    from moto.cloudwatch.models import Statistics

    original = Statistics.get_statistics_for_type
    if getattr(original, "pmdraft", False):
        return

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        value = original(self, stat)
        if (
            value is None
            and len(stat) > 1
            and stat[0] == "p"
            and stat[1:].replace(".", "", 1).isdigit()
        ):
            values = sorted(self.metric_single_values_list)
            if values:
                rank = max(0, min(len(values) - 1, -(-len(values) * float(stat[1:]) // 100) - 1))
                value = values[int(rank)]
        return value

    get_statistics_for_type.pmdraft = True  # type: ignore[attr-defined]  # a marker
    Statistics.get_statistics_for_type = get_statistics_for_type  # type: ignore[method-assign]  # patched


@dataclass
class MotoSandbox:
    """moto's threaded server on 127.0.0.1 with alarm history; use as a context manager."""

    port: int = 0
    endpoint_url: str = ""

    def start(self) -> MotoSandbox:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        install()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.reset()
        return self

    def reset(self) -> None:
        """Empty every AWS service and the alarm history.

        moto keeps its state per process, not per server: a sandbox started in a process that
        already used moto (a test run) would otherwise see that state, and a demo draft built
        on it would differ from a fresh one.
        """
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()
        clear_history()

    def stop(self) -> None:
        self._server.stop()
        clear_history()

    def __enter__(self) -> MotoSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str = "cloudwatch", region: str = "us-east-1") -> Any:
        """A boto3 client for this server with the sandbox's fake credentials."""
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
