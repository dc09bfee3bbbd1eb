"""Living drafts in Confluence storage format: pmdraft's blocks found, refreshed or kept.

The Markdown draft fences its blocks with HTML comments (:mod:`pmdraft.living`), but Confluence
drops comments when it stores a page. Here a block lies between two ``anchor`` macros, each
alone in a paragraph::

    <p><ac:structured-macro ac:name="anchor">
      <ac:parameter ac:name="">pmdraft-begin-timeline-<digest></ac:parameter>
    </ac:structured-macro></p>
    ...content pmdraft owns...
    <p><ac:structured-macro ac:name="anchor">
      <ac:parameter ac:name="">pmdraft-end-timeline</ac:parameter>
    </ac:structured-macro></p>

Why anchors: a macro survives Confluence's storage -> editor -> storage round trip (it is kept
as an extension with its parameters), where comments and unknown attributes do not; an anchor
shows nothing on the page, takes no room, and a person editing the text beside it leaves it
alone. A wrapping body macro (``expand``, ``panel``, ``excerpt``) would add visible chrome or
change how other pages include this one.

The digest (16 hex digits of SHA-256) is of the block's *text*, not its bytes: Confluence
rewrites markup when it stores a page (``ac:macro-id`` and ``local-id`` attributes, ``<p>``
inside table cells, ``<colgroup>``), so the digest covers the text, the link targets, the
attachment names and the macro names, whitespace folded. An edit that changes only formatting
(bold, colour) is therefore refreshed away; an edit of any word is kept. Pure functions.
"""

from __future__ import annotations

import hashlib
import html.entities
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NAMESPACES = {
    "ac": "http://atlassian.com/content",
    "ri": "http://atlassian.com/resource/identifier",
    "at": "http://atlassian.com/template",
}
"""The prefixes storage format uses, declared on the wrapper an XML parser needs."""

_ANCHOR = re.compile(
    r"<p\b[^>]*>\s*<ac:structured-macro\b[^>]*\bac:name=\"anchor\"[^>]*>\s*"
    r"<ac:parameter\b[^>]*>pmdraft-(?P<edge>begin|end)-(?P<name>[a-z][a-z0-9_]*)"
    r"(?:-(?P<sha>[0-9a-f]{16}))?</ac:parameter>\s*</ac:structured-macro>\s*</p>"
)
_NAMED = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_NAMED = frozenset({"amp", "lt", "gt", "quot", "apos"})
_KEPT_ATTRIBUTES = ("href", f"{{{NAMESPACES['ri']}}}filename", f"{{{NAMESPACES['ac']}}}name")


def wrap(fragment: str) -> str:
    """``fragment`` inside one root element declaring ``ac``, ``ri`` and ``at``, HTML-only
    named entities (``&nbsp;``) turned numeric so an XML parser accepts it."""
    declared = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    return f"<pmdraft-root {declared}>{numeric_entities(fragment)}</pmdraft-root>"


def numeric_entities(text: str) -> str:
    """HTML named entities other than XML's five as numeric ones (``&nbsp;`` -> ``&#160;``)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_NAMED or name not in html.entities.name2codepoint:
            return match.group(0)
        return f"&#{html.entities.name2codepoint[name]};"

    return _NAMED.sub(replace, text)


def parse(fragment: str) -> ET.Element:
    """The storage-format ``fragment`` as an element tree under a wrapper root."""
    return ET.fromstring(wrap(fragment))


def canonical(fragment: str) -> str:
    """What a block says: its text, link targets, attachment names and macro names, whitespace
    folded; markup Confluence adds or rewrites does not change it."""
    try:
        root = parse(fragment)
    except ET.ParseError:
        return " ".join(fragment.split())
    pieces: list[str] = []
    for element in root.iter():
        pieces += [f"{k}={element.attrib[k]}" for k in _KEPT_ATTRIBUTES if k in element.attrib]
        pieces.append(element.text or "")
        pieces.append(element.tail or "")
    return " ".join(" ".join(pieces).split())


def digest(fragment: str) -> str:
    """16 hex digits of the SHA-256 of :func:`canonical` ``(fragment)``."""
    return hashlib.sha256(canonical(fragment).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Block:
    """One block: where its begin paragraph, content and end paragraph lie in the text."""

    name: str
    sha: str | None
    start: int
    content_start: int
    content_end: int
    end: int

    def content(self, text: str) -> str:
        """The block's content, between its two anchors."""
        return text[self.content_start : self.content_end]


def blocks(text: str) -> list[Block]:
    """The well-formed blocks of ``text`` in order; a begin without its end is ignored."""
    found: list[Block] = []
    opened: Block | None = None
    for m in _ANCHOR.finditer(text):
        if m.group("edge") == "begin":
            opened = Block(m.group("name"), m.group("sha"), m.start(), m.end(), -1, -1)
        elif opened is not None and m.group("name") == opened.name:
            found.append(
                Block(
                    opened.name, opened.sha, opened.start, opened.content_start, m.start(), m.end()
                )
            )
            opened = None
    return found


def _begin(name: str, content: str) -> str:
    return (
        '<p><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">'
        f"pmdraft-begin-{name}-{digest(content)}</ac:parameter></ac:structured-macro></p>"
    )


def seal(text: str) -> str:
    """``text`` with each block's begin anchor carrying the digest of its content."""
    out, pos = [], 0
    for b in blocks(text):
        out += [text[pos : b.start], _begin(b.name, b.content(text))]
        pos = b.content_start
    out.append(text[pos:])
    return "".join(out)


@dataclass
class Merged:
    """The refreshed page body; blocks replaced, blocks kept, and what pmdraft proposes for them."""

    text: str
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Blocks a person edited (their text no longer matches the digest): left as they are."""
    proposed: dict[str, str] = field(default_factory=dict)
    """The fresh content of each kept block, to offer in a comment."""
    unmarked: bool = False
    """The stored page has no pmdraft blocks at all, so it was left exactly as it was."""


def merge(existing: str, fresh: str) -> Merged:
    """Refresh ``existing`` (the stored body) with the blocks of ``fresh`` (a sealed rendering).

    A block whose text still matches its digest takes the fresh content; one a person edited is
    kept and its fresh content goes to ``proposed``. Every byte outside the blocks stays; a
    block a person deleted stays deleted.
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
        if b.sha is None or digest(b.content(existing)) != b.sha:
            merged.kept.append(b.name)
            if canonical(b.content(existing)) != canonical(new[b.name]):
                merged.proposed[b.name] = new[b.name]
            continue
        out += [existing[pos : b.start], _begin(b.name, new[b.name]), new[b.name]]
        pos = b.content_end
        merged.updated.append(b.name)
    out.append(existing[pos:])
    merged.text = "".join(out)
    return merged
