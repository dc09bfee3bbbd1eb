"""A Slack Web API stand-in on 127.0.0.1, for slack_sdk's own ``WebClient`` to talk to.

It speaks the shapes of Slack's method docs (examples in ``tests/data/slack`` in the
repository): ``ok`` on every answer, errors as HTTP 200 with ``ok: false`` (``invalid_auth``,
``not_in_channel``, ``channel_not_found``, ``user_not_found``), cursor pagination with
``response_metadata.next_cursor`` (empty when done), ``conversations.history`` newest first
with ``has_more`` and ``oldest``/``latest``/``inclusive`` bounds, and HTTP 429 with
``Retry-After`` when told to throttle a method.

slack_sdk sends every call as a ``POST`` to ``<base_url><method>``; the arguments of methods it
calls "GET" travel in the query string, the others in a form-encoded body; the token is a
``Authorization: Bearer`` header. The stand-in reads all three places.

Seed it from plain dicts: channels (``id``, ``name``, ``is_private``, ``is_member``), messages
per channel id (thread replies among them, marked by ``thread_ts``), pinned ``ts`` per channel,
users by id. ``log`` records ``(method, params)`` of every request, in order.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]
CHANNEL_METHODS = {"conversations.history", "conversations.replies", "pins.list"}


def _cursor(offset: int) -> str:
    return base64.b64encode(f"next:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(base64.b64decode(cursor).decode().split(":", 1)[1])


def _page(
    items: list[Json], params: Mapping[str, str], default: int = 100
) -> tuple[list[Json], str]:
    start, limit = _offset(params.get("cursor")), int(params.get("limit") or default)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return chunk, _cursor(start + limit) if more else ""


def _within(ts: str, params: Mapping[str, str]) -> bool:
    at = Decimal(ts)
    inclusive = params.get("inclusive", "").lower() in ("1", "true")
    oldest, latest = params.get("oldest"), params.get("latest")
    if oldest and (at < Decimal(oldest) or (at == Decimal(oldest) and not inclusive)):
        return False
    return not (latest and (at > Decimal(latest) or (at == Decimal(latest) and not inclusive)))


class SlackStandIn:
    """A seeded Slack workspace served over HTTP on a free loopback port."""

    def __init__(
        self,
        token: str,
        *,
        team_url: str = "https://acme.slack.com/",
        bot_user: str = "pmdraft",
        channels: Iterable[Json] = (),
        messages: Mapping[str, list[Json]] | None = None,
        pins: Mapping[str, Iterable[str]] | None = None,
        users: Mapping[str, Json] | None = None,
    ) -> None:
        self.token = token
        self.team_url = team_url
        self.bot_user = bot_user
        self.channels = {c["id"]: {"is_private": False, "is_member": True, **c} for c in channels}
        self.messages = {k: list(v) for k, v in (messages or {}).items()}
        self.pins = {k: list(v) for k, v in (pins or {}).items()}
        self.users = dict(users or {})
        self.log: list[tuple[str, dict[str, str]]] = []
        self._throttles: dict[str, list[Any]] = {}
        self._failures: dict[str, Json] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The Web API root to give ``WebClient(base_url=...)``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def throttle(self, method: str, times: int = 1, retry_after: str = "1") -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        self._throttles[method] = [times, retry_after]

    def fail(self, method: str, error: str, **extra: str) -> None:
        """Answer every later call of ``method`` with ``ok: false``, ``error`` and ``extra``."""
        self._failures[method] = {"ok": False, "error": error, **extra}

    def calls(self, method: str) -> list[dict[str, str]]:
        """The params of each logged call of ``method``."""
        return [p for m, p in self.log if m == method]

    def __enter__(self) -> SlackStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = dict(parse_qsl(url.query))
                if "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    params.update(parse_qsl(body))
                method = url.path.rsplit("/", 1)[-1]
                status, headers, answer = standin.answer(
                    method, params, self.headers.get("Authorization") or ""
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                for key, value in {**headers, "Content-Type": "application/json"}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def answer(
        self, method: str, params: dict[str, str], auth: str
    ) -> tuple[int, dict[str, str], Json]:
        """Status, headers and JSON body for one call (what the HTTP handler sends)."""
        with self._lock:
            self.log.append((method, dict(params)))
            throttle = self._throttles.get(method)
            if throttle and throttle[0] > 0:
                throttle[0] -= 1
                return 429, {"Retry-After": throttle[1]}, {"ok": False, "error": "ratelimited"}
        if auth != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth" if auth else "not_authed"}
        if method in self._failures:
            return 200, {}, dict(self._failures[method])
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        if method in CHANNEL_METHODS or method == "conversations.info":
            channel = self.channels.get(params.get("channel", ""))
            if channel is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            if method in CHANNEL_METHODS and not channel["is_member"]:
                return 200, {}, {"ok": False, "error": "not_in_channel"}
        result: Json = handler(params)
        return 200, {}, result

    def _auth_test(self, params: dict[str, str]) -> Json:
        return {
            "ok": True,
            "url": self.team_url,
            "team": "Acme",
            "user": self.bot_user,
            "team_id": "T0ACME0001",
            "user_id": "U0PMDRAFT1",
            "bot_id": "B0PMDRAFT1",
            "is_enterprise_install": False,
        }

    def _channel_record(self, channel: Json) -> Json:
        return {
            "id": channel["id"],
            "name": channel["name"],
            "is_channel": not channel["is_private"],
            "is_group": False,
            "is_im": False,
            "is_private": channel["is_private"],
            "is_archived": bool(channel.get("is_archived", False)),
            "is_member": channel["is_member"],
            "created": int(channel.get("created", 1700000000)),
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }

    def _conversations_list(self, params: dict[str, str]) -> Json:
        types = set((params.get("types") or "public_channel").split(","))
        wanted = [
            self._channel_record(c)
            for c in self.channels.values()
            if ("private_channel" if c["is_private"] else "public_channel") in types
        ]
        chunk, cursor = _page(wanted, params)
        return {"ok": True, "channels": chunk, "response_metadata": {"next_cursor": cursor}}

    def _conversations_info(self, params: dict[str, str]) -> Json:
        return {"ok": True, "channel": self._channel_record(self.channels[params["channel"]])}

    def _thread_facts(self, channel: str, message: Json) -> Json:
        replies = [
            m
            for m in self.messages.get(channel, [])
            if m.get("thread_ts") == message["ts"] and m["ts"] != message["ts"]
        ]
        if not replies:
            return message
        return {
            "thread_ts": message["ts"],
            "reply_count": len(replies),
            "reply_users": sorted({str(r.get("user")) for r in replies}),
            "latest_reply": max((r["ts"] for r in replies), key=Decimal),
            **message,
        }

    def _conversations_history(self, params: dict[str, str]) -> Json:
        channel = params["channel"]
        top = [
            self._thread_facts(channel, m)
            for m in self.messages.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        shown = sorted(
            (m for m in top if _within(m["ts"], params)),
            key=lambda m: Decimal(m["ts"]),
            reverse=True,
        )
        chunk, cursor = _page(shown, params)
        return {
            "ok": True,
            "messages": [{"type": "message", **m} for m in chunk],
            "has_more": bool(cursor),
            "pin_count": len(self.pins.get(channel, [])),
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, params: dict[str, str]) -> Json:
        channel, parent_ts = params["channel"], params["ts"]
        everything = self.messages.get(channel, [])
        parent = next((m for m in everything if m["ts"] == parent_ts), None)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = sorted(
            (
                m
                for m in everything
                if m.get("thread_ts") == parent_ts
                and m["ts"] != parent_ts
                and _within(m["ts"], params)
            ),
            key=lambda m: Decimal(m["ts"]),
        )
        chunk, cursor = _page(replies, params, default=1000)
        first = [] if params.get("cursor") else [self._thread_facts(channel, parent)]
        return {
            "ok": True,
            "messages": [{"type": "message", **m} for m in first + chunk],
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    def _pins_list(self, params: dict[str, str]) -> Json:
        channel = params["channel"]
        by_ts = {m["ts"]: m for m in self.messages.get(channel, [])}
        items = [
            {
                "type": "message",
                "created": int(Decimal(ts)) + 60,
                "created_by": "U0JANE0001",
                "channel": channel,
                "message": {
                    "type": "message",
                    **by_ts[ts],
                    "permalink": self._permalink(channel, ts),
                },
            }
            for ts in self.pins.get(channel, [])
            if ts in by_ts
        ]
        return {"ok": True, "items": items}

    def _permalink(self, channel: str, ts: str) -> str:
        return f"{self.team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"

    def _users_info(self, params: dict[str, str]) -> Json:
        user = self.users.get(params.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _users_list(self, params: dict[str, str]) -> Json:
        chunk, cursor = _page(list(self.users.values()), params, default=200)
        return {
            "ok": True,
            "members": chunk,
            "cache_ts": 1705329120,
            "response_metadata": {"next_cursor": cursor},
        }


def user(user_id: str, real_name: str, display_name: str = "", *, is_bot: bool = False) -> Json:
    """A ``users.info`` user record in the documented shape."""
    handle = real_name.lower().replace(" ", ".")
    return {
        "id": user_id,
        "team_id": "T0ACME0001",
        "name": handle,
        "deleted": False,
        "real_name": real_name,
        "tz": "Europe/Berlin",
        "tz_offset": 3600,
        "is_admin": False,
        "is_bot": is_bot,
        "updated": 1705000000,
        "profile": {
            "real_name": real_name,
            "display_name": display_name,
            "real_name_normalized": real_name,
            "display_name_normalized": display_name,
            "email": f"{handle}@example.com",
            "team": "T0ACME0001",
        },
    }
