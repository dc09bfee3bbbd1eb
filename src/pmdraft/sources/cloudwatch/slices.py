"""The alarm history's time slices: disjoint parts of the window, each its own NextToken chain.

A ``NextToken`` chain is sequential: one page, then the next. A long window's history (a busy
month: 25 pages a region) is then a chain of round trips that the 20 requests/s limit would
allow to go faster. Read as a few disjoint time slices, each its own chain, and all sharing the
account's rate limiter, the history is held to that limit rather than to one chain's latency.
Each slice may end on a part page, so slicing costs at most ``slices - 1`` requests more than
one chain; a short window (under :data:`MIN_SLICE` a slice) is one chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...model import Window

HISTORY_SLICES = 4
"""Time slices the alarm history of a long window is read as, each its own chain (default)."""

MIN_SLICE = timedelta(hours=6)
"""The shortest slice: a window under 12 hours is one chain, under 18 hours two, and so on."""

_GAP = timedelta(milliseconds=1)
"""DescribeAlarmHistory's EndDate is inclusive and its timestamps are in milliseconds."""


def time_slices(window: Window, most: int = HISTORY_SLICES) -> list[tuple[datetime, datetime]]:
    """``(StartDate, EndDate)`` of each slice, newest first; together they cover ``window``.

    At most ``most`` slices, each at least :data:`MIN_SLICE` long, on whole seconds; a slice
    ends 1 ms before the next begins, so no transition is read twice.
    """
    count = max(1, min(most, int(window.duration / MIN_SLICE)))
    seconds = int(window.duration.total_seconds())
    bounds = [window.since + timedelta(seconds=seconds * i // count) for i in range(count)]
    ends = [b - _GAP for b in bounds[1:]] + [window.until]
    return list(reversed(list(zip(bounds, ends, strict=True))))
