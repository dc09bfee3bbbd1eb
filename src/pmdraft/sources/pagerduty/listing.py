"""Reading a PagerDuty listing completely: classic offset pagination under the 10,000-record cap.

A listing's first page asks for ``total``. When PagerDuty reports it, the remaining pages' offsets
are known: they are fetched concurrently over at most ``max_connections`` threads, and a window
holding more than the 10,000-record cap is first cut into time slices (recursively, until each
fits). PagerDuty need not send ``total``: such a listing is read page after page while ``more``
says so, and a window that reaches the cap that way is split in two halves in time, each read
the same way. Records are deduplicated by id. A slice whose ``total`` disagrees with its records
(new records shift the newest-first offsets) is read again, a bounded number of times, and a
disagreement that stays is said in ``remarks``, never fatal. A page past the first that only
repeats records of its listing (the official example answers every offset with the same record)
ends that listing, with a remark; the records read are kept.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
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
"""Times a slice whose total disagrees with its records is read again before that is reported."""

Get = Callable[[str, Mapping[str, Any]], dict[str, Any]]
"""``GET path?params`` answering the decoded JSON object (errors already translated)."""

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class _Page:
    """One answered page: its records, the listing's ``total`` (if sent), ``more`` and ``limit``."""

    items: list[dict[str, Any]]
    total: int | None
    more: bool
    limit: int


@dataclass(frozen=True)
class _Slice:
    """A time slice of a listing with its first page; ``total`` is ``None`` if not reported."""

    window: Window
    first: _Page

    @property
    def total(self) -> int | None:
        return self.first.total


def whole_seconds(window: Window) -> tuple[str, str]:
    """``since`` rounded down and ``until`` rounded up to whole seconds, as query values."""
    since = window.since.replace(microsecond=0)
    until = window.until.replace(microsecond=0)
    if until < window.until:
        until += timedelta(seconds=1)
    return iso_z(since), iso_z(until)


def pooled_map(fn: Callable[[_T], _R], items: Iterable[_T], workers: int, name: str) -> list[_R]:
    """``fn`` over ``items`` on at most ``workers`` threads; results in order.

    Eager, and the pool is shut down by the calling thread before this returns or raises (on an
    error the pending calls are cancelled), so no thread is left for a finalizer to join.
    """
    todo = list(items)
    if len(todo) <= 1 or workers == 1:
        return [fn(item) for item in todo]
    with ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix=name) as pool:
        futures = [pool.submit(fn, item) for item in todo]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def pooled_iter(
    fn: Callable[[_T], _R], items: Iterable[_T], workers: int, name: str
) -> Generator[_R, None, None]:
    """``fn`` over ``items`` on at most ``workers`` threads; each result yielded, in order, as
    soon as it and those before it are done (the rest are still being fetched meanwhile).

    Every call is submitted at once, as :func:`pooled_map` does; the pool is shut down by the
    thread that closes or finishes this generator (pending calls cancelled on an error or an
    early close), so no thread is left behind.
    """
    todo = list(items)
    if len(todo) <= 1 or workers == 1:
        yield from map(fn, todo)
        return
    pool = ThreadPoolExecutor(min(workers, len(todo)), thread_name_prefix=name)
    futures = [pool.submit(fn, item) for item in todo]
    finished = False
    try:
        for future in futures:
            yield future.result()
        finished = True
    finally:
        if not finished:
            for future in futures:
                future.cancel()
        pool.shutdown(wait=True)


def _distinct(items: list[dict[str, Any]]) -> int:
    ids = [i.get("id") for i in items]
    return len({i for i in ids if isinstance(i, str)}) + sum(not isinstance(i, str) for i in ids)


class OffsetPager:
    """Every record of a PagerDuty listing in a window, each once, read with ``get``.

    What the reading had to do beyond plain paging (splits, re-reads, a total that disagreed, a
    listing ended on repeated pages) is appended to ``remarks``.
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
        """Splits, re-reads and disagreements so far, as the source's report says them."""

    def _remark(self, text: str) -> None:
        if text not in self.remarks:
            self.remarks.append(text)

    def records(
        self, path: str, key: str, params: Mapping[str, Any], window: Window
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``GET path`` (its ``key`` list) created in ``window``, each once."""
        seen: set[str] = set()
        todo, last = [window], dict[Window, tuple[int, int]]()
        for round_ in range(MAX_REREADS + 1):
            slices = self._plan(path, key, params, todo)
            if round_ == 0 and len(slices) > 1:
                self._remark(
                    f"GET {path} held {sum(s.total or 0 for s in slices):,} records, more than "
                    f"PagerDuty's {OFFSET_CAP:,}-record pagination cap, so its window was split "
                    f"into {len(slices)} time slices"
                )
            todo = []
            for s in (s for s in slices if s.total is None):
                yield from self._follow(path, key, params, s, seen)
            held: list[dict[str, Any]] = []
            with closing(self._read(path, key, params, slices)) as pages:
                for s, items, moved in pages:
                    yield from _fresh(items, seen)
                    held.extend(items)
                    if moved is None:
                        continue
                    # The slice's records disagree with its total if a page reported another
                    # total, or if they hold another number of distinct records than the total:
                    # offsets that moved between pages repeat some records and skip others, even
                    # when the total stays the same.
                    state, held = (s.total or 0, _distinct(held)), []
                    changed = moved or state[1] != s.total
                    if changed and last.get(s.window) != state:
                        todo.append(s.window)
                    elif changed:
                        self._disagrees(path, *state)
                    last[s.window] = state
            if not todo:
                return
            if round_ == 0:
                self._remark(
                    f"GET {path} changed while it was read (its total moved, or its pages repeated "
                    "or skipped records), so it was read again"
                )
        for window_ in todo:
            self._disagrees(path, *last[window_], rereads=MAX_REREADS)

    def _disagrees(self, path: str, total: int, held: int, rereads: int = 0) -> None:
        after = f" even after {rereads} re-reads" if rereads else ""
        self._remark(
            f"GET {path} reported a total of {total:,} records but its pages held {held:,}"
            f"{after} (its records moved while it was read, or its total is wrong); "
            "the records read are kept"
        )

    def _map(self, fn: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        return pooled_map(fn, items, self.max_connections, self.source)

    def _page(
        self, path: str, key: str, params: Mapping[str, Any], window: Window, offset: int
    ) -> _Page:
        """One page of ``window`` at ``offset``; ``since``/``until`` in whole seconds."""
        since, until = whole_seconds(window)
        body = self.get(
            path,
            {
                **params,
                "since": since,
                "until": until,
                "limit": PAGE_SIZE,
                "offset": offset,
                "total": "true",
            },
        )
        items = body.get(key)
        if not isinstance(items, list):
            raise CollectorError(self.source, f"GET {path} answered without a {key!r} list")
        total, limit = body.get("total"), body.get("limit")
        return _Page(
            [i for i in items if isinstance(i, dict)],
            total if isinstance(total, int) and not isinstance(total, bool) else None,
            body.get("more") is True,
            limit if isinstance(limit, int) and 0 < limit <= PAGE_SIZE else PAGE_SIZE,
        )

    def _follow(
        self, path: str, key: str, params: Mapping[str, Any], s: _Slice, seen: set[str]
    ) -> Iterator[dict[str, Any]]:
        """A slice without a ``total``, read page after page while ``more`` says so.

        At the pagination cap the slice is split in two halves in time, each read the same way;
        a page that only repeats records this slice already gave ends it (with a remark).
        """
        page, offset, mine = s.first, 0, set[str]()
        while True:
            ids = {i for i in (r.get("id") for r in page.items) if isinstance(i, str)}
            if offset and page.items and len(ids) == len(page.items) and ids <= mine:
                self._remark(
                    f"GET {path} answered offset {offset} with only records it had already given "
                    f"(more=true, no total), so reading it stopped there; {_kept(len(mine))}"
                )
                return
            mine |= ids
            yield from _fresh(page.items, seen)
            if not page.more:
                return
            if not page.items:
                self._remark(
                    f"GET {path} answered an empty page at offset {offset} with more=true, so "
                    "reading it stopped there; the records read are kept"
                )
                return
            offset += len(page.items)
            if offset + PAGE_SIZE > OFFSET_CAP:
                yield from self._halves(path, key, params, s.window, seen)
                return
            page = self._page(path, key, params, s.window, offset)

    def _halves(
        self, path: str, key: str, params: Mapping[str, Any], window: Window, seen: set[str]
    ) -> Iterator[dict[str, Any]]:
        """``window``, which reached the cap without a total, read again as two halves."""
        mid = (window.since + (window.until - window.since) / 2).replace(microsecond=0)
        if not window.since < mid < window.until:
            self._remark(
                f"GET {path} holds more than PagerDuty's {OFFSET_CAP:,}-record pagination cap "
                f"within one second ({iso_z(window.since)}) and reports no total, so only "
                f"the first {OFFSET_CAP:,} of them were read"
            )
            return
        self._remark(
            f"GET {path} reported no total and reached PagerDuty's {OFFSET_CAP:,}-record "
            "pagination cap, so its window was split in time"
        )
        for half in (Window(mid, window.until), Window(window.since, mid)):
            first = self._page(path, key, params, half, 0)
            yield from self._follow(path, key, params, _Slice(half, first), seen)

    def _split(self, path: str, window: Window, total: int) -> list[Window]:
        """``window`` cut at whole seconds into enough slices to hold ``total`` under the cap.

        PagerDuty's ``since``/``until`` have second precision, so cuts are whole seconds; a
        window of one second that still holds more than the cap cannot be read completely.
        """
        n = max(2, math.ceil(total / SLICE_TARGET))
        span = window.until - window.since
        cuts = sorted({_second(window.since + span * k / n) for k in range(1, n)})
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
        """Probe ``windows`` (first page, ``total``), splitting any over the cap; newest first.

        A first page without ``total`` and with ``more`` is a slice of unknown size
        (``total is None``); without ``more``, its records are all there is.
        """
        leaves: list[_Slice] = []
        while windows:
            probes = self._map(lambda w: (w, self._page(path, key, params, w, 0)), windows)
            windows = []
            for window, page in probes:
                if page.total is None and not page.more:
                    page = _Page(page.items, len(page.items), False, page.limit)
                if page.total is None or page.total <= OFFSET_CAP:
                    leaves.append(_Slice(window, page))
                else:
                    windows.extend(self._split(path, window, page.total))
        leaves.sort(key=lambda s: s.window.since, reverse=True)
        return leaves

    def _read(
        self, path: str, key: str, params: Mapping[str, Any], slices: list[_Slice]
    ) -> Generator[tuple[_Slice, list[dict[str, Any]], bool | None], None, None]:
        """Each slice with a ``total``, page by page as the pages come in (all of them are asked
        for at once): ``(slice, the page's records, None)``, and for its last page ``(slice,
        records, moved)``, whether any of its pages reported another ``total``.

        A slice's records are passed on while its later pages are still being read, so the
        caller turns them into events meanwhile instead of after the last page.
        """
        known = [s for s in slices if s.total is not None]
        jobs = [
            (s.window, o) for s in known for o in range(s.first.limit, s.total or 0, s.first.limit)
        ]
        pages = pooled_iter(
            lambda job: self._page(path, key, params, *job), jobs, self.max_connections, self.source
        )
        try:
            for s in known:
                count, moved = len(range(s.first.limit, s.total or 0, s.first.limit)), False
                yield s, s.first.items, None if count else False
                for left in range(count - 1, -1, -1):
                    page = next(pages)
                    moved = moved or (page.total is not None and page.total != s.total)
                    yield s, page.items, None if left else moved
        finally:
            pages.close()


def _kept(n: int) -> str:
    return f"the {n:,} records read are kept" if n != 1 else "the 1 record read is kept"


def _second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _fresh(items: Iterable[dict[str, Any]], seen: set[str]) -> Iterator[dict[str, Any]]:
    """The records of ``items`` not yet in ``seen`` (which they are added to); id-less ones too."""
    for item in items:
        ident = item.get("id")
        if isinstance(ident, str):
            if ident in seen:
                continue
            seen.add(ident)
        yield item
