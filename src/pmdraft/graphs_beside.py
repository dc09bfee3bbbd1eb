"""The monitoring graphs beside a draft: drawn once, linked from the draft, written by the caller.

``pmdraft draft -o``, ``pmdraft demo`` and ``pmdraft batch`` all go through :func:`with_graphs`,
so a batch draft gets the same graphs and links as a hand-made one. The draft is never changed in
place: a new one is made with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NO_PATH_NOTE = "graphs are written beside the draft: pass -o PATH"
NOT_DRAWN_NOTE = "graphs not drawn: install pmdraft[graphs]"


@dataclass(frozen=True)
class Drawn:
    """A draft with its graph links (or the note saying why there are none) and the images."""

    draft: Any
    images: Mapping[str, bytes] = field(default_factory=dict)
    """Path relative to the draft (``1234-title-graphs/overview.png``) -> PNG bytes."""
    warning: str | None = None
    """What to tell the operator (matplotlib missing), if anything."""


def with_graphs(
    draft: Any, draft_name: str | None, *, embed: bool = False, max_graphs: int | None = None
) -> Drawn:
    """Draw ``draft``'s graphs for a draft file called ``draft_name`` and link them from it.

    Without a file name (stdout) or without matplotlib the draft carries a note instead; with
    ``embed`` (HTML) each link also carries its image as a ``data:`` URI. At most
    ``max_graphs`` alarm figures (None: ``render.graphs.MAX_GRAPHS``, 8), the alarms longest in
    ALARM; the draft's graphs note names the others.
    """
    if not draft.metric_series:
        return Drawn(draft)
    if not draft_name:
        return Drawn(dataclasses.replace(draft, graphs_note=NO_PATH_NOTE))
    from .render.graphs import (
        MAX_GRAPHS,
        GraphsUnavailable,
        graph_links,
        graphs_folder,
        not_drawn,
        render_graphs,
        rest_note,
    )

    most = MAX_GRAPHS if max_graphs is None else max_graphs
    folder = graphs_folder(draft_name)
    try:
        images = render_graphs(draft, folder, most)
    except GraphsUnavailable as exc:
        return Drawn(dataclasses.replace(draft, graphs_note=NOT_DRAWN_NOTE), warning=str(exc))
    links = graph_links(draft, folder, most)
    rest = not_drawn(draft, most)
    note = rest_note(len(rest), most, rest) if rest else draft.graphs_note
    if embed:
        for link in links:
            encoded = base64.b64encode(images[link["path"]]).decode("ascii")
            link["data_uri"] = "data:image/png;base64," + encoded
    return Drawn(dataclasses.replace(draft, graphs=links, graphs_note=note), images)
