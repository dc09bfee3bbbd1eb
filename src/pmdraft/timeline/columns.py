"""A frame's columns as Python lists, taken once, for the many analyses of one frame.

:func:`.milestones.analyse` reads an incident's rows by position; with 300 incidents in a
window, pandas' per-call cost on each small subset would dominate, so the columns are taken
once here, with what several rules share worked out on first use (the alarm rows' breach
starts, the deploy rows' events) and a memo for the rules that read only some rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..facts import Milestone, Rule
from ..model import ALARM_ALARM, DEPLOY_KINDS, Event, parse_time
from .frame import frame_events


def _breach_starts(attrs: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each alarm row's breach start (``datetime64[us]``, naive UTC), its own time when it has
    none, and whether it had one. Parsed as a column; any text the column parse might read
    differently from :func:`~pmdraft.model.parse_time` goes through it, row by row."""
    listed = [a.get("breach_start") for a in attrs]
    texts = pd.Series(listed, dtype=object)
    given = np.fromiter((isinstance(t, str) for t in listed), dtype=bool, count=len(listed))
    starts = fallback.copy()
    if not given.any():
        return starts, given
    shown = texts[given]
    parsed = pd.to_datetime(shown, utc=True, format="ISO8601", errors="coerce")
    # Only UTC text ending in Z (as collectors write it) is trusted to the column parse.
    odd = parsed.isna() | ~shown.str.endswith("Z") | (parsed.dt.nanosecond != 0)
    values = np.array(parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[us]"))
    if odd.any():
        rows = np.flatnonzero(odd.to_numpy())
        values[rows] = [parse_time(t).replace(tzinfo=None) for t in shown.iloc[rows].tolist()]
    starts[given] = values
    return starts, given


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Picked:
    """One analysis' rows grouped by kind at once, so that each rule reads only the rows of its
    kinds (an incident's rows include its service's alarms: hundreds, read by several rules, for
    each of hundreds of incidents)."""

    __slots__ = ("_groups", "rows")

    def __init__(self, codes: np.ndarray, names: Sequence[Any], rows: Sequence[int]) -> None:
        """``codes``: each frame row's kind as a number, ``names[code]`` the kind."""
        positions = np.asarray(rows, dtype=np.int64)
        self.rows = rows
        """The rows, ascending."""
        sub = codes[positions]
        order = np.argsort(sub, kind="stable")  # by kind, each kind's rows still ascending
        ranked = sub[order]
        cuts = np.flatnonzero(ranked[1:] != ranked[:-1]) + 1
        heads = ranked[np.concatenate(([0], cuts))].tolist() if len(ranked) else []
        parts = np.split(positions[order], cuts) if len(ranked) else []
        self._groups: dict[Any, list[int]] = {
            names[code]: part.tolist() for code, part in zip(heads, parts, strict=True)
        }

    def first(self, kinds: Collection[str]) -> int | None:
        """The first row whose kind is one of ``kinds``."""
        heads = [group[0] for k in kinds if (group := self._groups.get(k))]
        return min(heads) if heads else None

    def of(self, kinds: Collection[str]) -> list[int]:
        """The rows whose kind is one of ``kinds``, ascending."""
        return _merged([g for k in kinds if (g := self._groups.get(k))])

    def other_than(self, kinds: Collection[str]) -> list[int]:
        """The rows whose kind is none of ``kinds``, ascending."""
        return _merged([g for k, g in self._groups.items() if k not in kinds])


def _merged(groups: list[list[int]]) -> list[int]:
    if len(groups) == 1:
        return list(groups[0])
    merged: list[int] = []
    for group in groups:
        merged += group
    merged.sort()
    return merged


class _Times:
    """The rows' times as aware UTC datetimes, each made when first read: an analysis reads a
    few (its milestones'), and making all of a million-row frame's took about 0.4 s."""

    __slots__ = ("_made", "_micros")

    def __init__(self, times: np.ndarray) -> None:
        self._micros: list[int] = times.view("int64").tolist()
        self._made: dict[int, datetime] = {}

    def __getitem__(self, position: int) -> datetime:
        made = self._made.get(position)
        if made is None:
            made = self._made[position] = _EPOCH + timedelta(microseconds=self._micros[position])
        return made


class Columns:
    """A frame's columns as Python lists, taken once: one incident's analysis reads its rows by
    position, without the per-call cost of pandas on a small frame.

    The breach starts of the frame's alarm rows and the events of its deploy rows are made
    once, on first use (each row's result is its own: a subset reads the same values).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        # ``at`` as naive UTC datetime64[us] (cheap to compare) and as aware datetimes.
        self.times: np.ndarray = frame["at"].dt.tz_localize(None).to_numpy("datetime64[us]")
        self.at = _Times(self.times)
        self.source: list[Any] = frame["source"].tolist()
        self.kind: list[Any] = frame["kind"].tolist()
        codes, names = pd.factorize(frame["kind"], use_na_sentinel=False)
        self.kind_codes: np.ndarray = codes
        """Each row's kind as a number (:meth:`pick`)."""
        self._kind_names: list[Any] = list(names)
        self.ref: list[Any] = frame["ref"].tolist()
        self.summary: list[Any] = frame["summary"].tolist()
        self.service: list[Any] = frame["service"].tolist()
        self._attrs: np.ndarray = frame["attrs"].to_numpy()
        self.attrs: list[Any] = self._attrs.tolist()
        self._breach: dict[int, tuple[np.datetime64, bool]] | None = None
        self._deploys: dict[int, Event] | None = None
        self.memo: dict[tuple[Any, ...], Any] = {}
        """Results of the rules that read only some rows (the alarms', the deploys'), by those
        rows and arguments: the incidents of one service share their alarms and deploys, so
        each such result is worked out once per service, not once per incident."""

    def pick(self, rows: Sequence[int] | None) -> Picked:
        """``rows`` (ascending positions; ``None``: every row) grouped by kind."""
        return Picked(
            self.kind_codes, self._kind_names, range(len(self.kind)) if rows is None else rows
        )

    def milestone(self, position: int, rule: Rule, at: datetime | None = None) -> Milestone:
        """The milestone set by the row at ``position``."""
        event_at = self.at[position]
        return Milestone(
            at=at or event_at,
            rule=rule,
            ref=self.ref[position],
            summary=self.summary[position],
            event_at=event_at,
        )

    def breach_starts(self, rows: list[int]) -> tuple[np.ndarray, list[bool]]:
        """:func:`_breach_starts` of the alarm rows ``rows``."""
        if self._breach is None:
            every = [p for p, k in enumerate(self.kind) if k == ALARM_ALARM]
            try:
                starts, given = _breach_starts(self._attrs[every], self.times[every])
            except Exception:  # a row the parse refuses: parse each incident's rows alone
                self._breach = {}
            else:
                self._breach = dict(
                    zip(every, zip(starts, given.tolist(), strict=True), strict=True)
                )
        if not all(p in self._breach for p in rows):
            starts, given = _breach_starts(self._attrs[rows], self.times[rows])
            return starts, given.tolist()
        found = [self._breach[p] for p in rows]
        return np.array([s for s, _ in found]), [g for _, g in found]

    def deploy_events(self, rows: list[int]) -> list[Event]:
        """The events of the deploy rows ``rows``, in order."""
        if self._deploys is None:
            every = [p for p, k in enumerate(self.kind) if k in DEPLOY_KINDS]
            try:
                events = frame_events(self.frame.iloc[every]) if every else []
            except Exception:  # a row Event() refuses: make each incident's events alone
                self._deploys = {}
            else:
                self._deploys = dict(zip(every, events, strict=True))
        if not all(p in self._deploys for p in rows):
            return frame_events(self.frame.iloc[rows])
        return [self._deploys[p] for p in rows]
