"""A plain-HTTP forwarding proxy that adds a fixed delay to every request, and counts them.

Put in front of moto's server it gives CloudWatch the round-trip time of a real region, the way
``PagerDutyStandIn(latency=...)`` does for PagerDuty, so a benchmark measures how a client
spends round trips rather than how fast loopback is.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-connection",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        proxy = self.server.proxy
        proxy.count(_operation(self.path, self.headers.get("X-Amz-Target"), body))
        time.sleep(proxy.delay)
        upstream = proxy.connection()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException):
            proxy.drop_connection()
            raise
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _forward


def _operation(path: str, target: str | None, body: bytes) -> str:
    """The AWS operation of a request: rpc-v2-cbor's path, JSON's target, or query's Action."""
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    if target:
        return target.rsplit(".", 1)[-1]
    for part in body.split(b"&"):
        if part.startswith(b"Action="):
            return part[7:].decode("ascii", "replace")
    return "?"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: DelayProxy


class DelayProxy:
    """Forward ``http://127.0.0.1:PORT`` to ``upstream`` after ``delay`` seconds per request."""

    def __init__(self, upstream: str, delay: float) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.delay = delay
        """Seconds slept before each request is forwarded."""
        self.requests = 0
        """Requests forwarded so far."""
        self.operations: Counter[str] = Counter()
        """Requests forwarded so far, by AWS operation."""
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, operation: str = "?") -> None:
        with self._lock:
            self.requests += 1
            self.operations[operation] += 1

    def connection(self) -> http.client.HTTPConnection:
        """This handler thread's kept-alive connection to the upstream."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return conn

    def drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
