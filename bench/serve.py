"""The sandbox in processes of its own: moto and the delaying proxy; the PagerDuty stand-in.

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
from driver import Served, hermetic_aws
from proxy import DelayProxy
from scenario import Size

from pmdraft.sandbox.aws import MotoSandbox
from pmdraft.sandbox.pagerduty import PagerDutyStandIn

TOKEN = "pmdraft-bench-token"


def pagerduty() -> None:
    """``serve.py pagerduty``: the PagerDuty stand-in alone, driven like :func:`main`."""
    pd: PagerDutyStandIn | None = None
    print(json.dumps({}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        reply: dict[str, Any] = {}
        if op == "seed":
            if pd is not None:
                pd.stop()
            pd = PagerDutyStandIn(TOKEN, account_time_zone="UTC")
            pd.start()
            scenario.seed_pagerduty(pd, Size(**command["size"]))
            reply = {"pd": pd.base_url, "ca": pd.ca_path}
        elif op == "latency":
            assert pd is not None
            pd.latency = float(command["seconds"])
        elif op == "reset":
            assert pd is not None
            pd.reset_requests()
        elif op == "requests":
            assert pd is not None
            paths = Counter(r.path for r in pd.requests)
            reply = {"pagerduty": sum(paths.values()), "pagerduty_paths": dict(paths)}
        elif op == "stop":
            break
        print(json.dumps(reply), flush=True)
    if pd is not None:
        pd.stop()


def main() -> None:
    """moto and the delaying proxy here; the PagerDuty stand-in in a process of its own, so
    that neither stand-in waits for the other's interpreter lock (a real API's servers do not
    share one), and what the clients are measured on is their round trips."""
    hermetic_aws()
    pd = Served([sys.executable, __file__, "pagerduty"], "bench/serve.py pagerduty")
    try:
        with MotoSandbox() as moto, DelayProxy(moto.endpoint_url, 0.0) as proxy:
            reply: dict[str, Any] = {"moto": moto.endpoint_url, "proxy": proxy.url, "token": TOKEN}
            print(json.dumps(reply), flush=True)
            for line in sys.stdin:
                command = json.loads(line)
                op = command["op"]
                if op == "stop":
                    break
                start = time.perf_counter()
                if op == "seed":
                    scenario.reset_moto(moto)
                    scenario.seed_cloudwatch(moto, Size(**command["size"]))
                reply = pd.ask(op, **{k: v for k, v in command.items() if k != "op"})
                if op == "seed":
                    reply["seed_s"] = time.perf_counter() - start
                elif op == "latency":
                    proxy.delay = float(command["seconds"])
                elif op == "reset":
                    proxy.requests = 0
                    proxy.operations.clear()
                elif op == "requests":
                    reply["cloudwatch"] = proxy.requests
                    reply["cloudwatch_operations"] = dict(proxy.operations)
                print(json.dumps(reply), flush=True)
    finally:
        pd.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["pagerduty"]:
        pagerduty()
    else:
        main()
