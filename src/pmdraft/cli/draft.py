"""``pmdraft draft``, ``pmdraft timeline`` and ``pmdraft demo``: a window's draft or timeline."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..heap import kept_until_exit
from ..output import write_atomic
from .common import (
    EXIT_PARTIAL,
    collect_draft,
    progress,
    report_sources,
    run,
    user_template,
    without_graphs,
)
from .forked import ForkedWrite, StagedWrite
from .options import TIME, ZONE, quiet_option, time_options, verbose_option, with_options
from .write import (
    check_output,
    emit,
    finish_graphs,
    merge_into,
    start_graphs,
    write_graphs,
)

if TYPE_CHECKING:
    from ..draft import Settled

_T = TypeVar("_T")


@click.command()
@with_options(time_options)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the draft here (atomically); default stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html", "json", "confluence"]),
    default="markdown",
    show_default=True,
    help="html is one self-contained file (print it to PDF from the browser); confluence is "
    "Confluence storage format (XHTML with its macros).",
)
@click.option(
    "--tz",
    type=ZONE,
    help="Also show the timeline in this IANA zone (Europe/Berlin); JSON stays UTC.",
)
@click.option(
    "--template",
    "template_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Your jinja2 template for markdown or html (see `pmdraft template --dump`).",
)
@click.option(
    "--impact-start", type=TIME, help="Set impact_started by hand (overrides the alarm-based rule)."
)
@click.option("--mitigated-at", type=TIME, help="Set mitigated by hand.")
@click.option("--resolved-at", type=TIME, help="Set resolved by hand.")
@click.option(
    "--update",
    is_flag=True,
    help="Refresh an existing -o draft: only its pmdraft blocks change; a block you edited is "
    "kept and the new version goes to NAME.proposed.md. json and html files are replaced whole.",
)
@click.option(
    "--no-graphs",
    is_flag=True,
    help="Skip the monitoring graphs (PNG files beside the -o draft; they need pmdraft[graphs]).",
)
@click.option(
    "--no-json",
    is_flag=True,
    help="With -o x.md (or .html): do not write the JSON draft x.json beside it.",
)
def draft(
    since: datetime | None,
    until: datetime | None,
    config_path: str | None,
    incidents: tuple[str, ...],
    service: str | None,
    slack_channels: tuple[str, ...],
    strict: bool,
    output: str | None,
    fmt: str,
    tz: tzinfo | None,
    template_path: str | None,
    impact_start: datetime | None,
    mitigated_at: datetime | None,
    resolved_at: datetime | None,
    update: bool,
    no_graphs: bool,
    no_json: bool,
) -> None:
    """Draft the postmortem for a time window, or for PagerDuty incidents (--incident).

    With -o x.md the JSON draft (every event, milestone and number, which the Markdown's
    "see JSON" pointers refer to) is written beside it as x.json, unless --no-json.

    \b
    Example:
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z \\
        --config pmdraft.toml -o postmortem.md
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z \\
        --tz Europe/Berlin --format html -o postmortem.html
      pmdraft draft --incident 1234 -o postmortem.md    # window and scope from the incident
      pmdraft draft --incident 1234 -o postmortem.md --update   # refresh it, keeping your edits
    Exit 3 means the draft was written but a source failed (see "Data gaps").
    """
    # Long only by its parameters (one per option) and its help text: the code is ~40 lines.
    if output and output != "-" and Path(output).exists() and not update:
        raise click.ClickException(
            f"{output} exists; pass --update to refresh the pmdraft blocks in it (your edits "
            "outside them are "
            "kept, and an edited block is kept with the new version proposed beside it), or "
            "choose another -o path"
        )
    overrides = {
        k: v
        for k, v in (
            ("impact_started", impact_start),
            ("mitigated", mitigated_at),
            ("resolved", resolved_at),
        )
        if v
    }

    def body() -> int:
        json_path = _json_path(output, fmt, no_json)
        template, config = user_template(fmt, template_path, config_path)
        start_graphs(output, config, wanted=not no_graphs and fmt in ("markdown", "confluence"))
        beside = JsonBeside(json_path) if json_path else None
        try:
            result = collect_draft(
                since,
                until,
                config_path,
                overrides,
                incidents,
                # JSON draws nothing: no GetMetricData for graphs (the metric lookback still
                # reads).
                graphs=not no_graphs and fmt != "json",
                config=config,
                output=output,
                service=service,
                slack_channels=slack_channels,
                events_ready=beside.events_ready if beside else None,
                meanwhile=beside.meanwhile if beside else None,
                # The built-in Markdown template, compiled while the sources are read.
                warm=("pmdraft.render.markdown:prepare",)
                if fmt == "markdown" and template is None
                else (),
            )
            report_sources(result)
            if strict and result.gaps:
                raise click.ClickException("--strict: a source failed, so no draft was written")
            if fmt != "json":
                result = write_graphs(result, output, embed=fmt == "html", background=True)
            if beside is not None:
                beside.start(result)
            text = _render(result, fmt, tz, template)
            if fmt == "markdown" and update and output and output != "-" and Path(output).exists():
                merge_into(Path(output), text)
            else:
                emit(text, output)
        except BaseException:
            if beside is not None:
                beside.abandon()
            raise
        if beside is not None:
            beside.commit()
        finish_graphs()  # drawn while the draft was rendered
        # Written: the draft and the JSON's early lines are left for the process's end to free.
        kept_until_exit(result, beside)
        return EXIT_PARTIAL if result.gaps else 0

    run(body, one_draft=True)


def _json_path(output: str | None, fmt: str, no_json: bool) -> Path | None:
    """Where the JSON draft goes beside ``-o`` (``x.md`` -> ``x.json``), checked before any
    source is read: a file there that is not a pmdraft JSON draft is a person's, never
    overwritten."""
    import json

    if not output or output == "-" or fmt == "json" or no_json:
        return None
    target = Path(output).with_suffix(".json")
    if target.exists():
        try:
            schema = json.loads(target.read_text(encoding="utf-8")).get("schema", "")
        except (OSError, ValueError, AttributeError):
            schema = ""
        if not str(schema).startswith("pmdraft/"):
            raise click.ClickException(
                f"{target} exists and is not a pmdraft JSON draft; move it, or pass --no-json"
            )
    return target


HEADS_AT_ONCE = 500
"""Event lines' heads :meth:`JsonBeside.meanwhile` makes between two looks at whether other
sources are still read (about 4 ms of work)."""


class JsonBeside:
    """The JSON draft beside ``-o``, written by a forked child while the Markdown (or HTML) is
    rendered; it appears only once that draft is written (:mod:`.forked`).

    The child is forked as soon as the draft's events are final (:meth:`events_ready`, called
    by the draft's build), writes the JSON's opening and events while the parent finishes the
    draft (:class:`~pmdraft.render.structured.JsonInParts`), and is sent the rest of the JSON
    once it is built (:meth:`start`), on one line, to indent and end the file with. Where it
    could not fork then (no spare CPU, another thread alive), the whole JSON is rendered at
    :meth:`start` as :class:`ForkedWrite` does (in a child forked then, or in-process at
    :meth:`commit`).
    """

    def __init__(self, path: Path, *, parallel: bool | None = None) -> None:
        """``parallel``: as :class:`ForkedWrite`'s (``None``: fork when a CPU is idle)."""
        self.path = path
        self.parallel = parallel
        self._staged: StagedWrite | None = None
        self._settled: Settled | None = None
        self._writer: ForkedWrite | None = None
        self._known: dict[int, str] = {}
        """Event lines' heads made while other sources were read, by the id of their event."""
        self._kept: list[Sequence[Any]] = []
        """The events of :attr:`_known`, kept alive (their ids stay theirs)."""

    def meanwhile(self, name: str, events: Sequence[Any], reading: Callable[[], bool]) -> None:
        """Make the heads of a finished source's event lines while others are still read
        (:data:`pmdraft.pipeline.Meanwhile`), :data:`HEADS_AT_ONCE` at a time: the process
        would only wait then, and the child that writes the JSON has that much less to do."""
        from ..render.structured import event_heads

        self._kept.append(events)
        for start in range(0, len(events), HEADS_AT_ONCE):
            if not reading():
                return
            part = events[start : start + HEADS_AT_ONCE]
            self._known.update(zip(map(id, part), event_heads(part), strict=True))

    @property
    def early(self) -> bool:
        """Whether the events are encoded by the child forked at :meth:`events_ready`."""
        return self._staged is not None or isinstance(self._writer, StagedWrite)

    def events_ready(
        self, settled: Settled, aside: Callable[[], _T]
    ) -> Callable[[], _T | None] | None:
        """Fork the child that writes the JSON's opening and events (see the class), after it
        has done ``aside`` for the draft (the other incidents' analyses, the incidents and
        their people: the child has the time while the parent works out the timeline).
        Returns how to wait for ``aside``'s result; ``None`` when nothing was forked (the
        draft does that work itself)."""
        from ..render.structured import JsonInParts

        parts = JsonInParts(settled, self._known)
        staged = StagedWrite(self.path, parts, aside=aside, parallel=self.parallel)
        if staged.pid is None:
            return None
        self._staged, self._settled = staged, settled
        return lambda: cast("_T | None", staged.aside_result())

    def start(self, result: Any) -> None:
        """The finished draft: the rest of the JSON goes to the child that wrote the events;
        without one (or for a draft whose events are not those), the whole JSON is rendered."""
        from ..render.structured import json_around_compact, render_json

        staged, self._staged = self._staged, None
        settled = self._settled
        if (
            staged is not None
            and settled is not None
            and result.events is settled.events
            and result.in_scope is settled.in_scope
        ):
            # On one line: the child indents it (the parent's time is the draft's critical path).
            staged.send(json_around_compact(result))
            self._writer = staged
            return
        if staged is not None:
            staged.abandon()
        self._writer = ForkedWrite(self.path, lambda: render_json(result), parallel=self.parallel)

    def commit(self) -> None:
        """The file appears (after the child wrote it); an :class:`OutputError` if it could
        not be written."""
        if self._writer is None:
            raise AssertionError("JsonBeside.commit before start")
        self._writer.commit()

    def abandon(self) -> None:
        """Nothing is written; a child is waited for and its staging file removed."""
        for writer in (self._staged, self._writer):
            if writer is not None:
                writer.abandon()
        self._staged = self._writer = None


def _render(result: Any, fmt: str, tz: tzinfo | None, template: Any) -> str:
    """The draft as ``--format`` says: Markdown, HTML, JSON or Confluence storage format."""
    from ..render import render_html, render_json, render_markdown

    if fmt == "json":
        return render_json(result)
    if fmt == "html":
        return render_html(result, tz=tz, template=template)
    if fmt == "confluence":
        from ..render.confluence import render_confluence

        return render_confluence(result, tz=tz)
    return render_markdown(result, tz=tz, template=template)


@click.command()
@with_options(time_options)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write here (atomically); default stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--tz",
    type=ZONE,
    help="Also show each time in this IANA zone (Europe/Berlin), in table and csv; JSON stays UTC.",
)
def timeline(
    since: datetime | None,
    until: datetime | None,
    config_path: str | None,
    incidents: tuple[str, ...],
    service: str | None,
    slack_channels: tuple[str, ...],
    strict: bool,
    output: str | None,
    fmt: str,
    tz: tzinfo | None,
) -> None:
    """Print the merged UTC timeline of every event in a window.

    \b
    Example:
      pmdraft timeline --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z --format csv
      pmdraft timeline --incident 1234
    """

    def body() -> int:
        from ..render import render_timeline

        result = collect_draft(
            since,
            until,
            config_path,
            {},
            incidents,
            graphs=False,  # a timeline draws no graphs: no GetMetricData for them
            output=output,
            service=service,
            slack_channels=slack_channels,
        )
        report_sources(result)
        if strict and result.gaps:
            raise click.ClickException("--strict: a source failed, so nothing was written")
        emit(render_timeline(result, fmt, tz=tz), output)
        return EXIT_PARTIAL if result.gaps else 0

    run(body, one_draft=True)


@click.command()
@verbose_option
@quiet_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default="pmdraft-demo.md",
    show_default=True,
    help="Where to write the demo draft; its JSON goes next to it (.json).",
)
@click.option(
    "--tz",
    type=ZONE,
    help="Also show the timeline in this IANA zone (Europe/Berlin); JSON stays UTC.",
)
@click.option(
    "--no-graphs", is_flag=True, help="Skip the monitoring graphs (they need pmdraft[graphs])."
)
def demo(output: str, tz: tzinfo | None, no_graphs: bool) -> None:
    """Run the real collectors against local stand-ins seeded with the template's worked example.

    Needs no credentials: moto's server stands in for CloudWatch and an HTTPS stand-in for
    PagerDuty, both on 127.0.0.1.

    \b
    Example:
      pmdraft demo -o /tmp/demo.md
    """

    check_output(output)

    def body() -> int:
        require_demo_extra()
        from ..config import load_config
        from ..draft import make_draft
        from ..render import render_json, render_markdown
        from ..sandbox import Sandbox
        from ..sandbox.scenario import WINDOW

        # The sandbox's fake AWS identity, so no real credentials are ever sent to it.
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        os.environ["AWS_ACCESS_KEY_ID"] = "sandbox"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
        with Sandbox() as sandbox:
            config = load_config(sandbox.seed_demo())
            if no_graphs:
                config = without_graphs(config)
            result = make_draft(config, WINDOW, sandbox.environ, progress=progress())
        report_sources(result)
        result = write_graphs(result, output)
        md = Path(output)
        write_atomic(md, render_markdown(result, tz=tz))
        write_atomic(md.with_suffix(".json"), render_json(result))
        click.echo(str(md))
        click.echo(str(md.with_suffix(".json")))
        return EXIT_PARTIAL if result.gaps else 0

    run(body, one_draft=True)


DEMO_MODULES = ("moto", "flask", "trustme")
"""What the built-in sandbox imports beyond pmdraft's own dependencies (the ``demo`` extra)."""


def require_demo_extra() -> None:
    """Stop with a one-line install hint when the demo extra is not installed."""
    import importlib.util

    missing = [name for name in DEMO_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"pmdraft demo needs the demo extra ({', '.join(missing)} not installed): "
            "pip install 'pmdraft[demo]'"
        )
