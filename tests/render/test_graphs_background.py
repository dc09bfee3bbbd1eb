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


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_one_alarm_gets_its_figure_and_an_overview_of_their_own_sizes() -> None:
    """A draft with one alarm with data: a 900x360 alarm figure and a 900x250 overview (one 1.9-inch panel under its title), not two copies."""
    images = with_graphs(busy_draft(1), "pm.md").images
    assert {path: png_size(png) for path, png in images.items()} == {
        "pm-graphs/Alarm0.png": (900, 360),
        "pm-graphs/overview.png": (900, 250),
    }
