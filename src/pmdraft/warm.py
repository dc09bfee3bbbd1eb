"""Import what a run will need while its sources wait on the network, not before they start.

pandas, numpy and jinja2 take about half a second of CPU to import. A draft needs them only after
collection, which is mostly waiting on round trips; importing them in a background thread then
takes that half second off the wall time. The thread waits until a collector has sent its first
request, so that it does not hold the GIL while the sources make their clients.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Sequence
from typing import Any

THREAD_NAME = "pmdraft-warm-up"
"""The warm-up thread's name: the JSON draft's forked writer waits for it before it forks."""

WAIT_S = 0.5
"""The longest the imports wait for a first request before they start anyway."""


def warm_up(
    collectors: Sequence[Any], modules: Sequence[str], *, wait_s: float = WAIT_S
) -> threading.Thread:
    """Import ``modules`` in a daemon thread once a collector's ``requests`` count is above 0.

    An entry ``"module:function"`` also calls that function of the module, with no arguments,
    once imported (the built-in Markdown template is compiled so: about 40 ms less after
    collection). An import or a call that fails here is left alone: it fails again, with its
    traceback, where it is used.
    """

    def started() -> bool:
        return any(getattr(c, "requests", 0) for c in collectors)

    def run() -> None:
        deadline = time.monotonic() + wait_s
        while not started() and time.monotonic() < deadline:
            time.sleep(0.01)
        for entry in modules:
            name, _, function = entry.partition(":")
            try:
                module = importlib.import_module(name)
                if function:
                    getattr(module, function)()
            except Exception:  # the real import or call, where it is used, reports it
                return

    thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread
