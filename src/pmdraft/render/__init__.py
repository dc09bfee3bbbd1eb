"""Turn a :class:`~pmdraft.draft.Draft` into text: Markdown, HTML, JSON, or a bare timeline.

Renderers return strings and never write files; the CLI writes them atomically.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2

from .html import load_html_template, render_html
from .markdown import load_markdown_template, render_markdown
from .structured import render_json, render_timeline

TEMPLATES = {"markdown": "postmortem.md.j2", "html": "postmortem.html.j2"}
"""The built-in template of each templated format, in ``pmdraft/render/templates``."""


def builtin_template(fmt: str = "markdown") -> str:
    """The source of the built-in template for ``fmt``: a starting point for your own."""
    return (resources.files(__name__) / "templates" / TEMPLATES[fmt]).read_text(encoding="utf-8")


def load_user_template(path: Path, fmt: str = "markdown") -> jinja2.Template:
    """Compile a user's template for ``fmt`` (sandboxed, StrictUndefined; HTML autoescaped)."""
    return load_html_template(path) if fmt == "html" else load_markdown_template(path)


__all__ = [
    "TEMPLATES",
    "builtin_template",
    "load_user_template",
    "render_html",
    "render_json",
    "render_markdown",
    "render_timeline",
]
