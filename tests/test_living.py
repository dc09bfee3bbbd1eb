"""Living drafts: pmdraft's blocks are refreshed, and everything a person wrote is kept."""

from __future__ import annotations

from pmdraft.living import blocks, digest, merge, seal
from pmdraft.output import draft_name, proposal_name, slug


def draft(timeline: str, sources: str = "| ok |\n") -> str:
    return seal(
        "# Postmortem\n\n_To be written: summary_\n\n"
        f"<!-- pmdraft:begin timeline -->\n{timeline}<!-- pmdraft:end timeline -->\n\n"
        "## Root Cause\n\n_To be written_\n\n"
        f"<!-- pmdraft:begin sources -->\n{sources}<!-- pmdraft:end sources -->\n"
    )


def test_seal_puts_the_digest_of_each_block_in_its_begin_marker() -> None:
    """A sealed draft's begin markers carry the SHA-256 of exactly the lines between the markers."""
    row = "| 14:32 | alarm |\n"
    text = draft(row)
    assert (
        f"<!-- pmdraft:begin timeline sha256={digest(row)} -->\n{row}<!-- pmdraft:end timeline -->"
        in text
    )
    assert [b.name for b in blocks(text)] == ["timeline", "sources"]
    assert seal(text) == text


def test_edits_outside_the_blocks_survive_byte_for_byte() -> None:
    """A person's root cause, odd spacing and trailing text stay exactly; the timeline block is refreshed."""
    old = draft("| 14:32 | alarm |\n")
    edited = (
        old.replace(
            "## Root Cause\n\n_To be written_\n", "## Root  Cause\n\nThe pool leaked.\t\r\n  \n"
        )
        + "notes ✓\n"
    )
    merged = merge(edited, draft("| 14:32 | alarm |\n| 14:50 | recovered |\n"))
    assert merged.updated == ["timeline", "sources"] and not merged.conflicts
    assert "| 14:50 | recovered |" in merged.text
    assert (
        merged.text.replace("| 14:50 | recovered |\n", "").split("<!-- pmdraft:end timeline -->")[1]
        == edited.split("<!-- pmdraft:end timeline -->")[1]
    )
    assert merged.text.startswith("# Postmortem\n\n_To be written: summary_\n\n")


def test_a_block_edited_by_hand_is_kept_and_reported() -> None:
    """A changed timeline block is left as the person wrote it; the untouched block is still refreshed."""
    old = draft("| 14:32 | alarm |\n")
    edited = old.replace("| 14:32 | alarm |", "| 14:32 | alarm (it was the cache) |")
    merged = merge(
        edited, draft("| 14:32 | alarm |\n| 14:50 | recovered |\n", sources="| failed |\n")
    )
    assert merged.kept == ["timeline"] and merged.updated == ["sources"] and merged.conflicts
    assert "| 14:32 | alarm (it was the cache) |\n<!-- pmdraft:end timeline -->" in merged.text
    assert "14:50" not in merged.text and "| failed |" in merged.text


def test_a_file_without_markers_is_left_alone() -> None:
    """Refreshing a draft whose markers were all removed changes nothing and asks for a proposal."""
    merged = merge("# My own postmortem\n", draft("| 14:32 | alarm |\n"))
    assert merged.text == "# My own postmortem\n" and merged.unmarked and merged.conflicts


def test_a_deleted_block_stays_deleted_and_a_broken_marker_is_not_a_block() -> None:
    """A block a person removed is not put back; a begin marker without its end fences nothing."""
    old = draft("| 14:32 | alarm |\n")
    start, end = (
        old.index("<!-- pmdraft:begin timeline"),
        old.index("<!-- pmdraft:end timeline -->\n"),
    )
    edited = old[:start] + old[end + len("<!-- pmdraft:end timeline -->\n") :]
    merged = merge(edited, draft("| 14:50 | recovered |\n"))
    assert "14:50" not in merged.text and merged.updated == ["sources"]
    assert blocks("<!-- pmdraft:begin timeline -->\nno end\n") == []


def test_marker_text_inside_a_line_cannot_open_or_close_a_block() -> None:
    """A title holding a marker (inside a table cell) is not mistaken for one: markers are whole lines."""
    text = draft("| 14:32 | x <!-- pmdraft:end timeline --> y |\n")
    [timeline, _] = blocks(text)
    assert timeline.content(text) == "| 14:32 | x <!-- pmdraft:end timeline --> y |\n"


def test_a_crlf_draft_is_refreshed_in_crlf() -> None:
    """A draft an editor saved with CRLF line endings still matches its digests and keeps CRLF."""
    old = draft("| 14:32 | alarm |\n").replace("\n", "\r\n")
    merged = merge(old, draft("| 14:50 | recovered |\n"))
    assert merged.updated == ["timeline", "sources"]
    assert "| 14:50 | recovered |\r\n<!-- pmdraft:end timeline -->" in merged.text
    assert "\r\n" not in merged.text.replace("\r\n", "") and "\n" not in merged.text.replace(
        "\r\n", ""
    )


def test_a_hostile_title_yields_a_safe_stable_file_name() -> None:
    """`../`, slashes, control characters, accents and other scripts become one dash-joined ASCII name."""
    assert (
        draft_name(1234, "../../etc/passwd\x00\r\n\x1b[31m rm -rf /")
        == "1234-etc-passwd-31m-rm-rf.md"
    )
    assert draft_name(7, "Café → Ünïcode 数据库 down") == "7-cafe-unicode-down.md"
    assert draft_name(7, "数据库") == "7-incident.md"
    assert draft_name(None, "..", "PABC/../12") == "pabc12-incident.md"
    long = draft_name(9, "word " * 40)
    assert len(long) <= len("9-") + 60 + len(".md") and long.endswith("-word.md")
    assert proposal_name("7-cafe.md") == "7-cafe.proposed.md"
    assert slug("  --Checkout   errors--  ") == "checkout-errors"
