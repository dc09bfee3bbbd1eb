"""What the commands share: the config file, the window, running a command, progress, a draft."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import PmdraftError
from ..heap import gc_paused
from .write import check_output

if TYPE_CHECKING:
    from ..model import Window

EXIT_PARTIAL = 3
"""The draft was written but a source is missing (see its "Data gaps" note)."""


def config_path(option: str | None) -> Path:
    """The config file: ``--config``, else ``$PMDRAFT_CONFIG``, else ``./pmdraft.toml`` (exit 2
    when there is none)."""
    if option:
        return Path(option)
    if os.environ.get("PMDRAFT_CONFIG"):
        return Path(os.environ["PMDRAFT_CONFIG"])
    if Path("pmdraft.toml").exists():
        return Path("pmdraft.toml")
    raise click.UsageError(
        "no config file: pass --config FILE, set PMDRAFT_CONFIG, or create ./pmdraft.toml "
        "(start from config.example.toml)"
    )


def load_config(option: str | None) -> Any:
    """The config file, read once per command; its warnings go to stderr."""
    from ..config import load_config as load

    config = load(config_path(option))
    for warning in config.warnings:
        click.echo(f"pmdraft: warning: {warning}", err=True)
    return config


def window(since: datetime, until: datetime) -> Window:
    """The window of --since/--until: in order, and not wholly in the future (exit 2)."""
    from ..model import Window, iso_z

    if until <= since:
        raise click.BadParameter(
            f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})",
            param_hint="'--until'",
        )
    now = datetime.now(UTC).replace(microsecond=0)
    if since >= now:
        raise click.UsageError(
            f"the window {iso_z(since)} to {iso_z(until)} is entirely after now ({iso_z(now)}): "
            "nothing has happened in it yet; give a --since in the past"
        )
    if until > now:
        click.echo(
            f"pmdraft: note: the window ends at {iso_z(until)}, after now ({iso_z(now)}); "
            "nothing is known after now",
            err=True,
        )
    return Window(since, until)


def report_sources(draft: Any) -> None:
    """Name each failed or unconfigured source on stderr, and what reading the others involved
    (records skipped and named, windows split)."""
    for r in draft.reports:
        if r.status == "failed":
            click.echo(f"pmdraft: data gap: {r.name} failed: {r.error}", err=True)
        elif r.status == "not_configured":
            click.echo(f"pmdraft: {r.name} is not configured, so it was not read", err=True)
        elif r.detail:
            click.echo(f"pmdraft: note: {r.name}: {r.detail}", err=True)


def run(func: Callable[[], int], *, one_draft: bool = False) -> None:
    """Run a command's body: pmdraft's own errors become exit 1, a non-zero result its exit code.

    ``one_draft``: the body makes one draft and the process then ends, so the garbage collector
    stays paused from reading to writing (:mod:`pmdraft.heap`), not only while the draft is made.
    """
    try:
        with gc_paused() if one_draft else contextlib.nullcontext():
            code = func()
    except PmdraftError as exc:
        raise click.ClickException(str(exc)) from exc
    if code:
        sys.exit(code)


def format_progress(sources: list[Any]) -> str:
    """One status line: each source's requests and events so far, ``done`` once finished."""
    parts = [
        f"{s.name} {s.requests} req {s.events:,} events{' done' if s.done else ''}" for s in sources
    ]
    return "pmdraft: " + " | ".join(parts)


def progress() -> Callable[[list[Any]], None] | None:
    """A progress printer for stderr, or None when stderr is not a terminal or --quiet was given."""
    if click.get_current_context().meta.get("pmdraft.quiet") or not sys.stderr.isatty():
        return None
    last = {"width": 0}

    def show(sources: list[Any]) -> None:
        line = format_progress(sources)
        # A carriage return and padding to the last width: the line is redrawn in place.
        sys.stderr.write("\r" + line.ljust(last["width"]))
        last["width"] = len(line)
        if all(s.done for s in sources):
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def collect_draft(
    since: datetime | None,
    until: datetime | None,
    config_option: str | None,
    overrides: dict[str, datetime],
    incidents: tuple[str, ...] = (),
    *,
    graphs: bool = True,
    config: Any = None,
    output: str | None = None,
    service: str | None = None,
    slack_channels: tuple[str, ...] = (),
    events_ready: Any = None,
    meanwhile: Any = None,
    warm: tuple[str, ...] = (),
) -> Any:
    """Collect and build the draft; ``config`` if the command has read it already, else from
    ``config_option``. The window and ``output`` are checked before any source is asked.
    ``events_ready``: see :func:`pmdraft.draft.build_draft`; ``meanwhile``: see
    :func:`pmdraft.draft.make_draft`; ``warm``: more for the warm-up
    thread to import (or call) while the sources are read (:mod:`pmdraft.warm`)."""
    from ..draft import make_draft

    if not incidents and (since is None or until is None):
        raise click.UsageError(
            "give the window with --since and --until, or start from an incident with --incident ID"
        )
    span = window(since, until) if since is not None and until is not None else None
    if config is None:
        config = load_config(config_option)
    click.get_current_context().meta["pmdraft.config"] = config  # read once, used for graphs
    check_output(output)
    if not graphs:
        config = without_graphs(config)
    if slack_channels:
        config = with_slack_channels(config, slack_channels)
    environ = dict(os.environ)
    if incidents:
        from ..scope import scope_to_incidents

        config, span = scope_to_incidents(
            config, environ, incidents, now=datetime.now(UTC), since=since, until=until
        )
    # scope_to_incidents gives the span with --incident; without it, --since and --until were
    # both given (checked above).
    assert span is not None
    return make_draft(
        config,
        span,
        environ,
        overrides=overrides,
        progress=progress(),
        service=service,
        # Imported while the sources are read.
        warm=("pmdraft.render", "pmdraft.render.structured", *warm),
        events_ready=events_ready,
        meanwhile=meanwhile,
    )


def with_slack_channels(config: Any, channels: tuple[str, ...]) -> Any:
    """``config`` reading these Slack channels too (``--slack-channel``), [slack] or not."""
    import dataclasses
    import re

    from ..sources.slack import SlackConfig

    bad = [c for c in channels if not re.fullmatch(r"[CG][A-Z0-9]{4,}", c)]
    if bad:
        raise click.BadParameter(
            f"{bad[0]!r} is not a channel id; use the id from the channel's details, like "
            "C0123ABCD, not its name",
            param_hint="--slack-channel",
        )
    slack = config.get(SlackConfig)
    if slack is None:
        sections = {**config.sections, "slack": SlackConfig(channels=list(channels))}
        return dataclasses.replace(config, sections=sections)
    wanted = [*slack.channels, *(c for c in channels if c not in slack.channels)]
    return config.with_settings(dataclasses.replace(slack, channels=wanted))


def without_graphs(config: Any) -> Any:
    """``config`` with CloudWatch's metric reads for graphs turned off (``--no-graphs``)."""
    import dataclasses

    from ..sources.cloudwatch import CloudWatchConfig

    cw = config.get(CloudWatchConfig)
    return config if cw is None else config.with_settings(dataclasses.replace(cw, graphs=False))


def user_template(
    fmt: str, option: str | None, config_option: str | None, config: Any = None
) -> Any:
    """The user's template for ``fmt``: --template, else ``[render] template`` for Markdown;
    compiled now, so a broken one fails before any source is read. Returns ``(template,
    config)``; the config is read here only when the template may come from it, and handed on
    so no command reads it twice."""
    # The renderers import pandas and jinja2 (about 0.6 s): only for a template to compile now;
    # otherwise they are imported while the sources are read (pmdraft.warm).
    if option:
        if fmt == "json":
            raise click.UsageError("--template applies to --format markdown or html, not json")
        from ..render import load_user_template

        return load_user_template(Path(option), fmt), config
    if fmt != "markdown":
        return None, config
    if config is None:
        config = load_config(config_option)
    if not config.render.template:
        return None, config
    from ..render import load_user_template

    return load_user_template(config.resolve(config.render.template), fmt), config
