"""PagerDuty change events as deploys: a collector of its own, with its own line in Sources.

It reads one ``GET /change_events`` listing from the deploy lookback before the window to the
window's end, through a client like the incidents' collector's (the same per-minute budget,
retries), and counts its requests against the same ``[run] max_requests`` ceiling (its
``RequestCounter`` shares the incidents' ``pool``), so a failure or a ceiling stop of this
listing is reported on its own line while the incidents' line stays ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

from ...model import Event, SourceExtras, Window, parse_time_or_none
from .._http import scrub
from ..base import RequestCounter
from .api import PagerDutyApi
from .events import change_event
from .records import Tally, change_problem, shown_id, within

NAME = "pagerduty:change_events"
"""The change events' name in the draft's Sources and the JSON's ``sources``."""


class ChangeEventsCollector:
    """Change events (``GET /change_events``) of the window and the deploy lookback, as deploys."""

    name = NAME

    def __init__(
        self,
        api: PagerDutyApi,
        counter: RequestCounter,
        *,
        service_ids: Sequence[str] = (),
        lookback: timedelta = timedelta(0),
    ) -> None:
        self.api = api
        """The API calls (its own client, or a batch run's shared reads)."""
        self.counter = counter
        self.service_ids = list(service_ids)
        """Only change events of these services; empty: every service."""
        self.lookback = lookback
        """How far before the window change events are read (the deploy sources' lookback)."""
        self.tally = Tally()
        """Records skipped (named) and dropped outside their span (counted) in this run."""

    @property
    def requests(self) -> int:
        """HTTP requests made so far for change events, retries included."""
        return self.counter.value

    @property
    def detail(self) -> str | None:
        """What the run skipped, dropped or had to do beyond plain paging, or ``None``."""
        return scrub("; ".join([*self.tally.notes(), *self.api.remarks]), self.api.secret) or None

    def extras(self) -> SourceExtras:
        """Nothing besides events."""
        return SourceExtras()

    def close(self) -> None:
        """Close the client's connections."""
        self.api.close()

    def collect(self, window: Window) -> Iterator[Event]:
        """Change events from the deploy lookback before ``window`` to its end, as deploys."""
        self.api.remarks.clear()
        self.tally.clear()
        span = Window(window.since - self.lookback, window.until)
        for item in self.api.change_events(span):
            problem = change_problem(item)
            if problem is not None:
                self.tally.skip("change event", f"change event {shown_id(item.get('id'))}", problem)
                continue
            if not within(parse_time_or_none(item["timestamp"]), span):
                self.tally.drop("change event", span)
                continue
            services = [s for s in item.get("services") or [] if isinstance(s, dict)]
            if self.service_ids and not any(s.get("id") in self.service_ids for s in services):
                continue
            event = change_event(item, services)
            if event is not None:
                yield event
