"""Slack's mrkdwn ``text`` as plain text a postmortem can quote.

Slack escapes ``&``, ``<`` and ``>`` in what people type, so every literal ``<`` in ``text`` opens
a markup token: ``<@U0123>`` a user, ``<#C0123|name>`` a channel, ``<!here>`` a broadcast,
``<!subteam^S1|@sre>`` a group, ``<!date^...|fallback>`` a date, ``<https://x|label>`` and
``<https://x>`` links. Tokens are rendered first, then the three entities are unescaped, so a
person's typed ``&lt;@U1&gt;`` stays the literal text ``<@U1>`` they wrote. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_BROADCASTS = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}

NameLookup = Callable[[str], str]
"""User id -> the name to show (``U0123`` -> ``Jane Doe``)."""


def _as_is(user_id: str) -> str:
    return user_id


def unescape(text: str) -> str:
    """Slack's three entities back to characters (``&amp;`` last, so ``&amp;lt;`` is ``&lt;``)."""
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


@dataclass
class Rendered:
    """A message's plain text and the links it held, in order of appearance."""

    text: str
    links: list[str] = field(default_factory=list)


def _token(body: str, names: NameLookup, links: list[str]) -> str:
    target, _, label = body.partition("|")
    label = unescape(label)
    if target.startswith("@"):
        return "@" + (names(target[1:]) if target[1:] else label)
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in _BROADCASTS:
            return _BROADCASTS[word]
        return label or "@" + word
    url = unescape(target)
    if not url:
        return label
    links.append(url)
    if url.startswith("mailto:"):
        return label or url.removeprefix("mailto:")
    return f"{label} ({url})" if label and label != url else url


def render(text: str | None, names: NameLookup = _as_is) -> Rendered:
    """``text`` as plain text; each link's URL is kept after its label and in ``links``.

    ``<@U1>`` -> ``@Jane Doe`` (via ``names``), ``<#C1|ops>`` -> ``#ops``, ``<!here>`` ->
    ``@here``, ``<https://x|docs>`` -> ``docs (https://x)``, ``<https://x>`` -> ``https://x``.
    A lookup raising ``LookupError`` (or giving no name) falls back to the id. Never raises on
    any string.
    """
    links: list[str] = []

    def replace(match: re.Match[str]) -> str:
        return _token(match.group(1), _safe(names), links)

    return Rendered(unescape(_TOKEN.sub(replace, text or "")), links)


def plain_text(text: str | None, names: NameLookup = _as_is) -> str:
    """:func:`render`'s text alone."""
    return render(text, names).text


def mentioned_users(text: str | None) -> list[str]:
    """The user ids ``text`` mentions (``<@U1>``), first mention first, each once."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text or ""):
        target = match.group(1).partition("|")[0]
        if target.startswith("@") and len(target) > 1:
            seen.setdefault(target[1:], None)
    return list(seen)


def _safe(names: NameLookup) -> NameLookup:
    def lookup(user_id: str) -> str:
        try:
            name = names(user_id)
        except LookupError:
            return user_id
        return name if isinstance(name, str) and name else user_id

    return lookup
