"""A Markdown draft -- as a person left it -- in Confluence storage format, for ``pmdraft publish``.

``pmdraft publish DRAFT.md`` publishes the file the person edited, not a fresh rendering, so their
words reach Confluence. The Markdown is read with a CommonMark parser (markdown-it-py, with GFM
tables), and the result is turned into what a Confluence user expects:

- pmdraft's ``<!-- pmdraft:begin NAME -->`` / ``<!-- pmdraft:end NAME -->`` markers become the
  invisible ``anchor`` macros of :mod:`pmdraft.living_storage` (Confluence drops comments), so a
  later publish refreshes pmdraft's blocks and keeps a block someone edited in Confluence;
- a paragraph that is only a writer's prompt (``_To be written: ..._``) becomes an ``info``
  panel; a ``Draft`` status lozenge heads the page;
- images become attachments (``<ac:image><ri:attachment ri:filename=.../>``); their files are
  returned so the caller uploads them;
- tables keep their header row as ``<th>`` cells, in one ``<tbody>`` as storage format has it.

Every piece of text stays escaped (markdown-it escapes ``& < > "``; raw HTML is not passed
through), and the result parses as XML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from markdown_it import MarkdownIt

from ..living_storage import parse, seal

_MARKER = re.compile(r"<!-- pmdraft:(?P<edge>begin|end) (?P<name>[a-z][a-z0-9_-]*)[^>]*-->")
_PLACEHOLDER = re.compile(r"<p>PMDRAFT(?P<edge>BEGIN|END)::(?P<name>[a-z0-9_]+)</p>")
_IMAGE = re.compile(r'<img src="(?P<src>[^"]*)" alt="(?P<alt>[^"]*)" ?/?>')
_PROMPT = re.compile(r"<p><em>(?P<text>To be written:[^<]*)</em></p>")
_STATUS = (
    '<p><ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">Yellow'
    '</ac:parameter><ac:parameter ac:name="title">Draft</ac:parameter>'
    "</ac:structured-macro></p>\n"
)


@dataclass
class Storage:
    """A page body in storage format, its title, and the image files it shows."""

    body: str
    title: str
    images: list[str] = field(default_factory=list)
    """Image paths as the Markdown names them (relative to the draft's folder)."""


def _anchor(edge: str, name: str) -> str:
    """An empty anchor macro; :func:`pmdraft.living_storage.seal` adds the begin's digest."""
    return (
        f'<p><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">'
        f"pmdraft-{edge}-{name}</ac:parameter></ac:structured-macro></p>"
    )


def _placeholders(markdown: str) -> str:
    """pmdraft's comment markers as paragraphs the parser keeps (it drops raw HTML)."""
    return _MARKER.sub(
        lambda m: f"\nPMDRAFT{m['edge'].upper()}::{m['name'].replace('-', '_')}\n", markdown
    )


def _tables(body: str) -> str:
    """Storage format's table shape: the header row's ``<th>`` cells and the rest in a tbody."""
    body = re.sub(r"</?thead>|</?tbody>", "", body)
    return body.replace("<table>", "<table><tbody>").replace("</table>", "</tbody></table>")


def to_storage(markdown: str) -> Storage:
    """``markdown`` (a pmdraft draft, perhaps edited) as a sealed storage-format page body."""
    title_line = next((line for line in markdown.splitlines() if line.startswith("# ")), "")
    title = title_line[2:].strip() or "Postmortem"
    parser = MarkdownIt("commonmark", {"html": False, "xhtmlOut": True}).enable("table")
    rendered = parser.render(_placeholders(markdown))
    images: list[str] = []

    def image(m: re.Match[str]) -> str:
        src = html.unescape(m["src"])
        images.append(src)
        name = html.escape(PurePosixPath(src).name, quote=True)
        return f'<ac:image ac:alt="{m["alt"]}"><ri:attachment ri:filename="{name}" /></ac:image>'

    body = _IMAGE.sub(image, rendered)
    body = _PLACEHOLDER.sub(lambda m: _anchor(m["edge"].lower(), m["name"]), body)
    body = _PROMPT.sub(
        lambda m: (
            '<ac:structured-macro ac:name="info"><ac:rich-text-body>'
            f"<p>{m['text']}</p></ac:rich-text-body></ac:structured-macro>"
        ),
        body,
    )
    body = seal(_STATUS + _tables(body))
    parse(body)  # a page Confluence would refuse is an error here, not there
    return Storage(body, title, images)
