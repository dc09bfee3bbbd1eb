"""Reading a PagerDuty listing completely: classic offset pagination under the 10,000-record cap.

A listing's first page asks for ``total``. PagerDuty refuses ``offset + limit`` above 10,000, so a
window holding more is cut into time slices (recursively, until each slice fits); the remaining
pages of every slice, whose offsets are then known, are fetched concurrently over at most
``max_connections`` threads. Records are deduplicated by id, and a slice that changed while it
was read (new records shift the newest-first offsets) is read again, a bounded number of times.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ...errors import CollectorError
from ...model import Window, iso_z

PAGE_SIZE = 100
"""Records per page: the most PagerDuty's classic pagination gives."""

OFFSET_CAP = 10_000
"""PagerDuty refuses offset + limit above this (HTTP 400)."""

SLICE_TARGET = 9_000
"""Records aimed at per slice when a listing is split: under the cap by a margin, so records
spread unevenly over the window rarely need a second split."""

MAX_REREADS = 3
"""Times a slice that grew while it was read is read again before the source gives up."""

Get = Callable[[str, Mapping[str, Any]], dict[str, Any]]
"""``GET path?params`` answering the decoded JSON object (errors already translated)."""

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class _Slice:
    """A time slice of a listing that fits under the cap, with its first page."""

    window: Window
    total: int
    first: list[dict[str, Any]]


def pooled_map(
    fn: Callable[[_T], _R], items: Iterable[_T], workers: int, name: str
) -> Iterator[_R]:
    """``fn`` over ``items`` on at most ``workers`` threads; results in order.

    The calls all start with the first result asked for; on an error the pending ones are
    cancelled and the running ones awaited.
    """
    todo = list(items)
    if len(todo) <= 1 or workers == 1:
        return map(fn, todo)
    return _pooled(fn, todo, workers, name)


def _pooled(fn: Callable[[_T], _R], todo: list[_T], workers: int, name: str) -> Iterator[_R]:
    pool = ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix=name)
    try:
        futures: list[Future[_R]] = [pool.submit(fn, item) for item in todo]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class OffsetPager:
    """Every record of a PagerDuty listing in a window, each once, read with ``get``.

    What the reading had to do beyond plain paging (splits, re-reads) is appended to ``remarks``.
    """

    def __init__(self, get: Get, *, source: str = "pagerduty", max_connections: int = 8) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.get = get
        self.source = source
        """The source named in errors."""
        self.max_connections = max_connections
        """Pages fetched at once (threads, and so connections), once their offsets are known."""
        self.remarks: list[str] = []
        """Splits and re-reads so far, as the source's report says them."""

    def records(
        self, path: str, key: str, params: Mapping[str, Any], window: Window
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``GET path`` (its ``key`` list) created in ``window``, each once."""
        seen: set[str] = set()
        todo = [window]
        for round_ in range(MAX_REREADS + 1):
            slices = self._plan(path, key, params, todo)
            if round_ == 0 and len(slices) > 1:
                self.remarks.append(
                    f"GET {path} held {sum(s.total for s in slices):,} records, more than "
                    f"PagerDuty's {OFFSET_CAP:,}-record pagination cap, so its window was split "
                    f"into {len(slices)} time slices"
                )
            todo = []
            for s, items, changed in self._read(path, key, params, slices):
                for item in items:
                    ident = item.get("id")
                    if isinstance(ident, str):
                        if ident in seen:
                            continue
                        seen.add(ident)
                    yield item
                if changed:
                    todo.append(s.window)
            if not todo:
                return
            if round_ == 0:
                self.remarks.append(
                    f"GET {path} changed while it was read (its total moved, or its pages repeated "
                    "or skipped records), so it was read again"
                )
        raise CollectorError(
            self.source,
            f"GET {path} kept changing while it was read (its total moved, or its pages repeated "
            f"or skipped records) even after {MAX_REREADS} re-reads; try again, or end the window "
            "(--until) before the records still being written",
        )

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[_R]:
        return pooled_map(fn, items, self.max_connections, self.source)

    def _page(
        self, path: str, key: str, params: Mapping[str, Any], window: Window, offset: int
    ) -> tuple[list[dict[str, Any]], int | None, bool]:
        """One page of ``window``: its records, the listing's ``total`` then, and ``more``."""
        body = self.get(
            path,
            {
                **params,
                "since": iso_z(window.since),
                "until": iso_z(window.until),
                "limit": PAGE_SIZE,
                "offset": offset,
                "total": "true",
            },
        )
        items = body.get(key)
        if not isinstance(items, list):
            raise CollectorError(self.source, f"GET {path} answered without a {key!r} list")
        total = body.get("total")
        known = total if isinstance(total, int) and not isinstance(total, bool) else None
        return [i for i in items if isinstance(i, dict)], known, bool(body.get("more"))

    def _split(self, path: str, window: Window, total: int) -> list[Window]:
        """``window`` cut at whole seconds into enough slices to hold ``total`` under the cap.

        PagerDuty's ``since``/``until`` have second precision, so cuts are whole seconds; a
        window of one second that still holds more than the cap cannot be read completely.
        """
        n = max(2, math.ceil(total / SLICE_TARGET))
        span = window.until - window.since
        cuts = sorted({(window.since + span * k / n).replace(microsecond=0) for k in range(1, n)})
        cuts = [c for c in cuts if window.since < c < window.until]
        if not cuts:
            raise CollectorError(
                self.source,
                f"GET {path} holds {total:,} records created between {iso_z(window.since)} and "
                f"{iso_z(window.until)}, more than PagerDuty's {OFFSET_CAP:,}-record pagination "
                "cap within one second, so they cannot all be read",
            )
        edges = [window.since, *cuts, window.until]
        return [Window(a, b) for a, b in itertools.pairwise(edges)]

    def _plan(
        self, path: str, key: str, params: Mapping[str, Any], windows: list[Window]
    ) -> list[_Slice]:
        """Probe ``windows`` (first page, ``total``), splitting any over the cap; newest first."""
        leaves: list[_Slice] = []
        while windows:
            probes = self._map(lambda w: (w, self._page(path, key, params, w, 0)), windows)
            windows = []
            for window, (items, total, more) in probes:
                if total is None:
                    if more:
                        raise CollectorError(
                            self.source,
                            f"GET {path} did not report a total with total=true, so it cannot "
                            "be read completely past its first page",
                        )
                    total = len(items)
                if total <= OFFSET_CAP:
                    leaves.append(_Slice(window, total, items))
                else:
                    windows.extend(self._split(path, window, total))
        leaves.sort(key=lambda s: s.window.since, reverse=True)
        return leaves

    def _read(
        self, path: str, key: str, params: Mapping[str, Any], slices: list[_Slice]
    ) -> Iterator[tuple[_Slice, list[dict[str, Any]], bool]]:
        """Each slice's records, with whether it changed while it was read.

        A slice changed if a page reports another ``total``, or if its pages hold fewer distinct
        records than ``total``: offsets that moved between pages repeat some records and skip
        others, even when the total stays the same.
        """
        jobs = [
            (s.window, offset) for s in slices for offset in range(PAGE_SIZE, s.total, PAGE_SIZE)
        ]
        pages = self._map(lambda job: self._page(path, key, params, *job), jobs)
        for s in slices:
            items, changed = list(s.first), False
            for _ in range(PAGE_SIZE, s.total, PAGE_SIZE):
                page, total, _more = next(pages)
                items.extend(page)
                changed = changed or (total is not None and total != s.total)
            ids = [i.get("id") for i in items]
            distinct = len({i for i in ids if isinstance(i, str)}) + sum(
                not isinstance(i, str) for i in ids
            )
            yield s, items, changed or distinct < s.total
