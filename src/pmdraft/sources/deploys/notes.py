"""What a deploy source says when it had to skip or leave out records (its ``detail``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

SHOWN_BAD_LINES = 5
"""How many skipped records a detail names; the rest are counted."""


def skipped_detail(
    notes: Sequence[str], bad: Sequence[str], noun: str, outside: int, lookback: timedelta
) -> str | None:
    """The notes, the skipped records (``noun``, the first few named), and the events left out
    for lying outside the window and the deploy lookback before it; ``None`` if there is none."""
    parts = list(notes)
    if bad:
        more = len(bad) - SHOWN_BAD_LINES
        parts.append(
            f"{len(bad)} {noun}{'s' if len(bad) > 1 else ''} skipped: "
            + " / ".join(bad[:SHOWN_BAD_LINES])
            + (f" / and {more} more" if more > 0 else "")
        )
    if outside:
        parts.append(
            f"{outside} event{'s' if outside > 1 else ''} outside the window and "
            f"the {lookback / timedelta(hours=1):g} h deploy lookback before it left out"
        )
    return "; ".join(parts) or None
