"""CloudWatch alarm history: every state transition of every alarm in the window.

For each (account, region) pair, read concurrently over a bounded pool: one paginated
``DescribeAlarms`` (metric and composite alarms), then the ``DescribeAlarmHistory`` stream
(``StateUpdate``, ``MaxRecords=100``) of every alarm at once, never one call per alarm; a long
window's stream is read as a few disjoint time slices side by side, sharing the account's rate
limiter (:mod:`.slices`). ``ListTagsForResource`` is called per alarm only when ``alarm_tags``
or ``keep_tags`` is set; ``GetMetricData`` only for the graphs, beside the history, and for the
metric lookback (:mod:`.graphs`). With ``archive_log_group``, archived EventBridge state changes
are merged in (:mod:`.archive`). Each history item becomes one event (:mod:`.alarms`); one that
cannot is skipped and named in ``detail``, and so is what was dropped for lying outside the
window. Sessions, roles, clients and error translation are :mod:`.._aws`'s.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ...errors import CollectorError
from ...model import Event, MetricSeries, SourceExtras, Window, iso_z
from .._aws import Advice, Page, RateLimiter, Target, guard_answers, paged, translated, where
from ..base import RequestCounter
from .alarms import ALARM_TYPES, AlarmInfo, BadItem, alarm_event, alarms_of, label, summary
from .archive import merged
from .graphs import MetricReads
from .history import ADVICE, PAGE_SIZE, HistoryReads
from .lookback import Gate
from .shared import SharedHistory
from .slices import HISTORY_SLICES, time_slices

SHOWN_BAD_ITEMS = 5
"""At most this many skipped history items are named in ``detail``; the rest are counted."""

ACCOUNT_ADVICE = Advice(
    refused="Check role_arn (its trust policy must allow the caller's sts:AssumeRole) or the "
    "profile in [[cloudwatch.accounts]].",
    other="Check the profile, role_arn and endpoint_url.",
)
"""Next steps when an account's client cannot be made (its role not assumed)."""


def _targets(clients: Mapping[str, Any] | Mapping[Target, Any] | None) -> dict[Target, Any]:
    """``clients`` keyed by (account, region), a bare region meaning boto3's own credentials."""
    return {(k if isinstance(k, tuple) else ("", k)): v for k, v in (clients or {}).items()}


class _Premade:
    """Events made from the history pages as they come in, once DescribeAlarms has answered
    (the pages before are held until then): when a pair's history ends, only its last pages'
    items are still to be made. Each item's event is kept by the item's ``id`` (the chains keep
    the items); an item that cannot be made here is made again at the end, where its error is
    said as it always is."""

    def __init__(self) -> None:
        self._made: dict[int, Event] = {}
        self._make: Callable[[dict[str, Any]], Event] | None = None
        self._held: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()

    def page(self, items: list[dict[str, Any]]) -> None:
        """A history page: its items' events made now (or once DescribeAlarms has answered)."""
        with self._lock:
            make = self._make
            if make is None:
                self._held.append(items)
                return
        self._fill(make, items)

    def open(self, make: Callable[[dict[str, Any]], Event]) -> None:
        """DescribeAlarms has answered: ``make`` makes an item's event; the held pages' now."""
        with self._lock:
            self._make, held, self._held = make, self._held, []
        for items in held:
            self._fill(make, items)

    def _fill(self, make: Callable[[dict[str, Any]], Event], items: list[dict[str, Any]]) -> None:
        for item in items:
            try:
                self._made[id(item)] = make(item)
            except Exception:  # made (and its error said) at the end instead
                continue

    def get(self, item: dict[str, Any]) -> Event | None:
        """``item``'s event if it was made ahead."""
        return self._made.get(id(item))


class CloudWatchCollector(HistoryReads, MetricReads):
    """Alarm transitions from CloudWatch, one boto3 client per (account, region).

    ``clients`` maps a region, or an ``(account, region)`` pair, to a boto3 CloudWatch client or
    to a function that makes one when the pair is read (where a role is assumed).
    """

    name = "cloudwatch"

    runs_apart = True
    """May run in a forked child (:mod:`pmdraft.apart`): its CPU (botocore's parsing) then uses
    another CPU than the rest of the run's."""

    def __init__(
        self,
        clients: Mapping[str, Any] | Mapping[Target, Any],
        alarm_prefixes: Sequence[str] = (),
        *,
        alarm_tags: Mapping[str, str] | None = None,
        max_workers: int = 8,
        history_requests_per_second: float = 20.0,
        history_slices: int = HISTORY_SLICES,
        retention: timedelta | None = None,
        graph_margin: timedelta | None = None,
        metric_lookback: timedelta | None = None,
        keep_tags: bool = False,
        archive_log_group: str = "",
        archive_clients: Mapping[str, Any] | Mapping[Target, Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        shared: SharedHistory | None = None,
    ) -> None:
        self.targets: dict[Target, Any] = _targets(clients)
        """Each (account, region) pair's client, or the function that makes it."""
        self.alarm_prefixes = tuple(alarm_prefixes)
        self.alarm_tags = dict(alarm_tags or {})
        self.max_workers = max_workers
        self.history_slices = history_slices
        """At most this many time slices of a long window's history are read side by side."""
        self.retention = retention
        """Alarm history CloudWatch keeps; a window starting earlier is a gap. None: no check."""
        self.graph_margin = graph_margin
        """The graphs' metric data covers the window widened by this; None: no metric data."""
        self.metric_lookback = metric_lookback
        """How far before a breach start the graphs' metric query also reads; None: off."""
        self.keep_tags = keep_tags
        """Put each alarm's tags in its events' ``tags`` (one ListTagsForResource per alarm)."""
        self.archive_log_group = archive_log_group
        """A CloudWatch Logs group of archived EventBridge alarm state changes; empty: none."""
        self._archives: dict[Target, Any] = _targets(archive_clients)
        self.shared = shared
        """A batch run's reads (alarms per pair, history per merged span); None: read alone."""
        self._now = now
        self._counter = RequestCounter()
        # DescribeAlarmHistory's rate limit is per account, shared by its regions.
        self._limiters = {
            account: RateLimiter(history_requests_per_second) for account, _ in self.targets
        }
        self._made: list[Any] = []
        self._lock = threading.Lock()
        self._series: list[MetricSeries] = []
        self.detail: str | None = None
        self._notes: list[str] = []
        self._bad: list[str] = []
        self._outside = 0
        for (account, _), client in self.targets.items():
            if hasattr(client, "meta"):
                self._instrument(account, client)
        for client in self._archives.values():
            if hasattr(client, "meta"):
                client.meta.events.register("before-send", self._counter.add)
                guard_answers(client)

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self._counter.value

    def extras(self) -> SourceExtras:
        """Each alarmed metric's datapoints over the graph window, for the graphs."""
        with self._lock:
            return SourceExtras(series=tuple(self._series))

    def _instrument(self, account: str, client: Any) -> None:
        limiter = self._limiters[account]
        guard_answers(client)
        client.meta.events.register("before-send.cloudwatch", self._counter.add)
        client.meta.events.register(
            "before-send.cloudwatch.DescribeAlarmHistory", lambda **_: limiter.wait()
        )

    def close(self) -> None:
        """Close every client."""
        for client in [*self.targets.values(), *self._archives.values(), *self._made]:
            if hasattr(client, "close"):
                client.close()

    def _wanted(self, name: str) -> bool:
        return not self.alarm_prefixes or name.startswith(self.alarm_prefixes)

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield every pair's transitions in ``window``; a pair that fails is named in one error."""
        gaps: list[str] = []
        workers = max(1, min(self.max_workers, len(self.targets)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cloudwatch") as pool:
            futures = [
                pool.submit(self._collect_pair, target, source, window)
                for target, source in self.targets.items()
            ]
            # Each pair's events as soon as the pair is read (the pairs' events are told apart
            # by their refs, so their order among pairs changes no draft): run apart, the first
            # pairs' events reach the parent while the last pair is still read (pmdraft.apart).
            errors: dict[int, str] = {}
            for future in as_completed(futures):
                try:
                    events = future.result()
                except CollectorError as exc:
                    errors[futures.index(future)] = exc.message
                    continue
                yield from events
            gaps += [errors[i] for i in sorted(errors)]
        gaps.extend(self._retention_gap(window))
        self.detail = self._detail()
        if gaps:
            raise CollectorError(self.name, "; ".join(gaps))

    def _detail(self) -> str | None:
        return summary(self._notes, self._bad, self._outside, SHOWN_BAD_ITEMS)

    def _note(self, text: str, *, bad: bool = False) -> None:
        with self._lock:
            (self._bad if bad else self._notes).append(text)

    def _retention_gap(self, window: Window) -> list[str]:
        """A gap (or, with the archive, a note) when the window starts before history is kept."""
        # CloudWatch keeps alarm history for a limited time and says nothing when asked for
        # older transitions: an empty answer there is not "nothing happened".
        if self.retention is None or window.since >= self._now() - self.retention:
            return []
        days = self.retention / timedelta(days=1)
        if self.archive_log_group:
            self._notes.append(
                f"the window starts {iso_z(window.since)}, more than {days:g} days ago, older than "
                "CloudWatch's alarm history: transitions were read from the archive log group "
                f"{self.archive_log_group}"
            )
            return []
        return [
            f"the window starts {iso_z(window.since)}, more than {days:g} days ago, and CloudWatch "
            f"keeps alarm history for about {days:g} days: transitions older than that are gone, "
            "so the timeline may lack them. Set milestones by hand (--impact-start, "
            "--mitigated-at), set archive_log_group, or raise history_retention_days in "
            "[cloudwatch] if your history is kept longer"
        ]

    def client(self, target: Target) -> Any:
        """The boto3 client of one (account, region) pair, made (role assumed) on first use."""
        source = self.targets[target]
        if hasattr(source, "meta"):
            return source
        client = self._make(target, source)
        self.targets[target] = client
        return client

    def _make(self, target: Target, source: Callable[[], Any]) -> Any:
        operation = f"reaching account {target[0] or 'default'} for {target[1]}"
        with translated(self.name, operation, "", ACCOUNT_ADVICE):
            client = source()
        with self._lock:
            self._made.append(client)
        self._instrument(target[0], client)
        return client

    def _paged(self, target: Target, what: str, fetch: Any, **params: Any) -> Iterator[Page]:
        """``fetch``'s pages by NextToken; a paging loop ends them with a note naming the pair."""
        notes: list[str] = []
        try:
            yield from paged(fetch, params, what=f"{what} in {where(target)}", notes=notes)
        finally:
            for note in notes:
                self._note(note)

    def _call(
        self,
        target: Target,
        client: Any,
        what: str,
        pages: Iterator[Page],
        advice: Advice = ADVICE,
    ) -> Iterator[Page]:
        """``pages``; a failed call raises a ``CollectorError`` naming ``what`` and the pair."""
        with translated(self.name, what, where(target), advice, client):
            yield from pages

    def _collect_pair(self, target: Target, source: Any, window: Window) -> list[Event]:
        client = source if hasattr(source, "meta") else self._make(target, source)
        slices = time_slices(window, self.history_slices)
        with ThreadPoolExecutor(
            max_workers=len(slices) + 2, thread_name_prefix="cloudwatch-pair"
        ) as pool:
            # DescribeAlarms goes beside the history chains (they need no alarm until the
            # events are made); the graphs' GetMetricData starts once it has answered, and the
            # metric lookback's goes page by page as the history comes in (.lookback).
            listing = pool.submit(self._alarms, target, client)
            gate = Gate(self._lookback_stream(target, client))
            premade = _Premade()
            read = partial(self._slice, target, client)
            chains = [
                pool.submit(read, s, u, partial(_history_page, gate, premade, s)) for s, u in slices
            ]
            for (s, _), chain in zip(slices, chains, strict=True):
                chain.add_done_callback(partial(_chain_ended, gate, s))
            try:
                alarms = listing.result()
                graphs = self._start_graphs(pool, target, client, window, alarms)
            except BaseException as exc:
                gate.stop(exc)
                raise
            premade.open(partial(_alarm_event, self.name, target, alarms))
            wanted = {n: a for n, a in alarms.items() if self._wanted(n)}
            stream = gate.open(wanted, serves_lookback=graphs is not None and graphs.lookback)
            try:
                items, tags = self._history(target, client, window, alarms, chains)
                events = self._events(target, window, alarms, items, tags, premade)
                if graphs is not None:
                    return self._graphed(target, client, alarms, events, graphs, stream)
                if self.metric_lookback is not None:
                    return self._looked_back(target, client, alarms, events, stream)
                return events
            finally:
                if stream is not None:
                    stream.close()

    def _events(
        self,
        target: Target,
        window: Window,
        alarms: Mapping[str, AlarmInfo],
        items: list[dict[str, Any]],
        tags: Mapping[str, Mapping[str, str]],
        premade: _Premade | None = None,
    ) -> list[Event]:
        """One event per history item in ``window`` (made ahead where ``premade`` has it); the
        unreadable and the outside are counted."""
        events, outside = [], 0
        for item in items:
            name = item["AlarmName"]
            try:
                event = (premade.get(item) if premade else None) or alarm_event(
                    self.name, target, item, alarms.get(name)
                )
                if self.keep_tags:
                    shown = ", ".join(f"{k}={v}" for k, v in sorted(tags.get(name, {}).items()))
                    event = dataclasses.replace(event, attrs={**event.attrs, "tags": shown})
            except (BadItem, TypeError) as exc:
                text = str(exc) if isinstance(exc, BadItem) else f"{label(item)}: {exc}"
                self._note(f"{where(target)}: {text}", bad=True)
                continue
            if event.at in window:
                events.append(event)
            else:
                outside += 1
        with self._lock:
            self._outside += outside
        return events

    def _alarms(self, target: Target, client: Any) -> dict[str, AlarmInfo]:
        if self.shared is not None:
            alarms: dict[str, AlarmInfo] = self.shared.alarms(
                target, partial(self._read_alarms, target, client)
            )
            return alarms
        return self._read_alarms(target, client)

    def _read_alarms(self, target: Target, client: Any) -> dict[str, AlarmInfo]:
        pages = self._paged(
            target,
            "DescribeAlarms",
            client.describe_alarms,
            AlarmTypes=ALARM_TYPES,
            MaxRecords=PAGE_SIZE,
        )
        alarms: dict[str, AlarmInfo] = {}
        for page in self._call(target, client, "DescribeAlarms", pages):
            alarms.update(alarms_of(page))
        return alarms

    def _history(
        self,
        target: Target,
        client: Any,
        window: Window,
        alarms: Mapping[str, AlarmInfo],
        chains: Sequence[Future[list[dict[str, Any]]]],
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
        """The wanted ``StateUpdate`` items (the ``chains``' history, then the archive) and their
        alarms' tags."""
        # One chain per time slice for every alarm of the pair, never a call per alarm; each
        # follows its NextToken, and each request waits for the account's rate limiter.
        items = self._readable(target, (item for chain in chains for item in chain.result()))
        if self.archive_log_group:
            items = merged(items, self._archived(target, window), self._wanted)
        tags: dict[str, dict[str, str]] = {}
        if self.alarm_tags or self.keep_tags:
            tags = self._tags(target, client, {i["AlarmName"] for i in items}, alarms)
        if self.alarm_tags:
            items = [
                i
                for i in items
                if all(tags.get(i["AlarmName"], {}).get(k) == v for k, v in self.alarm_tags.items())
            ]
        return items, tags


def _alarm_event(
    source: str, target: Target, alarms: Mapping[str, AlarmInfo], item: dict[str, Any]
) -> Event:
    return alarm_event(source, target, item, alarms.get(item["AlarmName"]))


def _history_page(gate: Gate, premade: _Premade, chain: Any, items: list[dict[str, Any]]) -> None:
    """A history page of ``chain`` has come in: to the lookback's gate, and made into events."""
    gate.page(chain, items)
    premade.page(items)


def _chain_ended(gate: Gate, chain: Any, done: Future[Any]) -> None:
    """A history chain's future is done: if it read to its end, its lookback call goes now."""
    if not done.cancelled() and done.exception() is None:
        gate.ended(chain)
