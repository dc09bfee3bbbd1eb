"""One event per signal: a CloudWatch alarm transition and the PagerDuty trigger it caused, linked.

A CloudWatch alarm that pages through PagerDuty appears twice in the raw data: its transition to
ALARM and the incident's trigger. The trigger names its alarm in one of three ways, tried in this
order:

- **incident key**: CloudWatch's PagerDuty integration keys the incident by the alarm's ARN
  (``arn:aws:cloudwatch:us-east-1:123456789012:alarm:HighErrorRate``);
- **alert body**: the trigger's event details quote the alarm, as in
  ``ALARM: "HighErrorRate" in US East (N. Virginia)``;
- **title**: the incident title quotes the alarm the same way, or holds its name as a word.

The transition to ALARM of that alarm nearest the trigger, from :data:`LINK_BEFORE` before it to
:data:`LINK_AFTER` after it, is its partner; each transition pairs with one trigger at most. Both
events keep their rows (the JSON keeps every event) and gain the same ``correlation`` id and the
``correlated_by`` rule in their attrs; the readable timeline shows them as one line.

Pure: a frame in, a new frame out; the events' own attrs are never changed in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..model import ALARM_ALARM, INCIDENT_TRIGGERED, Attrs

LINK_BEFORE = timedelta(minutes=15)
"""A transition to ALARM at most this long before the trigger can be its cause."""

LINK_AFTER = timedelta(minutes=2)
"""...or at most this long after it (clock skew between CloudWatch's history and PagerDuty)."""

_ARN_ALARM = re.compile(r"^arn:aws[\w-]*:cloudwatch:(?P<region>[^:]*):[^:]*:alarm:(?P<name>.+)$")
_QUOTED = re.compile(r'"([^"]+)"')


def _named(attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The alarm names (or ARNs) a trigger's attrs point at, each with the rule that found it."""
    names: list[tuple[str, str]] = []
    key = attrs.get("incident_key")
    if isinstance(key, str):
        found = _ARN_ALARM.match(key)
        if found:
            names += [(key, "incident key"), (found["name"], "incident key")]
    for text, rule in (
        (attrs.get("event_description"), "alert body"),
        (attrs.get("incident_title"), "title"),
    ):
        if isinstance(text, str):
            names += [(quoted, rule) for quoted in _QUOTED.findall(text)]
    return names


def _word(name: str) -> re.Pattern[str]:
    """``name`` as a word of a title: not inside a longer name of letters, digits, ``_``, ``-``."""
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")


def _titled(title: Any, words: dict[str, re.Pattern[str] | None]) -> list[str]:
    """The names of ``words`` (in its order) that ``title`` holds as a word (each name's
    pattern is compiled the first time a title holds the name at all, and kept in ``words``)."""
    if not isinstance(title, str):
        return []
    found = []
    # A name not in the title at all cannot be a word of it: the cheap test goes first.
    for name, word in words.items():
        if name in title:
            if word is None:
                word = words[name] = _word(name)
            if word.search(title):
                found.append(name)
    return found


def correlate(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each alarm-to-page pair's attrs given a shared ``correlation`` id.

    Returns ``frame`` itself when nothing pairs; otherwise a shallow copy whose ``attrs`` column
    holds new read-only mappings for the paired rows.
    """
    if frame.empty:
        return frame
    kind = frame["kind"].to_numpy()
    triggers = np.flatnonzero(
        (kind == INCIDENT_TRIGGERED) & (frame["source"].to_numpy() == "pagerduty")
    )
    alarms = np.flatnonzero((kind == ALARM_ALARM) & (frame["source"].to_numpy() == "cloudwatch"))
    if not len(triggers) or not len(alarms):
        return frame
    attrs = frame["attrs"].to_numpy()
    refs = frame["ref"].to_numpy()
    at = frame["at"].dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    by_name: dict[str, list[int]] = {}
    for p in alarms.tolist():
        for name in {str(refs[p]), str(attrs[p].get("alarm_name") or "")} - {""}:
            by_name.setdefault(name, []).append(p)
    words: dict[str, re.Pattern[str] | None] = {
        name: None for name in by_name if not name.startswith("arn:")
    }
    before, after = np.timedelta64(LINK_BEFORE), np.timedelta64(LINK_AFTER)
    used: set[int] = set()
    links: list[tuple[int, int, str]] = []
    for t in triggers.tolist():
        named = _named(attrs[t])
        named += [(name, "title") for name in _titled(attrs[t].get("incident_title"), words)]
        for name, rule in named:
            near = [
                p
                for p in by_name.get(name, [])
                if p not in used and -before <= at[p] - at[t] <= after
            ]
            if near:
                best = min(near, key=lambda p: (at[p] > at[t], abs(at[p] - at[t])))
                used.add(best)
                links.append((best, t, rule))
                break
    if not links:
        return frame
    column = attrs.copy()
    for alarm, trigger, rule in links:
        name = attrs[alarm].get("alarm_name") or refs[alarm]
        link = {"correlation": f"{refs[trigger]}/{name}", "correlated_by": rule}
        for p in (alarm, trigger):
            column[p] = Attrs({**attrs[p], **link})
    out = frame.copy(deep=False)
    out["attrs"] = pd.Series(column, index=frame.index, dtype=object)
    return out
