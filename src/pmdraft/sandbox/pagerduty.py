"""Local HTTPS stand-in for PagerDuty's REST API v2, for the demo and the tests.

Served on 127.0.0.1: ``GET /incidents``, ``/incidents/{id}``,
``/incidents/{id}/log_entries``, ``/incidents/{id}/notes``, ``/log_entries`` and
``/change_events`` (on their ``timestamp``), and the one
write, ``POST /incidents/{id}/notes`` (which needs a ``From`` header with a user's email);
``{id}`` may also be the incident number, as PagerDuty allows. It behaves as
PagerDuty does where a client could notice: ``Authorization: Token token=<token>`` or 401;
classic pagination (limit 25 by default, at most 100, offset + limit above 10,000 refused with
400); newest first; ``[since, until)`` on ``created_at``; times rendered in ``time_zone`` or else
in the account's zone, with its offset; PagerDuty's error body. The ``pagerduty`` client reaches
it with ``verify=ssl.create_default_context(cafile=standin.ca_path)``.

Records are sorted once when added and found with ``bisect``, so a request costs O(log n + page)
however many are loaded: a benchmark measures the client, not the stand-in.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import trustme

__all__ = ["PagerDutyStandIn", "RequestRecord", "change_event", "incident", "log_entry"]

_Obj = dict[str, Any]  # a JSON object, as PagerDuty sends it

DEFAULT_LIMIT = 25
"""Page size when a request gives no ``limit``."""
MAX_LIMIT = 100
"""Largest page; a larger ``limit`` is clamped to it (and echoed clamped)."""
MAX_OFFSET_PLUS_LIMIT = 10_000
"""Pagination depth beyond which PagerDuty answers 400."""
DEFAULT_INCIDENT_WINDOW = timedelta(days=30)
"""Span of ``GET /incidents`` without ``since``, ending at ``until`` or now."""
MAX_INCIDENT_WINDOW = timedelta(days=184)
"""Longest ``since``..``until`` span ``GET /incidents`` accepts: six months."""

_API, _WEB = "https://api.pagerduty.com", "https://sandbox.pagerduty.com"
_TIME_KEYS = frozenset(
    {
        "created_at",
        "updated_at",
        "last_status_change_at",
        "resolved_at",
        "at",
        "started_at",
        "ended_at",
        "requested_at",
        "timestamp",
    }
)
_DETAIL_ONLY_TYPES = frozenset({"notify_log_entry"})  # what is_overview=true leaves out
_STATUSES = ("triggered", "acknowledged", "resolved")
_ERROR_CODES = {400: 2001, 401: 2006, 403: 2010, 404: 2100, 429: 2020}
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal"})
_COLLECTIONS = {  # reference type -> (API collection, web app collection)
    "user_reference": ("users", "users"),
    "bot_user_reference": ("users", None),
    "service_reference": ("services", "service-directory"),
    "escalation_policy_reference": ("escalation_policies", "escalation_policies"),
    "priority_reference": ("priorities", None),
    "team_reference": ("teams", "teams"),
}
_INVALID = "Invalid Input Provided"


@dataclass(frozen=True)
class RequestRecord:
    """One request the stand-in answered: its method, URL path, decoded query and status."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


def _aware_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(
            f"{name} {value.isoformat()} is naive: pass an aware datetime, "
            "e.g. datetime(2024, 1, 15, 14, 32, tzinfo=UTC)"
        )
    return value.astimezone(UTC)


def _z(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _reference(kind: str, id_: str, summary: str, service_id: str = "") -> _Obj:
    ref: dict[str, Any] = {"id": id_, "type": kind, "summary": summary}
    if kind.endswith("integration_reference") and service_id:
        ref["self"] = f"{_API}/services/{service_id}/integrations/{id_}"
        ref["html_url"] = f"{_WEB}/services/{service_id}/integrations/{id_}"
        return ref
    api_part, web_part = _COLLECTIONS.get(kind, (None, None))
    ref["self"] = f"{_API}/{api_part}/{id_}" if api_part else None
    if web_part:
        ref["html_url"] = f"{_WEB}/{web_part}/{id_}"
    return ref


def incident(
    *,
    id: str,
    number: int,
    title: str,
    created_at: datetime,
    service_id: str,
    service_name: str,
    status: str = "resolved",
    urgency: str = "high",
    priority: str | None = None,
    resolved_at: datetime | None = None,
    incident_key: str | None = None,
    escalation_policy: tuple[str, str] = ("PESC001", "Default"),
    assignees: list[tuple[str, str]] = (),  # type: ignore[assignment]
    teams: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> _Obj:
    """Build a PagerDuty ``Incident`` as ``GET /incidents`` returns it, times in UTC.

    ``assignees`` are ``(user id, name)`` pairs (PagerDuty lists none once resolved); ``teams``
    ``(team id, name)`` pairs;
    ``priority`` is the priority's name, e.g. ``"P1"``; without one it is null, as in PagerDuty.
    """
    if status not in _STATUSES or urgency not in ("high", "low"):
        raise ValueError(
            f"incident {id}: status {status!r} must be one of {', '.join(_STATUSES)}"
            f" and urgency {urgency!r} 'high' or 'low'"
        )
    created = _aware_utc(created_at, f"incident {id} created_at")
    resolved = _aware_utc(resolved_at, f"incident {id} resolved_at") if resolved_at else None
    changed, done = resolved or created, status == "resolved"
    priority_id = "P" + hashlib.sha1(str(priority).encode()).hexdigest()[:6].upper()
    return {
        "id": id,
        "type": "incident",
        "summary": f"[#{number}] {title}",
        "self": f"{_API}/incidents/{id}",
        "html_url": f"{_WEB}/incidents/{id}",
        "incident_number": number,
        "title": title,
        "created_at": _z(created),
        "updated_at": _z(changed),
        "status": status,
        "incident_key": incident_key or hashlib.sha1(id.encode()).hexdigest(),
        "service": _reference("service_reference", service_id, service_name),
        "assignments": []
        if done
        else [
            {"at": _z(created), "assignee": _reference("user_reference", *who)} for who in assignees
        ],
        "assigned_via": "escalation_policy",
        "last_status_change_at": _z(changed),
        "resolved_at": _z(resolved) if resolved else None,
        "alert_counts": {"all": 1, "triggered": int(not done), "resolved": int(done)},
        "is_mergeable": True,
        "incident_type": {"name": "incident_default"},
        "escalation_policy": _reference("escalation_policy_reference", *escalation_policy),
        "teams": [_reference("team_reference", *team) for team in teams],
        "pending_actions": [],
        "acknowledgements": [],
        "priority": _reference("priority_reference", priority_id, priority) if priority else None,
        "urgency": urgency,
    }


def log_entry(
    *,
    id: str,
    type: str,
    created_at: datetime,
    incident: _Obj,
    agent: tuple[str, str, str] | None = None,
    channel: _Obj | None = None,
    user: tuple[str, str] | None = None,
    note: str | None = None,
    assignees: list[tuple[str, str]] = (),  # type: ignore[assignment]
    event_details: _Obj | None = None,
) -> _Obj:
    """Build a PagerDuty ``LogEntry`` of ``type`` on ``incident`` (a dict from :func:`incident`).

    ``agent`` is ``(reference type, id, name)``; ``user`` the ``(id, name)`` a notify entry
    reached; ``assignees`` ``(id, name)`` pairs for assign and escalate entries. The default
    ``channel`` is PagerDuty's: ``api`` for a trigger by a service or integration, ``web_trigger``
    by a user, ``note`` carrying the text for an annotation (whose text is also ``note``), ``sms``
    for a notification, ``timeout`` for an escalation without agent, else ``website``.
    """
    if not type.endswith("_log_entry") or (type == "annotate_log_entry" and not note):
        raise ValueError(
            f"log entry {id}: type {type!r} must end in '_log_entry', and an "
            "annotate_log_entry needs note= text"
        )
    created = _aware_utc(created_at, f"log entry {id} created_at")
    inc_id, title, service = incident["id"], incident["title"], incident["service"]
    if channel is None:
        by_user = agent is not None and agent[0] == "user_reference"
        channel = {
            "trigger_log_entry": {"type": "web_trigger", "summary": title, "subject": title}
            if by_user
            else {"type": "api"},
            "annotate_log_entry": {"type": "note", "summary": note},
            "notify_log_entry": {"type": "sms"},
        }.get(
            type, {"type": "timeout" if type == "escalate_log_entry" and not agent else "website"}
        )
    who, names = agent[2] if agent else "PagerDuty", ", ".join(name for _, name in assignees)
    medium = str(channel["type"])
    via = {"web_trigger": "website", "api": "API"}.get(medium, medium)
    summary = {
        "trigger_log_entry": f"Triggered through the {via}",
        "annotate_log_entry": "Note added",
        "acknowledge_log_entry": f"Acknowledged by {who}",
        "resolve_log_entry": f"Resolved by {who}",
        "assign_log_entry": f"Assigned to {names}",
        "escalate_log_entry": f"Escalated to {names}",
        "notify_log_entry": f"Notified {user[1] if user else 'a responder'} by {medium}",
    }.get(type, type.removesuffix("_log_entry").replace("_", " ").capitalize())
    entry: dict[str, Any] = {
        "id": id,
        "type": type,
        "summary": summary,
        "self": f"{_API}/log_entries/{id}?incident_id={inc_id}",
        "html_url": f"{_WEB}/incidents/{inc_id}/log_entries/{id}",
        "created_at": _z(created),
    }
    if agent:
        entry["agent"] = _reference(*agent, service_id=service["id"])
    entry.update(
        channel=channel,
        service=service,
        teams=[],
        contexts=[],
        incident={
            "id": inc_id,
            "type": "incident_reference",
            "summary": incident["summary"],
            "self": incident["self"],
            "html_url": incident["html_url"],
        },
    )
    if note is not None:
        entry["note"] = note
    if user:
        entry["user"] = _reference("user_reference", *user)
    if type in ("assign_log_entry", "escalate_log_entry"):
        entry["assignees"] = [_reference("user_reference", *who) for who in assignees]
    if event_details is not None or type == "trigger_log_entry":
        entry["event_details"] = event_details or {"description": title}
    return entry


def change_event(
    *,
    id: str,
    summary: str,
    timestamp: datetime,
    service: tuple[str, str] | None = None,
    source: str = "deploy-pipeline",
    custom_details: _Obj | None = None,
    link: str | None = None,
) -> _Obj:
    """Build a PagerDuty ``ChangeEvent`` as ``GET /change_events`` returns it.

    ``service`` is ``(service id, name)``; ``custom_details`` is free-form (a deploy tool's
    ``version``, ``environment``, ``status``...); ``link`` becomes the first of ``links``.
    """
    when = _aware_utc(timestamp, f"change event {id} timestamp")
    services = [_reference("service_reference", *service)] if service else []
    return {
        "id": id,
        "type": "change_event",
        "summary": summary,
        "timestamp": _z(when),
        "source": source,
        "services": services,
        "integration": {
            "id": "PINT001",
            "type": "inbound_integration_reference",
            "summary": "Change events",
        },
        "routing_key": hashlib.sha1(id.encode()).hexdigest()[:32],
        "custom_details": custom_details or {},
        "links": [{"href": link, "text": "View the deploy"}] if link else [],
        "images": [],
    }


class _Instant:
    """A stored time, rendered in the request's zone when the response is encoded."""

    __slots__ = ("ts", "utc")

    def __init__(self, utc: datetime) -> None:
        self.utc, self.ts = utc, utc.timestamp()

    def render(self, zone: ZoneInfo) -> str:
        text = self.utc.astimezone(zone).isoformat(timespec="seconds")
        return text[:-6] + "Z" if zone.key in _UTC_KEYS else text


def _prepare(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _prepare(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    if key in _TIME_KEYS and isinstance(value, str | datetime):
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return _Instant(_aware_utc(when, key))
    return value


class _Index:
    """Records sorted oldest first, with their UTC epoch seconds for ``bisect``."""

    def __init__(self, rows: list[tuple[float, int, _Obj]]) -> None:
        self.keys, self.items = [row[0] for row in rows], [row[2] for row in rows]

    def window(self, since: float | None, until: float | None) -> tuple[int, int]:
        lo = 0 if since is None else bisect.bisect_left(self.keys, since)
        hi = len(self.keys) if until is None else bisect.bisect_left(self.keys, until)
        return lo, max(lo, hi)

    def newest_first(self, lo: int, hi: int, offset: int, limit: int) -> list[_Obj]:
        top = hi - offset
        return self.items[max(lo, top - limit) : top][::-1] if top > lo else []


_NO_ENTRIES = (_Index([]), _Index([]))


@dataclass(frozen=True)
class _Store:
    """Everything a request reads, rebuilt whole on each add and swapped in at once."""

    incidents: dict[str, _Obj]
    incident_index: _Index
    entry_index: tuple[_Index, _Index]  # every entry, and the is_overview subset
    by_incident: dict[str, tuple[_Index, _Index]]
    notes: dict[str, list[_Obj]]
    numbers: dict[
        str, str
    ]  # incident number -> id: /incidents/{id} takes either, as PagerDuty does
    changes: _Index  # change events, on their timestamp


class _ApiError(Exception):
    def __init__(self, status: int, message: str, *errors: str) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, list(errors)


def _error_body(status: int, message: str, errors: list[str] | None = None) -> _Obj:
    error: dict[str, Any] = {"message": message}
    if status in _ERROR_CODES:
        error["code"] = _ERROR_CODES[status]
    if errors:
        error["errors"] = errors
    return {"error": error}


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _page(query: dict[str, list[str]]) -> tuple[int, int, bool]:
    numbers = []
    for name, default in (("limit", DEFAULT_LIMIT), ("offset", 0)):
        raw = _one(query, name)
        value = default if raw in (None, "") else int(raw) if raw.isdigit() else -1
        if value < 0 or (name == "limit" and value == 0):
            raise _ApiError(400, _INVALID, f"{name} {raw!r} is not a whole number")
        numbers.append(value)
    limit, offset = min(numbers[0], MAX_LIMIT), numbers[1]
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise _ApiError(
            400,
            _INVALID,
            f"offset + limit ({offset} + {limit}) must not exceed "
            f"{MAX_OFFSET_PLUS_LIMIT}: narrow since/until instead of paging deeper",
        )
    return limit, offset, _one(query, "total") == "true"


def _instant(query: dict[str, list[str]], name: str, zone: ZoneInfo) -> float | None:
    raw = _one(query, name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _ApiError(
            400, _INVALID, f"{name} {raw!r} is not an ISO 8601 time such as 2024-01-15T14:32:00Z"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=zone)).timestamp()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: PagerDutyStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Drop connection-level failures: a client hanging up, a refused TLS handshake."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # else headers and body, written apart, cost ~40 ms a request
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        self.server.standin._connections.add(self.request)
        super().setup()

    def finish(self) -> None:
        self.server.standin._connections.discard(self.request)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded in ``PagerDutyStandIn.requests``."""

    def do_GET(self) -> None:
        self.server.standin._serve(self)

    def do_POST(self) -> None:
        self.server.standin._serve(self, "POST")


class PagerDutyStandIn:
    """Local HTTPS stand-in for PagerDuty's REST API v2."""

    def __init__(
        self, token: str, *, account_time_zone: str = "America/New_York", latency: float = 0.0
    ) -> None:
        """Serve the account of ``token``; times render in ``account_time_zone`` unless a
        request names ``time_zone``; ``latency`` seconds are slept before every response."""
        try:
            self.account_zone = ZoneInfo(account_time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"account_time_zone {account_time_zone!r} is not an IANA zone such "
                "as 'America/New_York' or 'UTC'"
            ) from exc
        self.token, self.latency = token, latency
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._injections: list[list[Any]] = []
        self._faults: list[list[Any]] = []  # [path, kind, times, seconds, shift, entries]
        self._posted_notes: dict[str, list[_Obj]] = {}
        self._rows: dict[str, list[tuple[float, int, _Obj]]] = {
            "incidents": [],
            "entries": [],
            "changes": [],
        }
        self._store = self._build()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: Path | None = None

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``, once started."""
        return f"https://127.0.0.1:{self._running().server_address[1]}"

    @property
    def ca_path(self) -> str:
        """Path of a PEM file holding the CA that signed the server's certificate."""
        self._running()
        return str(self._tmp / "ca.pem")  # type: ignore[operator]

    def _running(self) -> _Server:
        if self._server is None:
            raise RuntimeError("PagerDutyStandIn is not running: call start() or use `with`")
        return self._server

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve HTTPS from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"PagerDutyStandIn is already running at {self.base_url}")
        ca, context = trustme.CA(), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._tmp = Path(tempfile.mkdtemp(prefix="pmdraft-pagerduty-"))
        ca.cert_pem.write_to_path(str(self._tmp / "ca.pem"))
        server = _Server(("127.0.0.1", 0), _Handler)
        server.standin = self
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="pagerduty-standin", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut kept-alive connections and remove the CA file; safe to repeat."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> PagerDutyStandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_incidents(self, incidents: list[_Obj]) -> None:
        """Load PagerDuty ``Incident`` dicts (see :func:`incident`); add in bulk, not singly."""
        self._add("incidents", incidents)

    def add_log_entries(self, entries: list[_Obj]) -> None:
        """Load PagerDuty ``LogEntry`` dicts (see :func:`log_entry`); add in bulk, not singly."""
        self._add("entries", entries)

    def add_change_events(self, events: list[_Obj]) -> None:
        """Load PagerDuty ``ChangeEvent`` dicts (see :func:`change_event`); add in bulk, not singly."""
        self._add("changes", events, "timestamp")

    def _add(self, kind: str, records: list[_Obj], time_key: str = "created_at") -> None:
        ready = [_prepare(record) for record in records]
        for item in ready:
            if not isinstance(item.get(time_key), _Instant):
                raise ValueError(f"{kind} record {item.get('id')!r} has no {time_key} time")
        with self._lock:
            rows = self._rows[kind]
            start = len(rows)
            rows.extend((item[time_key].ts, start + n, item) for n, item in enumerate(ready))
            self._store = self._build()

    def inject(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path`` with ``status``.

        Injections are used first come, first served. Without ``body`` the answer carries
        PagerDuty's error body; a 429 carries ``ratelimit-*`` headers unless ``headers`` set them.
        """
        if not path.startswith("/") or times < 1:
            raise ValueError(
                f"inject({path!r}, times={times}): path must start with '/', "
                "times must be at least 1"
            )
        sent = {"Content-Type": "application/json"}
        if status == 429:
            sent |= {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "1"}
        given = {name.lower() for name in headers or {}}
        sent = {name: v for name, v in sent.items() if name.lower() not in given} | (headers or {})
        phrase = next((known.phrase for known in HTTPStatus if known == status), "Error")
        text = body if body is not None else json.dumps(_error_body(status, phrase))
        with self._lock:
            self._injections.append([path, status, sent, text.encode(), times])

    def inject_fault(
        self,
        path: str,
        kind: str,
        *,
        times: int = 1,
        seconds: float = 0.0,
        shift: int = 0,
        entries: list[_Obj] | None = None,
    ) -> None:
        """Misbehave on the next ``times`` requests whose path starts with ``path``.

        ``kind`` is ``"slow"`` (sleep ``seconds``, e.g. past the client's timeout, then answer),
        ``"reset"`` (close the connection with a TCP reset and no answer; recorded with status 0),
        ``"shift"`` (a page past the first is served as if its offset were ``offset - shift``
        while ``total`` stays the same: a positive shift repeats items of the previous page (and
        leaves as many out at the end of a full page), a negative one skips items) or
        ``"insert"`` (``entries``, log
        entries, are added just before a page past the first is answered, as if written
        meanwhile). ``shift`` and ``insert`` count only requests with an offset above 0.
        """
        if (
            kind not in ("slow", "reset", "shift", "insert")
            or not path.startswith("/")
            or times < 1
        ):
            raise ValueError(
                f"inject_fault({path!r}, {kind!r}, times={times}): kind must be slow, "
                "reset, shift or insert, path start with '/', times be at least 1"
            )
        if (
            (kind == "slow") != (seconds > 0)
            or (kind == "shift") != (shift != 0)
            or (kind == "insert") != bool(entries)
        ):
            raise ValueError(
                f"inject_fault kind {kind!r}: seconds= goes with slow, shift= with shift and "
                "entries= with insert, each needed there and refused elsewhere"
            )
        with self._lock:
            self._faults.append([path, kind, times, seconds, shift, list(entries or [])])

    def _apply_fault(
        self, handler: _Handler, method: str, path: str, query: dict[str, list[str]]
    ) -> dict[str, list[str]] | None:
        """Act out the first fault matching this request; ``None`` when the connection was cut."""
        raw = _one(query, "offset") or "0"
        paged = raw.isdigit() and int(raw) > 0
        with self._lock:
            fault = next(
                (
                    f
                    for f in self._faults
                    if path.startswith(f[0]) and (paged or f[1] in ("slow", "reset"))
                ),
                None,
            )
            if fault is not None:
                fault[2] -= 1
                if fault[2] == 0:
                    self._faults.remove(fault)
        if fault is None:
            return query
        kind, seconds, shift, entries = fault[1], fault[3], fault[4], fault[5]
        if kind == "slow":
            time.sleep(seconds)
        elif kind == "insert":
            self.add_log_entries(entries)
        elif kind == "shift":
            query = {**query, "offset": [str(max(0, int(raw) - shift))]}
        elif kind == "reset":
            with self._lock:
                self._requests.append(RequestRecord(method, path, query, 0))
            handler.close_connection = True
            handler.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.request.close()
            return None
        return query

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        """Forget the requests answered so far."""
        with self._lock:
            self._requests.clear()

    def _build(self) -> _Store:
        incident_rows = sorted(self._rows["incidents"], key=lambda row: row[:2])
        entry_rows = sorted(self._rows["entries"], key=lambda row: row[:2])
        per_incident: dict[str, list[tuple[float, int, _Obj]]] = {}
        notes: dict[str, list[_Obj]] = {}
        for row in entry_rows:
            entry = row[2]
            per_incident.setdefault(entry["incident"]["id"], []).append(row)
            if entry["type"] != "annotate_log_entry":
                continue
            agent = entry.get("agent") or {"id": "PBOT000", "type": "", "summary": "PagerDuty"}
            user = (
                agent
                if agent["type"] == "user_reference"
                else _reference("bot_user_reference", agent["id"], agent.get("summary") or "")
            )
            notes.setdefault(entry["incident"]["id"], []).insert(
                0,
                {
                    "id": entry["id"],
                    "user": user,
                    "channel": {"summary": "The PagerDuty website or APIs"},
                    "content": entry.get("note") or entry["channel"].get("summary", ""),
                    "created_at": entry["created_at"],
                    "updated_at": entry["created_at"],
                },
            )

        def pair(rows: list[tuple[float, int, _Obj]]) -> tuple[_Index, _Index]:
            overview = [row for row in rows if row[2]["type"] not in _DETAIL_ONLY_TYPES]
            return _Index(rows), _Index(overview)

        return _Store(
            incidents={row[2]["id"]: row[2] for row in incident_rows},
            incident_index=_Index(incident_rows),
            entry_index=pair(entry_rows),
            by_incident={inc_id: pair(rows) for inc_id, rows in per_incident.items()},
            notes=notes,
            numbers={str(row[2]["incident_number"]): row[2]["id"] for row in incident_rows},
            changes=_Index(sorted(self._rows["changes"], key=lambda row: row[:2])),
        )

    def _serve(self, handler: _Handler, method: str = "GET") -> None:
        url = urlsplit(handler.path)
        query = parse_qs(url.query, keep_blank_values=True)
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        faulted = self._apply_fault(handler, method, url.path, query)
        if faulted is None:
            return
        query = faulted
        with self._lock:
            injected = next((inj for inj in self._injections if url.path.startswith(inj[0])), None)
            if injected is not None:
                injected[4] -= 1
                if injected[4] == 0:
                    self._injections.remove(injected)
        if injected is not None:
            status, headers, payload = injected[1], injected[2], injected[3]
        else:
            headers, zone = {"Content-Type": "application/json"}, self.account_zone
            try:
                zone = self._zone(query)
                if method == "POST":
                    status, answer = 200, self._post(handler.headers, url.path, body)
                else:
                    status, answer = (
                        200,
                        self._answer(handler.headers.get("Authorization"), url.path, query, zone),
                    )
            except _ApiError as refusal:
                status = refusal.status
                answer = _error_body(status, refusal.message, refusal.errors)
            except Exception as exc:  # a bug in the stand-in must reach the client
                status, answer = 500, _error_body(500, f"stand-in failure: {exc!r}")
            payload = json.dumps(answer, default=lambda instant: instant.render(zone)).encode()
        with self._lock:
            self._requests.append(RequestRecord(method, url.path, query, status))
        if self.latency:
            time.sleep(self.latency)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _zone(self, query: dict[str, list[str]]) -> ZoneInfo:
        name = _one(query, "time_zone")
        try:
            return ZoneInfo(name) if name else self.account_zone
        except (ZoneInfoNotFoundError, ValueError):
            raise _ApiError(
                400,
                _INVALID,
                f"time_zone {name!r} is not an IANA zone such as UTC or America/New_York",
            ) from None

    def _answer(
        self, authorization: str | None, path: str, query: dict[str, list[str]], zone: ZoneInfo
    ) -> _Obj:
        if authorization != f"Token token={self.token}":
            raise _ApiError(401, "Unauthorized")
        store, parts = self._store, path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "incidents" and parts[1].isdigit():
            parts[1] = store.numbers.get(parts[1], parts[1])
        if parts == ["incidents"]:
            return self._list_incidents(store.incident_index, query, zone)
        if parts == ["log_entries"]:
            return self._list_entries(store.entry_index, query, zone)
        if parts == ["change_events"]:
            return self._list_changes(store.changes, query, zone)
        if len(parts) == 2 and parts[0] == "incidents" and parts[1] in store.incidents:
            return {"incident": store.incidents[parts[1]]}
        known = (
            len(parts) == 3
            and parts[0] == "incidents"
            and (parts[1] in store.incidents or parts[1] in store.by_incident)
        )
        if known and parts[2] == "log_entries":
            return self._list_entries(store.by_incident.get(parts[1], _NO_ENTRIES), query, zone)
        if known and parts[2] == "notes":
            with self._lock:
                posted = list(self._posted_notes.get(parts[1], []))
            return {"notes": posted[::-1] + store.notes.get(parts[1], [])}
        raise _ApiError(404, "Not Found", f"GET {path} is not served by the stand-in")

    def _post(self, headers: Any, path: str, body: bytes) -> _Obj:
        """``POST /incidents/{id}/notes``: PagerDuty's only write the stand-in serves."""
        if headers.get("Authorization") != f"Token token={self.token}":
            raise _ApiError(401, "Unauthorized")
        store, parts = self._store, path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "incidents" and parts[1].isdigit():
            parts[1] = store.numbers.get(parts[1], parts[1])
        if not (len(parts) == 3 and parts[0] == "incidents" and parts[2] == "notes"):
            raise _ApiError(404, "Not Found", f"POST {path} is not served by the stand-in")
        if parts[1] not in store.incidents:
            raise _ApiError(404, "Not Found", f"incident {parts[1]} does not exist")
        sender = headers.get("From") or ""
        if "@" not in sender:
            raise _ApiError(
                400,
                _INVALID,
                "You must specify a user's email address in the "
                '"From" header to perform this action',
            )
        try:
            content = json.loads(body)["note"]["content"]
        except (ValueError, KeyError, TypeError):
            content = None
        if not isinstance(content, str) or not content:
            raise _ApiError(400, _INVALID, "note.content must be a non-empty string")
        now = _Instant(datetime.now(UTC).replace(microsecond=0))
        user_id = "PU" + hashlib.sha1(sender.encode()).hexdigest()[:5].upper()
        with self._lock:
            notes = self._posted_notes.setdefault(parts[1], [])
            note = {
                "id": f"PN{len(self._posted_notes)}{len(notes) + 1:04d}",
                "user": _reference("user_reference", user_id, sender),
                "channel": {"summary": "The PagerDuty website or APIs"},
                "content": content,
                "created_at": now,
                "updated_at": now,
            }
            notes.append(note)
        return {"note": note}

    def posted_notes(self, incident_id: str) -> list[_Obj]:
        """The notes added with ``POST /incidents/{id}/notes`` to one incident, oldest first."""
        with self._lock:
            return [
                {**n, "created_at": n["created_at"].render(ZoneInfo("UTC"))}
                for n in self._posted_notes.get(incident_id, [])
            ]

    @staticmethod
    def _list_incidents(index: _Index, query: dict[str, list[str]], zone: ZoneInfo) -> _Obj:
        limit, offset, want_total = _page(query)
        if _one(query, "date_range") == "all":
            lo, hi = 0, len(index.items)
        else:
            since, until = _instant(query, "since", zone), _instant(query, "until", zone)
            until = time.time() if until is None else until
            since = until - DEFAULT_INCIDENT_WINDOW.total_seconds() if since is None else since
            if not 0 <= until - since <= MAX_INCIDENT_WINDOW.total_seconds():
                raise _ApiError(
                    400, _INVALID, "since must not be after until, nor more than 6 months before it"
                )
            lo, hi = index.window(since, until)
        statuses = query.get("statuses[]")
        if statuses and not set(statuses) <= set(_STATUSES):
            raise _ApiError(
                400, _INVALID, "Status must be a list of triggered, acknowledged, or resolved."
            )
        services, urgencies = query.get("service_ids[]"), query.get("urgencies[]")
        teams = query.get("team_ids[]")
        if statuses or services or urgencies or teams:
            matched = [
                item
                for item in reversed(index.items[lo:hi])
                if (not statuses or item["status"] in statuses)
                and (not services or item["service"]["id"] in services)
                and (not urgencies or item["urgency"] in urgencies)
                and (not teams or any(t["id"] in teams for t in item["teams"]))
            ]
            total, page = len(matched), matched[offset : offset + limit]
        else:
            total, page = hi - lo, index.newest_first(lo, hi, offset, limit)
        return {
            "incidents": page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < total,
            "total": total if want_total else None,
        }

    @staticmethod
    def _list_changes(index: _Index, query: dict[str, list[str]], zone: ZoneInfo) -> _Obj:
        limit, offset, want_total = _page(query)
        lo, hi = index.window(_instant(query, "since", zone), _instant(query, "until", zone))
        page = index.newest_first(lo, hi, offset, limit)
        return {
            "change_events": page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < hi - lo,
            "total": hi - lo if want_total else None,
        }

    @staticmethod
    def _list_entries(
        indexes: tuple[_Index, _Index], query: dict[str, list[str]], zone: ZoneInfo
    ) -> _Obj:
        limit, offset, want_total = _page(query)
        index = indexes[1] if _one(query, "is_overview") == "true" else indexes[0]
        lo, hi = index.window(_instant(query, "since", zone), _instant(query, "until", zone))
        page = index.newest_first(lo, hi, offset, limit)
        return {
            "log_entries": page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < hi - lo,
            "total": hi - lo if want_total else None,
        }
