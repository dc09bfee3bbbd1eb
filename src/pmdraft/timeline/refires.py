"""Alarms that returned to ALARM after recovering, and the incident each return opened.

An alarm that recovers and fires again is worth a line under What Went Wrong on its own: the fix
did not hold, or the alarm is noisy. The return's transition to ALARM may have paged PagerDuty
again (linked by :mod:`.correlate`); the incident it opened is named.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..facts import Refire
from ..model import ALARM_ALARM, ALARM_KINDS, ALARM_OK, INCIDENT_TRIGGERED
from .frame import at_datetimes


def _openers(frame: pd.DataFrame) -> dict[str, int | None]:
    """Correlation id -> the number of the incident that trigger opened."""
    out: dict[str, int | None] = {}
    triggers = frame[(frame["kind"] == INCIDENT_TRIGGERED).to_numpy()]
    for attrs in triggers["attrs"].tolist():
        link = attrs.get("correlation")
        number = attrs.get("incident_number")
        if isinstance(link, str):
            out[link] = number if isinstance(number, int) else None
    return out


def refires(frame: pd.DataFrame) -> list[Refire]:
    """Every return to ALARM after a recovery, in time order."""
    alarms = frame[frame["kind"].isin(ALARM_KINDS).to_numpy()]
    if alarms.empty:
        return []
    openers = _openers(frame)
    last_ok: dict[str, Any] = {}
    found: list[Refire] = []
    times = at_datetimes(alarms)
    for at, kind, ref, attrs in zip(
        times, alarms["kind"], alarms["ref"], alarms["attrs"], strict=True
    ):
        name = str(attrs.get("alarm_name") or ref)
        if kind == ALARM_OK:
            last_ok[ref] = at
        elif kind == ALARM_ALARM and ref in last_ok:
            link = attrs.get("correlation")
            number = openers.get(link) if isinstance(link, str) else None
            found.append(Refire(name, last_ok.pop(ref), at, number))
        else:
            last_ok.pop(ref, None)
    return found
