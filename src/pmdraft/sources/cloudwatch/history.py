"""What :class:`~.collector.CloudWatchCollector` does to read alarm history (a mixin): one
``DescribeAlarmHistory`` NextToken chain per time slice (or the batch run's shared read, cut to
the slice), the archive log group's state changes, the unreadable and repeated items noted, and
each alarm's tags when they are wanted."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from ...model import Window
from .._aws import Advice, Page, Target, guard_answers, translated, where
from ..base import RequestCounter
from .alarms import ALARM_TYPES, AlarmInfo
from .archive import archived_items, readable
from .shared import SharedHistory
from .slices import time_slices

PAGE_SIZE = 100
"""Records per DescribeAlarms and DescribeAlarmHistory page: the API's maximum."""

ADVICE = Advice(
    refused="Check the credentials' cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory "
    "permissions and the region.",
    throttled="CloudWatch still refused after {attempts} attempts; try again later, "
    "or raise max_attempts in [cloudwatch].",
    network="Check the network and endpoint_url, or raise timeout_seconds or max_attempts in "
    "[cloudwatch].",
)
"""Next steps for a failed CloudWatch call."""

ARCHIVE_ADVICE = dataclasses.replace(
    ADVICE,
    refused="Check the credentials' logs:FilterLogEvents permission and archive_log_group in "
    "[cloudwatch].",
)
"""Next steps for a failed read of the archive log group."""


class HistoryReads:
    """The history half of :class:`~.collector.CloudWatchCollector`."""

    name: str
    shared: SharedHistory | None
    history_slices: int
    archive_log_group: str
    _archives: dict[Target, Any]
    _counter: RequestCounter
    _call: Callable[..., Iterator[Page]]
    _paged: Callable[..., Iterator[Page]]
    _note: Callable[..., None]
    _wanted: Callable[[str], bool]

    def _slice(
        self,
        target: Target,
        client: Any,
        since: datetime,
        until: datetime,
        on_page: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``StateUpdate`` items of one time slice, newest first: one NextToken chain.

        ``on_page`` is given each page's items as it arrives (a batch run's shared read is
        not paged here, so it gives none)."""
        if self.shared is not None:

            def whole(span: Window) -> list[dict[str, Any]]:
                slices = time_slices(span, self.history_slices)
                return [i for s, u in slices for i in self._read_slice(target, client, s, u)]

            cut = self.shared.history(target, since, until, whole)
            if cut is not None:
                return cut
        return self._read_slice(target, client, since, until, on_page)

    def _read_slice(
        self,
        target: Target,
        client: Any,
        since: datetime,
        until: datetime,
        on_page: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        pages = self._paged(
            target,
            "DescribeAlarmHistory",
            client.describe_alarm_history,
            AlarmTypes=ALARM_TYPES,
            HistoryItemType="StateUpdate",
            StartDate=since,
            EndDate=until,
            MaxRecords=PAGE_SIZE,
        )
        found: list[dict[str, Any]] = []
        for page in self._call(target, client, "DescribeAlarmHistory", pages):
            items = [
                item
                for item in page.get("AlarmHistoryItems", [])
                if item.get("HistoryItemType") == "StateUpdate"
            ]
            if on_page is not None:
                on_page(items)
            found += items
        return found

    def _readable(self, target: Target, items: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
        """The wanted items, each once; the unreadable ones and the repeats are noted."""
        found, bad, repeated = readable(items, self._wanted)
        for text in bad:
            self._note(f"{where(target)}: {text}", bad=True)
        if repeated:
            self._note(
                f"DescribeAlarmHistory in {where(target)} answered {repeated} item"
                f"{'s' if repeated > 1 else ''} it had already given (a page that went back); "
                "each was kept once"
            )
        return found

    def _archived(self, target: Target, window: Window) -> Iterator[dict[str, Any]]:
        """The archive log group's alarm state changes in the window, as history items."""
        source = self._archives.get(target)
        if source is None:
            return
        if not hasattr(source, "meta"):
            source = self._archives[target] = source()
            source.meta.events.register("before-send", self._counter.add)
            guard_answers(source)
        what = f"FilterLogEvents on {self.archive_log_group}"
        call = partial(self._call, target, source, what, advice=ARCHIVE_ADVICE)
        notes: list[str] = []
        bad: list[str] = []
        try:
            yield from archived_items(
                source, self.archive_log_group, target[1], window, call, notes, bad
            )
        finally:
            for note in notes:
                self._note(note)
            for text in bad:
                self._note(f"{where(target)}: {text}", bad=True)

    def _tags(
        self, target: Target, client: Any, names: set[str], alarms: Mapping[str, AlarmInfo]
    ) -> dict[str, dict[str, str]]:
        """The tags of each alarm among ``names`` that DescribeAlarms listed."""
        found: dict[str, dict[str, str]] = {}
        for name in sorted(names):
            arn = alarms[name].arn if name in alarms else None
            if arn is None:
                continue
            with translated(self.name, "ListTagsForResource", where(target), ADVICE, client):
                answer = client.list_tags_for_resource(ResourceARN=arn)
            found[name] = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}
        return found
