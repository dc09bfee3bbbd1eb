"""An incident's Slack channels as ``chat.message`` events.

Every message a person posted in the window becomes one event (for the Communication Log);
those pinned, or carrying one of the highlight reactions (:pushpin: by default), are flagged
``pinned``/``highlighted`` for the timeline, the way incident channels mark "this mattered".
Bots, joins, leaves, topic changes and other system messages are left out (bots are kept with
``include_bots``). Thread replies are read only for threads whose latest reply can fall in the
window. Limitation: a reply in the window to a thread started before the window is not seen,
since ``conversations.history`` lists only threads' first messages.

Requests per run: ``auth.test`` once; ``conversations.list`` pages once if channels are found by
incident number; per channel ``conversations.info`` (when its name is not known yet), one
``pins.list``, the ``conversations.history`` pages and one ``conversations.replies`` page set per
thread that needs it; ``users.info`` once per distinct person.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import Event, SourceExtras, Window
from .client import SOURCE, SlackClient, SlackError
from .config import SlackConfig
from .markup import mentioned_users, render

log = logging.getLogger(__name__)

CHAT_MESSAGE = "chat.message"
"""The kind of a chat message (Slack now; Teams or others later)."""

HUMAN_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
"""Subtypes that are still a person speaking; every other subtype is a system message."""


THREAD_REFUSALS = frozenset({"missing_scope", "not_allowed_token_type"})
"""Answers of ``conversations.replies`` that leave threads out instead of failing the source:
Slack's docs say bot tokens may lack permission for channel threads (a user token has it)."""


def message_time(ts: str) -> datetime:
    """Slack's ``ts`` (``"1705329120.000200"``) as an aware UTC datetime, microseconds kept."""
    seconds, _, fraction = ts.partition(".")
    micros = int((fraction + "000000")[:6]) if fraction else 0
    return datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=micros)


def is_bot(message: Mapping[str, Any]) -> bool:
    """Whether a bot or an app posted ``message``."""
    return message.get("subtype") == "bot_message" or bool(message.get("bot_id"))


def is_wanted(message: Mapping[str, Any], include_bots: bool) -> bool:
    """Whether ``message`` is someone speaking (a bot only with ``include_bots``)."""
    subtype = message.get("subtype")
    if is_bot(message):
        return include_bots and subtype in (None, "bot_message", *HUMAN_SUBTYPES)
    return bool(message.get("user")) and (subtype is None or subtype in HUMAN_SUBTYPES)


class SlackCollector:
    """Reads the configured channels, and those of the incidents' numbers, for a window."""

    name = SOURCE

    def __init__(
        self,
        config: SlackConfig,
        client: SlackClient,
        *,
        incident_numbers: Sequence[int | str] = (),
    ) -> None:
        self.config = config
        self.client = client
        self.incident_numbers = tuple(incident_numbers)
        """PagerDuty incident numbers whose channels are found with ``channel_pattern``."""
        self.channels_read: list[str] = []
        self.messages = 0
        self.marked = 0
        self.left_out = 0
        self.clipped = 0
        self.threads = 0
        self._notes: list[str] = []

    @property
    def requests(self) -> int:
        """HTTP requests made so far, retries included."""
        return self.client.requests

    @property
    def detail(self) -> str | None:
        """What reading the channels involved beyond plain reading (clipped messages, threads
        that could not be read, ...); ``None`` for a plain read. Which channels were read, and
        how many messages, is logged (``-v``), not put in the draft."""
        if not self.clipped and not self._notes:
            log.info("slack: %s", self.summary())
            return None
        return "; ".join(
            ([f"{self.clipped} outside the window clipped"] if self.clipped else []) + self._notes
        )

    def summary(self) -> str:
        """What was read and what was left out, in a few words."""
        parts = [
            f"{len(self.channels_read)} channel{'s' if len(self.channels_read) != 1 else ''}"
            + (
                f" ({', '.join('#' + c for c in self.channels_read)})" if self.channels_read else ""
            ),
            f"{self.messages} messages, {self.marked} pinned or highlighted",
        ]
        if self.left_out:
            parts.append(f"{self.left_out} bot or system messages left out")
        if self.clipped:
            parts.append(f"{self.clipped} outside the window clipped")
        if self.threads:
            parts.append(f"{self.threads} thread{'s' if self.threads != 1 else ''} read")
        return "; ".join(parts + self._notes)

    def _channels(self) -> list[tuple[str, str]]:
        wanted: dict[str, str] = {}
        for channel in self.config.channels:
            wanted[channel] = ""
        for number in self.incident_numbers:
            pattern = self.config.pattern_for(number)
            found = self.client.find_channels(pattern)
            if not found:
                self._notes.append(f"no channel named like {pattern}")
            for channel, name in found:
                wanted.setdefault(channel, name)
        return [(c, name or self.client.channel_name(c)) for c, name in wanted.items()]

    def collect(self, window: Window) -> Iterator[Event]:
        """Yield the window's chat messages of every channel, channel by channel, oldest first."""
        self.client.auth_test()
        for channel, name in self._channels():
            self.client.channel_names[channel] = name
            self.channels_read.append(name)
            yield from self._channel(channel, name, window)

    def _channel(self, channel: str, name: str, window: Window) -> Iterator[Event]:
        found: dict[str, dict[str, Any]] = {}
        for message in self.client.history(channel, window.since, window.until):
            found.setdefault(str(message.get("ts")), message)
            latest_reply = str(message.get("latest_reply") or message.get("ts"))
            if int(message.get("reply_count") or 0) and message_time(latest_reply) >= window.since:
                thread = str(message.get("thread_ts") or message.get("ts"))
                for reply in self._replies(channel, thread, window):
                    found.setdefault(str(reply.get("ts")), reply)
        pinned = self.client.pins(channel)
        for ts in sorted(found, key=lambda t: message_time(t)):
            message = found[ts]
            if not is_wanted(message, self.config.include_bots):
                self.left_out += 1
                continue
            if message_time(ts) not in window:
                self.clipped += 1
                continue
            event = self._event(channel, name, message, ts in pinned)
            self.messages += 1
            self.marked += bool(event.attrs["pinned"] or event.attrs["highlighted"])
            yield event

    def _replies(self, channel: str, thread: str, window: Window) -> list[dict[str, Any]]:
        """A thread's replies; a token not allowed to read threads is noted, not fatal."""
        try:
            replies = list(self.client.replies(channel, thread, window.since, window.until))
        except SlackError as exc:
            if exc.error not in THREAD_REFUSALS:
                raise
            note = f"thread replies not readable ({exc.error}): {exc.message}"
            if note not in self._notes:
                self._notes.append(note)
            return []
        self.threads += 1
        return replies

    def _author(self, message: Mapping[str, Any]) -> str:
        if is_bot(message):
            profile = message.get("bot_profile") or {}
            return str(message.get("username") or profile.get("name") or message.get("bot_id"))
        return self.client.user_name(str(message["user"]))

    def _event(self, channel: str, name: str, message: Mapping[str, Any], pinned: bool) -> Event:
        ts = str(message["ts"])
        text = str(message.get("text") or "")
        names = {u: self.client.user_name(u) for u in mentioned_users(text)}
        summary = render(text, lambda u: names.get(u, u)).text.strip()
        files = [
            str(f.get("name") or f.get("title") or "a file") for f in message.get("files") or []
        ]
        if files:
            summary = (summary + " " if summary else "") + f"[shared {', '.join(files)}]"
        reactions = {str(r.get("name")) for r in message.get("reactions") or []}
        thread_ts = message.get("thread_ts")
        return Event(
            at=message_time(ts),
            source=SOURCE,
            kind=CHAT_MESSAGE,
            ref=f"{channel}:{ts}",
            summary=summary,
            actor=self._author(message),
            url=self.client.permalink(channel, ts),
            attrs={
                "channel_id": channel,
                "channel_name": name,
                "pinned": pinned or channel in (message.get("pinned_to") or ()),
                "highlighted": bool(reactions & set(self.config.highlight_reactions)),
                "thread_ts": str(thread_ts) if thread_ts else None,
                "reply": bool(thread_ts) and thread_ts != ts,
            },
        )

    def extras(self) -> SourceExtras:
        """Slack gives events only."""
        return SourceExtras()

    def close(self) -> None:
        """Release the client (nothing is held open between requests)."""
        self.client.close()
