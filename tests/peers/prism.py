"""Stoplight Prism serving PagerDuty's own OpenAPI document, behind a loopback TLS proxy.

Prism (``make prism`` installs it into ``.prism/``) is a mock server nobody here wrote: it answers
from the document's examples (static mode) or with random data valid under its schemas (dynamic
mode, ``-d``). It speaks plain http, and the ``pagerduty`` client refuses a base URL that is not
https, so :class:`TlsProxy` terminates TLS with a ``trustme`` CA on 127.0.0.1 and forwards each
request to Prism unchanged. :class:`PrismPeer` runs both.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from tests.sandbox.test_pagerduty_standin import relax

PEERS = Path(__file__).resolve().parent
REPO = PEERS.parents[1]
SUBSET = REPO / "tests/data/pagerduty-openapi/openapiv3-subset.json"
PRISM = REPO / ".prism" / "node_modules" / ".bin" / "prism"
"""The Prism pinned by ``tests/peers/package.json`` and its lockfile, installed by ``make prism``."""

READY_SECONDS = 30.0
"""Seconds Prism may take to load the document and listen before the fixture gives up."""

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
"""Headers that describe one connection, not the message: the proxy sets its own."""

VND_JSON = "application/vnd.pagerduty+json"


def missing_reason() -> str | None:
    """Why Prism cannot run here (a sentence naming the fix), or ``None`` when it can."""
    if not PRISM.exists():
        return (
            f"Stoplight Prism is not installed ({PRISM.relative_to(REPO)} is missing): "
            "run `make prism`, which needs npm and the npm registry"
        )
    if shutil.which("node") is None:
        return "Stoplight Prism is installed but node is not on PATH"
    return None


def prism_document(document: dict[str, Any]) -> dict[str, Any]:
    """PagerDuty's document, relaxed so that Prism answers the official client as the API does.

    The known defects (``relax()`` of the stand-in's tests: Channel's oneOf, the misspelt
    acknowledge type, AgentReference's closed type list, Incident's non-nullable ``resolved_at``
    and ``priority``) do not stop Prism; they are relaxed all the same so that dynamic mode also
    generates what the real API sends (``acknowledge_log_entry``, integration agent types, null
    ``resolved_at`` and ``priority``). Three more defects make Prism refuse what the API accepts:
    """
    relaxed = relax(document)
    parameters = relaxed["components"]["parameters"]
    # Every GET declares a *required* ``Content-Type: application/json`` header, though a GET has
    # no body; the API does not ask for it and the official client sends it only with a body.
    # Prism validates requests and answers 400 without it.
    parameters["header_Content-Type"]["required"] = False
    # GET /change_events gives ``since`` and ``until`` the regex pattern "YYYY-MM-DDThh:mm:ssZ",
    # a format written for people: as a pattern it matches only that literal text, so Prism
    # answers 400 to every real time. ``format: date-time`` stays.
    for name in ("change_since", "change_until"):
        del parameters[name]["schema"]["pattern"]
    # Every GET requires ``Accept: application/vnd.pagerduty+json;version=2`` (the client sends
    # it) but declares its responses only as ``application/json``, which the API serves for that
    # Accept. Prism negotiates strictly and answers 406, so each JSON response is also offered as
    # the vendor type (Prism then labels its answers with it; the client decodes either).
    for item in relaxed["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content") or {}
                if "application/json" in content:
                    content[VND_JSON] = content["application/json"]
    return relaxed


@dataclass(frozen=True)
class Forwarded:
    """One request the proxy passed to Prism, and Prism's status."""

    method: str
    target: str
    status: int


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: TlsProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Drop connection-level failures: a client hanging up, a refused TLS handshake."""


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True
    server: _ProxyServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded in ``TlsProxy.forwarded``."""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.proxy.upstream_port, 30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            status, reason, answer_headers = answer.status, answer.reason, answer.getheaders()
        except OSError as exc:
            status, reason, answer_headers = 502, "Bad Gateway", []
            payload = f"proxy could not reach Prism: {exc}".encode()
        finally:
            upstream.close()
        self.server.proxy._record(Forwarded(self.command, self.path, status))
        self.send_response_only(status, reason)  # Prism's own Date, no Server of ours
        for key, value in answer_headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward


class TlsProxy:
    """HTTPS on 127.0.0.1 (a fresh ``trustme`` CA) forwarding to plain http on ``upstream_port``.

    Method, path, query, headers (Authorization included) and body go through as sent; status,
    headers and body come back as Prism sent them.
    """

    def __init__(self, upstream_port: int, folder: Path) -> None:
        self.upstream_port = upstream_port
        self._folder = folder
        self._lock = threading.Lock()
        self._forwarded: list[Forwarded] = []
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT``, once started."""
        if self._server is None:
            raise RuntimeError("TlsProxy is not running")
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def ca_path(self) -> str:
        """PEM file of the CA that signed the proxy's certificate."""
        return str(self._folder / "ca.pem")

    @property
    def forwarded(self) -> list[Forwarded]:
        """Every request passed to Prism so far, in order."""
        with self._lock:
            return list(self._forwarded)

    def clear(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._forwarded.clear()

    def _record(self, item: Forwarded) -> None:
        with self._lock:
            self._forwarded.append(item)

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve HTTPS from a daemon thread."""
        ca, context = trustme.CA(), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca.cert_pem.write_to_path(self.ca_path)
        server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        server.proxy = self
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="prism-tls-proxy", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; safe to repeat."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrismPeer:
    """``prism mock`` on 127.0.0.1 serving the relaxed document, behind a :class:`TlsProxy`.

    ``dynamic`` makes Prism generate random, schema-valid answers (``-d``), the same sequence for
    the same ``seed``; otherwise it answers with the document's examples.
    """

    def __init__(self, folder: Path, *, dynamic: bool = False, seed: str = "pmdraft") -> None:
        self.folder = folder
        self.dynamic = dynamic
        self.seed = seed
        self.port = 0
        self.log_path = folder / "prism.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.proxy: TlsProxy | None = None

    @property
    def base_url(self) -> str:
        """The proxy's ``https://127.0.0.1:PORT``: what a PagerDuty client is pointed at."""
        return self._proxy().base_url

    @property
    def ca_path(self) -> str:
        """The proxy's CA bundle, for ``verify=`` or ``[pagerduty] ca_bundle``."""
        return self._proxy().ca_path

    def _proxy(self) -> TlsProxy:
        if self.proxy is None:
            raise RuntimeError("PrismPeer is not running: use `with`")
        return self.proxy

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines Prism wrote."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def start(self) -> None:
        """Write the document, start Prism, wait until it answers, then start the proxy."""
        self.folder.mkdir(parents=True, exist_ok=True)
        document = self.folder / "pagerduty-openapi.json"
        document.write_text(json.dumps(prism_document(json.loads(SUBSET.read_text()))))
        self.port = _free_port()
        command = [str(PRISM), "mock", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.dynamic:
            command += ["--dynamic", "--seed", self.seed]
        command.append(str(document))
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self._wait_ready()
        self.proxy = TlsProxy(self.port, self.folder)
        self.proxy.start()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Prism exited with {self._process.returncode} before it listened on "
                    f"127.0.0.1:{self.port}:\n{self.log_tail()}"
                )
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means Prism is listening
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"Prism did not listen on 127.0.0.1:{self.port} within {READY_SECONDS:g} s:\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the proxy and Prism; safe to repeat."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> PrismPeer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def example(operation_path: str) -> dict[str, Any]:
    """The 200 response example the document gives for GET ``operation_path``."""
    document = json.loads(SUBSET.read_text())
    content = document["paths"][operation_path]["get"]["responses"]["200"]["content"]
    return copy.deepcopy(content["application/json"]["examples"]["response"]["value"])
