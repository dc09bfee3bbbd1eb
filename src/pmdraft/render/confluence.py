"""The postmortem draft in Confluence storage format (XHTML), ready for the REST API.

The same facts as the Markdown draft: the values come from :func:`pmdraft.render.markdown.context`
and fill ``postmortem.confluence.j2`` in the same sandboxed jinja2 environment, autoescaped, so
a ``<script>`` in an incident title stays text. Storage format is XML, so:

- text is escaped with XML's own entities (``&amp;``, ``&lt;``, ``&gt;``) and numeric ones
  (``&#34;``); HTML-only names such as ``&nbsp;`` never appear, since Confluence and XML
  parsers reject them;
- characters XML 1.0 forbids (control characters, lone surrogates) are dropped from every
  value, so a hostile byte in a source cannot make the page unpublishable;
- a prompt for the writer is an ``info`` panel titled "To be written"; the status is a
  ``status`` macro lozenge "Draft" (Yellow); graphs are ``<ac:image>`` of attachments named by
  their file name.

pmdraft's own sections are fenced by invisible ``anchor`` macros carrying a digest of their text;
:mod:`pmdraft.living_storage` explains why anchors (HTML comments do not survive Confluence) and
how a re-publish keeps a person's edits.
"""

from __future__ import annotations

import re
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..living_storage import seal
from .context import context
from .environment import fill, sandboxed_environment
from .text import inline

if TYPE_CHECKING:
    from ..draft import Draft

TEMPLATE = "postmortem.confluence.j2"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value: object) -> object:
    """``value`` without the characters XML 1.0 forbids (Markup and non-strings as they are)."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return _NOT_XML.sub("", value)


def _inline(value: object) -> str:
    return inline(xml_text(value))


def page_title(draft: Draft) -> str:
    """The Confluence page title: ``Postmortem: <incident title>``, XML-safe, on one line."""
    return _inline(f"Postmortem: {context(draft)['title']}")


def graph_files(draft: Draft) -> dict[str, Path]:
    """Attachment file name -> the graph file on disk, for each graph the page shows."""
    return {Path(g["path"]).name: Path(g["path"]) for g in getattr(draft, "graphs", [])}


def confluence_values(draft: Draft, tz: tzinfo | None = None) -> dict[str, Any]:
    """:func:`~pmdraft.render.markdown.context` plus each graph's attachment ``filename``."""
    values = context(draft, tz)
    values["graphs"] = [{**g, "filename": Path(g["path"]).name} for g in values["graphs"]]
    return values


def render_confluence(draft: Draft, *, tz: tzinfo | None = None) -> str:
    """The draft as a Confluence storage-format body, its pmdraft blocks sealed with digests."""
    env = sandboxed_environment(autoescape=True, filters={"cell": _inline, "inline": _inline})
    env.finalize = xml_text
    return seal(fill(env.get_template(TEMPLATE), confluence_values(draft, tz)))
