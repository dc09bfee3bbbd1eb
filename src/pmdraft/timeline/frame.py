"""Events -> one pandas DataFrame: pinned dtypes, exact duplicates dropped, a stable total sort.

The frame is the only place events from different sources meet. Its order is the explicit key
``(at, source, kind, ref)``, applied with a stable sort, so the same events always give the
same frame whatever order the sources delivered them in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from ..model import Event

SORT_KEY = ["at", "source", "kind", "ref"]
STRING_COLUMNS = ["source", "kind", "ref", "summary", "service", "actor", "url"]
COLUMNS = ["at", *STRING_COLUMNS, "attrs"]
AT_DTYPE = "datetime64[us, UTC]"


def _attrs_key(attrs: Any) -> str:
    return json.dumps(dict(attrs), sort_keys=True, default=str)


def build_frame(events: Iterable[Event]) -> pd.DataFrame:
    """One row per distinct event, sorted by ``(at, source, kind, ref)`` (stable)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for e in events:
        columns["at"].append(e.at)
        for name in STRING_COLUMNS:
            columns[name].append(getattr(e, name))
        columns["attrs"].append(dict(e.attrs))
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(pd.Series(columns["at"], dtype=object), utc=True).astype(AT_DTYPE),
            **{name: pd.Series(columns[name], dtype=object) for name in STRING_COLUMNS},
            "attrs": pd.Series(columns["attrs"], dtype=object),
        },
        columns=COLUMNS,
    )
    if frame.empty:
        return frame
    keys = frame["attrs"].map(_attrs_key)
    duplicate = frame[STRING_COLUMNS].assign(at=frame["at"], _attrs=keys).duplicated(keep="first")
    frame = frame.loc[~duplicate]
    return frame.sort_values(SORT_KEY, kind="stable", na_position="first").reset_index(drop=True)


def frame_events(frame: pd.DataFrame) -> list[Event]:
    """The frame's rows as :class:`Event` objects, in the frame's order."""
    return [
        Event(
            at=at.to_pydatetime() if hasattr(at, "to_pydatetime") else at,
            source=source,
            kind=kind,
            ref=ref,
            summary=summary,
            service=service,
            actor=actor,
            url=url,
            attrs=attrs,
        )
        for at, source, kind, ref, summary, service, actor, url, attrs in frame[COLUMNS].itertuples(
            index=False, name=None
        )
    ]


def to_datetime(value: Any) -> datetime:
    """A frame timestamp as an aware ``datetime``."""
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
