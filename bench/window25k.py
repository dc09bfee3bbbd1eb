"""PagerDuty past its 10,000-record cap: a window holding 25,000 log entries, read by the collector.

Prints one JSON line: records read, distinct ids, requests made, the lower bound
ceil(records / 100) + ceil(incidents / 100), and what the collector said of the split.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from pmdraft.model import Window
from pmdraft.sandbox.pagerduty import PagerDutyStandIn, incident, log_entry
from pmdraft.sources.base import RequestCounter
from pmdraft.sources.pagerduty.client import build_client
from pmdraft.sources.pagerduty.collector import PagerDutyCollector

TOKEN = "bench-window-25k"
DAY = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC))
INCIDENTS = 50
ENTRIES = 25_000


def main() -> None:
    per = ENTRIES // INCIDENTS
    with PagerDutyStandIn(TOKEN) as pd:
        incidents, entries = [], []
        for i in range(INCIDENTS):
            created = DAY.since + timedelta(minutes=20 * i)
            inc = incident(
                id=f"QW{i:04d}",
                number=7000 + i,
                title=f"Incident {i}",
                created_at=created,
                service_id="PSVC01",
                service_name="api",
                resolved_at=created + timedelta(minutes=15),
            )
            incidents.append(inc)
            entries += [
                log_entry(
                    id=f"RW{i:04d}{k:04d}",
                    type="notify_log_entry",
                    created_at=created + timedelta(seconds=k * 900 // per),
                    incident=inc,
                    user=("PUSER01", "Jane Doe"),
                    channel={"type": "sms"},
                )
                for k in range(per)
            ]
        pd.add_incidents(incidents)
        pd.add_log_entries(entries)
        counter = RequestCounter()
        client = build_client(TOKEN, pd.base_url, counter, ca_bundle=pd.ca_path)
        collector = PagerDutyCollector(client, counter)
        try:
            events = list(collector.collect(DAY))
        finally:
            collector.close()
        ids = {e.attrs.get("log_entry_id") for e in events}
        bound = math.ceil(ENTRIES / 100) + math.ceil(INCIDENTS / 100)
        print(
            json.dumps(
                {
                    "records": len(events),
                    "distinct": len(ids),
                    "expected": ENTRIES,
                    "requests": collector.requests,
                    "lower_bound": bound,
                    "detail": getattr(collector, "detail", None),
                }
            )
        )


if __name__ == "__main__":
    main()
