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
    """A ``python -m pmdraft.figures`` process that draws the figures it is sent.

    Started early (:func:`start_drawing`), it imports matplotlib while the sources are read;
    :meth:`send` hands it the figures, pickled on stdin, and the PNGs come back pickled on
    stdout, read by a thread so neither side waits on a full pipe. :meth:`images` waits for
    them; :meth:`cancel` stops the process if nobody will.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pmdraft.figures"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._output = (b"", b"")
        self._thread: threading.Thread | None = None

    def send(self, figures: list[Any]) -> None:
        """Start drawing ``figures`` (once)."""
        payload = pickle.dumps(figures)
        self._thread = threading.Thread(
            target=self._talk, args=(payload,), name="pmdraft-graphs", daemon=True
        )
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        try:
            self._output = self.process.communicate(payload)
        except OSError as exc:  # the process died before reading the figures
            self.process.wait()
            self._output = (b"", str(exc).encode())

    def images(self) -> dict[str, bytes]:
        """``{path: PNG bytes}`` once drawn; :class:`GraphsFailed` naming why if they were not."""
        if self._thread is None:
            raise GraphsFailed("the monitoring graphs could not be drawn: no figures were sent")
        self._thread.join()
        out, err = self._output
        try:
            result = pickle.loads(out) if out else {}
        except (pickle.UnpicklingError, EOFError, ValueError):
            result = {}
        if "images" in result and self.process.returncode == 0:
            images: dict[str, bytes] = result["images"]
            return images
        code = self.process.returncode
        why = result.get("error") or _last_line(err)
        if not why:
            why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        raise GraphsFailed(f"the monitoring graphs could not be drawn: {why}")

    def cancel(self) -> None:
        """Stop the process if it is still running (nothing is drawn or written)."""
        if self.process.poll() is None:
            self.process.kill()
        if self._thread is not None:
            self._thread.join()
        else:
            self.process.communicate()


def start_drawing(*, required: bool = False) -> Drawing | None:
    """A drawing process started now, so matplotlib loads while the sources are read.

    None without matplotlib (or :class:`GraphsUnavailable` if ``required``: the draft then says
    how to get it), or if no process can be started (the graphs are then drawn in this one).
    """
    from .errors import GraphsUnavailable
    from .figures import unavailable  # not from render: pandas and jinja2 would load now

    try:
        unavailable()
    except GraphsUnavailable:
        if required:
            raise
        return None
    try:
        return Drawing()
    except OSError:
        return None


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
    drawing: Drawing | None = None,
) -> Drawn:
    """Draw ``draft``'s graphs for a draft file called ``draft_name`` and link them from it.

    Without a file name (stdout) or without matplotlib the draft carries a note instead; with
    ``embed`` (HTML) each link also carries its image as a ``data:`` URI. At most
    ``max_graphs`` alarm figures (None: ``render.graphs.MAX_GRAPHS``, 8), the alarms longest in
    ALARM; the draft's graphs note names the others. With ``background`` (not with ``embed``,
    which needs the PNGs in the draft) the PNGs are drawn by another process, ``drawing`` if
    one was started, and the result's ``drawing`` gives them; an unused ``drawing`` is stopped.
    """
    unused = embed or not background or not draft.series or not draft_name
    if drawing is not None and unused:
        drawing.cancel()
        drawing = None
    if not draft.series:
        return Drawn(draft)
    if not draft_name:
        return Drawn(dataclasses.replace(draft, graphs_note=NO_PATH_NOTE))
    from .render.graphs import (
        MAX_GRAPHS,
        GraphsUnavailable,
        graphs_folder,
        plan_graphs,
        rest_note,
    )

    most = MAX_GRAPHS if max_graphs is None else max_graphs
    folder = graphs_folder(draft_name)
    images: dict[str, bytes] = {}
    graphs = plan_graphs(draft, folder, most)
    if drawing is not None and not graphs.figures:
        drawing.cancel()
        drawing = None
    try:
        if background and not embed and graphs.figures and drawing is None:
            drawing = start_drawing(required=True)
        if drawing is not None:
            drawing.send(graphs.figures)
        else:
            from .figures import draw

            images = draw(graphs.figures)
    except GraphsUnavailable as exc:
        return Drawn(dataclasses.replace(draft, graphs_note=NOT_DRAWN_NOTE), warning=str(exc))
    links, rest = graphs.links, graphs.not_drawn
    note = rest_note(len(rest), most, rest) if rest else draft.graphs_note
    if embed:
        for link in links:
            encoded = base64.b64encode(images[link["path"]]).decode("ascii")
            link["data_uri"] = "data:image/png;base64," + encoded
    drawn = dataclasses.replace(draft, graphs=links, graphs_note=note)
    return Drawn(drawn, images, drawing=drawing)
