"""The postmortem draft as one self-contained HTML file, ready for the browser's "Save as PDF".

Same sections, headings and content as the Markdown draft (the same :func:`context`), in a
sandboxed, autoescaped jinja2 environment: a ``<script>`` in an incident title stays text. The
CSS is inline and has a print stylesheet; nothing is fetched from anywhere.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .context import context
from .environment import fill, load_template, sandboxed_environment
from .text import inline

if TYPE_CHECKING:
    from ..draft import Draft


def _environment() -> SandboxedEnvironment:
    # The Markdown template's filters, so a template can move between formats; HTML needs no
    # pipe escaping, so ``cell`` is ``inline`` here.
    return sandboxed_environment(autoescape=True, filters={"cell": inline, "inline": inline})


def load_html_template(path: Path) -> jinja2.Template:
    """A user's HTML template (``--template`` with ``--format html``), compiled and autoescaped."""
    return load_template(path, _environment())


def render_html(
    draft: Draft, *, tz: tzinfo | None = None, template: jinja2.Template | None = None
) -> str:
    """The draft as one HTML document with inline CSS (screen and print), autoescaped."""
    return fill(template or _environment().get_template("postmortem.html.j2"), context(draft, tz))
