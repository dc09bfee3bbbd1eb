"""A fault layer for the AWS side of the sandbox: an HTTP proxy in front of moto's server.

boto3 is pointed at :attr:`FaultProxy.endpoint_url` instead of moto's; every request is
forwarded unchanged, except those an injected fault matches by operation. The operation is read
the way each AWS protocol carries it: the ``X-Amz-Target`` header (JSON 1.0/1.1, which botocore
uses for CloudWatch today), the ``/service/{service}/operation/{operation}`` path
(Smithy RPC v2 CBOR) or the ``Action`` form field (the query protocol).

Faults, each for the next ``times`` matching requests:

``throttle``
    HTTP 400 with the protocol's ``Throttling`` error (the code CloudWatch sends), optionally
    with ``x-amz-retry-after``; botocore's retry modes treat it as a throttle.
``error``
    HTTP ``status`` (500 or 503) with the protocol's error body (``InternalFailure`` or
    ``ServiceUnavailable``).
``slow``
    The real answer, sent after ``seconds`` (set it past the client's ``read_timeout``).
``reset``
    The connection is closed with a TCP reset and no answer.
``truncate``
    The real status and headers, ``Content-Length`` included, then half the body and a reset.
``expired``
    HTTP 400 with ``ExpiredToken``: credentials that ran out mid-run (use ``after``).
``garbage``
    HTTP 200 with a body that is neither JSON, XML nor CBOR (a captive portal's page).
``token``
    The real answer with its JSON ``NextToken`` set to ``token``: a loop (the token already
    given) or a page that goes back (an earlier page's token).

``after`` lets that many matching requests through untouched before the fault applies.

Only the standard library is used, so the proxy costs nothing to start.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["FAULT_KINDS", "FaultProxy", "ProxiedRequest", "error_answer", "operation_of"]

FAULT_KINDS = ("throttle", "error", "slow", "reset", "truncate", "expired", "garbage", "token")
"""The faults :meth:`FaultProxy.inject` accepts."""

_ERROR_CODES = {
    429: "TooManyRequestsException",
    500: "InternalFailure",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}
)


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy handled: its operation, the fault applied (or ``None``) and the
    status the client got (``0`` when the connection was cut before a status line)."""

    operation: str
    fault: str | None
    status: int


@dataclass
class _Fault:
    """One injected fault and how many more requests it applies to."""

    operation: str
    kind: str
    times: int
    status: int
    seconds: float
    retry_after: float | None
    after: int = 0
    token: str = ""


def operation_of(path: str, headers: Any, body: bytes) -> str:
    """The AWS operation a request calls, from whichever place its protocol puts it; ``""`` if none."""
    target = headers.get("X-Amz-Target") or ""
    if target:
        return target.rsplit(".", 1)[-1]
    parts = urlsplit(path).path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "service" and parts[2] == "operation":
        return parts[3]
    form = parse_qs(urlsplit(path).query)
    if "x-www-form-urlencoded" in (headers.get("Content-Type") or ""):
        form |= parse_qs(body.decode("utf-8", "replace"))
    return (form.get("Action") or [""])[0]


def _cbor_text(text: str) -> bytes:
    raw = text.encode("utf-8")
    n = len(raw)
    head = (
        bytes([0x60 | n])
        if n < 24
        else bytes([0x78, n])
        if n < 256
        else bytes([0x79]) + struct.pack(">H", n)
    )
    return head + raw


def _cbor_map(fields: dict[str, str]) -> bytes:
    """A CBOR map of text to text (all the error body needs), written out by hand."""
    return bytes([0xA0 | len(fields)]) + b"".join(
        _cbor_text(k) + _cbor_text(v) for k, v in fields.items()
    )


def error_answer(
    request_headers: Any, status: int, code: str, message: str, sender: bool
) -> tuple[dict[str, str], bytes]:
    """Headers and body of an AWS error in the protocol the request used."""
    kind = "Sender" if sender else "Receiver"
    content_type = request_headers.get("Content-Type") or ""
    request_id = "00000000-0000-4000-8000-00000000fa17"
    headers = {"x-amzn-RequestId": request_id}
    if "cbor" in content_type or "rpc-v2-cbor" in (request_headers.get("smithy-protocol") or ""):
        headers |= {
            "Content-Type": "application/cbor",
            "smithy-protocol": "rpc-v2-cbor",
            "x-amzn-query-error": f"{code};{kind}",
        }
        return headers, _cbor_map(
            {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}
        )
    if "amz-json" in content_type:
        headers |= {"Content-Type": content_type, "x-amzn-query-error": f"{code};{kind}"}
        return headers, json.dumps(
            {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}
        ).encode()
    headers["Content-Type"] = "text/xml"
    xml = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return headers, xml.encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hung up (a timed-out client leaves a slow answer unread)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded in ``FaultProxy.requests``."""

    def do_POST(self) -> None:
        self.server.proxy._handle(self)

    do_GET = do_POST


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of ``upstream`` (moto's server) that injects faults."""

    def __init__(self, upstream: str) -> None:
        """Forward to ``upstream``, an ``http://host:port`` URL such as ``MotoSandbox.endpoint_url``."""
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(
                f"FaultProxy upstream {upstream!r} must be http://host:port, "
                "e.g. MotoSandbox().endpoint_url"
            )
        self.upstream = (parts.hostname, parts.port)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._requests: list[ProxiedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, once started: give it to boto3 as ``endpoint_url``."""
        if self._server is None:
            raise RuntimeError("FaultProxy is not running: call start() or use `with`")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"FaultProxy is already running at {self.endpoint_url}")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="aws-fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; safe to repeat."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(
        self,
        operation: str,
        kind: str,
        *,
        times: int = 1,
        status: int = 500,
        seconds: float = 0.0,
        retry_after: float | None = None,
        after: int = 0,
        token: str = "",
    ) -> None:
        """Apply fault ``kind`` (see the module docstring) to the next ``times`` calls of ``operation``.

        ``operation`` is an API name such as ``"DescribeAlarmHistory"``, or ``"*"`` for any;
        ``status`` is the ``error`` fault's status; ``seconds`` the ``slow`` fault's delay;
        ``retry_after`` the seconds a ``throttle`` asks to wait (``x-amz-retry-after``).
        ``after`` lets that many matching requests pass first; ``token`` is the ``token`` fault's
        ``NextToken``. Faults are used first come, first served.
        """
        if kind not in FAULT_KINDS or times < 1 or (kind == "slow") != (seconds > 0):
            raise ValueError(
                f"inject({operation!r}, {kind!r}): kind must be one of {', '.join(FAULT_KINDS)}, "
                "times at least 1, and seconds > 0 given for slow (only)"
            )
        if kind == "error" and status not in _ERROR_CODES:
            raise ValueError(
                f"inject error status {status} must be one of {', '.join(map(str, _ERROR_CODES))}"
            )
        with self._lock:
            self._faults.append(
                _Fault(operation, kind, times, status, seconds, retry_after, after, token)
            )

    @property
    def requests(self) -> list[ProxiedRequest]:
        """A snapshot of every request handled so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def _take(self, operation: str) -> _Fault | None:
        with self._lock:
            fault = next((f for f in self._faults if f.operation in ("*", operation)), None)
            if fault is not None and fault.after > 0:
                fault.after -= 1
                return None
            if fault is not None:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
            return fault

    def _record(self, operation: str, fault: str | None, status: int) -> None:
        with self._lock:
            self._requests.append(ProxiedRequest(operation, fault, status))

    def _handle(self, handler: _Handler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        operation = operation_of(handler.path, handler.headers, body)
        fault = self._take(operation)
        kind = fault.kind if fault else None
        if kind == "reset":
            self._record(operation, kind, 0)
            self._reset(handler)
            return
        if kind == "garbage":
            self._record(operation, kind, 200)
            page = b"Sign in to the guest network to continue."
            self._send(handler, 200, {"Content-Type": "text/plain"}, page)
            return
        if fault is not None and kind in ("throttle", "error", "expired"):
            status = 500 if kind == "error" else 400
            status = fault.status if kind == "error" else status
            if kind == "throttle":
                code, message = "Throttling", "Rate exceeded"
            elif kind == "expired":
                code = "ExpiredToken"
                message = "The security token included in the request is expired"
            else:
                code = _ERROR_CODES[status]
                message = f"injected {status} from the sandbox fault layer"
            headers, payload = error_answer(
                handler.headers, status, code, message, sender=kind != "error"
            )
            if kind == "throttle" and fault.retry_after is not None:
                headers["x-amz-retry-after"] = str(int(fault.retry_after * 1000))
            self._record(operation, kind, status)
            self._send(handler, status, headers, payload)
            return
        status, headers, payload = self._forward(handler, body)
        if fault is not None and kind == "token":
            answer = json.loads(payload)
            answer["NextToken"] = fault.token
            payload = json.dumps(answer).encode()
        self._record(
            operation, kind, status
        )  # before a slow answer is sent, so the log keeps arrival order
        if fault is not None and kind == "slow":
            time.sleep(fault.seconds)
        if kind == "truncate":
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            self._reset(handler)
            return
        self._send(handler, status, headers, payload)

    def _forward(self, handler: _Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, kept, payload
        finally:
            conn.close()

    @staticmethod
    def _send(handler: _Handler, status: int, headers: dict[str, str], payload: bytes) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    @staticmethod
    def _reset(handler: _Handler) -> None:
        """Close the client's connection with a TCP reset (SO_LINGER 0), not an orderly close."""
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
