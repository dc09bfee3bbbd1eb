"""Small formatting rules shared by the renderers: times, durations, safe table cells."""

from __future__ import annotations

from datetime import datetime


def duration_words(seconds: float | None) -> str:
    """``1045`` -> ``17 minutes``; under a minute in seconds; whole units, rounded down."""
    if seconds is None:
        return "unknown"
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s} second{'s' if s != 1 else ''}"
    hours, rest = divmod(s, 3600)
    minutes = rest // 60
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return sign + " ".join(parts)


def hhmm(at: datetime) -> str:
    return at.strftime("%H:%M")


def hhmmss(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return inline(text).replace("|", "\\|")


def inline(text: object) -> str:
    """Text on one line: newlines and tabs folded to spaces."""
    return " ".join(str(text if text is not None else "").split())


def long_date(at: datetime) -> str:
    """``January 15, 2024``."""
    return f"{at.strftime('%B')} {at.day}, {at.year}"
