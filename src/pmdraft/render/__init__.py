"""Turn a :class:`~pmdraft.draft.Draft` into text: Markdown, JSON, or a bare timeline.

Renderers return strings and never write files; the CLI writes them atomically.
"""

from .markdown import render_markdown
from .structured import render_json, render_timeline

__all__ = ["render_json", "render_markdown", "render_timeline"]
