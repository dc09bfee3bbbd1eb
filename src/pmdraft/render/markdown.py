"""The postmortem draft in Markdown, following the team's template section by section.

What the data gives is filled in, each number with how it was computed; what only a person can
write is a visible prompt (``_To be written: ..._``). The values come from
:func:`.context.context`; the environment from :mod:`.environment`.
"""

from __future__ import annotations

import functools
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from .context import context
from .environment import fill, load_template, markdown_environment

if TYPE_CHECKING:
    from ..draft import Draft


@functools.cache
def _builtin() -> jinja2.Template:
    """The built-in template, compiled once per process (a batch run renders many drafts)."""
    return markdown_environment().get_template("postmortem.md.j2")


def prepare() -> None:
    """Compile the built-in template now (``pmdraft draft`` has it done while the sources are
    read, :mod:`pmdraft.warm`)."""
    _builtin()


def load_markdown_template(path: Path) -> jinja2.Template:
    """A user's Markdown template (``--template`` or ``[render] template``), compiled."""
    return load_template(path, markdown_environment())


def render_markdown(
    draft: Draft, *, tz: tzinfo | None = None, template: jinja2.Template | None = None
) -> str:
    """The draft as GitHub-flavoured Markdown in the template's section order.

    ``tz`` adds a local-time column to the timeline; ``template`` (from
    :func:`load_markdown_template`) replaces the built-in one. Each ``pmdraft:begin`` marker the
    template writes gets the digest of its block (see :mod:`pmdraft.living`).
    """
    from ..living import seal

    return seal(fill(template or _builtin(), context(draft, tz)))
