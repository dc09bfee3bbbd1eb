"""PagerDuty incidents and their log entries, through the official ``pagerduty`` client.

Incidents created in the window (padded by a margin) give the scope; the log entries come from
one paginated ``GET /log_entries`` stream for the window (``time_zone=UTC``), never one call per
incident, and only entries of in-scope incidents are kept.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx2

from ..errors import CollectorError
from ..model import (
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_ANNOTATED,
    INCIDENT_ASSIGNED,
    INCIDENT_ESCALATED,
    INCIDENT_NOTIFIED,
    INCIDENT_OTHER,
    INCIDENT_PRIORITY_CHANGED,
    INCIDENT_RESOLVED,
    INCIDENT_SNOOZED,
    INCIDENT_TRIGGERED,
    INCIDENT_UNACKNOWLEDGED,
    INCIDENT_URGENCY_CHANGED,
    Event,
    Window,
    iso_z,
)
from .base import RequestCounter, parse_time

PAGE_SIZE = 100
"""Records per page: the most PagerDuty's classic pagination gives."""

OFFSET_CAP = 10_000
"""PagerDuty refuses offset + limit above this (HTTP 400)."""

KIND_BY_TYPE = {
    "trigger_log_entry": INCIDENT_TRIGGERED,
    "notify_log_entry": INCIDENT_NOTIFIED,
    "acknowledge_log_entry": INCIDENT_ACKNOWLEDGED,
    "acknowledgement_log_entry": INCIDENT_ACKNOWLEDGED,
    "unacknowledge_log_entry": INCIDENT_UNACKNOWLEDGED,
    "escalate_log_entry": INCIDENT_ESCALATED,
    "assign_log_entry": INCIDENT_ASSIGNED,
    "annotate_log_entry": INCIDENT_ANNOTATED,
    "priority_change_log_entry": INCIDENT_PRIORITY_CHANGED,
    "urgency_change_log_entry": INCIDENT_URGENCY_CHANGED,
    "snooze_log_entry": INCIDENT_SNOOZED,
    "resolve_log_entry": INCIDENT_RESOLVED,
}


class RetriesExhausted(Exception):
    """A request still failed (429 or 5xx) after the bounded retries."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url}: HTTP {status} {detail}")
        self.url = url
        self.status = status
        self.detail = detail


def retry_wait(response: httpx2.Response, attempt: int, now: float | None = None) -> float:
    """Seconds to wait before retrying: ``Retry-After``, else ``ratelimit-reset``, else backoff."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(header)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    reset = response.headers.get("ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset))
        except ValueError:
            pass
    return min(30.0, 0.5 * 2**attempt) * (1 + 0.25 * random.random())


class RetryingTransport(httpx2.BaseTransport):
    """Retries 429, 5xx and network errors a bounded number of times, honouring the headers.

    The ``pagerduty`` client alone retries 429 without limit and ignores ``Retry-After``;
    this transport sits under it so every request it makes is bounded and counted.
    """

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        counter: RequestCounter,
        *,
        max_retries: int = 5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.counter = counter
        self.max_retries = max_retries
        """Retries after the first attempt, per request."""
        self.max_wait = max_wait
        """Longest single wait in seconds; a server asking for more is a failure."""
        self.sleep = sleep

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        attempt = 0
        while True:
            self.counter.add()
            try:
                response = self.inner.handle_request(request)
            except httpx2.TransportError:
                if attempt >= self.max_retries:
                    raise
                self.sleep(min(self.max_wait, 0.5 * 2**attempt))
                attempt += 1
                continue
            status = response.status_code
            if status != 429 and status < 500:
                return response
            response.read()
            wait = retry_wait(response, attempt)
            if attempt >= self.max_retries or wait > self.max_wait:
                detail = response.text[:200].strip()
                response.close()
                why = (
                    f"after {attempt + 1} attempts"
                    if attempt >= self.max_retries
                    else f"and asked to wait {wait:.0f} s, more than max_retry_wait_seconds={self.max_wait:g}"
                )
                raise RetriesExhausted(str(request.url.copy_with(query=None)), status, f"{why}: {detail}")
            response.close()
            self.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


def _ref_name(ref: Any) -> str | None:
    return ref.get("summary") or ref.get("name") if isinstance(ref, dict) else None


class PagerDutyCollector:
    """Incident log entries from PagerDuty's REST API v2."""

    name = "pagerduty"

    def __init__(
        self,
        client: Any,
        counter: RequestCounter,
        *,
        service_ids: Sequence[str] = (),
        margin: timedelta = timedelta(minutes=60),
    ) -> None:
        self.client = client
        self.counter = counter
        self.service_ids = list(service_ids)
        self.margin = margin
        """How far before and after the window incidents are looked for."""

    @property
    def requests(self) -> int:
        return self.counter.value

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def _get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        import pagerduty

        try:
            response = self.client.get(path, params=dict(params))
        except RetriesExhausted as exc:
            raise CollectorError(self.name, f"GET {path} failed: {exc.status} {exc.detail}") from exc
        except pagerduty.Error as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status == 401:
                raise CollectorError(
                    self.name,
                    f"GET {path} was refused (401 Unauthorized): the API token is invalid or "
                    "deactivated, or base_url points at the wrong service region "
                    "(EU accounts use https://api.eu.pagerduty.com)",
                ) from exc
            raise CollectorError(self.name, f"GET {path} failed: {exc.__class__.__name__}: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise CollectorError(self.name, f"GET {path} failed: {exc.__class__.__name__}: {exc}") from exc
        if not response.is_success:
            raise CollectorError(
                self.name, f"GET {path} answered HTTP {response.status_code}: {response.text[:200].strip()}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CollectorError(self.name, f"GET {path} answered with invalid JSON") from exc
        if not isinstance(body, dict):
            raise CollectorError(self.name, f"GET {path} answered with {type(body).__name__}, not an object")
        return body

    def _pages(self, path: str, key: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            if offset + PAGE_SIZE > OFFSET_CAP:
                raise CollectorError(
                    self.name,
                    f"GET {path} holds more than {OFFSET_CAP:,} records for "
                    f"{params.get('since')} .. {params.get('until')}; PagerDuty's pagination stops there. "
                    "Narrow the window (--since/--until) to get them all.",
                )
            body = self._get(path, {**params, "limit": PAGE_SIZE, "offset": offset})
            items = body.get(key)
            if not isinstance(items, list):
                raise CollectorError(self.name, f"GET {path} answered without a {key!r} list")
            yield from (i for i in items if isinstance(i, dict))
            if not body.get("more") or not items:
                return
            offset += len(items)

    def incidents(self, window: Window) -> list[dict[str, Any]]:
        """The incidents created in ``window`` padded by the margin, filtered by service."""
        padded = window.padded(self.margin, self.margin)
        params: dict[str, Any] = {"since": iso_z(padded.since), "until": iso_z(padded.until), "time_zone": "UTC"}
        if self.service_ids:
            params["service_ids[]"] = self.service_ids
        return list(self._pages("/incidents", "incidents", params))

    def collect(self, window: Window) -> Iterator[Event]:
        incidents = {i["id"]: i for i in self.incidents(window) if "id" in i}
        if not incidents:
            return
        padded = window.padded(self.margin, self.margin)
        until = padded.until
        for inc in incidents.values():
            for key in ("resolved_at", "last_status_change_at", "updated_at"):
                if isinstance(inc.get(key), str):
                    try:
                        until = max(until, parse_time(inc[key]) + timedelta(seconds=1))
                    except ValueError:
                        pass
        params = {
            "since": iso_z(padded.since),
            "until": iso_z(until),
            "time_zone": "UTC",
            "is_overview": "false",
        }
        for entry in self._pages("/log_entries", "log_entries", params):
            incident_ref = entry.get("incident") or {}
            incident = incidents.get(incident_ref.get("id"))
            if incident is not None:
                event = self._event(entry, incident)
                if event is not None:
                    yield event

    def _event(self, entry: Mapping[str, Any], incident: Mapping[str, Any]) -> Event | None:
        created = entry.get("created_at")
        if not isinstance(created, str):
            return None
        try:
            at = parse_time(created)
        except ValueError:
            return None
        entry_type = str(entry.get("type", ""))
        kind = KIND_BY_TYPE.get(entry_type, INCIDENT_OTHER)
        channel = entry.get("channel") if isinstance(entry.get("channel"), dict) else {}
        priority = incident.get("priority")
        number = incident.get("incident_number")
        attrs: dict[str, Any] = {
            "incident_id": incident.get("id"),
            "incident_number": number if isinstance(number, int) else None,
            "incident_title": incident.get("title"),
            "incident_url": incident.get("html_url"),
            "urgency": incident.get("urgency"),
            "priority": _ref_name(priority),
            "status": incident.get("status"),
            "escalation_policy": _ref_name(incident.get("escalation_policy")),
            "log_entry_id": entry.get("id"),
            "log_entry_type": entry_type,
            "channel": channel.get("type"),
        }
        if kind == INCIDENT_NOTIFIED:
            attrs["notified_user"] = _ref_name(entry.get("user"))
        if kind == INCIDENT_ANNOTATED:
            attrs["note"] = entry.get("note") or channel.get("summary") or ""
        if kind in (INCIDENT_ASSIGNED, INCIDENT_ESCALATED):
            names = [_ref_name(a) for a in entry.get("assignees") or []]
            attrs["assignees"] = ", ".join(n for n in names if n)
        label = f"PagerDuty #{number}" if number is not None else "PagerDuty"
        summary = str(entry.get("summary") or entry_type.replace("_log_entry", "").replace("_", " "))
        return Event(
            at=at,
            source=self.name,
            kind=kind,
            ref=str(incident.get("id")),
            summary=f"{label}: {summary}",
            service=_ref_name(incident.get("service")),
            actor=_ref_name(entry.get("agent")),
            url=entry.get("html_url") or incident.get("html_url"),
            attrs=attrs,
        )


def build_client(
    token: str,
    base_url: str,
    counter: RequestCounter,
    *,
    ca_bundle: str | None = None,
    max_retries: int = 5,
    max_wait: float = 60.0,
    timeout: float = 30.0,
) -> Any:
    """A ``pagerduty.RestApiV2Client`` whose every request is bounded, counted and verified."""
    import ssl

    import pagerduty

    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    transport = RetryingTransport(
        httpx2.HTTPTransport(verify=verify), counter, max_retries=max_retries, max_wait=max_wait
    )
    client = pagerduty.RestApiV2Client(token, base_url=base_url, transport=transport)
    client.max_network_attempts = 0
    client.timeout = timeout
    return client
