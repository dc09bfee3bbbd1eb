"""The command line: the only module that prints, reads the environment or exits.

Exit codes: 0 the draft is complete, 1 an error (nothing written), 2 a usage error,
3 the draft was written but a source is missing (see its "Data gaps" note).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import click

from .errors import PmdraftError
from .output import write_atomic

EXIT_PARTIAL = 3
EXAMPLE = "2024-01-15T14:32:00Z"


class AwareTime(click.ParamType):
    """An ISO 8601 time with an offset or ``Z``; a naive time is refused with an example."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time; write it like {EXAMPLE}", param, ctx)
        if parsed.tzinfo is None:
            self.fail(
                f"{value!r} has no UTC offset, so its instant is unknown; add Z or an offset, "
                f"like {EXAMPLE} or 2024-01-15T15:32:00+01:00",
                param,
                ctx,
            )
        from .model import UTC

        return parsed.astimezone(UTC)


TIME = AwareTime()


class TimeZoneName(click.ParamType):
    """An IANA time zone name (``Europe/Berlin``); an unknown name is refused with an example."""

    name = "ZONE"

    def convert(self, value: Any, param: Any, ctx: Any) -> tzinfo:
        if isinstance(value, tzinfo):
            return value
        import difflib
        import zoneinfo

        text = str(value).strip()
        try:
            return zoneinfo.ZoneInfo(text)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            close = difflib.get_close_matches(text, sorted(zoneinfo.available_timezones()), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.fail(
                f"{value!r} is not an IANA time zone name{hint}; write it like Europe/Berlin, "
                "America/New_York or UTC",
                param,
                ctx,
            )


ZONE = TimeZoneName()


def _write_graphs(result: Any, output: str | None, *, embed: bool = False) -> Any:
    """The draft with its graphs drawn, written beside ``output`` and linked from it.

    Without matplotlib, or without a file to write beside, the draft says why and goes on.
    """
    from .graphs_beside import with_graphs

    name = Path(output).name if output and output != "-" else None
    drawn = with_graphs(result, name, embed=embed)
    if drawn.warning:
        click.echo(f"pmdraft: {drawn.warning}", err=True)
    assert output is not None or not drawn.images
    for relative, png in drawn.images.items():
        target = Path(str(output)).parent / relative
        target.parent.mkdir(exist_ok=True)
        write_atomic(target, png)
    return drawn.draft


def _config_path(option: str | None) -> Path:
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


def _window(since: datetime, until: datetime) -> Any:
    """The window of --since/--until: in order, and not wholly in the future (exit 2)."""
    from .model import Window, iso_z

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


def _report_sources(draft: Any) -> None:
    for r in draft.reports:
        if r.status == "failed":
            click.echo(f"pmdraft: data gap: {r.name} failed: {r.error}", err=True)
        elif r.status == "not_configured":
            click.echo(f"pmdraft: {r.name} is not configured, so it was not read", err=True)


def _run(func: Callable[[], int]) -> None:
    try:
        code = func()
    except PmdraftError as exc:
        raise click.ClickException(str(exc)) from exc
    if code:
        sys.exit(code)


def _check_output(output: str | None) -> None:
    """Stop (exit 1, nothing fetched) when ``-o`` cannot be written: a missing or read-only
    folder is named with the fix."""
    if output and output != "-":
        from .output import check_writable

        try:
            check_writable(Path(output))
        except PmdraftError as exc:
            raise click.ClickException(str(exc)) from exc


def _output(text: str, output: str | None) -> None:
    if output and output != "-":
        write_atomic(Path(output), text)
        click.echo(f"pmdraft: wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _update(path: Path, text: str) -> None:
    """Merge a fresh Markdown draft into the one at ``path``; propose what could not be applied."""
    from .living import merge
    from .output import proposal_name

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
        write_atomic(proposal, text)
        _report_kept(str(path), merged.kept, str(proposal))


def _report_kept(path: str, kept: list[str] | tuple[str, ...], proposal: str) -> None:
    if kept:
        what = f"the {', '.join(kept)} block{'s' if len(kept) > 1 else ''} (edited by hand)"
    else:
        what = "the whole file (it has no pmdraft markers)"
    click.echo(f"pmdraft: kept {what} in {path}; the new version is in {proposal}", err=True)


QUIET_LOGGERS = (
    "botocore",
    "boto3",
    "urllib3",
    "httpx2",
    "httpcore",
    "httpcore2",
    "pagerduty",
    "matplotlib",
    "PIL",
    "werkzeug",
    "moto",
    "flask",
)
"""Third-party loggers held at WARNING whatever -v says (matplotlib's font search, HTTP debug)."""


def setup_logging(verbose: bool) -> None:
    """Log to stderr: pmdraft's own loggers (``pmdraft.*``) at INFO with ``verbose``, else at
    WARNING; every third-party logger at WARNING either way."""
    logging.basicConfig(level=logging.WARNING, format="pmdraft: %(levelname)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("pmdraft").setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _store_verbose(ctx: click.Context, param: Any, value: bool) -> None:
    if value:
        setup_logging(True)


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_store_verbose,
    help="Log what each source does (requests, events, status) on stderr.",
)


def _store_quiet(ctx: click.Context, param: Any, value: bool) -> None:
    if value:
        ctx.meta["pmdraft.quiet"] = True


quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_store_quiet,
    help="No progress display on stderr (it shows only on a terminal, after a second).",
)


def format_progress(sources: list[Any]) -> str:
    """One status line: each source's requests and events so far, ``done`` once finished."""
    parts = [
        f"{s.name} {s.requests} req {s.events:,} events{' done' if s.done else ''}" for s in sources
    ]
    return "pmdraft: " + " | ".join(parts)


def _progress() -> Callable[[list[Any]], None] | None:
    """A progress printer for stderr, or None when stderr is not a terminal or --quiet was given."""
    if click.get_current_context().meta.get("pmdraft.quiet") or not sys.stderr.isatty():
        return None
    last = {"width": 0}

    def show(sources: list[Any]) -> None:
        line = format_progress(sources)
        sys.stderr.write("\r" + line.ljust(last["width"]))
        last["width"] = len(line)
        if all(s.done for s in sources):
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


time_options = [
    verbose_option,
    quiet_option,
    click.option(
        "--since",
        type=TIME,
        help=f"Window start, ISO 8601 with offset ({EXAMPLE}); with --incident it only widens.",
    ),
    click.option(
        "--until",
        type=TIME,
        help="Window end (exclusive), ISO 8601 with offset; with --incident it only widens.",
    ),
    click.option(
        "--incident",
        "incidents",
        multiple=True,
        metavar="ID",
        help="Start from this PagerDuty incident (number or id; repeatable): the window comes from it, "
        "and its log entries are the PagerDuty scope.",
    ),
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml.",
    ),
    click.option(
        "--strict", is_flag=True, help="Fail (exit 1, nothing written) if any source fails."
    ),
]


def _with(options: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _load_config(config_path: str | None) -> Any:
    """The config file, read once per command; its warnings go to stderr."""
    from .config import load_config

    config = load_config(_config_path(config_path))
    for warning in config.warnings:
        click.echo(f"pmdraft: warning: {warning}", err=True)
    return config


def _draft(
    since: datetime | None,
    until: datetime | None,
    config_path: str | None,
    overrides: dict[str, datetime],
    incidents: tuple[str, ...] = (),
    *,
    graphs: bool = True,
    config: Any = None,
    output: str | None = None,
) -> Any:
    """Collect and build the draft; ``config`` if the command has read it already, else from
    ``config_path``. The window and ``output`` are checked before any source is asked."""
    from .draft import make_draft

    if not incidents and (since is None or until is None):
        raise click.UsageError(
            "give the window with --since and --until, or start from an incident with --incident ID"
        )
    window = _window(since, until) if since is not None and until is not None else None
    if config is None:
        config = _load_config(config_path)
    _check_output(output)
    if not graphs:
        config = _without_graphs(config)
    environ = dict(os.environ)
    if incidents:
        from .model import UTC
        from .scope import scope_to_incidents

        config, window = scope_to_incidents(
            config, environ, incidents, now=datetime.now(UTC), since=since, until=until
        )
    return make_draft(config, window, environ, overrides=overrides, progress=_progress())


def _user_template(
    fmt: str, option: str | None, config_path: str | None, config: Any = None
) -> Any:
    """The user's template for ``fmt``: --template, else ``[render] template`` for Markdown;
    compiled now,
    so a broken one fails before any source is read. Returns ``(template, config)``; the config
    is read
    here only when the template may come from it, and handed on so no command reads it twice."""
    from .render import load_user_template

    if option:
        if fmt == "json":
            raise click.UsageError("--template applies to --format markdown or html, not json")
        return load_user_template(Path(option), fmt), config
    if fmt != "markdown":
        return None, config
    if config is None:
        config = _load_config(config_path)
    return (
        load_user_template(config.resolve(config.render.template), fmt)
        if config.render.template
        else None
    ), config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pmdraft")
@click.option("-v", "--verbose", is_flag=True, help="Log what each source does (stderr).")
def cli(verbose: bool) -> None:
    """Reconstruct an incident from CloudWatch, PagerDuty and deploy logs and draft its postmortem.

    \b
    Example:
      export PAGERDUTY_API_TOKEN=...   # never on the command line
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z -o postmortem.md
    """
    setup_logging(verbose)


@cli.command()
@_with(time_options)
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
    help="Refresh an existing -o draft: only its pmdraft blocks change; a block you edited is kept and "
    "the new version goes to NAME.proposed.md. json and html files are replaced whole.",
)
@click.option(
    "--no-graphs",
    is_flag=True,
    help="Skip the monitoring graphs (PNG files beside the -o draft; they need pmdraft[graphs]).",
)
def draft(
    since: datetime | None,
    until: datetime | None,
    config_path: str | None,
    incidents: tuple[str, ...],
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
) -> None:
    """Draft the postmortem for a time window, or for PagerDuty incidents (--incident).

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

    def run() -> int:
        from .render import render_html, render_json, render_markdown

        user_template, config = _user_template(fmt, template_path, config_path)
        result = _draft(
            since,
            until,
            config_path,
            overrides,
            incidents,
            graphs=not no_graphs,
            config=config,
            output=output,
        )
        _report_sources(result)
        if strict and result.gaps:
            raise click.ClickException("--strict: a source failed, so no draft was written")
        if fmt != "json":
            result = _write_graphs(result, output, embed=fmt == "html")
        if fmt == "json":
            text = render_json(result)
        elif fmt == "html":
            text = render_html(result, tz=tz, template=user_template)
        elif fmt == "confluence":
            from .render.confluence import render_confluence

            text = render_confluence(result, tz=tz)
        else:
            text = render_markdown(result, tz=tz, template=user_template)
        if fmt == "markdown" and update and output and output != "-" and Path(output).exists():
            _update(Path(output), text)
        else:
            _output(text, output)
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


@cli.command()
@_with(time_options)
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

    def run() -> int:
        from .render import render_timeline

        result = _draft(since, until, config_path, {}, incidents, output=output)
        _report_sources(result)
        if strict and result.gaps:
            raise click.ClickException("--strict: a source failed, so nothing was written")
        _output(render_timeline(result, fmt, tz=tz), output)
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


@cli.command()
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

    _check_output(output)

    def run() -> int:
        _require_demo_extra()
        from .config import load_config
        from .draft import make_draft
        from .render import render_json, render_markdown
        from .sandbox import Sandbox
        from .sandbox.scenario import WINDOW

        # The sandbox's fake AWS identity, so no real credentials are ever sent to it.
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(key, None)
        os.environ["AWS_ACCESS_KEY_ID"] = "sandbox"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "sandbox"
        with Sandbox() as sandbox:
            config = load_config(sandbox.seed_demo())
            if no_graphs:
                config = _without_graphs(config)
            result = make_draft(config, WINDOW, sandbox.environ, progress=_progress())
        _report_sources(result)
        result = _write_graphs(result, output)
        md = Path(output)
        write_atomic(md, render_markdown(result, tz=tz))
        write_atomic(md.with_suffix(".json"), render_json(result))
        click.echo(str(md))
        click.echo(str(md.with_suffix(".json")))
        return EXIT_PARTIAL if result.gaps else 0

    _run(run)


@cli.command("template")
@verbose_option
@click.option("--dump", is_flag=True, help="Write the built-in template, to start your own from.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html"]),
    default="markdown",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write it here (atomically); default stdout.",
)
def template_command(dump: bool, fmt: str, output: str | None) -> None:
    """Write the built-in postmortem template, to start your own from.

    Use your copy with `pmdraft draft --template PATH` or `[render] template = "PATH"` in the
    config. It is filled in a sandbox, and a misspelt variable is an error naming it; every
    variable is listed in docs/templates.md.

    \b
    Example:
      pmdraft template --dump -o my-template.md.j2
      pmdraft draft --since 2024-01-15T14:00:00Z --until 2024-01-15T15:30:00Z \\
        --template my-template.md.j2 -o postmortem.md
    """
    if not dump:
        raise click.UsageError(
            "nothing to do: pass --dump to write the built-in template (-o PATH for a file)"
        )
    from .render import builtin_template

    _output(builtin_template(fmt), output)


EXIT_INTERRUPTED = 130
"""``batch`` stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report Ctrl-C)."""


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` like SIGINT does, inside the block (main thread)."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted() -> None:
    """Say what an interrupted batch left behind, and exit 130 without waiting for the
    collectors' threads to finish their requests."""
    click.echo(
        "pmdraft: batch interrupted: no incident is left claimed (the next run drafts it); "
        "no draft was half-written",
        err=True,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    import threading

    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        os._exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_INTERRUPTED)


@cli.command()
@verbose_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml.",
)
@click.option(
    "--since",
    type=TIME,
    help="Backfill: incidents resolved since this time, instead of since the last run.",
)
@click.option(
    "-o", "--output", help="A directory or s3://bucket/prefix/ (default: [batch] output)."
)
@click.option(
    "--dry-run", is_flag=True, help="List what would be drafted; write nothing, change no state."
)
@click.option(
    "--annotate",
    is_flag=True,
    help="Add a note with the draft's location to each PagerDuty incident, once.",
)
@click.option(
    "--log-json",
    is_flag=True,
    help="One JSON line per incident and one for the summary, on stderr.",
)
def batch(
    config_path: str | None,
    since: datetime | None,
    output: str | None,
    dry_run: bool,
    annotate: bool,
    log_json: bool,
) -> None:
    """Draft each PagerDuty incident resolved since the last run, once; meant for cron.

    Incidents are filtered by [batch] priorities, urgencies, service_ids and team_ids; each is
    drafted as `pmdraft draft --incident` would, to <number>-<slug>.md in the output. A draft that
    exists is refreshed (only its pmdraft blocks; edited blocks are kept and the new version is
    proposed beside it). Exit 0 all drafted, 3 some partial (retried next run), 1 a failure.

    \b
    Example:
      pmdraft batch --config pmdraft.toml                  # hourly from cron
      pmdraft batch --dry-run                              # what would be drafted
      pmdraft batch --since 2024-01-01T00:00:00Z -o s3://my-bucket/postmortems/
    """
    import json
    import socket

    def say(outcome: Any) -> None:
        if log_json:
            click.echo(json.dumps(outcome.as_json(), sort_keys=True), err=True)
            return
        label = f"#{outcome.number}" if outcome.number is not None else outcome.incident_id
        if outcome.status == "would_draft":
            click.echo(f"would draft {label} ({outcome.reason}): {outcome.title}")
        elif outcome.status in ("drafted", "partial"):
            click.echo(outcome.location)
            if outcome.status == "partial":
                click.echo(
                    f"pmdraft: {label} drafted with a data gap (retried next run): {outcome.error}",
                    err=True,
                )
        elif outcome.status == "failed":
            click.echo(
                f"pmdraft: {label} failed (attempt {outcome.attempts}): {outcome.error}", err=True
            )
        if outcome.proposal:
            _report_kept(outcome.location, outcome.kept, outcome.proposal)

    def run() -> int:
        from .batch import Batch, open_sink, open_state
        from .model import UTC
        from .render import render_markdown

        config = _load_config(config_path)
        template, _ = _user_template("markdown", None, config_path, config)
        state = open_state(config, read_only=dry_run)
        try:
            job = Batch(
                config,
                dict(os.environ),
                state=state,
                sink=open_sink(config, output),
                render=lambda d: render_markdown(d, template=template),
                runner=f"{socket.gethostname()}:{os.getpid()}",
                on_outcome=say,
            )
            with _signals_interrupt():
                result = job.run(datetime.now(UTC), since=since, dry_run=dry_run, annotate=annotate)
        except KeyboardInterrupt:
            state.close()
            _interrupted()
        finally:
            state.close()
        for error in result.annotate_errors:
            if not log_json:
                click.echo(f"pmdraft: note not added: {error}", err=True)
        if log_json:
            click.echo(
                json.dumps(
                    {
                        "event": "summary",
                        "summary": result.summary(),
                        "counts": result.counts,
                        "annotate_errors": result.annotate_errors,
                        "exit_code": result.exit_code,
                    },
                    sort_keys=True,
                ),
                err=True,
            )
        else:
            click.echo(result.summary(), err=True)
        return result.exit_code

    _run(run)


@cli.command()
@verbose_option
@click.argument("draft_path", metavar="DRAFT.md", type=click.Path(dir_okay=False))
@click.option("--confluence-space", "space", help="Space key; else [confluence] space_key.")
@click.option("--parent", "parent", help="Title of the page to create it under.")
@click.option("--confluence-url", "url", help="The site's /wiki root; else [confluence] base_url.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml, if there is one.",
)
def publish(
    draft_path: str, space: str | None, parent: str | None, url: str | None, config_path: str | None
) -> None:
    """Publish a Markdown draft (your edits included) to Confluence, one page per incident.

    A second publish updates the same page (its version goes up): pmdraft's blocks are refreshed,
    a block someone edited in Confluence is kept and the new version is proposed in a comment.
    Graphs are uploaded as attachments. Credentials come from CONFLUENCE_USER and
    CONFLUENCE_API_TOKEN.

    \b
    Example:
      export CONFLUENCE_USER=me@example.com CONFLUENCE_API_TOKEN=...
      pmdraft publish postmortem.md --confluence-space SRE --parent Postmortems
    """

    def run() -> int:
        from .config import ConfluenceConfig, load_config
        from .publish import publish_draft

        wanted = config_path or os.environ.get("PMDRAFT_CONFIG")
        if wanted or Path("pmdraft.toml").is_file():
            settings = load_config(Path(wanted or "pmdraft.toml")).confluence
        else:
            settings = ConfluenceConfig()
        base_url, space_key = url or settings.base_url, space or settings.space_key
        if not base_url or not space_key:
            raise click.UsageError(
                "give the Confluence site and space: --confluence-url https://acme.atlassian.net/wiki"
                " --confluence-space SRE (or base_url and space_key in [confluence])"
            )
        result = publish_draft(
            Path(draft_path),
            base_url=base_url,
            space_key=space_key,
            parent_title=parent or settings.parent_title or None,
            environ=os.environ,
        )
        what = "created" if result.created else f"updated to version {result.version}"
        click.echo(f"{result.url} ({what})")
        for name in result.kept:
            click.echo(f"kept your edit of {name}; pmdraft's version is proposed in a page comment")
        return 0

    _run(run)


@cli.command()
@verbose_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml.",
)
def sources(config_path: str | None) -> None:
    """List the sources pmdraft can read and whether the config sets each one up.

    \b
    Example:
      pmdraft sources --config pmdraft.toml
    """

    def run() -> int:
        from .config import load_config
        from .sources.registry import registry

        path = _config_path(config_path)
        config = load_config(path)
        rows = [("SOURCE", "CONFIGURED", "DETAILS")]
        for source in registry:
            details = config.source_details(source.name)
            hint = f"{source.how_to_add} (see config.example.toml)"
            rows.append((source.name, "yes" if details else "no", details or hint))
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        click.echo(f"Sources in {path}:\n")
        for name, configured, details in rows:
            click.echo(f"{name:{width[0]}}  {configured:{width[1]}}  {details}")
        return 0

    _run(run)


@cli.command()
@verbose_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); else $PMDRAFT_CONFIG or ./pmdraft.toml.",
)
def doctor(config_path: str | None) -> None:
    """Check the config and each configured source's access, with one cheap read each.

    CloudWatch: DescribeAlarms (one record) per region; PagerDuty: the token and
    GET /incidents?limit=1; deploy logs: each file readable. Exit 0 if everything works,
    1 if something needs fixing (the table says what).

    \b
    Example:
      export PAGERDUTY_API_TOKEN=...
      pmdraft doctor --config pmdraft.toml
    """
    from .doctor import run_checks

    environ = dict(os.environ)
    checks = run_checks(_config_path(config_path), environ)
    scrub = _scrubber(environ, _config_path(config_path))
    rows = [("CHECK", "STATUS", "DETAILS")] + [(c.name, c.status, scrub(c.detail)) for c in checks]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, status, detail in rows:
        click.echo(f"{name:{width[0]}}  {status:{width[1]}}  {detail}")
    failed = sum(c.failed for c in checks)
    if failed:
        click.echo(
            f"\n{failed} check{'s' if failed > 1 else ''} failed: fix "
            f"{'them' if failed > 1 else 'it'} "
            "and run pmdraft doctor again."
        )
        sys.exit(1)
    click.echo("\nEverything configured works.")


def _scrubber(environ: dict[str, str], config_path: Path) -> Callable[[str], str]:
    """Hide every secret the sources may read from the environment (and a cut-off start of one)
    in text about to be printed: a proxy's error page may echo the Authorization header."""
    from .config import load_config
    from .sources.pagerduty import PagerDutyConfig
    from .sources.registry import registry

    names = {name for source in registry for name in source.env}
    names |= {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    try:
        pd = load_config(config_path).get(PagerDutyConfig)
        names |= {pd.token_env} if pd else set()
    except PmdraftError:
        pass
    secrets = sorted({environ[n] for n in names if len(environ.get(n, "")) >= 8}, key=len)

    def scrub(text: str) -> str:
        for secret in reversed(secrets):
            text = text.replace(secret, "[token]")
            cut = next((n for n in range(len(secret) - 1, 3, -1) if text.endswith(secret[:n])), 0)
            text = text[: len(text) - cut] + "[token]" if cut else text
        return text

    return scrub


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pmdraft")


def _without_graphs(config: Any) -> Any:
    """``config`` with CloudWatch's metric reads for graphs turned off (``--no-graphs``)."""
    import dataclasses

    from .sources.cloudwatch import CloudWatchConfig

    cw = config.get(CloudWatchConfig)
    return config if cw is None else config.with_settings(dataclasses.replace(cw, graphs=False))


DEMO_MODULES = ("moto", "flask", "trustme")
"""What the built-in sandbox imports beyond pmdraft's own dependencies (the ``demo`` extra)."""


def _require_demo_extra() -> None:
    """Stop with a one-line install hint when the demo extra is not installed."""
    import importlib.util

    missing = [name for name in DEMO_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(
            f"pmdraft demo needs the demo extra ({', '.join(missing)} not installed): "
            "pip install 'pmdraft[demo]'"
        )


if __name__ == "__main__":
    main()
