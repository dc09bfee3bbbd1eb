"""The metric lookback read while the alarm history is still coming in.

The history is the CloudWatch collector's critical path (a few NextToken chains held to the
DescribeAlarmHistory quota), and the lookback's GetMetricData calls have their own quota. So each
history page's breaches go into their slice's open call as the page arrives; a call is sent as
soon as the next breach does not join it (:func:`~.metrics.joined`: AWS's per-call limits, and
no call widened by more than it is worth), and a slice's last call as soon as its chain ends. By
the time the history is read, most of the lookback is too. Each call's span starts on the period
grid (:func:`~.metrics.floor`), so the breach starts found are the ones a single call over the
whole window would give.

A breach the stream did not see (an archived state change, a batch run's shared history) is
looked back afterwards, as before (:meth:`~.graphs.MetricReads._looked_back`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import ALARM_ALARM
from .alarms import KIND_BY_STATE, AlarmInfo, breach_start, history_data
from .metrics import LookbackCall, Points, earlier_breach, floor, graphable, joined

Breach = tuple[str, float]
"""An alarm's name and its evaluated breach start (epoch seconds): what a result is found by."""

ReadPoints = Callable[[list[AlarmInfo], datetime, datetime], "dict[str, Points] | None"]
"""Reads the alarms' datapoints from one time to another (None: the read failed, noted)."""


def breach_of(
    item: Mapping[str, Any], alarms: Mapping[str, AlarmInfo]
) -> tuple[Breach, AlarmInfo] | None:
    """The breach a history item starts, as :func:`~.alarms.alarm_event` dates it; None for any
    item that is not a readable transition to ALARM of a graphable alarm (the events are made,
    and the unreadable named, later)."""
    name, stamp = item.get("AlarmName"), item.get("Timestamp")
    alarm = alarms.get(name) if isinstance(name, str) else None
    if alarm is None or not isinstance(stamp, datetime) or not graphable([alarm]):
        return None
    try:
        data = history_data(item)
    except ValueError:
        return None
    new = data.get("newState")
    if not isinstance(new, dict) or KIND_BY_STATE.get(str(new.get("stateValue"))) != ALARM_ALARM:
        return None
    reason = new.get("stateReasonData")
    start, _ = breach_start(
        reason if isinstance(reason, dict) else {}, alarm, stamp.astimezone(UTC)
    )
    return (alarm.name, start.timestamp()), alarm


class LookbackStream:
    """One (account, region) pair's lookback, sent call by call as history pages arrive."""

    def __init__(
        self,
        lookback: timedelta,
        read: ReadPoints,
        workers: int,
        alarms: Mapping[str, AlarmInfo] | None = None,
    ) -> None:
        self._lookback, self._read = lookback, read
        self._alarms: Mapping[str, AlarmInfo] = alarms or {}
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="cloudwatch-lookback"
        )
        self._open: dict[Hashable, tuple[LookbackCall, list[Breach]]] = {}
        self._sent: list[tuple[list[Breach], Future[dict[str, Points] | None]]] = []
        self._lock = threading.RLock()
        """Guards the open and sent calls (taken again by :meth:`_send` inside the others)."""

    def given(self, alarms: Mapping[str, AlarmInfo]) -> None:
        """The pair's alarms (DescribeAlarms), before any page."""
        self._alarms = alarms

    def page(self, chain: Hashable, items: list[dict[str, Any]]) -> None:
        """A history page of ``chain`` (one time slice's NextToken chain) has arrived."""
        for item in items:
            found = breach_of(item, self._alarms)
            if found is not None:
                self._add(chain, *found)

    def _add(self, chain: Hashable, breach: Breach, alarm: AlarmInfo) -> None:
        start = datetime.fromtimestamp(breach[1], UTC)
        since, end = floor(start - self._lookback, [alarm]), start + timedelta(seconds=1)
        with self._lock:
            current = self._open.get(chain)
            if current is not None:
                call, breaches = current
                if joined(call, since, end, alarm):
                    breaches.append(breach)
                    return
                self._send(call, breaches)
            self._open[chain] = (LookbackCall(since, end, {alarm.name: alarm}, []), [breach])

    def ended(self, chain: Hashable) -> None:
        """``chain`` has read its last page: its open call goes now, not when every chain has."""
        with self._lock:  # popped and sent at once: results() sees it open or sent
            current = self._open.pop(chain, None)
            if current is not None:
                self._send(*current)

    def _send(self, call: LookbackCall, breaches: list[Breach]) -> None:
        call.since = floor(call.since, list(call.alarms.values()))
        usable = sorted(call.alarms.values(), key=lambda a: a.name)
        future = self._pool.submit(self._read, usable, call.since, call.end)
        with self._lock:
            self._sent.append((breaches, future))

    def results(self) -> tuple[dict[Breach, datetime | None], set[Breach]]:
        """Send the open calls and wait for every call: each breach's earlier start (None: its
        datapoints do not move it), and every breach seen (a failed call's too: its failure is
        a note already, and its breaches keep their evaluated start)."""
        found: dict[Breach, datetime | None] = {}
        seen: set[Breach] = set()
        for breaches, finds in self.finds():
            seen.update(breaches)
            found.update(finds)
        return found, seen

    def finds(self) -> Iterator[tuple[list[Breach], dict[Breach, datetime | None]]]:
        """Send the open calls; then, call by call as each answers (not in the order sent), the
        breaches it covered and the earlier start it found for each (None: not moved); a failed
        call's breaches with no finds. The caller can use one call's finds while the last calls
        are still out; the stream is closed once the last is given."""
        with self._lock:  # a chain's end (ended) may be sending its call at the same time
            for call, breaches in self._open.values():
                self._send(call, breaches)
            self._open.clear()
            sent = {future: breaches for breaches, future in self._sent}
        try:
            for future in as_completed(sent):
                breaches, points = sent[future], future.result()
                finds: dict[Breach, datetime | None] = {}
                if points is not None:
                    for name, start in breaches:
                        if name in points:
                            at = datetime.fromtimestamp(start, UTC)
                            finds[(name, start)] = earlier_breach(
                                *points[name], self._alarms[name], at, self._lookback
                            )
                yield breaches, finds
        finally:
            self.close()

    def close(self) -> None:
        """Stop: calls not yet started are dropped (a failed history read ends the pair)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class Gate:
    """What each history page goes through: held until DescribeAlarms has answered (the chains
    start beside it), then given to the lookback ``stream`` if it is to be read; a failed
    DescribeAlarms stops the chains at their next page."""

    def __init__(self, stream: LookbackStream | None) -> None:
        self._stream = stream
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._pending: list[tuple[Hashable, list[dict[str, Any]] | None]] = []
        """Pages held until DescribeAlarms answers (``None``: the chain ended there)."""
        self._lock = threading.Lock()

    def page(self, chain: Hashable, items: list[dict[str, Any]]) -> None:
        """A history page of ``chain``: held, streamed, or (after a failure) refused."""
        if self._error is not None:
            raise self._error
        if self._stream is None:
            return
        with self._lock:  # one page at a time, the held ones first: a chain's pages stay in order
            if not self._ready.is_set():
                self._pending.append((chain, items))
            elif self._stream is not None:
                self._stream.page(chain, items)

    def ended(self, chain: Hashable) -> None:
        """``chain`` has read its last page (held like a page until DescribeAlarms answers)."""
        if self._stream is None:
            return
        with self._lock:
            if not self._ready.is_set():
                self._pending.append((chain, None))
            elif self._stream is not None:
                self._stream.ended(chain)

    def open(
        self, alarms: Mapping[str, AlarmInfo], *, serves_lookback: object
    ) -> LookbackStream | None:
        """DescribeAlarms has answered: the stream, given ``alarms`` and the pages held so far;
        None when there is none, or the graphs' query serves the lookback (``serves_lookback``)."""
        stream = self._stream
        if stream is not None and serves_lookback:
            stream.close()
            stream = self._stream = None
        with self._lock:
            pending, self._pending = self._pending, []
            if stream is not None:
                stream.given(alarms)
                for chain, items in pending:
                    if items is None:
                        stream.ended(chain)
                    else:
                        stream.page(chain, items)
            self._ready.set()
        return stream

    def stop(self, error: BaseException) -> None:
        """DescribeAlarms failed: the chains stop at their next page, the stream's calls too."""
        self._error = error
        if self._stream is not None:
            self._stream.close()
