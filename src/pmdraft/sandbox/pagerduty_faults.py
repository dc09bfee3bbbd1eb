"""Fault injection for the PagerDuty stand-in: answers and misbehaviour on demand.

The tests (and ``make bench``) use these to make the stand-in answer a status with PagerDuty's
error body, or be slow, reset the connection, or shift a page, for the next few requests to a
path; the demo never does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .pagerduty_api import RequestRecord, _error_body, _one

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler as _Handler

_Obj = dict[str, Any]


class FaultInjection:
    """Mixed into the stand-in: ``inject`` answers, ``inject_fault`` misbehaviour."""

    _lock: threading.Lock
    _injections: list[list[Any]]
    _faults: list[list[Any]]
    _requests: list[RequestRecord]

    listing_total: bool = True
    """Whether listings answer ``total=true`` with ``total`` (PagerDuty need not): set it to
    ``False`` to serve every listing without one (``"total": null``), as the API may."""

    repeat_forever: bool = False
    """Serve listings as the official OpenAPI example does: ``limit: 1``, ``more: true`` and the
    same newest record at every offset, with no ``total``."""

    def shape_listing(self, answer: _Obj) -> _Obj:
        """``answer`` (a listing) as :attr:`listing_total` and :attr:`repeat_forever` make it."""
        key = next((k for k, v in answer.items() if isinstance(v, list)), None)
        if key is None or "more" not in answer:
            return answer
        if self.repeat_forever:
            # The record the first page gave, served again at every later offset.
            firsts: dict[str, list[_Obj]] = self.__dict__.setdefault("_repeated", {})
            if answer["offset"] == 0 or key not in firsts:
                firsts[key] = answer[key][:1]
            first = firsts[key]
            return {key: first, "limit": 1, "offset": answer["offset"], "more": bool(first)}
        if not self.listing_total:
            return {**answer, "total": None}
        return answer

    def add_log_entries(self, entries: list[_Obj]) -> None:
        """Provided by the stand-in (an ``insert`` fault adds entries while a listing is read)."""
        raise NotImplementedError

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
