"""Where the CLI's text goes: stdout or an atomic file, a living draft merged, graphs beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import PmdraftError
from ..output import write_atomic


def max_graphs(config: Any) -> int | None:
    """``[cloudwatch] max_graphs`` of the command's config, if it has one."""
    if config is None:
        return None
    from ..sources.cloudwatch import CloudWatchConfig

    cw = config.get(CloudWatchConfig)
    return cw.max_graphs if cw is not None else None


def start_graphs(output: str | None, config: Any, *, wanted: bool) -> None:
    """Start the process that will draw the graphs beside ``output`` now, so it loads
    matplotlib while the sources are read (:func:`write_graphs` then sends it the figures).

    Nothing is started without a file to write beside, when the graphs are not ``wanted``, when
    ``config`` (if read already) has no CloudWatch or its ``graphs = false``, or without
    matplotlib; the process is stopped when the command ends if it was not used.
    """
    if not wanted or not output or output == "-":
        return
    if config is not None:
        from ..sources.cloudwatch import CloudWatchConfig

        cw = config.get(CloudWatchConfig)
        if cw is None or not cw.graphs:
            return
    from ..graphs_beside import start_drawing

    drawing = start_drawing()
    if drawing is not None:
        ctx = click.get_current_context()
        ctx.meta[_STARTED] = drawing
        ctx.call_on_close(drawing.cancel)


def write_graphs(
    result: Any, output: str | None, *, embed: bool = False, background: bool = False
) -> Any:
    """The draft with its graphs linked, their PNGs written beside ``output``.

    Without matplotlib, or without a file to write beside, the draft says why and goes on. With
    ``background`` the PNGs are drawn by another process while the caller renders the draft,
    and written by :func:`finish_graphs`, which the caller must call before it returns (if it
    does not, the drawing is stopped when the command ends and nothing is written).
    """
    from ..graphs_beside import with_graphs

    name = Path(output).name if output and output != "-" else None
    ctx = click.get_current_context()
    drawn = with_graphs(
        result,
        name,
        embed=embed,
        max_graphs=max_graphs(ctx.meta.get("pmdraft.config")),
        background=background,
        drawing=ctx.meta.pop(_STARTED, None),
    )
    if drawn.warning:
        click.echo(f"pmdraft: {drawn.warning}", err=True)
    assert output is not None or not (drawn.images or drawn.drawing)
    if drawn.drawing is not None:
        ctx.meta[_DRAWING] = (drawn.drawing, str(output))
        ctx.call_on_close(drawn.drawing.cancel)  # a second cancel does nothing
    _write_images(drawn.images, str(output))
    return drawn.draft


_STARTED = "pmdraft.graphs.started"
"""Where :func:`start_graphs` leaves the drawing process for :func:`write_graphs`."""

_DRAWING = "pmdraft.graphs.drawing"
"""Where :func:`write_graphs` leaves a background drawing for :func:`finish_graphs`."""


def finish_graphs() -> None:
    """Wait for the graphs :func:`write_graphs` started in the background and write them;
    exit 1 naming why if they could not be drawn (the draft, already written, links them)."""
    pending = click.get_current_context().meta.pop(_DRAWING, None)
    if pending is None:
        return
    drawing, output = pending
    try:
        images = drawing.images()
    except PmdraftError as exc:
        raise click.ClickException(
            f"{exc}; {output} links them: run again, or pass --no-graphs"
        ) from exc
    _write_images(images, output)


def _write_images(images: Any, output: str) -> None:
    for relative, png in images.items():
        target = Path(output).parent / relative
        target.parent.mkdir(exist_ok=True)
        write_atomic(target, png)


def check_output(output: str | None) -> None:
    """Stop (exit 1, nothing fetched) when ``-o`` cannot be written: a missing or read-only
    folder is named with the fix."""
    if output and output != "-":
        from ..output import check_writable

        try:
            check_writable(Path(output))
        except PmdraftError as exc:
            raise click.ClickException(str(exc)) from exc


def emit(text: str, output: str | None) -> None:
    """Write ``text`` atomically to ``output`` and say so on stderr; to stdout without one."""
    if output and output != "-":
        write_atomic(Path(output), text)
        click.echo(f"pmdraft: wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def merge_into(path: Path, text: str) -> None:
    """Merge a fresh Markdown draft into the one at ``path``; propose what could not be applied."""
    from ..living import merge
    from ..output import proposal_name

    try:
        existing = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path} could not be read for --update: {exc}") from exc
    merged = merge(existing, text)
    if merged.text != existing:
        write_atomic(path, merged.text)
    click.echo(
        f"pmdraft: updated {path}" + (f" ({', '.join(merged.updated)})" if merged.updated else ""),
        err=True,
    )
    if merged.conflicts:
        proposal = path.with_name(proposal_name(path.name))
        write_atomic(proposal, merged.proposal())
        report_kept(str(path), merged.kept, str(proposal))


def report_kept(path: str, kept: list[str] | tuple[str, ...], proposal: str) -> None:
    """Say on stderr which hand-edited blocks of ``path`` were kept and where the new text is."""
    if kept:
        what = f"the {', '.join(kept)} block{'s' if len(kept) > 1 else ''} (edited by hand)"
    else:
        what = "the whole file (it has no pmdraft markers)"
    click.echo(f"pmdraft: kept {what} in {path}; the new version is in {proposal}", err=True)
