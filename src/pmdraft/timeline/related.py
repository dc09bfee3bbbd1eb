"""Related incidents: past PagerDuty incidents on the same service or with a similar title.

No model, no guessing: a title is cut into normalised tokens (``HighErrorRate`` -> ``high``,
``error``, ``rate``; lower case; numbers, one-letter words and :data:`STOPWORDS` dropped), and two
titles are as alike as the Jaccard index of their token sets (shared tokens / all tokens). A
past incident is related if it ran on the same service as an in-scope incident or its title is
at least :data:`SIMILAR_TITLE` alike; it scores its best title likeness plus
:data:`SAME_SERVICE_BONUS` for the same service. The most similar come first (then the most
recent), at most :data:`MAX_RELATED`. Pure functions over :class:`~pmdraft.model.PastIncident`
records; each pick is a :class:`~pmdraft.model.RelatedMatch` (``pmdraft.words`` says why).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..facts import RelatedMatch
from ..model import PastIncident, parse_time_or_none

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
    """A title's normalised tokens: camelCase split, lower case, stopwords and numbers dropped."""
    words = _WORD.findall(_CAMEL.sub(" ", title).lower())
    return frozenset(w for w in words if len(w) > 1 and w not in STOPWORDS)


def likeness(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard index of two token sets: 0 (nothing shared) to 1 (the same tokens)."""
    return len(a & b) / len(a | b) if a and b else 0.0


def related(
    scope: Sequence[PastIncident],
    candidates: Iterable[PastIncident],
    *,
    limit: int = MAX_RELATED,
) -> list[RelatedMatch]:
    """The past incidents most like the ``scope`` incidents, best first, each with its facts."""
    ours = [(tokens(i.title or ""), i.service_id, i.service) for i in scope]
    ids = {i.id for i in scope}
    picked: list[tuple[float, RelatedMatch]] = []
    for c in candidates:
        created = parse_time_or_none(c.created_at)
        if c.id in ids or created is None:
            continue
        theirs = tokens(c.title or "")
        alike = max((likeness(t, theirs) for t, _, _ in ours), default=0.0)
        # Same service: by id when the in-scope incident has one, else by name.
        same = any(
            (sid and sid == c.service_id) or (not sid and name and name == c.service)
            for _, sid, name in ours
        )
        if not same and alike < SIMILAR_TITLE:
            continue
        match = RelatedMatch(c, created, parse_time_or_none(c.resolved_at), alike, bool(same))
        picked.append((alike + (SAME_SERVICE_BONUS if same else 0.0), match))
    picked.sort(key=lambda p: (-p[0], -p[1].created.timestamp()))
    return [match for _, match in picked[:limit]]
