"""The one request limiter every source uses: :class:`RequestBudget`, a sliding window.

PagerDuty's budget is ``RequestBudget(limit=requests_per_minute)`` (the default ``period`` is a
minute). A steady rate of ``r`` requests a second is ``RequestBudget(limit=1, period=1 / r)``: one
request in any ``1 / r`` seconds, so consecutive requests start at least ``1 / r`` s apart (this
is how CloudTrail's ``requests_per_second`` is enforced).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RequestBudget:
    """At most ``limit`` requests in any ``period`` seconds, shared by every thread of a client.

    A sliding window, not a smooth rate: a run that stays under the limit never waits. Each
    request reserves, under the lock, the earliest instant that keeps every window within the
    limit, then sleeps until it outside the lock. ``clock`` and ``sleep`` are injectable so tests
    need not wait.
    """

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError(
                f"RequestBudget needs limit >= 1 and period > 0, got {limit} and {period}"
            )
        self.limit = limit
        """Requests allowed in any ``period`` seconds (at least 1)."""
        self.period = period
        """Length of the sliding window, in seconds (default 60: a per-minute budget)."""
        self.clock = clock
        """Monotonic seconds; ``time.monotonic`` unless a test passes a fake clock."""
        self.sleep = sleep
        """What a held request waits with; ``time.sleep`` unless a test passes a fake."""
        self.waited = 0.0
        """Seconds spent waiting for the budget so far, across all threads."""
        self._lock = threading.Lock()
        # Start instants granted within the last ``period``, oldest first (at most ``limit``
        # of them matter: the one ``limit`` places back decides when the next may start).
        self._granted: deque[float] = deque()

    def acquire(self) -> float:
        """Wait until one more request fits in the window; return the seconds waited."""
        with self._lock:
            now = self.clock()
            while self._granted and self._granted[0] + self.period <= now:
                self._granted.popleft()
            at = now
            if len(self._granted) >= self.limit:
                # The window holding this request and the ``limit`` before it must span at
                # least ``period``: start no earlier than ``period`` after the ``limit``-th last.
                at = max(now, self._granted[-self.limit] + self.period)
            self._granted.append(at)
            self.waited += at - now
        if at > now:
            self.sleep(at - now)
        return at - now
