"""The Slack Web API as pmdraft uses it: a thin, counting, error-translating ``WebClient``.

Every request goes through one ``slack_sdk.WebClient`` whose retry handlers are the only place
requests are repeated: a 429 is retried after exactly its ``Retry-After`` (at most
``max_retries`` times, and never for a wait over ``max_retry_wait``), a dropped connection a
bounded number of times. Each attempt, first or retry, is counted in ``counter``. Slack's
``ok: false`` answers become :class:`~pmdraft.errors.CollectorError` messages that name the
method, the channel and the fix; the token is never part of one.

Names are read with ``users.info``, once per distinct person per run: an incident channel has a
handful of authors, while ``users.list`` pages through the whole workspace (thousands of people,
tens of pages at 200 a page).
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from ...errors import CollectorError

SOURCE = "slack"

SCOPES = {
    "conversations.history": "channels:history (public) or groups:history (private)",
    "conversations.replies": "channels:history (public) or groups:history (private)",
    "conversations.list": "channels:read and groups:read",
    "conversations.info": "channels:read (public) or groups:read (private)",
    "pins.list": "pins:read",
    "users.info": "users:read",
    "auth.test": "none",
}
"""The bot token scopes each method needs, named in a ``missing_scope`` error."""

_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


class SlackError(CollectorError):
    """A Slack method answered ``ok: false``; ``error`` is Slack's code (``not_in_channel``)."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(SOURCE, message)
        self.error = error


class Counter:
    """A thread-safe count of HTTP requests (first attempts and retries alike)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> None:
        """Count ``n`` more requests."""
        with self._lock:
            self.value += n


def slack_ts(at: datetime) -> str:
    """An aware datetime as Slack's ``"%d.%06d"`` seconds string (``1705329120.000200``)."""
    micros = round(at.timestamp() * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _retry_after(response: HttpResponse) -> float:
    for key, values in response.headers.items():
        if key.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return 1.0


class PacedRateLimitHandler(RateLimitErrorRetryHandler):
    """Slack's 429 handler, waiting exactly ``Retry-After`` through an injectable ``sleep``.

    The built-in one adds up to a second of jitter and always sleeps for real; this one waits
    what Slack asked, refuses waits over ``max_wait`` seconds, counts each retry, and lets a
    test pass a ``sleep`` that only records.
    """

    def __init__(
        self,
        counter: Counter,
        *,
        max_retry_count: int,
        max_wait: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.counter = counter
        self.max_wait = max_wait
        self.sleep = sleep
        self.waits: list[float] = []
        """Seconds waited for each retry, in order."""
        self.last_wait: float | None = None
        """The last ``Retry-After`` seen, retried or not."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        self.last_wait = _retry_after(response)
        return self.last_wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait ``Retry-After`` seconds, then ask for one more attempt."""
        wait = self.last_wait if self.last_wait is not None else 1.0
        self.waits.append(wait)
        self.sleep(wait)
        self.counter.add()
        state.next_attempt_requested = True
        state.increment_current_attempt()


class CountingConnectionRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retries, each retry counted as a request."""

    def __init__(self, counter: Counter, *, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.counter = counter

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Count the retry, then back off as slack_sdk does."""
        self.counter.add()
        super().prepare_for_next_attempt(
            state=state, request=request, response=response, error=error
        )


class SlackClient:
    """The few Web API methods an incident channel reader needs, each request counted.

    ``channel_names`` maps channel ids to names as they become known, so errors can say
    ``#inc-4711 (C0123)``. ``token_env`` is only named in messages, never read here.
    """

    def __init__(
        self,
        token: str,
        *,
        token_env: str = "SLACK_BOT_TOKEN",
        base_url: str | None = None,
        page_size: int = 200,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        counter: Counter | None = None,
        timeout: int = 30,
    ) -> None:
        self.counter = counter or Counter()
        self.token_env = token_env
        self.page_size = page_size
        self.rate_limits = PacedRateLimitHandler(
            self.counter, max_retry_count=max_retries, max_wait=max_retry_wait, sleep=sleep
        )
        handlers: list[RetryHandler] = [
            self.rate_limits,
            CountingConnectionRetryHandler(self.counter, max_retry_count=max_retries),
        ]
        url = base_url or WebClient.BASE_URL
        self._web = WebClient(
            token=token,
            base_url=url if url.endswith("/") else url + "/",
            timeout=timeout,
            retry_handlers=handlers,
        )
        self.channel_names: dict[str, str] = {}
        self._auth: dict[str, Any] | None = None
        self._listing: list[dict[str, Any]] | None = None
        self._pins: dict[str, frozenset[str]] = {}
        self._users: dict[str, str] = {}

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self.counter.value

    def call(self, method: str, where: str | None = None, /, **params: Any) -> dict[str, Any]:
        """One Web API call; a failure is a CollectorError naming the method, channel ``where``
        and the fix."""
        self.counter.add()
        try:
            response = self._web.api_call(method, http_verb="GET", params=params)
        except SlackApiError as exc:
            body = exc.response.data
            failed: dict[str, Any] = body if isinstance(body, dict) else {}
            code = str(failed.get("error") or f"http_{exc.response.status_code}")
            raise SlackError(self._explain(method, where, exc), code) from exc
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectorError(
                SOURCE,
                f"{method}: could not reach Slack at {self._web.base_url} ({reason}); "
                "check the network or [slack] base_url",
            ) from exc
        data = response.data
        if not isinstance(data, dict):
            raise CollectorError(SOURCE, f"{method}: Slack answered with a body that is not JSON")
        return data

    def _where(self, channel: str | None) -> str:
        if channel is None:
            return ""
        name = self.channel_names.get(channel)
        return f" in #{name} ({channel})" if name else f" in channel {channel}"

    def _explain(self, method: str, channel: str | None, exc: SlackApiError) -> str:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {exc.response.status_code}")
        where = self._where(channel)
        app = f"@{self._auth['user']}" if self._auth and self._auth.get("user") else "@pmdraft"
        if error == "not_in_channel":
            return (
                f"{method}: the Slack app is not in {where.removeprefix(' in ')}: "
                f"invite it with /invite {app}"
            )
        if error == "channel_not_found":
            return (
                f"{method}: channel {channel} was not found: check the id in [slack] channels; "
                f"a private channel is visible only after /invite {app}"
            )
        if error in _AUTH_ERRORS:
            return (
                f"{method}: Slack refused the token in {self.token_env} ({error}): set "
                f"{self.token_env} to the app's bot token (xoxb-...) from OAuth & Permissions"
            )
        if error == "missing_scope":
            needed = str(data.get("needed") or SCOPES.get(method, "see Slack's method docs"))
            return (
                f"{method}{where}: the app's token lacks the scope {needed}: add it under "
                "OAuth & Permissions and reinstall the app"
            )
        if exc.response.status_code == 429 or error == "ratelimited":
            wait = self.rate_limits.last_wait
            return (
                f"{method}{where}: still rate limited by Slack (Retry-After {wait:g} s) after "
                f"{len(self.rate_limits.waits)} retries: run again later"
            )
        return f"{method}{where}: Slack answered {error}"

    def auth_test(self) -> dict[str, Any]:
        """``auth.test``, once per run: the workspace URL (``url``) and the app's user name."""
        if self._auth is None:
            self._auth = self.call("auth.test")
        return self._auth

    def _pages(self, method: str, key: str, where: str | None, /, **params: Any) -> Iterator[Any]:
        cursor: str | None = None
        while True:
            page = self.call(method, where, limit=self.page_size, cursor=cursor, **params)
            yield from page.get(key) or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    def find_channels(self, pattern: str) -> list[tuple[str, str]]:
        """``(id, name)`` of the channels whose name matches ``pattern`` (fnmatch), by name.

        The workspace's channels (public and private, archived too) are listed once per run.
        """
        if self._listing is None:
            types = "public_channel,private_channel"
            self._listing = list(self._pages("conversations.list", "channels", None, types=types))
            for c in self._listing:
                self.channel_names.setdefault(str(c["id"]), str(c.get("name") or c["id"]))
        found = [
            (str(c["id"]), str(c.get("name") or ""))
            for c in self._listing
            if fnmatch.fnmatchcase(str(c.get("name") or ""), pattern)
        ]
        return sorted(found, key=lambda pair: pair[1])

    def channel_name(self, channel: str) -> str:
        """The channel's name, from the listing if it was read, else ``conversations.info``."""
        if channel not in self.channel_names:
            info = self.call("conversations.info", channel, channel=channel)
            self.channel_names[channel] = str((info.get("channel") or {}).get("name") or channel)
        return self.channel_names[channel]

    def history(self, channel: str, oldest: datetime, latest: datetime) -> Iterator[dict[str, Any]]:
        """The channel's messages from ``oldest`` (inclusive) to ``latest``, newest first."""
        bounds = {"oldest": slack_ts(oldest), "latest": slack_ts(latest), "inclusive": "true"}
        yield from self._pages(
            "conversations.history", "messages", channel, channel=channel, **bounds
        )

    def replies(
        self, channel: str, thread_ts: str, oldest: datetime, latest: datetime
    ) -> Iterator[dict[str, Any]]:
        """The replies of thread ``thread_ts`` from ``oldest`` to ``latest`` (parent left out)."""
        bounds = {"oldest": slack_ts(oldest), "latest": slack_ts(latest), "inclusive": "true"}
        for message in self._pages(
            "conversations.replies", "messages", channel, channel=channel, ts=thread_ts, **bounds
        ):
            if message.get("ts") != thread_ts:
                yield message

    def pins(self, channel: str) -> frozenset[str]:
        """The ``ts`` of the messages pinned in ``channel`` (``pins.list``, once per channel)."""
        if channel not in self._pins:
            items = self.call("pins.list", channel, channel=channel).get("items") or []
            self._pins[channel] = frozenset(
                str(i["message"]["ts"])
                for i in items
                if i.get("type") == "message" and isinstance(i.get("message"), dict)
            )
        return self._pins[channel]

    def user_name(self, user_id: str) -> str:
        """A person's real name (else display name, else handle), ``users.info`` once each.

        An unknown or deleted user is shown by id rather than failing the source.
        """
        if user_id not in self._users:
            try:
                user = self.call("users.info", None, user=user_id).get("user") or {}
            except SlackError as exc:
                if exc.error != "user_not_found":
                    raise
                user = {}
            profile = user.get("profile") or {}
            self._users[user_id] = str(
                profile.get("real_name")
                or user.get("real_name")
                or profile.get("display_name")
                or user.get("name")
                or user_id
            )
        return self._users[user_id]

    def permalink(self, channel: str, ts: str) -> str | None:
        """The message's link, built from ``auth.test``'s workspace URL (no call per message)."""
        team_url = str(self.auth_test().get("url") or "")
        if not team_url:
            return None
        return f"{team_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"

    def close(self) -> None:
        """Nothing to release: slack_sdk opens one connection per request."""
