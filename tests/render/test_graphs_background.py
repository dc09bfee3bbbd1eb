"""Graphs drawn by a background process: the same PNGs as drawn in-process, and a failed drawing named."""

from __future__ import annotations

import pytest

from pmdraft.graphs_beside import GraphsFailed, start_drawing, with_graphs

from .test_graphs_scale import busy_draft


def test_a_background_drawing_gives_the_same_pngs_as_drawing_in_process() -> None:
    """A process started early and sent the figures returns the same files, byte for byte, and the same links."""
    draft = busy_draft(3)
    here = with_graphs(draft, "pm.md")
    drawing = start_drawing()
    assert drawing is not None
    there = with_graphs(draft, "pm.md", background=True, drawing=drawing)
    assert there.images == {} and there.drawing is drawing
    assert there.draft.graphs == here.draft.graphs
    images = drawing.images()
    assert (
        sorted(images)
        == sorted(here.images)
        == [
            "pm-graphs/Alarm0.png",
            "pm-graphs/Alarm1.png",
            "pm-graphs/Alarm2.png",
            "pm-graphs/overview.png",
        ]
    )
    assert images == here.images


def test_a_drawing_process_that_dies_is_reported() -> None:
    """A drawing process killed before it drew anything is a GraphsFailed naming the signal, not empty images."""
    drawing = start_drawing()
    assert drawing is not None
    drawing.process.kill()
    drawn = with_graphs(busy_draft(3), "pm.md", background=True, drawing=drawing)
    with pytest.raises(
        GraphsFailed, match=r"^the monitoring graphs could not be drawn: killed by signal 9$"
    ):
        drawn.drawing.images()


def test_a_drawing_started_for_nothing_is_stopped() -> None:
    """Started early for a draft whose alarms have no data, the process is stopped and nothing is drawn."""
    drawing = start_drawing()
    assert drawing is not None
    drawn = with_graphs(busy_draft(0), "pm.md", background=True, drawing=drawing)
    assert drawn.drawing is None and drawn.images == {}
    assert drawing.process.returncode is not None
