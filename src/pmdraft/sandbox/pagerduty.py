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

import contextlib
import hashlib
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import trustme

from .pagerduty_api import (
    _DETAIL_ONLY_TYPES,
    _INVALID,
    _NO_ENTRIES,
    RequestRecord,
    _ApiError,
    _error_body,
    _Index,
    _Instant,
    _one,
    _prepare,
    _Store,
    list_changes,
    list_entries,
    list_incidents,
)
from .pagerduty_faults import FaultInjection
from .pagerduty_records import (
    _reference,
    change_event,
    incident,
    log_entry,
)

__all__ = ["PagerDutyStandIn", "RequestRecord", "change_event", "incident", "log_entry"]

_Obj = dict[str, Any]  # a JSON object, as PagerDuty sends it


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


class PagerDutyStandIn(FaultInjection):
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
        return str(self._tmp / "ca.pem")  # type: ignore[operator]  # _tmp is set by start()

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
        """Load PagerDuty ``ChangeEvent`` dicts (see :func:`change_event`); in bulk, not singly."""
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
                    answer = self._answer(
                        handler.headers.get("Authorization"), url.path, query, zone
                    )
                    status, answer = 200, self.shape_listing(answer)
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

    _list_incidents = staticmethod(list_incidents)
    _list_changes = staticmethod(list_changes)
    _list_entries = staticmethod(list_entries)

    def posted_notes(self, incident_id: str) -> list[_Obj]:
        """The notes added with ``POST /incidents/{id}/notes`` to one incident, oldest first."""
        with self._lock:
            return [
                {**n, "created_at": n["created_at"].render(ZoneInfo("UTC"))}
                for n in self._posted_notes.get(incident_id, [])
            ]
