"""The plain-pandas baseline: raw records to the same milestones, as a pandas user would write it.

What it does, on the records of ``synth.records`` (flat dicts, time as ISO 8601 text):
``pd.DataFrame(records)`` (one column per field, missing fields NaN), ``pd.to_datetime`` of the
time column (ISO 8601, UTC), ``drop_duplicates()`` over every column, a stable sort by
``(at, source, kind, ref)``, then masks and ``groupby`` for the milestones pmdraft's rules give:
impact started (earliest breach start of an alarm going to ALARM, else its time), detected
(first alarm or trigger), paged (first notification, else the trigger), acknowledged (first
ack), mitigated (every alarm that fired ends OK: the latest of their last rows) and resolved
(every incident has a resolution: the latest of their last). It reads none of the per-object
facts (titles, alarm names), makes no notes, ranks no suspect deploys and finds no rollback:
it is the least work that gives those six times.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

SORT_KEY = ["at", "source", "kind", "ref"]
MILESTONES = ("impact_started", "detected", "paged", "acknowledged", "mitigated", "resolved")
ALARM_KINDS = ["alarm.alarm", "alarm.ok", "alarm.insufficient_data"]


def _first(frame: pd.DataFrame, mask: pd.Series) -> pd.Timestamp | None:
    hits = frame.loc[mask, "at"]
    return None if hits.empty else hits.iloc[0]


def _mitigated(frame: pd.DataFrame) -> pd.Timestamp | None:
    alarms = frame[frame["kind"].isin(ALARM_KINDS)]
    fired = alarms.loc[alarms["kind"] == "alarm.alarm", "ref"].unique()
    if len(fired) == 0:
        return None
    last = alarms.groupby("ref", sort=False).tail(1)
    last = last[last["ref"].isin(fired)]
    if (last["kind"] != "alarm.ok").any():
        return None
    latest: pd.Timestamp = last["at"].max()
    return latest


def _resolved(frame: pd.DataFrame, mitigated: pd.Timestamp | None) -> pd.Timestamp | None:
    incidents = frame[(frame["source"] == "pagerduty") & frame["kind"].str.startswith("incident.")]
    if incidents.empty:
        return mitigated
    resolutions = incidents[incidents["kind"] == "incident.resolved"].groupby("ref")["at"].max()
    if len(resolutions) < incidents["ref"].nunique():
        return None
    latest: pd.Timestamp = resolutions.max()
    return latest


def milestones(records: list[dict[str, Any]]) -> tuple[dict[str, pd.Timestamp | None], int]:
    """The six milestones of ``records``, and how many distinct records there were."""
    frame = pd.DataFrame(records)
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    frame = frame.drop_duplicates()
    frame = frame.sort_values(SORT_KEY, kind="stable", ignore_index=True)
    kind = frame["kind"]
    fired = frame[kind == "alarm.alarm"]
    if fired.empty:
        impact = _first(frame, kind == "incident.triggered")
    else:
        starts = pd.to_datetime(fired["breach_start"], utc=True, format="ISO8601")
        impact = starts.fillna(fired["at"]).min()
    paged = _first(frame, kind == "incident.notified")
    found = {
        "impact_started": impact,
        "detected": _first(frame, kind.isin(["alarm.alarm", "incident.triggered"])),
        "paged": paged if paged is not None else _first(frame, kind == "incident.triggered"),
        "acknowledged": _first(frame, kind == "incident.acknowledged"),
        "mitigated": _mitigated(frame),
    }
    found["resolved"] = _resolved(frame, found["mitigated"])
    return found, len(frame)
