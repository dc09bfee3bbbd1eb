"""Small formatting rules shared by the renderers: times and safe table cells.

Durations and every other sentence are said by :mod:`pmdraft.words`.
"""

from __future__ import annotations

import re
from datetime import datetime

_BACKTICKS = re.compile(r"`+")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_PIPE = re.compile(r"(\\*)\|")


def hhmm(at: datetime) -> str:
    """``14:32``."""
    return at.strftime("%H:%M")


def hhmmss(at: datetime) -> str:
    """``14:32:05`` (``strftime``'s ``%H:%M:%S``, a few times faster)."""
    return at.time().isoformat("seconds")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: :func:`markdown_text` with every pipe escaped.

    Backslashes just before a pipe are doubled, so ``a\\|b`` cannot end the cell either.
    """
    line = markdown_text(text)
    return _PIPE.sub(lambda m: m.group(1) * 2 + "\\|", line) if "|" in line else line


def markdown_text(text: object) -> str:
    """Text on one line that Markdown shows as written: outside code spans, an HTML tag's ``<``
    becomes ``&lt;`` and an entity's ``&`` becomes ``&amp;``, so neither is interpreted."""
    line = inline(text)
    if "`" not in line and "<" not in line and "&" not in line:
        return line  # nothing to escape (most lines): no pattern needs to run
    runs = list(_BACKTICKS.finditer(line))
    pieces, done, i = [], 0, 0
    while i < len(runs):
        closer = next(
            (j for j in range(i + 1, len(runs)) if runs[j].group() == runs[i].group()), None
        )
        if closer is None:
            i += 1
            continue
        pieces += [
            _no_html(line[done : runs[i].start()]),
            line[runs[i].start() : runs[closer].end()],
        ]
        done, i = runs[closer].end(), closer + 1
    return "".join(pieces) + _no_html(line[done:])


def _no_html(text: str) -> str:
    return _TAG_OPEN.sub("&lt;", _ENTITY.sub("&amp;", text))


def inline(text: object) -> str:
    """Text on one line: newlines and tabs folded to spaces."""
    return " ".join(str(text if text is not None else "").split())


def long_date(at: datetime) -> str:
    """``January 15, 2024``."""
    return f"{at.strftime('%B')} {at.day}, {at.year}"
