"""Flapping alarms: many transitions of one alarm within minutes, shown as one timeline line.

The JSON keeps every transition; only the readable timeline folds them, into a line
(:class:`~pmdraft.model.FlapLine`) that ``pmdraft.words`` says as "CloudWatch alarm
HighErrorRate flapped 6 times between 14:32 and 14:41 (see JSON)". Rows a
milestone came from keep their own lines (the first alarm, the final recovery).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..facts import FlapLine
from ..model import ALARM_ALARM, ALARM_INSUFFICIENT_DATA, ALARM_OK

FLAP_TRANSITIONS = 3
"""An alarm with at least this many transitions within :data:`FLAP_SPAN`, going back to ALARM
at least once after a recovery, is flapping."""

FLAP_SPAN = timedelta(minutes=10)
"""Longest stretch one flapping line covers, counted from its first transition."""

_ALARM_KINDS = (ALARM_ALARM, ALARM_OK, ALARM_INSUFFICIENT_DATA)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def find_flaps(
    micros: np.ndarray,
    source: np.ndarray,
    kind: np.ndarray,
    ref: np.ndarray,
    attrs: np.ndarray,
    marked: np.ndarray,
    *,
    transitions: int = FLAP_TRANSITIONS,
    span: timedelta = FLAP_SPAN,
) -> tuple[np.ndarray, dict[int, FlapLine]]:
    """Rows folded into a flapping line, and each line keyed by its first folded row.

    Each alarm's transitions are cut into pieces of at most ``span`` from the piece's first;
    a piece of at least ``transitions`` rows that returns to ALARM after an OK is flapping.
    """
    folded = np.zeros(len(kind), dtype=bool)
    heads: dict[int, FlapLine] = {}
    if transitions < 2 or not len(kind):
        return folded, heads
    alarm_rows = np.flatnonzero((source == "cloudwatch") & np.isin(kind, _ALARM_KINDS))
    width = span // _MICROSECOND
    # Plain lists of the alarm rows' values: read one by one below, numpy scalars would be slow.
    rows = alarm_rows.tolist()
    times = micros[alarm_rows].tolist()
    kinds = kind[alarm_rows].tolist()
    by_ref: dict[Any, list[int]] = {}  # ref -> indexes into ``rows``, in time order
    for i, r in enumerate(ref[alarm_rows].tolist()):
        by_ref.setdefault(r, []).append(i)
    for indexes in by_ref.values():
        start = 0
        while start < len(indexes):
            end, first_at = start, times[indexes[start]]
            while end + 1 < len(indexes) and times[indexes[end + 1]] - first_at <= width:
                end += 1
            piece_at = indexes[start : end + 1]
            start = end + 1
            if len(piece_at) < transitions:
                continue
            states = [kinds[i] for i in piece_at]
            # back to ALARM after a recovery: an ALARM somewhere after the first OK
            ok = states.index(ALARM_OK) if ALARM_OK in states else len(states)
            if ALARM_ALARM not in states[ok + 1 :]:
                continue
            piece = [rows[i] for i in piece_at]
            hidden = [p for p in piece if not marked[p]]
            if not hidden:
                continue
            folded[hidden] = True
            first, last = (_EPOCH + int(micros[p]) * _MICROSECOND for p in (piece[0], piece[-1]))
            name = (attrs[piece[0]] or {}).get("alarm_name", ref[piece[0]])
            heads[hidden[0]] = FlapLine(str(name), len(piece), first, last)
    return folded, heads
