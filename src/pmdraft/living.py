"""Living drafts: machine-owned blocks fenced by markers, refreshed without touching anything else.

A block is written as::

    <!-- pmdraft:begin timeline sha256=<hex digest of the content> -->
    ...content pmdraft owns...
    <!-- pmdraft:end timeline -->

Each marker is a whole line, so text from the sources (always inside a table cell or a list
item) can never open or close a block. :func:`seal` fills in the digests of a freshly rendered
draft; :func:`merge` refreshes an existing draft: a block whose content still matches its digest
is replaced, a block a person edited is kept, and every byte outside the blocks stays as it was.
Pure functions: nothing here reads or writes files.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_BEGIN = re.compile(
    r"^<!-- pmdraft:begin (?P<name>[a-z][a-z0-9_-]*)"
    r"(?: sha256=(?P<sha>[0-9a-f]{64}))? -->(?P<nl>\r?\n)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    """One fenced block: where its begin line, content and end line lie in the text."""

    name: str
    sha: str | None
    start: int
    """Offset of the begin marker line."""
    content_start: int
    content_end: int
    """Offset of the end marker line (the content ends just before it)."""
    newline: str

    def content(self, text: str) -> str:
        return text[self.content_start : self.content_end]


@dataclass
class Merged:
    """The refreshed draft, and which blocks were replaced or kept because a person edited them."""

    text: str
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Blocks left as they were because their content no longer matches their digest."""
    unmarked: bool = False
    """The existing draft has no pmdraft blocks at all, so it was left exactly as it was."""

    @property
    def conflicts(self) -> bool:
        """Whether part of the new draft could not be applied (a proposal file is due)."""
        return bool(self.kept) or self.unmarked


def digest(content: str) -> str:
    """The SHA-256 of a block's content, line endings normalised to ``\\n``."""
    return hashlib.sha256(content.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def blocks(text: str) -> list[Block]:
    """The well-formed blocks of ``text``, in order; a begin marker without its end is ignored."""
    found: list[Block] = []
    pos = 0
    while (begin := _BEGIN.search(text, pos)) is not None:
        name = begin.group("name")
        end = re.compile(
            rf"^<!-- pmdraft:end {re.escape(name)} -->(?:\r?\n|\Z)", re.MULTILINE
        ).search(text, begin.end())
        if end is None:
            pos = begin.end()
            continue
        found.append(
            Block(
                name, begin.group("sha"), begin.start(), begin.end(), end.start(), begin.group("nl")
            )
        )
        pos = end.end()
    return found


def _begin_line(block: Block, content: str) -> str:
    return f"<!-- pmdraft:begin {block.name} sha256={digest(content)} -->{block.newline}"


def seal(text: str) -> str:
    """``text`` with each block's begin marker carrying the digest of its content."""
    out, pos = [], 0
    for b in blocks(text):
        out += [text[pos : b.start], _begin_line(b, b.content(text))]
        pos = b.content_start
    out.append(text[pos:])
    return "".join(out)


def merge(existing: str, fresh: str) -> Merged:
    """Refresh ``existing`` with the blocks of ``fresh`` (a sealed rendering).

    A block of ``existing`` whose content matches its digest takes the content of the block of
    the same name in ``fresh``; one a person edited (or whose digest is missing) is kept. Blocks
    only one side has are left alone: a block a person deleted stays deleted.
    """
    new = {b.name: b.content(fresh) for b in blocks(fresh)}
    old = blocks(existing)
    if not old:
        return Merged(existing, unmarked=True)
    merged = Merged(existing)
    out, pos = [], 0
    for b in old:
        if b.name not in new:
            continue
        current = b.content(existing)
        if b.sha is None or digest(current) != b.sha:
            merged.kept.append(b.name)
            continue
        content = new[b.name]
        if b.newline == "\r\n":
            content = content.replace("\r\n", "\n").replace("\n", "\r\n")
        out += [existing[pos : b.start], _begin_line(b, content), content]
        pos = b.content_end
        merged.updated.append(b.name)
    out.append(existing[pos:])
    merged.text = "".join(out)
    return merged
