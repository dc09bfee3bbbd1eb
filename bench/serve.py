"""The sandbox in its own process: moto, the PagerDuty stand-in and the delaying proxy.

``bench/api.py`` starts this and drives it with one JSON command per line on stdin, each answered
by one JSON line on stdout. Serving from another process keeps the stand-ins' work off the
measured client's interpreter (and its GIL), as a real API's would be.

Commands: ``{"op": "seed", "size": {...}}`` (fresh PagerDuty stand-in, moto reset, both seeded),
``{"op": "latency", "seconds": 0.05}``, ``{"op": "reset"}`` (forget request counts),
``{"op": "requests"}``, ``{"op": "stop"}``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenario
from driver import hermetic_aws
from proxy import DelayProxy
from scenario import Size

from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn

TOKEN = "pmdraft-bench-token"


def main() -> None:
    hermetic_aws()
    pd: PagerDutyStandIn | None = None
    with MotoSandbox() as moto, DelayProxy(moto.endpoint_url, 0.0) as proxy:
        reply: dict[str, Any] = {"moto": moto.endpoint_url, "proxy": proxy.url, "token": TOKEN}
        print(json.dumps(reply), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            op = command["op"]
            if op == "seed":
                start = time.perf_counter()
                if pd is not None:
                    pd.stop()
                size = Size(**command["size"])
                scenario.reset_moto(moto)
                scenario.seed_cloudwatch(moto, size)
                pd = PagerDutyStandIn(TOKEN, account_time_zone="UTC")
                pd.start()
                scenario.seed_pagerduty(pd, size)
                reply = {"pd": pd.base_url, "ca": pd.ca_path, "seed_s": time.perf_counter() - start}
            elif op == "latency":
                assert pd is not None
                pd.latency = proxy.delay = float(command["seconds"])
                reply = {}
            elif op == "reset":
                assert pd is not None
                pd.reset_requests()
                proxy.requests = 0
                proxy.operations.clear()
                reply = {}
            elif op == "requests":
                assert pd is not None
                paths = Counter(r.path for r in pd.requests)
                reply = {
                    "pagerduty": sum(paths.values()),
                    "pagerduty_paths": dict(paths),
                    "cloudwatch": proxy.requests,
                    "cloudwatch_operations": dict(proxy.operations),
                }
            elif op == "stop":
                break
            print(json.dumps(reply), flush=True)
    if pd is not None:
        pd.stop()


if __name__ == "__main__":
    main()
