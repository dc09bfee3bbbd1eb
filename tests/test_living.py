"""Living drafts: pmdraft's blocks are refreshed, and everything a person wrote is kept."""

from __future__ import annotations

from pmdraft.living import blocks, digest, merge, row_digest, seal
from pmdraft.output import draft_name, proposal_name, slug


def draft(timeline: str, sources: str = "| ok |\n") -> str:
    return seal(
        "# Postmortem\n\n_To be written: summary_\n\n"
        f"<!-- pmdraft:begin timeline -->\n{timeline}<!-- pmdraft:end timeline -->\n\n"
        "## Root Cause\n\n_To be written_\n\n"
        f"<!-- pmdraft:begin sources -->\n{sources}<!-- pmdraft:end sources -->\n"
    )


def test_seal_puts_the_digest_of_each_block_in_its_begin_marker() -> None:
    """A sealed draft's begin markers carry the SHA-256 of exactly the lines between the markers,
    and the timeline's also each line's short digest."""
    row = "| 14:32 | alarm |\n"
    text = draft(row)
    assert (
        f"<!-- pmdraft:begin timeline sha256={digest(row)} rows={row_digest(row)} -->\n"
        f"{row}<!-- pmdraft:end timeline -->" in text
    )
    assert f"<!-- pmdraft:begin sources sha256={digest('| ok |' + chr(10))} -->" in text
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
    """An edited block other than the timeline is left whole as the person wrote it and proposed as a diff."""
    old = draft("| 14:32 | alarm |\n")
    edited = old.replace("| ok |", "| ok (checked by Ana) |")
    merged = merge(edited, draft("| 14:50 | recovered |\n", sources="| failed |\n"))
    assert merged.kept == ["sources"] and merged.updated == ["timeline"] and merged.conflicts
    assert "| ok (checked by Ana) |\n<!-- pmdraft:end sources -->" in merged.text
    assert "| failed |" not in merged.text and "| 14:50 | recovered |" in merged.text
    assert "-| ok (checked by Ana) |\n+| failed |\n" in merged.proposal()
    assert "14:50" not in merged.proposal(), "the proposal holds only the kept block's change"
    fenced = merge(old.replace("| ok |", "| ```ok``` |"), draft("| 14:32 | alarm |\n"))
    assert "````diff\n" in fenced.proposal()
    assert "-| ```ok``` |\n+| ok |\n````\n" in fenced.proposal()


TABLE = "## Timeline\n\n| Time | Event |\n|------|-------|\n"


def test_an_edited_timeline_row_is_kept_and_the_other_rows_are_refreshed() -> None:
    """The row a person rewrote stays in place; rows they left are changed, removed and added as pmdraft now says."""
    old = draft(
        TABLE + "| 14:32 | alarm |\n| 14:40 | note |\n| 14:45 | deploy |\n| 14:57 | resolved |\n"
    )
    edited = old.replace("| 14:40 | note |", "| 14:40 | note: it was the cache (Ana) |")
    fresh = draft(
        TABLE + "| 14:30 | deploy v2 |\n| 14:32 | alarm, paged |\n| 14:40 | note |\n"
        "| 14:50 | recovered |\n| 14:57 | resolved |\n"
    )
    merged = merge(edited, fresh)
    [timeline, _] = blocks(merged.text)
    assert timeline.content(merged.text) == TABLE + (
        "| 14:30 | deploy v2 |\n| 14:32 | alarm, paged |\n| 14:40 | note: it was the cache (Ana) |\n"
        "| 14:50 | recovered |\n| 14:57 | resolved |\n"
    )
    assert merged.kept == ["timeline"] and merged.conflicts
    proposal = merged.proposal()
    assert "-| 14:40 | note: it was the cache (Ana) |\n+| 14:40 | note |\n" in proposal
    assert "14:30" not in proposal and "Root Cause" not in proposal
    again = merge(merged.text, fresh)
    assert again.text == merged.text, "refreshing again with the same data changes nothing"


def test_a_deleted_or_added_timeline_row_stays_so() -> None:
    """A row the person deleted is not put back and a row they added keeps its place among refreshed rows."""
    old = draft(TABLE + "| 14:32 | alarm |\n| 14:40 | noise |\n| 14:57 | resolved |\n")
    edited = old.replace("| 14:40 | noise |\n", "").replace(
        "| 14:57 | resolved |", "| 14:55 | status page updated (Bo) |\n| 14:57 | resolved |"
    )
    merged = merge(
        edited, draft(TABLE + "| 14:32 | alarm |\n| 14:40 | noise |\n| 14:57 | resolved by Ana |\n")
    )
    [timeline, _] = blocks(merged.text)
    assert timeline.content(merged.text) == TABLE + (
        "| 14:32 | alarm |\n| 14:55 | status page updated (Bo) |\n| 14:57 | resolved by Ana |\n"
    )


def test_a_timeline_marker_without_row_digests_is_kept_whole() -> None:
    """A draft written before row digests existed keeps its edited timeline whole, as before."""
    old = draft("| 14:32 | alarm |\n")
    legacy = old.replace(f" rows={row_digest('| 14:32 | alarm |')}", "")
    edited = legacy.replace("| 14:32 | alarm |", "| 14:32 | alarm (it was the cache) |")
    merged = merge(edited, draft("| 14:32 | alarm |\n| 14:50 | recovered |\n"))
    assert merged.kept == ["timeline"] and "14:50" not in merged.text
    assert "| 14:32 | alarm (it was the cache) |\n<!-- pmdraft:end timeline -->" in merged.text


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
