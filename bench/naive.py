"""The baseline: reading the same records the way the libraries' documentation shows.

List the incidents, then each incident's log entries (``GET /incidents/{id}/log_entries``
through ``iter_all``); list the alarms, then each alarm's history (``DescribeAlarmHistory``
with ``AlarmName``) through boto3's paginators; then the deploy log. One source after another,
one request at a time. It returns raw records (no timeline, no draft), which only flatters it.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmdraft.model import Window, iso_z


@dataclass
class NaiveResult:
    """What the baseline read, and how many requests each source took."""

    records: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)


def pagerduty_records(
    token: str, base_url: str, ca_path: str, window: Window, mark: Callable[[], None] = lambda: None
) -> list[dict[str, Any]]:
    """Every incident's log entries; ``mark()`` is called between the incidents and the entries."""
    import pagerduty

    client = pagerduty.RestApiV2Client(
        token, base_url=base_url, verify=ssl.create_default_context(cafile=ca_path)
    )
    try:
        params = {"since": iso_z(window.since), "until": iso_z(window.until), "time_zone": "UTC"}
        incidents = client.list_all("incidents", params=params)
        mark()
        entries: list[dict[str, Any]] = []
        for inc in incidents:
            entries.extend(
                client.iter_all(
                    f"incidents/{inc['id']}/log_entries",
                    params={"time_zone": "UTC", "is_overview": "false"},
                )
            )
        return entries
    finally:
        client.close()


def cloudwatch_records(
    endpoint_url: str, regions: list[str], window: Window, counter: list[int]
) -> list[dict[str, Any]]:
    import boto3

    items: list[dict[str, Any]] = []
    for region in regions:
        client = boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url)
        client.meta.events.register(
            "before-send.cloudwatch", lambda **_: counter.__setitem__(0, counter[0] + 1)
        )
        try:
            alarms = [
                a
                for page in client.get_paginator("describe_alarms").paginate()
                for a in page["MetricAlarms"]
            ]
            for alarm in alarms:
                pages = client.get_paginator("describe_alarm_history").paginate(
                    AlarmName=alarm["AlarmName"],
                    HistoryItemType="StateUpdate",
                    StartDate=window.since,
                    EndDate=window.until,
                )
                for page in pages:
                    items.extend(page["AlarmHistoryItems"])
        finally:
            client.close()
    return items


def collect(
    *,
    token: str,
    pd_url: str,
    ca_path: str,
    cw_url: str,
    regions: list[str],
    window: Window,
    deploys: Path,
    pd_requests: Any = lambda: 0,
) -> NaiveResult:
    """Read everything; ``pd_requests()`` tells how many requests the PagerDuty server has seen."""
    result = NaiveResult()
    before = pd_requests()
    marks: list[int] = [0]
    result.records["pagerduty"] = len(
        pagerduty_records(token, pd_url, ca_path, window, lambda: marks.append(pd_requests()))
    )
    result.requests["pagerduty"] = pd_requests() - before
    result.requests["pagerduty_incidents"] = marks[-1] - before
    counter = [0]
    result.records["cloudwatch"] = len(cloudwatch_records(cw_url, regions, window, counter))
    result.requests["cloudwatch"] = counter[0]
    result.records["deploys"] = sum(
        1 for line in deploys.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    result.requests["deploys"] = 0
    return result


if __name__ == "__main__":
    # In a fresh interpreter, as bench/api.py's side-by-side runs it: the arguments as one JSON
    # object (the keys of ``collect``, the window as since/until), the request counts the
    # sandbox's to tell.
    start = time.perf_counter()
    args = json.loads(sys.argv[1])
    since, until = args.pop("since"), args.pop("until")
    from pmdraft.model import parse_time

    got = collect(
        **{k: v for k, v in args.items() if k != "deploys"},
        window=Window(parse_time(since), parse_time(until)),
        deploys=Path(args["deploys"]),
    )
    print(json.dumps({"records": got.records, "inside_s": time.perf_counter() - start}))
