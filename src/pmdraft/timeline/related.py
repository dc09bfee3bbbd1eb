"""Related incidents: past PagerDuty incidents on the same service or with a similar title.

No model, no guessing: a title is cut into normalised tokens (``HighErrorRate`` -> ``high``,
``error``, ``rate``; lower case; numbers, one-letter words and :data:`STOPWORDS` dropped), and two
titles are as alike as the Jaccard index of their token sets (shared tokens / all tokens). A
past incident is related if it ran on the same service as an in-scope incident or its title is
at least :data:`SIMILAR_TITLE` alike; it scores its best title likeness plus
:data:`SAME_SERVICE_BONUS` for the same service. The most similar come first (then the most
recent), at most :data:`MAX_RELATED`. Pure functions over plain records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..sources.base import parse_time
from ..model import iso_z

MAX_RELATED = 5
"""Past incidents listed under Related Incidents."""

SIMILAR_TITLE = 0.3
"""Jaccard index of title tokens (0..1) from which another service's incident counts as related."""

SAME_SERVICE_BONUS = 0.5
"""Added to the title likeness of an incident on the same service as an in-scope one."""

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "at",
        "by",
        "for",
        "from",
        "in",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "alarm",
        "alert",
        "ok",
        "triggered",
        "incident",
    }
)
"""Words that say nothing about what broke (CloudWatch's ``ALARM:`` prefix among them)."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z][a-z0-9]*")


def tokens(title: str) -> frozenset[str]:
    """The normalised tokens of a title: camelCase split, lower case, stopwords and numbers dropped."""
    words = _WORD.findall(_CAMEL.sub(" ", title).lower())
    return frozenset(w for w in words if len(w) > 1 and w not in STOPWORDS)


def likeness(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard index of two token sets: 0 (nothing shared) to 1 (the same tokens)."""
    return len(a & b) / len(a | b) if a and b else 0.0


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def related(
    scope: Sequence[Mapping[str, Any]],
    candidates: Iterable[Mapping[str, Any]],
    *,
    limit: int = MAX_RELATED,
) -> list[dict[str, Any]]:
    """The past incidents most like the ``scope`` incidents, best first, each with why it was picked.

    Both are records as the PagerDuty collector gives them (``id``, ``number``, ``title``,
    ``url``, ``service_id``, ``service``, ``created_at``, ``resolved_at``).
    """
    ours = [
        (tokens(str(i.get("title") or "")), i.get("service_id"), i.get("service")) for i in scope
    ]
    ids = {i.get("id") for i in scope}
    picked: list[tuple[float, datetime, dict[str, Any]]] = []
    for c in candidates:
        created = _time(c.get("created_at"))
        if c.get("id") in ids or created is None:
            continue
        theirs = tokens(str(c.get("title") or ""))
        alike = max((likeness(t, theirs) for t, _, _ in ours), default=0.0)
        same = any(
            (sid and sid == c.get("service_id")) or (not sid and name and name == c.get("service"))
            for _, sid, name in ours
        )
        if not same and alike < SIMILAR_TITLE:
            continue
        reasons = ([f"same service ({c.get('service')})"] if same else []) + (
            [f"title {alike:.0%} alike"] if alike > 0 else []
        )
        resolved = _time(c.get("resolved_at"))
        picked.append(
            (
                alike + (SAME_SERVICE_BONUS if same else 0.0),
                created,
                {
                    "id": c.get("id"),
                    "number": c.get("number"),
                    "title": c.get("title"),
                    "url": c.get("url"),
                    "service": c.get("service"),
                    "created_at": iso_z(created),
                    "resolved_at": iso_z(resolved) if resolved else None,
                    "duration_seconds": (resolved - created).total_seconds()
                    if resolved and resolved >= created
                    else None,
                    "similarity": round(alike, 2),
                    "same_service": bool(same),
                    "reasons": "; ".join(reasons),
                },
            )
        )
    picked.sort(key=lambda p: (-p[0], -p[1].timestamp()))
    return [record for _, _, record in picked[:limit]]
