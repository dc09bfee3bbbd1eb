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
    by_ref: dict[Any, list[int]] = {}
    for position in alarm_rows.tolist():
        by_ref.setdefault(ref[position], []).append(position)
    for positions in by_ref.values():
        start = 0
        while start < len(positions):
            end = start
            while (
                end + 1 < len(positions)
                and micros[positions[end + 1]] - micros[positions[start]] <= width
            ):
                end += 1
            piece = positions[start : end + 1]
            start = end + 1
            kinds = [kind[p] for p in piece]
            back = any(k == ALARM_ALARM and ALARM_OK in kinds[:i] for i, k in enumerate(kinds))
            hidden = [p for p in piece if not marked[p]]
            if len(piece) < transitions or not back or not hidden:
                continue
            folded[hidden] = True
            first, last = (_EPOCH + int(micros[p]) * _MICROSECOND for p in (piece[0], piece[-1]))
            name = (attrs[piece[0]] or {}).get("alarm_name", ref[piece[0]])
            heads[hidden[0]] = FlapLine(str(name), len(piece), first, last)
    return folded, heads
