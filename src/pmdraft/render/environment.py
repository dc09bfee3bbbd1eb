"""The sandboxed jinja2 environment every template is filled in, and filling with clear errors.

Built-in and user templates alike run sandboxed with StrictUndefined: a typo is an error naming
the variable, the file and the line (:func:`fill`), never an empty string.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import RenderError
from .text import cell, markdown_text

TEMPLATE_HELP = "docs/templates.md lists the variables a template can use"


_DICT_ATTRIBUTES = frozenset(dir(dict))
"""What ``getattr`` finds on a plain dict (its methods): ``row.items`` still means the method."""


class _Sandboxed(SandboxedEnvironment):
    """jinja2's sandbox, with ``row.text`` on a plain dict looked up as ``row["text"]`` first.

    The same value as the sandbox's own lookup, which tries the attribute, catches the
    ``AttributeError`` and then takes the key; without that exception, a timeline of 20,000
    rows (two lookups each) fills about 0.04 s sooner. A name a dict has as an attribute (its
    methods) is looked up as the sandbox does.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def sandboxed_environment(
    *, autoescape: bool, filters: dict[str, Any], loader: jinja2.BaseLoader | None = None
) -> SandboxedEnvironment:
    """The sandboxed jinja2 environment every template (built-in or the user's) is filled in."""
    env = _Sandboxed(
        loader=loader or jinja2.PackageLoader("pmdraft.render", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters)
    return env


def markdown_environment(loader: jinja2.BaseLoader | None = None) -> SandboxedEnvironment:
    """The Markdown templates' environment: not escaped; ``cell`` and ``inline`` filters."""
    return sandboxed_environment(
        autoescape=False, filters={"cell": cell, "inline": markdown_text}, loader=loader
    )


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The line of ``filename`` where rendering failed, from jinja2's rewritten traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if filename and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def load_template(path: Path, environment: SandboxedEnvironment) -> jinja2.Template:
    """Compile a user's template file in ``environment`` (sandboxed, StrictUndefined).

    Other templates it includes or extends are looked up beside it.
    """
    path = path.expanduser().resolve()
    env = environment.overlay(loader=jinja2.FileSystemLoader(str(path.parent)))
    try:
        return env.get_template(path.name)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template {path} does not exist (or is not readable)") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"template {exc.filename or path}, line {exc.lineno}: {exc.message}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"template {path} could not be read: {exc}") from exc


def fill(template: jinja2.Template, values: dict[str, Any]) -> str:
    """Render ``template``; an undefined variable is an error naming it, the file and the line."""
    try:
        return template.render(**values)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{_where(exc, template)}: {exc.message}; {TEMPLATE_HELP}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{_where(exc, template)} could not be filled: {exc}") from exc


def _where(exc: BaseException, template: jinja2.Template) -> str:
    """``template FILE, line N`` for an error raised while filling ``template``."""
    line = _template_line(exc, template.filename)
    return f"template {template.filename or template.name}" + (f", line {line}" if line else "")
