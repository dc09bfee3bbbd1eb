"""The near-limit plain client: the fastest straightforward read of the records pmdraft reads.

What it does, and nothing more (no timeline, no milestones, no draft):

- PagerDuty (``requests``, one ``Session`` whose pool holds :data:`PD_CONNECTIONS` connections,
  pmdraft's ``max_connections``; a pool of as many threads): ``GET /incidents`` and
  ``GET /log_entries`` (``is_overview=false``) over the window, 100 a page. The first page of
  each asks for the ``total``; every other offset page then goes out at once over the pool. A
  listing over PagerDuty's 10,000-record pagination cap is split into equal time slices of at
  most :data:`PD_SLICE_RECORDS` records by that total, each slice probed and fanned out alike
  (a slice still over the cap is halved again).
- CloudWatch (boto3, one client per region, both regions at once): ``DescribeAlarms`` (paginated),
  and ``DescribeAlarmHistory`` (``StateUpdate``, 100 a page) of every alarm at once, read as
  :data:`CW_SLICES` disjoint time slices per region, each its own ``NextToken`` chain, all
  chains in parallel; every history request waits for one limiter of
  :data:`CW_PER_SECOND` requests a second shared by the regions (the account's quota, as
  pmdraft applies it).
- The deploy log: one JSON object per line.
- Then one ``sort`` of (time, source, id) over everything read.

It runs in a fresh interpreter, as pmdraft's CLI does, so imports count in both. Prints one
JSON object: records read per source and the seconds spent.

    python bench/nearlimit.py '{"token": ..., "pd_url": ..., "ca_path": ..., "cw_url": ...,
                                "regions": [...], "since": ..., "until": ..., "deploys": ...}'
"""

from __future__ import annotations

import itertools
import json
import math
import ssl
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

START = time.perf_counter()

import boto3  # noqa: E402 - timed from the start, as pmdraft's imports are
import requests  # noqa: E402

PD_CONNECTIONS = 8
"""PagerDuty requests in flight at once (pmdraft's default ``max_connections``)."""
PD_CAP = 10_000
"""PagerDuty answers 400 past offset + limit = 10,000."""
PD_SLICE_RECORDS = 9_000
"""A listing over the cap is cut into time slices of about this many records."""
PAGE = 100
CW_SLICES = 4
"""Time slices of each region's alarm history, each its own NextToken chain (pmdraft's)."""
CW_PER_SECOND = 20.0
"""DescribeAlarmHistory's quota: requests a second, shared by the regions of the account."""


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Limiter:
    """Each call starts at least ``1 / per_second`` after the one before it."""

    def __init__(self, per_second: float) -> None:
        self.interval, self.next, self.lock = 1.0 / per_second, 0.0, threading.Lock()

    def wait(self) -> None:
        with self.lock:
            at = max(time.monotonic(), self.next)
            self.next = at + self.interval
        time.sleep(max(0.0, at - time.monotonic()))


class _Adapter(requests.adapters.HTTPAdapter):
    """A pool of :data:`PD_CONNECTIONS` connections trusting the stand-in's CA."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(pool_connections=1, pool_maxsize=PD_CONNECTIONS, max_retries=3)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.context
        super().init_poolmanager(*args, **kwargs)


class PagerDuty:
    def __init__(self, token: str, base_url: str, ca_path: str, pool: ThreadPoolExecutor) -> None:
        self.base, self.pool = base_url.rstrip("/"), pool
        self.session = requests.Session()
        self.session.mount("https://", _Adapter(ssl.create_default_context(cafile=ca_path)))
        self.session.headers.update(
            {
                "Authorization": f"Token token={token}",
                "Accept": "application/vnd.pagerduty+json;version=2",
            }
        )

    def page(self, path: str, params: dict[str, Any], offset: int, total: bool) -> dict[str, Any]:
        query = {**params, "limit": PAGE, "offset": offset, "total": "true" if total else "false"}
        answer = self.session.get(f"{self.base}/{path}", params=query, timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def listing(
        self, path: str, key: str, params: dict[str, Any], since: datetime, until: datetime
    ) -> list[dict[str, Any]]:
        """Every record of ``path`` in since..until: probe for the totals, then fan out.

        Runs in its own thread; only pages go to the pool, so no pool thread waits on another.
        """
        probes = [
            (
                since,
                until,
                self.pool.submit(self.page, path, self._at(params, since, until), 0, True),
            )
        ]
        records: list[dict[str, Any]] = []
        pages: list[Future[dict[str, Any]]] = []
        while probes:
            a, b, probe = probes.pop(0)
            first = probe.result()
            total = int(first.get("total") or 0)
            if total + PAGE > PD_CAP:
                count = max(2, math.ceil(total / PD_SLICE_RECORDS))
                bounds = [a + (b - a) * i / count for i in range(count)] + [b]
                probes += [
                    (x, y, self.pool.submit(self.page, path, self._at(params, x, y), 0, True))
                    for x, y in itertools.pairwise(bounds)
                ]
                continue
            records += first[key]
            window = self._at(params, a, b)
            pages += [
                self.pool.submit(self.page, path, window, offset, False)
                for offset in range(PAGE, total, PAGE)
            ]
        return records + [r for page in pages for r in page.result()[key]]

    @staticmethod
    def _at(params: dict[str, Any], since: datetime, until: datetime) -> dict[str, Any]:
        return {**params, "since": iso(since), "until": iso(until)}


def _chain(client: Any, limiter: Limiter, since: datetime, until: datetime) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {
        "HistoryItemType": "StateUpdate",
        "StartDate": since,
        "EndDate": until,
        "MaxRecords": PAGE,
    }
    while True:
        limiter.wait()
        page = client.describe_alarm_history(**params)
        items += page.get("AlarmHistoryItems", [])
        if not page.get("NextToken"):
            return items
        params["NextToken"] = page["NextToken"]


def cloudwatch(
    region: str, cw_url: str, since: datetime, until: datetime, limiter: Limiter
) -> tuple[list[Any], list[Any]]:
    """One region's alarms and its history, the history in parallel time slices."""
    client = boto3.client("cloudwatch", region_name=region, endpoint_url=cw_url)
    with ThreadPoolExecutor(CW_SLICES + 1) as pool:
        alarms_f = pool.submit(
            lambda: [
                a
                for page in client.get_paginator("describe_alarms").paginate(MaxRecords=PAGE)
                for a in page["MetricAlarms"]
            ]
        )
        step = (until - since) / CW_SLICES
        bounds = [since + step * i for i in range(CW_SLICES)] + [until]
        ends = [b - timedelta(milliseconds=1) for b in bounds[1:-1]] + [until]
        chains = [
            pool.submit(_chain, client, limiter, a, b) for a, b in zip(bounds, ends, strict=False)
        ]
        return alarms_f.result(), [i for c in chains for i in c.result()]


def collect(args: dict[str, Any]) -> dict[str, Any]:
    since, until = (
        datetime.fromisoformat(args[k].replace("Z", "+00:00")) for k in ("since", "until")
    )
    limiter = Limiter(CW_PER_SECOND)
    regions = args["regions"]
    with (
        ThreadPoolExecutor(len(regions) + 1) as planners,
        ThreadPoolExecutor(PD_CONNECTIONS) as pd_pool,
    ):
        read_f = [
            planners.submit(cloudwatch, r, args["cw_url"], since, until, limiter) for r in regions
        ]
        pd = PagerDuty(args["token"], args["pd_url"], args["ca_path"], pd_pool)
        # Both listings' probes go out at once; each listing then fans out over the pool.
        incidents_f = planners.submit(
            pd.listing, "incidents", "incidents", {"time_zone": "UTC"}, since, until
        )
        entries = pd.listing(
            "log_entries", "log_entries", {"time_zone": "UTC", "is_overview": "false"}, since, until
        )
        incidents = incidents_f.result()
        read = [r.result() for r in read_f]
    with open(args["deploys"], encoding="utf-8") as f:
        deploys = [json.loads(line) for line in f if line.strip()]
    rows = [(e["created_at"], "pagerduty", e["id"]) for e in entries]
    rows += [(iso(i["Timestamp"]), "cloudwatch", i["AlarmName"]) for _, h in read for i in h]
    rows += [(d["timestamp"], "deploys", d["id"]) for d in deploys]
    rows.sort()
    return {
        "records": {
            "incidents": len(incidents),
            "pagerduty": len(entries),
            "alarms": sum(len(a) for a, _ in read),
            "cloudwatch": sum(len(h) for _, h in read),
            "deploys": len(deploys),
        },
        "rows": len(rows),
    }


if __name__ == "__main__":
    result = collect(json.loads(sys.argv[1]))
    result["inside_s"] = time.perf_counter() - START
    print(json.dumps(result))
