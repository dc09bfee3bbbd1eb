"""The monitoring graphs beside a draft: drawn once, linked from the draft, written by the caller.

``pmdraft draft -o``, ``pmdraft demo`` and ``pmdraft batch`` all go through :func:`with_graphs`,
so a batch draft gets the same graphs and links as a hand-made one. The draft is never changed in
place: a new one is made with :func:`dataclasses.replace`.

With ``background=True`` the links are made at once and the PNGs are drawn by another process
(``python -m pmdraft.figures``, which imports matplotlib and nothing of the draft's) while the
caller renders the draft; :meth:`Drawing.images` waits for them. A fresh process rather than a
fork: a fork of a process with threads (the collectors', the warm-up's) may deadlock, and
Python 3.12 warns about it.
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import PmdraftError

NO_PATH_NOTE = "graphs are written beside the draft: pass -o PATH"
NOT_DRAWN_NOTE = "graphs not drawn: install pmdraft[graphs]"


class GraphsFailed(PmdraftError):
    """The process drawing the graphs in the background failed; the message says how."""


class Drawing:
    """Figures being drawn by a ``python -m pmdraft.figures`` process started at once.

    The figures go to it pickled on stdin and the PNGs come back pickled on stdout, read by a
    thread so neither side waits on a full pipe. :meth:`images` waits for the PNGs;
    :meth:`cancel` stops the process if nobody will.
    """

    def __init__(self, figures: list[Any]) -> None:
        self.paths = [figure.path for figure in figures]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pmdraft.figures"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._output = (b"", b"")
        self._thread = threading.Thread(
            target=self._talk, args=(pickle.dumps(figures),), name="pmdraft-graphs", daemon=True
        )
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        try:
            self._output = self.process.communicate(payload)
        except OSError as exc:  # the process died before reading the figures
            self._output = (b"", str(exc).encode())

    def images(self) -> dict[str, bytes]:
        """``{path: PNG bytes}`` once drawn; :class:`GraphsFailed` naming why if they were not."""
        self._thread.join()
        out, err = self._output
        try:
            result = pickle.loads(out) if out else {}
        except (pickle.UnpicklingError, EOFError, ValueError):
            result = {}
        if "images" in result and self.process.returncode == 0:
            images: dict[str, bytes] = result["images"]
            return images
        why = result.get("error") or _last_line(err) or f"exit status {self.process.returncode}"
        raise GraphsFailed(f"the monitoring graphs could not be drawn: {why}")

    def cancel(self) -> None:
        """Stop the drawing process if it is still running (nothing is written)."""
        if self.process.poll() is None:
            self.process.kill()
        self._thread.join()


def _last_line(err: bytes) -> str:
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class Drawn:
    """A draft with its graph links (or the note saying why there are none) and the images."""

    draft: Any
    images: Mapping[str, bytes] = field(default_factory=dict)
    """Path relative to the draft (``1234-title-graphs/overview.png``) -> PNG bytes."""
    warning: str | None = None
    """What to tell the operator (matplotlib missing), if anything."""
    drawing: Drawing | None = None
    """With ``background=True``: the PNGs still being drawn (``images`` is then empty)."""


def with_graphs(
    draft: Any,
    draft_name: str | None,
    *,
    embed: bool = False,
    max_graphs: int | None = None,
    background: bool = False,
) -> Drawn:
    """Draw ``draft``'s graphs for a draft file called ``draft_name`` and link them from it.

    Without a file name (stdout) or without matplotlib the draft carries a note instead; with
    ``embed`` (HTML) each link also carries its image as a ``data:`` URI. At most
    ``max_graphs`` alarm figures (None: ``render.graphs.MAX_GRAPHS``, 8), the alarms longest in
    ALARM; the draft's graphs note names the others. With ``background`` (not with ``embed``,
    which needs the PNGs in the draft) the PNGs are drawn by another process: ``drawing``.
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
        plan_figures,
        rest_note,
        unavailable,
    )

    most = MAX_GRAPHS if max_graphs is None else max_graphs
    folder = graphs_folder(draft_name)
    images: dict[str, bytes] = {}
    drawing = None
    try:
        wanted = plan_figures(draft, folder, most)
        if background and not embed and wanted:
            unavailable()
            drawing = Drawing(wanted)
        else:
            from .figures import draw

            images = draw(wanted)
    except GraphsUnavailable as exc:
        return Drawn(dataclasses.replace(draft, graphs_note=NOT_DRAWN_NOTE), warning=str(exc))
    links = graph_links(draft, folder, most)
    rest = not_drawn(draft, most)
    note = rest_note(len(rest), most, rest) if rest else draft.graphs_note
    if embed:
        for link in links:
            encoded = base64.b64encode(images[link["path"]]).decode("ascii")
            link["data_uri"] = "data:image/png;base64," + encoded
    drawn = dataclasses.replace(draft, graphs=links, graphs_note=note)
    return Drawn(drawn, images, drawing=drawing)
